// A BFD peer in its own process (for tests that need to kill a peer outright): runs a BfdRunner
// with the instances given as JSON in argv[2] and the port in argv[3], prints one JSON line per
// reported change, and "ready" once listening.
import { BfdRunner } from '../../src/bfd/index.js';

const specs = JSON.parse(process.argv[2] ?? '[]');
const port = Number(process.argv[3] ?? 3784);
const quiet = { info: () => undefined, warn: () => undefined };
const runner = new BfdRunner({ logger: quiet, port });
runner.onChange((name, up) => process.stdout.write(JSON.stringify({ name, up }) + '\n'));
const errors = await runner.start(specs);
process.stdout.write(JSON.stringify({ ready: true, errors: errors.map((e) => e.message) }) + '\n');
process.on('SIGTERM', () => void runner.stop().then(() => process.exit(0)));
// keep the process alive (the runner's timers are unref'd)
setInterval(() => undefined, 1 << 30);
