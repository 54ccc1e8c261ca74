// One client TCP connection kept alive across a director failover: each ask() sends a request on
// the same socket and returns which real server answered and from which client port. The sync
// failover suites use it to show a connection (not just a client) survives the MASTER.
import { expect } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Lab } from '../vrrp/netns-helpers.js';
import { RS, type LvsdPair } from './lvsd-pair.js';
import type { NsLvsd } from './ns-lvsd.js';

/** A real server (`node -e KEPT_ALIVE_SERVER_JS NAME`) on port 80 whose kept-alive connections stay open two minutes. */
export const KEPT_ALIVE_SERVER_JS = `
const http = require('http'); const name = process.argv[1];
const s = http.createServer((req, res) => res.end(JSON.stringify({ rs: name })));
s.keepAliveTimeout = 120000; s.listen(80, () => console.log('ready'));
`;

/** One kept-alive connection; each stdin line sends a request on it and prints { rs, port } or { error }. */
const CLIENT_JS = `
const http = require('http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const once = () => new Promise((res) => { const req = http.get(process.argv[1], { agent, timeout: 15000 }, (r) => { let b = ''; r.on('data', (d) => b += d);
  r.on('end', () => res({ ...JSON.parse(b), port: req.socket.localPort })); }); req.on('error', (e) => res({ error: e.code })); req.on('timeout', () => { req.destroy(); res({ error: 'timeout' }); }); });
let chain = Promise.resolve();
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { for (const _ of d.split('\\n').filter(Boolean)) chain = chain.then(once).then((r) => console.log(JSON.stringify(r))); });
`;

export type KeptAliveReply = { rs?: string; port?: number; error?: string };

export class KeptAliveClient {
  private readonly proc: ChildProcess;
  private readonly replies: KeptAliveReply[] = [];

  /** Starts the client in namespace `ns` against `url`; its process is registered in lab for cleanup. */
  constructor(lab: Lab, ns: string, url: string) {
    this.proc = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', CLIENT_JS, url], { stdio: ['pipe', 'pipe', 'inherit'] });
    lab.procs.push(this.proc);
    createInterface({ input: this.proc.stdout! }).on('line', (l) => this.replies.push(JSON.parse(l) as KeptAliveReply));
  }

  /** One request on the kept-alive connection; `waiter`'s until() bounds the wait (20 s) and reports its lvsd on timeout. */
  async ask(waiter: NsLvsd): Promise<KeptAliveReply> {
    const n = this.replies.length;
    this.proc.stdin!.write('go\n');
    await waiter.until(() => this.replies.length > n, 'a reply', 20_000);
    return this.replies[n]!;
  }

  /** The first successful reply, retried up to 20 times: the client's ARP for the VIP may lag the MASTER's GARP. */
  async firstReply(waiter: NsLvsd): Promise<KeptAliveReply> {
    let first = await this.ask(waiter);
    for (let i = 0; i < 20 && first.error; i++) first = await this.ask(waiter);
    return first;
  }

  kill(): void {
    this.proc.kill('SIGKILL');
  }
}

/**
 * A client in the pair's client namespace opens its connection to http://vip/ through the MASTER
 * `master`; its first reply must name a real server (rs1 or rs2). Returns the client, that reply
 * and the real server's address.
 */
export async function connectThroughMaster(pair: LvsdPair, master: NsLvsd, vip: string): Promise<{ client: KeptAliveClient; first: KeptAliveReply; rsAddr: string }> {
  const client = new KeptAliveClient(pair.lab, pair.ns('cl'), `http://${vip}/`);
  const first = await client.firstReply(master);
  expect(first).toMatchObject({ rs: expect.stringMatching(/^rs[12]$/) });
  return { client, first, rsAddr: RS[Number(first.rs!.slice(2)) - 1]! };
}

const re = (s: string): string => s.replace(/\./g, '\\.');

/** The lvsadm -L -c -n row of the client 192.0.2.10:port's ESTABLISHED TCP connection to vip:80 via rs:80. */
export function establishedRow(port: number | undefined, vip: string, rs: string): RegExp {
  return new RegExp(`^TCP\\s+\\S+\\s+ESTABLISHED\\s+192\\.0\\.2\\.10:${port}\\s+${re(vip)}:80\\s+${re(rs)}:80$`, 'm');
}
