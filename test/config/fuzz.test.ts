// Mutates keepalived's samples thousands of times: loading never throws, never hangs, and every
// diagnostic points at a real place in the mutated file.
import { afterAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { corpusDir, tempTree } from '../helpers/paths.js';
import { rng } from '../helpers/rng.js';

const samplesDir = join(corpusDir, 'keepalived-samples');
const samples = readdirSync(samplesDir).sort().map((f) => readFileSync(join(samplesDir, f), 'utf8'));
const tree = tempTree({});
afterAll(() => tree.cleanup());

const ALPHABET = ['{', '}', '"', "'", '\\', '$', '${X}', '$X=1\n', '@', '@^', '~SEQ(A,1,3) ', '~LST(', '#', '!', '\n', ' ', '\t', '\u0000', '\u0001', 'include x.conf\n', 'include *\n', '0', '999999999999', '-', '/', ':', '::', 'é', '\r\n', 'real_server', 'virtual_server', 'weight'];

function mutate(text: string, r: () => number): string {
  let t = text;
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * (t.length + 1));
    const op = Math.floor(r() * 6);
    if (op === 0) t = t.slice(0, at) + t.slice(at + 1 + Math.floor(r() * 20));
    else if (op <= 2) t = t.slice(0, at) + ALPHABET[Math.floor(r() * ALPHABET.length)] + t.slice(at);
    else if (op === 3) {
      const lines = t.split('\n');
      const i = Math.floor(r() * lines.length);
      lines.splice(i, 0, lines[Math.floor(r() * lines.length)]);
      t = lines.join('\n');
    } else if (op === 4) t = t.slice(0, at);
    else t = t.slice(0, at) + String.fromCharCode(Math.floor(r() * 0x3000)) + t.slice(at);
  }
  return t;
}

describe('config fuzzing', () => {
  const seed = Number(process.env.LVSD_FUZZ_SEED ?? 20261129);
  const iterations = Number(process.env.LVSD_FUZZ_ITERATIONS ?? 3000);

  it(`survives ${iterations} mutations of the samples (seed ${seed})`, () => {
    const r = rng(seed);
    const file = join(tree.dir, 'fuzz.conf');
    let withErrors = 0;
    const problems: string[] = [];
    for (let i = 0; i < iterations; i++) {
      const text = mutate(samples[i % samples.length], r);
      writeFileSync(file, text);
      let result;
      try {
        result = loadConfig(file, { configId: 'fuzz' });
      } catch (e) {
        throw new Error(`iteration ${i} (seed ${seed}) threw: ${(e as Error).stack}\n--- input ---\n${text.slice(0, 2000)}`);
      }
      const lineCount = text.split(/\r?\n/).length;
      for (const d of result.diagnostics.items) {
        const bad = !d.loc || (d.loc.file === file && (d.loc.line < 1 || d.loc.line > lineCount || d.loc.col < 1));
        if (bad) problems.push(`iteration ${i}: diagnostic without a valid place: ${JSON.stringify(d)}`);
      }
      if (result.diagnostics.hasErrors) {
        withErrors++;
        if (result.config !== null) problems.push(`iteration ${i}: errors but a model was returned`);
      } else if (result.config === null) problems.push(`iteration ${i}: no errors but no model`);
    }
    expect(problems.slice(0, 5)).toEqual([]);
    // The mutations must actually produce broken files, or the test proves little.
    expect(withErrors).toBeGreaterThan(iterations / 10);
  });
});
