// Relay worker process. It accepts on the listening sockets the primary shares with it, asks the
// primary (which owns the table and the schedulers) where each new connection goes, relays it,
// and reports state changes and counters back in batches. Accept requests of one event-loop turn
// travel in one message, so the IPC cost is shared under load.
import type net from 'node:net';
import { TcpRelay, type RelayTarget } from './tcp-relay.js';
import type { FromWorker, Pick, ToWorker, WorkerEvent } from './worker-protocol.js';

const BATCH_MS = 20;
const COUNTER_FLUSH_MS = 500;

const servers = new Map<number, net.Server>();
const pendingAccept = new Map<number, net.Socket>();
const relays = new Map<number, TcpRelay>();
const pendingRetry = new Map<number, (t: RelayTarget | null) => void>();
let nextRequest = 1;
let batch: WorkerEvent[] = [];
let batchTimer: NodeJS.Timeout | null = null;
let immediate = false;
const connectTimeoutMs = Number(process.env.LVSD_PROXY_CONNECT_TIMEOUT_MS ?? 5000);

function send(msg: FromWorker): void {
  if (process.connected) process.send!(msg);
}

/** Queue an event; `urgent` ones (accepts, refusals) leave at the end of this loop turn. */
function push(ev: WorkerEvent, urgent = false): void {
  batch.push(ev);
  if (urgent) {
    if (!immediate) {
      immediate = true;
      setImmediate(flush);
    }
  } else if (batch.length >= 512) flush();
  else if (!batchTimer && !immediate) batchTimer = setTimeout(flush, BATCH_MS);
}

function flush(): void {
  immediate = false;
  if (batchTimer) clearTimeout(batchTimer);
  batchTimer = null;
  if (batch.length === 0) return;
  const b = batch;
  batch = [];
  send(['batch', b]);
}

function takeCounters(id: number, r: TcpRelay): void {
  const c = r.takeCounters();
  if (c) push(['t', id, c[0], c[1], c[2], c[3]]);
}

setInterval(() => {
  for (const [id, r] of relays) takeCounters(id, r);
}, COUNTER_FLUSH_MS).unref();

function onAccept(listener: number, sock: net.Socket): void {
  sock.pause();
  sock.on('error', () => undefined);
  const req = nextRequest++;
  pendingAccept.set(req, sock);
  const addr = sock.remoteAddress ?? '';
  push(['a', req, listener, addr.startsWith('::ffff:') ? addr.slice(7) : addr, sock.remotePort ?? 0], true);
}

function startRelay([req, id, addr, port, header]: Pick): void {
  const sock = pendingAccept.get(req);
  pendingAccept.delete(req);
  if (!sock) return;
  if (id < 0) {
    sock.resetAndDestroy(); // no destination available
    return;
  }
  if (sock.destroyed) {
    push(['s', id, 'CLOSE']);
    push(['e', id, 'client-reset']);
    return;
  }
  const relay: TcpRelay = new TcpRelay(
    sock,
    { addr, port, header: header ? Buffer.from(header, 'base64') : null },
    {
      state: (s) => push(['s', id, s]),
      refused: () =>
        new Promise<RelayTarget | null>((resolve) => {
          pendingRetry.set(id, resolve);
          push(['r', id], true);
        }),
      end: (reason) => {
        takeCounters(id, relay);
        relays.delete(id);
        push(['e', id, reason]);
      },
    },
    { connectTimeoutMs },
  );
  if (!relay.finished) relays.set(id, relay);
}

process.on('message', (msg: ToWorker, handle?: net.Server) => {
  switch (msg[0]) {
    case 'listen': {
      if (!handle) return;
      const id = msg[1];
      // options do not travel with the handle: set what the primary's server had
      (handle as unknown as { pauseOnConnect: boolean }).pauseOnConnect = true;
      (handle as unknown as { allowHalfOpen: boolean }).allowHalfOpen = true;
      handle.on('connection', (s: net.Socket) => onAccept(id, s));
      handle.on('error', () => undefined);
      servers.set(id, handle);
      return;
    }
    case 'unlisten':
      servers.get(msg[1])?.close();
      servers.delete(msg[1]);
      return;
    case 'picks':
      for (const p of msg[1]) startRelay(p);
      return;
    case 'retry': {
      const [, id, addr, port, header] = msg;
      const resolve = pendingRetry.get(id);
      pendingRetry.delete(id);
      resolve?.(addr === null ? null : { addr, port, header: header ? Buffer.from(header, 'base64') : null });
      return;
    }
    case 'kill':
      relays.get(msg[1])?.kill();
      return;
    case 'stop': {
      for (const s of servers.values()) s.close();
      servers.clear();
      const deadline = Date.now() + msg[1];
      const check = (): void => {
        if (relays.size === 0 || Date.now() >= deadline) {
          for (const r of relays.values()) r.kill();
          for (const s of pendingAccept.values()) s.destroy();
          flush();
          setTimeout(() => process.exit(0), 10);
        } else setTimeout(check, 20);
      };
      check();
      return;
    }
  }
});

process.on('disconnect', () => process.exit(0));
send(['ready']);
