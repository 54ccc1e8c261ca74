// What a new master does with synced flows of the nft engine (pure renderers): DR flows as flow
// set elements, NAT/FULLNAT flows as conntrack -I arguments with their NAT binding and mark.
import { describe, expect, test } from '@jest/globals';
import { conntrackInsertArgs, renderDrFlowAdds } from '../../src/forward/nft/sync-adopt.js';

describe('synced flows for the nft engine', () => {
  test('DR: one add per set, ESTABLISHED flows also in dre_, timeouts clamped to >= 1 s', () => {
    const text = renderDrFlowAdds([
      { mark: 0x4c000001, family: 4, caddr: '192.0.2.10', cport: 40000, vaddr: '203.0.113.10', vport: 80, timeoutS: 899.6, established: true },
      { mark: 0x4c000001, family: 4, caddr: '192.0.2.11', cport: 40001, vaddr: '203.0.113.10', vport: 80, timeoutS: 0, established: false },
      { mark: 0x4c000002, family: 6, caddr: '2001:db8::10', cport: 5, vaddr: '2001:db8::100', vport: 443, timeoutS: 120, established: false },
    ]);
    expect(text).toBe([
      'add element inet lvsd drf_4c000001 { 192.0.2.10 . 40000 . 203.0.113.10 . 80 timeout 900s, 192.0.2.11 . 40001 . 203.0.113.10 . 80 timeout 1s }',
      'add element inet lvsd dre_4c000001 { 192.0.2.10 . 40000 . 203.0.113.10 . 80 timeout 900s }',
      'add element inet lvsd drf_4c000002 { 2001:db8::10 . 5 . 2001:db8::100 . 443 timeout 120s }',
      '',
    ].join('\n'));
    expect(renderDrFlowAdds([])).toBe('');
  });

  test('NAT and FULLNAT: conntrack -I with state, mark and NAT binding; UDP without a state', () => {
    const base = { mark: 0x4c000003, family: 4 as const, caddr: '192.0.2.10', cport: 40000, vaddr: '192.0.2.100', vport: 80, daddr: '198.51.100.11', dport: 8080, timeoutS: 900 };
    expect(conntrackInsertArgs({ ...base, proto: 'tcp', state: 'ESTABLISHED' })?.join(' ')).toBe(
      '-I -p tcp -s 192.0.2.10 -d 192.0.2.100 --sport 40000 --dport 80 --state ESTABLISHED -u SEEN_REPLY,ASSURED -t 900 --mark 1275068419 --dst-nat 198.51.100.11:8080');
    expect(conntrackInsertArgs({ ...base, proto: 'tcp', state: 'FIN_WAIT', snatAddr: '198.51.100.254' })?.slice(-4)).toEqual(['--dst-nat', '198.51.100.11:8080', '--src-nat', '198.51.100.254']);
    expect(conntrackInsertArgs({ ...base, proto: 'udp', state: 'UDP' })).not.toContain('--state');
    expect(conntrackInsertArgs({ ...base, family: 6, caddr: '2001:db8::1', vaddr: '2001:db8::100', daddr: '2001:db8:2::11', proto: 'tcp', state: 'ESTABLISHED' })).toContain('[2001:db8:2::11]:8080');
    expect(conntrackInsertArgs({ ...base, proto: 'tcp', state: 'NONE' })).toBeNull();
  });
});
