// hsiphash(&v, 4, key) as built on 64-bit little-endian kernels (lib/siphash.c, used by mh):
// SipHash-1-3 over the four bytes of the u32 v, returning the low 32 bits of v0^v1^v2^v3.
//
// The pick path runs a tiny WebAssembly function with native 64-bit adds and rotates, assembled
// here byte by byte at module load (no build step, no I/O); a plain-JavaScript reference
// implementation states the same algorithm and cross-checks it in tests.

/** A 128-bit hsiphash key as four u32 halves (k0 = k0hi:k0lo, k1 = k1hi:k1lo). */
export interface HsipKey {
  readonly k0hi: number;
  readonly k0lo: number;
  readonly k1hi: number;
  readonly k1lo: number;
}

export function hsipKey(k0: bigint, k1: bigint): HsipKey {
  const m = 0xffffffffn;
  return {
    k0hi: Number((k0 >> 32n) & m),
    k0lo: Number(k0 & m),
    k1hi: Number((k1 >> 32n) & m),
    k1lo: Number(k1 & m),
  };
}

/**
 * Reference hsiphash in plain JavaScript: 64-bit lanes kept as int32 hi/lo pairs in locals, so a
 * call allocates nothing. About 6-9x slower than the WebAssembly build below, which the pick path
 * uses; kept as the readable statement of the algorithm and as a cross-check in tests.
 */
export function hsiphashReference(v: number, key: HsipKey): number {
  return hsiphashI32(v, key) >>> 0;
}

