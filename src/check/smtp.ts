// SMTP_CHECK (keepalived check_smtp.c): expect a 220 greeting, send HELO <helo_name>, expect
// 250, send QUIT and wait for its reply. Each host block (older syntax) is checked; all must pass.
import { connect } from 'node:net';
import { markedTcpSocket } from '../net/marked-socket.js';
import type { CheckResult, SmtpCheckSpec } from './types.js';
import { connectEndpoint, since, type CheckTarget, type Endpoint } from './target.js';

export const SMTP_DEFAULT_HELO = 'smtpchecker.keepalived.org';
const MAX_REPLY = 8192;

/**
 * Pure: the status of the first complete SMTP reply in `buf` ("250-a\r\n250 b\r\n" -> 250),
 * null when incomplete, or 'bad' when it is not SMTP.
 */
export function smtpReplyStatus(buf: string): number | null | 'bad' {
  let pos = 0;
  for (;;) {
    const nl = buf.indexOf('\n', pos);
    if (nl < 0) return null;
    const line = buf.slice(pos, nl).replace(/\r$/, '');
    const m = /^(\d{3})([ -]|$)/.exec(line);
    if (!m) return 'bad';
    if (m[2] !== '-') return Number(m[1]);
    pos = nl + 1;
  }
}

function smtpDialog(ep: Endpoint, helo: string, timeoutMs: number, signal?: AbortSignal): Promise<string | null> {
  return new Promise((resolve) => {
    let step: 'greeting' | 'helo' | 'quit' = 'greeting';
    let buf = '';
    let done = false;
    const opts = { host: ep.host, port: ep.port, localAddress: ep.localAddress, localPort: ep.localPort, family: ep.family };
    const sock = ep.mark ? markedTcpSocket(ep.family, ep.mark).connect(opts) : connect(opts);
    const finish = (failure: string | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(failure);
    };
    const onAbort = (): void => finish('aborted');
    const timer = setTimeout(() => finish(`timeout waiting for ${step} reply`), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_REPLY) return finish('reply too long');
      const st = smtpReplyStatus(buf);
      if (st === null) return;
      if (st === 'bad') return finish(`bad ${step} reply`);
      buf = '';
      if (step === 'greeting') {
        if (st !== 220) return finish(`greeting ${st}`);
        step = 'helo';
        sock.write(`HELO ${helo}\r\n`);
      } else if (step === 'helo') {
        if (st !== 250) return finish(`HELO ${st}`);
        step = 'quit';
        sock.write('QUIT\r\n');
      } else finish(null);
    });
    sock.once('end', () => finish(`closed before ${step} reply`));
    sock.once('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
  });
}

export async function smtpCheck(spec: SmtpCheckSpec, target: CheckTarget, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult> {
  const start = performance.now();
  const hosts = spec.hosts && spec.hosts.length > 0 ? spec.hosts.map((h) => ({ ...spec, ...h })) : [spec];
  for (const h of hosts) {
    const failure = await smtpDialog(connectEndpoint(h, target), spec.heloName ?? SMTP_DEFAULT_HELO, timeoutMs, signal);
    if (failure !== null) return { ok: false, reason: failure, tookMs: since(start) };
  }
  return { ok: true, reason: 'HELO 250', tookMs: since(start) };
}
