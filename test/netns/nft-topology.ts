// Network-namespace fixture for the nft engine tests and bench: a client, a director and three
// real servers on 192.0.2.0/24 (client side), 198.51.100.0/24 (server side), 2001:db8::/32.
// The VIPs (203.0.113.0/24, 2001:db8:3::/64) are routed to the director, not assigned to it.
// Real servers run an HTTP server (ports 80, 8080, 8100) and a UDP echo (port 5353) that report the
// client address they saw. Everything created is removed by destroy().

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const VIP4 = '203.0.113.10';
export const VIP6 = '2001:db8:3::10';
export const CLIENT4 = '192.0.2.2';
export const DIRECTOR4_CLIENT = '192.0.2.1';
export const DIRECTOR4 = '198.51.100.1';
export const DIRECTOR6 = '2001:db8:2::1';
export const rs4 = (i: number): string => `198.51.100.1${i}`;
export const rs6 = (i: number): string => `2001:db8:2::1${i}`;

function sh(args: string[]): void {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
}

// The server every real server runs: HTTP on 80, 8080 and 8100, UDP echo on 5353.
export const SERVER_JS = `
const http = require('http'); const dgram = require('dgram');
const name = process.argv[1];
const h = (req, res) => { const body = JSON.stringify({ rs: name, client: req.socket.remoteAddress.replace(/^::ffff:/, ''), port: req.socket.localPort });
  if (req.url.startsWith('/big')) { res.end(Buffer.alloc(Number(req.url.slice(5)) || 1000000, 97)); return; }
  res.setHeader('content-type', 'application/json'); res.end(body); };
for (const p of [80, 8080, 8100]) http.createServer(h).listen(p, '::');
for (const fam of ['udp4', 'udp6']) { const u = dgram.createSocket({ type: fam, ipv6Only: fam === 'udp6' });
  u.on('message', (m, r) => u.send(JSON.stringify({ rs: name, client: r.address, len: m.length }), r.port, r.address));
  u.bind(5353); }
setTimeout(() => console.log('ready'), 200);
`;

/** Namespaces a test creates, the processes it starts in them, and their removal. */
export abstract class NamespaceLab {
  readonly suffix = randomBytes(3).toString('hex');
  abstract readonly client: string;
  private readonly procs: ChildProcess[] = [];

  /** Every namespace of the lab, in creation order. */
  protected abstract get all(): string[];

  exec(ns: string, args: string[]): void {
    sh(['ip', 'netns', 'exec', ns, ...args]);
  }

  /** Creates the namespaces with loopback up and no duplicate address detection. */
  protected addNamespaces(): void {
    for (const ns of this.all) sh(['ip', 'netns', 'add', ns]);
    for (const ns of this.all) {
      this.exec(ns, ['ip', 'link', 'set', 'lo', 'up']);
      this.exec(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
    }
  }

  /** Starts SERVER_JS in a namespace; resolves once it listens. */
  protected startServer(ns: string, name: string): Promise<void> {
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER_JS, name], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.procs.push(p);
    return new Promise((resolve, reject) => {
      p.stdout!.once('data', () => resolve());
      p.once('exit', (c) => reject(new Error(`server ${name} exited ${c}`)));
    });
  }

