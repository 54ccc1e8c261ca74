// Golden tests of the ipvsadm renderers. Each expected line is derived in the comment next to it
// from ipvsadm 1.31's printf formats (ipvsadm.c print_title / print_service_entry / print_conn).
import { describe, expect, test } from '@jest/globals';
import type { ListFormat } from '../../src/control/args.js';
import { renderConnections } from '../../src/control/render/connections.js';
import { largeNum, type NameResolver } from '../../src/control/render/format.js';
import { renderJson } from '../../src/control/render/json.js';
import { renderOneService, renderTable, renderTimeout } from '../../src/control/render/list.js';
import { renderSave } from '../../src/control/render/save.js';
import type { DestView, ServiceView, TableView } from '../../src/control/view.js';
import { ZERO_RATES, ZERO_STATS } from '../../src/control/view.js';

const F = (over: Partial<ListFormat> = {}): ListFormat => ({
  numeric: true, exact: false, stats: false, rate: false, thresholds: false, persistentConn: false,
  tunInfo: false, nosort: false, json: false, ...over,
});

function dest(address: string, port: number, forward: DestView['forward'], weight: number, over: Partial<DestView> = {}): DestView {
  return {
    family: address.includes(':') ? 6 : 4, address, port, forward, weight, activeConns: 0, inactiveConns: 0,
    persistConns: 0, upperThreshold: 0, lowerThreshold: 0, tunnel: forward === 'Tunnel' ? { type: 'ipip', port: 0, csum: 'none' } : null,
    stats: { ...ZERO_STATS }, rates: { ...ZERO_RATES }, ...over,
  };
}

// Services given in a scrambled order: the renderers sort as ipvsadm does.
const fwm: ServiceView = {
  key: { kind: 'fwmark', fwmark: 7, family: 4 }, family: 4, scheduler: 'sh', schedFlags: ['sh-port'],
  persistence: null, pe: null, ops: false, stats: { ...ZERO_STATS }, rates: { ...ZERO_RATES },
  dests: [dest('10.0.0.21', 0, 'Tunnel', 5)],
};
const udp6: ServiceView = {
  key: { kind: 'addr', protocol: 'UDP', address: '2001:db8::53', port: 53 }, family: 6, scheduler: 'wlc', schedFlags: [],
  persistence: null, pe: null, ops: false, stats: { ...ZERO_STATS }, rates: { ...ZERO_RATES },
  dests: [dest('2001:db8::100', 53, 'Route', 1, { inactiveConns: 4 })],
};
const tcp: ServiceView = {
  key: { kind: 'addr', protocol: 'TCP', address: '192.0.2.10', port: 80 }, family: 4, scheduler: 'rr', schedFlags: [],
  persistence: { timeout: 360, netmask: 24 }, pe: null, ops: false,
  stats: { conns: 1520, inpkts: 98765432, outpkts: 123456789, inbytes: 7340032000, outbytes: 250000000000 },
  rates: { cps: 12, inpps: 3400, outpps: 3300, inbps: 123456789, outbps: 99 },
  // kernel list order: newest first; the listing sorts by address then port
  dests: [
    dest('10.0.0.12', 8080, 'Masq', 2, { upperThreshold: 100, lowerThreshold: 50 }),
    dest('10.0.0.11', 80, 'Masq', 1, {
      activeConns: 3, inactiveConns: 12, persistConns: 4,
      stats: { conns: 800, inpkts: 50000, outpkts: 48000, inbytes: 3200000, outbytes: 61000000 },
      rates: { cps: 5, inpps: 123456789, outpps: 7, inbps: 1000, outbps: 2000 },
    }),
  ],
};
const fwm6: ServiceView = {
  key: { kind: 'fwmark', fwmark: 9, family: 6 }, family: 6, scheduler: 'wrr', schedFlags: [],
  persistence: { timeout: 120, netmask: 64 }, pe: null, ops: false, stats: { ...ZERO_STATS }, rates: { ...ZERO_RATES },
  dests: [dest('2001:db8::7', 0, 'Local', 1), dest('2001:db8::8', 0, 'FullNat', 3)],
};
const udpOps: ServiceView = {
  key: { kind: 'addr', protocol: 'UDP', address: '192.0.2.10', port: 53 }, family: 4, scheduler: 'mh', schedFlags: ['mh-fallback', 'mh-port'],
  persistence: { timeout: 300, netmask: 32 }, pe: 'sip', ops: true, stats: { ...ZERO_STATS }, rates: { ...ZERO_RATES },
  dests: [],
};

