import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseDrFlows } from '../../src/forward/nft/dr-flows.js';
import { renderRuleset } from '../../src/forward/nft/ruleset.js';

const elem = (src: string, sport: number, dst: string, dport: number, expires: number, packets = 0, bytes = 0) => ({
  elem: { val: { concat: [src, sport, dst, dport] }, timeout: 900, expires, counter: { packets, bytes } },
});
const set = (name: string, elems: unknown[]) => ({ set: { family: 'inet', name, table: 'lvsd', elem: elems } });
const doc = (...items: unknown[]) => JSON.stringify({ nftables: [{ metainfo: { version: '1.0.6' } }, ...items] });

describe('DR flow sets -> conntrack-like entries', () => {
  const protoOf = (m: number) => (m === 0x4c000001 ? 'tcp' : m === 0x4c000002 ? 'udp' : undefined);

  it('derives IPVS input-only states from the flow, established and closing sets', () => {
    const json = doc(
      set('drf_4c000001', [
        elem('192.0.2.2', 1000, '203.0.113.10', 80, 899, 12, 900),
        elem('192.0.2.2', 1001, '203.0.113.10', 80, 55),
        elem('192.0.2.2', 1002, '203.0.113.10', 80, 110),
        elem('192.0.2.2', 1003, '203.0.113.10', 80, 8),
        elem('192.0.2.2', 1004, '203.0.113.10', 80, 100),
      ]),
      set('dre_4c000001', [elem('192.0.2.2', 1000, '203.0.113.10', 80, 899), elem('192.0.2.2', 1002, '203.0.113.10', 80, 800), elem('192.0.2.2', 1003, '203.0.113.10', 80, 800)]),
      set('drc_4c000001', [elem('192.0.2.2', 1002, '203.0.113.10', 80, 110), elem('192.0.2.2', 1003, '203.0.113.10', 80, 8), elem('192.0.2.2', 1004, '203.0.113.10', 80, 100)]),
      set('drf_4c000002', [elem('2001:db8:1::2', 5, '2001:db8:3::10', 53, 290, 1, 100)]),
      set('drf_4c000009', [elem('192.0.2.9', 5, '203.0.113.10', 80, 290)]),
    );
    const out = parseDrFlows(json, protoOf);
    expect(out.map((e) => [e.orig.sport, e.state, e.timeoutS])).toEqual([
      [1000, 'ESTABLISHED', 899], [1001, 'SYN_RECV', 55], [1002, 'FIN_WAIT', 110], [1003, 'CLOSE', 8], [1004, 'TIME_WAIT', 100], [5, 'UDP', 290],
    ]);
    expect(out[0]).toMatchObject({ family: 4, proto: 'tcp', mark: 0x4c000001, orig: { src: '192.0.2.2', dst: '203.0.113.10', packets: 12, bytes: 900 }, reply: { packets: 0, bytes: 0 } });
    expect(out[5]).toMatchObject({ family: 6, proto: 'udp', mark: 0x4c000002 });
  });

  it('ignores other sets, bad JSON and malformed elements; never throws (fuzz)', () => {
    expect(parseDrFlows('not json', () => 'tcp')).toEqual([]);
    expect(parseDrFlows(doc(set('marks', [elem('1.2.3.4', 1, '1.2.3.4', 2, 3)])), () => 'tcp')).toEqual([]);
    expect(parseDrFlows(doc(set('drf_4c000001', [{ elem: { val: { concat: ['1.2.3.4', 70000, '1.2.3.4', 2] } } }, 7, null])), () => 'tcp')).toEqual([]);
    fc.assert(fc.property(fc.json(), (j) => { parseDrFlows(j, () => 'tcp'); }), { numRuns: 1000 });
    fc.assert(fc.property(fc.array(fc.anything(), { maxLength: 6 }), (elems) => {
      for (const e of parseDrFlows(doc(set('drf_4c000001', elems)), () => 'tcp')) expect(e.orig.sport).toBeLessThanOrEqual(65535);
    }), { numRuns: 1000 });
  });
});

describe('ruleset: DR VIP services', () => {
  const text = renderRuleset({
    vipServices: [{ family: 4, vip: '203.0.113.10', proto: 'tcp', vport: 80, dr: true }, { family: 4, vip: '203.0.113.10', proto: 'tcp', vport: 8000 }],
    fwmarks: [],
    dests: [{ mark: 0x4c000001, identity: 'a', family: 4, method: 'dr', addr: '198.51.100.11', port: 80, flowSet: true }],
    staleFlowSets: [{ mark: 0x4c000005, family: 6 }],
  });
  it('skips conntrack for DR VIPs and keeps their flows in per-dest sets that a re-apply never flushes', () => {
    expect(text).toContain('add element inet lvsd drsvc4 { 203.0.113.10 . tcp . 80 }');
    expect(text).toContain('add element inet lvsd svc4 { 203.0.113.10 . tcp . 8000 }');
    expect(text).toMatch(/add rule inet lvsd dr_raw ip daddr \. meta l4proto \. th dport @drsvc4 notrack/);
    expect(text).toContain('add set inet lvsd drf_4c000001 { type ipv4_addr . inet_service . ipv4_addr . inet_service; flags dynamic,timeout;');
    expect(text).not.toMatch(/flush set inet lvsd dr[fec]_/);
    expect(text).toContain('add element inet lvsd drtrack { 0x4c000001 : jump drt_4c000001 }');
    expect(text).toMatch(/drt_4c000001 update @drf_4c000001 \{ ip saddr \. th sport \. ip daddr \. th dport timeout 900s counter \} update @dri_4c000001 \{ [^}]+ timeout 900s \} update @dre_4c000001/);
  });
  it('deletes a gone dest\'s chain and sets after everything that referred to them was refilled', () => {
    const del = text.indexOf('delete chain inet lvsd drt_4c000005');
    expect(del).toBeGreaterThan(text.lastIndexOf('add rule'));
    expect(text.slice(del)).toContain('delete set inet lvsd drf_4c000005');
  });
});

