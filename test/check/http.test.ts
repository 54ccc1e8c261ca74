// HTTP_GET / SSL_GET and genhash against real node http/https servers on loopback.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { createServer as createHttp, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createServer as createTcp, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { httpCheck, parseStatusRanges, statusMatches, buildRequest } from '../../src/check/http.js';
import { genhashMain } from '../../src/check/genhash.js';
import type { HttpCheckSpec } from '../../src/check/types.js';
import { close, closedPort, listen, makeCert, tempDir } from './helpers.js';

const BODY = 'hello from the real server\n';
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
let state = { status: 200, body: BODY };
const seenHosts: string[] = [];

function handler(req: IncomingMessage, res: ServerResponse): void {
  seenHosts.push(String(req.headers.host));
  if (req.url === '/endless') {
    res.writeHead(200);
    const pump = (): void => {
      while (res.write(Buffer.alloc(64 * 1024, 0x61))) { /* fill */ }
    };
    res.on('drain', pump);
    res.on('close', () => res.off('drain', pump));
    pump();
    return;
  }
  res.writeHead(state.status, { 'content-type': 'text/plain' });
  res.end(state.body);
}

const tmp = tempDir();
const http = createHttp(handler);
let https: ReturnType<typeof createHttps>;
const stall = createTcp((s: Socket) => s.on('error', () => {})); // accepts, never speaks TLS
const stallSockets: Socket[] = [];
let hp = 0, sp = 0, stp = 0;
let certFile = '';

beforeAll(async () => {
  const { key, cert } = makeCert(tmp.dir);
  certFile = cert;
  https = createHttps({ key: readFileSync(key), cert: readFileSync(cert) }, handler);
  stall.on('connection', (s) => stallSockets.push(s));
  [hp, sp, stp] = await Promise.all([listen(http), listen(https), listen(stall)]);
});
afterAll(async () => {
  for (const s of stallSockets) s.destroy();
  await Promise.all([close(http), close(https), close(stall)]);
  tmp.cleanup();
});

const target = { addr: '127.0.0.1', port: 0 };
const spec = (o: Partial<HttpCheckSpec>): HttpCheckSpec => ({ type: 'HTTP', urls: [{ path: '/' }], ...o });

