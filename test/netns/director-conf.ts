// lvsd.conf of one director of an LvsdPair: VRRP instance VI_1 on eth0 (fast adverts, no GARP
// delay, starts BACKUP so priority decides), one TCP virtual service on port 80 scheduled rr over
// the pair's real servers, and optionally the connection sync daemon following VI_1.
import { RS, type DirectorConf } from './lvsd-pair.js';

export interface DirectorConfOptions {
  vrid: number;
  /** lines of virtual_ipaddress, e.g. '192.0.2.100/24' or '198.51.100.254/24 dev eth1' */
  vips: string[];
  /** the virtual service's address (port 80) */
  service: string;
  method: 'NAT' | 'DR' | 'FULLNAT';
  /** the real servers' port */
  rsPort: number;
  /** lvs_sync_daemon eth0 VI_1 [id N]: true for the default sync id */
  syncId?: number | true;
  engine?: 'nft';
  persistenceTimeout?: number;
}

export function directorConf(o: DirectorConfOptions): DirectorConf {
  const sync = o.syncId === undefined ? '' : `    lvs_sync_daemon eth0 VI_1${o.syncId === true ? '' : ` id ${o.syncId}`}\n`;
  return (name, priority, sock) => `global_defs {
    router_id ${name}
${sync}}
lvsd_defs {
${o.engine ? `    engine ${o.engine}\n` : ''}    drain_timeout 1
    control_socket ${sock}
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id ${o.vrid}
    priority ${priority}
    version 3
    advert_int 0.5
    garp_master_delay 0
    garp_master_repeat 2
    virtual_ipaddress {
${o.vips.map((v) => `        ${v}\n`).join('')}    }
}
virtual_server ${o.service} 80 {
    lvs_sched rr
    lvs_method ${o.method}
    protocol TCP
${o.persistenceTimeout === undefined ? '' : `    persistence_timeout ${o.persistenceTimeout}\n`}${RS.map((a) => `    real_server ${a} ${o.rsPort} {\n    }`).join('\n')}
}
`;
}
