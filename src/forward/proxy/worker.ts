// Relay worker process: receives accepted client sockets with their chosen real server from the
// primary, relays them, and reports state changes and counters back in batches.
import type net from 'node:net';
import { TcpRelay, type RelayTarget } from './tcp-relay.js';
import type { FromWorker, ToWorker, WorkerEvent } from './worker-protocol.js';

const BATCH_MS = 20;
const COUNTER_FLUSH_MS = 500;

const relays = new Map<number, TcpRelay>();
const pendingRetry = new Map<number, (t: RelayTarget | null) => void>();
let batch: WorkerEvent[] = [];
let batchTimer: NodeJS.Timeout | null = null;
const connectTimeoutMs = Number(process.env.LVSD_PROXY_CONNECT_TIMEOUT_MS ?? 5000);

function send(msg: FromWorker): void {
  if (process.connected) process.send!(msg);
}

function push(ev: WorkerEvent): void {
  batch.push(ev);
  if (batch.length >= 512) flush();
  else if (!batchTimer) batchTimer = setTimeout(flush, BATCH_MS);
}

function flush(): void {
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

process.on('message', (msg: ToWorker, handle?: net.Socket) => {
  switch (msg[0]) {
    case 'relay': {
      const [, id, addr, port, header] = msg;
      if (!handle) return;
      const relay: TcpRelay = new TcpRelay(
        handle,
        { addr, port, header: header ? Buffer.from(header, 'base64') : null },
        {
          state: (s) => push(['s', id, s]),
          refused: () =>
            new Promise<RelayTarget | null>((resolve) => {
              pendingRetry.set(id, resolve);
              push(['r', id]);
              flush();
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
      return;
    }
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
      const deadline = Date.now() + msg[1];
      const check = (): void => {
        if (relays.size === 0 || Date.now() >= deadline) {
          for (const r of relays.values()) r.kill();
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
