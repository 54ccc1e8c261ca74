// ICMP helpers for the nft namespace tests: a listener that records the ICMP errors a namespace
// receives (raw sockets get a copy of every ICMP packet delivered locally), and a sender that
// crafts an error quoting a packet VIP:vport -> client:cport, as a router on the client's path
// would send about the reply of a flow. Both are python3 scripts run inside a namespace.

import { spawn, type ChildProcess } from 'node:child_process';

/** What a listener saw: outer addresses, type/code and the quoted packet's addresses and ports. */
export interface SeenIcmp {
  family: 4 | 6;
  src: string;
  dst?: string;
  type: number;
  code: number;
  innerSrc: string;
  innerDst: string;
  innerSport: number;
  innerDport: number;
}

// Prints "ready", then one JSON line per ICMP error (v4 types 3/4/11, v6 types 1-4) until stdin closes.
const LISTEN_PY = `
import json, select, socket, sys
s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
print('ready', flush=True)
while True:
    r, _, _ = select.select([s4, s6, sys.stdin], [], [])
    if sys.stdin in r and not sys.stdin.readline():
        break
    if s4 in r:
        b, a = s4.recvfrom(65535)
        ihl = (b[0] & 15) * 4
        t, c = b[ihl], b[ihl + 1]
        inner = b[ihl + 8:]
        if t in (3, 4, 11) and len(inner) >= 28:
            iihl = (inner[0] & 15) * 4
            print(json.dumps({'family': 4, 'src': a[0], 'dst': socket.inet_ntop(socket.AF_INET, b[16:20]), 'type': t, 'code': c,
                'innerSrc': socket.inet_ntop(socket.AF_INET, inner[12:16]), 'innerDst': socket.inet_ntop(socket.AF_INET, inner[16:20]),
                'innerSport': int.from_bytes(inner[iihl:iihl + 2], 'big'), 'innerDport': int.from_bytes(inner[iihl + 2:iihl + 4], 'big')}), flush=True)
    if s6 in r:
        b, a = s6.recvfrom(65535)
        t, c = b[0], b[1]
        inner = b[8:]
        if 1 <= t <= 4 and len(inner) >= 44:
            print(json.dumps({'family': 6, 'src': a[0], 'type': t, 'code': c,
                'innerSrc': socket.inet_ntop(socket.AF_INET6, inner[8:24]), 'innerDst': socket.inet_ntop(socket.AF_INET6, inner[24:40]),
                'innerSport': int.from_bytes(inner[40:42], 'big'), 'innerDport': int.from_bytes(inner[42:44], 'big')}), flush=True)
`;

// argv: family vip vport client cport type code [proto]. Sends one error to the VIP quoting a
// TCP (or UDP) packet VIP:vport -> client:cport. v4: frag-needed carries MTU 1200.
const SEND_PY = `
import socket, struct, sys
fam, vip, vport, client, cport, t, c = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
proto = 17 if len(sys.argv) > 8 and sys.argv[8] == 'udp' else 6
l4 = struct.pack('!HHI', vport, cport, 12345)
def csum(b):
    if len(b) % 2: b += b'\\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
if fam == '4':
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 1500, 0, 0x4000, 64, proto, 0, socket.inet_aton(vip), socket.inet_aton(client))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    msg = struct.pack('!BBHHH', t, c, 0, 0, 1200 if (t, c) == (3, 4) else 0) + ip + l4
    msg = msg[:2] + struct.pack('!H', csum(msg)) + msg[4:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.sendto(msg, (vip, 0))
else:
    ip = struct.pack('!IHBB16s16s', 0x60000000, 1460, proto, 64, socket.inet_pton(socket.AF_INET6, vip), socket.inet_pton(socket.AF_INET6, client))
    msg = struct.pack('!BBHI', t, c, 0, 1280 if t == 2 else 0) + ip + l4
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.sendto(msg, (vip, 0))
`;

/** Records the ICMP errors arriving in a namespace until stop(). */
export class IcmpListener {
  private readonly proc: ChildProcess;
  private readonly seen: SeenIcmp[] = [];
  readonly ready: Promise<void>;

  constructor(ns: string) {
    this.proc = spawn('ip', ['netns', 'exec', ns, 'python3', '-u', '-c', LISTEN_PY], { stdio: ['pipe', 'pipe', 'inherit'] });
    let buf = '';
    this.ready = new Promise((resolve, reject) => {
      this.proc.once('exit', (c) => reject(new Error(`ICMP listener in ${ns} exited ${c}`)));
      this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line === 'ready') resolve();
          else if (line.startsWith('{')) this.seen.push(JSON.parse(line) as SeenIcmp);
          nl = buf.indexOf('\n');
        }
      });
    });
  }

  /** Errors seen so far. */
  get received(): readonly SeenIcmp[] {
    return this.seen;
  }

  stop(): void {
    this.proc.stdin?.end();
    if (this.proc.exitCode === null) this.proc.kill('SIGTERM');
  }
}

/** Sends one crafted ICMP error from a namespace to VIP, quoting VIP:vport -> client:cport. */
export function sendIcmpError(ns: string, a: { family: 4 | 6; vip: string; vport: number; client: string; cport: number; type: number; code: number; proto?: 'tcp' | 'udp' }): Promise<void> {
  const args = [String(a.family), a.vip, String(a.vport), a.client, String(a.cport), String(a.type), String(a.code), a.proto ?? 'tcp'];
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', SEND_PY, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    p.on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`ICMP sender exited ${c}: ${err}`))));
  });
}

/** Polls `cond` every 50 ms until it holds or `ms` pass; returns whether it held. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
