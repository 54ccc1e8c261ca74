// FILE_CHECK (keepalived track_file.c, check_file.c): the file holds a number (strtol base 0:
// decimal, 0x hex, 0 octal; unreadable or junk = 0). Weight 0: non-zero is a failure (zero with
// `reverse`). Otherwise value x weight (negated by reverse) is added to the real server weight,
// and a result at or below INT32_MIN is a failure.
import { open } from 'node:fs/promises';
import type { CheckResult, FileCheckSpec } from './types.js';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Pure: C strtol(s, NULL, 0) on the leading part of s; 0 when nothing parses. */
export function strtol0(s: string): number {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s);
  if (!m) return 0;
  const body = m[2]!;
  const v = /^0[xX]/.test(body) ? parseInt(body.slice(2), 16) : body.length > 1 && body[0] === '0' ? parseInt(body, 8) : Number(body);
  return m[1] === '-' ? -v : v;
}

export function fileResult(value: number, spec: Pick<FileCheckSpec, 'weight' | 'reverse'>, tookMs = 0): CheckResult {
  const weight = spec.weight ?? 1;
  const mult = spec.reverse ? -1 : 1;
  if (weight === 0) {
    const fault = (value !== 0) !== (mult !== 1);
    return fault ? { ok: false, reason: `value ${value}`, tookMs } : { ok: true, reason: `value ${value}`, weightDelta: 0, tookMs };
  }
  const status = Math.max(INT32_MIN, Math.min(INT32_MAX, value * weight * mult));
  if (status <= INT32_MIN) return { ok: false, reason: `value ${value} x ${weight * mult} is fault`, tookMs };
  return { ok: true, reason: `value ${value}`, weightDelta: status, tookMs };
}

export async function fileCheck(spec: FileCheckSpec): Promise<CheckResult> {
  const start = performance.now();
  let text = '';
  try {
    const fh = await open(spec.path, 'r');
    try {
      const buf = Buffer.alloc(127);
      const { bytesRead } = await fh.read(buf, 0, 127, 0);
      text = buf.subarray(0, bytesRead).toString('latin1');
    } finally {
      await fh.close();
    }
  } catch {
    text = ''; // keepalived: unreadable = 0
  }
  return fileResult(strtol0(text), spec, Math.round(performance.now() - start));
}
