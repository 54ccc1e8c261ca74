// A raw IP protocol-112 socket bound to one interface and family, joined to the VRRP group.
// raw-socket has no named helpers for multicast options, but its setOption(level, opt, buffer, len)
// passes any struct straight to setsockopt(2); we build ip_mreqn / ipv6_mreq ourselves with the
// Linux constants below. IPv4 sends with IP_HDRINCL so the source (unicast_src_ip) and TTL are ours,
// as keepalived does; IPv6 lets the kernel write the header and the checksum (IPV6_CHECKSUM, as
// keepalived does), and verifies it on receive.
import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';
import { NetError } from './errors.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-var-requires
const raw = require('raw-socket') as RawModule;

interface RawSocket extends EventEmitter {
  setOption(level: number, option: number, value: number | Buffer, length?: number): void;
  send(buf: Buffer, offset: number, length: number, address: string, cb: (err: Error | null, bytes: number) => void): void;
  close(): void;
}
interface RawModule {
  createSocket(o: { protocol: number; addressFamily: number; bufferSize?: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
}

// Linux socket option numbers (include/uapi/linux/in.h, in6.h, asm-generic/socket.h).
const SOL_SOCKET = 1;
const SO_BINDTODEVICE = 25;
const IPPROTO_IP = 0;
const IP_HDRINCL = 3;
const IP_MULTICAST_IF = 32;
const IP_MULTICAST_TTL = 33;
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;
const IPPROTO_IPV6 = 41;
const IPV6_CHECKSUM = 7;
const IPV6_UNICAST_HOPS = 16;
const IPV6_MULTICAST_IF = 17;
const IPV6_MULTICAST_HOPS = 18;
const IPV6_MULTICAST_LOOP = 19;
const IPV6_ADD_MEMBERSHIP = 20;

export interface RawPacket {
  /** IPv4: the whole packet with header; IPv6: the VRRP message. */
  data: Buffer;
  /** Sender address as the kernel reports it. */
  from: string;
}

export interface VrrpSocketOptions {
  family: 4 | 6;
  dev: string;
  ifindex: number;
  protocol?: number;
  /** Join the family's VRRP multicast group (skip for unicast-only instances). */
  group?: string;
}

export class VrrpSocket extends EventEmitter {
  private readonly sock: RawSocket;
  private closed = false;

  constructor(readonly o: VrrpSocketOptions) {
    super();
    try {
      this.sock = raw.createSocket({
        protocol: o.protocol ?? 112,
        addressFamily: o.family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6,
        bufferSize: 65535,
      });
      const name = Buffer.from(`${o.dev}\0`);
      this.sock.setOption(SOL_SOCKET, SO_BINDTODEVICE, name, name.length);
      if (o.family === 4) {
        this.sock.setOption(IPPROTO_IP, IP_HDRINCL, 1);
        this.sock.setOption(IPPROTO_IP, IP_MULTICAST_TTL, 255);
        this.sock.setOption(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
        const mreqn = (group: string) => {
          const b = Buffer.alloc(12); // struct ip_mreqn { in_addr multiaddr; in_addr address; int ifindex; }
          group.split('.').forEach((x, i) => (b[i] = Number(x)));
          b.writeInt32LE(o.ifindex, 8);
          return b;
        };
        const ifreq = mreqn('0.0.0.0');
        this.sock.setOption(IPPROTO_IP, IP_MULTICAST_IF, ifreq, ifreq.length);
        if (o.group) {
          const m = mreqn(o.group);
          this.sock.setOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, m, m.length);
        }
      } else {
        if ((o.protocol ?? 112) !== 58) this.sock.setOption(IPPROTO_IPV6, IPV6_CHECKSUM, 6);
        this.sock.setOption(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255);
        this.sock.setOption(IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255);
        this.sock.setOption(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
        this.sock.setOption(IPPROTO_IPV6, IPV6_MULTICAST_IF, o.ifindex);
        if (o.group) {
          const m = Buffer.alloc(20); // struct ipv6_mreq { in6_addr; int ifindex; }
          expand6(o.group).copy(m, 0);
          m.writeInt32LE(o.ifindex, 16);
          this.sock.setOption(IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, m, m.length);
        }
      }
    } catch (e) {
      throw new NetError('ENETSOCK', `raw socket on ${o.dev} (IPv${o.family}): ${(e as Error).message}`);
    }
    this.sock.on('message', (data: Buffer, from: string) => this.emit('packet', { data: Buffer.from(data), from } satisfies RawPacket));
    this.sock.on('error', (e: Error) => this.emit('error', new NetError('ENETSOCK', e.message)));
  }

  /** Send one datagram (IPv4: header included). Resolves with an error value, never rejects. */
  send(buf: Buffer, dst: string): Promise<Error | null> {
    if (this.closed) return Promise.resolve(new NetError('ENETSOCK', 'socket closed'));
    return new Promise((resolve) => {
      try {
        this.sock.send(buf, 0, buf.length, dst, (err) => resolve(err ? new NetError('ENETSOCK', err.message) : null));
      } catch (e) {
        resolve(new NetError('ENETSOCK', (e as Error).message));
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.sock.close();
    } catch {
      // already closed by an error
    }
  }
}

/** 16-byte form of an IPv6 address (handles ::). */
export function expand6(text: string): Buffer {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return b;
}
