import { describe, expect, it } from '@jest/globals';
import { decodeAdvert, encodeAdvert, passwordBytes, type DecodedAdvert } from '../../src/vrrp/codec.js';
import { checkAdvert, type ReceiveExpectations } from '../../src/vrrp/validate.js';
import { scriptStep } from '../../src/vrrp/script-tracker.js';
import { fifoLine } from '../../src/vrrp/notify.js';
import { instanceFamily, VrrpConfigError } from '../../src/vrrp/instance.js';
import { addressArgs, routeArgs } from '../../src/net/iproute.js';
import { buildUnsolicitedNa } from '../../src/net/garp.js';
import { expand6 } from '../../src/net/vrrp-socket.js';

const exp: ReceiveExpectations = { version: 2, authType: 1, authData: passwordBytes('secret'), intervalCs: 100, vips: ['192.0.2.100', '192.0.2.101'], peers: [], checkUnicastSrc: false };
function advert(over: Partial<DecodedAdvert> = {}): DecodedAdvert {
  const a = { version: 2 as const, vrid: 51, priority: 100, intervalCs: 100, authType: 1, authData: passwordBytes('secret'), addrs: ['192.0.2.101', '192.0.2.100'], ...over };
  const r = decodeAdvert(encodeAdvert(a, { family: 4 }), { family: 4 });
  if (!r.ok) throw new Error(r.reason);
  return r.advert;
}
const mc = { src: '192.0.2.1', dst: '224.0.0.18', dstIsMulticast: true, ttl: 255 };

describe('receive checks (spec 2.4)', () => {
  it('accepts a matching advert (VIP order does not matter)', () => expect(checkAdvert(advert(), mc, exp)).toBeNull());
  it('multicast TTL must be 255', () => expect(checkAdvert(advert(), { ...mc, ttl: 254 }, exp)).toBe('ttl'));
  it('version must be ours', () => expect(checkAdvert(advert(), mc, { ...exp, version: 3 })).toBe('version'));
  it('auth type must equal ours, then the password all 8 octets', () => {
    expect(checkAdvert(advert({ authType: 0, authData: Buffer.alloc(8) }), mc, exp)).toBe('auth-type');
    expect(checkAdvert(advert({ authData: passwordBytes('secreT') }), mc, exp)).toBe('auth');
  });
  it('v2 interval must equal ours; v3 adopts', () => {
    expect(checkAdvert(advert({ intervalCs: 200 }), mc, exp)).toBe('interval');
    const v3 = decodeAdvert(encodeAdvert({ version: 3, vrid: 51, priority: 100, intervalCs: 20, authType: 0, authData: Buffer.alloc(0), addrs: ['192.0.2.100'] }, { family: 4, src: '192.0.2.1', dst: '224.0.0.18' }), { family: 4, src: '192.0.2.1', dst: '224.0.0.18' });
    if (!v3.ok) throw new Error(v3.reason);
    expect(checkAdvert(v3.advert, mc, { ...exp, version: 3, authType: 0, vips: ['192.0.2.100'] })).toBeNull();
  });
  it('VIP count, then every VIP present; skip_check_adv_addr skips both', () => {
    expect(checkAdvert(advert({ addrs: ['192.0.2.100'] }), mc, exp)).toBe('addr-count');
    expect(checkAdvert(advert({ addrs: ['192.0.2.100', '192.0.2.102'] }), mc, exp)).toBe('addr-missing');
    expect(checkAdvert(advert({ addrs: ['192.0.2.100'] }), mc, exp, { skipAddrCheck: true })).toBeNull();
  });
  it('multicast/unicast agreement', () => {
    expect(checkAdvert(advert(), { ...mc, dst: '192.0.2.2', dstIsMulticast: false }, exp)).toBe('mcast-unicast');
    expect(checkAdvert(advert(), mc, { ...exp, peers: [{ address: '192.0.2.1' }] })).toBe('mcast-unicast');
  });
  it('unicast: TTL not checked unless a peer gives min/max; check_unicast_src wants a known peer', () => {
    const uc = { src: '192.0.2.1', dst: '192.0.2.2', dstIsMulticast: false, ttl: 60 };
    expect(checkAdvert(advert(), uc, { ...exp, peers: [{ address: '192.0.2.1' }] })).toBeNull();
    expect(checkAdvert(advert(), uc, { ...exp, peers: [{ address: '192.0.2.1', minTtl: 64 }] })).toBe('ttl');
    expect(checkAdvert(advert(), uc, { ...exp, peers: [{ address: '192.0.2.9' }], checkUnicastSrc: true })).toBe('unicast-src');
  });
});

