// Wraps the peggy parser: preprocessed lines in, statements with original-file locations out.

import { parse as peggyParse, StartRules } from './generated/parser.js';
import { Diagnostics, Loc } from './diagnostics.js';
import { SourceLine } from './preprocess.js';

/**
 * A word of the configuration; its place is computed when asked (most never are, and those asked
 * are asked once, for a message: no cache field, as 60,000 words live as long as the model).
 */
export class Word {
  constructor(
    readonly text: string,
    readonly quoted: boolean,
    readonly off: number,
    private readonly map: SourceMap,
  ) {}

  get loc(): Loc {
    return this.map.loc(this.off);
  }

  /** The same place with other text (a part of this word, e.g. the address of ADDR/LEN). */
  withText(text: string): Word {
    return new Word(text, this.quoted, this.off, this.map);
  }
}

export class Stmt {
  constructor(
    readonly key: Word,
    readonly args: Word[],
    /** The statements inside `{ ... }`, or null when the statement has no block. */
    readonly block: Stmt[] | null,
    private readonly blockOff: number,
    private readonly off: number,
    private readonly map: SourceMap,
  ) {}

  get loc(): Loc {
    return this.map.loc(this.off);
  }

  /** Where the `{` is, when there is a block. */
  get blockLoc(): Loc | null {
    return this.block ? this.map.loc(this.blockOff) : null;
  }

  /** The same statement with other arguments or block (for readers that reuse a reader). */
  with(parts: { args?: Word[]; block?: Stmt[] | null }): Stmt {
    return new Stmt(this.key, parts.args ?? this.args, parts.block === undefined ? this.block : parts.block, this.blockOff, this.off, this.map);
  }
}

/** The quiet start rule, or Config with a parser generated before it existed (no npm run grammar). */
const QUIET_RULE = (StartRules as readonly string[]).includes('QuietConfig') ? 'QuietConfig' : 'Config';

/** Deeper than any real keepalived file (which nests 4 levels); guards the recursive parser. */
export const MAX_NESTING = 32;

interface PeggyError {
  message: string;
  location?: { start: { offset: number } };
  found?: string | null;
}

/**
 * Maps offsets in the joined text back to original FILE:LINE:COL. Kept in typed arrays rather
 * than the lines themselves: every Word refers to it for as long as the model lives, and 40,000
 * line objects and texts kept alive were a large part of what each reload's GC had to copy.
 */
export class SourceMap {
  private readonly starts: Int32Array;
  private readonly lineNos: Int32Array;
  private readonly shifts: Int32Array;
  private readonly fileOf: Int32Array;
  private readonly files: string[] = [];
  /** Column maps of the few lines that have one (substituted text), by line index. */
  private readonly colMaps = new Map<number, Int32Array>();
  constructor(lines: readonly SourceLine[]) {
    const n = lines.length;
    this.starts = new Int32Array(n);
    this.lineNos = new Int32Array(n);
    this.shifts = new Int32Array(n);
    this.fileOf = new Int32Array(n);
    let off = 0;
    let file = '';
    let fileIx = -1;
    for (let i = 0; i < n; i++) {
      const l = lines[i];
      this.starts[i] = off;
      off += l.text.length + 1;
      if (l.file !== file || fileIx < 0) {
        file = l.file;
        fileIx = this.files.indexOf(file);
        if (fileIx < 0) fileIx = this.files.push(file) - 1;
      }
      this.fileOf[i] = fileIx;
      this.lineNos[i] = l.line;
      this.shifts[i] = l.colShift;
      if (l.colMap) this.colMaps.set(i, l.colMap);
    }
  }

  loc(offset: number): Loc {
    if (this.starts.length === 0) return { file: '', line: 1, col: 1 };
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    const c = offset - this.starts[lo];
    const colMap = this.colMaps.get(lo);
    const col = colMap ? (colMap[Math.min(c, colMap.length - 1)] ?? c) : c + this.shifts[lo];
    return { file: this.files[this.fileOf[lo]], line: this.lineNos[lo], col: col + 1 };
  }
}

/** `text` is the lines joined by newlines (callers that already joined them pass it in). */
export function parseLines(lines: SourceLine[], diag: Diagnostics, text = lines.map((l) => l.text).join('\n')): Stmt[] {
  const map = new SourceMap(lines);
  const tooDeep = findExcessNesting(text);
  if (tooDeep >= 0) {
    diag.error('ECONFIG_SYNTAX', `blocks nested more than ${MAX_NESTING} deep`, map.loc(tooDeep));
    return [];
  }
  // The grammar builds the final nodes through these factories: one pass, no copies.
  // Lists come from the grammar with room to grow; the statements keep exact-size copies (the
  // spare room of 30,000 lists would otherwise live, and be copied by the GC, with the model).
  const factories = {
    word: (t: string, quoted: boolean, off: number) => new Word(t, quoted, off, map),
    stmt: (key: Word, args: Word[], block: { off: number; items: Stmt[] } | null, off: number) =>
      new Stmt(key, args.slice(), block ? block.items.slice() : null, block ? block.off : -1, off, map),
  };
  let err: PeggyError;
  try {
    // Without failure bookkeeping first (most loads are good files)...
    return peggyParse(text, { ...factories, startRule: QUIET_RULE } as never) as Stmt[];
  } catch (e) {
    err = e as PeggyError;
  }
  // ...then, for a failure that needs its furthest place, the same parse with it.
  if (isExpectedFailure(err)) {
    try {
      peggyParse(text, { ...factories, startRule: 'Config' } as never);
    } catch (e) {
      err = e as PeggyError;
    }
  }
  const off = err.location ? err.location.start.offset : 0;
  diag.error('ECONFIG_SYNTAX', syntaxMessage(err), map.loc(off));
  return [];
}

/** peggy's own "Expected ... but ... found" failure (not one raised by the grammar's actions). */
function isExpectedFailure(err: PeggyError): boolean {
  return typeof err.message === 'string' && err.message.startsWith('Expected');
}

function syntaxMessage(err: PeggyError): string {
  // Messages raised by the grammar itself are already phrased for operators.
  if (!isExpectedFailure(err)) return String(err.message);
  const f = err.found;
  if (f === null || f === undefined) return 'unexpected end of file';
  const code = f.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f) return `invalid character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (f === '{') return "unexpected '{': a block must follow a keyword on the same or the previous line";
  return `unexpected '${f}'`;
}

/** Offset of the first '{' beyond MAX_NESTING (quotes respected), or -1. */
function findExcessNesting(text: string): number {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quote) {
      if (c === 92) i++;
      else if (c === quote.charCodeAt(0) || c === 10) quote = '';
      continue;
    }
    if (c === 34 || c === 39) quote = text[i];
    else if (c === 123 && ++depth > MAX_NESTING) return i;
    else if (c === 125 && depth > 0) depth--;
  }
  return -1;
}
