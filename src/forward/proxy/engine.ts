// The proxy forwarding engine (shell): listens on every address-keyed TCP/UDP virtual service,
// schedules each new connection through the ipvs table, and relays it to the chosen real server,
// either in this process or in relay workers. The table (and so every scheduler and counter)
// lives only here, in the primary. With workers, each worker accepts on the shared listening
// socket and asks the primary for the pick (accepts of one loop turn in one message); the primary
// picks in arrival order, exactly as the pure scheduler would, and workers report state changes
// and traffic back in batches. (Passing each accepted socket to a worker instead costs a
// handle round trip per connection, which Node serialises: ~1,400 conn/s measured.)
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Conn, IpvsTable, Service } from '../../ipvs/index.js';
import { NativeRelay, relayHelperPath } from './native-relay.js';
import { proxyHeaderV1, proxyHeaderV2 } from './proxy-header.js';
import type { HelperRecordVisitor } from './relay-protocol.js';
import { TcpRelay, type RelayEnd, type RelayState, type RelayTarget } from './tcp-relay.js';
import { UdpService } from './udp-service.js';
import type { FromWorker, Pick, ToWorker, WorkerEvent } from './worker-protocol.js';

export interface ProxyEngineOptions {
  /** Relay workers; 0 relays in this process. Default: one per core. */
  workers?: number;
  /** Monotonic ms for the table (tests move it forward to expire templates). */
  clock?: () => number;
  /** Real server connect timeout (client reset after it). Default 5000 ms. */
  connectTimeoutMs?: number;
  /** How often counters are folded into the table and expiry runs. Default 1000 ms. */
  sweepIntervalMs?: number;
  /** Serve a VIP before setVipHeld says anything about it. Default true (no VRRP). */
  vipsHeldByDefault?: boolean;
  backlog?: number;
  /** Which services this engine serves (default all); others belong to another engine (nft). */
  serves?: (svc: Service) => boolean;
  /**
   * Who relays TCP: 'native' runs native/lvsd-relay helpers (one per worker, at least one;
   * accept + connect + splice in C, picks still made here); 'node' relays in Node (workers or this
   * process); 'auto' is native when the helper builds, else node. UDP is always relayed here.
   * Default: $LVSD_PROXY_RELAY, else 'auto'.
   */
  relay?: 'node' | 'native' | 'auto';
}

/** Faults and outcomes, counted (lvsd's own figures; the table has the IPVS ones). */
export interface ProxyCounters {
  accepted: number;
  noDest: number;
  refused: number;
  retried: number;
  connectTimeouts: number;
  clientResets: number;
  backendResets: number;
  closed: number;
  closedNoReply: number;
  killed: number;
  udpDatagrams: number;
  udpNoDest: number;
  udpSendErrors: number;
  listenErrors: number;
  /** native relay: bad records from a helper (skipped) */
  relayMalformed: number;
  /** native relay: errors a helper reported (a bad record from us, accept failures) */
  relayErrors: number;
  /** native relay: helpers restarted after they died */
  relayRestarts: number;
}

export type ProxyEngineEvent =
  | { type: 'listening'; service: string; protocol: 'tcp' | 'udp'; addr: string; port: number }
  | { type: 'stopped-listening'; service: string; protocol: 'tcp' | 'udp'; addr: string; port: number }
  | { type: 'listen-error'; service: string; addr: string; port: number; message: string }
  | { type: 'no-dest'; service: string; message: string }
  | { type: 'unsupported'; service: string; message: string }
  /** once per service: the proxy forwards full-NAT whatever lvs_method says */
  | { type: 'forwarding-note'; service: string; methods: string[]; message: string }
  | { type: 'worker-exit'; worker: number; code: number | null }
  /** the native relay was asked for but cannot run: Node relays instead */
  | { type: 'relay-fallback'; message: string }
  /** a native relay helper misbehaved (counted; at most one event per second) */
  | { type: 'relay-error'; worker: number; message: string };

