// Connection sync between two real lvsd daemons (global_defs lvs_sync_daemon following the VRRP
// instance): persistence templates made through the MASTER reach the BACKUP (lvsadm -L -c shows
// them there, -L --daemon shows which daemon runs where); the MASTER dies, the BACKUP takes the
// VIP, and every client goes on to the real server the dead MASTER chose for it.
// Namespaces: a client on the front bridge with directors r1 (priority 150) and r2 (100), both
// directors and two real servers on a back bridge. Proxy engine, persistence per client address.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { isRoot, nsExec, sleep } from '../vrrp/netns-helpers.js';
import { directorConf } from './director-conf.js';
import { LvsdPair, RS } from './lvsd-pair.js';
import { SERVER_JS } from './nft-topology.js';
import type { NsLvsd } from './ns-lvsd.js';

if (!isRoot) console.log('test/netns/sync-failover: skipped, needs root for network namespaces and raw sockets');
const d = isRoot ? describe : describe.skip;

const VIP = '192.0.2.100';
const CLIENTS = ['192.0.2.50', '192.0.2.51', '192.0.2.52', '192.0.2.53', '192.0.2.54', '192.0.2.55'];

/** One GET per source address; prints [{ from, rs } | { from, error }] as JSON. */
const FETCH_FROM_JS = `
const http = require('http');
const [url, ...froms] = process.argv.slice(1);
(async () => { const out = [];
  for (const from of froms) out.push(await new Promise((res) => {
    const req = http.get(url, { agent: false, timeout: 3000, localAddress: from }, (r) => { let b = ''; r.on('data', (d) => b += d); r.on('end', () => res({ from, rs: JSON.parse(b).rs })); });
    req.on('timeout', () => { req.destroy(); res({ from, error: 'timeout' }); });
    req.on('error', (e) => res({ from, error: e.code }));
  }));
  console.log(JSON.stringify(out)); })();
`;

const conf = directorConf({ vrid: 52, vips: [`${VIP}/24`], service: VIP, method: 'NAT', rsPort: 8080, syncId: 52, persistenceTimeout: 600 });

d('two lvsd directors: connection sync carries persistence across a failover', () => {
  let pair: LvsdPair;
  const fetchFrom = (froms: string[]): { from: string; rs?: string; error?: string }[] => {
    const r = spawnSync('ip', ['netns', 'exec', pair.ns('cl'), process.execPath, '-e', FETCH_FROM_JS, `http://${VIP}/`, ...froms], { encoding: 'utf8', timeout: 30_000 });
    return r.status === 0 ? JSON.parse(r.stdout) : froms.map((from) => ({ from, error: r.stderr }));
  };
  /** lvsadm -L -c -n rows as "state client -> real server" (templates have state NONE). */
  const conns = (l: NsLvsd): string[] =>
    l.lvsadm('-L', '-c', '-n').split('\n').slice(2).filter(Boolean).map((row) => {
      const f = row.trim().split(/\s+/);
      return `${f[2]} ${f[3]} -> ${f[5]}`;
    }).sort();

  beforeAll(async () => {
    pair = new LvsdPair({ area: 'sync', conf });
    for (const a of CLIENTS) nsExec(pair.ns('cl'), ['ip', 'addr', 'add', `${a}/24`, 'dev', 'br0']);
    await pair.startRealServers(SERVER_JS);
  }, 30_000);

  afterAll(async () => {
    await pair?.cleanup();
  });

  it('templates made through the MASTER are on the BACKUP; after the MASTER dies each client keeps its real server', async () => {
    const { a, b } = await pair.startMasterBackup();
    expect(a.lvsadm('-L', '--daemon')).toBe('master sync daemon (mcast=eth0, syncid=52, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n');
    expect(b.lvsadm('-L', '--daemon')).toBe('backup sync daemon (mcast=eth0, syncid=52, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n');

    // Each client's first connection makes its template on r1 (rr alternates the real servers).
    let before: { from: string; rs?: string; error?: string }[] = [];
    const until = Date.now() + 10_000;
    do {
      before = fetchFrom(CLIENTS);
      if (before.every((x) => x.rs)) break;
      await sleep(200);
    } while (Date.now() < until);
    expect(before.every((x) => x.rs)).toBe(true);
    expect(new Set(before.map((x) => x.rs))).toEqual(new Set(['rs1', 'rs2']));
    const rsAddr = (name: string | undefined): string => RS[Number(name?.slice(2)) - 1]!;
    const expected = CLIENTS.map((c) => `NONE ${c}:0 -> ${rsAddr(before.find((x) => x.from === c)?.rs)}:8080`).sort();

    // The templates reach r2 within the sync flush time (2 s) and the connections' states.
    await b.until(() => {
      const rows = conns(b).filter((r) => r.startsWith('NONE'));
      return rows.length === CLIENTS.length;
    }, 'templates on r2', 10_000);
    expect(conns(b).filter((r) => r.startsWith('NONE'))).toEqual(expected);

    // The MASTER dies with its link (the machine is gone); r2 takes the VIP.
    await pair.crashR1(['eth0']);
    await b.untilVrrp('MASTER', 'r2 MASTER', 10_000);
    expect(b.lvsadm('-L', '--daemon')).toBe('master sync daemon (mcast=eth0, syncid=52, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n');
    nsExec(pair.ns('cl'), ['ip', 'neigh', 'flush', 'dev', 'br0']);

    // Every client, asking again (in reverse order, so a fresh rr could not match by chance),
    // gets the real server r1 chose for it.
    let after: { from: string; rs?: string; error?: string }[] = [];
    const until2 = Date.now() + 10_000;
    do {
      after = fetchFrom([...CLIENTS].reverse());
      if (after.every((x) => x.rs)) break;
      await sleep(200);
    } while (Date.now() < until2);
    expect(after.map((x) => `${x.from} ${x.rs}`).sort()).toEqual(before.map((x) => `${x.from} ${x.rs}`).sort());
  }, 90_000);
});
