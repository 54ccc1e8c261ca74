// Connection sync of an nft NAT service between two real lvsd daemons: a TCP connection opened
// through the MASTER is announced to the BACKUP; the MASTER dies, the BACKUP takes the VIPs (the
// service address in front, the real servers' gateway behind) and creates the flow's conntrack
// entry with its NAT binding (conntrack -I), so the same client socket goes on talking to the
// same real server through the new MASTER.
// Namespaces: front bridge (client, r1, r2), back bridge (r1, r2, rs1, rs2).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { isRoot, nsExec } from '../vrrp/netns-helpers.js';
import { connectThroughMaster, establishedRow, KEPT_ALIVE_SERVER_JS, type KeptAliveClient } from './kept-alive-client.js';
import { directorConf } from './director-conf.js';
import { FORWARD_NO_REDIRECTS, LvsdPair, type Director } from './lvsd-pair.js';

if (!isRoot) console.log('test/netns/sync-nat-failover: skipped, needs root for network namespaces, nftables and raw sockets');
const d = isRoot ? describe : describe.skip;

const VIP = '192.0.2.100';
/** The real servers' default gateway, moved by VRRP with the VIP (LVS-NAT's usual set-up). */
const GW = '198.51.100.254';

const conf = directorConf({ vrid: 54, vips: [`${VIP}/24`, `${GW}/24 dev eth1`], service: VIP, method: 'NAT', rsPort: 80, syncId: 54, engine: 'nft' });

d('two lvsd directors: a NAT connection survives the MASTER through connection sync', () => {
  let pair: LvsdPair;
  let client: KeptAliveClient | null = null;

  beforeAll(async () => {
    pair = new LvsdPair({ area: 'sync', conf, directorSysctls: FORWARD_NO_REDIRECTS });
    await pair.startRealServers(KEPT_ALIVE_SERVER_JS, (ns) => nsExec(ns, ['ip', 'route', 'add', 'default', 'via', GW]));
  }, 30_000);

  afterAll(async () => {
    client?.kill();
    await pair?.cleanup();
  });

  it('the connection opened through r1 is on r2 before r1 dies, and goes on through r2 to the same real server', async () => {
    const { a, b } = await pair.startMasterBackup();
    const programmed = (r: Director): boolean => pair.nftSet(r, 'svc4').includes(VIP);
    await a.until(() => programmed('r1'), 'r1 programs the VIP', 10_000);

    const opened = await connectThroughMaster(pair, a, VIP);
    client = opened.client;
    const { first, rsAddr } = opened;

    // r1 follows the flow's state in conntrack; ESTABLISHED is announced and reaches r2 within
    // the 2 s flush time.
    const row = establishedRow(first.port, VIP, rsAddr);
    await b.until(() => row.test(b.lvsadm('-L', '-c', '-n')), 'the connection on r2', 15_000);
    expect(b.lvsadm('-L', '--daemon')).toMatch(/^backup sync daemon \(mcast=eth0, syncid=54,/);

    // r1 dies with its links; r2 takes the VIPs and creates the flow's conntrack entry.
    await pair.crashR1(['eth0', 'eth1']);
    await b.untilVrrp('MASTER', 'r2 MASTER', 10_000);
    await b.until(() => b.logs.some((l) => l.msg === 'sync: NAT flows adopted'), 'r2 adopts the NAT flow', 10_000);
    const ct = spawnSync('ip', ['netns', 'exec', pair.ns('r2'), 'conntrack', '-L', '-p', 'tcp', '--orig-port-src', String(first.port)], { encoding: 'utf8' }).stdout;
    expect(ct).toMatch(new RegExp(`ESTABLISHED src=192\\.0\\.2\\.10 dst=${VIP.replace(/\./g, '\\.')} sport=${first.port} dport=80 .*src=${rsAddr.replace(/\./g, '\\.')} dst=192\\.0\\.2\\.10 sport=80 dport=${first.port} .*mark=`));
    for (const n of ['cl', 's1', 's2']) nsExec(pair.ns(n), ['ip', 'neigh', 'flush', 'all']);

    const after = await opened.client.ask(b);
    expect(after).toEqual({ rs: first.rs, port: first.port });
  }, 90_000);
});
