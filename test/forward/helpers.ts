// Real loopback servers and clients for the proxy engine tests.
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { relayHelperPath } from '../../src/forward/proxy/native-relay.js';

/** The TCP relays the suites run against: Node always; native when the helper builds here. */
export const RELAYS: ('node' | 'native')[] = ((): ('node' | 'native')[] => {
  try {
    relayHelperPath();
    return ['node', 'native'];
  } catch (e) {
    console.log(`native relay tests skipped: ${(e as Error).message}`);
    return ['node'];
  }
})();

export interface Backend {
  addr: string;
  port: number;
  name: string;
  close(): Promise<void>;
}

function listen(server: net.Server, addr: string, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, addr, () => resolve((server.address() as net.AddressInfo).port));
  });
}

function closer(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  return () => new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
}

function track(server: net.Server): Set<net.Socket> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

/** HTTP server answering every request with its name. */
export async function httpBackend(addr: string, name: string, port = 0): Promise<Backend> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(name));
  });
  const sockets = track(server);
  const p = await listen(server, addr, port);
  return { addr, port: p, name, close: closer(server, sockets) };
}

/**
 * TCP server: sends "<name>\n" on connect, echoes everything, and on the client's FIN writes
 * "bye <bytes>\n" and ends (shows half-close).
 */
export async function echoBackend(addr: string, name: string, port = 0): Promise<Backend> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    let n = 0;
    s.on('error', () => undefined);
    s.write(`${name}\n`);
    s.on('data', (d) => {
      n += d.length;
      s.write(d);
    });
    s.on('end', () => s.end(`bye ${n}\n`));
  });
  const sockets = track(server);
  const p = await listen(server, addr, port);
  return { addr, port: p, name, close: closer(server, sockets) };
}

/** Server whose handler is given each socket (faulty backends). */
export async function rawBackend(addr: string, name: string, onConn: (s: net.Socket) => void, port = 0): Promise<Backend> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    onConn(s);
  });
  const sockets = track(server);
  const p = await listen(server, addr, port);
  return { addr, port: p, name, close: closer(server, sockets) };
}

/** UDP server replying "<name>:<payload>". */
export async function udpBackend(addr: string, name: string): Promise<Backend> {
  const sock = dgram.createSocket(addr.includes(':') ? 'udp6' : 'udp4');
  sock.on('message', (m, r) => sock.send(Buffer.concat([Buffer.from(`${name}:`), m]), r.port, r.address));
  await new Promise<void>((resolve) => sock.bind(0, addr, () => resolve()));
  return { addr, port: sock.address().port, name, close: () => new Promise((r) => sock.close(() => r())) };
}

/** One HTTP GET on a new connection; returns the body and the client's source port. */
export function get(addr: string, port: number): Promise<{ body: string; localPort: number }> {
  return new Promise((resolve, reject) => {
    let localPort = 0;
    const req = http.get({ host: addr, port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ body, localPort }));
    });
    req.on('socket', (s) => s.on('connect', () => (localPort = s.localPort ?? 0)));
    req.on('error', reject);
  });
}

/** Connects and resolves with the socket once the first line (the backend's name) arrived. */
export function connectLine(addr: string, port: number): Promise<{ sock: net.Socket; name: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: addr, port, allowHalfOpen: true });
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) {
        sock.off('data', onData);
        sock.pause();
        resolve({ sock, name: buf.slice(0, i) });
      }
    };
    sock.on('data', onData);
    sock.on('error', reject);
  });
}

/** Reads a socket until it ends; resolves with everything received. */
export function readAll(sock: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (d) => (buf += d));
    sock.on('end', () => resolve(buf));
    sock.on('error', reject);
    sock.resume();
  });
}

/** Sends one datagram from `sock` and waits for the reply. */
export function udpAsk(sock: dgram.Socket, addr: string, port: number, payload: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('udp timeout')), timeoutMs);
    sock.once('message', (m) => {
      clearTimeout(t);
      resolve(m.toString());
    });
    sock.send(payload, port, addr);
  });
}

export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

export function sha256(): ReturnType<typeof createHash> {
  return createHash('sha256');
}

export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Open TCP/UDP sockets of this process: /proc/self/fd socket inodes that appear in
 * /proc/net/{tcp,tcp6,udp,udp6}. Unlike a raw fd count, this ignores the test runner's own pipes
 * and event fds, so a growth is a leaked network socket.
 */
export function openInetSockets(pids: number[] = []): number {
  const inodes = new Set<string>();
  for (const f of ['tcp', 'tcp6', 'udp', 'udp6']) {
    const lines = readFileSync(`/proc/net/${f}`, 'utf8').split('\n').slice(1);
    for (const l of lines) {
      const cols = l.trim().split(/\s+/);
      if (cols.length > 9) inodes.add(cols[9]!);
    }
  }
  let n = 0;
  for (const pid of ['self', ...pids]) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // process gone
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) n++;
      } catch {
        // fd closed while listing
      }
    }
  }
  return n;
}
