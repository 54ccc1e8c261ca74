// Preprocessing as keepalived does it, before the grammar sees the text: `include` (globs,
// relative to the including file, nested, cycle-checked), comments, `@id` / `@^id` conditional
// lines, `$NAME=value` definitions (multi-line with trailing `\`), `$NAME` / `${NAME}`
// substitution (recursive, at use time), predefined ${_PWD} ${_INSTANCE} ${_RANDOM} ${_ENV}
// ${_HASH} ${_BANG}, and ~SEQ / ~SEQx / ~LST line expansion.
//
// Every output line remembers where it came from (file, line, and a per-column map when
// substitution moved text), so the grammar's offsets map back to the original files.

import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { globSync, hasMagic } from 'glob';
import { Diagnostics, Loc } from './diagnostics.js';

export interface SourceLine {
  text: string;
  file: string;
  line: number;
  /** 0-based source column for each output column; null when output column + colShift is it. */
  colMap: Int32Array | null;
  /** Leading whitespace removed from the text (the parser never needs indentation). */
  colShift: number;
}

export interface PreprocessOptions {
  /** Compared with `@id` lines; keepalived's default is the first part of the host name. */
  configId: string;
  env?: Record<string, string | undefined>;
  /** Injected randomness for ${_RANDOM}; returns [0, 1). */
  random?: () => number;
  /** Predefined parameters (`$NAME`), e.g. from the command line. */
  defines?: Record<string, string>;
}

export interface Preprocessed {
  lines: SourceLine[];
  /** Every file read, in order (the main file first): what a reload must re-read. */
  files: string[];
}

export const LIMITS = {
  lineBytes: 65536,
  fileBytes: 64 * 1024 * 1024,
  includeDepth: 32,
  expansionDepth: 32,
  expandedLines: 2_000_000,
  sequenceItems: 1_000_000,
};

