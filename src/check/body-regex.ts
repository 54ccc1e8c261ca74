// HTTP_GET / SSL_GET `regex`: the response body must match a regular expression (or, with
// regex_no_match, must not). keepalived uses PCRE2 and matches the body as it streams in; here
// the body is kept (it is capped anyway) and matched once with a JavaScript RegExp. Pure.
//
// keepalived's semantics (check_http.c):
// - The subject is the body (after the header); offsets count body bytes from 0.
// - regex_min_offset: matching starts there (a lookbehind may look before it).
// - regex_max_offset: the match must start at or before it.
// - The check fails when "matched" equals regex_no_match.
// Bytes are read as latin1 (one byte, one character), so offsets are byte offsets and a pattern
// sees bytes as PCRE2 does without `utf`; with `utf` the body is decoded as UTF-8 and the `u`
// flag is set (offsets are then converted from bytes to characters).
import { CheckSpecError, type BodyRegexSpec } from './types.js';

/** How each of keepalived's regex_options maps onto a JavaScript RegExp. */
export const REGEX_OPTIONS: Readonly<Record<string, { flag?: string; same?: string; unsupported?: string }>> = {
  caseless: { flag: 'i' },
  multiline: { flag: 'm' },
  dotall: { flag: 's' },
  utf: { flag: 'u' },
  firstline: { same: 'the match must start at or before the first newline (checked by lvsd)' },
  // JavaScript already behaves as these options ask
  allow_empty_class: { same: '[] is an empty class in JavaScript' },
  alt_bsux: { same: '\\u, \\x and \\U are read the JavaScript way' },
  alt_circumflex: { same: 'with multiline, ^ matches after a final newline in JavaScript' },
  dollar_endonly: { same: 'without multiline, $ matches only at the very end in JavaScript' },
  match_unset_backref: { same: 'an unset backreference matches the empty string in JavaScript' },
  // options that only tune PCRE2's optimiser or restrict what a pattern may contain: same result
  auto_callout: { same: 'no callouts are run' },
  dupnames: { same: 'a pattern with duplicate group names does not compile in Node 20' },
  never_backslash_c: { same: '\\C is never a single code unit in JavaScript' },
  never_ucp: { same: 'JavaScript classes are ASCII-only' },
  never_utf: { same: 'no (*UTF) in JavaScript' },
  no_auto_capture: { same: 'captures do not change whether the body matches' },
  no_auto_possess: { same: 'an optimiser switch' },
  no_dotstar_anchor: { same: 'an optimiser switch' },
  no_start_optimize: { same: 'an optimiser switch' },
  alt_verbnames: { same: 'JavaScript has no backtracking verbs' },
  use_offset_limit: { same: 'keepalived sets no offset limit' },
  // no JavaScript equivalent: the pattern would mean something else
  extended: { unsupported: 'JavaScript has no extended (x) mode' },
  ungreedy: { unsupported: 'JavaScript has no ungreedy mode (write lazy quantifiers instead)' },
  ucp: { unsupported: 'JavaScript \\w, \\d and \\b stay ASCII-only' },
};

export interface BodyRegex {
  re: RegExp;
  utf: boolean;
  firstline: boolean;
  noMatch: boolean;
  minOffset: number;
  /** Inclusive; Infinity when unset. */
  maxOffset: number;
}

/** Compile a url's regex. Throws CheckSpecError for an unknown or unsupported option or a bad pattern. */
export function compileBodyRegex(spec: BodyRegexSpec): BodyRegex {
  let flags = 'g'; // g: search from lastIndex (the min offset)
  for (const o of spec.options ?? []) {
    const m = REGEX_OPTIONS[o];
    if (!m) throw new CheckSpecError(`unknown regex option '${o}'`);
    if (m.unsupported) throw new CheckSpecError(`regex option '${o}' is not supported: ${m.unsupported}`);
    if (m.flag && !flags.includes(m.flag)) flags += m.flag;
  }
  let re: RegExp;
  try {
    re = new RegExp(spec.pattern, flags);
  } catch (e) {
    throw new CheckSpecError(`regex does not compile: ${(e as Error).message}`);
  }
  return {
    re,
    utf: flags.includes('u'),
    firstline: spec.options?.includes('firstline') ?? false,
    noMatch: spec.noMatch ?? false,
    minOffset: spec.minOffset ?? 0,
    maxOffset: spec.maxOffset ?? Infinity,
  };
}

/** Characters in the first `bytes` bytes of a UTF-8 body (a split character counts as one). */
function utf8Chars(body: Buffer, bytes: number): number {
  let n = 0;
  const end = Math.min(bytes, body.length);
  for (let i = 0; i < end; i++) if ((body[i]! & 0xc0) !== 0x80) n++;
  return n;
}

/** Byte offset of character index `chars` in the UTF-8 body. */
function utf8Bytes(text: string, chars: number): number {
  return Buffer.byteLength(text.slice(0, chars), 'utf8');
}

/** Does the body match, as keepalived decides it (before applying regex_no_match)? */
export function bodyMatches(r: BodyRegex, body: Buffer): boolean {
  if (r.minOffset > r.maxOffset) return false;
  const text = body.toString(r.utf ? 'utf8' : 'latin1');
  const start = r.utf ? utf8Chars(body, r.minOffset) : r.minOffset;
  if (start > text.length) return false;
  r.re.lastIndex = start;
  const m = r.re.exec(text);
  r.re.lastIndex = 0;
  if (!m) return false;
  if (r.firstline) {
    const nl = text.indexOf('\n', start);
    if (nl >= 0 && m.index > nl) return false;
  }
  const at = r.utf ? utf8Bytes(text, m.index) : m.index;
  return at <= r.maxOffset;
}
