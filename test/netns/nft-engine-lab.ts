// How the nft namespace suites run the engine and a daemon in a lab: lvsd's table with the suite's
// service specs and an NftEngine on it in the lab's director namespace; tear-downs that stop the
// engine (or kill the daemon) before the lab's namespaces go, also when stopping fails.
import { rmSync } from 'node:fs';
import { NftEngine, TableDirector, type NftService } from '../../src/forward/nft/index.js';
import { createTable, type IpvsTable, type ServiceSpec } from '../../src/ipvs/index.js';
import type { NsLvsd } from './ns-lvsd.js';

interface Lab {
  readonly director: string;
  destroy(): void;
}

export function tableWith(specs: ServiceSpec[], nowMs: number): IpvsTable {
  const table = createTable();
  table.applySpec({ services: specs }, nowMs);
  return table;
}

export async function startEngine(lab: Lab, table: IpvsTable, services: NftService[], opts: { queueNum: number; queueMaxLen?: number }, now: () => number): Promise<NftEngine> {
  const engine = new NftEngine(new TableDirector(table, now), { netns: lab.director, ...opts });
  await engine.start(services);
  return engine;
}

export async function stopEngine(engine: NftEngine | undefined, lab: Lab): Promise<void> {
  try {
    await engine?.stop();
  } finally {
    lab.destroy();
  }
}

/** Kills the suite's lvsd, then removes the lab and the suite's temporary directory. */
export async function stopDaemon(lvsd: NsLvsd | undefined, lab: Lab, dir: string): Promise<void> {
  try {
    await lvsd?.kill();
  } finally {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
