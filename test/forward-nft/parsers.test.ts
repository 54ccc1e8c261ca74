import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseConntrackLine, parseQueueProc } from '../../src/forward/nft/conntrack-line.js';
import { decodeRecord, encodeVerdict, PACKET_RECORD_SIZE } from '../../src/forward/nft/queue-record.js';
import { MarkAllocator, isLvsdMark } from '../../src/forward/nft/marks.js';
import { renderRuleset } from '../../src/forward/nft/ruleset.js';

describe('conntrack line parser', () => {
  it('reads an event line with both tuples, counters, mark and state', () => {
    const e = parseConntrackLine('[UPDATE] ipv4     2 tcp      6 120 TIME_WAIT src=192.0.2.2 dst=203.0.113.10 sport=40000 dport=80 packets=5 bytes=300 src=198.51.100.11 dst=192.0.2.2 sport=8080 dport=40000 packets=4 bytes=900 [ASSURED] mark=1275068417 id=7');
    expect(e).toMatchObject({ event: 'update', family: 4, proto: 'tcp', timeoutS: 120, state: 'TIME_WAIT', mark: 0x4c000001, id: 7 });
    expect(e?.orig).toEqual({ src: '192.0.2.2', dst: '203.0.113.10', sport: 40000, dport: 80, packets: 5, bytes: 300 });
    expect(e?.reply).toEqual({ src: '198.51.100.11', dst: '192.0.2.2', sport: 8080, dport: 40000, packets: 4, bytes: 900 });
  });
  it('derives UDP states from flags and reads DESTROY lines without timeout', () => {
    expect(parseConntrackLine('[DESTROY] ipv6 10 udp 17 src=2001:db8:1::2 dst=2001:db8:3::10 sport=5 dport=53 [UNREPLIED] src=2001:db8:2::11 dst=2001:db8:1::2 sport=5353 dport=5 mark=0')?.state).toBe('UNREPLIED');
  });
  it('never throws on arbitrary input (fuzz)', () => {
    fc.assert(fc.property(fc.string(), (s) => { parseConntrackLine(s); parseQueueProc(s); }), { numRuns: 2000 });
    const tok = fc.constantFrom('[NEW]', 'ipv4', '2', 'tcp', '6', '120', 'ESTABLISHED', 'src=1.2.3.4', 'dst=x', 'sport=-1', 'dport=99999999999999999999', 'mark=4294967296', 'packets=', '[ASSURED]', '=');
    fc.assert(fc.property(fc.array(tok, { maxLength: 30 }), (t) => { const e = parseConntrackLine(t.join(' ')); if (e) expect(e.mark).toBeLessThanOrEqual(0xffffffff); }), { numRuns: 2000 });
  });
  it('reads nfnetlink_queue counters', () => {
    expect(parseQueueProc('   11  12345     0 2 128  17  3 99 1\n').get(11)).toEqual({ queueTotal: 0, queueDropped: 17, userDropped: 3 });
  });
});

describe('queue records', () => {
  it('decodes an IPv6 packet record and encodes a verdict', () => {
    const b = Buffer.alloc(PACKET_RECORD_SIZE);
    b.writeUInt32LE(1, 0); b.writeUInt32LE(42, 4); b[8] = 6; b[9] = 6; b[10] = 1; b.writeUInt32LE(7, 12);
    b.writeUInt16LE(40000, 16); b.writeUInt16LE(80, 18);
    Buffer.from('20010db8000100000000000000000002', 'hex').copy(b, 20);
    Buffer.from('20010db8000300000000000000000010', 'hex').copy(b, 36);
    expect(decodeRecord(b)).toEqual({ kind: 'packet', id: 42, family: 6, l4proto: 6, flags: 1, mark: 7, sport: 40000, dport: 80, saddr: '2001:db8:1::2', daddr: '2001:db8:3::10' });
    expect([...encodeVerdict(42, true, 0x4c000001)]).toEqual([42, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0x4c]);
  });
});

describe('marks', () => {
  it('keeps marks stable, adopts old ones, and stays in lvsd range', () => {
    const m = new MarkAllocator();
    m.adopt([[0x4c000005, 'svc|a|1'], [0x12, 'bad']]);
    expect(m.markFor('svc|a|1')).toBe(0x4c000005);
    const b = m.markFor('svc|b|1');
    expect(isLvsdMark(b)).toBe(true);
    expect(m.markFor('svc|b|1')).toBe(b);
    m.retain(new Set(['svc|b|1']));
    expect(m.identityOf(0x4c000005)).toBeUndefined();
    expect(m.identityOf(b)).toBe('svc|b|1');
  });
});

describe('ruleset', () => {
  it('never flushes the helper-owned nfqueue chain and maps each method to its set', () => {
    const text = renderRuleset({
      vipServices: [{ family: 4, vip: '203.0.113.10', proto: 'tcp', vport: 80 }],
      fwmarks: [7],
      dests: [
        { mark: 0x4c000001, identity: 'a', family: 4, method: 'nat', addr: '198.51.100.11', port: 8080 },
        { mark: 0x4c000002, identity: 'b', family: 4, method: 'dr', addr: '198.51.100.12', port: 0 },
        { mark: 0x4c000003, identity: 'c', family: 4, method: 'fullnat', addr: '198.51.100.13', port: 80, snatAddr: '198.51.100.1' },
      ],
    });
    expect(text).not.toMatch(/flush chain inet lvsd nfqueue/);
    expect(text).toContain('add element inet lvsd nat4p { 0x4c000001 : 198.51.100.11 . 8080, 0x4c000003 : 198.51.100.13 . 80 }');
    expect(text).toContain('add element inet lvsd drmarks { 0x4c000002 }');
    expect(text).toContain('add element inet lvsd snat4 { 0x4c000003 : 198.51.100.1 }');
    expect(text).toContain('add element inet lvsd fwm { 0x00000007 }');
  });
});
