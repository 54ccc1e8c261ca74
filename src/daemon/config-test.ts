// `lvsd -t`: check a configuration and print what is wrong, like a compiler; `--dump` prints the
// resolved model as JSON (defaults filled in, keys in keyword-table order).

import { readFileSync } from 'node:fs';
import { diffConfigs, fileLineReader, formatDiagnostic, loadConfig, renderPlan, summary } from '../config/index.js';
import type { ConfigModel, LoadOptions } from '../config/index.js';
import { DEFAULT_CONTROL_SOCKET } from '../control/index.js';
import { runningFilePath } from './daemon.js';

export interface ConfigTestOptions extends LoadOptions {
  file: string;
  strict: boolean;
  dump: boolean;
  quiet?: boolean;
  /** Print the plan against the running daemon's configuration. */
  diff?: boolean;
  running?: string;
  controlSocket?: string;
}

export interface Output {
  out: (s: string) => void;
  err: (s: string) => void;
}

export function configTest(opts: ConfigTestOptions, io: Output): number {
  const r = loadConfig(opts.file, opts);
  const readLine = fileLineReader();
  const d = r.diagnostics;
  for (const item of d.items) io.err(formatDiagnostic(item, readLine));
  if (d.droppedCount) io.err(`(${d.droppedCount} more diagnostics not shown)`);
  const errors = d.errors.length + (d.hasErrors ? d.droppedCount : 0);
  const warnings = d.warnings.length;
  const failed = errors > 0 || (opts.strict && warnings > 0);
  if (!opts.quiet) io.err(`${opts.file}: ${summary(errors, warnings)}${failed ? '' : ' - configuration OK'}`);
  if (!failed && opts.dump && r.config) io.out(JSON.stringify(r.config, null, 2));
  if (!failed && opts.diff && r.config) return printPlan(r.config, opts, io);
  return failed ? 1 : 0;
}

/** `lvsd -t --diff`: what a reload would change, without changing anything. */
function printPlan(next: ConfigModel, opts: ConfigTestOptions, io: Output): number {
  const path = opts.running ?? runningFilePath(opts.controlSocket ?? next.lvsd_defs?.control_socket ?? DEFAULT_CONTROL_SOCKET);
  let running: ConfigModel;
  try {
    readFileSync(path);
    const r = loadConfig(path, { configId: opts.configId });
    if (!r.config) throw new Error(r.diagnostics.errors.map((d) => d.message).join('; '));
    running = r.config;
  } catch (err) {
    io.err(`lvsd: cannot read the running configuration at ${path} (is lvsd running?): ${(err as Error).message}`);
    return 1;
  }
  const plan = renderPlan(diffConfigs(running, next));
  io.out(plan.length ? plan.join('\n') : '(no changes)');
  return 0;
}
