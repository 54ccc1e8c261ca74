// PROXY protocol headers (haproxy's proxy-protocol.txt, versions 1 and 2) that tell a real
// server who the client was, since the proxy engine opens its own connection. Pure encoders.
import { isIPv4 } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface ProxiedEndpoints {
  protocol: 'tcp' | 'udp';
  clientAddr: string;
  clientPort: number;
  /** the virtual address and port the client connected to */
  vaddr: string;
  vport: number;
}

/** "PROXY TCP4 198.51.100.7 192.0.2.10 52114 80\r\n" (v1 is TCP only). */
export function proxyHeaderV1(e: ProxiedEndpoints): Buffer {
  const v4 = isIPv4(e.clientAddr) && isIPv4(e.vaddr);
  const c = v4 ? e.clientAddr : toV6(e.clientAddr);
  const v = v4 ? e.vaddr : toV6(e.vaddr);
  return Buffer.from(`PROXY ${v4 ? 'TCP4' : 'TCP6'} ${c} ${v} ${e.clientPort} ${e.vport}\r\n`, 'latin1');
}

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** Binary v2 header: PROXY command, INET/INET6, STREAM/DGRAM. */
export function proxyHeaderV2(e: ProxiedEndpoints): Buffer {
  const v4 = isIPv4(e.clientAddr) && isIPv4(e.vaddr);
  const alen = v4 ? 12 : 36;
  const b = Buffer.alloc(16 + alen);
  V2_SIGNATURE.copy(b, 0);
  b[12] = 0x21; // version 2, PROXY
  b[13] = (v4 ? 0x10 : 0x20) | (e.protocol === 'tcp' ? 0x01 : 0x02);
  b.writeUInt16BE(alen, 14);
  const src = addrBytes(e.clientAddr, v4);
  const dst = addrBytes(e.vaddr, v4);
  src.copy(b, 16);
  dst.copy(b, 16 + src.length);
  b.writeUInt16BE(e.clientPort, 16 + 2 * src.length);
  b.writeUInt16BE(e.vport, 18 + 2 * src.length);
  return b;
}

function toV6(addr: string): string {
  return isIPv4(addr) ? `::ffff:${addr}` : addr;
}

function addrBytes(addr: string, v4: boolean): Buffer {
  const a = ipaddr.parse(addr);
  if (v4) return Buffer.from(a.toByteArray());
  const v6 = a.kind() === 'ipv4' ? (a as ipaddr.IPv4).toIPv4MappedAddress() : a;
  return Buffer.from(v6.toByteArray());
}
