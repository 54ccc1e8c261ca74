// lvsadm against a running lvsd: a spawned daemon with a known configuration (test/e2e/
// lvsadm-scenario.ts), known traffic through its VIPs, and every listing compared byte for byte
// with text built here from ipvsadm's printf formats (ipvsadm.c print_title, print_service_entry,
// list_conn/print_conn, print_largenum; see ../shared/spec/ipvsadm.md). How each line follows is
// said beside it.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { TableView } from '../../src/control/index.js';
import { lvsadm, printf, waitForTable } from './lvsadm-harness.js';
import {
  driveTraffic, REPLY, REQUEST, startScenario, TIMEOUTS, TRAFFIC, UDP_REQUEST, type DoneTraffic, type Scenario,
} from './lvsadm-scenario.js';

let sc: Scenario;
let traffic: DoneTraffic;
let view: TableView;

const HEADER = 'IP Virtual Server version 1.2.1 (size=4096)\n';

beforeAll(async () => {
  sc = await startScenario();
  traffic = await driveTraffic(sc.ports);
  // Every connection has closed (TIME_WAIT) and its counters are folded into the table.
  const totalConns = TRAFFIC.tcp4Conns + TRAFFIC.tcp6Conns + TRAFFIC.udp4Asks.length + TRAFFIC.udp6Asks.length;
  view = await waitForTable(sc.lvsd.client, (v) => {
    const conns = v.services.reduce((n, s) => n + s.stats.conns, 0);
    const tcpOpen = v.connections.filter((c) => c.protocol === 'TCP' && !c.template && c.state !== 'TIME_WAIT').length;
    const pkts = v.services.reduce((n, s) => n + s.stats.inpkts + s.stats.outpkts, 0);
    return conns === totalConns && tcpOpen === 0 && pkts === 2 * (TRAFFIC.tcp4Conns + TRAFFIC.tcp6Conns) + 2 * [...TRAFFIC.udp4Asks, ...TRAFFIC.udp6Asks].reduce((a, b) => a + b, 0);
  }, 'all traffic counted and every TCP connection in TIME_WAIT');
}, 60000);

afterAll(async () => {
  await sc?.stop();
});

// ---- what the traffic must have produced ------------------------------------------------------

/** wrr with weights 1 and 2: six connections are two full cycles, 2 to 127.0.0.2 and 4 to 127.0.0.3. */
const TCP4_SPLIT = { b2: (TRAFFIC.tcp4Conns / 3) * 1, b3: (TRAFFIC.tcp4Conns / 3) * 2 };
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** [conns, inpkts, outpkts, inbytes, outbytes] per real server and service. */
function expectedStats() {
  const tcp = (conns: number, reply: string) => [conns, conns, conns, conns * REQUEST.length, conns * reply.length];
  const udp = (asks: number[], reply: string) => [asks.length, sum(asks), sum(asks), sum(asks) * UDP_REQUEST.length, sum(asks) * reply.length];
  const b2 = tcp(TCP4_SPLIT.b2, REPLY.b2);
  const b3 = tcp(TCP4_SPLIT.b3, REPLY.b3);
  const zero = [0, 0, 0, 0, 0];
  return {
    tcp4: b2.map((v, i) => v + b3[i]!), b2, b3, masq: zero,
    udp4: udp(TRAFFIC.udp4Asks, REPLY.b4), tun: zero,
    tcp6: tcp(TRAFFIC.tcp6Conns, REPLY.b6), route: zero,
    udp6: udp(TRAFFIC.udp6Asks, REPLY.bu6),
    fwm: zero,
  };
}

// ---- ipvsadm's line formats -------------------------------------------------------------------

/** print_service_entry's name: sprintf("%-4s %s", proto, "addr:port"); IPv6 in brackets. */
const svcName = (proto: string, addrPort: string): string => printf('%-4s %s', proto, addrPort);
/** FMT_NONE service line: printf("%s %s", name, sched) + flags/persistent/mask suffixes. */
const svcLine = (name: string, sched: string, suffix = ''): string => printf('%s %s', name, sched) + suffix + '\n';
/** FMT_NONE real server: printf("  -> %-28s %-7s %-6d %-10u %-10u\n", ...). */
const destLine = (ap: string, fwd: string, w: number, act: number, inact: number): string =>
  printf('  -> %-28s %-7s %-6d %-10u %-10u\n', ap, fwd, w, act, inact);