const view: TableView = {
  version: '1.2.1', connTableSize: 4096, services: [fwm6, fwm, udp6, udpOps, tcp],
  timeouts: { tcp: 900, tcpfin: 120, udp: 300 },
  connections: [
    { protocol: 'TCP', family: 4, expireSeconds: 897, state: 'ESTABLISHED', client: { address: '198.51.100.7', port: 52114 },
      virtual: { address: '192.0.2.10', port: 80 }, destination: { address: '10.0.0.11', port: 80 }, template: false, peName: null, peData: null },
    { protocol: 'UDP', family: 6, expireSeconds: 6000, state: 'UDP', client: { address: '2001:db8::9', port: 4000 },
      virtual: { address: '2001:db8::53', port: 53 }, destination: { address: '2001:db8::100', port: 53 }, template: false, peName: null, peData: null },
    { protocol: 'IP', family: 4, expireSeconds: 65, state: 'NONE', client: { address: '198.51.100.7', port: 0 },
      virtual: { address: '0.0.0.7', port: 0 }, destination: { address: '10.0.0.21', port: 0 }, template: true, peName: 'sip', peData: 'abc' },
  ],
};

describe('-L -n (default format)', () => {
  test('whole table, sorted, byte for byte', () => {
    expect(renderTable(view, F(), null)).toBe([
      'IP Virtual Server version 1.2.1 (size=4096)', // "IP Virtual Server version %d.%d.%d (size=%d)"
      'Prot LocalAddress:Port Scheduler Flags', // fixed title
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      // "%-4s %s" -> "TCP " + " " + addr; then "%s %s" + " persistent %u" + " mask %s" (mask != /32)
      'TCP  192.0.2.10:80 rr persistent 360 mask 255.255.255.0',
      // "  -> %-28s %-7s %-6d %-10u %-10u": 28-wide address, 7 Forward, 6 weight, 10 + 10
      '  -> 10.0.0.11:80                 Masq    1      3          12        ',
      '  -> 10.0.0.12:8080               Masq    2      0          0         ',
      // UDP 17 after TCP 6 for equal family; flags " (mh-fallback,mh-port)", pe only when persistent, " ops" last
      'UDP  192.0.2.10:53 mh (mh-fallback,mh-port) persistent 300 pe sip ops',
      // IPv6 after IPv4 (AF_INET6 > AF_INET); IPv6 in brackets
      'UDP  [2001:db8::53]:53 wlc',
      '  -> [2001:db8::100]:53           Route   1      0          4         ',
      // fwmark services last ("FWM  %d"), sh flag bits named sh-port
      'FWM  7 sh (sh-port)',
      '  -> 10.0.0.21:0                  Tunnel  5      0          0         ',
      // "FWM  %d IPv6"; IPv6 mask printed as "%i" prefix length when != 128
      'FWM  9 IPv6 wrr persistent 120 mask 64',
      '  -> [2001:db8::7]:0              Local   1      0          0         ',
      '  -> [2001:db8::8]:0              FullNat 3      0          0         ',
      '',
    ].join('\n'));
  });

  test('--nosort keeps the table order', () => {
    const text = renderTable(view, F({ nosort: true }), null);
    expect(text.split('\n')[3]).toBe('FWM  9 IPv6 wrr persistent 120 mask 64');
  });

  test('one service: no version line; absent service -> "No such service", exit 1', () => {
    const r = renderOneService(view, { kind: 'addr', protocol: 'UDP', address: '2001:db8::53', port: 53 }, F(), null);
    expect(r).toEqual({ ok: true, text: 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nUDP  [2001:db8::53]:53 wlc\n  -> [2001:db8::100]:53           Route   1      0          4         \n' });
    expect(renderOneService(view, { kind: 'addr', protocol: 'TCP', address: '192.0.2.99', port: 80 }, F(), null))
      .toEqual({ ok: false, exitCode: 1, stderr: 'No such service\n' });
  });
});

describe('--stats / --rate / --exact', () => {
  const only = (v: TableView, s: ServiceView): TableView => ({ ...v, services: [s] });
  test('--stats scales numbers (print_largenum)', () => {
    expect(renderTable(only(view, tcp), F({ stats: true }), null)).toBe([
      'IP Virtual Server version 1.2.1 (size=4096)',
      // "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port"
      'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes',
      '  -> RemoteAddress:Port',
      // "%-33s" name, then 5 x 9-char fields: 1520, 98765432 (<1e8 plain), 123456789 -> "%8lluK" of 123456,
      // 7340032000 -> "%8lluM" of 7340, 250000000000 -> "%8lluG" of 250
      'TCP  192.0.2.10:80                    1520 98765432  123456K    7340M     250G',
      // "  -> %-28s" + five fields
      '  -> 10.0.0.11:80                      800    50000    48000  3200000 61000000',
      '  -> 10.0.0.12:8080                      0        0        0        0        0',
      '',
    ].join('\n'));
  });
  test('--stats --exact: width 9, or digits+1 past 8 digits', () => {
    const line = renderTable(only(view, tcp), F({ stats: true, exact: true }), null).split('\n')[3];
    expect(line).toBe('TCP  192.0.2.10:80                    1520 98765432 123456789 7340032000 250000000000');
  });
  test('--rate: server CPS/InPPS/OutPPS are plain " %8llu"', () => {
    expect(renderTable(only(view, tcp), F({ rate: true }), null).split('\n').slice(1)).toEqual([
      'Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS',
      '  -> RemoteAddress:Port',
      'TCP  192.0.2.10:80                      12     3400     3300  123456K       99',
      // 123456789 in InPPS is not scaled on a server line: " %8llu" widens to " 123456789"
      '  -> 10.0.0.11:80                        5 123456789        7     1000     2000',
      '  -> 10.0.0.12:8080                      0        0        0        0        0',
      '',
    ]);
  });
  test('largeNum boundaries', () => {
    expect(largeNum(99999999, false)).toBe(' 99999999');
    expect(largeNum(100000000, false)).toBe('  100000K');
    expect(largeNum(999999999, false)).toBe('  999999K');
    expect(largeNum(1000000000, false)).toBe('    1000M');
    expect(largeNum(99999999999999, false)).toBe('   99999G');
    expect(largeNum(100000000000000, false)).toBe('     100T');
  });
});

describe('--thresholds / --persistent-conn / --tun-info', () => {
  const one = { ...view, services: [tcp] };
  test('--thresholds', () => {
    expect(renderTable(one, F({ thresholds: true }), null).split('\n').slice(1)).toEqual([
      // "%-33s %-10s %-10s %-10s %-10s": trailing space after InActConn (10 wide)
      'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn ',
      '  -> RemoteAddress:Port',
      'TCP  192.0.2.10:80 rr persistent 360 mask 255.255.255.0',
      // "  -> %-28s %-10u %-10u %-10u %-10u"
      '  -> 10.0.0.11:80                 0          0          3          12        ',
      '  -> 10.0.0.12:8080               100        50         0          0         ',
      '',
    ]);
  });
  test('--persistent-conn', () => {
    expect(renderTable(one, F({ persistentConn: true }), null).split('\n').slice(1, 5)).toEqual([
      // "%-33s %-9s %-11s %-10s %-10s"
      'Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn ',
      '  -> RemoteAddress:Port',
      'TCP  192.0.2.10:80 rr persistent 360 mask 255.255.255.0',
      // "  -> %-28s %-9u %-11u %-10u %-10u"
      '  -> 10.0.0.11:80                 1         4           3          12        ',
    ]);
  });
  test('--tun-info', () => {
    const tun: ServiceView = { ...fwm, dests: [
      dest('10.0.0.21', 0, 'Tunnel', 5),
      dest('10.0.0.22', 0, 'Tunnel', 1, { tunnel: { type: 'gue', port: 6080, csum: 'remcsum' } }),
      dest('10.0.0.23', 0, 'Tunnel', 1, { tunnel: { type: 'gre', port: 0, csum: 'csum' } }),
      dest('10.0.0.24', 0, 'Route', 1),
    ] };
    expect(renderTable({ ...view, services: [tun] }, F({ tunInfo: true }), null).split('\n').slice(1)).toEqual([
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn',
      'FWM  7 sh (sh-port)',
      // "  -> %-28s %-7s %-13s %-6d %-10u %-10u"; gue:"%s:%d:%s", gre:"%s:%s", csum -c/+c/r+c
      '  -> 10.0.0.21:0                  Tunnel  ipip          5      0          0         ',
      '  -> 10.0.0.22:0                  Tunnel  gue:6080:r+c  1      0          0         ',
      '  -> 10.0.0.23:0                  Tunnel  gre:+c        1      0          0         ',
      '  -> 10.0.0.24:0                  Route   n/a           1      0          0         ',
      '',
    ]);
  });
});

describe('-S (save)', () => {
  test('rules in listing order; thresholds not saved; Local saved as -g', () => {
    expect(renderSave(view, F(), null)).toBe([
      // "-A %s -s %s" + " -p %u" + " -M %s" (IPv4 mask != /32)
      '-A -t 192.0.2.10:80 -s rr -p 360 -M 255.255.255.0',
      // "-a %s -r %s %s -w %d"
      '-a -t 192.0.2.10:80 -r 10.0.0.11:80 -m -w 1',
      '-a -t 192.0.2.10:80 -r 10.0.0.12:8080 -m -w 2',
      // " --pe %s" (whether or not persistent), " -o", " -b " + flags
      '-A -u 192.0.2.10:53 -s mh -p 300 --pe sip -o -b mh-fallback,mh-port',
      '-A -u [2001:db8::53]:53 -s wlc',
      '-a -u [2001:db8::53]:53 -r [2001:db8::100]:53 -g -w 1',
      '-A -f 7 -s sh -b sh-port',
      // tunnel rule: "-a %s -r %s %s -w %d --tun-type %s"
      '-a -f 7 -r 10.0.0.21:0 -i -w 5 --tun-type ipip',
      // "-f %d -6"; IPv6 mask "-M %i"
      '-A -f 9 -6 -s wrr -p 120 -M 64',
      '-a -f 9 -6 -r [2001:db8::7]:0 -g -w 1',
      '-a -f 9 -6 -r [2001:db8::8]:0 -k -w 3',
      '',
    ].join('\n'));
  });
});

describe('-c (connections)', () => {
  test('header and rows', () => {
    expect(renderConnections(view, F(), null)).toBe([
      'IPVS connection entries',
      // "pro expire %-11s %-18s %-18s %s"
      'pro expire state       source             virtual            destination',
      // "%-3s %-6s %-11s %-18s %-18s %s"; expire "%02d:%02d" of 897 s = 14:57
      'TCP 14:57  ESTABLISHED 198.51.100.7:52114 192.0.2.10:80      10.0.0.11:80',
      // minutes not capped: 6000 s -> 100:00; IPv6 in brackets, longer than 18: no cut
      'UDP 100:00 UDP         [2001:db8::9]:4000 [2001:db8::53]:53  [2001:db8::100]:53',
      'IP  01:05  NONE        198.51.100.7:0     0.0.0.7:0          10.0.0.21:0',
      '',
    ].join('\n'));
  });
  test('--persistent-conn adds pe columns where the entry has pe data', () => {
    const lines = renderConnections(view, F({ persistentConn: true }), null).split('\n');
    // "pro expire %-11s %-18s %-18s %-18s %-16s %s"
    expect(lines[1]).toBe('pro expire state       source             virtual            destination        pe name          pe_data');
    // row "%-3s %-6s %-11s %-18s %-18s %-16s %-18s %s" (dname 16, pe name 18: ipvsadm's own mismatch)
    expect(lines[4]).toBe('IP  01:05  NONE        198.51.100.7:0     0.0.0.7:0          10.0.0.21:0      sip                abc');
  });
});

describe('names, timeouts, json', () => {
  const names: NameResolver = {
    hostName: (_f, a) => ({ '192.0.2.10': 'www.example.org', '10.0.0.11': 'a-very-long-real-server-name.example.org', '2001:db8::53': 'ns.example' } as Record<string, string>)[a] ?? null,
    serviceName: (p, proto) => (p === 80 && proto === 'TCP' ? 'http' : p === 53 ? 'domain' : null),
  };
  test('names resolve; IPv4 service name cut to 33, server to 28 (here the 28 characters of the host name); IPv6 keeps brackets', () => {
    const lines = renderTable(view, F({ numeric: false }), names).split('\n');
    expect(lines[3]).toBe('TCP  www.example.org:http rr persistent 360 mask 255.255.255.0');
    expect(lines[4]).toBe('  -> a-very-long-real-server-name Masq    1      3          12        ');
    expect(lines[5]).toBe('  -> 10.0.0.12:8080               Masq    2      0          0         ');
    expect(lines[7]).toBe('UDP  [ns.example]:domain wlc');
  });
  test('--timeout', () => {
    expect(renderTimeout(view)).toBe('Timeout (tcp tcpfin udp): 900 120 300\n');
  });
  test('--json is the sorted TableView under a version', () => {
    const j = JSON.parse(renderJson(view, F())) as { lvsadm_json: number; table: TableView };
    expect(j.lvsadm_json).toBe(1);
    expect(j.table.services.map((s) => s.scheduler)).toEqual(['rr', 'mh', 'wlc', 'sh', 'wrr']);
    expect(j.table.services[0]!.dests.map((d) => d.port)).toEqual([80, 8080]);
  });
});
