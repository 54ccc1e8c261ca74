// Connection sync of an nft NAT service between two real lvsd daemons: a TCP connection opened
// through the MASTER is announced to the BACKUP; the MASTER dies, the BACKUP takes the VIPs (the
// service address in front, the real servers' gateway behind) and creates the flow's conntrack
// entry with its NAT binding (conntrack -I), so the same client socket goes on talking to the
// same real server through the new MASTER.
// Namespaces: front bridge (client, r1, r2), back bridge (r1, r2, rs1, rs2).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { isRoot, makeLab, nsExec, type Lab } from '../vrrp/netns-helpers.js';
import { NsLvsd } from './ns-lvsd.js';

if (!isRoot) console.log('test/netns/sync-nat-failover: skipped, needs root for network namespaces, nftables and raw sockets');
const d = isRoot ? describe : describe.skip;

const VIP = '192.0.2.100';
/** The real servers' default gateway, moved by VRRP with the VIP (LVS-NAT's usual set-up). */
const GW = '198.51.100.254';
const BACK = { r1: '198.51.100.1', r2: '198.51.100.2' } as const;
const RS = ['198.51.100.11', '198.51.100.12'];
type Director = keyof typeof BACK;

/** A real server whose kept-alive connections stay open for two minutes. */
const RS_JS = `
const http = require('http'); const name = process.argv[1];
const s = http.createServer((req, res) => res.end(JSON.stringify({ rs: name })));
s.keepAliveTimeout = 120000; s.listen(80, () => console.log('ready'));
`;
/** One kept-alive connection; each stdin line sends a request on it and prints { rs, port } or { error }. */
const CLIENT_JS = `
const http = require('http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const once = () => new Promise((res) => { const req = http.get(process.argv[1], { agent, timeout: 15000 }, (r) => { let b = ''; r.on('data', (d) => b += d);
  r.on('end', () => res({ ...JSON.parse(b), port: req.socket.localPort })); }); req.on('error', (e) => res({ error: e.code })); req.on('timeout', () => { req.destroy(); res({ error: 'timeout' }); }); });
let chain = Promise.resolve();
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { for (const _ of d.split('\\n').filter(Boolean)) chain = chain.then(once).then((r) => console.log(JSON.stringify(r))); });
`;

function conf(name: Director, priority: number, sock: string): string {
  return `global_defs {
    router_id ${name}
    lvs_sync_daemon eth0 VI_1 id 54
}
lvsd_defs {
    engine nft
    drain_timeout 1
    control_socket ${sock}
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 54
    priority ${priority}
    version 3
    advert_int 0.5
    garp_master_delay 0
    garp_master_repeat 2
    virtual_ipaddress {
        ${VIP}/24
        ${GW}/24 dev eth1
    }
}
virtual_server ${VIP} 80 {
    lvs_sched rr
    lvs_method NAT
    protocol TCP
${RS.map((a) => `    real_server ${a} 80 {\n    }`).join('\n')}
}
`;
}

