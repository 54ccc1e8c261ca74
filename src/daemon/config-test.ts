// `lvsd -t`: check a configuration and print what is wrong, like a compiler; `--dump` prints the
// resolved model as JSON (defaults filled in, keys in keyword-table order).

import { fileLineReader, formatDiagnostic, loadConfig, summary } from '../config/index.js';
import type { LoadOptions } from '../config/index.js';

export interface ConfigTestOptions extends LoadOptions {
  file: string;
  strict: boolean;
  dump: boolean;
  quiet?: boolean;
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
  return failed ? 1 : 0;
}
