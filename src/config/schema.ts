// The keyword-table engine: each block is a table of keyword -> spec (how to read its arguments,
// its keepalived default, old spellings, whether lvsd acts on it). The model's TypeScript types
// are inferred from the tables, so a keyword is declared exactly once.

import ipaddr from 'ipaddr.js';
import { Diagnostics, Loc } from './diagnostics.js';
import { Stmt } from './parse.js';
import type { Word } from './parse.js';

export interface Ctx {
  diag: Diagnostics;
}

export interface KeywordSpec<T> {
  /** Reads one statement; returns undefined after reporting an error. */
  parse(s: Stmt, ctx: Ctx): T | undefined;
  /** keepalived's default (a fresh value each call). */
  init(): T;
  /** How a repeated keyword combines with the earlier value; absent: the later one wins. */
  merge?: (prev: T, next: T) => T;
  /** Old spellings accepted with a deprecation warning. */
  aliases?: readonly string[];
  /** false: parsed into the model, but lvsd does not act on it (a warning says so). */
  acted: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- specs are invariant in T
export type Schema = { readonly [key: string]: KeywordSpec<any> };
export type ModelOf<S extends Schema> = { -readonly [K in keyof S]: S[K] extends KeywordSpec<infer T> ? T : never };

/**
 * Where model objects came from. Kept beside the objects (a WeakMap), not on them: JSON dumps stay
 * location-free and the objects keep fast, plain shapes. Read with locOf / keyLoc.
 */
export interface Located {
  readonly __located?: never;
}

interface Places {
  loc?: Loc;
  /** The block's own statement, whose place is worked out when first asked (most never are). */
  at?: Stmt;
  /** The block's statements and its table's names: keyword places are found when asked. */
  stmts?: readonly Stmt[];
  names?: ReadonlyMap<string, string>;
  /** The block object's keys, in order: one shared list per block type and header shape. */
  fields?: readonly string[];
}
const places = new WeakMap<object, Places>();

export function setHidden(obj: object, key: 'loc', value: Loc | undefined): void {
  const p = places.get(obj);
  if (p) p.loc = value;
  else places.set(obj, { loc: value });
}

/**
 * The keys a block object was made with (header fields, then its table's keywords), the same list
 * object for every block of one type and header shape; null for objects not read from a block.
 */
export function fieldsOf(obj: object): readonly string[] | null {
  return places.get(obj)?.fields ?? null;
}

export function locOf(obj: object): Loc | null {
  const p = places.get(obj);
  if (!p) return null;
  return p.loc ?? p.at?.loc ?? null;
}

/** Where `key` (or an old spelling of it) was first given in the block of `obj`. */
export function keyLoc(obj: object, key: string): Loc | null {
  const p = places.get(obj);
  if (!p) return null;
  const s = p.stmts?.find((x) => (p.names?.get(x.key.text) ?? x.key.text) === key);
  return s ? s.key.loc : (p.loc ?? p.at?.loc ?? null);
}

// ---------------------------------------------------------------------------------------------
// Reading a block

interface SchemaIndex {
  names: Map<string, string>;
  entries: Array<[string, KeywordSpec<unknown>]>;
  /** Builds a block's object: header fields, then every default in table order (per header shape). */
  makers: Map<string, { make: Maker; fields: readonly string[] }>;
  lastMaker: { keys: readonly string[]; make: Maker; fields: readonly string[] } | null;
}
type Maker = (specs: Array<KeywordSpec<unknown>>, header: Record<string, unknown>) => Record<string, unknown>;
const indexCache = new WeakMap<Schema, SchemaIndex>();

function indexOf(schema: Schema): SchemaIndex {
  let ix = indexCache.get(schema);
  if (!ix) {
    const names = new Map<string, string>();
    const entries = Object.entries(schema) as Array<[string, KeywordSpec<unknown>]>;
    for (const [k, spec] of entries) {
      names.set(k, k);
      for (const a of spec.aliases ?? []) names.set(a, k);
    }
    ix = { names, entries, makers: new Map(), lastMaker: null };
    indexCache.set(schema, ix);
  }
  return ix;
}

export interface BlockOptions {
  /** Name used in messages, e.g. "virtual_server". */
  name: string;
  /** Keywords to skip silently (handled by the caller). */
  skip?: ReadonlySet<string>;
}

/**
 * A generated object literal per block type and header shape (keys are our own tables' names and
 * header fields, JSON-quoted): V8 then gives every object of a type one shape, where a loop of
 * keyed stores made loading a 10,000-real-server file several times slower.
 */
function makerFor(ix: SchemaIndex, header: Record<string, unknown> | undefined) {
  // Blocks of a type nearly always come with one header shape: check the last one key by key
  // before building a signature (11,000 blocks per 10,000-server file).
  const last = ix.lastMaker;
  if (last && sameKeys(header, last.keys)) return last;
  const hk = header ? Object.keys(header) : [];
  const sig = hk.length ? hk.join('\u0000') : '';
  let maker = ix.makers.get(sig);
  if (!maker) {
    const fields = [
      ...hk.map((k) => `${JSON.stringify(k)}: h[${JSON.stringify(k)}]`),
      ...ix.entries.map(([k], i) => `${JSON.stringify(k)}: s[${i}].init()`),
    ];
    const make = new Function('s', 'h', `return { ${fields.join(', ')} };`) as Maker;
    maker = { make, fields: Object.freeze([...hk, ...ix.entries.map(([k]) => k)]) };
    ix.makers.set(sig, maker);
  }
  ix.lastMaker = { keys: hk, ...maker };
  return maker;
}

function sameKeys(header: Record<string, unknown> | undefined, keys: readonly string[]): boolean {
  let i = 0;
  if (header) {
    for (const k in header) {
      if (!Object.prototype.hasOwnProperty.call(header, k) || keys[i] !== k) return false;
      i++;
    }
  }
  return i === keys.length;
}

const specLists = new WeakMap<SchemaIndex, Array<KeywordSpec<unknown>>>();
function specsOf(ix: SchemaIndex): Array<KeywordSpec<unknown>> {
  let l = specLists.get(ix);
  if (!l) {
    l = ix.entries.map(([, spec]) => spec);
    specLists.set(ix, l);
  }
  return l;
}

/** `at`: where the block is (its statement, whose place is then worked out only when asked). */
export function readBlock<S extends Schema>(schema: S, stmts: readonly Stmt[], ctx: Ctx, opts: BlockOptions, at: Loc | Stmt | null, header?: object): ModelOf<S> & Located {
  const ix = indexOf(schema);
  const names = ix.names;
  // Defaults first, in table order, so dumps of equal configurations are equal text.
  const h = header as Record<string, unknown> | undefined;
  const maker = makerFor(ix, h);
  const out = maker.make(specsOf(ix), h ?? {});
  // Keys given so far: a short list (blocks hold few distinct keywords) instead of a Set each.
  const seen: string[] = [];
  for (const s of stmts) {
    const word = s.key.text;
    if (opts.skip?.has(word)) continue;
    const key = names.get(word);
    if (!key) {
      ctx.diag.warn('WCONFIG_UNKNOWN', `unknown keyword '${word}' in ${opts.name} (ignored)`, s.key.loc);
      continue;
    }
    const spec = schema[key];
    if (word !== key) ctx.diag.warn('WCONFIG_DEPRECATED', `'${word}' is an old spelling of '${key}'`, s.key.loc);
    if (!spec.acted) ctx.diag.warn('WCONFIG_NOT_ACTED', `'${key}' is read but lvsd does not act on it`, s.key.loc);
    const v = spec.parse(s, ctx);
    if (v === undefined) continue;
    if (seen.includes(key)) {
      if (spec.merge) out[key] = spec.merge(out[key], v);
      else {
        ctx.diag.warn('WCONFIG_REPEATED', `'${key}' is given more than once in this ${opts.name}; the last one wins`, s.key.loc);
        out[key] = v;
      }
    } else {
      out[key] = v;
      seen.push(key);
    }
  }
  const fields = maker.fields;
  places.set(out, at === null ? { stmts, names, fields } : at instanceof Stmt ? { at, stmts, names, fields } : { loc: at, stmts, names, fields });
  return out as ModelOf<S> & Located;
}

// ---------------------------------------------------------------------------------------------
// Argument checks shared by the builders

export function expectArgs(s: Stmt, ctx: Ctx, min: number, max: number, usage: string): boolean {
  if (s.args.length < min || s.args.length > max) {
    const loc = s.args.length > max ? s.args[max].loc : s.key.loc;
    const what = s.args.length < min ? 'needs' : 'takes';
    ctx.diag.error('ECONFIG_ARGS', `'${s.key.text}' ${what} ${usage}`, loc);
    return false;
  }
  if (s.block) {
    ctx.diag.error('ECONFIG_BLOCK', `'${s.key.text}' does not take a block`, s.blockLoc);
    return false;
  }
  return true;
}

export function expectBlock(s: Stmt, ctx: Ctx): s is Stmt & { block: Stmt[] } {
  if (!s.block) {
    ctx.diag.error('ECONFIG_BLOCK', `'${s.key.text}' needs a { ... } block`, s.key.loc);
    return false;
  }
  return true;
}

const BOOL_WORDS: Record<string, boolean> = { on: true, off: false, true: true, false: false, yes: true, no: false };

export function readBool(w: Word, ctx: Ctx): boolean | undefined {
  const b = BOOL_WORDS[w.text.toLowerCase()];
  if (b === undefined) ctx.diag.error('ECONFIG_VALUE', `'${w.text}' is not a boolean (on|off|true|false|yes|no)`, w.loc);
  return b;
}

export function readInt(w: Word, ctx: Ctx, min: number, max: number, what = 'value'): number | undefined {
  const t = w.text;
  if (!/^[-+]?\d+$/.test(t)) {
    ctx.diag.error('ECONFIG_VALUE', `${what} '${t}' is not an integer`, w.loc);
    return undefined;
  }
  const n = Number(t);
  if (n < min || n > max) {
    ctx.diag.error('ECONFIG_RANGE', `${what} ${t} is out of range ${min}..${max}`, w.loc);
    return undefined;
  }
  return n;
}

export function readTimer(w: Word, ctx: Ctx, min: number, max: number, what = 'time'): number | undefined {
  const t = w.text;
  if (!/^\d+(\.\d+)?$|^\.\d+$/.test(t)) {
    ctx.diag.error('ECONFIG_VALUE', `${what} '${t}' is not a number of seconds`, w.loc);
    return undefined;
  }
  const n = Number(t);
  if (n < min || n > max) {
    ctx.diag.error('ECONFIG_RANGE', `${what} ${t} is out of range ${min}..${max} seconds`, w.loc);
    return undefined;
  }
  return Math.round(n * 1e6) / 1e6;
}

export type Family = 4 | 6;

/** Four decimal parts 0..255 without leading zeros, read by character codes (no match arrays: 11,000 per load). */
export function isDottedQuad(t: string): boolean {
  let parts = 0;
  let i = 0;
  for (;;) {
    const start = i;
    let v = 0;
    while (i < t.length && i - start < 4) {
      const c = t.charCodeAt(i);
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || (len > 1 && t.charCodeAt(start) === 48) || v > 255) return false;
    if (++parts === 4) return i === t.length;
    if (i >= t.length || t.charCodeAt(i) !== 46) return false;
    i++;
  }
}

/** Canonical text of an IPv4 (dotted quad) or IPv6 (RFC 5952) address, or undefined. */
export function canonicalAddress(text: string): { addr: string; family: Family } | undefined {
  // The common case without ipaddr.js (big files are mostly IPv4): four decimal parts, no
  // leading zeros (as ipaddr.IPv4.isValidFourPartDecimal), each at most 255; already canonical.
  if (isDottedQuad(text)) return { addr: text, family: 4 };
  if (!text.includes(':')) return undefined;
  if (text.includes(':') && !text.includes('%') && ipaddr.IPv6.isValid(text)) return { addr: ipaddr.IPv6.parse(text).toString(), family: 6 };
  return undefined;
}

export function readAddress(w: Word, ctx: Ctx, what = 'address'): { addr: string; family: Family } | undefined {
  const a = canonicalAddress(w.text);
  if (!a) ctx.diag.error('ECONFIG_ADDRESS', `${what} '${w.text}' is not a valid IPv4 or IPv6 address`, w.loc);
  return a;
}

export interface Prefix {
  addr: string;
  family: Family;
  prefix: number;
}

/** ADDR[/LEN]; the length defaults to the full width. */
export function readPrefix(w: Word, ctx: Ctx, what = 'address'): Prefix | undefined {
  const [a, len, extra] = w.text.split('/');
  if (extra !== undefined) {
    ctx.diag.error('ECONFIG_ADDRESS', `${what} '${w.text}' has more than one '/'`, w.loc);
    return undefined;
  }
  const addr = readAddress(w.withText(a), ctx, what);
  if (!addr) return undefined;
  const width = addr.family === 4 ? 32 : 128;
  if (len === undefined) return { ...addr, prefix: width };
  if (!/^\d{1,3}$/.test(len) || Number(len) > width) {
    ctx.diag.error('ECONFIG_ADDRESS', `prefix length '/${len}' is not valid for an IPv${addr.family} address (0..${width})`, w.loc);
    return undefined;
  }
  return { ...addr, prefix: Number(len) };
}

export function readPort(w: Word, ctx: Ctx, allowZero = true): number | undefined {
  return readInt(w, ctx, allowZero ? 0 : 1, 65535, 'port');
}

/** A script with its user: `"/path arg" [user [[:]group]]` (keepalived's notify/quorum syntax). */
export interface ScriptRef {
  cmd: string;
  user: string | null;
  group: string | null;
}

// ---------------------------------------------------------------------------------------------
// Builders

function spec<T>(parse: (s: Stmt, ctx: Ctx) => T | undefined, init: () => T, extra: Partial<KeywordSpec<T>> = {}): KeywordSpec<T> {
  return { parse, init, acted: true, ...extra };
}

type Extra<T> = Partial<Pick<KeywordSpec<T>, 'aliases' | 'acted' | 'merge'>>;

/** `keyword` alone means true; `keyword BOOL` sets it. */
export function flag(def = false, extra: Extra<boolean> = {}): KeywordSpec<boolean> {
  return spec((s, ctx) => (expectArgs(s, ctx, 0, 1, 'at most one on|off argument') ? (s.args.length ? readBool(s.args[0], ctx) : true) : undefined), () => def, extra);
}

/** Like flag, but absent means null ("unset": keepalived then falls back to another setting). */
export function optFlag(extra: Extra<boolean | null> = {}): KeywordSpec<boolean | null> {
  return spec<boolean | null>((s, ctx) => (expectArgs(s, ctx, 0, 1, 'at most one on|off argument') ? (s.args.length ? readBool(s.args[0], ctx) : true) : undefined), () => null, extra);
}

export function int<D extends number | null = number>(def: D, min: number, max: number, extra: Extra<number | D> = {}): KeywordSpec<number | D> {
  return spec<number | D>((s, ctx) => (expectArgs(s, ctx, 1, 1, `one integer (${min}..${max})`) ? readInt(s.args[0], ctx, min, max, `'${s.key.text}'`) : undefined), () => def, extra);
}

/** An integer that may be given bare, meaning `bare` (e.g. persistence_timeout -> 360). */
export function intOrBare<D extends number | null>(def: D, bare: number, min: number, max: number, extra: Extra<number | D> = {}): KeywordSpec<number | D> {
  return spec<number | D>(
    (s, ctx) => (expectArgs(s, ctx, 0, 1, `at most one integer (${min}..${max})`) ? (s.args.length ? readInt(s.args[0], ctx, min, max, `'${s.key.text}'`) : bare) : undefined),
    () => def,
    extra,
  );
}

export function timer<D extends number | null = number>(def: D, min = 0, max = 1e9, extra: Extra<number | D> = {}): KeywordSpec<number | D> {
  return spec<number | D>((s, ctx) => (expectArgs(s, ctx, 1, 1, 'one time in seconds') ? readTimer(s.args[0], ctx, min, max, `'${s.key.text}'`) : undefined), () => def, extra);
}

export function str<D extends string | null = string>(def: D, extra: Extra<string | D> = {}): KeywordSpec<string | D> {
  return spec<string | D>((s, ctx) => (expectArgs(s, ctx, 1, 1, 'one value') ? s.args[0].text : undefined), () => def, extra);
}

/** All the arguments as one string joined by spaces (free text such as SNMP names). */
export function text<D extends string | null = string>(def: D, extra: Extra<string | D> = {}): KeywordSpec<string | D> {
  return spec<string | D>((s, ctx) => (expectArgs(s, ctx, 1, 1000, 'a value') ? s.args.map((a) => a.text).join(' ') : undefined), () => def, extra);
}

export function words(extra: Extra<string[]> = {}): KeywordSpec<string[]> {
  return spec((s, ctx) => (expectArgs(s, ctx, 0, 10000, 'values') ? s.args.map((a) => a.text) : undefined), () => [], extra);
}

export function choice<V extends string, D extends V | null>(values: readonly V[], def: D, extra: Extra<V | D> & { fold?: boolean } = {}): KeywordSpec<V | D> {
  return spec<V | D>(
    (s, ctx) => {
      if (!expectArgs(s, ctx, 1, 1, `one of ${values.join('|')}`)) return undefined;
      const t = extra.fold ? s.args[0].text.toUpperCase() : s.args[0].text;
      const v = values.find((x) => (extra.fold ? x.toUpperCase() : x) === t);
      if (v === undefined) ctx.diag.error('ECONFIG_VALUE', `'${s.args[0].text}' is not one of ${values.join('|')} for '${s.key.text}'`, s.args[0].loc);
      return v;
    },
    () => def,
    extra,
  );
}

export function address<D extends string | null>(def: D, extra: Extra<string | D> = {}): KeywordSpec<string | D> {
  return spec<string | D>((s, ctx) => (expectArgs(s, ctx, 1, 1, 'one IP address') ? readAddress(s.args[0], ctx)?.addr : undefined), () => def, extra);
}

export function port<D extends number | null>(def: D, extra: Extra<number | D> = {}): KeywordSpec<number | D> {
  return spec<number | D>((s, ctx) => (expectArgs(s, ctx, 1, 1, 'one port (0..65535)') ? readPort(s.args[0], ctx) : undefined), () => def, extra);
}

export function script(extra: Extra<ScriptRef | null> = {}): KeywordSpec<ScriptRef | null> {
  return spec<ScriptRef | null>(
    (s, ctx) => {
      if (!expectArgs(s, ctx, 1, 3, 'a script, then optionally a user and a group')) return undefined;
      let user: string | null = s.args[1]?.text ?? null;
      let group: string | null = s.args[2]?.text ?? null;
      if (user && user.includes(':') && group === null) [user, group] = user.split(':', 2) as [string, string];
      return { cmd: s.args[0].text, user, group: group === '' ? null : group };
    },
    () => null,
    extra,
  );
}

/** Lists built while reading are owned by the model: appending in place keeps reads linear. */
function appendInPlace<T>(a: T[], b: T[]): T[] {
  for (const x of b) a.push(x);
  return a;
}

/** A keyword that may repeat; each occurrence adds to the list. */
export function many<T>(item: KeywordSpec<T>): KeywordSpec<T[]> {
  return {
    parse: (s, ctx) => {
      const v = item.parse(s, ctx);
      return v === undefined ? undefined : [v];
    },
    init: () => [],
    merge: appendInPlace,
    aliases: item.aliases,
    acted: item.acted,
  };
}

export function custom<T>(parse: (s: Stmt, ctx: Ctx) => T | undefined, init: () => T, extra: Extra<T> = {}): KeywordSpec<T> {
  return spec(parse, init, extra);
}

/** A `{ ... }` block read with its own table; `header` reads the words after the keyword. */
export function block<S extends Schema, H extends object = object>(
  name: string,
  schema: S,
  header?: (s: Stmt, ctx: Ctx) => H | undefined,
  extra: Extra<(H & ModelOf<S> & Located) | null> = {},
): KeywordSpec<(H & ModelOf<S> & Located) | null> {
  return spec<(H & ModelOf<S> & Located) | null>(
    (s, ctx) => {
      if (!header && s.args.length) {
        ctx.diag.error('ECONFIG_ARGS', `'${s.key.text}' takes no arguments before its block`, s.args[0].loc);
        return undefined;
      }
      if (!expectBlock(s, ctx)) return undefined;
      const h = header ? header(s, ctx) : ({} as H);
      if (!h) return undefined;
      const obj = readBlock(schema, s.block, ctx, { name }, s, h) as H & ModelOf<S> & Located;
      return obj;
    },
    () => null,
    extra,
  );
}

const NO_BLOCKS: readonly never[] = Object.freeze([]);

/** A repeatable block (virtual_server, real_server, url, ...): a list of blocks. */
export function blocks<S extends Schema, H extends object = object>(
  name: string,
  schema: S,
  header?: (s: Stmt, ctx: Ctx) => H | undefined,
  extra: Extra<Array<H & ModelOf<S> & Located>> = {},
): KeywordSpec<Array<H & ModelOf<S> & Located>> {
  const one = block(name, schema, header);
  return {
    parse: (s, ctx) => {
      const v = one.parse(s, ctx);
      return v ? [v] : undefined;
    },
    // A block given nowhere is one shared frozen empty list: a real server has ten checker
    // kinds, and 100,000 empty arrays per 10,000 servers were most of a reload's young garbage.
    init: () => NO_BLOCKS as unknown as Array<H & ModelOf<S> & Located>,
    merge: appendInPlace,
    acted: extra.acted ?? true,
    aliases: extra.aliases,
  };
}

/** A block whose every line is an item (virtual_ipaddress, unicast_peer, track_script, ...). */
export function listBlock<T>(readItem: (s: Stmt, ctx: Ctx) => T | undefined, extra: Extra<T[]> = {}): KeywordSpec<T[]> {
  return spec<T[]>(
    (s, ctx) => {
      if (s.args.length) {
        ctx.diag.error('ECONFIG_ARGS', `'${s.key.text}' takes no arguments before its block`, s.args[0].loc);
        return undefined;
      }
      if (!expectBlock(s, ctx)) return undefined;
      const out: T[] = [];
      for (const item of s.block) {
        const v = readItem(item, ctx);
        if (v !== undefined) {
          if (v !== null && typeof v === 'object') setHidden(v, 'loc', item.loc);
          out.push(v);
        }
      }
      return out;
    },
    () => [],
    { merge: appendInPlace, ...extra },
  );
}

/** The words of a list item (its keyword plus arguments), for list blocks of plain values. */
export function itemWords(s: Stmt): Word[] {
  return [s.key, ...s.args];
}
