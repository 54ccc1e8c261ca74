// Checker `fwmark`: TCP_CHECK, HTTP_GET, SSL_GET and SMTP_CHECK sockets carry SO_MARK from their
// first packet (native/lvsd-sockopt.c). Real servers on loopback; a table of our own drops
// packets to their ports unless they carry the mark, so only a marked check can succeed.
// Needs root (nft, SO_MARK); skips with a printed reason otherwise.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttp } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createServer as createTcp, type Server } from 'node:net';
import { httpCheck } from '../../src/check/http.js';
import { smtpCheck } from '../../src/check/smtp.js';
import { tcpCheck } from '../../src/check/tcp.js';
import { loadConfig } from '../../src/config/index.js';
import { checkSpecsOf } from '../../src/daemon/specs.js';
import { markedSocketsUnavailable } from '../../src/net/marked-socket.js';
import { close, listen, makeCert, tempDir } from '../check/helpers.js';

const root = process.getuid?.() === 0;
const MARK = 0x4321;
const table = `lvsd_ckmark_${randomBytes(3).toString('hex')}`;
const nft = (script: string): string => execFileSync('nft', [script], { encoding: 'utf8' });
const tmp = tempDir();
const servers: Server[] = [];
let tcpPort = 0, httpPort = 0, httpsPort = 0, smtpPort = 0, tcp6Port = 0;
let certFile = '';

beforeAll(async () => {
  const { key, cert } = makeCert(tmp.dir);
  certFile = cert;
  const tcp = createTcp((s) => s.on('error', () => {}).end());
  const tcp6 = createTcp((s) => s.on('error', () => {}).end());
  const http = createHttp((_q, r) => r.end('marked'));
  const https = createHttps({ key: readFileSync(key), cert: readFileSync(cert) }, (_q, r) => r.end('marked'));
  const smtp = createTcp((s) => {
    s.on('error', () => {});
    s.write('220 lvsd.test ESMTP\r\n');
    s.on('data', (d) => (String(d).startsWith('QUIT') ? s.end('221 bye\r\n') : s.write('250 lvsd.test\r\n')));
  });
  servers.push(tcp, tcp6, http, https, smtp);
  [tcpPort, httpPort, httpsPort, smtpPort] = await Promise.all([listen(tcp), listen(http), listen(https), listen(smtp)]);
  tcp6Port = await listen(tcp6, '::1');
  if (!root) return;
  nft(`add table inet ${table}
add chain inet ${table} out { type filter hook output priority 0; }
add rule inet ${table} out oifname "lo" tcp dport { ${[tcpPort, httpPort, httpsPort, smtpPort, tcp6Port].join(', ')} } meta mark != ${MARK} drop`);
});

afterAll(async () => {
  if (root) {
    try {
      nft(`delete table inet ${table}`);
    } catch { /* not made */ }
  }
  await Promise.all(servers.map((s) => close(s)));
  tmp.cleanup();
});

const target = (port: number, addr = '127.0.0.1') => ({ addr, port });

describe('checker fwmark (SO_MARK on TCP-based checks)', () => {
  it('the addon is built and the kernel takes SO_MARK', () => {
    if (!root) return void console.log('skipped: SO_MARK needs root (CAP_NET_ADMIN)');
    expect(markedSocketsUnavailable()).toBeNull();
  });

  it('TCP_CHECK with the mark connects (IPv4 and IPv6); without it or with another mark the SYN is dropped', async () => {
    if (!root) return void console.log('skipped: needs root for nft and SO_MARK');
    expect(await tcpCheck({ type: 'TCP', fwmark: MARK }, target(tcpPort), 1500)).toMatchObject({ ok: true });
    expect(await tcpCheck({ type: 'TCP', fwmark: MARK }, target(tcp6Port, '::1'), 1500)).toMatchObject({ ok: true });
    expect(await tcpCheck({ type: 'TCP' }, target(tcpPort), 300)).toMatchObject({ ok: false, reason: 'timeout' });
    expect(await tcpCheck({ type: 'TCP', fwmark: MARK + 1 }, target(tcpPort), 300)).toMatchObject({ ok: false, reason: 'timeout' });
  });

  it('HTTP_GET, SSL_GET (TLS over the marked socket) and SMTP_CHECK carry the mark', async () => {
    if (!root) return void console.log('skipped: needs root for nft and SO_MARK');
    expect(await httpCheck({ type: 'HTTP', fwmark: MARK, urls: [{ path: '/' }] }, target(httpPort), 2000)).toMatchObject({ ok: true });
    expect(await httpCheck({ type: 'SSL', fwmark: MARK, caFile: certFile, tlsVerify: false, urls: [{ path: '/' }] }, target(httpsPort), 2000)).toMatchObject({ ok: true });
    expect(await smtpCheck({ type: 'SMTP', fwmark: MARK }, target(smtpPort), 2000)).toMatchObject({ ok: true });
    expect((await httpCheck({ type: 'HTTP', urls: [{ path: '/' }] }, target(httpPort), 300)).ok).toBe(false);
    expect((await httpCheck({ type: 'SSL', tlsVerify: false, urls: [{ path: '/' }] }, target(httpsPort), 300)).ok).toBe(false);
    expect((await smtpCheck({ type: 'SMTP' }, target(smtpPort), 300)).ok).toBe(false);
  });
});

describe('checker fwmark in the configuration', () => {
  const conf = (checker: string) => {
    const url = checker.endsWith('_GET') ? '            url {\n                path /\n            }\n' : '';
    const t = tempDir();
    try {
      const f = `${t.dir}/c.conf`;
      writeFileSync(f, `virtual_server 192.0.2.1 80 {\n    real_server 198.51.100.1 80 {\n        ${checker} {\n            fwmark 7\n${url}        }\n    }\n}\n`);
      return loadConfig(f);
    } finally {
      t.cleanup();
    }
  };
  it('is acted on for TCP-based checkers and PING (in the check spec), read only for UDP_CHECK/DNS_CHECK (warned)', () => {
    for (const c of ['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'SMTP_CHECK', 'PING_CHECK']) {
      const r = conf(c);
      expect(r.diagnostics.warnings.map((d) => d.message)).toEqual([]);
      expect(checkSpecsOf(r.config!)[0].realServers[0].checkers[0]).toMatchObject({ fwmark: 7 });
    }
    for (const c of ['UDP_CHECK', 'DNS_CHECK']) {
      expect(conf(c).diagnostics.warnings.map((d) => d.message)).toEqual(["'fwmark' is read but lvsd does not act on it"]);
    }
  });
});
