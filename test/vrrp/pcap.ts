// Minimal pcap (libpcap classic, Ethernet link type) reader for the committed keepalived captures.
import { readFileSync } from 'node:fs';

export interface CapturedPacket {
  family: 4 | 6;
  src: string;
  dst: string;
  /** TTL / hop limit. */
  ttl: number;
  /** The whole IPv4 packet (header included) or, for IPv6, the upper-layer payload. */
  ip: Buffer;
  payload: Buffer;
}

function v6text(b: Buffer): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(i).toString(16));
  return parts.join(':');
}

export function readPcap(path: string): CapturedPacket[] {
  const f = readFileSync(path);
  const magic = f.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error(`${path}: not a little-endian pcap`);
  const linktype = f.readUInt32LE(20);
  if (linktype !== 1) throw new Error(`${path}: link type ${linktype}, want Ethernet`);
  const out: CapturedPacket[] = [];
  let off = 24;
  while (off + 16 <= f.length) {
    const incl = f.readUInt32LE(off + 8);
    const frame = f.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    const ethertype = frame.readUInt16BE(12);
    const ip = frame.subarray(14);
    if (ethertype === 0x0800) {
      const ihl = (ip[0] & 0x0f) * 4;
      const tot = ip.readUInt16BE(2);
      out.push({
        family: 4,
        src: Array.from(ip.subarray(12, 16)).join('.'),
        dst: Array.from(ip.subarray(16, 20)).join('.'),
        ttl: ip[8],
        ip: Buffer.from(ip.subarray(0, tot)),
        payload: Buffer.from(ip.subarray(ihl, tot)),
      });
    } else if (ethertype === 0x86dd) {
      const plen = ip.readUInt16BE(4);
      out.push({
        family: 6,
        src: v6text(ip.subarray(8, 24)),
        dst: v6text(ip.subarray(24, 40)),
        ttl: ip[7],
        ip: Buffer.from(ip.subarray(40, 40 + plen)),
        payload: Buffer.from(ip.subarray(40, 40 + plen)),
      });
    }
  }
  return out;
}
