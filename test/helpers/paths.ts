// Paths tests share: the repository root (tests run compiled from dist/test/...) and ../shared.
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

export const repoRoot = findRoot();
/** keepalived's samples and man page, read in place (../shared beside the project). */
export const sharedDir = process.env.LVSD_SHARED ?? resolve(repoRoot, '..', 'shared');
export const corpusDir = join(sharedDir, 'corpus');
export const lvsdBin = join(repoRoot, 'dist', 'src', 'bin', 'lvsd.js');

/** Writes files (path -> content) under a new temp dir; returns the dir and a cleanup. */
export function tempTree(files: Record<string, string | Buffer>, prefix = 'lvsd-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const [p, content] of Object.entries(files)) {
    const full = join(dir, p);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