/** print_largenum below 10^8 (and always with --exact for numbers of at most 8 digits): "%9llu". */
const nums = (vs: number[]): string => vs.map((v) => printf('%9llu', v)).join('');
/** --stats service line: printf("%-33s", name) + five print_largenum. */
const statSvc = (name: string, vs: number[]): string => printf('%-33s', name) + nums(vs) + '\n';
/** --stats real server line: printf("  -> %-28s", addr) + five print_largenum. */
const statDest = (ap: string, vs: number[]): string => printf('  -> %-28s', ap) + nums(vs) + '\n';

function names() {
  const p = sc.ports;
  return {
    tcp4: svcName('TCP', `127.0.0.1:${p.tcp4}`), udp4: svcName('UDP', `127.0.0.1:${p.udp4}`),
    tcp6: svcName('TCP', `[::1]:${p.tcp6}`), udp6: svcName('UDP', `[::1]:${p.udp6}`),
    // fwmark names: "FWM  %d" and, for IPv6, " IPv6" appended
    fwm7: 'FWM  7', fwm8: 'FWM  8 IPv6',
    b2: `127.0.0.2:${p.b2}`, b3: `127.0.0.3:${p.b3}`, masq: '192.0.2.10:80',
    b4: `127.0.0.4:${p.udp4}`, tun: `198.51.100.10:${p.udp4}`,
    b6: `[::1]:${p.b6}`, route: `[2001:db8::10]:${p.tcp6}`,
    bu6: `[::1]:${p.bu6}`, tun7: '203.0.113.10:80', masq8: '[2001:db8::20]:80',
  };
}