const INCLUDE_RE = /^\s*(include[rmwba]?)(?:\s+(.*?))?\s*$/;
const DEFINE_RE = /^\s*\$([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/;
const CONDITIONAL_RE = /^(\s*)@(\^?)(\S*)/;
const SEQUENCE_RE = /^(\s*)~(SEQx|SEQ|LST)\(/;
/** A line needing more than indentation removal: comment, parameter, conditional, sequence, include. */
const SPECIAL_RE = /[#!$@~]|include/;

interface Frame {
  file: string;
  real: string;
}

export function preprocess(mainFile: string, opts: PreprocessOptions, diag: Diagnostics): Preprocessed {
  return new Preprocessor(opts, diag).run(mainFile);
}

class Preprocessor {
  private readonly out: SourceLine[] = [];
  private readonly files: string[] = [];
  private readonly vars = new Map<string, string>();
  private readonly stack: Frame[] = [];
  private readonly env: Record<string, string | undefined>;
  private readonly random: () => number;
  private overflowReported = false;

  constructor(
    private readonly opts: PreprocessOptions,
    private readonly diag: Diagnostics,
  ) {
    this.env = opts.env ?? process.env;
    this.random = opts.random ?? Math.random;
    for (const [k, v] of Object.entries(opts.defines ?? {})) this.vars.set(k, v);
  }

  run(mainFile: string): Preprocessed {
    this.includeFile(resolve(mainFile), null);
    return { lines: this.out, files: this.files };
  }

  private includeFile(path: string, from: Loc | null): void {
    let real: string;
    try {
      real = realpathSync(path);
    } catch (e) {
      this.diag.error('ECONFIG_INCLUDE', `cannot open '${path}': ${errText(e)}`, from);
      return;
    }
    const cycle = this.stack.findIndex((f) => f.real === real);
    if (cycle >= 0) {
      const chain = [...this.stack.slice(cycle).map((f) => f.file), path].join(' -> ');
      this.diag.error('ECONFIG_INCLUDE_CYCLE', `include cycle: ${chain}`, from);
      return;
    }
    if (this.stack.length >= LIMITS.includeDepth) {
      this.diag.error('ECONFIG_INCLUDE', `includes nested more than ${LIMITS.includeDepth} deep`, from);
      return;
    }
    const text = this.readSource(path, from);
    if (text === null) return;
    this.files.push(path);
    this.stack.push({ file: path, real });
    try {
      this.processFile(path, text);
    } finally {
      this.stack.pop();
    }
  }

  private readSource(path: string, from: Loc | null): string | null {
    let buf: Buffer;
    try {
      const st = statSync(path);
      if (st.isDirectory()) {
        this.diag.error('ECONFIG_INCLUDE', `cannot read '${path}': it is a directory`, from);
        return null;
      }
      if (st.size > LIMITS.fileBytes) {
        this.diag.error('ECONFIG_SIZE', `'${path}' is ${st.size} bytes; the limit is ${LIMITS.fileBytes}`, from);
        return null;
      }
      buf = readFileSync(path);
    } catch (e) {
      this.diag.error('ECONFIG_INCLUDE', `cannot read '${path}': ${errText(e)}`, from);
      return null;
    }
    const nul = buf.indexOf(0);
    if (nul >= 0) {
      this.diag.error('ECONFIG_BINARY', 'binary data (a NUL byte): this is not a configuration file', locAtByte(path, buf, nul));
      return null;
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buf);
    } catch {
      const bad = firstInvalidUtf8(buf);
      this.diag.error('ECONFIG_ENCODING', 'invalid UTF-8: the file must be UTF-8 text', locAtByte(path, buf, bad));
      return null;
    }
  }

  private processFile(file: string, text: string): void {
    const lines = text.includes('\r') ? text.split(/\r?\n/) : text.split('\n');
    const pwd = dirname(file);
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      const raw = lines[i];
      if (raw.length > LIMITS.lineBytes) {
        this.diag.error('ECONFIG_LINE', `line too long (${raw.length} characters; the limit is ${LIMITS.lineBytes})`, { file, line: lineNo, col: 1 });
        continue;
      }
      // Most lines have nothing to preprocess (one scan instead of six, and no origin object).
      if (!SPECIAL_RE.test(raw)) {
        this.emit(raw, file, lineNo, null);
        continue;
      }
      let body = raw.includes('#') || raw.includes('!') ? stripComment(raw) : raw;
      // A definition may continue over following lines that end with '\'.
      const def = body.includes('$') ? DEFINE_RE.exec(body) : null;
      if (def && body.trimEnd().endsWith('\\')) {
        const parts = [body.trimEnd().slice(0, -1)];
        while (i + 1 < lines.length) {
          i++;
          const next = stripComment(lines[i]).trimEnd();
          const cont = next.endsWith('\\');
          parts.push(cont ? next.slice(0, -1) : next);
          if (!cont) break;
        }
        body = parts.join('\n');
      }
      const inc = body.includes('include') ? INCLUDE_RE.exec(body) : null;
      if (inc) {
        this.handleInclude(inc[1], inc[2] ?? '', pwd, { file, line: lineNo, col: body.indexOf(inc[1]) + 1 });
        continue;
      }
      this.processLine(body, { file, line: lineNo, colMap: null }, pwd, 0);
    }
  }

  private handleInclude(kind: string, arg: string, pwd: string, loc: Loc): void {
    const pattern = unquote(arg.trim());
    if (pattern === '') {
      this.diag.error('ECONFIG_INCLUDE', `'${kind}' needs a file name or pattern`, loc);
      return;
    }
    const abs = resolve(pwd, pattern);
    if (!hasMagic(pattern, { magicalBraces: true })) {
      this.includeFile(abs, loc);
      return;
    }
    let matches: string[];
    try {
      matches = globSync(pattern, { cwd: pwd, absolute: true, nodir: true, magicalBraces: true }).sort();
    } catch (e) {
      this.diag.error('ECONFIG_INCLUDE', `bad include pattern '${pattern}': ${errText(e)}`, loc);
      return;
    }
    if (matches.length === 0) {
      const strict = kind === 'includew' || kind === 'includem' || kind === 'includea';
      const msg = `include pattern '${pattern}' matches no file`;
      if (strict) this.diag.error('ECONFIG_INCLUDE', msg, loc);
      else this.diag.warn('WCONFIG_INCLUDE_EMPTY', msg, loc);
      return;
    }
    for (const m of matches) this.includeFile(m, loc);
  }

  /** One logical line: conditional, definition, sequence expansion, substitution, emit. */
  private processLine(text: string, origin: Origin, pwd: string, depth: number): void {
    if (depth > LIMITS.expansionDepth) {
      this.diag.error('ECONFIG_EXPANSION', `parameter expansion nested more than ${LIMITS.expansionDepth} deep (a recursive definition?)`, originLoc(origin, 0));
      return;
    }
    let t = text;
    const cond = t.includes('@') ? CONDITIONAL_RE.exec(t) : null;
    if (cond) {
      const matches = cond[3] === this.opts.configId;
      if ((cond[2] === '^') === matches) return;
      t = cond[1] + ' '.repeat(cond[0].length - cond[1].length) + t.slice(cond[0].length);
    }
    const def = t.includes('$') ? DEFINE_RE.exec(t) : null;
    if (def) {
      this.vars.set(def[1], def[2].trimEnd());
      return;
    }
    const seq = t.includes('~') ? SEQUENCE_RE.exec(t) : null;
    if (seq) {
      this.expandSequence(t, seq, origin, pwd, depth);
      return;
    }
    if (t.includes('$')) {
      const sub = this.substitute(t, origin, pwd);
      if (sub.text !== t) {
        const pieces = splitLines(sub.text, sub.colMap);
        for (const p of pieces) this.processLine(p.text, { file: origin.file, line: origin.line, colMap: p.colMap }, pwd, depth + 1);
        return;
      }
    }
    this.emit(t, origin.file, origin.line, origin.colMap);
  }

  /** One output line (or the overflow error once). */
  private emit(t: string, file: string, line: number, colMap: Int32Array | null): void {
    if (this.out.length >= LIMITS.expandedLines) {
      if (!this.overflowReported) {
        this.diag.error('ECONFIG_EXPANSION', `configuration expands to more than ${LIMITS.expandedLines} lines`, originLoc({ file, line, colMap }, 0));
        this.overflowReported = true;
      }
      return;
    }
    // Indentation is dropped here (a big file is ~40% indentation) and kept as a column shift.
    let ind = 0;
    while (ind < t.length && (t.charCodeAt(ind) === 32 || t.charCodeAt(ind) === 9)) ind++;
    if (colMap) this.out.push({ text: t.slice(ind), file, line, colMap: colMap.subarray(ind), colShift: 0 });
    else this.out.push({ text: ind ? t.slice(ind) : t, file, line, colMap: null, colShift: ind });
  }

  /** Replaces $NAME (followed by whitespace or end) and ${NAME}; one pass, callers recurse. */
  private substitute(t: string, origin: Origin, pwd: string): { text: string; colMap: Int32Array } {
    let out = '';
    const map: number[] = [];
    const src = (i: number) => (origin.colMap ? origin.colMap[Math.min(i, origin.colMap.length - 1)] ?? i : i);
    let i = 0;
    while (i < t.length) {
      const c = t[i];
      if (c === '$') {
        const found = this.lookup(t, i, pwd);
        if (found) {
          out += found.value;
          const at = src(i);
          for (let k = 0; k < found.value.length; k++) map.push(at);
          i = found.end;
          continue;
        }
      }
      out += c;
      map.push(src(i));
      i++;
    }
    return { text: out, colMap: Int32Array.from(map) };
  }

  private lookup(t: string, i: number, pwd: string): { value: string; end: number } | null {
    if (t[i + 1] === '{') {
      const close = t.indexOf('}', i + 2);
      if (close < 0) return null;
      const inner = t.slice(i + 2, close).trim();
      const [name, ...args] = inner.split(/\s+/);
      const value = this.valueOf(name, args, pwd);
      return value === null ? null : { value, end: close + 1 };
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(t.slice(i + 1, i + 1 + 256));
    if (!m) return null;
    const end = i + 1 + m[0].length;
    if (end < t.length && !/\s/.test(t[end])) return null;
    const value = this.valueOf(m[0], [], pwd);
    return value === null ? null : { value, end };
  }

  private valueOf(name: string, args: string[], pwd: string): string | null {
    switch (name) {
      case '_PWD':
        return pwd;
      case '_INSTANCE':
        return this.opts.configId;
      case '_HASH':
        return '#';
      case '_BANG':
        return '!';
      case '_ENV':
        return args.length === 1 ? (this.env[args[0]] ?? '') : null;
      case '_RANDOM': {
        const min = args[0] !== undefined ? Number(args[0]) : 0;
        const max = args[1] !== undefined ? Number(args[1]) : 32767;
        if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) return null;
        return String(min + Math.floor(this.random() * (max - min + 1)));
      }
      default:
        return args.length === 0 && this.vars.has(name) ? (this.vars.get(name) as string) : null;
    }
  }

  private expandSequence(t: string, m: RegExpExecArray, origin: Origin, pwd: string, depth: number): void {
    const open = m[0].length - 1;
    const close = matchParen(t, open);
    const loc = originLoc(origin, m[1].length);
    if (close < 0) {
      this.diag.error('ECONFIG_SEQUENCE', `~${m[2]}( has no closing ')'`, loc);
      return;
    }
    const inner = t.slice(open + 1, close);
    const bindings = m[2] === 'LST' ? parseList(inner) : parseSeq(inner, m[2] === 'SEQx');
    if (typeof bindings === 'string') {
      this.diag.error('ECONFIG_SEQUENCE', `~${m[2]}(${inner}): ${bindings}`, loc);
      return;
    }
    // Keep columns: the ~SEQ(...) prefix becomes spaces.
    const rest = ' '.repeat(close + 1) + t.slice(close + 1);
    for (const b of bindings) {
      for (const [k, v] of b) this.vars.set(k, v);
      this.processLine(rest, origin, pwd, depth + 1);
    }
  }
}

interface Origin {
  file: string;
  line: number;
  colMap: Int32Array | null;
}

function originLoc(o: Origin, col: number): Loc {
  return { file: o.file, line: o.line, col: (o.colMap ? (o.colMap[col] ?? col) : col) + 1 };
}

function splitLines(text: string, colMap: Int32Array): Array<{ text: string; colMap: Int32Array }> {
  const out: Array<{ text: string; colMap: Int32Array }> = [];
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    out.push({ text: text.slice(start, end), colMap: colMap.subarray(start, end) });
    if (nl < 0) return out;
    start = nl + 1;
  }
}

/** Cuts a line at the first '#' or '!' outside quotes (keepalived: comments start anywhere). */
export function stripComment(line: string): string {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' || c === '!') {
      return line.slice(0, i);
    }
  }
  return line;
}

