import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  decodeAdvert,
  decodeIpv4,
  encodeAdvert,
  encodeIpv4Header,
  internetChecksum,
  passwordBytes,
  type VrrpAdvert,
} from '../../src/vrrp/codec.js';
import { readPcap } from './pcap.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/vrrp');
const cap = (name: string) => readPcap(join(fixtures, `${name}.pcap`));

describe('internet checksum (RFC 1071)', () => {
  it('matches the RFC 1071 worked example', () => {
    // RFC 1071 section 3: words 0001 f203 f4f5 f6f7 sum to 0xddf2, checksum is its complement.
    expect(internetChecksum(Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]))).toBe(~0xddf2 & 0xffff);
  });
  it('is the same whether the stream is split on odd boundaries or not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(64), (bytes, cut) => {
        const c = Math.min(cut, bytes.length);
        expect(internetChecksum(bytes.subarray(0, c), bytes.subarray(c))).toBe(internetChecksum(bytes));
      }),
    );
  });
});

describe('keepalived 2.2.7 captures', () => {
  it('v2 without auth: decodes, two VIPs in config order, last advert has priority 0', () => {
    const pkts = cap('v2-noauth');
    expect(pkts.length).toBeGreaterThanOrEqual(2);
    for (const p of pkts) {
      expect(p.ttl).toBe(255);
      expect(p.dst).toBe('224.0.0.18');
      expect(p.ip.length).toBe(20 + 8 + 2 * 4 + 8);
      const r = decodeAdvert(p.payload, { family: 4, src: p.src, dst: p.dst });
      if (!r.ok) throw new Error(r.reason);
      expect(r.advert).toMatchObject({ version: 2, vrid: 51, intervalCs: 100, authType: 0, addrs: ['192.0.2.100', '192.0.2.101'] });
      expect(r.advert.checksumForm).toBe('v2');
    }
    const prios = pkts.map((p) => decodeAdvert(p.payload, { family: 4 })).map((r) => (r.ok ? r.advert.priority : -1));
    expect(prios.slice(0, -1).every((x) => x === 100)).toBe(true);
    expect(prios[prios.length - 1]).toBe(0);
  });

  it('v2 PASS: auth type 1 and the first 8 characters of the password', () => {
    for (const p of cap('v2-pass')) {
      const r = decodeAdvert(p.payload, { family: 4 });
      if (!r.ok) throw new Error(r.reason);
      expect(r.advert.authType).toBe(1);
      expect(r.advert.authData.equals(passwordBytes('secret12345'))).toBe(true);
      expect(r.advert.authData.toString('latin1')).toBe('secret12');
    }
  });

  it('v3 IPv4 multicast: 32-byte packets, interval in centiseconds, pseudo-header checksum', () => {
    const pkts = cap('v3-mcast4');
    expect(pkts.length).toBeGreaterThan(3);
    for (const p of pkts) {
      expect(p.ip.length).toBe(32);
      const r = decodeAdvert(p.payload, { family: 4, src: p.src, dst: p.dst });
      if (!r.ok) throw new Error(r.reason);
      expect(r.advert).toMatchObject({ version: 3, vrid: 51, intervalCs: 10, addrs: ['192.0.2.100'] });
      expect(r.advert.checksumForm).toBe('pseudo');
      // Without the pseudo-header (RFC 9568 style) keepalived 2.2.7's checksum would not verify.
      const copy = Buffer.from(p.payload);
      copy.writeUInt16BE(0, 6);
      expect(internetChecksum(copy)).not.toBe(p.payload.readUInt16BE(6));
    }
  });

  it('v3 IPv4 unicast: the pseudo-header carries the peer address as destination', () => {
    const pkts = cap('v3-ucast4');
    expect(pkts.length).toBeGreaterThan(3);
    for (const p of pkts) {
      expect(p.dst).toBe('192.0.2.2');
      const r = decodeAdvert(p.payload, { family: 4, src: p.src, dst: p.dst });
      if (!r.ok) throw new Error(r.reason);
      expect(r.advert.checksumForm).toBe('pseudo');
    }
  });

  it('v3 IPv6: from the link-local address to ff02::12, hop limit 255, IPv6 pseudo-header checksum', () => {
    const pkts = cap('v3-mcast6');
    expect(pkts.length).toBeGreaterThan(3);
    for (const p of pkts) {
      expect(p.src.startsWith('fe80:')).toBe(true);
      expect(p.ttl).toBe(255);
      const r = decodeAdvert(p.payload, { family: 6, src: p.src, dst: p.dst });
      if (!r.ok) throw new Error(r.reason);
      expect(r.advert).toMatchObject({ version: 3, vrid: 51, intervalCs: 10, addrs: ['2001:db8::100', '2001:db8::101'] });
      const wrongDst = decodeAdvert(p.payload, { family: 6, src: p.src, dst: 'ff02::1' });
      expect(wrongDst).toEqual(expect.objectContaining({ ok: false, reason: 'checksum' }));
    }
  });

  it('re-encoding every captured advert gives keepalived\'s exact bytes', () => {
    const cases: Array<[string, 4 | 6]> = [['v2-noauth', 4], ['v2-pass', 4], ['v3-mcast4', 4], ['v3-ucast4', 4], ['v3-mcast6', 6]];
    let n = 0;
    for (const [name, family] of cases) {
      for (const p of cap(name)) {
        const r = decodeAdvert(p.payload, { family, src: p.src, dst: p.dst });
        if (!r.ok) throw new Error(r.reason);
        const again = encodeAdvert(r.advert, { family, src: p.src, dst: p.dst, checksumMode: 'pseudo' });
        expect(again.toString('hex')).toBe(p.payload.toString('hex'));
        n++;
      }
    }
    expect(n).toBeGreaterThan(20);
  });

  it('our IPv4 header equals keepalived\'s (TOS 0xC0, TTL 255, same id and checksum)', () => {
    for (const p of cap('v2-noauth')) {
      const ip = decodeIpv4(p.ip);
      if (!ip.ok) throw new Error(ip.reason);
      expect(ip.packet.tos).toBe(0xc0);
      const ours = encodeIpv4Header({ src: p.src, dst: p.dst, ttl: 255, id: ip.packet.id, payloadLen: ip.packet.payload.length });
      expect(ours.toString('hex')).toBe(p.ip.subarray(0, 20).toString('hex'));
    }
  });
});