describe('lvsadm against a running lvsd after known traffic', () => {
  test('the traffic went where the schedulers say (wrr 1:2, persistence, weight 0 never picked)', () => {
    expect(traffic.replies.get(REPLY.b2)).toBe(TCP4_SPLIT.b2);
    expect(traffic.replies.get(REPLY.b3)).toBe(TCP4_SPLIT.b3);
    expect(traffic.replies.get(REPLY.b6)).toBe(TRAFFIC.tcp6Conns);
    expect(traffic.replies.get(REPLY.b4)).toBe(sum(TRAFFIC.udp4Asks));
    expect(traffic.replies.get(REPLY.bu6)).toBe(sum(TRAFFIC.udp6Asks));
  });

  test('-L -n', async () => {
    const n = names();
    const tcp4Split = TCP4_SPLIT;
    // Ordering: fwmark 0 first, then family (IPv4 first), protocol (TCP 6 < UDP 17), address,
    // port; real servers by address. A closed TCP connection waits in TIME_WAIT: InActConn.
    // A UDP connection is never "active" in IPVS: InActConn. Forward names are the configured
    // method, also for local addresses: current kernels no longer report Local
    // (IP_VS_CONN_F_LOCALNODE); FULLNAT prints FullNat (ours).
    const expected = HEADER +
      'Prot LocalAddress:Port Scheduler Flags\n' +
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n' +
      svcLine(n.tcp4, 'wrr') +
      destLine(n.b2, 'Masq', 1, 0, tcp4Split.b2) +
      destLine(n.b3, 'Masq', 2, 0, tcp4Split.b3) +
      destLine(n.masq, 'Masq', 0, 0, 0) +
      svcLine(n.udp4, 'rr') +
      destLine(n.b4, 'Route', 1, 0, TRAFFIC.udp4Asks.length) +
      destLine(n.tun, 'Tunnel', 0, 0, 0) +
      // persistent: " persistent %u"; the /128 mask is the default, so no " mask"
      svcLine(n.tcp6, 'wlc', ' persistent 300') +
      destLine(n.b6, 'FullNat', 1, 0, TRAFFIC.tcp6Conns) +
      destLine(n.route, 'Route', 0, 0, 0) +
      svcLine(n.udp6, 'rr') +
      destLine(n.bu6, 'FullNat', 1, 0, TRAFFIC.udp6Asks.length) +
      // " mask %s" with the dotted IPv4 netmask when it is not /32
      svcLine(n.fwm7, 'sh', ' persistent 60 mask 255.255.255.0') +
      destLine(n.tun7, 'Tunnel', 3, 0, 0) +
      svcLine(n.fwm8, 'rr') +
      destLine(n.masq8, 'Masq', 1, 0, 0);
    const r = await lvsadm(sc.lvsd.socket, ['-L', '-n']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(expected);
  });

  test('-L -n --stats and --stats --exact: exact counters', async () => {
    const n = names();
    const s = expectedStats();
    // print_title for FMT_STATS: printf("%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", ...)
    const expected = HEADER +
      printf('%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n', 'Prot LocalAddress:Port', 'Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes') +
      statSvc(n.tcp4, s.tcp4) + statDest(n.b2, s.b2) + statDest(n.b3, s.b3) + statDest(n.masq, s.masq) +
      statSvc(n.udp4, s.udp4) + statDest(n.b4, s.udp4) + statDest(n.tun, s.tun) +
      statSvc(n.tcp6, s.tcp6) + statDest(n.b6, s.tcp6) + statDest(n.route, s.route) +
      statSvc(n.udp6, s.udp6) + statDest(n.bu6, s.udp6) +
      statSvc(n.fwm7, s.fwm) + statDest(n.tun7, s.fwm) +
      statSvc(n.fwm8, s.fwm) + statDest(n.masq8, s.fwm);
    const r = await lvsadm(sc.lvsd.socket, ['-L', '-n', '--stats']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(expected);
    // Below 10^8 --exact prints the same "%9llu" columns (print_largenum: exact or not, small
    // numbers are not scaled).
    const x = await lvsadm(sc.lvsd.socket, ['-L', '-n', '--stats', '--exact']);
    expect(x.stdout).toBe(expected);
  });

  test('-L -n --rate (and --exact): shape, names, and exact zeros where nothing flowed', async () => {
    const n = names();
    const title = HEADER +
      printf('%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n', 'Prot LocalAddress:Port', 'CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS');
    // Rates come from the 2 s estimator and depend on when its ticks fell: the numbers of busy
    // entries are checked for shape only. FMT_RATE service line: "%-33s" + five print_largenum;
    // real server: "  -> %-28s" + " %8llu" x3 (cps, inpps, outpps) + two print_largenum.
    const rateSvc = (name: string): RegExp => new RegExp(`^${escape(printf('%-33s', name))}( {0,8}\\d{1,9}){5}$`);
    const rateDest = (ap: string): RegExp => new RegExp(`^${escape(printf('  -> %-28s', ap))}( {1,8}\\d{1,8}){3}( {0,8}\\d{1,9}){2}$`);
    const zeroSvc = (name: string): string => printf('%-33s', name) + nums([0, 0, 0, 0, 0]);
    const zeroDest = (ap: string): string => printf('  -> %-28s %8llu %8llu %8llu', ap, 0, 0, 0) + nums([0, 0]);
    const rows: (RegExp | string)[] = [
      rateSvc(n.tcp4), rateDest(n.b2), rateDest(n.b3), zeroDest(n.masq),
      rateSvc(n.udp4), rateDest(n.b4), zeroDest(n.tun),
      rateSvc(n.tcp6), rateDest(n.b6), zeroDest(n.route),
      rateSvc(n.udp6), rateDest(n.bu6),
      zeroSvc(n.fwm7), zeroDest(n.tun7),
      zeroSvc(n.fwm8), zeroDest(n.masq8),
    ];
    for (const args of [['-L', '-n', '--rate'], ['-L', '-n', '--rate', '--exact']]) {
      const r = await lvsadm(sc.lvsd.socket, args);
      expect(r.stderr).toBe('');
      expect(r.stdout.startsWith(title)).toBe(true);
      const lines = r.stdout.slice(title.length).split('\n');
      expect(lines.pop()).toBe('');
      expect(lines).toHaveLength(rows.length);
      lines.forEach((line, i) => {
        const want = rows[i]!;
        if (typeof want === 'string') expect(line).toBe(want);
        else expect(line).toMatch(want);
        // fixed-width columns while numbers stay below 10^8: 33 + 5 x 9 = 5 + 28 + 3 x 9 + 2 x 9 = 78
        expect(line.length).toBe(78);
      });
    }
  });

  test('-L --timeout shows the configured timeouts', async () => {
    const r = await lvsadm(sc.lvsd.socket, ['-L', '--timeout']);
    // printf("Timeout (tcp tcpfin udp): %d %d %d\n", ...)
    expect(r.stdout).toBe(printf('Timeout (tcp tcpfin udp): %d %d %d\n', TIMEOUTS.tcp, TIMEOUTS.tcpfin, TIMEOUTS.udp));
  });

  test('-S -n: the rules, in listing order', async () => {
    const p = sc.ports;
    const t4 = `-t 127.0.0.1:${p.tcp4}`;
    const u4 = `-u 127.0.0.1:${p.udp4}`;
    const t6 = `-t [::1]:${p.tcp6}`;
    const u6 = `-u [::1]:${p.udp6}`;
    // "-A <sel> -s <sched>[ -p <timeout>][ -M <mask>]"; "-a <sel> -r <addr:port> <fwd> -w <weight>"
    // with -m Masq, -g Route, -i Tunnel (+ " --tun-type ipip"), -k our FullNat.
    const expected = [
      `-A ${t4} -s wrr`,
      `-a ${t4} -r 127.0.0.2:${p.b2} -m -w 1`,
      `-a ${t4} -r 127.0.0.3:${p.b3} -m -w 2`,
      `-a ${t4} -r 192.0.2.10:80 -m -w 0`,
      `-A ${u4} -s rr`,
      `-a ${u4} -r 127.0.0.4:${p.udp4} -g -w 1`,
      `-a ${u4} -r 198.51.100.10:${p.udp4} -i -w 0 --tun-type ipip`,
      `-A ${t6} -s wlc -p 300`,
      `-a ${t6} -r [::1]:${p.b6} -k -w 1`,
      `-a ${t6} -r [2001:db8::10]:${p.tcp6} -g -w 0`,
      `-A ${u6} -s rr`,
      `-a ${u6} -r [::1]:${p.bu6} -k -w 1`,
      '-A -f 7 -s sh -p 60 -M 255.255.255.0',
      '-a -f 7 -r 203.0.113.10:80 -i -w 3 --tun-type ipip',
      '-A -f 8 -6 -s rr',
      '-a -f 8 -6 -r [2001:db8::20]:80 -m -w 1',
    ].map((l) => l + '\n').join('');
    const r = await lvsadm(sc.lvsd.socket, ['-S', '-n']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(expected);
  });

  test('-L -n -c: every connection and the persistence template', async () => {
    const p = sc.ports;
    const now = Date.now();
    // print_conn: printf("%-3s %-6s %-11s %-18s %-18s %s\n", proto, "%02d:%02d" expire, state,
    // client, virtual, destination). ipvsadm prints the kernel's hash order, so rows are compared
    // as a multiset. Expire counts down from the state's timeout since the entry's last use: it
    // must lie in [timeout - seconds since the traffic began - 1, timeout]; the exact text of the
    // rest of the row is compared.
    const rows: { timeout: number; fields: [string, string, string, string, string] }[] = [];
    for (const port of traffic.tcp4Clients) {
      // TIME_WAIT keeps its kernel timeout (2 min); which real server is read from the table below
      rows.push({ timeout: 120, fields: ['TCP', 'TIME_WAIT', `127.0.0.1:${port}`, `127.0.0.1:${p.tcp4}`, '?'] });
    }
    for (const port of traffic.tcp6Clients) rows.push({ timeout: 120, fields: ['TCP', 'TIME_WAIT', `[::1]:${port}`, `[::1]:${p.tcp6}`, `[::1]:${p.b6}`] });
    // the template: client port 0, state NONE, lives the persistence timeout after its last use
    rows.push({ timeout: 300, fields: ['TCP', 'NONE', '[::1]:0', `[::1]:${p.tcp6}`, `[::1]:${p.b6}`] });
    for (const port of traffic.udp4Clients) rows.push({ timeout: TIMEOUTS.udp, fields: ['UDP', 'UDP', `127.0.0.1:${port}`, `127.0.0.1:${p.udp4}`, `127.0.0.4:${p.udp4}`] });
    for (const port of traffic.udp6Clients) rows.push({ timeout: TIMEOUTS.udp, fields: ['UDP', 'UDP', `[::1]:${port}`, `[::1]:${p.udp6}`, `[::1]:${p.bu6}`] });

    const r = await lvsadm(sc.lvsd.socket, ['-L', '-n', '-c']);
    expect(r.stderr).toBe('');
    const header = 'IPVS connection entries\n' + printf('pro expire %-11s %-18s %-18s %s\n', 'state', 'source', 'virtual', 'destination');
    expect(r.stdout.startsWith(header)).toBe(true);
    const actual = r.stdout.slice(header.length).split('\n');
    expect(actual.pop()).toBe('');
    expect(actual).toHaveLength(rows.length);
    const elapsed = Math.ceil((now - traffic.startedAt) / 1000) + 1;
    // the real server of each IPv4 TCP connection: the table view says, and the counts must be 2/4
    const destByClient = new Map<number, string>();
    for (const c of view.connections) if (c.virtual.port === p.tcp4) destByClient.set(c.client.port, `${c.destination.address}:${c.destination.port}`);
    const dests = [...destByClient.values()];
    expect(dests.filter((d) => d === `127.0.0.2:${p.b2}`)).toHaveLength(TCP4_SPLIT.b2);
    expect(dests.filter((d) => d === `127.0.0.3:${p.b3}`)).toHaveLength(TCP4_SPLIT.b3);
    const expectedLines: string[] = [];
    const actualByKey = new Map(actual.map((l) => [l.slice(0, 3) + l.slice(11), l]));
    for (const row of rows) {
      const f = [...row.fields];
      if (f[4] === '?') f[4] = destByClient.get(Number(f[2].split(':').pop()))!;
      const rest = printf('%-11s %-18s %-18s %s', f[1], f[2], f[3], f[4]);
      const line = actualByKey.get(printf('%-3s', f[0]) + rest) ?? '';
      const m = /^.{4}(\d\d):(\d\d)/.exec(line);
      const secs = m ? Number(m[1]) * 60 + Number(m[2]) : -1;
      const expire = secs <= row.timeout && secs >= row.timeout - elapsed
        ? printf('%02d:%02d', Math.floor(secs / 60), secs % 60)
        : `expire outside [${row.timeout - elapsed}, ${row.timeout}] s`;
      expectedLines.push(printf('%-3s %-6s %s', f[0], expire, rest));
    }
    expect([...actual].sort()).toEqual([...expectedLines].sort());
  });

  test('-L -n on one service and an absent one', async () => {
    const n = names();
    const r = await lvsadm(sc.lvsd.socket, ['-L', '-n', '-t', `[::1]:${sc.ports.tcp6}`]);
    // a single service: no version line
    expect(r.stdout).toBe('Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n' +
      svcLine(n.tcp6, 'wlc', ' persistent 300') + destLine(n.b6, 'FullNat', 1, 0, TRAFFIC.tcp6Conns) + destLine(n.route, 'Route', 0, 0, 0));
    const absent = await lvsadm(sc.lvsd.socket, ['-L', '-n', '-t', '127.0.0.1:1']);
    expect(absent.stdout).toBe('');
    expect(absent.stderr).toBe('No such service\n');
    expect(absent.code).toBe(1);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
