// One proxied TCP connection: client socket <-> real server socket, with backpressure, half-close
// and resets carried across, reporting IPVS-style state changes and traffic counters. Used by
// the primary (single process) and by workers alike; it knows nothing of the table.
import net from 'node:net';

export interface RelayTarget {
  addr: string;
  port: number;
  /** PROXY protocol header to send first, or null */
  header: Buffer | null;
}

/** The IPVS TCP states a proxied connection passes through after SYN_RECV. */
export type RelayState = 'ESTABLISHED' | 'FIN_WAIT' | 'CLOSE_WAIT' | 'TIME_WAIT' | 'CLOSE';

/** Why a relay ended (each is counted by the engine). */
export type RelayEnd =
  | 'closed' // both sides closed normally
  | 'closed-no-reply' // closed normally, but the real server never sent a byte
  | 'refused' // real server refused (or unreachable); the client was reset
  | 'connect-timeout' // real server did not complete the handshake in time; client reset
  | 'client-reset' // client reset or errored mid-stream; real server reset
  | 'backend-reset' // real server reset or errored mid-stream; client reset
  | 'killed'; // ended by us (table expiry, expire_nodest_conn, engine stop)

export interface RelayHooks {
  state(s: RelayState): void;
  /** The real server refused: another target to try once, or null to give up. */
  refused(): RelayTarget | null | Promise<RelayTarget | null>;
  end(reason: RelayEnd): void;
}

export interface RelayOptions {
  connectTimeoutMs: number;
}

export class TcpRelay {
  /** traffic not yet reported (taken by takeCounters) */
  inPkts = 0;
  inBytes = 0;
  outPkts = 0;
  outBytes = 0;
  private totalOut = 0;
  private backend: net.Socket | null = null;
  private clientEnded = false;
  private backendEnded = false;
  private closedCount = 0;
  private done = false;
  private retried = false;

  constructor(
    private readonly client: net.Socket,
    target: RelayTarget,
    private readonly hooks: RelayHooks,
    private readonly opts: RelayOptions,
  ) {
    // A socket handed to a worker is re-created there without the server's allowHalfOpen.
    (client as { allowHalfOpen: boolean }).allowHalfOpen = true;
    client.setNoDelay(true);
    client.on('error', () => this.onClientError());
    this.connect(target);
  }

  get finished(): boolean {
    return this.done;
  }

  /** Returns and clears the counters since the last call; null when there was no traffic. */
  takeCounters(): [number, number, number, number] | null {
    if (this.inPkts === 0 && this.outPkts === 0) return null;
    const r: [number, number, number, number] = [this.inPkts, this.inBytes, this.outPkts, this.outBytes];
    this.inPkts = this.inBytes = this.outPkts = this.outBytes = 0;
    return r;
  }

  /** Ends both sides now (reset), e.g. when the table expired the connection. */
  kill(): void {
    if (this.done) return;
    this.hooks.state('CLOSE');
    this.finish('killed');
    this.client.resetAndDestroy();
    this.backend?.resetAndDestroy();
  }

  private connect(target: RelayTarget): void {
    const b = net.connect({ host: target.addr, port: target.port, allowHalfOpen: true, noDelay: true });
    this.backend = b;
    let connected = false;
    const timer = setTimeout(() => {
      if (!connected) this.connectFailed(b, 'connect-timeout');
    }, this.opts.connectTimeoutMs);
    b.once('connect', () => {
      connected = true;
      clearTimeout(timer);
      if (this.done) {
        b.destroy();
        return;
      }
      this.hooks.state('ESTABLISHED');
      if (target.header) b.write(target.header);
      this.wire(b);
    });
    b.on('error', () => {
      clearTimeout(timer);
      if (!connected) this.connectFailed(b, 'refused');
      else this.onBackendError();
    });
  }

  private connectFailed(b: net.Socket, reason: 'refused' | 'connect-timeout'): void {
    b.destroy();
    if (this.done) return;
    if (!this.retried && reason === 'refused') {
      this.retried = true;
      Promise.resolve(this.hooks.refused()).then(
        (next) => {
          if (this.done) return;
          if (next) this.connect(next);
          else this.giveUp(reason);
        },
        () => this.giveUp(reason),
      );
      return;
    }
    this.giveUp(reason);
  }

  private giveUp(reason: 'refused' | 'connect-timeout'): void {
    if (this.done) return;
    this.hooks.state('CLOSE');
    this.finish(reason);
    this.client.resetAndDestroy();
  }

  private wire(b: net.Socket): void {
    const c = this.client;
    c.on('data', (chunk: Buffer) => {
      this.inPkts++;
      this.inBytes += chunk.length;
      if (!b.write(chunk)) c.pause();
    });
    b.on('data', (chunk: Buffer) => {
      this.outPkts++;
      this.outBytes += chunk.length;
      this.totalOut += chunk.length;
      if (!c.write(chunk)) b.pause();
    });
    b.on('drain', () => c.resume());
    c.on('drain', () => b.resume());
    c.on('end', () => {
      this.clientEnded = true;
      this.hooks.state(this.backendEnded ? 'TIME_WAIT' : 'FIN_WAIT');
      b.end();
    });
    b.on('end', () => {
      this.backendEnded = true;
      this.hooks.state(this.clientEnded ? 'TIME_WAIT' : 'CLOSE_WAIT');
      c.end();
    });
    const onClose = (): void => {
      if (++this.closedCount === 2 && !this.done) {
        // Both closed without an error: normal end (TIME_WAIT already reported by 'end').
        if (!this.clientEnded || !this.backendEnded) this.hooks.state('CLOSE');
        this.finish(this.totalOut === 0 ? 'closed-no-reply' : 'closed');
      }
    };
    c.on('close', onClose);
    b.on('close', onClose);
    c.resume();
  }

  private onClientError(): void {
    if (this.done) return;
    this.hooks.state('CLOSE');
    this.finish('client-reset');
    this.client.destroy();
    this.backend?.resetAndDestroy();
  }

  private onBackendError(): void {
    if (this.done) return;
    this.hooks.state('CLOSE');
    this.finish('backend-reset');
    this.backend?.destroy();
    this.client.resetAndDestroy();
  }

  private finish(reason: RelayEnd): void {
    this.done = true;
    this.hooks.end(reason);
  }
}