const advertArb = (family: 4 | 6) =>
  fc.record({
    version: family === 6 ? fc.constant(3 as const) : fc.constantFrom(2 as const, 3 as const),
    vrid: fc.integer({ min: 1, max: 255 }),
    priority: fc.integer({ min: 0, max: 255 }),
    nAddrs: fc.integer({ min: 0, max: 20 }),
    seed: fc.uint8Array({ minLength: 16 * 20, maxLength: 16 * 20 }),
    interval: fc.integer({ min: 1, max: 255 }),
    authType: fc.constantFrom(0, 1),
    pass: fc.string({ maxLength: 12 }),
  });

function build(x: { version: 2 | 3; vrid: number; priority: number; nAddrs: number; seed: Uint8Array; interval: number; authType: number; pass: string }, family: 4 | 6): VrrpAdvert {
  const addrs: string[] = [];
  for (let i = 0; i < x.nAddrs; i++) {
    const b = x.seed.subarray(i * 16, i * 16 + (family === 4 ? 4 : 16));
    addrs.push(family === 4 ? Array.from(b).join('.') : Array.from({ length: 8 }, (_, k) => ((b[2 * k] << 8) | b[2 * k + 1]).toString(16)).join(':'));
  }
  const v2 = x.version === 2;
  return {
    version: x.version,
    vrid: x.vrid,
    priority: x.priority,
    intervalCs: v2 ? x.interval * 100 : x.interval * 16,
    authType: v2 ? x.authType : 0,
    authData: v2 ? (x.authType ? passwordBytes(x.pass) : Buffer.alloc(8)) : Buffer.alloc(0),
    addrs,
  };
}

describe('round trips', () => {
  for (const family of [4, 6] as const) {
    it(`IPv${family}: decode(encode(a)) == a`, () => {
      const src = family === 4 ? '192.0.2.1' : 'fe80::1';
      const dst = family === 4 ? '224.0.0.18' : 'ff02::12';
      fc.assert(
        fc.property(advertArb(family), (x) => {
          const a = build(x, family);
          const r = decodeAdvert(encodeAdvert(a, { family, src, dst }), { family, src, dst });
          if (!r.ok) throw new Error(r.reason);
          const { checksumForm, ...rest } = r.advert;
          expect(checksumForm).toBe(a.version === 2 ? 'v2' : 'pseudo');
          expect({ ...rest, addrs: rest.addrs }).toEqual({ ...a, addrs: a.addrs.map((t) => decodeAddrText(t, family)) });
        }),
        { numRuns: 300 },
      );
    });
  }

  it('v3/IPv4 checksum modes: each decodes and reports the form it was sent with', () => {
    const a = build({ version: 3, vrid: 7, priority: 90, nAddrs: 1, seed: new Uint8Array(320).fill(9), interval: 5, authType: 0, pass: '' }, 4);
    const ctx = { family: 4 as const, src: '192.0.2.1', dst: '192.0.2.2' };
    for (const mode of ['pseudo', 'pseudo-mcast-dst', 'none'] as const) {
      const r = decodeAdvert(encodeAdvert(a, { ...ctx, checksumMode: mode }), ctx);
      expect(r.ok && r.advert.checksumForm).toBe(mode);
    }
  });
});

