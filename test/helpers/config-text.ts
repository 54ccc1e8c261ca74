// Loads configuration text written to a temp file; diagnostics as `LINE:COL: severity CODE message`.
import { afterAll } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';

/** A loader for one test file: its temp dir is removed after the file's tests. */
export function configTextLoader(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  return (text: string) => {
    const file = join(dir, `c${n++}.conf`);
    writeFileSync(file, text);
    const r = loadConfig(file, { configId: 'test' });
    const fmt = (d: (typeof r.diagnostics.items)[number]) => `${d.loc ? `${d.loc.line}:${d.loc.col}` : '-'}: ${d.severity} ${d.code} ${d.message}`;
    return {
      config: r.config,
      errors: r.diagnostics.errors.map(fmt),
      warnings: r.diagnostics.warnings.filter((d) => d.code !== 'WCONFIG_NOT_ACTED').map(fmt),
      notActed: r.diagnostics.warnings.filter((d) => d.code === 'WCONFIG_NOT_ACTED').map(fmt),
      file,
      dir,
      all: r.diagnostics.items,
    };
  };
}