  /** Runs a Node script in the client namespace; resolves with its stdout (JSON). */
  runClient(script: string, args: string[] = [], timeoutMs = 20000): Promise<string> {
    return new Promise((resolve, reject) => {
      const p = spawn('ip', ['netns', 'exec', this.client, process.execPath, '-e', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
      p.stdout!.on('data', (d) => (out += d));
      p.stderr!.on('data', (d) => (err += d));
      p.on('exit', (c) => {
        clearTimeout(t);
        if (c === 0) resolve(out);
        else reject(new Error(`client exited ${c}: ${err}`));
      });
    });
  }

  /** A long-lived client process (held connections); caller writes commands to stdin. */
  spawnClient(script: string, args: string[] = []): ChildProcess {
    const p = spawn('ip', ['netns', 'exec', this.client, process.execPath, '-e', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.procs.push(p);
    return p;
  }

  destroy(): void {
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGKILL');
    for (const ns of this.all) spawnSync('ip', ['netns', 'del', ns]);
  }
}

export class Topology extends NamespaceLab {
  readonly client = `lvsd-nft-c-${this.suffix}`;
  readonly director = `lvsd-nft-d-${this.suffix}`;
  readonly rs = [1, 2, 3].map((i) => `lvsd-nft-r${i}-${this.suffix}`);

  protected get all(): string[] {
    return [this.client, this.director, ...this.rs];
  }

  async create(): Promise<void> {
    this.addNamespaces();
    const d = this.director;
    this.exec(d, ['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    sh(['ip', '-n', this.client, 'link', 'add', 'cl', 'type', 'veth', 'peer', 'name', 'dc', 'netns', d]);
    this.exec(this.client, ['ip', 'addr', 'add', `${CLIENT4}/24`, 'dev', 'cl']);
    this.exec(this.client, ['ip', 'addr', 'add', '2001:db8:1::2/64', 'dev', 'cl', 'nodad']);
    this.exec(this.client, ['ip', 'link', 'set', 'cl', 'up']);
    this.exec(this.client, ['ip', 'route', 'add', 'default', 'via', DIRECTOR4_CLIENT]);
    this.exec(this.client, ['ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:1::1']);
    this.exec(d, ['ip', 'addr', 'add', `${DIRECTOR4_CLIENT}/24`, 'dev', 'dc']);
    this.exec(d, ['ip', 'addr', 'add', '2001:db8:1::1/64', 'dev', 'dc', 'nodad']);
    this.exec(d, ['ip', 'link', 'set', 'dc', 'up']);
    this.exec(d, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    this.exec(d, ['ip', 'addr', 'add', `${DIRECTOR4}/24`, 'dev', 'br0']);
    this.exec(d, ['ip', 'addr', 'add', `${DIRECTOR6}/64`, 'dev', 'br0', 'nodad']);
    this.exec(d, ['ip', 'link', 'set', 'br0', 'up']);
    for (let i = 1; i <= 3; i++) {
      const r = this.rs[i - 1];
      sh(['ip', '-n', d, 'link', 'add', `rs${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', r]);
      this.exec(d, ['ip', 'link', 'set', `rs${i}`, 'master', 'br0', 'up']);
      this.exec(r, ['ip', 'addr', 'add', `${rs4(i)}/24`, 'dev', 'eth0']);
      this.exec(r, ['ip', 'addr', 'add', `${rs6(i)}/64`, 'dev', 'eth0', 'nodad']);
      this.exec(r, ['ip', 'link', 'set', 'eth0', 'up']);
      // NAT: the director is the real servers' gateway. DR: the VIP on lo, silent for ARP/ND.
      this.exec(r, ['ip', 'route', 'add', 'default', 'via', DIRECTOR4]);
      this.exec(r, ['ip', '-6', 'route', 'add', 'default', 'via', DIRECTOR6]);
      this.exec(r, ['sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2']);
      this.exec(r, ['ip', 'addr', 'add', `${VIP4}/32`, 'dev', 'lo']);
      this.exec(r, ['ip', 'addr', 'add', `${VIP6}/128`, 'dev', 'lo']);
    }
    await Promise.all(this.rs.map((r, i) => this.startServer(r, `rs${i + 1}`)));
  }
}

/** Client script: N fresh HTTP connections in sequence to URL; prints the JSON bodies. */
/** What FETCH_JS/HOLD_JS print per request: the real server that answered and the client it saw. */
export type Reply = { rs?: string; client?: string; error?: string; len?: number; localPort?: number };

/** Replies per real server (or per error). */
export function counts(rs: readonly Reply[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const r of rs) c[r.rs ?? r.error ?? '?'] = (c[r.rs ?? r.error ?? '?'] ?? 0) + 1;
  return c;
}

export const FETCH_JS = `
const http = require('http');
const [url, n] = [process.argv[1], Number(process.argv[2])];
(async () => { const out = [];
  for (let i = 0; i < n; i++) out.push(await new Promise((res) => {
    const req = http.get(url, { agent: false, timeout: 3000 }, (r) => { let b = ''; r.on('data', (d) => b += d); r.on('end', () => res(JSON.parse(b))); });
    req.on('timeout', () => { req.destroy(); res({ error: 'timeout' }); });
    req.on('error', (e) => res({ error: e.code }));
  }));
  console.log(JSON.stringify(out)); })();
`;

/** Client script: one UDP datagram of SIZE bytes to HOST:PORT; prints the JSON reply. */
export const UDP_JS = `
const dgram = require('dgram'); const [host, port, size] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
const t = setTimeout(() => { console.log(JSON.stringify({ error: 'timeout' })); process.exit(0); }, 3000);
s.on('message', (m) => { clearTimeout(t); console.log(m.toString()); process.exit(0); });
s.send(Buffer.alloc(size, 1), port, host);
`;

/**
 * Held connection: connects to URL with keep-alive, does a request on each stdin line ("go"),
 * printing one JSON line per response, all on the same TCP connection.
 */
export const HOLD_JS = `
const http = require('http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const url = process.argv[1];
const once = () => new Promise((res) => { const req = http.get(url, { agent, timeout: 3000 }, (r) => { let b = ''; r.on('data', (d) => b += d);
  r.on('end', () => res({ ...JSON.parse(b), localPort: req.socket.localPort })); }); req.on('error', (e) => res({ error: e.code })); req.on('timeout', () => { req.destroy(); res({ error: 'timeout' }); }); });
process.stdin.setEncoding('utf8');
let chain = Promise.resolve();
process.stdin.on('data', (d) => { for (const _ of d.split('\\n').filter(Boolean)) chain = chain.then(once).then((r) => console.log(JSON.stringify(r))); });
`;

// Sends COUNT bare TCP segments (flags: "syn", "ack" or "fin" = FIN+ACK) from CLIENT to VIP:PORT via a raw socket.
export const RAW_TCP_JS = `
const raw = require(process.argv[1]);
const [src, dst, dport, count, kind] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5]), process.argv[6]];
const s = raw.createSocket({ protocol: raw.Protocol.TCP });
const ip = (a) => Buffer.from(a.split('.').map(Number));
function seg(sport) {
  const b = Buffer.alloc(20); b.writeUInt16BE(sport, 0); b.writeUInt16BE(dport, 2); b.writeUInt32BE(12345, 4);
  b.writeUInt32BE(kind === 'syn' ? 0 : 777, 8); b[12] = 5 << 4; b[13] = kind === 'ack' ? 0x10 : kind === 'fin' ? 0x11 : 0x02; b.writeUInt16BE(64240, 14);
  const p = Buffer.concat([ip(src), ip(dst), Buffer.from([0, 6, 0, 20]), b]); let sum = 0;
  for (let i = 0; i < p.length; i += 2) sum += p.readUInt16BE(i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16); b.writeUInt16BE(~sum & 0xffff, 16); return b; }
let i = 0; const next = () => { if (i >= count) { console.log(JSON.stringify({ sent: i })); s.close(); return; }
  const b = seg(20000 + (i++ % 40000)); s.send(b, 0, b.length, dst, (e) => { if (e) { console.error(e); process.exit(1); } next(); }); };
next();
`;

/** Numeric rows of `lvsadm -L -n [--stats --exact]`: "TCP VIP:PORT" and "-> RS:PORT" with their numbers. */
export function lvsadmRows(text: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  let vs = '';
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'TCP' || f[0] === 'UDP') {
      vs = `${f[0]} ${f[1]}`;
      out.set(vs, f.slice(2).filter((x) => /^\d+$/.test(x)).map(Number));
    } else if (f[0] === '->' && /^\d/.test(f[1] ?? '')) {
      out.set(`${vs} -> ${f[1]}`, f.slice(2).filter((x) => /^\d+$/.test(x)).map(Number));
    }
  }
  return out;
}
