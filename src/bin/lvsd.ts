#!/usr/bin/env node
// lvsd: flags in keepalived's spirit. Parses the command line and hands over; no logic here.

import { Command } from 'commander';
import { configTest } from '../daemon/config-test.js';
import { defaultConfigId } from '../config/index.js';

const DEFAULT_CONFIG = '/etc/lvsd/lvsd.conf';

async function main(argv: string[]): Promise<number | undefined> {
  if (argv[2] === 'genhash') {
    const { genhashMain } = await import('../check/genhash.js');
    return genhashMain(argv.slice(3));
  }
  const program = new Command('lvsd')
    .description('Linux Virtual Server director (keepalived-compatible configuration)')
    .option('-f, --use-file <file>', 'configuration file', DEFAULT_CONFIG)
    .option('-t, --config-test', 'check the configuration and exit (0 valid, 1 errors)')
    .option('--dump', 'with -t: print the resolved configuration as JSON')
    .option('--strict', 'with -t: warnings fail the check too')
    .option('-i, --config-id <id>', 'configuration id for @id conditional lines', defaultConfigId())
    .option('-n, --dont-fork', 'run in the foreground (lvsd never forks; accepted for keepalived compatibility)')
    .option('-l, --log-console', 'human-readable logs on the console')
    .option('-D, --log-detail', 'detailed logs (debug level)')
    .option('--log-level <level>', 'pino log level (fatal error warn info debug trace)', 'info')
    .option('-p, --pid-file <file>', 'write the process id to this file')
    .option('--diff', 'with -t: print the plan a reload would apply to the running lvsd')
    .option('--running <file>', 'with --diff: the running configuration (default: beside the control socket)')
    .option('--control-socket <path>', 'control socket (overrides lvsd_defs control_socket)')
    .option('--workers <n>', 'proxy relay workers (overrides lvsd_defs workers)', (v) => Number(v))
    .version('lvsd 0.1.0', '-v, --version')
    .exitOverride();
  try {
    program.parse(argv);
  } catch (e) {
    const code = (e as { exitCode?: number }).exitCode;
    return typeof code === 'number' ? (code === 0 ? 0 : 2) : 2;
  }
  const o = program.opts<{ useFile: string; configTest?: boolean; dump?: boolean; strict?: boolean; configId: string; diff?: boolean; running?: string; controlSocket?: string }>();
  const io = { out: (s: string) => process.stdout.write(s + '\n'), err: (s: string) => process.stderr.write(s + '\n') };
  if (o.configTest || o.dump || o.diff) {
    return configTest({ file: o.useFile, strict: !!o.strict, dump: !!o.dump, configId: o.configId, diff: !!o.diff, running: o.running, controlSocket: o.controlSocket }, io);
  }
  const { runDaemon } = await import('../daemon/run.js');
  return runDaemon(program.opts());
}

main(process.argv).then(
  (code) => {
    if (code !== null && code !== undefined) process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`lvsd: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  },
);
