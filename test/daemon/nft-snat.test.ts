// fullnat_snat: the keyword (lvsd_defs and per virtual_server), its errors with locations, and
// the nft forwarder's mapping to each service's FULLNAT source address. Pure (no kernel).
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { NftForwarder, nftSnat } from '../../src/daemon/nft-forwarder.js';
import { createTable } from '../../src/ipvs/index.js';

function load(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-nft-snat-'));
  try {
    writeFileSync(join(dir, 'c.conf'), text);
    return loadConfig(join(dir, 'c.conf'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const vs = (head: string, extra = '') => `virtual_server ${head} {\n    lvs_method FULLNAT\n    protocol TCP\n${extra}    real_server ${head.includes(':') ? '2001:db8:2::11' : '198.51.100.11'} 80 {\n    }\n}\n`;
const errors = (text: string) => load(text).diagnostics.items.filter((d) => d.severity === 'error').map((d) => `${d.loc?.line}:${d.message}`);
const tcp = (addr: string, port: number) => ({ kind: 'addr', protocol: 'tcp', addr, port }) as const;

describe('fullnat_snat keyword', () => {
  it('reads one IPv4 and/or one IPv6 address in lvsd_defs and per virtual_server', () => {
    const r = load(`lvsd_defs {\n    fullnat_snat 2001:db8:2::6 198.51.100.6\n}\n${vs('203.0.113.1 80', '    fullnat_snat 198.51.100.5\n')}`);
    expect(r.config?.lvsd_defs?.fullnat_snat).toEqual({ v4: '198.51.100.6', v6: '2001:db8:2::6' });
    expect(r.config?.virtual_server[0].fullnat_snat).toEqual({ v4: '198.51.100.5', v6: null });
  });

  it('refuses bad input with the line of the offending word', () => {
    expect(errors(`lvsd_defs {\n    fullnat_snat 198.51.100.1 198.51.100.2\n}\n`)).toEqual([expect.stringMatching(/^2:fullnat_snat takes one IPv4 address, not two/)]);
    expect(errors(`lvsd_defs {\n    fullnat_snat\n}\n`)).toEqual([expect.stringMatching(/^2:.*IPv4 and\/or an IPv6 address/)]);
    expect(errors(vs('203.0.113.1 80', '    fullnat_snat 198.51.100.1 2001:db8::1 10.0.0.1\n'))).toHaveLength(1);
    expect(errors(vs('203.0.113.1 80', '    fullnat_snat not-an-address\n'))).toEqual([expect.stringMatching(/^4:fullnat_snat address 'not-an-address' is not a valid/)]);
  });

  it('lvsd -t refuses a virtual_server whose own fullnat_snat has no address of its family, at the keyword', () => {
    expect(errors(vs('2001:db8:3::10 80', '    fullnat_snat 198.51.100.7\n'))).toEqual(['4:fullnat_snat has no IPv6 address for the IPv6 service virtual_server [2001:db8:3::10]:80']);
    expect(errors(vs('203.0.113.1 80', '    fullnat_snat 2001:db8:2::5\n'))).toEqual(['4:fullnat_snat has no IPv4 address for the IPv4 service virtual_server 203.0.113.1:80']);
    // A group of both families needs both addresses; one address per family is enough.
    const group = (snat: string) => `virtual_server_group both {\n    203.0.113.1 80\n    2001:db8:3::10 80\n}\nvirtual_server group both {\n    lvs_method FULLNAT\n    fullnat_snat ${snat}\n    real_server 198.51.100.11 80 {\n    }\n}\n`;
    expect(errors(group('198.51.100.7'))).toEqual(['7:fullnat_snat has no IPv6 address for the IPv6 service virtual_server group both']);
    expect(errors(group('198.51.100.7 2001:db8:2::7'))).toEqual([]);
  });

  it('warns that fullnat_snat does nothing on a service without FULLNAT', () => {
    const r = load(vs('203.0.113.1 80', '    fullnat_snat 198.51.100.7\n').replace('lvs_method FULLNAT', 'lvs_method NAT'));
    expect(r.config).not.toBeNull();
    expect(r.diagnostics.items.map((d) => `${d.severity} ${d.loc?.line}:${d.message}`)).toContain('warning 4:fullnat_snat has no effect: virtual_server 203.0.113.1:80 has no FULLNAT real server');
  });
});

describe('nftSnat: the FULLNAT source of each service', () => {
  const cfg = load(`lvsd_defs {\n    fullnat_snat 198.51.100.6\n}\n${vs('203.0.113.1 80', '    fullnat_snat 198.51.100.5 2001:db8:2::5\n')}${vs('203.0.113.2 80')}${vs('2001:db8:3::10 80', '    fullnat_snat 198.51.100.7 2001:db8:2::7\n')}${vs('2001:db8:3::11 80')}`).config!;
  // lvsd -t refuses a missing family (above); the engine still checks, for models built otherwise.
  cfg.virtual_server[2].fullnat_snat = { v4: '198.51.100.7', v6: null };
  const table = createTable();
  const dest = (addr: string) => ({ addr, port: 80, weight: 1, method: 'FULLNAT' as const, uThreshold: 0, lThreshold: 0 });
  table.applySpec({ services: [
    { key: tcp('203.0.113.1', 80), scheduler: 'rr', dests: [dest('198.51.100.11')] },
    { key: tcp('203.0.113.2', 80), scheduler: 'rr', dests: [dest('198.51.100.11')] },
    { key: tcp('2001:db8:3::10', 80), scheduler: 'rr', dests: [dest('2001:db8:2::11')] },
    { key: tcp('2001:db8:3::11', 80), scheduler: 'rr', dests: [dest('2001:db8:2::11')] },
  ] }, 0);
  const snat = nftSnat(cfg);
  const of = (addr: string) => snat(table.services.find((s) => s.key.kind === 'addr' && s.key.addr === addr)!);

  it('virtual_server address of the family first, else lvsd_defs\', else masquerade', () => {
    expect(of('203.0.113.1')).toEqual({ addr: '198.51.100.5' });
    expect(of('203.0.113.2')).toEqual({ addr: '198.51.100.6' });
    expect(of('2001:db8:3::11')).toEqual({});
  });

  it('a virtual_server whose own fullnat_snat lacks its family is refused with the keyword\'s location; the others are served', async () => {
    expect(of('2001:db8:3::10').error).toMatch(/^fullnat_snat \(.*c\.conf:\d+:\d+\) has no IPv6 address for this IPv6 service$/);
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const fwd = new NftForwarder(log, () => 0);
    // Only the refused service is nft here, so nothing reaches the kernel.
    await fwd.start(table, (k) => k.kind === 'addr' && k.addr === '2001:db8:3::10', { snat });
    expect(fwd.running).toBe(false);
    expect(lines.filter((l) => l.level === 50).map((l) => l.vs)).toEqual(['TCP [2001:db8:3::10]:80']);
    await fwd.stop();
  });
});
