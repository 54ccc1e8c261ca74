// Connection sync of an nft DR service between two real lvsd daemons: a TCP connection opened
// through the MASTER is announced to the BACKUP (lvsadm -L -c shows it there), the MASTER dies,
// the BACKUP takes the VIP and puts the synced flow into its DR flow set, and the same client
// socket goes on talking to the same real server (a request over the kept-alive connection is
// answered by it; a real server that had not seen the connection would reset it).
// Namespaces: front bridge (client, r1, r2), back bridge (r1, r2, rs1, rs2, and the client's
// namespace as the real servers' router, so replies bypass the directors as DR has it). VRRP
// moves the address the VIP is routed to (the nft engine's DR cannot forward a VIP that is a
// local address of the director: the local routing table wins over its policy routes), so the
// DR service is programmed on both directors and the BACKUP adopts synced flows at once.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { isRoot, nsExec } from '../vrrp/netns-helpers.js';
import { connectThroughMaster, establishedRow, KEPT_ALIVE_SERVER_JS, type KeptAliveClient } from './kept-alive-client.js';
import { directorConf } from './director-conf.js';
import { FORWARD_NO_REDIRECTS, LvsdPair, type Director } from './lvsd-pair.js';

if (!isRoot) console.log('test/netns/sync-dr-failover: skipped, needs root for network namespaces, nftables and raw sockets');
const d = isRoot ? describe : describe.skip;

/** The DR service's address: routed by the client's namespace (the upstream router) to the VRRP address. */
const VIP = '203.0.113.10';
/** The address VRRP moves between the directors: the next hop for the VIP. */
const VRRP_ADDR = '192.0.2.99';

const conf = directorConf({ vrid: 53, vips: [`${VRRP_ADDR}/24`], service: VIP, method: 'DR', rsPort: 80, syncId: true, engine: 'nft' });

d('two lvsd directors: a DR connection survives the MASTER through connection sync', () => {
  let pair: LvsdPair;
  let client: KeptAliveClient | null = null;

  beforeAll(async () => {
    pair = new LvsdPair({ area: 'sync', conf, directorSysctls: FORWARD_NO_REDIRECTS });
    const cl = pair.ns('cl');
    nsExec(cl, ['ip', 'route', 'add', `${VIP}/32`, 'via', VRRP_ADDR]);
    nsExec(cl, ['ip', 'addr', 'add', '198.51.100.254/24', 'dev', 'br1']);
    // replies from the VIP come back over br1 while the VIP is reached over br0
    nsExec(cl, ['sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.br1.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
    await pair.startRealServers(KEPT_ALIVE_SERVER_JS, (ns) => {
      nsExec(ns, ['ip', 'route', 'add', 'default', 'via', '198.51.100.254']);
      nsExec(ns, ['sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2']);
      nsExec(ns, ['ip', 'addr', 'add', `${VIP}/32`, 'dev', 'lo']);
    });
  }, 30_000);

  afterAll(async () => {
    client?.kill();
    await pair?.cleanup();
  });

  it('the connection opened through r1 is on r2 before r1 dies, and answers from the same real server after', async () => {
    const { a, b } = await pair.startMasterBackup();
    const programmed = (r: Director): boolean => pair.nftSet(r, 'drsvc4').includes(VIP);
    await a.until(() => programmed('r1') && programmed('r2'), 'both program the VIP', 10_000);

    const opened = await connectThroughMaster(pair, a, VIP);
    client = opened.client;
    const { first, rsAddr } = opened;

    // r1 folds the flow's state from its nft sets (every 2 s); ESTABLISHED is announced and
    // reaches r2 within the 2 s flush time.
    const row = establishedRow(first.port, VIP, rsAddr);
    await b.until(() => row.test(b.lvsadm('-L', '-c', '-n')), 'the connection on r2', 15_000);
    await b.until(() => b.logs.some((l) => l.msg === 'sync: DR flows adopted'), 'r2 adopts the DR flow', 10_000);
    const flowSets = spawnSync('ip', ['netns', 'exec', pair.ns('r2'), 'nft', 'list', 'table', 'inet', 'lvsd'], { encoding: 'utf8' }).stdout;
    expect(flowSets).toContain(`192.0.2.10 . ${first.port} . ${VIP} . 80`);
    expect(b.lvsadm('-L', '--daemon')).toMatch(/^backup sync daemon \(mcast=eth0, syncid=53,/);

    // r1 dies with its link; r2 takes the VIP and adopts the flow into its DR flow set.
    await pair.crashR1(['eth0']);
    await b.untilVrrp('MASTER', 'r2 MASTER', 10_000);
    nsExec(pair.ns('cl'), ['ip', 'neigh', 'flush', 'dev', 'br0']);

    const after = await opened.client.ask(b);
    expect(after).toEqual({ rs: first.rs, port: first.port });
  }, 90_000);
});
