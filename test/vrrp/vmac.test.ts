// Pure parts of use_vmac: the virtual MAC, keepalived's interface names, adopt/create decisions.
import { describe, expect, it } from '@jest/globals';
import { decideVmac, validIfName, vmacAddress, vmacNameCandidates, VmacError, type LinkInfo } from '../../src/vrrp/vmac.js';

const take = (g: Generator<string>, n: number) => Array.from({ length: n }, () => g.next().value as string);
const macvlan = (ifname: string, address: string, link = 'eth0'): LinkInfo => ({ ifname, ifindex: 9, address, link, linkinfo: { info_kind: 'macvlan', info_data: { mode: 'private' } } });

describe('vmacAddress', () => {
  it('is 00:00:5e:00:01:VRID for IPv4 and 00:00:5e:00:02:VRID for IPv6 (RFC 5798 7.3)', () => {
    expect(vmacAddress(4, 1)).toBe('00:00:5e:00:01:01');
    expect(vmacAddress(4, 255)).toBe('00:00:5e:00:01:ff');
    expect(vmacAddress(6, 51)).toBe('00:00:5e:00:02:33');
  });
  it('takes a configured MAC; five octets get the VRID as the sixth', () => {
    expect(vmacAddress(4, 51, '02:AA:bb:cc:dd:ee')).toBe('02:aa:bb:cc:dd:ee');
    expect(vmacAddress(4, 51, '02:aa:bb:cc:dd')).toBe('02:aa:bb:cc:dd:33');
  });
  it('refuses a malformed or multicast MAC', () => {
    expect(() => vmacAddress(4, 1, '02:aa:bb')).toThrow(VmacError);
    expect(() => vmacAddress(4, 1, 'zz:aa:bb:cc:dd:ee')).toThrow(VmacError);
    expect(() => vmacAddress(4, 1, '01:00:5e:00:00:12')).toThrow(/multicast/);
  });
});

describe('vmacNameCandidates (keepalived vrrp_complete_instance)', () => {
  it('IPv4: vrrp.VRID, then vrrp1.VRID, vrrp2.VRID, ...', () => {
    expect(take(vmacNameCandidates(4, 7), 4)).toEqual(['vrrp.7', 'vrrp1.7', 'vrrp2.7', 'vrrp3.7']);
  });
  it('IPv6: vrrp.VRID, vrrp6.VRID, then vrrp1..5, 7, ... (6 not tried twice)', () => {
    expect(take(vmacNameCandidates(6, 7), 8)).toEqual(['vrrp.7', 'vrrp6.7', 'vrrp1.7', 'vrrp2.7', 'vrrp3.7', 'vrrp4.7', 'vrrp5.7', 'vrrp7.7']);
  });
  it('interface names fit IFNAMSIZ and have no separators', () => {
    expect(validIfName('vrrp.255')).toBe(true);
    expect(validIfName('a'.repeat(15))).toBe(true);
    expect(validIfName('a'.repeat(16))).toBe(false);
    expect(validIfName('a b')).toBe(false);
    expect(validIfName('a/b')).toBe(false);
    expect(validIfName('')).toBe(false);
  });
});

describe('decideVmac', () => {
  const want = { base: 'eth0', mac: '00:00:5e:00:01:33', family: 4 as const, vrid: 51 };
  const eth0: LinkInfo = { ifname: 'eth0', ifindex: 2, address: '02:00:00:00:00:01' };
  it('creates vrrp.VRID when nothing is there', () => {
    expect(decideVmac([eth0], want, new Set())).toEqual({ action: 'create', name: 'vrrp.51', replace: false });
  });
  it('adopts a leftover macvlan on the same base with our MAC, whatever its name', () => {
    expect(decideVmac([eth0, macvlan('old51', want.mac)], want, new Set())).toEqual({ action: 'adopt', name: 'old51' });
  });
  it('does not adopt one on another base, or one another instance of this runtime holds', () => {
    expect(decideVmac([eth0, macvlan('vrrp.51', want.mac, 'eth1')], want, new Set())).toEqual({ action: 'create', name: 'vrrp1.51', replace: false });
    expect(decideVmac([eth0, macvlan('vrrp.51', want.mac)], want, new Set(['vrrp.51']))).toEqual({ action: 'create', name: 'vrrp1.51', replace: false });
  });
  it('a configured name held by an incompatible macvlan is replaced; by another kind of interface it is left alone', () => {
    expect(decideVmac([eth0, macvlan('vip', '02:11:11:11:11:11')], { ...want, name: 'vip' }, new Set())).toEqual({ action: 'create', name: 'vip', replace: true });
    expect(decideVmac([eth0, { ifname: 'vip', ifindex: 4, address: '02:11:11:11:11:11' }], { ...want, name: 'vip' }, new Set())).toEqual({ action: 'create', name: 'vrrp.51', replace: false });
  });
  it('skips default names taken by other interfaces', () => {
    const links = [eth0, { ifname: 'vrrp.51', ifindex: 5 }, { ifname: 'vrrp6.51', ifindex: 6 }];
    expect(decideVmac(links, { ...want, family: 6, mac: '00:00:5e:00:02:33' }, new Set())).toEqual({ action: 'create', name: 'vrrp1.51', replace: false });
  });
});
