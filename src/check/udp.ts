// UDP_CHECK (keepalived check_udp.c): send payload (random when none), wait connect_timeout.
// An ICMP error (port/host unreachable) fails. Without require_reply, silence is success; with
// it a reply must come, and with a reply pattern its length must lie in [min, max] and its
// bytes match the pattern (X nibbles ignored) over the shorter of the two.
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { CheckResult, UdpCheckSpec } from './types.js';
import { connectEndpoint, since, type CheckTarget, sendDatagram } from './target.js';

/**
 * Pure: keepalived's HEX_STR ("Ab12f 3 456" -> AB 12 0F 03 45 06): each space-separated group is
 * read two digits at a time, a trailing single digit is one byte. X/x is a wildcard nibble.
 */
export function parseHexString(s: string): { bytes: Uint8Array; mask: Uint8Array } {
  const bytes: number[] = [];
  const mask: number[] = [];
  for (const group of s.trim().split(/\s+/).filter((g) => g.length > 0)) {
    if (!/^[0-9a-fA-FxX]+$/.test(group)) throw new Error(`bad hex string '${group}'`);
    for (let i = 0; i < group.length; i += 2) {
      const pair = group.length - i === 1 ? `0${group[i]}` : group.slice(i, i + 2);
      let b = 0;
      let m = 0;
      for (const ch of pair) {
        b <<= 4;
        m <<= 4;
        if (ch === 'x' || ch === 'X') m |= 0xf;
        else b |= parseInt(ch, 16);
      }
      bytes.push(b);
      mask.push(m);
    }
  }
  if (bytes.length === 0) throw new Error('empty hex string');
  return { bytes: Uint8Array.from(bytes), mask: Uint8Array.from(mask) };
}

/** Pure: does a reply satisfy require_reply? */
export function udpReplyOk(reply: Uint8Array, spec: UdpCheckSpec): boolean {
  const p = spec.replyPattern;
  if (!p) return true;
  if (reply.length < (spec.minReplyLength ?? 0) || reply.length > (spec.maxReplyLength ?? 255)) return false;
  const n = Math.min(reply.length, p.bytes.length);
  for (let i = 0; i < n; i++) if (((reply[i]! ^ p.bytes[i]!) & ~p.mask[i]! & 0xff) !== 0) return false;
  return true;
}

export function udpCheck(spec: UdpCheckSpec, target: CheckTarget, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult> {
  const ep = connectEndpoint(spec, target);
  const start = performance.now();
  const payload = spec.payload ?? randomBytes(16);
  return new Promise((resolve) => {
    let done = false;
    const sock = createSocket(ep.family === 6 ? 'udp6' : 'udp4');
    const finish = (ok: boolean, reason: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.close();
      resolve({ ok, reason, tookMs: since(start) });
    };
    const onAbort = (): void => finish(false, 'aborted');
    const fail = (e: unknown): void => finish(false, `bad target: ${(e as Error).message}`);
    const timer = setTimeout(() => (spec.requireReply ? finish(false, 'no reply') : finish(true, 'no ICMP error')), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.on('error', (e: NodeJS.ErrnoException) => finish(false, e.code ?? e.message));
    sock.on('message', (msg) => (udpReplyOk(msg, spec) ? finish(true, 'reply') : finish(false, 'reply mismatch')));
    sendDatagram(sock, ep, payload, () => done, fail);
  });
}
