// Config load time for a generated 1,000 virtual server x 10 real server file (10,000 real
// servers, each with a TCP_CHECK): preprocess + parse + keyword tables + validation.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.js';

export function generateConfig(services: number, perService: number): string {
  const out: string[] = ['global_defs {\n    router_id bench\n}\n'];
  for (let v = 0; v < services; v++) {
    const vip = `10.${(v >> 8) & 255}.${v & 255}.1`;
    out.push(`virtual_server ${vip} 80 {\n    lvs_sched wlc\n    lvs_method NAT\n    protocol TCP\n    delay_loop 5\n`);
    for (let r = 0; r < perService; r++) {
      out.push(`    real_server 172.16.${v % 250}.${r + 1} 8080 {\n        weight ${1 + (r % 5)}\n        TCP_CHECK {\n            connect_timeout 2\n        }\n    }\n`);
    }
    out.push('}\n');
  }
  return out.join('');
}

export default async function bench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-bench-config-'));
  try {
    const file = join(dir, 'big.conf');
    const text = generateConfig(1000, 10);
    writeFileSync(file, text);
    const times: number[] = [];
    let peakHeap = 0;
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    for (let i = 0; i < 7; i++) {
      const t0 = process.hrtime.bigint();
      const r = loadConfig(file, { configId: 'bench' });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const mem = process.memoryUsage();
      peakHeap = Math.max(peakHeap, mem.heapUsed);
      peakRss = Math.max(peakRss, mem.rss);
      if (!r.config || r.config.virtual_server.length !== 1000) throw new Error('generated config did not load');
      times.push(ms);
    }
    times.sort((a, b) => a - b);
    const lines = text.split('\n').length;
    console.log(`config: 1,000 virtual servers x 10 real servers (${lines} lines, ${(text.length / 1e6).toFixed(1)} MB)`);
    console.log(`  load (preprocess+parse+model+validate): median ${times[3].toFixed(0)} ms, min ${times[0].toFixed(0)} ms, max ${times[6].toFixed(0)} ms  (goal < 300 ms)`);
    console.log(`  peak heap used ${(peakHeap / 1048576).toFixed(0)} MiB, peak RSS ${(peakRss / 1048576).toFixed(0)} MiB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
