// PING_CHECK: one ICMP (or ICMPv6) echo request; up when the matching echo reply arrives within
// connect_timeout. One raw socket per address family is shared by all pending pings (every ICMP
// packet reaches every raw socket, so one per check would not scale); replies are matched by
// identifier and sequence number. Needs root (CAP_NET_RAW); without it the check fails with EPERM.
// fwmark: checks with a mark get a raw socket per (family, mark) with SO_MARK set, as keepalived
// marks its checker sockets; each such socket has its own echo identifier. (TCP, HTTP and the
// other checkers cannot set SO_MARK: Node's sockets have no setsockopt.)
import { createRequire } from 'node:module';
import type { CheckResult, PingCheckSpec } from './types.js';
import { connectEndpoint, since, type CheckTarget } from './target.js';

interface RawSocket {
  on(ev: 'message', cb: (buf: Buffer, source: string) => void): void;
  on(ev: 'error', cb: (e: Error) => void): void;
  send(buf: Buffer, offset: number, length: number, address: string, after: (err: Error | null, bytes: number) => void): void;
  setOption(level: number, option: number, value: number): void;
  close(): void;
}
interface RawModule {
  createSocket(o: { protocol: number; addressFamily: number }): RawSocket;
  createChecksum(buf: Buffer): number;
  writeChecksum(buf: Buffer, offset: number, sum: number): void;
  AddressFamily: { IPv4: number; IPv6: number };
}
const raw = createRequire(import.meta.url)('raw-socket') as RawModule;

const SOL_SOCKET = 1;
const SO_MARK = 36;
const ECHO_REQUEST = { 4: 8, 6: 128 } as const;
const ECHO_REPLY = { 4: 0, 6: 129 } as const;

/** Pure: an echo request with this identifier, sequence and payload (v4 checksum filled in). */
export function buildEcho(family: 4 | 6, ident: number, seq: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b[0] = ECHO_REQUEST[family];
  b.writeUInt16BE(ident, 4);
  b.writeUInt16BE(seq, 6);
  payload.copy(b, 8);
  if (family === 4) raw.writeChecksum(b, 2, raw.createChecksum(b)); // the kernel does ICMPv6's
  return b;
}

/** Pure: the [ident, seq] of an echo reply, or null. IPv4 raw sockets deliver the IP header too. */
export function parseEchoReply(family: 4 | 6, msg: Buffer): [number, number] | null {
  const off = family === 4 ? (msg.length > 0 ? (msg[0]! & 0x0f) * 4 : 0) : 0;
  if (msg.length < off + 8 || msg[off] !== ECHO_REPLY[family]) return null;
  return [msg.readUInt16BE(off + 4), msg.readUInt16BE(off + 6)];
}

interface Pending {
  host: string;
  done: (ok: boolean, reason: string) => void;
}

class Pinger {
  private sock: RawSocket | null = null;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private readonly ident: number;
  constructor(
    private readonly family: 4 | 6,
    private readonly mark = 0,
    identOffset = 0,
  ) {
    this.ident = (process.pid + identOffset) & 0xffff;
  }

  ping(host: string, timeoutMs: number, signal?: AbortSignal): Promise<[boolean, string]> {
    return new Promise((resolve) => {
      let sock: RawSocket;
      try {
        sock = this.socket();
      } catch (e) {
        resolve([false, (e as Error).message]);
        return;
      }
      let seq = (this.seq = (this.seq + 1) & 0xffff);
      while (this.pending.has(seq)) seq = this.seq = (this.seq + 1) & 0xffff;
      const timer = setTimeout(() => p.done(false, 'timeout'), timeoutMs);
      const onAbort = (): void => p.done(false, 'aborted');
      const p: Pending = {
        host,
        done: (ok, reason) => {
          if (this.pending.get(seq) !== p) return;
          this.pending.delete(seq);
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (this.pending.size === 0) this.closeSocket();
          resolve([ok, reason]);
        },
      };
      this.pending.set(seq, p);
      signal?.addEventListener('abort', onAbort, { once: true });
      const pkt = buildEcho(this.family, this.ident, seq, Buffer.from('lvsd-check'));
      sock.send(pkt, 0, pkt.length, host, (err) => {
        if (err) p.done(false, (err as NodeJS.ErrnoException).code ?? err.message);
      });
    });
  }

  private socket(): RawSocket {
    if (this.sock) return this.sock;
    const s = raw.createSocket({
      protocol: this.family === 4 ? 1 : 58,
      addressFamily: this.family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6,
    });
    if (this.mark !== 0) {
      try {
        s.setOption(SOL_SOCKET, SO_MARK, this.mark);
      } catch (e) {
        s.close();
        throw e;
      }
    }
    s.on('message', (msg) => {
      const r = parseEchoReply(this.family, msg);
      if (!r || r[0] !== this.ident) return;
      this.pending.get(r[1])?.done(true, 'echo reply');
    });
    s.on('error', (e) => {
      for (const p of [...this.pending.values()]) p.done(false, e.message);
      this.closeSocket();
    });
    this.sock = s;
    return s;
  }

  private closeSocket(): void {
    const s = this.sock;
    this.sock = null;
    try {
      s?.close();
    } catch {
      /* already closed */
    }
  }
}

const pingers = new Map<string, Pinger>();

function pingerFor(family: 4 | 6, mark: number): Pinger {
  const key = `${family}/${mark}`;
  let p = pingers.get(key);
  if (!p) pingers.set(key, (p = new Pinger(family, mark, pingers.size)));
  return p;
}

export async function pingCheck(spec: PingCheckSpec, target: CheckTarget, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult> {
  const ep = connectEndpoint(spec, target);
  const start = performance.now();
  const [ok, reason] = await pingerFor(ep.family, spec.fwmark ?? 0).ping(ep.host, timeoutMs, signal);
  return { ok, reason, tookMs: since(start) };
}