interface Listener {
  id: number;
  keyText: string;
  protocol: 'tcp' | 'udp';
  addr: string;
  port: number;
  server?: net.Server;
  udp?: UdpService;
  /** listened on by the native helpers */
  native?: boolean;
  /** the table's service for this listener, looked up once (again only once it is removed) */
  svc?: Service;
  draining: boolean;
}

interface Live {
  /** the key in ProxyEngine.live: the first conn's id (a retry replaces conn) */
  key: number;
  conn: Conn;
  relay: TcpRelay | null;
  /** Node relay worker, or -1 */
  worker: number;
  /** native helper, its slot and our token for the connection, or -1 */
  helper: number;
  slot: number;
  token: number;
  retried: boolean;
}

interface WorkerSlot {
  proc: ChildProcess;
  ready: boolean;
  load: number;
}

const END_COUNTER: Record<RelayEnd, keyof ProxyCounters> = {
  closed: 'closed',
  'closed-no-reply': 'closedNoReply',
  refused: 'refused',
  'connect-timeout': 'connectTimeouts',
  'client-reset': 'clientResets',
  'backend-reset': 'backendResets',
  killed: 'killed',
};

export class ProxyEngine extends EventEmitter {
  readonly counters: ProxyCounters = {
    accepted: 0, noDest: 0, refused: 0, retried: 0, connectTimeouts: 0, clientResets: 0, backendResets: 0,
    closed: 0, closedNoReply: 0, killed: 0, udpDatagrams: 0, udpNoDest: 0, udpSendErrors: 0, listenErrors: 0,
    relayMalformed: 0, relayErrors: 0, relayRestarts: 0,
  };
  private table: IpvsTable | null = null;
  private readonly vsListeners = new Map<string, Listener>();
  private readonly live = new Map<number, Live>();
  private readonly vipHeld = new Map<string, boolean>();
  private readonly workers: WorkerSlot[] = [];
  private readonly helpers: (NativeRelay | null)[] = [];
  /** native connections by the token the helper knows them by (u32, never 0) */
  private readonly tokens = new Map<number, Live>();
  private nextToken = 1;
  private nativeBin: string | null = null;
  private readonly helperStarted: number[] = [];
  private readonly helperDelay: number[] = [];
  private lastRelayErrorLog = -Infinity;
  private readonly noted = new Set<string>();
  private readonly notedMethods = new WeakMap<Service, string>();
  private readonly lastNoDestLog = new Map<string, number>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private lastGc = 0;
  private nextListenerId = 1;
  private readonly listenersById = new Map<number, Listener>();
  private stopping = false;
  private readonly clock: () => number;
  private readonly opts: Required<Omit<ProxyEngineOptions, 'clock' | 'serves'>>;
  private readonly serves: (svc: Service) => boolean;

  constructor(options: ProxyEngineOptions = {}) {
    super();
    this.clock = options.clock ?? (() => performance.now());
    this.serves = options.serves ?? (() => true);
    this.opts = {
      workers: options.workers ?? os.availableParallelism(),
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      sweepIntervalMs: options.sweepIntervalMs ?? 1000,
      vipsHeldByDefault: options.vipsHeldByDefault ?? true,
      backlog: options.backlog ?? 4096,
      relay: options.relay ?? relayFromEnv() ?? 'auto',
    };
  }

  /** Starts workers, listens on every service, runs the sweep. Errors are events, not throws. */
  async start(table: IpvsTable): Promise<void> {
    this.table = table;
    this.stopping = false;
    this.nativeBin = null;
    if (this.opts.relay !== 'node') {
      try {
        this.nativeBin = relayHelperPath();
      } catch (e) {
        this.emit('event', { type: 'relay-fallback', message: `${(e as Error).message}; Node relays TCP` } satisfies ProxyEngineEvent);
      }
    }
    if (this.nativeBin) for (let i = 0; i < Math.max(1, this.opts.workers); i++) this.startHelper(i);
    else await Promise.all(Array.from({ length: this.opts.workers }, (_, i) => this.startWorker(i)));
    this.lastGc = this.clock();
    table.estimate(this.clock());
    this.sweepTimer = setInterval(() => this.sweep(), this.opts.sweepIntervalMs);
    this.sweepTimer.unref();
    await this.reconcile();
  }

