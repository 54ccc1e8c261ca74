// VRRP failover of an nft (FULLNAT) service between two real lvsd daemons. Namespaces: a client
// on the front bridge with directors r1 (priority 150) and r2 (100); both directors and two real
// servers on a back bridge. Each director runs `lvsd -n -f CONF` with a vrrp_instance owning the
// VIP and `engine nft`; the real servers report the address they saw, which for FULLNAT
// (masquerade) is the serving director's back address. So every answer says which director's nft
// table carried it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { hasArping, isRoot, nsExec, sleep } from '../vrrp/netns-helpers.js';
import { directorConf } from './director-conf.js';
import { BACK, LvsdPair, type Director } from './lvsd-pair.js';
import { FETCH_JS, SERVER_JS, type Reply } from './nft-topology.js';

if (!isRoot) console.log('test/netns/nft-vrrp-failover: skipped, needs root for network namespaces, nftables and raw sockets');
if (isRoot && !hasArping) console.log('test/netns/nft-vrrp-failover: skipped, the client follows the VIP by gratuitous ARP: install iputils-arping');
const d = isRoot && hasArping ? describe : describe.skip;

const VIP = '192.0.2.100';

const conf = directorConf({ vrid: 52, vips: [`${VIP}/24`], service: VIP, method: 'FULLNAT', rsPort: 8080, engine: 'nft' });

d('two lvsd directors: VRRP moves an nft FULLNAT service', () => {
  let pair: LvsdPair;

  /** The VIP service's entry in a director's table inet lvsd ('' when the table is absent). */
  const programmed = (r: Director): string => pair.nftSet(r, 'svc4');
  const hasTable = (r: Director): boolean => /table inet lvsd\b/.test(nsExec(pair.ns(r), ['nft', 'list', 'tables']));
  const fetch = (n: number): Reply[] => {
    const r = spawnSync('ip', ['netns', 'exec', pair.ns('cl'), process.execPath, '-e', FETCH_JS, `http://${VIP}/`, String(n)], { encoding: 'utf8', timeout: 20_000 });
    return r.status === 0 ? (JSON.parse(r.stdout) as Reply[]) : [{ error: r.stderr }];
  };
  /** Fetches until the serving director is `r` (the client's ARP entry follows the VIP's GARPs). */
  const servedBy = async (r: Director, ms: number): Promise<boolean> => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (fetch(1)[0].client === BACK[r]) return true;
      await sleep(100);
    }
    return false;
  };

  beforeAll(async () => {
    pair = new LvsdPair({ area: 'nft', conf, directorSysctls: ['net.ipv4.ip_forward=1'] });
    await pair.startRealServers(SERVER_JS);
  }, 30_000);

  afterAll(async () => {
    await pair?.cleanup();
  });

  it('MASTER serves through its nft table; SIGKILL -> the BACKUP programs the VIP and serves; preemption brings it back', async () => {
    const { a, b } = await pair.startMasterBackup();
    await a.until(() => programmed('r1').includes(VIP), 'r1 programs the VIP', 10_000);
    // The BACKUP holds no VIP, so it has no nft service (and no table unless it was MASTER once).
    expect(programmed('r2')).not.toContain(VIP);
    expect(await servedBy('r1', 10_000)).toBe(true);
    const viaR1 = fetch(4);
    expect(viaR1.map((x) => x.client)).toEqual(Array(4).fill(BACK.r1));
    expect(new Set(viaR1.map((x) => x.rs))).toEqual(new Set(['rs1', 'rs2']));

    // Crash: a killed lvsd cleans nothing up: its table (and the VIP address) stay in r1.
    await a.kill();
    expect(hasTable('r1')).toBe(true);
    expect(programmed('r1')).toContain(VIP);
    await b.untilVrrp('MASTER', 'r2 MASTER', 10_000);
    await b.until(() => programmed('r2').includes(VIP), 'r2 programs the VIP', 10_000);
    // The client's traffic follows r2's gratuitous ARPs: r1's leftover table sees none of it.
    expect(await servedBy('r2', 10_000)).toBe(true);
    const viaR2 = fetch(4);
    expect(viaR2.map((x) => x.client)).toEqual(Array(4).fill(BACK.r2));
    expect(new Set(viaR2.map((x) => x.rs))).toEqual(new Set(['rs1', 'rs2']));

    // r1 restarts (adopting its leftover table), preempts, reprograms; r2 unprograms the VIP.
    const a2 = await pair.start('r1', 150);
    await a2.untilVrrp('MASTER', 'r1 MASTER again', 10_000);
    await b.untilVrrp('BACKUP', 'r2 BACKUP again', 10_000);
    await b.until(() => !programmed('r2').includes(VIP), 'r2 unprograms the VIP', 10_000);
    expect(programmed('r1')).toContain(VIP);
    expect(await servedBy('r1', 10_000)).toBe(true);
    expect(fetch(4).map((x) => x.client)).toEqual(Array(4).fill(BACK.r1));
  }, 90_000);
});
