// HTTP_GET regex keywords (regex, regex_no_match, regex_options, regex_min_offset,
// regex_max_offset) against real node http servers on loopback, including a body the server
// writes in many small chunks with pauses, so the match must span reads. And the pure matcher.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import fc from 'fast-check';
import { httpCheck } from '../../src/check/http.js';
import { bodyMatches, compileBodyRegex, REGEX_OPTIONS } from '../../src/check/body-regex.js';
import type { BodyRegexSpec, HttpCheckSpec } from '../../src/check/types.js';
import { close, listen } from './helpers.js';

// 0123456789...: "status: " at 0, "OK" at 8; the marker "READY-42" at 1000 of a 2000-byte body
const PAD = (n: number): string => '.'.repeat(n);
const LONG = `status: OK\n${PAD(989)}READY-42${PAD(1000 - 8)}`;
const UTF = 'prix: 5 € — état: prêt\n';

function handler(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/chunks') {
    // the body in 7-byte writes, a few ms apart: many separate reads on the checker's side
    res.writeHead(200, { 'content-type': 'text/plain' });
    const parts = LONG.match(/[\s\S]{1,7}/g)!;
    let i = 0;
    const next = (): void => {
      if (i >= parts.length) return void res.end();
      res.write(parts[i++]!);
      if (i % 40 === 0) setTimeout(next, 2);
      else setImmediate(next);
    };
    next();
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(req.url === '/utf' ? UTF : LONG);
}

const server = createServer(handler);
let port = 0;
beforeAll(async () => {
  server.on('connection', (s) => s.setNoDelay(true));
  port = await listen(server);
});
afterAll(() => close(server));

const target = { addr: '127.0.0.1', port: 0 };
const check = (path: string, regex: BodyRegexSpec): Promise<{ ok: boolean; reason: string }> => {
  const spec: HttpCheckSpec = { type: 'HTTP', connectPort: port, urls: [{ path, regex }] };
  return httpCheck(spec, { ...target, port }, 3000);
};

describe('HTTP_GET regex against a real server', () => {
  it('up when the body matches, down when it does not; regex_no_match reverses it', async () => {
    expect(await check('/', { pattern: 'READY-\\d+' })).toMatchObject({ ok: true, reason: 'status 200, regex matched' });
    expect(await check('/', { pattern: 'NOT-THERE' })).toMatchObject({ ok: false, reason: '/: regex did not match' });
    expect(await check('/', { pattern: 'NOT-THERE', noMatch: true })).toMatchObject({ ok: true });
    expect(await check('/', { pattern: 'READY', noMatch: true })).toMatchObject({ ok: false, reason: '/: regex matched (regex_no_match)' });
  });

  it('matches a body that arrives in hundreds of small chunks', async () => {
    expect(await check('/chunks', { pattern: 'status: OK\\n\\.+READY-42\\.+$' })).toMatchObject({ ok: true });
    expect(await check('/chunks', { pattern: 'READY-43' })).toMatchObject({ ok: false });
  });

  it('regex_min_offset and regex_max_offset bound where the match may start (body offsets)', async () => {
    // "READY" starts at body offset 1000
    expect(await check('/', { pattern: 'READY', minOffset: 1000 })).toMatchObject({ ok: true });
    expect(await check('/', { pattern: 'READY', minOffset: 1001 })).toMatchObject({ ok: false });
    expect(await check('/', { pattern: 'READY', maxOffset: 1000 })).toMatchObject({ ok: true });
    expect(await check('/', { pattern: 'READY', maxOffset: 999 })).toMatchObject({ ok: false });
    expect(await check('/chunks', { pattern: 'READY', minOffset: 990, maxOffset: 1000 })).toMatchObject({ ok: true });
    // a lookbehind may look before the min offset, as in PCRE2
    expect(await check('/', { pattern: '(?<=\\.)READY', minOffset: 1000 })).toMatchObject({ ok: true });
  });

  it('regex_options: caseless, multiline, dotall, firstline, utf', async () => {
    expect(await check('/', { pattern: 'ready-42' })).toMatchObject({ ok: false });
    expect(await check('/', { pattern: 'ready-42', options: ['caseless'] })).toMatchObject({ ok: true });
    expect(await check('/', { pattern: '^\\.+READY' })).toMatchObject({ ok: false });
    expect(await check('/', { pattern: '^\\.+READY', options: ['multiline'] })).toMatchObject({ ok: true });
    expect(await check('/', { pattern: 'OK.READY' })).toMatchObject({ ok: false });
    expect(await check('/', { pattern: 'OK.+READY', options: ['dotall'] })).toMatchObject({ ok: true });
    expect(await check('/', { pattern: 'status', options: ['firstline'] })).toMatchObject({ ok: true });
    expect(await check('/', { pattern: 'READY', options: ['firstline'] })).toMatchObject({ ok: false });
    // without utf the body is bytes: "€" is three of them; with utf one character
    expect(await check('/utf', { pattern: '5 .\\s' })).toMatchObject({ ok: false });
    expect(await check('/utf', { pattern: '5 .\\s', options: ['utf'] })).toMatchObject({ ok: true });
    expect(await check('/utf', { pattern: 'prêt', options: ['utf'], minOffset: 8 })).toMatchObject({ ok: true });
  });

  it('an unsupported option or a bad pattern fails the check with the reason, without a request', async () => {
    expect(await check('/', { pattern: 'x', options: ['ungreedy'] })).toMatchObject({ ok: false, reason: expect.stringContaining("regex option 'ungreedy' is not supported") });
    expect(await check('/', { pattern: '(unclosed' })).toMatchObject({ ok: false, reason: expect.stringContaining('regex does not compile') });
  });
});

describe('the matcher (pure)', () => {
  it('maps every option keepalived accepts, and rejects the three that have no equivalent', () => {
    const unsupported = Object.entries(REGEX_OPTIONS).filter(([, v]) => v.unsupported).map(([k]) => k);
    expect(unsupported.sort()).toEqual(['extended', 'ucp', 'ungreedy']);
    expect(Object.keys(REGEX_OPTIONS)).toHaveLength(24); // keepalived's regex_options table
    expect(() => compileBodyRegex({ pattern: 'a', options: ['nonsense'] })).toThrow("unknown regex option 'nonsense'");
  });

  it('agrees with a plain search over the body for any offsets (latin1 bytes)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom('a', 'ab+', '[\\x80-\\xff]', '\\d{2}', 'x$'),
        fc.nat(220),
        fc.option(fc.nat(220), { nil: undefined }),
        (bytes, pattern, min, max) => {
          const body = Buffer.from(bytes);
          const r = compileBodyRegex({ pattern, minOffset: min, maxOffset: max });
          // model: the first match start at or after min must be <= max
          const text = body.toString('latin1');
          let first = -1;
          for (let i = min; i <= text.length && first < 0; i++) {
            const sticky = new RegExp(pattern, 'y');
            sticky.lastIndex = i;
            if (sticky.test(text)) first = i;
          }
          const want = first >= 0 && first <= (max ?? Infinity) && min <= (max ?? Infinity);
          expect(bodyMatches(r, body)).toBe(want);
        },
      ),
    );
  });
});
