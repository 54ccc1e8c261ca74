// Loading a configuration: preprocess -> parse (peggy) -> read keyword tables -> resolve -> validate.
// Nothing here throws on bad input; problems come back as diagnostics with places.

import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { Diagnostics } from './diagnostics.js';
import { preprocess, PreprocessOptions } from './preprocess.js';
import { parseLines } from './parse.js';
import { readBlock } from './schema.js';
import { ConfigModel, topSchema } from './keywords/top.js';
import { resolveInheritance } from './resolve.js';
import { validate } from './validate.js';

export interface LoadOptions {
  configId?: string;
  env?: PreprocessOptions['env'];
  random?: () => number;
  defines?: Record<string, string>;
}

export interface LoadResult {
  /** The model, or null when there were errors. */
  config: ConfigModel | null;
  diagnostics: Diagnostics;
  /** Every file read (for reload and for the config hash). */
  files: string[];
  /** sha256 of the preprocessed text: identical configurations hash alike. */
  hash: string;
  /**
   * The preprocessed text (includes inlined, parameters and conditionals resolved, comments
   * gone): itself a configuration meaning the same, and what the running daemon keeps for --diff.
   */
  text: string;
}

export function defaultConfigId(): string {
  return hostname().split('.')[0];
}

export function loadConfig(file: string, opts: LoadOptions = {}): LoadResult {
  const diag = new Diagnostics();
  const pre = preprocess(file, { configId: opts.configId ?? defaultConfigId(), env: opts.env, random: opts.random, defines: opts.defines }, diag);
  const text = pre.lines.map((l) => l.text).join('\n');
  const hash = createHash('sha256').update(text).digest('hex');
  const stmts = diag.hasErrors ? [] : parseLines(pre.lines, diag, text);
  if (diag.hasErrors) return { config: null, diagnostics: diag, files: pre.files, hash, text };
  const ctx = { diag };
  const config = readBlock(topSchema, stmts, ctx, { name: 'the top level' }, null);
  resolveInheritance(config);
  validate(config, ctx);
  return { config: diag.hasErrors ? null : config, diagnostics: diag, files: pre.files, hash, text };
}
