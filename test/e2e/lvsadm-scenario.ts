// The known configuration and the known traffic the lvsadm end-to-end tests run: six services
// (IPv4/IPv6, TCP/UDP, two fwmark services, persistent and not) whose real servers cover every
// forwarding name lvsadm prints (Masq, Route, Tunnel, FullNat), backends on 127.0.0.x and
// ::1 started here, and a fixed set of exchanges whose counters are known in advance.
//
// What "packets" means for the proxy engine: the proxy does not see IP packets. For TCP it counts
// one packet per chunk read from a socket (InPkts: reads from the client, OutPkts: reads from the
// real server) and their payload bytes (no headers, no SYN/ACK/FIN). Each exchange below writes a
// single small request, waits for a single small reply and then closes, so on loopback each side
// is read as exactly one chunk: 1 InPkt + 1 OutPkt per connection. For UDP one datagram is one
// packet and its payload is its bytes.
import {
  freePort, startLvsd, tcpBackend, tcpExchange, udpBackend, udpClient, type Backend, type RunningLvsd,
} from './lvsadm-harness.js';

export const REQUEST = 'lvsadm e2e request\n'; // 19 bytes
export const UDP_REQUEST = 'udp ask';

export interface Ports {
  tcp4: number; tcp6: number; udp4: number; udp6: number;
  /** backends */
  b2: number; b3: number; b6: number; b4: number; bu6: number;
  metrics: number;
}

export interface Scenario {
  ports: Ports;
  lvsd: RunningLvsd;
  backends: Backend[];
  stop(): Promise<void>;
}

/** Timeouts in the configuration (tcp tcpfin udp), not the defaults, so `--timeout` shows them. */
export const TIMEOUTS = { tcp: 1000, tcpfin: 110, udp: 290 };

export function configText(p: Ports, socket: string): string {
  return `! written by test/e2e/lvsadm-scenario.ts
lvsd_defs {
    control_socket ${socket}
    metrics_listen 127.0.0.1:${p.metrics}
    timeout ${TIMEOUTS.tcp} ${TIMEOUTS.tcpfin} ${TIMEOUTS.udp}
}
virtual_server 127.0.0.1 ${p.tcp4} {
    lvs_sched wrr
    lvs_method NAT
    protocol TCP
    real_server 127.0.0.2 ${p.b2} {
        weight 1
    }
    real_server 127.0.0.3 ${p.b3} {
        weight 2
    }
    real_server 192.0.2.10 80 {
        weight 0
    }
}
virtual_server ::1 ${p.tcp6} {
    lvs_sched wlc
    lvs_method FULLNAT
    persistence_timeout 300
    protocol TCP
    real_server ::1 ${p.b6} {
        weight 1
    }
    real_server 2001:db8::10 ${p.tcp6} {
        weight 0
        lvs_method DR
    }
}
virtual_server 127.0.0.1 ${p.udp4} {
    lvs_sched rr
    lvs_method DR
    protocol UDP
    real_server 127.0.0.4 ${p.udp4} {
        weight 1
    }
    real_server 198.51.100.10 ${p.udp4} {
        weight 0
        lvs_method TUN
    }
}
virtual_server ::1 ${p.udp6} {
    lvs_sched rr
    lvs_method FULLNAT
    protocol UDP
    real_server ::1 ${p.bu6} {
        weight 1
    }
}
virtual_server fwmark 7 {
    lvs_sched sh
    lvs_method TUN
    persistence_timeout 60
    persistence_granularity 255.255.255.0
    protocol TCP
    real_server 203.0.113.10 80 {
        weight 3
    }
}
virtual_server fwmark 8 {
    ip_family inet6
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 2001:db8::20 80 {
        weight 1
    }
}
`;
}

export const REPLY = {
  b2: 'reply from 127.0.0.2\n',
  b3: 'reply from 127.0.0.3, the heavier one\n',
  b6: 'reply from ::1\n',
  b4: 'udp reply from 127.0.0.4',
  bu6: 'udp6 reply',
};

