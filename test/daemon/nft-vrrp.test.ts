// The nft engine follows VRRP: a VIP this director does not hold is not programmed into the
// kernel. Pure: the selection over a real table, no kernel involved.
import { describe, expect, it } from '@jest/globals';
import { nftInclude } from '../../src/daemon/nft-forwarder.js';
import { servicesFromTable } from '../../src/forward/nft/index.js';
import { createTable } from '../../src/ipvs/index.js';
import type { ServiceKey, ServiceSpec } from '../../src/ipvs/index.js';

const dest = (addr: string) => ({ addr, port: 80, weight: 1, method: 'NAT' as const, uThreshold: 0, lThreshold: 0 });
const svc = (key: ServiceKey): ServiceSpec => ({ key, scheduler: 'rr', dests: [dest('198.51.100.1')] });

describe('nft services and VRRP', () => {
  const table = createTable();
  table.applySpec({
    services: [
      svc({ kind: 'addr', protocol: 'tcp', addr: '192.0.2.100', port: 80 }), // a VRRP VIP
      svc({ kind: 'addr', protocol: 'tcp', addr: '192.0.2.1', port: 80 }), // not managed by VRRP
      svc({ kind: 'addr', protocol: 'tcp', addr: '203.0.113.5', port: 80 }), // served by the proxy
      svc({ kind: 'fwmark', fwmark: 7, family: 4 }),
    ],
  }, 0);
  const isNft = (k: ServiceKey) => !(k.kind === 'addr' && k.addr === '203.0.113.5');
  const ids = (held: Map<string, boolean>) => servicesFromTable(table, { include: nftInclude(isNft, held) }).map((s) => s.id).sort();

  it('programs a VRRP VIP only while it is held; other nft services always', () => {
    const held = new Map([['192.0.2.100', false]]);
    const backup = ids(held);
    expect(backup.some((id) => id.includes('192.0.2.100'))).toBe(false);
    expect(backup.some((id) => id.includes('192.0.2.1:'))).toBe(true);
    held.set('192.0.2.100', true);
    const master = ids(held);
    expect(master.some((id) => id.includes('192.0.2.100'))).toBe(true);
    expect(master.length).toBe(backup.length + 1);
    // The proxy's service is never the nft engine's, held or not.
    expect(master.some((id) => id.includes('203.0.113.5'))).toBe(false);
  });
});
