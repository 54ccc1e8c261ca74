import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DR_LOCAL_PRIORITY, egressOf, renderDrLocal, renderDrLocalDelete } from '../../src/forward/nft/dr-local.js';
import { renderRuleset } from '../../src/forward/nft/ruleset.js';

const lines = (s: string): string[] => s.trim().split('\n');
const ok = (stdout: unknown) => ({ code: 0, stdout: JSON.stringify(stdout) });

describe('DR to a local VIP: ruleset (dr-local.ts)', () => {
  it('without targets deletes both tables and adds no hook', () => {
    const text = renderDrLocalDelete();
    expect(lines(text)).toEqual(['add table ip lvsd', 'delete table ip lvsd', 'add table ip6 lvsd', 'delete table ip6 lvsd']);
    expect(text).not.toMatch(/hook/);
  });

  it('one table per family with the targets of that family, rebuilt from scratch', () => {
    const text = renderDrLocal([
      { mark: 0x4c000001, family: 4, nexthop: '198.51.100.11', device: 'eth1' },
      { mark: 0x4c000002, family: 4, nexthop: '198.51.100.12', device: 'eth1' },
      { mark: 0x4c000003, family: 6, nexthop: '2001:db8:2::11', device: 'eth2' },
    ]);
    const l = lines(text);
    // Deleted before it is re-added, for each family.
    expect(l.indexOf('delete table ip lvsd')).toBeLessThan(l.lastIndexOf('add table ip lvsd'));
    expect(l.indexOf('delete table ip6 lvsd')).toBeLessThan(l.lastIndexOf('add table ip6 lvsd'));
    expect(l).toContain(`add chain ip lvsd dr_local { type filter hook prerouting priority ${DR_LOCAL_PRIORITY}; policy accept; }`);
    expect(l).toContain('add rule ip lvsd dr_local fib daddr type != local accept');
    expect(l).toContain('add element ip lvsd dests { 0x4c000001 : goto dup_4c000001, 0x4c000002 : goto dup_4c000002 }');
    expect(l).toContain('add rule ip lvsd dup_4c000002 counter name drlocal dup to 198.51.100.12 device "eth1" drop');
    expect(l).toContain('add element ip6 lvsd dests { 0x4c000003 : goto dup_4c000003 }');
    expect(l).toContain('add rule ip6 lvsd dup_4c000003 counter name drlocal dup to 2001:db8:2::11 device "eth2" drop');
    // Each family's table holds its own dests only.
    expect(l.filter((x) => x.startsWith('add rule ip6 ') && x.includes('198.51.100'))).toEqual([]);
    expect(l.filter((x) => x.startsWith('add rule ip ') && x.includes('2001:db8'))).toEqual([]);
  });

  it('a dest without a usable route (or a device name nft could misread) is dropped and counted, never dup\'d', () => {
    const l = lines(renderDrLocal([
      { mark: 0x4c000001, family: 4, nexthop: '198.51.100.11', device: null },
      { mark: 0x4c000002, family: 4, nexthop: '198.51.100.12', device: 'eth1" drop; add rule' },
    ]));
    expect(l).toContain('add rule ip lvsd dup_4c000001 counter name drlocalnoroute drop');
    expect(l).toContain('add rule ip lvsd dup_4c000002 counter name drlocalnoroute drop');
    expect(l.filter((x) => x.includes(' dup to '))).toEqual([]);
  });

  it('runs after the inet table has marked the packet (pre, dr_track) and before routing', () => {
    const inet = renderRuleset({ vipServices: [{ family: 4, vip: '203.0.113.10', proto: 'tcp', vport: 80, dr: true }], fwmarks: [], dests: [] });
    const prio = (chain: string): number => Number(new RegExp(`add chain inet lvsd ${chain} \\{ type filter hook prerouting priority (-?\\d+);`).exec(inet)![1]);
    expect(DR_LOCAL_PRIORITY).toBeGreaterThan(prio('pre'));
    expect(DR_LOCAL_PRIORITY).toBeGreaterThan(prio('dr_track'));
    // NF_IP_PRI_NAT_DST (-100): before DNAT of NAT services, so well before the routing decision.
    expect(DR_LOCAL_PRIORITY).toBeLessThan(-100);
  });
});

describe('DR to a local VIP: egress from `ip -j route get`', () => {
  it('on-link real server: itself on its device', () => {
    expect(egressOf('198.51.100.11', ok([{ dst: '198.51.100.11', dev: 'eth0', prefsrc: '198.51.100.1', flags: [] }]))).toEqual({ nexthop: '198.51.100.11', device: 'eth0' });
  });
  it('behind a gateway: the gateway, as the policy route would use', () => {
    expect(egressOf('10.1.1.1', ok([{ dst: '10.1.1.1', gateway: '198.51.100.254', dev: 'eth0' }]))).toEqual({ nexthop: '198.51.100.254', device: 'eth0' });
  });
  it('a local address, a failed lookup or garbage: no device', () => {
    expect(egressOf('198.51.100.1', ok([{ type: 'local', dst: '198.51.100.1', dev: 'lo' }])).device).toBeNull();
    expect(egressOf('198.51.100.11', { code: 2, stdout: '' }).device).toBeNull();
    expect(egressOf('198.51.100.11', { code: 0, stdout: '{"oops"' }).device).toBeNull();
    expect(egressOf('198.51.100.11', ok({ dev: 'eth0' })).device).toBeNull();
  });
  it('never throws on arbitrary output (fuzz)', () => {
    fc.assert(fc.property(fc.string(), fc.json(), (s, j) => {
      egressOf('198.51.100.11', { code: 0, stdout: s });
      egressOf('198.51.100.11', { code: 0, stdout: j });
      egressOf('198.51.100.11', { code: 0, stdout: `[${j}]` });
    }), { numRuns: 1000 });
  });
});