function unquote(s: string): string {
  if (s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0]) return s.slice(1, -1);
  return s;
}

function matchParen(t: string, open: number): number {
  let depth = 0;
  for (let i = open; i < t.length; i++) {
    if (t[i] === '(') depth++;
    else if (t[i] === ')' && --depth === 0) return i;
  }
  return -1;
}

type Binding = Array<[string, string]>;

function parseSeq(inner: string, hex: boolean): Binding[] | string {
  const parts = inner.split(',').map((s) => s.trim());
  if (parts.length < 2 || parts.length > 4) return 'expected (var, [start,] [step,] end)';
  const name = parts[0];
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return `'${name}' is not a variable name`;
  const nums = parts.slice(1).map((p) => (p === '' ? NaN : Number(p)));
  if (nums.some((n) => !Number.isInteger(n))) return 'start, step and end must be integers';
  let start: number, step: number, end: number;
  if (nums.length === 1) {
    end = nums[0];
    start = end >= 0 ? 1 : -1;
    step = end >= start ? 1 : -1;
  } else if (nums.length === 2) {
    [start, end] = nums;
    step = end >= start ? 1 : -1;
  } else {
    [start, step, end] = nums;
  }
  if (step === 0) return 'step must not be 0';
  const count = Math.floor((end - start) / step) + 1;
  if (count > LIMITS.sequenceItems) return `more than ${LIMITS.sequenceItems} values`;
  const out: Binding[] = [];
  for (let v = start; step > 0 ? v <= end : v >= end; v += step) {
    out.push([[name, hex ? v.toString(16) : String(v)]]);
  }
  return out;
}

