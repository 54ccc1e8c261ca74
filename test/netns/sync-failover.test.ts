// Connection sync between two real lvsd daemons (global_defs lvs_sync_daemon following the VRRP
// instance): persistence templates made through the MASTER reach the BACKUP (lvsadm -L -c shows
// them there, -L --daemon shows which daemon runs where); the MASTER dies, the BACKUP takes the
// VIP, and every client goes on to the real server the dead MASTER chose for it.
// Namespaces: a client on the front bridge with directors r1 (priority 150) and r2 (100), both
// directors and two real servers on a back bridge. Proxy engine, persistence per client address.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, makeLab, nsExec, sleep, type Lab } from '../vrrp/netns-helpers.js';
import { SERVER_JS } from './nft-topology.js';
import { NsLvsd } from './ns-lvsd.js';

if (!isRoot) console.log('test/netns/sync-failover: skipped, needs root for network namespaces and raw sockets');
const d = isRoot ? describe : describe.skip;

const VIP = '192.0.2.100';
const BACK = { r1: '198.51.100.1', r2: '198.51.100.2' } as const;
const RS = ['198.51.100.11', '198.51.100.12'];
const CLIENTS = ['192.0.2.50', '192.0.2.51', '192.0.2.52', '192.0.2.53', '192.0.2.54', '192.0.2.55'];
type Director = keyof typeof BACK;

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

function conf(name: Director, priority: number, sock: string): string {
  return `global_defs {
    router_id ${name}
    lvs_sync_daemon eth0 VI_1 id 52
}
lvsd_defs {
    drain_timeout 1
    control_socket ${sock}
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority ${priority}
    version 3
    advert_int 0.5
    garp_master_delay 0
    garp_master_repeat 2
    virtual_ipaddress {
        ${VIP}/24
    }
}
virtual_server ${VIP} 80 {
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    persistence_timeout 600
${RS.map((a) => `    real_server ${a} 8080 {\n    }`).join('\n')}
}
`;
}

d('two lvsd directors: connection sync carries persistence across a failover', () => {
  let lab: Lab;
  const daemons = new Map<Director, NsLvsd>();

  const start = async (r: Director, priority: number): Promise<NsLvsd> => {
    const f = join(lab.dir, `${r}.conf`);
    const sock = join(lab.dir, `${r}.sock`);
    writeFileSync(f, conf(r, priority, sock));
    const l = new NsLvsd(lab.names[r]!, f, sock);
    lab.procs.push(l.proc);
    daemons.set(r, l);
    await l.started(20_000);
    return l;
  };
  const vrrpState = (l: NsLvsd): string | undefined => l.logs.filter((x) => x.msg === 'vrrp state').at(-1)?.to as string | undefined;
  const fetchFrom = (froms: string[]): { from: string; rs?: string; error?: string }[] => {
    const r = spawnSync('ip', ['netns', 'exec', lab.names.cl!, process.execPath, '-e', FETCH_FROM_JS, `http://${VIP}/`, ...froms], { encoding: 'utf8', timeout: 30_000 });
    return r.status === 0 ? JSON.parse(r.stdout) : froms.map((from) => ({ from, error: r.stderr }));
  };
  /** lvsadm -L -c -n rows as "state client -> real server" (templates have state NONE). */
  const conns = (l: NsLvsd): string[] =>
    l.lvsadm('-L', '-c', '-n').split('\n').slice(2).filter(Boolean).map((row) => {
      const f = row.trim().split(/\s+/);
      return `${f[2]} ${f[3]} -> ${f[5]}`;
    }).sort();

  beforeAll(async () => {
    lab = makeLab('sync', ['r1', 'r2']);
    const cl = lab.names.cl!;
    for (const a of CLIENTS) nsExec(cl, ['ip', 'addr', 'add', `${a}/24`, 'dev', 'br0']);
    nsExec(cl, ['ip', 'link', 'add', 'br1', 'type', 'bridge']);
    nsExec(cl, ['ip', 'link', 'set', 'br1', 'up']);
    const attach = (ns: string, peer: string, dev: string, addr: string): void => {
      spawnSync('ip', ['link', 'add', dev, 'netns', ns, 'type', 'veth', 'peer', 'name', peer, 'netns', cl]);
      nsExec(cl, ['ip', 'link', 'set', peer, 'master', 'br1', 'up']);
      nsExec(ns, ['ip', 'addr', 'add', `${addr}/24`, 'dev', dev]);
      nsExec(ns, ['ip', 'link', 'set', dev, 'up']);
    };
    for (const r of ['r1', 'r2'] as const) attach(lab.names[r]!, `b-${r}`, 'eth1', BACK[r]);
    const ready: Promise<void>[] = [];
    RS.forEach((addr, i) => {
      const ns = `${cl.replace(/-cl$/, '')}-s${i + 1}`;
      lab.names[`s${i + 1}`] = ns;
      spawnSync('ip', ['netns', 'add', ns]);
      nsExec(ns, ['ip', 'link', 'set', 'lo', 'up']);
      attach(ns, `b-s${i + 1}`, 'eth0', addr);
      const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER_JS, `rs${i + 1}`], { stdio: ['ignore', 'pipe', 'inherit'] });
      lab.procs.push(p);
      ready.push(new Promise((resolve) => p.stdout!.once('data', () => resolve())));
    });
    await Promise.all(ready);
  }, 30_000);

  afterAll(async () => {
    for (const l of daemons.values()) await l.kill();
    lab?.cleanup();
  });

  it('templates made through the MASTER are on the BACKUP; after the MASTER dies each client keeps its real server', async () => {
    const a = await start('r1', 150);
    const b = await start('r2', 100);
    await a.until(() => vrrpState(a) === 'MASTER', 'r1 MASTER', 10_000);
    await b.until(() => vrrpState(b) === 'BACKUP', 'r2 BACKUP', 10_000);
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
    await a.kill();
    nsExec(lab.names.r1!, ['ip', 'link', 'set', 'eth0', 'down']);
    await b.until(() => vrrpState(b) === 'MASTER', 'r2 MASTER', 10_000);
    expect(b.lvsadm('-L', '--daemon')).toBe('master sync daemon (mcast=eth0, syncid=52, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n');
    nsExec(lab.names.cl!, ['ip', 'neigh', 'flush', 'dev', 'br0']);

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