describe('HTTP_GET', () => {
  it('is up on 2xx, down on a wrong status, a wrong digest or refused, and up again', async () => {
    state = { status: 200, body: BODY };
    const good = spec({ connectPort: hp, urls: [{ path: '/', digest: md5(BODY) }] });
    expect(await httpCheck(good, target, 2000)).toMatchObject({ ok: true, reason: 'status 200' });
    state = { status: 503, body: 'busy' };
    expect(await httpCheck(good, target, 2000)).toMatchObject({ ok: false, reason: '/: status 503' });
    state = { status: 200, body: 'changed' };
    expect((await httpCheck(good, target, 2000)).reason).toBe(`/: digest ${md5('changed')} != ${md5(BODY)}`);
    const refused = await httpCheck({ ...good, connectPort: await closedPort() }, target, 2000);
    expect(refused).toMatchObject({ ok: false, reason: '/: ECONNREFUSED' });
    state = { status: 200, body: BODY };
    expect((await httpCheck(good, target, 2000)).ok).toBe(true);
  });

  it('accepts status_code ranges and sends keepalived\'s request with the virtualhost', async () => {
    state = { status: 404, body: 'nope' };
    const r = await httpCheck(spec({ connectPort: hp, virtualhost: 'www.lvsd.test', urls: [{ path: '/x', statusCodes: parseStatusRanges(['200-299', '404']) }] }), target, 2000);
    expect(r.ok).toBe(true);
    expect(seenHosts.at(-1)).toBe('www.lvsd.test');
    expect(statusMatches(302)).toBe(false);
    expect(() => parseStatusRanges(['299-200'])).toThrow();
    expect(buildRequest('/a', '::1', 80, undefined, '1.1')).toBe('GET /a HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [::1]:80\r\n\r\n');
  });

  it('fails an endless body at the size cap, well within the timeout', async () => {
    const t0 = Date.now();
    const r = await httpCheck(spec({ connectPort: hp, urls: [{ path: '/endless' }], maxBodyBytes: 256 * 1024 }), target, 3000);
    expect(r).toMatchObject({ ok: false, reason: '/endless: body-too-large' });
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});

describe('SSL_GET', () => {
  it('checks over TLS without verification by default, with SNI when enabled', async () => {
    state = { status: 200, body: BODY };
    const r = await httpCheck(spec({ type: 'SSL', connectPort: sp, enableSni: true, virtualhost: 'lvsd.test', urls: [{ path: '/', digest: md5(BODY) }] }), target, 3000);
    expect(r).toMatchObject({ ok: true });
  });

  it('verifies when asked: fails on an unknown CA, passes with the CA file', async () => {
    const s = spec({ type: 'SSL', connectPort: sp, enableSni: true, sniName: 'lvsd.test', tlsVerify: true });
    expect((await httpCheck(s, target, 3000)).reason).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/);
    expect((await httpCheck({ ...s, caFile: certFile }, target, 3000)).ok).toBe(true);
  });

  it('fails cleanly within connect_timeout when the TLS handshake stalls', async () => {
    const t0 = Date.now();
    const r = await httpCheck(spec({ type: 'SSL', connectPort: stp }), target, 500);
    expect(r).toMatchObject({ ok: false, reason: '/: timeout' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});

describe('genhash', () => {
  it('prints the MD5 of the body for -s/-p/-u and for a plain URL, -S for TLS', async () => {
    state = { status: 200, body: BODY };
    let out = '';
    const w = (s: string): void => void (out += s);
    expect(await genhashMain(['-s', '127.0.0.1', '-p', String(hp), '-u', '/'], w)).toBe(0);
    expect(out).toBe(`${md5(BODY)}\n`);
    out = '';
    expect(await genhashMain([`http://127.0.0.1:${hp}/index.html`, '-v'], w)).toBe(0);
    expect(out).toContain('HTTP status code: 200');
    expect(out.trim().split('\n').at(-1)).toBe(md5(BODY));
    out = '';
    expect(await genhashMain(['-S', '-s', '127.0.0.1', '-p', String(sp), '-V', 'lvsd.test'], w)).toBe(0);
    expect(out).toBe(`${md5(BODY)}\n`);
  });

  it('reports bad usage and connection errors with an exit code, never throwing', async () => {
    let out = '';
    const w = (s: string): void => void (out += s);
    expect(await genhashMain(['-p', '80'], w)).toBe(2);
    expect(out).toContain('no server');
    expect(await genhashMain(['ftp://x/'], w)).toBe(2);
    expect(await genhashMain(['-s', '127.0.0.1', '-p', String(await closedPort())], w)).toBe(1);
    expect(out).toContain('ECONNREFUSED');
  });
});

describe('untrusted response bytes', () => {
  it('any bytes from the server give a clean result, never a throw or a hang', async () => {
    let payload = Buffer.alloc(0);
    const srv = createTcp((s: Socket) => {
      s.on('error', () => {});
      s.once('data', () => s.end(payload));
    });
    const port = await listen(srv);
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string().map((t) => new TextEncoder().encode(`HTTP/1.0 ${t}\r\n\r\n${t}`))),
          async (bytes) => {
            payload = Buffer.from(bytes);
            const r = await httpCheck(spec({ connectPort: port, urls: [{ path: '/', digest: md5('x') }] }), target, 1000);
            expect(typeof r.ok).toBe('boolean');
            expect(r.reason).not.toMatch(/timeout/);
          },
        ),
        { numRuns: 60 },
      );
    } finally {
      await close(srv);
    }
  });
});
