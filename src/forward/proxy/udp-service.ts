// One UDP virtual service in the proxy engine: a socket on VIP:port, per-client flows (one
// upstream socket each, connected to the chosen real server) living as long as the table keeps
// the connection (udp timeout), and one-packet scheduling (ops) when the service asks for it.
import dgram from 'node:dgram';
import type { Conn, IpvsTable, Service } from '../../ipvs/index.js';
import { proxyHeaderV2 } from './proxy-header.js';

export interface UdpCounters {
  udpDatagrams: number;
  udpNoDest: number;
  udpSendErrors: number;
}

interface Flow {
  conn: Conn;
  upstream: dgram.Socket;
  daddr: string;
  dport: number;
  /** for ops flows (no table entry): last use, to close idle upstream sockets */
  lastUse: number;
}

export class UdpService {
  private readonly sock: dgram.Socket;
  private readonly flows = new Map<string, Flow>();
  /** ops: upstream sockets by client + dest, reused for replies only */
  private readonly opsFlows = new Map<string, Flow>();
  closed = false;

  constructor(
    private readonly table: IpvsTable,
    readonly addr: string,
    readonly port: number,
    private readonly now: () => number,
    private readonly counters: UdpCounters,
    private readonly onNoDest: (message: string) => void,
  ) {
    this.sock = dgram.createSocket({ type: addr.includes(':') ? 'udp6' : 'udp4' });
    this.sock.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    this.sock.on('error', () => undefined);
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sock.once('error', reject);
      this.sock.bind(this.port, this.addr, () => {
        this.sock.off('error', reject);
        resolve();
      });
    });
  }

  get flowCount(): number {
    return this.flows.size + this.opsFlows.size;
  }

  private service(): Service | undefined {
    return this.table.findService({ kind: 'addr', protocol: 'udp', addr: this.addr, port: this.port });
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.counters.udpDatagrams++;
    const clientAddr = rinfo.address.startsWith('::ffff:') && !this.addr.includes(':') ? rinfo.address.slice(7) : rinfo.address;
    const key = `${clientAddr}|${rinfo.port}`;
    const now = this.now();
    let flow = this.flows.get(key);
    if (flow && !this.table.connection(flow.conn.id)) {
      this.closeFlow(key, flow);
      flow = undefined;
    }
    if (!flow) {
      if (this.closed) return;
      const svc = this.service();
      if (!svc) return;
      const r = this.table.schedule(svc, { clientAddr, clientPort: rinfo.port, vaddr: this.addr, vport: this.port }, now);
      if (!r.ok) {
        this.counters.udpNoDest++;
        this.onNoDest(r.message);
        return;
      }
      const destPort = r.dest.port || this.port;
      const okey = `${key}|${r.dest.addr}|${destPort}`;
      if (svc.ops) {
        flow = this.opsFlows.get(okey);
        if (flow) flow.conn = r.conn;
      }
      if (!flow) {
        flow = this.openFlow(r.conn, clientAddr, rinfo.port, r.dest.addr, destPort);
        if (svc.ops) this.opsFlows.set(okey, flow);
        else this.flows.set(key, flow);
      }
    }
    // PROXY v2 over UDP prefixes every datagram (v1 is TCP only).
    if (this.service()?.proxyProtocol === 'v2') {
      msg = Buffer.concat([proxyHeaderV2({ protocol: 'udp', clientAddr, clientPort: rinfo.port, vaddr: this.addr, vport: this.port }), msg]);
    }
    flow.lastUse = now;
    this.table.traffic(flow.conn, 1, msg.length, 0, 0);
    this.table.touch(flow.conn, now);
    flow.upstream.send(msg, flow.dport, flow.daddr, (err) => {
      if (err) this.counters.udpSendErrors++;
    });
  }

  private openFlow(conn: Conn, clientAddr: string, clientPort: number, daddr: string, dport: number): Flow {
    const up = dgram.createSocket({ type: daddr.includes(':') ? 'udp6' : 'udp4' });
    const flow: Flow = { conn, upstream: up, daddr, dport, lastUse: this.now() };
    up.on('error', () => undefined);
    up.on('message', (reply, from) => {
      // only the real server's answers count (the socket is not connected: sends start at once)
      if (this.closed || from.port !== dport || from.address !== daddr) return;
      this.table.traffic(flow.conn, 0, 0, 1, reply.length);
      this.table.touch(flow.conn, this.now());
      this.sock.send(reply, clientPort, clientAddr, (err) => {
        if (err) this.counters.udpSendErrors++;
      });
    });
    return flow;
  }

  /** Closes flows whose table entry expired (and idle ops flows). Called by the engine sweep. */
  sweep(now: number, udpTimeoutMs: number): void {
    for (const [k, f] of this.flows) if (!this.table.connection(f.conn.id)) this.closeFlow(k, f);
    for (const [k, f] of this.opsFlows) if (now - f.lastUse >= udpTimeoutMs) this.closeFlow(k, f, this.opsFlows);
  }

  private closeFlow(key: string, f: Flow, map = this.flows): void {
    map.delete(key);
    try {
      f.upstream.close();
    } catch {
      // already closed
    }
  }

  /** Stops receiving; flows are closed too (UDP has nothing to drain). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [k, f] of this.flows) this.closeFlow(k, f);
    for (const [k, f] of this.opsFlows) this.closeFlow(k, f, this.opsFlows);
    try {
      this.sock.close();
    } catch {
      // already closed
    }
  }
}