  /** After applySpec: new services listen, removed ones stop accepting and drain. */
  async reconcile(): Promise<void> {
    const table = this.table;
    if (!table || this.stopping) return;
    // Runs on every reload: no allocation per unchanged service beyond the map entry.
    const wanted = new Map<string, Service>();
    for (const svc of table.services) {
      if (!this.serves(svc)) continue; // another engine's: not listened on (a listener stops and drains)
      const k = svc.key;
      if (k.kind !== 'addr' || k.protocol === 'sctp') {
        this.noteOnce(`unsupported|${svc.keyText}`, {
          type: 'unsupported', service: svc.keyText,
          message: k.kind === 'fwmark' ? 'the proxy engine cannot serve fwmark services (use the nft engine)' : 'the proxy engine has no SCTP',
        });
        continue;
      }
      if (k.port === 0) {
        this.noteOnce(`unsupported|${svc.keyText}`, { type: 'unsupported', service: svc.keyText, message: 'the proxy engine cannot listen on all ports (port 0)' });
        continue;
      }
      this.noteMethods(svc);
      if (!this.isHeld(k.addr)) continue;
      wanted.set(svc.keyText, svc); // "TCP a:p" / "UDP a:p": the protocol is in the key
    }
    const starts: Promise<void>[] = [];
    for (const [id, l] of this.vsListeners) if (!wanted.has(id) && !l.draining) starts.push(this.stopListener(id, l));
    for (const [id, svc] of wanted) {
      const cur = this.vsListeners.get(id);
      if (cur && !cur.draining) continue;
      if (cur) this.vsListeners.delete(id); // a draining UDP socket on the same port: replaced
      if (cur?.udp) cur.udp.close();
      const k = svc.key as { protocol: 'tcp' | 'udp'; addr: string; port: number };
      starts.push(this.startListener(id, svc.keyText, k.protocol, k.addr, k.port));
    }
    if (starts.length) await Promise.all(starts);
  }

  /** Once per service and set of methods: the proxy forwards full-NAT whatever lvs_method says. */
  private noteMethods(svc: Service): void {
    let methods: string[] | null = null;
    for (const d of svc.dests) {
      if (d.method === 'FULLNAT' || methods?.includes(d.method)) continue;
      (methods ??= []).push(d.method);
    }
    if (!methods) return;
    const sig = methods.join(',');
    if (this.notedMethods.get(svc) === sig) return;
    this.notedMethods.set(svc, sig);
    this.noteOnce(`fwd|${svc.keyText}|${sig}`, {
      type: 'forwarding-note', service: svc.keyText, methods,
      message: `proxy engine forwards full-NAT: lvs_method ${methods.join('/')} is served as FULLNAT (real servers see the director's address)`,
    });
  }

  /** The proxy serves a VIP only while this director holds it (VRRP MASTER). */
  async setVipHeld(addr: string, held: boolean): Promise<void> {
    this.vipHeld.set(addr, held);
    await this.reconcile();
  }