describe('ruleset: fwmark DR services and ICMP errors', () => {
  const dr = (mark: number, family: 4 | 6, fwmark: boolean) => ({ mark, identity: `i${mark}`, family, method: 'dr' as const, addr: family === 4 ? '198.51.100.11' : '2001:db8:2::11', port: 0, flowSet: true, fwmark });
  const text = renderRuleset({
    vipServices: [{ family: 4, vip: '203.0.113.10', proto: 'tcp', vport: 80, dr: true }],
    fwmarks: [9],
    drFwmarks: [{ family: 4, fwmark: 7 }, { family: 6, fwmark: 8 }],
    dests: [dr(0x4c000001, 4, false), dr(0x4c000002, 4, true), dr(0x4c000003, 6, true)],
  });
  const rules = (chain: string) => text.split('\n').filter((l) => l.startsWith(`add rule inet lvsd ${chain} `));

  it('keeps fwmark DR marks apart from the conntrack-carried ones, per family', () => {
    expect(text).toContain('add element inet lvsd fwm { 0x00000009 }');
    expect(text).toContain('add element inet lvsd fwmdr4 { 0x00000007 }');
    expect(text).toContain('add element inet lvsd fwmdr6 { 0x00000008 }');
    expect(text).not.toMatch(/fwm \{[^}]*0x00000007/);
  });

  it('refreshes each flow\'s ICMP key (and fwmark notrack key) with the timeout of its flow element, in every rule that refreshes it', () => {
    for (const [mark, fwmark] of [['4c000001', false], ['4c000002', true], ['4c000003', true]] as const) {
      const chain = rules(`drt_${mark}`).filter((l) => l.includes(`update @drf_${mark} `));
      expect(chain.length).toBeGreaterThanOrEqual(5);
      for (const l of chain) {
        const t = /update @drf_\w+ \{[^}]* timeout (\d+)s counter \}/.exec(l)![1];
        expect(l).toMatch(new RegExp(`update @dri_${mark} \\{ @nh,[^}]* timeout ${t}s \\}`));
        expect(l.includes(`update @fwf${mark === '4c000003' ? 6 : 4} {`)).toBe(fwmark);
      }
    }
  });

  it('never lets the tracked first packet of a fwmark DR flow look like a conntrack-carried one', () => {
    const nat = rules('nat_pre');
    expect(nat[0]).toContain('meta mark @drmarks accept');
    expect(nat.findIndex((l) => l.includes('ct mark set meta mark'))).toBeGreaterThan(0);
    expect(text).toMatch(/add ct timeout inet lvsd drct4tcp \{ protocol tcp; l3proto ip; policy = \{ syn_sent: 1 \}; \}/);
  });

  it('looks ICMP errors up by the quoted packet in each dest of the family, before any other pre rule', () => {
    const pre = rules('pre');
    expect(pre[0]).toContain('icmp type { destination-unreachable, source-quench, time-exceeded } jump dr_icmp4');
    expect(pre[1]).toContain('icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } jump dr_icmp6');
    const icmp4 = rules('dr_icmp4');
    expect(icmp4.map((l) => /@(dri_\w+)/.exec(l)?.[1])).toEqual(['dri_4c000001', 'dri_4c000002', undefined]);
    expect(icmp4[2]).toMatch(/ip daddr @vip4 ct state != related counter name icmpunknown drop/);
    expect(rules('dr_icmp6').map((l) => /@(dri_\w+)/.exec(l)?.[1])).toEqual(['dri_4c000003', undefined]);
  });

  it('renders no DR hooks and no ICMP lookup without DR services', () => {
    const plain = renderRuleset({ vipServices: [{ family: 4, vip: '203.0.113.10', proto: 'tcp', vport: 80 }], fwmarks: [], dests: [] });
    expect(plain).toContain('delete chain inet lvsd dr_raw');
    expect(plain).not.toMatch(/jump dr_icmp/);
    expect(plain).not.toMatch(/ct timeout/);
  });
});

describe('DR flow sets: UDP flows of a fwmark service', () => {
  it('are UDP when their tuple is in dru_, TCP states otherwise', () => {
    const json = doc(
      set('drf_4c000002', [elem('192.0.2.2', 1000, '203.0.113.10', 5353, 290), elem('192.0.2.2', 1001, '203.0.113.10', 80, 50)]),
      set('dru_4c000002', [elem('192.0.2.2', 1000, '203.0.113.10', 5353, 290)]),
    );
    expect(parseDrFlows(json, () => 'tcp').map((e) => [e.proto, e.state])).toEqual([['udp', 'UDP'], ['tcp', 'SYN_RECV']]);
  });
});
