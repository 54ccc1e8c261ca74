// PROXY protocol encoders against a decoder written from haproxy's proxy-protocol.txt.
import { expect, test } from '@jest/globals';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { proxyHeaderV1, proxyHeaderV2 } from '../../src/forward/proxy/index.js';

const v4 = fc.ipV4();
const v6 = fc.ipV6().map((a) => ipaddr.parse(a).toString());
const port = fc.integer({ min: 0, max: 65535 });

test('v1 is one CRLF-terminated line of at most 107 bytes with the four fields', () => {
  fc.assert(fc.property(fc.oneof(fc.tuple(v4, v4), fc.tuple(v6, v6)), port, port, ([c, v], cp, vp) => {
    const h = proxyHeaderV1({ protocol: 'tcp', clientAddr: c, clientPort: cp, vaddr: v, vport: vp }).toString('latin1');
    expect(h.length).toBeLessThanOrEqual(107);
    expect(h.endsWith('\r\n')).toBe(true);
    const [p, fam, sa, da, sp, dp] = h.slice(0, -2).split(' ');
    expect([p, fam, sa, da, Number(sp), Number(dp)]).toEqual(['PROXY', c.includes(':') ? 'TCP6' : 'TCP4', c, v, cp, vp]);
  }));
});

test('v2 decodes back to the same endpoints (IPv4, IPv6, mixed as IPv4-mapped)', () => {
  fc.assert(fc.property(fc.oneof(v4, v6), fc.oneof(v4, v6), port, port, fc.constantFrom('tcp' as const, 'udp' as const), (c, v, cp, vp, protocol) => {
    const h = proxyHeaderV2({ protocol, clientAddr: c, clientPort: cp, vaddr: v, vport: vp });
    expect(h.subarray(0, 12).toString('hex')).toBe('0d0a0d0a000d0a515549540a');
    expect(h[12]).toBe(0x21);
    const fam = h[13]! >> 4;
    expect(h[13]! & 0x0f).toBe(protocol === 'tcp' ? 1 : 2);
    const len = h.readUInt16BE(14);
    expect(h.length).toBe(16 + len);
    const alen = fam === 1 ? 4 : 16;
    expect(len).toBe(alen * 2 + 4);
    const both4 = !c.includes(':') && !v.includes(':');
    expect(fam).toBe(both4 ? 1 : 2);
    // An IPv4 endpoint in a mixed pair travels IPv4-mapped; IPv6 text (even ::ffff:x) as is.
    const norm = (a: string) => (both4 || a.includes(':') ? a : `::ffff:${a}`);
    const dec = (b: Buffer) => (alen === 4 ? [...b].join('.') : ipaddr.fromByteArray([...b]).toString());
    expect(ipaddr.parse(dec(h.subarray(16, 16 + alen))).toNormalizedString()).toBe(ipaddr.parse(norm(c)).toNormalizedString());
    expect(ipaddr.parse(dec(h.subarray(16 + alen, 16 + 2 * alen))).toNormalizedString()).toBe(ipaddr.parse(norm(v)).toNormalizedString());
    expect([h.readUInt16BE(16 + 2 * alen), h.readUInt16BE(18 + 2 * alen)]).toEqual([cp, vp]);
  }));
});
