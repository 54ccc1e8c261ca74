// Two real lvsd directors with VRRP in network namespaces, the set-up the failover suites share.
// Front: makeLab's bridge br0 in the client's namespace `cl` (client 192.0.2.10, r1 192.0.2.1,
// r2 192.0.2.2, each router's `eth0`). Back: a second bridge br1 in the same namespace, joined by
// each director's `eth1` (BACK) and by real servers s1, s2 (RS, each in its own namespace, `eth0`).
// Every director runs `lvsd -n -f CONF` (NsLvsd); cleanup() kills them and removes everything.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLab, nsExec, type Lab } from '../vrrp/netns-helpers.js';
import { NsLvsd } from './ns-lvsd.js';

/** The directors' addresses on the back bridge. */
export const BACK = { r1: '198.51.100.1', r2: '198.51.100.2' } as const;
/** The real servers' addresses on the back bridge (s1, s2). */
export const RS = ['198.51.100.11', '198.51.100.12'];
export type Director = keyof typeof BACK;
/** Director sysctls for a forwarding director whose clients and real servers share no link (no ICMP redirects). */
export const FORWARD_NO_REDIRECTS = ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth1.send_redirects=0'];
/** A director's lvsd.conf, given its name, VRRP priority and control socket path. */
export type DirectorConf = (name: Director, priority: number, sock: string) => string;

export interface LvsdPairOptions {
  /** namespace name area: lvsd-<area>-<random>-… */
  area: string;
  conf: DirectorConf;
  /** sysctl settings (`key=value`) applied in each director once its back link is up */
  directorSysctls?: string[];
}

export class LvsdPair {
  readonly lab: Lab;
  /** The running (or last started) lvsd of each director. */
  readonly daemons = new Map<Director, NsLvsd>();
  private readonly conf: DirectorConf;

  /** Creates the namespaces, both bridges and the directors' back links (no daemon runs yet). */
  constructor(opts: LvsdPairOptions) {
    this.conf = opts.conf;
    this.lab = makeLab(opts.area, ['r1', 'r2']);
    try {
      const cl = this.lab.names.cl!;
      nsExec(cl, ['ip', 'link', 'add', 'br1', 'type', 'bridge']);
      nsExec(cl, ['ip', 'link', 'set', 'br1', 'up']);
      for (const r of ['r1', 'r2'] as const) {
        this.attachBack(this.lab.names[r]!, `b-${r}`, 'eth1', BACK[r]);
        if (opts.directorSysctls?.length) nsExec(this.lab.names[r]!, ['sysctl', '-qw', ...opts.directorSysctls]);
      }
    } catch (e) {
      this.lab.cleanup();
      throw e;
    }
  }

  /** A namespace by its short name (cl, r1, r2, s1, s2). */
  ns(name: string): string {
    const n = this.lab.names[name];
    if (!n) throw new Error(`no namespace ${name}`);
    return n;
  }

  /** A veth from `ns` (device `dev`, address addr/24) into the back bridge (peer `peer`). */
  attachBack(ns: string, peer: string, dev: string, addr: string): void {
    const cl = this.ns('cl');
    spawnSync('ip', ['link', 'add', dev, 'netns', ns, 'type', 'veth', 'peer', 'name', peer, 'netns', cl]);
    nsExec(cl, ['ip', 'link', 'set', peer, 'master', 'br1', 'up']);
    nsExec(ns, ['ip', 'addr', 'add', `${addr}/24`, 'dev', dev]);
    nsExec(ns, ['ip', 'link', 'set', dev, 'up']);
  }

  /**
   * Real servers s1, s2 on the back bridge, each running `node -e serverJs rs<N>`; `setup` runs
   * in each namespace (routes, sysctls) before its server starts. Resolves once both print their
   * first line (they listen).
   */
  async startRealServers(serverJs: string, setup?: (ns: string) => void): Promise<void> {
    const ready: Promise<void>[] = [];
    RS.forEach((addr, i) => {
      const ns = `${this.ns('cl').replace(/-cl$/, '')}-s${i + 1}`;
      this.lab.names[`s${i + 1}`] = ns;
      spawnSync('ip', ['netns', 'add', ns]);
      nsExec(ns, ['ip', 'link', 'set', 'lo', 'up']);
      this.attachBack(ns, `b-s${i + 1}`, 'eth0', addr);
      setup?.(ns);
      const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', serverJs, `rs${i + 1}`], { stdio: ['ignore', 'pipe', 'inherit'] });
      this.lab.procs.push(p);
      ready.push(new Promise((resolve) => p.stdout!.once('data', () => resolve())));
    });
    await Promise.all(ready);
  }

  /** Writes r's config and starts its lvsd; resolves once it logged "lvsd started". */
  async start(r: Director, priority: number): Promise<NsLvsd> {
    const f = join(this.lab.dir, `${r}.conf`);
    const sock = join(this.lab.dir, `${r}.sock`);
    writeFileSync(f, this.conf(r, priority, sock));
    const l = new NsLvsd(this.ns(r), f, sock);
    this.lab.procs.push(l.proc);
    this.daemons.set(r, l);
    await l.started(20_000);
    return l;
  }

  /** r1 (priority 150) and r2 (100) started; resolves once r1 is MASTER and r2 BACKUP. */
  async startMasterBackup(): Promise<{ a: NsLvsd; b: NsLvsd }> {
    const a = await this.start('r1', 150);
    const b = await this.start('r2', 100);
    await a.untilVrrp('MASTER', 'r1 MASTER', 10_000);
    await b.untilVrrp('BACKUP', 'r2 BACKUP', 10_000);
    return { a, b };
  }

  /** The machine r1 is gone: its lvsd killed, then its `links` down. */
  async crashR1(links: string[]): Promise<void> {
    await this.daemons.get('r1')?.kill();
    for (const dev of links) nsExec(this.ns('r1'), ['ip', 'link', 'set', dev, 'down']);
  }

  /** A named set of table inet lvsd in r's namespace ('' when the table or set is absent). */
  nftSet(r: Director, set: string): string {
    const out = spawnSync('ip', ['netns', 'exec', this.ns(r), 'nft', 'list', 'set', 'inet', 'lvsd', set], { encoding: 'utf8' });
    return out.status === 0 ? out.stdout : '';
  }

  async cleanup(): Promise<void> {
    for (const l of this.daemons.values()) await l.kill();
    this.lab.cleanup();
  }
}