function parseList(inner: string): Binding[] | string {
  const items = splitTopLevel(inner);
  if (items.length < 2) return 'expected (var, value, ...)';
  const names = groupItems(items[0]);
  if (names.some((n) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(n))) return `'${items[0]}' is not a variable name or {names}`;
  const out: Binding[] = [];
  for (const item of items.slice(1)) {
    const values = groupItems(item);
    if (values.length !== names.length) return `'${item}' has ${values.length} values for ${names.length} variables`;
    out.push(names.map((n, k) => [n, values[k]]));
  }
  return out;
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of s) {
    if (c === '{') depth++;
    if (c === '}') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

function groupItems(s: string): string[] {
  const t = s.trim();
  if (t.startsWith('{') && t.endsWith('}')) return t.slice(1, -1).split(',').map((x) => x.trim());
  return [t];
}

function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err && err.code === 'ENOENT') return 'no such file';
  if (err && err.code === 'EACCES') return 'permission denied';
  return err && err.message ? err.message : String(e);
}

function locAtByte(file: string, buf: Buffer, at: number): Loc {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < at; i++) {
    if (buf[i] === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  const col = buf.subarray(lineStart, at).toString('utf8').length + 1;
  return { file, line, col };
}

function firstInvalidUtf8(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i];
    const need = b < 0x80 ? 0 : b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : -1;
    if (need < 0) return i;
    for (let k = 1; k <= need; k++) if (i + k >= buf.length || (buf[i + k] & 0xc0) !== 0x80) return i;
    i += need + 1;
  }
  return buf.length;
}