d('two lvsd directors: a NAT connection survives the MASTER through connection sync', () => {
  let lab: Lab;
  const daemons = new Map<Director, NsLvsd>();
  let client: ChildProcess | null = null;

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

  beforeAll(async () => {
    lab = makeLab('sync', ['r1', 'r2']);
    const cl = lab.names.cl!;
    nsExec(cl, ['ip', 'link', 'add', 'br1', 'type', 'bridge']);
    nsExec(cl, ['ip', 'link', 'set', 'br1', 'up']);
    const attach = (ns: string, peer: string, dev: string, addr: string): void => {
      spawnSync('ip', ['link', 'add', dev, 'netns', ns, 'type', 'veth', 'peer', 'name', peer, 'netns', cl]);
      nsExec(cl, ['ip', 'link', 'set', peer, 'master', 'br1', 'up']);
      nsExec(ns, ['ip', 'addr', 'add', `${addr}/24`, 'dev', dev]);
      nsExec(ns, ['ip', 'link', 'set', dev, 'up']);
    };
    for (const r of ['r1', 'r2'] as const) {
      attach(lab.names[r]!, `b-${r}`, 'eth1', BACK[r]);
      nsExec(lab.names[r]!, ['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth1.send_redirects=0']);
    }
    const ready: Promise<void>[] = [];
    RS.forEach((addr, i) => {
      const ns = `${cl.replace(/-cl$/, '')}-s${i + 1}`;
      lab.names[`s${i + 1}`] = ns;
      spawnSync('ip', ['netns', 'add', ns]);
      nsExec(ns, ['ip', 'link', 'set', 'lo', 'up']);
      attach(ns, `b-s${i + 1}`, 'eth0', addr);
      nsExec(ns, ['ip', 'route', 'add', 'default', 'via', GW]);
      const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', RS_JS, `rs${i + 1}`], { stdio: ['ignore', 'pipe', 'inherit'] });
      lab.procs.push(p);
      ready.push(new Promise((resolve) => p.stdout!.once('data', () => resolve())));
    });
    await Promise.all(ready);
  }, 30_000);

  afterAll(async () => {
    client?.kill('SIGKILL');
    for (const l of daemons.values()) await l.kill();
    lab?.cleanup();
  });

  it('the connection opened through r1 is on r2 before r1 dies, and goes on through r2 to the same real server', async () => {
    const a = await start('r1', 150);
    const b = await start('r2', 100);
    await a.until(() => vrrpState(a) === 'MASTER', 'r1 MASTER', 10_000);
    await b.until(() => vrrpState(b) === 'BACKUP', 'r2 BACKUP', 10_000);
    const programmed = (r: Director): boolean =>
      spawnSync('ip', ['netns', 'exec', lab.names[r]!, 'nft', 'list', 'set', 'inet', 'lvsd', 'svc4'], { encoding: 'utf8' }).stdout.includes(VIP);
    await a.until(() => programmed('r1'), 'r1 programs the VIP', 10_000);

    client = spawn('ip', ['netns', 'exec', lab.names.cl!, process.execPath, '-e', CLIENT_JS, `http://${VIP}/`], { stdio: ['pipe', 'pipe', 'inherit'] });
    lab.procs.push(client);
    const replies: { rs?: string; port?: number; error?: string }[] = [];
    createInterface({ input: client.stdout! }).on('line', (l) => replies.push(JSON.parse(l)));
    const ask = async (): Promise<{ rs?: string; port?: number; error?: string }> => {
      const n = replies.length;
      client!.stdin!.write('go\n');
      await a.until(() => replies.length > n, 'a reply', 20_000);
      return replies[n]!;
    };
    let first = await ask();
    for (let i = 0; i < 20 && first.error; i++) first = await ask(); // the client's ARP for the VIP may lag r1's GARP
    expect(first).toMatchObject({ rs: expect.stringMatching(/^rs[12]$/) });
    const rsAddr = RS[Number(first.rs!.slice(2)) - 1]!;

    // r1 follows the flow's state in conntrack; ESTABLISHED is announced and reaches r2 within
    // the 2 s flush time.
    const row = new RegExp(`^TCP\\s+\\S+\\s+ESTABLISHED\\s+192\\.0\\.2\\.10:${first.port}\\s+${VIP.replace(/\./g, '\\.')}:80\\s+${rsAddr.replace(/\./g, '\\.')}:80$`, 'm');
    await b.until(() => row.test(b.lvsadm('-L', '-c', '-n')), 'the connection on r2', 15_000);
    expect(b.lvsadm('-L', '--daemon')).toMatch(/^backup sync daemon \(mcast=eth0, syncid=54,/);

    // r1 dies with its links; r2 takes the VIPs and creates the flow's conntrack entry.
    await a.kill();
    for (const dev of ['eth0', 'eth1']) nsExec(lab.names.r1!, ['ip', 'link', 'set', dev, 'down']);
    await b.until(() => vrrpState(b) === 'MASTER', 'r2 MASTER', 10_000);
    await b.until(() => b.logs.some((l) => l.msg === 'sync: NAT flows adopted'), 'r2 adopts the NAT flow', 10_000);
    const ct = spawnSync('ip', ['netns', 'exec', lab.names.r2!, 'conntrack', '-L', '-p', 'tcp', '--orig-port-src', String(first.port)], { encoding: 'utf8' }).stdout;
    expect(ct).toMatch(new RegExp(`ESTABLISHED src=192\\.0\\.2\\.10 dst=${VIP.replace(/\./g, '\\.')} sport=${first.port} dport=80 .*src=${rsAddr.replace(/\./g, '\\.')} dst=192\\.0\\.2\\.10 sport=80 dport=${first.port} .*mark=`));
    for (const n of ['cl', 's1', 's2']) nsExec(lab.names[n]!, ['ip', 'neigh', 'flush', 'all']);

    const after = await ask();
    expect(after).toEqual({ rs: first.rs, port: first.port });
  }, 90_000);
});