  /** Stops accepting, lets connections finish for up to drainMs, then resets the rest. */
  async stop(drainMs = 0): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.vsListeners].map(([id, l]) => this.stopListener(id, l, true)));
    const deadline = Date.now() + drainMs;
    while (this.live.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const l of this.live.values()) this.killLive(l);
    await Promise.all(this.helpers.map((h) => h?.close()));
    this.helpers.length = 0;
    await Promise.all(this.workers.map((w) => new Promise<void>((resolve) => {
      if (w.proc.exitCode !== null || w.proc.signalCode !== null) return resolve();
      w.proc.once('exit', () => resolve());
      if (!w.proc.connected) return;
      w.proc.send(['stop', 0] satisfies ToWorker);
      setTimeout(() => w.proc.kill('SIGKILL'), 2000).unref();
    })));
    this.workers.length = 0;
    this.sweep();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    for (const [id, l] of this.vsListeners) {
      l.udp?.close();
      this.vsListeners.delete(id);
    }
  }

  /** PIDs of the relay workers (for the daemon's status and memory figures). */
  workerPids(): number[] {
    return [...this.workers.map((w) => w.proc.pid), ...this.helpers.map((h) => h?.pid)].filter((p): p is number => p !== undefined);
  }

  /** Number of proxied TCP connections still open. */
  get openConnections(): number {
    return this.live.size;
  }

  /** Addresses and ports actually listened on (for the daemon's status and tests). */
  listening(): { protocol: 'tcp' | 'udp'; addr: string; port: number }[] {
    return [...this.vsListeners.values()].filter((l) => !l.draining).map((l) => ({ protocol: l.protocol, addr: l.addr, port: l.port }));
  }

  /** Folds pending counters into the table, expires entries (closing what is still open),
   * runs the estimator and scheduler housekeeping. Runs on a timer; callable by tests. */
  sweep(): void {
    const table = this.table;
    if (!table) return;
    const now = this.clock();
    for (const l of this.live.values()) {
      if (!l.relay) continue;
      const c = l.relay.takeCounters();
      if (c) {
        table.traffic(l.conn, c[0], c[1], c[2], c[3]);
        table.touch(l.conn, now);
      }
    }
    for (const c of table.expire(now)) {
      const l = this.live.get(c.id);
      if (l) this.killLive(l);
    }
    const udpTimeout = table.timeoutSpec.udp * 1000;
    for (const [id, l] of this.vsListeners) {
      if (!l.udp) continue;
      l.udp.sweep(now, udpTimeout);
      if (l.draining && l.udp.flowCount === 0) {
        l.udp.close();
        this.vsListeners.delete(id);
      }
    }
    table.estimate(now);
    if (now - this.lastGc >= 60_000) {
      this.lastGc = now;
      table.collectGarbage(now);
    }
  }

  // ---- listeners -----------------------------------------------------------------------------

  private isHeld(addr: string): boolean {
    return this.vipHeld.get(addr) ?? this.opts.vipsHeldByDefault;
  }

  private async startListener(id: string, keyText: string, protocol: 'tcp' | 'udp', addr: string, port: number): Promise<void> {
    const l: Listener = { id: this.nextListenerId++, keyText, protocol, addr, port, draining: false };
    this.vsListeners.set(id, l);
    this.listenersById.set(l.id, l);
    try {
      if (protocol === 'tcp' && this.nativeBin) {
        await this.listenNative(l);
      } else if (protocol === 'tcp') {
        const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
        server.on('connection', (s) => this.onConnection(l, s));
        server.on('error', () => undefined);
        l.server = server;
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: addr, port, backlog: this.opts.backlog }, () => {
            server.off('error', reject);
            resolve();
          });
        });
        await this.shareWithWorkers(l, server);
      } else {
        const u = new UdpService(this.table!, addr, port, this.clock, this.counters, (m) => this.noDest(keyText, m));
        l.udp = u;
        await u.listen();
      }
      this.emit('event', { type: 'listening', service: keyText, protocol, addr, port } satisfies ProxyEngineEvent);
    } catch (e) {
      this.counters.listenErrors++;
      this.vsListeners.delete(id);
      this.listenersById.delete(l.id);
      l.server?.close();
      l.udp?.close();
      this.emit('event', { type: 'listen-error', service: keyText, addr, port, message: (e as Error).message } satisfies ProxyEngineEvent);
    }
  }

  /**
   * With workers, they accept on the listening socket themselves and ask us for each pick; our
   * copy is closed once every worker has its own.
   */
  private async shareWithWorkers(l: Listener, server: net.Server): Promise<void> {
    const ready = this.workers.filter((w) => w.ready && w.proc.connected);
    if (ready.length === 0) return;
    const results = await Promise.all(ready.map((w) => new Promise<boolean>((resolve) => {
      w.proc.send(['listen', l.id] satisfies ToWorker, server, (err) => resolve(!err));
    })));
    if (results.some((ok) => ok)) server.close();
  }

  /** Resolves when the native helpers have closed the socket (at once otherwise). */
  private async stopListener(id: string, l: Listener, final = false): Promise<void> {
    l.draining = true;
    for (let i = 0; i < this.workers.length; i++) this.toWorker(i, ['unlisten', l.id]);
    this.listenersById.delete(l.id);
    let closed: Promise<unknown> | null = null;
    if (l.native) {
      closed = Promise.all(this.helpers.map((h) => h?.unlisten(l.id)));
      this.vsListeners.delete(id);
    }
    if (l.server) {
      l.server.close();
      this.vsListeners.delete(id);
    }
    if (l.udp && (final || l.udp.flowCount === 0)) {
      l.udp.close();
      this.vsListeners.delete(id);
    }
    if (closed) await closed;
    this.emit('event', { type: 'stopped-listening', service: l.keyText, protocol: l.protocol, addr: l.addr, port: l.port } satisfies ProxyEngineEvent);
  }

  private noDest(service: string, message: string): void {
    const now = this.clock();
    const last = this.lastNoDestLog.get(service);
    if (last === undefined || now - last >= 1000) {
      this.lastNoDestLog.set(service, now);
      this.emit('event', { type: 'no-dest', service, message } satisfies ProxyEngineEvent);
    }
  }

  private noteOnce(key: string, ev: ProxyEngineEvent): void {
    if (this.noted.has(key)) return;
    this.noted.add(key);
    this.emit('event', ev);
  }

  // ---- TCP -----------------------------------------------------------------------------------

  private onConnection(l: Listener, socket: net.Socket): void {
    socket.on('error', () => undefined);
    const table = this.table;
    const svc = table?.findService({ kind: 'addr', protocol: 'tcp', addr: l.addr, port: l.port });
    if (!table || !svc || l.draining || this.stopping) {
      socket.destroy();
      return;
    }
    this.counters.accepted++;
    const clientAddr = unmap(socket.remoteAddress ?? '', l.addr);
    const clientPort = socket.remotePort ?? 0;
    const r = table.schedule(svc, { clientAddr, clientPort, vaddr: l.addr, vport: l.port }, this.clock());
    if (!r.ok) {
      this.counters.noDest++;
      this.noDest(svc.keyText, r.message);
      socket.resetAndDestroy();
      return;
    }
    const target = this.targetFor(svc, r.conn, l.port);
    const live: Live = { key: r.conn.id, conn: r.conn, relay: null, worker: -1, helper: -1, slot: -1, token: 0, retried: false };
    const id = r.conn.id;
    this.live.set(id, live);
    // Only reached without workers (or in the moment before they share the socket).
    live.relay = new TcpRelay(socket, target, {
      state: (s) => this.onState(live, s),
      refused: () => this.onRefused(live),
      end: (reason) => this.onEnd(id, live, reason),
    }, { connectTimeoutMs: this.opts.connectTimeoutMs });
  }

  private targetFor(svc: Service, conn: Conn, vport: number): RelayTarget {
    let header: Buffer | null = null;
    if (svc.proxyProtocol) {
      const ep = { protocol: 'tcp' as const, clientAddr: conn.clientAddr, clientPort: conn.clientPort, vaddr: conn.vaddr, vport: conn.vport };
      header = svc.proxyProtocol === 'v1' ? proxyHeaderV1(ep) : proxyHeaderV2(ep);
    }
    return { addr: conn.dest.addr, port: conn.dest.port || vport, header };
  }

  private onState(live: Live, s: RelayState): void {
    this.table?.setState(live.conn, s, this.clock());
  }

  /** Our addition: retry once on another destination when the service asks for it. */
  private onRefused(live: Live): RelayTarget | null {
    const table = this.table;
    const old = live.conn;
    this.counters.refused++;
    if (!table || !old.service.retryOnRefuse || old.service.removed || live.retried) return null;
    live.retried = true;
    table.setState(old, 'CLOSE', this.clock());
    const r = table.schedule(old.service, {
      clientAddr: old.clientAddr, clientPort: old.clientPort, vaddr: old.vaddr, vport: old.vport, exclude: old.dest,
    }, this.clock());
    if (!r.ok || r.dest === old.dest) {
      if (r.ok) table.setState(r.conn, 'CLOSE', this.clock());
      return null;
    }
    this.counters.retried++;
    live.conn = r.conn;
    return this.targetFor(old.service, r.conn, old.vport);
  }

  private onEnd(id: number, live: Live, reason: RelayEnd): void {
    if (!this.live.has(id)) return;
    this.live.delete(id);
    if (live.token) this.tokens.delete(live.token);
    // a refusal is counted when it happens (onRefused); the final reason counts the rest
    if (reason !== 'refused') this.counters[END_COUNTER[reason]]++;
    if (live.relay) {
      const c = live.relay.takeCounters();
      if (c && this.table) this.table.traffic(live.conn, c[0], c[1], c[2], c[3]);
    }
    if (live.worker >= 0) {
      const slot = this.workers[live.worker];
      if (slot) slot.load--;
    }
  }

  // ---- workers -------------------------------------------------------------------------------

  private startWorker(i: number): Promise<void> {
    const path = fileURLToPath(new URL('./worker.js', import.meta.url));
    const proc = fork(path, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, LVSD_PROXY_CONNECT_TIMEOUT_MS: String(this.opts.connectTimeoutMs) },
    });
    const slot: WorkerSlot = { proc, ready: false, load: 0 };
    this.workers[i] = slot;
    proc.on('error', () => undefined);
    proc.on('exit', (code) => {
      slot.ready = false;
      // its connections are gone with it: close them in the table
      for (const [id, l] of this.live) {
        if (l.worker === i) {
          this.onState(l, 'CLOSE');
          this.onEnd(id, l, 'killed');
        }
      }
      if (!this.stopping) this.emit('event', { type: 'worker-exit', worker: i, code } satisfies ProxyEngineEvent);
    });
    return new Promise<void>((resolve) => {
      proc.on('message', (m: FromWorker) => {
        if (m[0] === 'ready') {
          slot.ready = true;
          resolve();
        } else if (m[0] === 'batch') this.onBatch(i, m[1]);
      });
      proc.once('exit', () => resolve());
    });
  }

  private toWorker(i: number, msg: ToWorker): void {
    const w = this.workers[i];
    if (w?.proc.connected) w.proc.send(msg);
  }

  private onBatch(worker: number, events: WorkerEvent[]): void {
    const table = this.table;
    if (!table) return;
    const now = this.clock();
    const picks: Pick[] = [];
    for (const ev of events) {
      if (ev[0] === 'a') {
        picks.push(this.pickFor(worker, ev[1], ev[2], ev[3], ev[4], now));
        continue;
      }
      const live = this.live.get(ev[1]);
      if (!live) continue;
      switch (ev[0]) {
        case 's':
          table.setState(live.conn, ev[2], now);
          break;
        case 't':
          table.traffic(live.conn, ev[2], ev[3], ev[4], ev[5]);
          table.touch(live.conn, now);
          break;
        case 'e':
          this.onEnd(ev[1], live, ev[2]);
          break;
        case 'r': {
          const t = this.onRefused(live);
          this.toWorker(worker, t
            ? ['retry', ev[1], t.addr, t.port, t.header ? t.header.toString('base64') : '']
            : ['retry', ev[1], null, 0, '']);
          break;
        }
      }
    }
    if (picks.length) this.toWorker(worker, ['picks', picks]);
  }

  /** A worker accepted a connection: schedule it here, in arrival order, and answer. */
  private pickFor(worker: number, req: number, lid: number, clientAddr: string, clientPort: number, now: number): Pick {
    const s = this.scheduleAccept(lid, clientAddr, clientPort, now);
    if (!s) return [req, -1, '', 0, ''];
    const { conn, target } = s;
    this.live.set(conn.id, { key: conn.id, conn, relay: null, worker, helper: -1, slot: -1, token: 0, retried: false });
    const slot = this.workers[worker];
    if (slot) slot.load++;
    return [req, conn.id, target.addr, target.port, target.header ? target.header.toString('base64') : ''];
  }

  /** Schedules a connection accepted on listener lid (by a worker or a helper), in arrival order. */
  private scheduleAccept(lid: number, clientAddr: string, clientPort: number, now: number): { conn: Conn; target: RelayTarget } | null {
    const table = this.table!;
    const l = this.listenersById.get(lid);
    if (!l || l.draining || this.stopping) return null;
    let svc = l.svc;
    if (!svc || svc.removed) {
      svc = table.findService({ kind: 'addr', protocol: 'tcp', addr: l.addr, port: l.port });
      l.svc = svc;
      if (!svc) return null;
    }
    this.counters.accepted++;
    const r = table.schedule(svc, { clientAddr: unmap(clientAddr, l.addr), clientPort, vaddr: l.addr, vport: l.port }, now);
    if (!r.ok) {
      this.counters.noDest++;
      this.noDest(svc.keyText, r.message);
      return null;
    }
    return { conn: r.conn, target: this.targetFor(svc, r.conn, l.port) };
  }

  private killLive(l: Live): void {
    if (l.relay) l.relay.kill();
    else if (l.helper >= 0) this.helpers[l.helper]?.kill(l.slot, l.token);
    else this.toWorker(l.worker, ['kill', l.key]);
  }

  // ---- native relay helpers ------------------------------------------------------------------

  private startHelper(i: number): void {
    const h: NativeRelay = new NativeRelay(
      this.nativeBin!,
      this.opts.connectTimeoutMs,
      this.helperVisitor(i, () => h),
      (n) => {
        this.counters.relayMalformed += n;
        this.relayError(i, `${n} malformed record(s) from the relay helper skipped`);
      },
      (code, signal) => this.onHelperExit(i, h, code, signal),
    );
    this.helpers[i] = h;
    this.helperStarted[i] = this.clock();
  }

  /** Every helper listens (SO_REUSEPORT); one failing fails the listener. */
  private async listenNative(l: Listener): Promise<void> {
    l.native = true;
    const errs = await Promise.all(this.helpers.map((h) => h ? h.listen(l.id, l.addr, l.port, this.opts.backlog) : Promise.resolve(-1)));
    const bad = errs.find((e) => e !== 0);
    if (bad !== undefined) {
      for (const h of this.helpers) h?.unlisten(l.id);
      throw new Error(bad < 0 ? 'the relay helper exited' : errnoName(bad));
    }
  }

  private relayError(worker: number, message: string): void {
    const now = this.clock();
    if (now - this.lastRelayErrorLog < 1000) return;
    this.lastRelayErrorLog = now;
    this.emit('event', { type: 'relay-error', worker, message } satisfies ProxyEngineEvent);
  }

  private takeToken(): number {
    do {
      this.nextToken = this.nextToken >= 0xffffffff ? 1 : this.nextToken + 1;
    } while (this.tokens.has(this.nextToken));
    return this.nextToken;
  }

  /** What helper i reports, record by record (no object per record: four per connection). */
  private helperVisitor(i: number, getHelper: () => NativeRelay): HelperRecordVisitor & { begin(): void } {
    let now = 0;
    /** the connection a record names, while this helper is current and the table set */
    const liveOf = (conn: number): Live | undefined => (this.table && this.helpers[i] === getHelper() ? this.tokens.get(conn) : undefined);
    return {
      begin: () => {
        now = this.clock();
      },
      listen: () => undefined, // answered to listenNative / stopListener by the helper shell
      unlistened: () => undefined,
      accept: (slot, listener, addr, port) => {
        const h = getHelper();
        if (!this.table || this.helpers[i] !== h) return;
        const s = this.scheduleAccept(listener, addr, port, now);
        if (!s) {
          h.pick(slot, 0, null);
          return;
        }
        const token = this.takeToken();
        const live: Live = { key: s.conn.id, conn: s.conn, relay: null, worker: -1, helper: i, slot, token, retried: false };
        this.live.set(s.conn.id, live);
        this.tokens.set(token, live);
        h.pick(slot, token, s.target);
      },
      state: (conn, state) => {
        const live = liveOf(conn);
        if (live) this.table!.setState(live.conn, state, now);
      },
      counters: (conn, inPkts, outPkts, inBytes, outBytes, end, endState) => {
        const live = liveOf(conn);
        if (!live) return; // ended already (a helper that restarted, or a late record)
        const table = this.table!;
        if (endState) table.setState(live.conn, endState, now);
        if (inPkts || outPkts) {
          table.traffic(live.conn, inPkts, inBytes, outPkts, outBytes);
          if (!end) table.touch(live.conn, now);
        }
        if (end) this.onEnd(live.key, live, end);
      },
      refused: (conn) => {
        const live = liveOf(conn);
        if (live) getHelper().retry(live.slot, live.token, this.onRefused(live));
      },
      error: (what, errno) => {
        if (!this.table || this.helpers[i] !== getHelper()) return;
        this.counters.relayErrors++;
        this.relayError(i, what === 2 ? `accept failed (errno ${errnoName(errno)}); paused for 0.5 s` : 'the relay helper rejected a record');
      },
      failed: (type, err) => {
        // a record that does not fit the table (it should not happen) is counted, never thrown
        this.counters.relayErrors++;
        this.relayError(i, `record ${type}: ${(err as Error).message}`);
      },
    };
  }

  /** A dead helper's connections are gone with it; it is restarted and listens again. */
  private onHelperExit(i: number, h: NativeRelay, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.helpers[i] !== h) return;
    for (const l of [...this.live.values()]) {
      if (l.helper === i) {
        this.onState(l, 'CLOSE');
        this.onEnd(l.key, l, 'killed');
      }
    }
    if (this.stopping) return;
    this.emit('event', { type: 'worker-exit', worker: i, code: code ?? (signal ? -1 : null) } satisfies ProxyEngineEvent);
    this.counters.relayRestarts++;
    this.helpers[i] = null;
    // a helper that keeps dying at once is restarted ever more slowly (100 ms doubling to 5 s)
    const lived = this.clock() - (this.helperStarted[i] ?? 0);
    const delay = lived < 1000 ? Math.min(2 * (this.helperDelay[i] ?? 50), 5000) : 100;
    this.helperDelay[i] = delay;
    setTimeout(() => {
      if (this.stopping || this.helpers[i] !== null) return;
      this.startHelper(i);
      const helper = this.helpers[i]!;
      for (const l of this.vsListeners.values()) {
        if (!l.native || l.draining) continue;
        void helper.listen(l.id, l.addr, l.port, this.opts.backlog).then((errno) => {
          if (errno > 0) {
            this.counters.listenErrors++;
            this.emit('event', { type: 'listen-error', service: l.keyText, addr: l.addr, port: l.port, message: `restarted relay helper: ${errnoName(errno)}` } satisfies ProxyEngineEvent);
          }
        });
      }
    }, delay).unref();
  }
}

function relayFromEnv(): 'node' | 'native' | 'auto' | undefined {
  const v = process.env.LVSD_PROXY_RELAY;
  return v === 'node' || v === 'native' || v === 'auto' ? v : undefined;
}

function errnoName(errno: number): string {
  const e = Object.entries(os.constants.errno).find(([, v]) => v === errno);
  return e ? e[0] : `errno ${errno}`;
}

/** An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d; the table wants a.b.c.d. */
function unmap(addr: string, vaddr: string): string {
  return addr.startsWith('::ffff:') && !vaddr.includes(':') ? addr.slice(7) : addr;
}

