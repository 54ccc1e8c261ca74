// The grammar's two start rules: QuietConfig (no failure bookkeeping, used first by every load)
// must accept exactly what Config accepts, build the same statements, and raise the same errors
// from the grammar's own actions; its bare "expected" failures are redone from Config.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '../../src/config/generated/parser.js';
import { corpusDir } from '../helpers/paths.js';
import { rng } from '../helpers/rng.js';

const samplesDir = join(corpusDir, 'keepalived-samples');
const samples = readdirSync(samplesDir).sort().map((f) => readFileSync(join(samplesDir, f), 'utf8'));

const PIECES = ['{', '}', '"', "'", '\\', '\\x4', '\\101', '\n', '\n\n', ' ', '  ', '\t', '\r', '\u0001', 'é', 'w', 'a"b c"', "x'y'", ' {\n', '}\n'];

function mutate(text: string, r: () => number): string {
  let t = text;
  for (let k = 1 + Math.floor(r() * 4); k > 0; k--) {
    const at = Math.floor(r() * (t.length + 1));
    const op = Math.floor(r() * 3);
    if (op === 0) t = t.slice(0, at) + t.slice(at + 1 + Math.floor(r() * 8));
    else if (op === 1) t = t.slice(0, at) + PIECES[Math.floor(r() * PIECES.length)] + t.slice(at);
    else t = t.slice(0, at);
  }
  return t;
}

type Outcome = { ok: unknown } | { error: string; offset: number | null; expected: boolean };

function run(text: string, startRule: 'Config' | 'QuietConfig'): Outcome {
  const options = {
    startRule,
    word: (t: string, quoted: boolean, off: number) => [t, quoted, off],
    stmt: (key: unknown, args: unknown[], block: { off: number; items: unknown[] } | null, off: number) => [key, args, block, off],
  };
  try {
    return { ok: parse(text, options as never) };
  } catch (e) {
    const err = e as { message: string; location?: { start: { offset: number } } };
    return { error: err.message, offset: err.location?.start.offset ?? null, expected: err.message.startsWith('Expected') };
  }
}

describe('grammar start rules', () => {
  it('QuietConfig agrees with Config on the samples and 3,000 mutations of them', () => {
    const r = rng(20261129);
    let failures = 0;
    for (let i = 0; i < 3000; i++) {
      const text = i < samples.length ? samples[i] : mutate(samples[i % samples.length], r);
      const full = run(text, 'Config');
      const quiet = run(text, 'QuietConfig');
      if ('ok' in full) {
        expect(quiet).toEqual(full);
        continue;
      }
      failures++;
      expect('error' in quiet).toBe(true);
      if ('error' in quiet && !full.expected) expect(quiet).toEqual(full);
      // An "expected" failure stays one in quiet mode (the wrapper then asks Config for its place).
      if ('error' in quiet && full.expected) expect(quiet.expected).toBe(true);
    }
    // The mutations must break files often enough for the error half to mean something.
    expect(failures).toBeGreaterThan(300);
  });
});
