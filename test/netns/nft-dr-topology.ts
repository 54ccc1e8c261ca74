// Namespace fixture for DR as deployed: the real servers' replies bypass the director.
//
//   client (192.0.2.2, 2001:db8:1::2)
//     | veth
//   router (192.0.2.1 / 198.51.100.254, 2001:db8:1::1 / 2001:db8:2::fe)
//     | bridge br0 (the server LAN, in the router's namespace)
//     +-- director (198.51.100.1, 2001:db8:2::1): the router routes the VIPs to it
//     +-- rs1..rs3 (198.51.100.1{1,2,3}): VIPs on lo (arp_ignore/arp_announce), default gateway
//         the router, so replies go straight back to the client without crossing the director.
// Everything created is removed by destroy().

import { spawnSync } from 'node:child_process';
import { NamespaceLab, VIP4, VIP6, rs4, rs6 } from './nft-topology.js';

export const BYPASS_CLIENT4 = '192.0.2.2';
export const BYPASS_CLIENT6 = '2001:db8:1::2';
export const BYPASS_DIRECTOR4 = '198.51.100.1';
export const BYPASS_DIRECTOR6 = '2001:db8:2::1';
const ROUTER4 = '198.51.100.254';
const ROUTER6 = '2001:db8:2::fe';

function sh(args: string[]): void {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
}

export class DrBypassTopology extends NamespaceLab {
  readonly client = `lvsd-nft-bc-${this.suffix}`;
  readonly router = `lvsd-nft-bg-${this.suffix}`;
  readonly director = `lvsd-nft-bd-${this.suffix}`;
  readonly rs = [1, 2, 3].map((i) => `lvsd-nft-br${i}-${this.suffix}`);
  protected get all(): string[] {
    return [this.client, this.router, this.director, ...this.rs];
  }

  /** Packets a real server's eth0 has sent (to show the replies do not cross the director). */
  txPackets(ns: string, dev = 'eth0'): number {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${dev}/statistics/tx_packets`], { encoding: 'utf8' });
    return Number(r.stdout.trim());
  }

  async create(): Promise<void> {
    this.addNamespaces();
    const g = this.router;
    const d = this.director;
    this.exec(g, ['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    sh(['ip', '-n', this.client, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'cl', 'netns', g]);
    this.exec(this.client, ['ip', 'addr', 'add', `${BYPASS_CLIENT4}/24`, 'dev', 'eth0']);
    this.exec(this.client, ['ip', 'addr', 'add', `${BYPASS_CLIENT6}/64`, 'dev', 'eth0', 'nodad']);
    this.exec(this.client, ['ip', 'link', 'set', 'eth0', 'up']);
    this.exec(this.client, ['ip', 'route', 'add', 'default', 'via', '192.0.2.1']);
    this.exec(this.client, ['ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:1::1']);
    this.exec(g, ['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'cl']);
    this.exec(g, ['ip', 'addr', 'add', '2001:db8:1::1/64', 'dev', 'cl', 'nodad']);
    this.exec(g, ['ip', 'link', 'set', 'cl', 'up']);
    this.exec(g, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    this.exec(g, ['ip', 'addr', 'add', `${ROUTER4}/24`, 'dev', 'br0']);
    this.exec(g, ['ip', 'addr', 'add', `${ROUTER6}/64`, 'dev', 'br0', 'nodad']);
    this.exec(g, ['ip', 'link', 'set', 'br0', 'up']);
    // The VIPs are routed to the director (as an upstream router would).
    this.exec(g, ['ip', 'route', 'add', `${VIP4}/32`, 'via', BYPASS_DIRECTOR4]);
    this.exec(g, ['ip', '-6', 'route', 'add', `${VIP6}/128`, 'via', BYPASS_DIRECTOR6]);

    const port = (ns: string, name: string, addr4: string, addr6: string): void => {
      sh(['ip', '-n', g, 'link', 'add', name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      this.exec(g, ['ip', 'link', 'set', name, 'master', 'br0', 'up']);
      this.exec(ns, ['ip', 'addr', 'add', `${addr4}/24`, 'dev', 'eth0']);
      this.exec(ns, ['ip', 'addr', 'add', `${addr6}/64`, 'dev', 'eth0', 'nodad']);
      this.exec(ns, ['ip', 'link', 'set', 'eth0', 'up']);
      this.exec(ns, ['ip', 'route', 'add', 'default', 'via', ROUTER4]);
      this.exec(ns, ['ip', '-6', 'route', 'add', 'default', 'via', ROUTER6]);
    };
    port(d, 'dir', BYPASS_DIRECTOR4, BYPASS_DIRECTOR6);
    // The director forwards on the interface it received on: no ICMP redirects to the router.
    this.exec(d, ['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1',
      'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth0.send_redirects=0']);
    for (let i = 1; i <= 3; i++) {
      const r = this.rs[i - 1];
      port(r, `rs${i}`, rs4(i), rs6(i));
      this.exec(r, ['sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2']);
      this.exec(r, ['ip', 'addr', 'add', `${VIP4}/32`, 'dev', 'lo']);
      this.exec(r, ['ip', 'addr', 'add', `${VIP6}/128`, 'dev', 'lo']);
    }
    await Promise.all(this.rs.map((r, i) => this.startServer(r, `rs${i + 1}`)));
  }
}