function decodeAddrText(t: string, family: 4 | 6): string {
  // Canonical text as the decoder prints it.
  const r = decodeAdvert(
    encodeAdvert({ version: 3, vrid: 1, priority: 1, intervalCs: 1, authType: 0, authData: Buffer.alloc(0), addrs: [t] }, { family, checksumMode: 'none', src: family === 6 ? '::1' : undefined, dst: family === 6 ? '::1' : undefined }),
    { family, kernelChecksum: true },
  );
  if (!r.ok) throw new Error(r.reason);
  return r.advert.addrs[0];
}

describe('drops, with a reason, never a throw', () => {
  const good = encodeAdvert(
    { version: 2, vrid: 51, priority: 100, intervalCs: 100, authType: 0, authData: Buffer.alloc(8), addrs: ['192.0.2.100'] },
    { family: 4 },
  );
  const with_ = (f: (b: Buffer) => void) => {
    const b = Buffer.from(good);
    f(b);
    return decodeAdvert(b, { family: 4 });
  };
  it('short', () => expect(decodeAdvert(good.subarray(0, 7), { family: 4 })).toMatchObject({ ok: false, reason: 'short' }));
  it('length (one octet too long or short)', () => {
    expect(decodeAdvert(Buffer.concat([good, Buffer.alloc(1)]), { family: 4 })).toMatchObject({ ok: false, reason: 'length' });
    expect(decodeAdvert(good.subarray(0, good.length - 1), { family: 4 })).toMatchObject({ ok: false, reason: 'length' });
  });
  it('version', () => expect(with_((b) => (b[0] = 0x41))).toMatchObject({ ok: false, reason: 'version' }));
  it('v2 over IPv6', () => expect(decodeAdvert(good, { family: 6 })).toMatchObject({ ok: false, reason: 'version' }));
  it('type', () => expect(with_((b) => (b[0] = 0x22))).toMatchObject({ ok: false, reason: 'type' }));
  it('invalid auth type', () => expect(with_((b) => (b[4] = 3))).toMatchObject({ ok: false, reason: 'auth-type-invalid' }));
  it('checksum', () => expect(with_((b) => (b[2] = 99))).toMatchObject({ ok: false, reason: 'checksum' }));
  it('IPv4 header: short, not v4, bad IHL, tot_len mismatch', () => {
    const ip = Buffer.concat([encodeIpv4Header({ src: '192.0.2.1', dst: '224.0.0.18', ttl: 255, id: 1, payloadLen: good.length }), good]);
    expect(decodeIpv4(ip)).toMatchObject({ ok: true });
    expect(decodeIpv4(ip.subarray(0, 10))).toMatchObject({ ok: false, reason: 'short' });
    expect(decodeIpv4(Buffer.concat([Buffer.from([0x65]), ip.subarray(1)]))).toMatchObject({ ok: false, reason: 'ip-header' });
    expect(decodeIpv4(Buffer.concat([Buffer.from([0x4f]), ip.subarray(1)]))).toMatchObject({ ok: false, reason: 'ip-header' });
    expect(decodeIpv4(ip.subarray(0, ip.length - 2))).toMatchObject({ ok: false, reason: 'ip-length' });
  });
  it('fuzz: random bytes and mutated captures never throw; anything accepted re-encodes to the same bytes', () => {
    const seeds = [...cap('v2-noauth'), ...cap('v3-mcast4')].map((p) => p.payload);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 120 }),
          fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([s, i, v]) => {
            const b = Buffer.from(s);
            b[i % b.length] = v;
            return b;
          }),
        ),
        fc.constantFrom(4 as const, 6 as const),
        (bytes, family) => {
          const ctx = { family, src: family === 4 ? '192.0.2.1' : 'fe80::1', dst: family === 4 ? '224.0.0.18' : 'ff02::12' };
          const r = decodeAdvert(bytes, ctx);
          decodeIpv4(bytes);
          if (r.ok) {
            const mode = r.advert.checksumForm === 'v2' || r.advert.checksumForm === 'kernel' ? 'pseudo' : r.advert.checksumForm;
            // Exact unless the input used bits the decoder ignores (v3 reserved nibble) or an interval we never send.
            const exact = r.advert.intervalCs >= 1 && (r.advert.version === 2 || (bytes[4] & 0xf0) === 0);
            if (exact) expect(encodeAdvert(r.advert, { ...ctx, checksumMode: mode }).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