export async function startScenario(): Promise<Scenario> {
  // The IPv4 real servers listen on their VIP's port, on their own addresses, so the DR one (-g)
  // round-trips through -S/-R too (ipvsadm.c: -R forces the service's port on DR and TUN servers).
  const tcp4 = await freePort('127.0.0.1', ['127.0.0.2', '127.0.0.3']);
  const udp4 = await freePort('127.0.0.1', ['127.0.0.4']);
  const ports: Ports = {
    tcp4, tcp6: await freePort('::1'), udp4, udp6: await freePort('::1'), b2: tcp4, b3: tcp4,
    b6: await freePort('::1'), b4: udp4, bu6: await freePort('::1'), metrics: await freePort('127.0.0.1'),
  };
  const backends: Backend[] = [];
  const lvsdHolder: { lvsd?: RunningLvsd } = {};
  const stop = async (): Promise<void> => {
    await lvsdHolder.lvsd?.stop();
    await Promise.all(backends.map((b) => b.close()));
  };
  try {
    backends.push(await tcpBackend('127.0.0.2', ports.b2, REPLY.b2));
    backends.push(await tcpBackend('127.0.0.3', ports.b3, REPLY.b3));
    backends.push(await tcpBackend('::1', ports.b6, REPLY.b6));
    backends.push(await udpBackend('127.0.0.4', ports.b4, REPLY.b4));
    backends.push(await udpBackend('::1', ports.bu6, REPLY.bu6));
    lvsdHolder.lvsd = await startLvsd((dir) => configText(ports, `${dir}/control.sock`));
  } catch (err) {
    await stop();
    throw err;
  }
  return { ports, lvsd: lvsdHolder.lvsd, backends, stop };
}

/** The traffic, in counts (everything expected follows from these). */
export const TRAFFIC = { tcp4Conns: 6, tcp6Conns: 4, udp4Asks: [3, 2], udp6Asks: [2] };

export interface DoneTraffic {
  /** client ports of the TCP connections, per VIP */
  tcp4Clients: number[];
  tcp6Clients: number[];
  /** client ports of the UDP client sockets */
  udp4Clients: number[];
  udp6Clients: number[];
  /** replies by backend reply text (which real server answered) */
  replies: Map<string, number>;
  startedAt: number;
}

/** Runs the known traffic through the VIPs, strictly one exchange at a time. */
export async function driveTraffic(p: Ports): Promise<DoneTraffic> {
  const done: DoneTraffic = { tcp4Clients: [], tcp6Clients: [], udp4Clients: [], udp6Clients: [], replies: new Map(), startedAt: Date.now() };
  const count = (r: string): void => void done.replies.set(r, (done.replies.get(r) ?? 0) + 1);
  for (let i = 0; i < TRAFFIC.tcp4Conns; i++) {
    const r = await tcpExchange('127.0.0.1', p.tcp4, REQUEST);
    count(r.reply);
    done.tcp4Clients.push(r.localPort);
  }
  for (let i = 0; i < TRAFFIC.tcp6Conns; i++) {
    const r = await tcpExchange('::1', p.tcp6, REQUEST);
    count(r.reply);
    done.tcp6Clients.push(r.localPort);
  }
  for (const n of TRAFFIC.udp4Asks) {
    const c = await udpClient('127.0.0.1');
    for (let i = 0; i < n; i++) count(await c.ask('127.0.0.1', p.udp4, UDP_REQUEST));
    done.udp4Clients.push(c.port);
    c.close();
  }
  for (const n of TRAFFIC.udp6Asks) {
    const c = await udpClient('::1');
    for (let i = 0; i < n; i++) count(await c.ask('::1', p.udp6, UDP_REQUEST));
    done.udp6Clients.push(c.port);
    c.close();
  }
  return done;
}
