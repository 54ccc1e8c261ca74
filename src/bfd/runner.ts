// The BFD shell: UDP sockets, one timer for every session, and up/down events to subscribers.
// Each session sends from its own socket (source port 49152-65535, RFC 5881 section 4; TTL 255
// by default) to the neighbour's port 3784 (4784 multihop); packets arrive on a listener bound
// to port 3784 of the source address (or any address). Node cannot read a received packet's TTL,
// so the GTSM check (RFC 5881 section 5: drop single-hop packets whose TTL is not 255) is not
// made. Nothing here throws into the caller: socket errors are logged and returned.
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { systemClock, type Clock } from '../check/clock.js';
import { BFD_MULTIHOP_PORT, BFD_PORT, decodeControl, encodeControl, type BfdDropReason, type OutgoingPacket } from './codec.js';
import { BfdSession, type SessionOutput, type SessionParams, type SessionSnapshot } from './session.js';
import { BfdError, type BfdInstanceSpec, type BfdStateSource } from './types.js';

export interface BfdLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface BfdRunnerOptions {
  logger: BfdLogger;
  clock?: Clock;
  /** Randomness in [0, 1): jitter, discriminators, source ports. */
  rand?: () => number;
  /** Port sessions listen on and send to (default 3784; tests may move it). */
  port?: number;
  /** Multihop port (default 4784). */
  multihopPort?: number;
}

export interface BfdStatus extends SessionSnapshot {
  name: string;
  neighbor: string;
  reportedUp: boolean;
}

const SRC_PORT_MIN = 49152;
const SRC_PORT_MAX = 65535;

interface Listener {
  sock: dgram.Socket;
  users: number;
}

interface Entry {
  spec: BfdInstanceSpec;
  session: BfdSession;
  sock: dgram.Socket | null;
  listenerKey: string;
  reported: boolean;
  sendFailed: boolean;
}

function paramsOf(s: BfdInstanceSpec): SessionParams {
  const us = (ms: number) => Math.round(ms * 1000);
  return { minTxUs: us(s.minTxMs), minRxUs: us(s.minRxMs), idleTxUs: us(s.idleTxMs), multiplier: s.multiplier, passive: s.passive };
}

/** Fields that pin a session to its sockets: a change means a new session. */
function placeOf(s: BfdInstanceSpec): string {
  return `${s.neighbor}|${s.source ?? ''}|${s.ttl}|${s.multihop}`;
}