function hsiphashI32(v: number, key: HsipKey): number {
  // PREAMBLE(4): the SipHash constants XORed with the key; b = len << 56 | le32(v), len = 4.
  let v0h = 0x736f6d65 ^ key.k0hi;
  let v0l = 0x70736575 ^ key.k0lo;
  let v1h = 0x646f7261 ^ key.k1hi;
  let v1l = 0x6e646f6d ^ key.k1lo;
  let v2h = 0x6c796765 ^ key.k0hi;
  let v2l = 0x6e657261 ^ key.k0lo;
  let v3h = 0x74656462 ^ key.k1hi;
  let v3l = 0x79746573 ^ key.k1lo;
  const bh = 0x04000000;
  const bl = v | 0;
  v3h ^= bh;
  v3l ^= bl;
  // Lanes are int32 pairs; a 64-bit add carries when the unsigned low sum wraps.
  let lo = 0;
  let th = 0;
  let tl = 0;
  for (let round = 0; round < 4; round++) {
    // v0 += v1; v1 = rol(v1, 13); v1 ^= v0; v0 = rol(v0, 32)
    lo = (v0l + v1l) | 0;
    v0h = (v0h + v1h + ((lo >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0;
    v0l = lo;
    th = (v1h << 13) | (v1l >>> 19);
    tl = (v1l << 13) | (v1h >>> 19);
    v1h = th ^ v0h;
    v1l = tl ^ v0l;
    th = v0h;
    v0h = v0l;
    v0l = th;
    // v2 += v3; v3 = rol(v3, 16); v3 ^= v2
    lo = (v2l + v3l) | 0;
    v2h = (v2h + v3h + ((lo >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0;
    v2l = lo;
    th = (v3h << 16) | (v3l >>> 16);
    tl = (v3l << 16) | (v3h >>> 16);
    v3h = th ^ v2h;
    v3l = tl ^ v2l;
    // v0 += v3; v3 = rol(v3, 21); v3 ^= v0
    lo = (v0l + v3l) | 0;
    v0h = (v0h + v3h + ((lo >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0;
    v0l = lo;
    th = (v3h << 21) | (v3l >>> 11);
    tl = (v3l << 21) | (v3h >>> 11);
    v3h = th ^ v0h;
    v3l = tl ^ v0l;
    // v2 += v1; v1 = rol(v1, 17); v1 ^= v2; v2 = rol(v2, 32)
    lo = (v2l + v1l) | 0;
    v2h = (v2h + v1h + ((lo >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0;
    v2l = lo;
    th = (v1h << 17) | (v1l >>> 15);
    tl = (v1l << 17) | (v1h >>> 15);
    v1h = th ^ v2h;
    v1l = tl ^ v2l;
    th = v2h;
    v2h = v2l;
    v2l = th;
    if (round === 0) {
      // HPOSTAMBLE after the single compression round: v0 ^= b; v2 ^= 0xff; three more rounds.
      v0h ^= bh;
      v0l ^= bl;
      v2l ^= 0xff;
    }
  }
  return v0l ^ v1l ^ v2l ^ v3l;
}


// ---- WebAssembly build ------------------------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb64(value: bigint): number[] {
  let x = BigInt.asIntN(64, value);
  const out: number[] = [];
  for (;;) {
    const byte = Number(x & 0x7fn);
    x >>= 7n;
    const done = (x === 0n && (byte & 0x40) === 0) || (x === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/**
 * One exported function h(v, k0lo, k0hi, k1lo, k1hi) -> i32 (the hash as int32). Locals:
 * params 0..4, then i64 v0..v3 (5..8), b (9), k0 (10), k1 (11).
 */
function assembleHsiphash(): Uint8Array<ArrayBuffer> {
  const OP = { get: 0x20, set: 0x21, i64const: 0x42, add: 0x7c, or: 0x84, xor: 0x85, shl: 0x86, rotl: 0x89, extendU: 0xad, wrap: 0xa7, end: 0x0b };
  const [V0, V1, V2, V3, B, K0, K1] = [5, 6, 7, 8, 9, 10, 11] as const;
  const code: number[] = [];
  const get = (i: number) => code.push(OP.get, i);
  const set = (i: number) => code.push(OP.set, i);
  const i64 = (x: bigint) => code.push(OP.i64const, ...sleb64(x));
  const joinKey = (hi: number, lo: number, dst: number) => {
    get(hi);
    code.push(OP.extendU);
    i64(32n);
    code.push(OP.shl);
    get(lo);
    code.push(OP.extendU, OP.or);
    set(dst);
  };
  const init = (constant: bigint, k: number, dst: number) => {
    i64(constant);
    get(k);
    code.push(OP.xor);
    set(dst);
  };
  const binInto = (op: number, dst: number, src: number) => {
    get(dst);
    get(src);
    code.push(op);
    set(dst);
  };
  const rotl = (dst: number, n: bigint) => {
    get(dst);
    i64(n);
    code.push(OP.rotl);
    set(dst);
  };
  const sipRound = () => {
    binInto(OP.add, V0, V1);
    rotl(V1, 13n);
    binInto(OP.xor, V1, V0);
    rotl(V0, 32n);
    binInto(OP.add, V2, V3);
    rotl(V3, 16n);
    binInto(OP.xor, V3, V2);
    binInto(OP.add, V0, V3);
    rotl(V3, 21n);
    binInto(OP.xor, V3, V0);
    binInto(OP.add, V2, V1);
    rotl(V1, 17n);
    binInto(OP.xor, V1, V2);
    rotl(V2, 32n);
  };
  joinKey(2, 1, K0);
  joinKey(4, 3, K1);
  init(0x736f6d6570736575n, K0, V0);
  init(0x646f72616e646f6dn, K1, V1);
  init(0x6c7967656e657261n, K0, V2);
  init(0x7465646279746573n, K1, V3);
  i64(4n << 56n); // b = len << 56 | le32(v)
  get(0);
  code.push(OP.extendU, OP.or);
  set(B);
  binInto(OP.xor, V3, B);
  sipRound();
  binInto(OP.xor, V0, B);
  get(V2);
  i64(0xffn);
  code.push(OP.xor);
  set(V2);
  sipRound();
  sipRound();
  sipRound();
  get(V0);
  get(V1);
  code.push(OP.xor);
  get(V2);
  code.push(OP.xor);
  get(V3);
  code.push(OP.xor, OP.wrap, OP.end);

  const body = [1, 7, 0x7e, ...code]; // one local group: 7 × i64
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [1, 0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7f]), // type: (i32 ×5) -> i32
    ...section(3, [1, 0]), // one function of type 0
    ...section(7, [1, 1, 0x68, 0x00, 0]), // export "h" = function 0
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

type WasmHsip = (v: number, k0lo: number, k0hi: number, k1lo: number, k1hi: number) => number;

const wasmHsip = new WebAssembly.Instance(new WebAssembly.Module(assembleHsiphash())).exports.h as WasmHsip;

/** hsiphash(&v, 4, key) as a u32. */
export function hsiphashU32(v: number, key: HsipKey): number {
  return wasmHsip(v | 0, key.k0lo | 0, key.k0hi | 0, key.k1lo | 0, key.k1hi | 0) >>> 0;
}

/**
 * hsiphashU32 reduced modulo m (m < 2^31), for the pick path: the int32 result crosses the call
 * boundary unboxed, where an unsigned value above 2^31 would become a heap number.
 */
export function hsiphashMod(v: number, key: HsipKey, m: number): number {
  return (wasmHsip(v | 0, key.k0lo | 0, key.k0hi | 0, key.k1lo | 0, key.k1hi | 0) >>> 0) % m;
}
