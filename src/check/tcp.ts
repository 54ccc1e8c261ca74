// TCP_CHECK: the server is up when a TCP connection completes within connect_timeout.
import { connect } from 'node:net';
import type { CheckResult, TcpCheckSpec } from './types.js';
import { connectEndpoint, since, type CheckTarget } from './target.js';

/** Pure: the outcome of one connect attempt. */
export function tcpResult(error: NodeJS.ErrnoException | 'timeout' | null, tookMs: number): CheckResult {
  if (error === null) return { ok: true, reason: 'connected', tookMs };
  if (error === 'timeout') return { ok: false, reason: 'timeout', tookMs };
  return { ok: false, reason: error.code ?? error.message, tookMs };
}

export function tcpCheck(spec: TcpCheckSpec, target: CheckTarget, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult> {
  const ep = connectEndpoint(spec, target);
  const start = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const sock = connect({ host: ep.host, port: ep.port, localAddress: ep.localAddress, localPort: ep.localPort, family: ep.family });
    const finish = (err: NodeJS.ErrnoException | 'timeout' | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(tcpResult(err, since(start)));
    };
    const onAbort = (): void => finish(Object.assign(new Error('aborted'), { code: 'aborted' }));
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    sock.once('connect', () => finish(null));
    sock.once('error', (e) => finish(e));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
