// Gratuitous ARP (IPv4) and unsolicited Neighbour Advertisements (IPv6) for VIPs.
// IPv4: ARP is not an IP protocol, so it needs an AF_PACKET socket, which neither Node nor
// raw-socket offers. We run iputils `arping -U` (an unsolicited ARP request, sender = target = VIP,
// which is what keepalived sends) with execFile. IPv6: an NA is ICMPv6, so a raw ICMPv6 socket
// (raw-socket) is enough; the kernel fills in the ICMPv6 checksum.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { NetError } from './errors.js';
import { expand6, VrrpSocket } from './vrrp-socket.js';

const ARPING = process.env.LVSD_ARPING_BIN ?? 'arping';

/**
 * One gratuitous ARP for `address` out of `dev`. iputils arping sends at once but then lingers a
 * whole second (its -i/-w take integers only), so callers start a burst's GARPs concurrently
 * rather than one after another.
 */
export function sendGarp(dev: string, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(ARPING, ['-U', '-q', '-c', '1', '-I', dev, address], { timeout: 5_000, env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin' } }, (err, _o, stderr) => {
      // arping exits 1 when no reply came, which is normal for an unsolicited request.
      if (err && (err as { code?: unknown }).code !== 1) reject(new NetError('ENETGARP', `arping ${dev} ${address}: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });
}

/** Build an unsolicited NA (RFC 4861 4.4): Override set, target = VIP, target link-layer option. */
export function buildUnsolicitedNa(target: string, mac: string, router = false): Buffer {
  const b = Buffer.alloc(32);
  b[0] = 136; // Neighbor Advertisement
  b.writeUInt32BE((router ? 0x80000000 : 0) | 0x20000000, 4);
  expand6(target).copy(b, 8);
  b[24] = 2; // Target Link-Layer Address option
  b[25] = 1; // length in 8-octet units
  mac.split(':').forEach((x, i) => (b[26 + i] = parseInt(x, 16)));
  return b;
}

export class NaSender {
  private sock: VrrpSocket | null = null;
  constructor(
    readonly dev: string,
    readonly ifindex: number,
  ) {}

  async send(target: string): Promise<void> {
    const mac = (await readFile(`/sys/class/net/${this.dev}/address`, 'utf8')).trim();
    if (!this.sock) {
      this.sock = new VrrpSocket({ family: 6, dev: this.dev, ifindex: this.ifindex, protocol: 58 });
      this.sock.on('error', () => undefined); // send errors come back from send()
    }
    const err = await this.sock.send(buildUnsolicitedNa(target, mac), 'ff02::1');
    if (err) throw new NetError('ENETGARP', `unsolicited NA ${this.dev} ${target}: ${err.message}`);
  }

  close(): void {
    this.sock?.close();
    this.sock = null;
  }
}
