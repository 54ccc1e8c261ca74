// TCP_CHECK: the server is up when a TCP connection completes within connect_timeout. Then the
// socket is closed, as keepalived does (a plain close: FIN, not RST).
//
// The runner's path (TcpProbe) is built for thousands of checks a second: no promise, no
// AbortController and no timer per check (the connect timeout is an entry in the runner's
// DeadlineQueue), and the socket listeners are shared functions that find their probe through
// the socket, so a check allocates the socket and one small probe object.
import { Socket } from 'node:net';
import { markedSocketOptions } from '../net/marked-socket.js';
import type { CheckResult, TcpCheckSpec } from './types.js';
import { connectEndpoint, type CheckTarget, type Endpoint } from './target.js';
import type { Deadline } from './deadlines.js';

/** Pure: the outcome of one connect attempt. */
export function tcpResult(error: NodeJS.ErrnoException | 'timeout' | null, tookMs: number): CheckResult {
  if (error === null) return { ok: true, reason: 'connected', tookMs };
  if (error === 'timeout') return { ok: false, reason: 'timeout', tookMs };
  return { ok: false, reason: error.code ?? error.message, tookMs };
}

/** Receives a probe's result; `probe` tells a current probe from a cancelled one. */
export interface TcpProbeOwner {
  /** The clock the start time and the timeout are measured with. */
  now(): number;
  tcpDone(probe: TcpProbe, result: CheckResult): void;
}

/** Where a probe keeps its connect timeout (a DeadlineQueue in the runner). */
export interface Timeouts {
  schedule(d: Deadline, atMs: number): void;
  cancel(d: Deadline): void;
}

class ProbeSocket extends Socket {
  probe: TcpProbe | null = null;
}

function onConnect(this: ProbeSocket): void {
  this.probe?.finish(null);
}

function onError(this: ProbeSocket, e: NodeJS.ErrnoException): void {
  this.probe?.finish(e);
}

const ABORTED = Object.freeze(Object.assign(new Error('aborted'), { code: 'aborted' }));

/** One connect attempt; reports once to its owner (also when aborted). */
export class TcpProbe implements Deadline {
  dueSlot = -1;
  private sock: ProbeSocket | null;
  private readonly startMs: number;

  constructor(
    ep: Endpoint,
    timeoutMs: number,
    private readonly timeouts: Timeouts,
    private readonly owner: TcpProbeOwner,
  ) {
    this.startMs = owner.now();
    const sock = new ProbeSocket(markedSocketOptions(ep.family, ep.mark));
    sock.probe = this;
    this.sock = sock;
    sock.on('connect', onConnect);
    sock.on('error', onError);
    timeouts.schedule(this, this.startMs + timeoutMs);
    try {
      sock.connect({ host: ep.host, port: ep.port, localAddress: ep.localAddress, localPort: ep.localPort, family: ep.family });
    } catch (e) {
      // bad address or option: a failed check, reported after the caller has the probe
      queueMicrotask(() => this.finish(e as NodeJS.ErrnoException));
    }
  }

  /** Connect timeout (DeadlineQueue callback). */
  onDue(nowMs: number): void {
    this.finish('timeout', nowMs);
  }

  abort(): void {
    this.finish(ABORTED);
  }

  finish(err: NodeJS.ErrnoException | 'timeout' | null, nowMs = this.owner.now()): void {
    const sock = this.sock;
    if (sock === null) return;
    this.sock = null;
    sock.probe = null;
    this.timeouts.cancel(this);
    sock.destroy();
    this.owner.tcpDone(this, tcpResult(err, Math.round(nowMs - this.startMs)));
  }
}

/** A one-off check with its own timer (tests, tools). The runner uses TcpProbe. */
export function tcpCheck(spec: TcpCheckSpec, target: CheckTarget, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const timeouts: Timeouts = {
      schedule: (d, atMs) => (timer = setTimeout(() => d.onDue(performance.now()), atMs - performance.now())),
      cancel: () => clearTimeout(timer),
    };
    const onAbort = (): void => probe.abort();
    const probe = new TcpProbe(connectEndpoint(spec, target), timeoutMs, timeouts, {
      now: () => performance.now(),
      tcpDone: (_p, res) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(res);
      },
    });
    if (signal?.aborted) probe.abort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}