function plainAddr(a: string): string {
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

export class BfdRunner implements BfdStateSource {
  private readonly entries = new Map<string, Entry>();
  private readonly byDiscr = new Map<number, Entry>();
  private readonly listeners = new Map<string, Listener>();
  private readonly subscribers = new Set<(name: string, up: boolean) => void>();
  private readonly clock: Clock;
  private readonly rand: () => number;
  private timer: unknown = undefined;
  private armedAt = Infinity;
  private stopped = false;
  /** Packets dropped, by reason. */
  readonly dropped: Partial<Record<BfdDropReason | 'no-session' | 'admin-down' | 'your-discr-mismatch', number>> = {};

  constructor(private readonly o: BfdRunnerOptions) {
    this.clock = o.clock ?? systemClock;
    this.rand = o.rand ?? Math.random;
  }

  isUp(name: string): boolean {
    return this.entries.get(name)?.reported ?? false;
  }

  onChange(cb: (name: string, up: boolean) => void): () => void {
    this.subscribers.add(cb);
    return () => this.subscribers.delete(cb);
  }

  status(): BfdStatus[] {
    return [...this.entries.values()].map((e) => ({ name: e.spec.name, neighbor: e.spec.neighbor, reportedUp: e.reported, ...e.session.snapshot() }));
  }

  /** Local discriminator of a session (tests check reload keeps it). */
  discriminator(name: string): number | undefined {
    return this.entries.get(name)?.session.localDiscr;
  }

  async start(specs: readonly BfdInstanceSpec[]): Promise<BfdError[]> {
    return this.reconcile(specs);
  }

  /**
   * Move to a new set of instances. An instance whose neighbour, source, TTL and hop mode are
   * unchanged keeps its session (state, discriminators); new intervals go through a Poll
   * Sequence. Removed instances send AdminDown once and close.
   */
  async reconcile(specs: readonly BfdInstanceSpec[]): Promise<BfdError[]> {
    if (this.stopped) return [];
    const errors: BfdError[] = [];
    const wanted = new Map(specs.map((s) => [s.name, s]));
    for (const [name, e] of [...this.entries]) {
      const next = wanted.get(name);
      if (!next || placeOf(next) !== placeOf(e.spec)) this.remove(e);
      else {
        e.spec = next;
        this.handle(e, e.session.setParams(paramsOf(next), this.clock.now()));
      }
    }
    for (const s of specs) {
      if (this.entries.has(s.name)) continue;
      const err = await this.add(s);
      if (err) errors.push(err);
    }
    this.arm();
    return errors;
  }

  /** Send AdminDown on every session and close every socket. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    for (const e of [...this.entries.values()]) this.remove(e);
    this.stopped = true;
    this.disarm();
    // let the AdminDown datagrams leave before the sockets close
    await new Promise((r) => setImmediate(r));
    for (const l of this.listeners.values()) l.sock.close();
    this.listeners.clear();
  }

  private newDiscr(): number {
    for (;;) {
      const d = 1 + Math.floor(this.rand() * 0xfffffffe);
      if (!this.byDiscr.has(d)) return d;
    }
  }

  private async add(s: BfdInstanceSpec): Promise<BfdError | undefined> {
    const family = isIP(s.neighbor);
    if (family === 0) return new BfdError(s.name, `neighbor_ip ${s.neighbor} is not an IP address`);
    if (s.source && isIP(s.source) !== family) return new BfdError(s.name, `source_ip ${s.source} is not of the neighbor's family`);
    const port = s.multihop ? (this.o.multihopPort ?? BFD_MULTIHOP_PORT) : (this.o.port ?? BFD_PORT);
    let listenerKey: string;
    try {
      listenerKey = await this.listen(s.source ?? (family === 4 ? '0.0.0.0' : '::'), family as 4 | 6, port);
    } catch (err) {
      return new BfdError(s.name, `cannot listen on port ${port}: ${(err as Error).message}`);
    }
    let sock: dgram.Socket;
    try {
      sock = await this.sendSocket(s, family as 4 | 6);
    } catch (err) {
      this.release(listenerKey);
      return new BfdError(s.name, `cannot open its sending socket: ${(err as Error).message}`);
    }
    const e: Entry = { spec: s, session: new BfdSession(paramsOf(s), this.newDiscr(), this.rand), sock, listenerKey, reported: false, sendFailed: false };
    this.entries.set(s.name, e);
    this.byDiscr.set(e.session.localDiscr, e);
    this.o.logger.info({ bfd: s.name, neighbor: s.neighbor, discr: e.session.localDiscr }, 'bfd session started');
    this.handle(e, e.session.start(this.clock.now()));
    return undefined;
  }

  private remove(e: Entry): void {
    this.handle(e, e.session.adminDown());
    this.entries.delete(e.spec.name);
    this.byDiscr.delete(e.session.localDiscr);
    const sock = e.sock;
    e.sock = null;
    if (sock) setImmediate(() => sock.close());
    this.release(e.listenerKey);
    if (e.reported) this.report(e.spec.name, false);
  }

  private async listen(addr: string, family: 4 | 6, port: number): Promise<string> {
    const key = `${addr}|${port}`;
    const have = this.listeners.get(key);
    if (have) {
      have.users++;
      return key;
    }
    const sock = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: addr, port, exclusive: true }, () => {
        sock.off('error', reject);
        resolve();
      });
    }).catch((err) => {
      sock.close();
      throw err;
    });
    sock.on('error', (err) => this.o.logger.warn({ listen: key, err: err.message }, 'bfd listener error'));
    sock.on('message', (msg, rinfo) => this.onPacket(msg, plainAddr(rinfo.address), port));
    this.listeners.set(key, { sock, users: 1 });
    return key;
  }

  private release(key: string): void {
    const l = this.listeners.get(key);
    if (!l || --l.users > 0) return;
    this.listeners.delete(key);
    setImmediate(() => l.sock.close());
  }

  /** A socket bound to source_ip and a free port in 49152-65535, with the configured TTL. */
  private async sendSocket(s: BfdInstanceSpec, family: 4 | 6): Promise<dgram.Socket> {
    const span = SRC_PORT_MAX - SRC_PORT_MIN + 1;
    const first = Math.floor(this.rand() * span);
    let lastErr: Error | undefined;
    for (let i = 0; i < 64; i++) {
      const port = SRC_PORT_MIN + ((first + i) % span);
      const sock = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6' });
      try {
        await new Promise<void>((resolve, reject) => {
          sock.once('error', reject);
          sock.bind({ address: s.source, port, exclusive: true }, () => {
            sock.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        sock.close();
        lastErr = err as Error;
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
        throw err;
      }
      sock.setTTL(s.ttl);
      sock.on('error', (err) => this.o.logger.warn({ bfd: s.name, err: err.message }, 'bfd socket error'));
      // a reply to our source port is not BFD's way (RFC 5881: replies go to 3784); drop it
      sock.on('message', () => undefined);
      return sock;
    }
    throw lastErr ?? new Error('no free source port');
  }

  private onPacket(msg: Buffer, from: string, port: number): void {
    if (this.stopped) return;
    const r = decodeControl(msg);
    if (!r.ok) {
      this.count(r.error.reason);
      return;
    }
    const p = r.packet;
    let e: Entry | undefined;
    if (p.yourDiscr !== 0) e = this.byDiscr.get(p.yourDiscr);
    else
      for (const x of this.entries.values())
        if (x.spec.neighbor === from && (x.spec.multihop ? this.o.multihopPort ?? BFD_MULTIHOP_PORT : this.o.port ?? BFD_PORT) === port) {
          e = x;
          break;
        }
    // a known discriminator from the wrong address is someone else's packet
    if (!e || e.spec.neighbor !== from) {
      this.count('no-session');
      return;
    }
    const out = e.session.receive(p, this.clock.now());
    if (out.dropped) this.count(out.dropped);
    this.handle(e, out);
    this.arm();
  }

  private count(reason: keyof BfdRunner['dropped']): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
  }

  private handle(e: Entry, out: SessionOutput): void {
    for (const p of out.send) this.send(e, p);
    for (const t of out.transitions) {
      const fields = { bfd: e.spec.name, neighbor: e.spec.neighbor, from: t.from, to: t.to, diag: t.diag };
      if (t.to === 'Down' && t.from === 'Up') this.o.logger.warn(fields, 'bfd session down');
      else if (t.to === 'Up') this.o.logger.info(fields, 'bfd session up');
      if (t.event) this.report(e.spec.name, t.event === 'up');
    }
  }

  private report(name: string, up: boolean): void {
    const e = this.entries.get(name);
    if (e) e.reported = up;
    for (const cb of this.subscribers) {
      try {
        cb(name, up);
      } catch (err) {
        this.o.logger.warn({ bfd: name, err: (err as Error).message }, 'bfd subscriber threw');
      }
    }
  }

  private send(e: Entry, p: OutgoingPacket): void {
    const sock = e.sock;
    if (!sock) return;
    const port = e.spec.multihop ? (this.o.multihopPort ?? BFD_MULTIHOP_PORT) : (this.o.port ?? BFD_PORT);
    sock.send(encodeControl(p), port, e.spec.neighbor, (err) => {
      if (err && !e.sendFailed) this.o.logger.warn({ bfd: e.spec.name, err: err.message }, 'bfd send failed');
      e.sendFailed = !!err;
    });
  }

  private arm(): void {
    if (this.stopped) return;
    let next = Infinity;
    for (const e of this.entries.values()) next = Math.min(next, e.session.nextDue());
    if (next === this.armedAt) return;
    this.disarm();
    if (next === Infinity) return;
    this.armedAt = next;
    this.timer = this.clock.setTimeout(this.wake, Math.max(0, Math.ceil(next - this.clock.now())));
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
  }

  private readonly wake = (): void => {
    this.timer = undefined;
    this.armedAt = Infinity;
    // Run the due work from the check phase, after this loop turn's poll phase has read the
    // datagrams that queued up meanwhile: after an event-loop stall the peer's packets, already
    // in the socket buffer, must refresh the detection timer before it is judged expired.
    setImmediate(this.runDue);
  };

  private readonly runDue = (): void => {
    if (this.stopped) return;
    const now = this.clock.now();
    for (const e of [...this.entries.values()]) if (e.session.nextDue() <= now) this.handle(e, e.session.tick(now));
    this.arm();
  };
}