describe('vrrp_script rise/fall', () => {
  it('goes down after `fall` failures and up after `rise` successes; a contrary result resets the streak', () => {
    let s = { up: true, streak: 0 };
    const seq: boolean[] = [];
    for (const ok of [false, true, false, false, false, true, true, false, true, true, true]) {
      s = scriptStep(s, ok, 3, 2);
      seq.push(s.up);
    }
    expect(seq).toEqual([true, true, true, false, false, false, false, false, false, false, true]);
  });
});

describe('notify formats', () => {
  it('FIFO line as keepalived writes it', () => expect(fifoLine('INSTANCE', 'VI_1', 'MASTER', 100)).toBe('INSTANCE "VI_1" MASTER 100\n'));
});

describe('instance spec checks', () => {
  const base = { name: 'VI', interface: 'eth0', vrid: 1, virtualIpaddress: [{ address: '192.0.2.1' }] };
  it('IPv6 forces v3; mixed families, bad VRID or priority, and v3 auth are errors', () => {
    expect(instanceFamily({ ...base, version: 2, virtualIpaddress: [{ address: '2001:db8::1' }] })).toEqual({ family: 6, version: 3 });
    expect(() => instanceFamily({ ...base, virtualIpaddress: [{ address: '192.0.2.1' }, { address: '2001:db8::1' }] })).toThrow(VrrpConfigError);
    expect(() => instanceFamily({ ...base, vrid: 0 })).toThrow(/virtual_router_id/);
    expect(() => instanceFamily({ ...base, priority: 256 })).toThrow(/priority/);
    expect(() => instanceFamily({ ...base, version: 3, authPass: 'x' })).toThrow(/v2 only/);
  });
});

describe('src/net argument building', () => {
  it('ip addr add with prefix, label, scope; del without them', () => {
    expect(addressArgs('add', { address: '192.0.2.100', dev: 'eth0', label: 'eth0:vip', scope: 'global' })).toEqual(['-4', 'addr', 'add', '192.0.2.100/32', 'dev', 'eth0', 'scope', 'global', 'label', 'eth0:vip']);
    expect(addressArgs('del', { address: '2001:db8::1', prefix: 64, dev: 'eth0', noDad: true })).toEqual(['-6', 'addr', 'del', '2001:db8::1/64', 'dev', 'eth0']);
    expect(addressArgs('add', { address: '2001:db8::1', prefix: 64, dev: 'eth0', noDad: true })).toContain('nodad');
  });
  it('ip route replace / del', () => {
    expect(routeArgs('replace', { to: '198.51.100.0/24', via: '192.0.2.254', metric: 5 })).toEqual(['-4', 'route', 'replace', '198.51.100.0/24', 'via', '192.0.2.254', 'metric', '5']);
  });
  it('unsolicited NA: type 136, Override flag, target and link-layer option', () => {
    const na = buildUnsolicitedNa('2001:db8::100', '02:00:00:00:00:01');
    expect(na[0]).toBe(136);
    expect(na.readUInt32BE(4)).toBe(0x20000000);
    expect(na.subarray(8, 24).equals(expand6('2001:db8::100'))).toBe(true);
    expect(na.subarray(24, 32).toString('hex')).toBe('0201020000000001');
  });
});
