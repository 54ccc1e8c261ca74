// Compiler-style rendering of diagnostics:  FILE:LINE:COL: error: message, the source line, a caret.

import { Diagnostic, formatLoc } from './diagnostics.js';

/** Returns the 1-based line of a file, or null (the caller owns file access and caching). */
export type LineReader = (file: string, line: number) => string | null;

const MAX_SHOWN = 200;

export function formatDiagnostic(d: Diagnostic, readLine: LineReader): string {
  const head = d.loc ? `${formatLoc(d.loc)}: ${d.severity}: ${d.message}` : `${d.severity}: ${d.message}`;
  if (!d.loc) return head;
  const src = readLine(d.loc.file, d.loc.line);
  if (src === null || src.length > 4096) return head;
  // Tabs are kept so the caret lines up in a terminal; long lines are cut around the column.
  let start = 0;
  if (d.loc.col > MAX_SHOWN) start = d.loc.col - MAX_SHOWN / 2;
  const shown = src.slice(start, start + MAX_SHOWN);
  const pad = shown.slice(0, Math.max(0, d.loc.col - 1 - start)).replace(/[^\t]/g, ' ');
  return `${head}\n    ${shown}\n    ${pad}^`;
}

export function summary(errors: number, warnings: number): string {
  const e = `${errors} error${errors === 1 ? '' : 's'}`;
  const w = `${warnings} warning${warnings === 1 ? '' : 's'}`;
  return `${e}, ${w}`;
}
