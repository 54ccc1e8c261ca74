// A small process entry for tests and benches (the real daemon comes later):
//   node dist/src/vrrp/harness.js SPEC.json
// SPEC.json is a VrrpRuntimeSpec plus optional {"logLevel": "info"}. Prints one JSON line per
// state change on stdout ({"event":"state","instance","from","to","priority","t"}), a status line
// on SIGUSR1, re-reads the file and reconciles on SIGHUP, and stops gracefully on SIGTERM/SIGINT
// (priority-0 advert, VIPs removed, STOP).
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { VrrpRuntime } from './runtime.js';
import type { VrrpRuntimeSpec } from './types.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: harness SPEC.json\n');
  process.exit(2);
}
const load = (): VrrpRuntimeSpec & { logLevel?: string } => JSON.parse(readFileSync(file, 'utf8')) as VrrpRuntimeSpec & { logLevel?: string };
let spec: ReturnType<typeof load>;
try {
  spec = load();
} catch (e) {
  process.stderr.write(`harness: cannot read ${file}: ${(e as Error).message}\n`);
  process.exit(2);
}
const logger = pino({ level: spec.logLevel ?? 'info' }, pino.destination(2));
const rt = new VrrpRuntime({ logger });
const line = (o: object) => process.stdout.write(JSON.stringify({ ...o, t: Date.now() / 1000 }) + '\n');
rt.onStateChange((instance, from, to) => line({ event: 'state', instance, from, to, priority: rt.instance(instance)?.machine.priority ?? 0 }));

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await rt.stop();
  line({ event: 'stopped' });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.on('SIGUSR1', () => line({ event: 'status', status: rt.status(), dropped: rt.dropped }));
process.on('SIGHUP', () => {
  try {
    spec = load();
    void rt.reconcile(spec).then((errs) => line({ event: 'reconciled', errors: errs.map((e) => e.message) }));
  } catch (e) {
    line({ event: 'reconciled', errors: [(e as Error).message] });
  }
});
const errors = await rt.start(spec);
line({ event: 'started', errors: errors.map((e) => e.message) });
