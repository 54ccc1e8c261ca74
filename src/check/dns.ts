// DNS_CHECK (keepalived check_dns.c): one query (type, default SOA; name, default ".") over UDP
// with recursion desired and a random id. Replies with a wrong id, not marked as a response, or
// too short are ignored (the check then times out); a response with rcode != NOERROR fails.
// Beyond keepalived: a reply that does not decode fails, and `expect` checks the answers.
import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import dnsPacket from 'dns-packet';
import type { CheckResult, DnsCheckSpec } from './types.js';
import { connectEndpoint, since, type CheckTarget, sendDatagram } from './target.js';

export function buildDnsQuery(id: number, type: string, name: string): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as dnsPacket.RecordType, name: name === '.' ? '.' : name.replace(/\.$/, ''), class: 'IN' }],
  });
}

/** The answer text a record is compared with in `expect`. */
function answerText(a: dnsPacket.Answer): string {
  const d = (a as { data?: unknown }).data;
  if (typeof d === 'string') return d.toLowerCase();
  if (d && typeof d === 'object' && 'exchange' in d) return String((d as { exchange: string }).exchange).toLowerCase();
  if (d && typeof d === 'object' && 'mname' in d) return String((d as { mname: string }).mname).toLowerCase();
  if (Array.isArray(d)) return d.map((x) => Buffer.isBuffer(x) ? x.toString('utf8') : String(x)).join('');
  return '';
}

/**
 * Pure: what a datagram means for a query with id `id`: 'ignore' (not our reply: keep waiting)
 * or a result.
 */
export function dnsReplyResult(msg: Buffer, id: number, spec: DnsCheckSpec, tookMs: number): CheckResult | 'ignore' {
  if (msg.length < 12) return 'ignore';
  if (msg.readUInt16BE(0) !== id) return 'ignore';
  const flags = msg.readUInt16BE(2);
  if ((flags & 0x8000) === 0) return 'ignore';
  const rcode = flags & 0xf;
  if (rcode !== 0) return { ok: false, reason: `rcode ${rcode}`, tookMs };
  let pkt: dnsPacket.Packet;
  try {
    pkt = dnsPacket.decode(msg);
  } catch {
    return { ok: false, reason: 'malformed reply', tookMs };
  }
  if (spec.expect && spec.expect.length > 0) {
    const want = (spec.queryType ?? 'SOA').toUpperCase();
    const got = (pkt.answers ?? []).filter((a) => a.type === want).map(answerText);
    const expected = spec.expect.map((e) => e.toLowerCase().replace(/\.$/, ''));
    if (!got.some((g) => expected.includes(g.replace(/\.$/, ''))))
      return { ok: false, reason: `answer [${got.join(',')}] not in expect`, tookMs };
  }
  return { ok: true, reason: `NOERROR, ${pkt.answers?.length ?? 0} answers`, tookMs };
}

export function dnsCheck(spec: DnsCheckSpec, target: CheckTarget, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult> {
  const ep = connectEndpoint(spec, { ...target, port: spec.connectPort ?? target.port });
  const start = performance.now();
  const id = randomInt(0, 0x10000);
  const query = buildDnsQuery(id, spec.queryType ?? 'SOA', spec.name ?? '.');
  return new Promise((resolve) => {
    let done = false;
    const sock = createSocket(ep.family === 6 ? 'udp6' : 'udp4');
    const finish = (r: CheckResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.close();
      resolve(r);
    };
    const onAbort = (): void => finish({ ok: false, reason: 'aborted', tookMs: since(start) });
    const fail = (e: unknown): void => finish({ ok: false, reason: `bad target: ${(e as Error).message}`, tookMs: since(start) });
    const timer = setTimeout(() => finish({ ok: false, reason: 'timeout', tookMs: since(start) }), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, reason: e.code ?? e.message, tookMs: since(start) }));
    sock.on('message', (msg) => {
      const r = dnsReplyResult(msg, id, spec, since(start));
      if (r !== 'ignore') finish(r);
    });
    sendDatagram(sock, ep, query, () => done, fail);
  });
}
