// Reads source lines for diagnostics (a shell: file access with a small cache).

import { readFileSync } from 'node:fs';
import { LineReader } from './format.js';

export function fileLineReader(): LineReader {
  const cache = new Map<string, string[] | null>();
  return (file, line) => {
    if (!cache.has(file)) {
      try {
        cache.set(file, readFileSync(file, 'utf8').split(/\r?\n/));
      } catch {
        cache.set(file, null);
      }
    }
    return cache.get(file)?.[line - 1] ?? null;
  };
}
