// Receive checks after decoding (spec 2.4, keepalived's order): TTL, version, auth, interval, VIP set,
// multicast/unicast agreement, unicast source. Pure: returns the first failing reason or null.
import type { DecodedAdvert, DropReason } from './codec.js';
import type { UnicastPeerSpec, VrrpVersion } from './types.js';
import { canonicalAddr } from './addr.js';

export interface ReceiveExpectations {
  version: VrrpVersion;
  /** 0 none or 1 PASS. */
  authType: number;
  /** 8 octets (zeros without auth). */
  authData: Buffer;
  /** Our own interval in centiseconds: v2 drops a mismatch, v3 adopts the master's. */
  intervalCs: number;
  /** Canonical VIP texts we advertise. */
  vips: string[];
  peers: UnicastPeerSpec[];
  checkUnicastSrc: boolean;
}

export interface PacketMeta {
  src: string;
  /** Destination, when the socket can tell (IPv4 header). */
  dst?: string;
  dstIsMulticast?: boolean;
  /** TTL / hop limit, when the socket can tell. */
  ttl?: number;
}

export interface CheckOptions {
  /** skip_check_adv_addr and this advert comes from the master we already accepted. */
  skipAddrCheck?: boolean;
}

export function checkAdvert(a: DecodedAdvert, meta: PacketMeta, exp: ReceiveExpectations, opt: CheckOptions = {}): DropReason | null {
  const unicast = exp.peers.length > 0;
  if (!unicast && meta.ttl !== undefined && meta.ttl !== 255) return 'ttl';
  if (a.version !== exp.version) return 'version';
  if (a.version === 2) {
    if (a.authType !== exp.authType) return 'auth-type';
    if (exp.authType === 1 && !a.authData.equals(exp.authData)) return 'auth';
    if (a.intervalCs !== exp.intervalCs) return 'interval';
  }
  if (!opt.skipAddrCheck && a.addrs.length !== exp.vips.length) return 'addr-count';
  if (meta.dstIsMulticast !== undefined && meta.dstIsMulticast === unicast) return 'mcast-unicast';
  if (!opt.skipAddrCheck) {
    const got = new Set(a.addrs);
    if (!exp.vips.every((v) => got.has(v))) return 'addr-missing';
  }
  if (unicast) {
    const src = canonicalAddr(meta.src);
    const peer = exp.peers.find((p) => canonicalAddr(p.address) === src);
    const ranged = exp.peers.some((p) => p.minTtl !== undefined || p.maxTtl !== undefined);
    if ((exp.checkUnicastSrc || ranged) && !peer) return 'unicast-src';
    if (peer && meta.ttl !== undefined) {
      if (peer.minTtl !== undefined && meta.ttl < peer.minTtl) return 'ttl';
      if (peer.maxTtl !== undefined && meta.ttl > peer.maxTtl) return 'ttl';
    }
  }
  return null;
}
