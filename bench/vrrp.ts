// VRRP failover time, lvsd vs keepalived 2.2.7 at the same settings: two routers (r1 priority 150
// master, r2 priority 100 backup) in network namespaces, a client probing VIP:8080 every 10 ms.
// The master "dies" (SIGKILL and its link set down, like a host failure); we time until the VIP
// answers from r2. Then r1 comes back and preempts, and the next run starts. Needs root.
import { spawn } from 'node:child_process';
import { addrs, probe, hasArping, hasKeepalived, isRoot, killKeepalivedHard, makeLab, nsExec, sleep, startEcho, startHarness, startKeepalived, Proc, type Lab } from '../test/vrrp/netns-helpers.js';

const VIP = '192.0.2.100';

interface Setting {
  label: string;
  version: 2 | 3;
  advertInt: number;
  runs: number;
}

function kaConf(version: number, priority: number, advertInt: number): string {
  return `global_defs {\n  router_id ka${priority}\n  vrrp_version ${version}\n}\nvrrp_instance VI_1 {\n  interface eth0\n  state BACKUP\n  virtual_router_id 51\n  priority ${priority}\n  advert_int ${advertInt}\n  virtual_ipaddress {\n    ${VIP}/24\n  }\n}\n`;
}

function lvSpec(version: number, priority: number, advertInt: number): object {
  return { logLevel: 'warn', instances: [{ name: 'VI_1', interface: 'eth0', vrid: 51, priority, version, advertInt, virtualIpaddress: [{ address: VIP, prefix: 24 }] }] };
}

function startProber(lab: Lab): Proc {
  const code = `const net=require('net');setInterval(()=>{const t=Date.now();const s=net.connect({host:${JSON.stringify(VIP)},port:8080});let d='';const to=setTimeout(()=>s.destroy(),60);s.on('data',x=>d+=x);s.on('error',()=>{});s.on('close',()=>{clearTimeout(to);if(d)process.stdout.write(JSON.stringify({event:'probe',who:d.trim(),t})+'\\n')})},10);`;
  const child = spawn('ip', ['netns', 'exec', lab.names.cl, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  lab.procs.push(child);
  return new Proc(child);
}

const holds = (lab: Lab, r: string) => addrs(lab, r).includes(VIP);

async function waitUntil(pred: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timeout: ${what}`);
    await sleep(20);
  }
}

async function measure(impl: 'lvsd' | 'keepalived', s: Setting): Promise<number[]> {
  const lab = makeLab('vrrpbench');
  const times: number[] = [];
  try {
    startEcho(lab, 'r1');
    startEcho(lab, 'r2');
    const start = (r: string, prio: number) =>
      impl === 'lvsd' ? startHarness(lab, r, lvSpec(s.version, prio, s.advertInt)) : startKeepalived(lab, r, kaConf(s.version, prio, s.advertInt));
    const prober = startProber(lab);
    const r2 = start('r2', 100);
    const downUs = (3 + (256 - 150) / 256) * s.advertInt * 1000;
    for (let i = 0; i < s.runs; i++) {
      const r1 = start('r1', 150);
      // r1 takes (or takes back) the VIP, r2 releases it, and the client reaches r1.
      await waitUntil(() => holds(lab, 'r1') && !holds(lab, 'r2'), 15_000 + downUs, 'r1 master');
      try {
        await waitUntil(() => prober.events.slice(-3).every((e) => e.who === 'r1') && prober.events.length >= 3, 15_000, 'client on r1');
      } catch (e) {
        console.log(nsExec(lab.names.cl, ['ip', 'neigh']), nsExec(lab.names.r1, ['ip', 'link', 'show', 'eth0']), nsExec(lab.names.r2, ['ip', 'link', 'show', 'eth0']), holds(lab, 'r1'), holds(lab, 'r2'), prober.events.slice(-3), Date.now(), prober.lines.filter((l) => !l.includes('"probe"')).slice(-10), prober.child.exitCode, probe(lab, VIP));
        throw e;
      }
      await sleep(Math.max(300, 2 * s.advertInt * 1000));
      const t0 = Date.now();
      if (impl === 'lvsd') r1.kill('SIGKILL');
      else killKeepalivedHard(r1);
      nsExec(lab.names.r1, ['ip', 'link', 'set', 'eth0', 'down']);
      try {
        await prober.waitFor(() => prober.events.find((e) => e.who === 'r2' && e.t >= t0), 20_000, 'r2 answering');
      } catch (e) {
        console.log('r2 holds VIP', holds(lab, 'r2'), nsExec(lab.names.cl, ['ip', 'neigh']), r2.lines.slice(-8).join('\n'));
        throw e;
      }
      const first = prober.events.find((e) => e.who === 'r2' && e.t >= t0)!;
      times.push(first.t - t0);
      await r1.exited();
      try { nsExec(lab.names.r1, ['ip', 'addr', 'del', `${VIP}/24`, 'dev', 'eth0']); } catch { /* not there */ }
      nsExec(lab.names.r1, ['ip', 'link', 'set', 'eth0', 'up']);
      await sleep(200);
    }
  } finally {
    lab.cleanup();
  }
  return times;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export default async function (): Promise<void> {
  if (!isRoot || !hasKeepalived || !hasArping) {
    console.log(`vrrp bench skipped: ${!isRoot ? 'needs root' : !hasKeepalived ? 'needs /usr/sbin/keepalived' : 'needs arping (iputils-arping) for lvsd GARPs'}`);
    return;
  }
  const runs = Number(process.env.LVSD_VRRP_BENCH_RUNS ?? 0);
  const settings: Setting[] = [
    { label: 'v2 advert_int 1', version: 2, advertInt: 1, runs: runs || 10 },
    { label: 'v3 advert_int 0.05', version: 3, advertInt: 0.05, runs: runs || 10 },
  ];
  console.log('failover: master SIGKILLed + link down -> VIP answers from the backup (client probes every 10 ms)');
  console.log('setting              impl        runs  median ms   max ms   expected (3*int + skew(p100))');
  for (const s of settings.filter((x) => !process.env.LVSD_VRRP_BENCH_ONLY || x.label.startsWith(process.env.LVSD_VRRP_BENCH_ONLY))) {
    const expected = (3 * s.advertInt + ((256 - 100) / 256) * s.advertInt) * 1000;
    for (const impl of (['lvsd', 'keepalived'] as const).filter((i) => !process.env.LVSD_VRRP_BENCH_IMPL || i === process.env.LVSD_VRRP_BENCH_IMPL)) {
      const t = await measure(impl, s);
      console.log(`${s.label.padEnd(20)} ${impl.padEnd(11)} ${String(t.length).padStart(4)} ${median(t).toFixed(0).padStart(10)} ${Math.max(...t).toFixed(0).padStart(8)}   ${expected.toFixed(0)}   [${t.join(' ')}]`);
    }
  }
}
