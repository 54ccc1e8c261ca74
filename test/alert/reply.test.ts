// Reading SMTP replies out of untrusted bytes: the same replies however the bytes are cut, errors
// as values for anything else, and a real connection fed random bytes always ends in an outcome.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MAX_REPLY_BYTES, ReplyReader, sendMail, type ReplyEvent } from '../../src/alert/index.js';
import { ScriptedServer } from './mail-sink.js';

const readAll = (chunks: string[]): ReplyEvent[] => {
  const r = new ReplyReader();
  return chunks.flatMap((c) => r.push(c));
};

describe('ReplyReader', () => {
  it('gives the last line of a multi-line reply, CRLF or bare LF', () => {
    expect(readAll(['220-mx.example.com ESMTP\r\n220-more\r\n220 ready\r\n250 ok\n'])).toEqual([
      { status: 220, text: 'ready' },
      { status: 250, text: 'ok' },
    ]);
    expect(readAll(['250'])).toEqual([]);
    expect(readAll(['250', '\r\n'])).toEqual([{ status: 250, text: '' }]);
  });

  it('a line that is not a reply is an error value', () => {
    expect(readAll(['hello\r\n'])).toEqual([{ error: "'hello' is not an SMTP reply" }]);
    expect(readAll(['999 no\r\n'])).toEqual([{ error: "'999 no' is not an SMTP reply" }]);
    expect(readAll(['x'.repeat(MAX_REPLY_BYTES + 1)])).toEqual([{ error: `a reply line over ${MAX_REPLY_BYTES} bytes` }]);
  });

  it('the same replies however the bytes are cut', () => {
    const line = fc.tuple(fc.integer({ min: 200, max: 599 }), fc.boolean(), fc.string({ unit: fc.constantFrom('a', ' ', '-', '.', 'Z'), maxLength: 12 }));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (lines, cuts) => {
        const text = lines.map(([code, more, t]) => `${code}${more ? '-' : ' '}${t}\r\n`).join('');
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let from = 0;
        for (const p of points) {
          chunks.push(text.slice(from, p));
          from = p;
        }
        chunks.push(text.slice(from));
        expect(readAll(chunks)).toEqual(readAll([text]));
        // One reply per line not marked as continued.
        expect(readAll([text])).toHaveLength(lines.filter(([, more]) => !more).length);
      }),
    );
  });

  it('never throws on any bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 5 }), (chunks) => {
        for (const e of readAll(chunks)) expect('status' in e ? e.status >= 200 && e.status <= 599 : typeof e.error === 'string').toBe(true);
      }),
    );
  });
});

describe('sendMail against a server sending random bytes', () => {
  it('always resolves with an outcome, never throws', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 200 }), async (junk) => {
        const srv = await new ScriptedServer(junk, []).start();
        try {
          const out = await sendMail({ host: '127.0.0.1', port: srv.port, helo: 'h', from: 'a@example.com', to: ['b@example.com'], data: 'x\r\n.\r\n', timeoutMs: 100 });
          expect(out.ok).toBe(false);
          expect(['ESMTP_PROTOCOL', 'ESMTP_REPLY', 'ESMTP_TIMEOUT']).toContain(out.error?.code);
        } finally {
          await srv.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});
