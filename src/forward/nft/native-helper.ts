// Builds (once) and runs native/lvsd-nfq, the NFQUEUE helper process. Shell.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NftNativeError } from './errors.js';
import { CommandRunner } from './commands.js';

/** The repository's native/ folder, found from this module in src/ or dist/src/. */
export function nativeDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'native', 'lvsd-nfq.c'))) return join(dir, 'native');
    dir = dirname(dir);
  }
  throw new NftNativeError('native/lvsd-nfq.c not found');
}

/** Compiles the helper when the binary is missing or older than its source. */
export async function ensureHelperBuilt(): Promise<string> {
  const dir = nativeDir();
  const src = join(dir, 'lvsd-nfq.c');
  const bin = join(dir, 'build', 'lvsd-nfq');
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return bin;
  mkdirSync(join(dir, 'build'), { recursive: true });
  // Built aside and renamed into place: lvsd processes starting at once never run a half-written
  // binary (rename is atomic; the last one wins with the same result).
  const tmp = `${bin}.${process.pid}.tmp`;
  const r = await new CommandRunner().run('cc', ['-O2', '-Wall', '-o', tmp, src, '-lnetfilter_queue', '-lmnl']);
  if (r.code !== 0) {
    rmSync(tmp, { force: true });
    throw new NftNativeError(`build failed (needs a C compiler, libnetfilter-queue-dev, libmnl-dev): ${r.stderr.trim()}`);
  }
  renameSync(tmp, bin);
  return bin;
}

/**
 * Starts the helper on queue `queueNum`. With `ctMark` ("MARK/MASK") it also forwards conntrack's
 * events of the flows whose conntrack mark matches (records of type 3).
 */
export function spawnHelper(
  bin: string,
  runner: CommandRunner,
  queueNum: number,
  maxLen: number,
  failMode: 'fail-open' | 'fail-closed',
  ctMark?: string,
): ChildProcessWithoutNullStreams {
  const [file, argv] = runner.argv(bin, [String(queueNum), String(maxLen), failMode, ...(ctMark === undefined ? [] : [ctMark])]);
  return spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
}
