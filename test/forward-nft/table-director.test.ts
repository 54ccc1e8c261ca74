// TableDirector (pure apart from the injected clock): a flow queued twice keeps its real server
// (a SYN retransmitted while the first waited in the queue), as IPVS's ip_vs_in does; a closed
// flow's tuple (TIME_WAIT, CLOSE) queued again is a new connection and is scheduled anew.
import { describe, expect, it } from '@jest/globals';
import { createTable } from '../../src/ipvs/index.js';
import { TableDirector } from '../../src/forward/nft/table-director.js';
import type { FlowKey } from '../../src/forward/nft/types.js';

const VIP = '203.0.113.1';
const dest = (addr: string) => ({ addr, port: 8080, weight: 1, method: 'NAT' as const, uThreshold: 0, lThreshold: 0 });

function setUp() {
  const table = createTable();
  table.applySpec({ services: [{ key: { kind: 'addr', protocol: 'tcp', addr: VIP, port: 80 }, scheduler: 'rr', dests: ['198.51.100.11', '198.51.100.12', '198.51.100.13'].map(dest) }] }, 0);
  const director = new TableDirector(table, () => 0);
  const flow = (sport: number): FlowKey => ({ family: 4, proto: 'tcp', saddr: '192.0.2.10', sport, daddr: VIP, dport: 80, mark: 0 });
  const pick = (sport: number): string => {
    const p = director.pickFor(flow(sport), 0);
    return p.kind === 'dest' ? (p.addr as string) : p.reason;
  };
  const state = (sport: number, ctState: string): void =>
    director.onConnState({ event: 'update', serviceId: '', destId: 0, proto: 'tcp', client: { addr: '192.0.2.10', port: sport }, vip: { addr: VIP, port: 80 }, state: ctState, expiresS: 120 });
  return { table, pick, state };
}

/** The scheduler's own sequence for distinct new flows (kernel list order: the last added first). */
function freshSequence(n: number): string[] {
  const { pick } = setUp();
  return Array.from({ length: n }, (_, i) => pick(50000 + i));
}

describe('TableDirector.pickFor', () => {
  it('a flow queued again while open keeps its real server and does not advance the scheduler', () => {
    const seq = freshSequence(4);
    const { table, pick } = setUp();
    expect(pick(40000)).toBe(seq[0]);
    expect(pick(40000)).toBe(seq[0]); // the retransmitted SYN
    expect([pick(40001), pick(40002), pick(40003)]).toEqual(seq.slice(1));
    expect(table.services[0].dests.reduce((n, d) => n + d.activeConns + d.inactiveConns, 0)).toBe(4);
  });

  it('a closed flow (TIME_WAIT or CLOSE) queued again is a new connection: scheduled anew, the old entry dropped', () => {
    const seq = freshSequence(3);
    const { table, pick, state } = setUp();
    expect(pick(40000)).toBe(seq[0]);
    state(40000, 'TIME_WAIT');
    expect(pick(40000)).toBe(seq[1]);
    state(40000, 'CLOSE');
    expect(pick(40000)).toBe(seq[2]);
    expect(new Set(seq).size).toBe(3);
    expect(table.services[0].dests.reduce((n, d) => n + d.activeConns + d.inactiveConns, 0)).toBe(1);
  });
});
