// SMTP_CHECK (smtp-server), DNS_CHECK (dnsmasq), UDP_CHECK (UDP echo), PING_CHECK (loopback),
// FILE_CHECK, all against real servers and files started by the test.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createTcp, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { smtpCheck, smtpReplyStatus } from '../../src/check/smtp.js';
import { dnsCheck, dnsReplyResult } from '../../src/check/dns.js';
import { udpCheck, parseHexString, udpReplyOk } from '../../src/check/udp.js';
import { pingCheck } from '../../src/check/ping.js';
import { fileCheck, fileResult, strtol0 } from '../../src/check/file.js';
import { close, closedPort, listen, tempDir } from './helpers.js';

const target = { addr: '127.0.0.1', port: 0 };
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('SMTP_CHECK', () => {
  const helos: string[] = [];
  const smtp = new SMTPServer({ authOptional: true, disabledCommands: ['STARTTLS'], logger: false, onConnect: (_s, cb) => cb() });
  smtp.on('error', () => {});
  let port = 0;
  const mute = createTcp((s: Socket) => s.on('error', () => {}));
  const muted: Socket[] = [];
  let mutePort = 0;
  beforeAll(async () => {
    port = await listen(smtp.server);
    mute.on('connection', (s) => muted.push(s));
    mutePort = await listen(mute);
  });
  afterAll(async () => {
    muted.forEach((s) => s.destroy());
    await Promise.all([new Promise((r) => smtp.close(() => r(null))), close(mute)]);
  });

  it('is up after 220 greeting and 250 to HELO; down when refused or silent; up again', async () => {
    smtp.server.on('connection', (s: Socket) => s.on('data', (d) => helos.push(d.toString())));
    expect(await smtpCheck({ type: 'SMTP', connectPort: port, heloName: 'lvsd.test' }, target, 2000)).toMatchObject({ ok: true });
    expect(helos.join('')).toContain('HELO lvsd.test');
    expect(await smtpCheck({ type: 'SMTP', connectPort: await closedPort() }, target, 2000)).toMatchObject({ ok: false, reason: 'ECONNREFUSED' });
    expect(await smtpCheck({ type: 'SMTP', connectPort: mutePort }, target, 300)).toMatchObject({ ok: false, reason: 'timeout waiting for greeting reply' });
    expect(await smtpCheck({ type: 'SMTP', hosts: [{ connectPort: port }, { connectPort: port }] }, target, 2000)).toMatchObject({ ok: true });
  });

  it('parses multi-line replies and rejects non-SMTP', () => {
    expect(smtpReplyStatus('250-a\r\n250-b\r\n')).toBeNull();
    expect(smtpReplyStatus('250-a\r\n250 b\r\n')).toBe(250);
    expect(smtpReplyStatus('HTTP/1.1 400\r\n')).toBe('bad');
    fc.assert(fc.property(fc.string(), (s) => void smtpReplyStatus(s)));
  });
});

/** A port that is free on 127.0.0.1 for UDP and for TCP at the moment of asking. */
async function freeUdpTcpPort(): Promise<number> {
  for (;;) {
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const p = probe.address().port;
    const tcpFree = await new Promise<boolean>((r) => {
      const srv = createTcp();
      srv.once('error', () => r(false));
      srv.listen(p, '127.0.0.1', () => srv.close(() => r(true)));
    });
    probe.close();
    if (tcpFree) return p;
  }
}

describe('DNS_CHECK', () => {
  let dnsmasq: ChildProcess | undefined;
  let port = 0;
  beforeAll(async () => {
    // dnsmasq answering x.test with 192.0.2.10 on a port free for both UDP and TCP (it binds both);
    // a port taken meanwhile by another test makes it exit, so a few fresh ports are tried.
    for (let attempt = 0; attempt < 5; attempt++) {
      port = await freeUdpTcpPort();
      const conf = join(tmp.dir, 'dnsmasq.conf');
      writeFileSync(conf, `port=${port}\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\naddress=/x.test/192.0.2.10\n`);
      const proc = spawn('dnsmasq', ['--no-daemon', `--conf-file=${conf}`, '--pid-file=', '--user=root'], { stdio: 'ignore' });
      let exited = false;
      proc.once('exit', () => (exited = true));
      dnsmasq = proc;
      for (let i = 0; i < 100 && !exited; i++) {
        const r = await dnsCheck({ type: 'DNS', connectPort: port, queryType: 'A', name: 'x.test' }, target, 100);
        if (r.ok) return;
      }
      if (!exited) proc.kill('SIGTERM');
    }
    throw new Error('dnsmasq did not come up');
  }, 60000);
  afterAll(() => {
    if (dnsmasq?.pid) process.kill(dnsmasq.pid, 'SIGTERM');
  });

  it('is up on a NOERROR answer, checks `expect`, fails on a wrong answer, NXDOMAIN-free timeouts and refusal', async () => {
    const spec = { type: 'DNS' as const, connectPort: port, queryType: 'A' as const, name: 'x.test' };
    expect(await dnsCheck(spec, target, 1000)).toMatchObject({ ok: true, reason: 'NOERROR, 1 answers' });
    expect(await dnsCheck({ ...spec, expect: ['192.0.2.10'] }, target, 1000)).toMatchObject({ ok: true });
    expect(await dnsCheck({ ...spec, expect: ['192.0.2.99'] }, target, 1000)).toMatchObject({ ok: false, reason: 'answer [192.0.2.10] not in expect' });
    // default query: SOA for "." — dnsmasq without upstream refuses it (rcode 5)
    expect((await dnsCheck({ type: 'DNS', connectPort: port }, target, 1000)).reason).toMatch(/^rcode \d+$/);
    expect(await dnsCheck({ ...spec, connectPort: await closedPort() }, target, 1000)).toMatchObject({ ok: false, reason: 'ECONNREFUSED' });
  });

  it('fails on a malformed reply, ignores short or foreign ones until the timeout', async () => {
    const bad = createSocket('udp4');
    let mode: 'malformed' | 'short' = 'malformed';
    bad.on('message', (q, from) => {
      const reply = mode === 'short' ? Buffer.from([1, 2, 3]) : Buffer.concat([q.subarray(0, 2), Buffer.from([0x81, 0x80, 0, 1, 0, 5, 0, 0, 0, 0, 0xff, 0xff])]);
      bad.send(reply, from.port, from.address);
    });
    await new Promise<void>((r) => bad.bind(0, '127.0.0.1', () => r()));
    const p = bad.address().port;
    expect(await dnsCheck({ type: 'DNS', connectPort: p }, target, 1000)).toMatchObject({ ok: false, reason: 'malformed reply' });
    mode = 'short';
    expect(await dnsCheck({ type: 'DNS', connectPort: p }, target, 300)).toMatchObject({ ok: false, reason: 'timeout' });
    bad.close();
  });

  it('never throws on arbitrary reply bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 0xffff }), (bytes, id) => {
      const r = dnsReplyResult(Buffer.from(bytes), id, { type: 'DNS', expect: ['192.0.2.1'] }, 0);
      expect(r === 'ignore' || typeof r.ok === 'boolean').toBe(true);
    }));
    const good = dnsPacket.encode({ type: 'response', id: 7, flags: 0, answers: [{ type: 'A', name: 'x', data: '192.0.2.1' }] });
    expect(dnsReplyResult(good, 7, { type: 'DNS', queryType: 'A', expect: ['192.0.2.1'] }, 0)).toMatchObject({ ok: true });
    expect(dnsReplyResult(good, 8, { type: 'DNS' }, 0)).toBe('ignore');
  });
});

describe('UDP_CHECK', () => {
  let echo: UdpSocket;
  let silent: UdpSocket;
  let ep = 0, sp = 0;
  beforeAll(async () => {
    echo = createSocket('udp4');
    echo.on('message', (m, from) => echo.send(Buffer.concat([Buffer.from([0xab, 0x12]), m]), from.port, from.address));
    silent = createSocket('udp4');
    await Promise.all([new Promise<void>((r) => echo.bind(0, '127.0.0.1', () => r())), new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()))]);
    ep = echo.address().port;
    sp = silent.address().port;
  });
  afterAll(() => {
    echo.close();
    silent.close();
  });

  it('is up on a matching reply; down on ICMP port unreachable, on silence with require_reply, on a mismatch', async () => {
    const payload = parseHexString('01 02 03').bytes;
    const ok = await udpCheck({ type: 'UDP', connectPort: ep, payload, requireReply: true, replyPattern: parseHexString('AB 1X 01') }, target, 1000);
    expect(ok).toMatchObject({ ok: true, reason: 'reply' });
    const mismatch = await udpCheck({ type: 'UDP', connectPort: ep, payload, requireReply: true, replyPattern: parseHexString('AC') }, target, 1000);
    expect(mismatch).toMatchObject({ ok: false, reason: 'reply mismatch' });
    expect(await udpCheck({ type: 'UDP', connectPort: await closedPort() }, target, 1000)).toMatchObject({ ok: false, reason: 'ECONNREFUSED' });
    expect(await udpCheck({ type: 'UDP', connectPort: sp, requireReply: true }, target, 200)).toMatchObject({ ok: false, reason: 'no reply' });
    expect(await udpCheck({ type: 'UDP', connectPort: sp }, target, 200)).toMatchObject({ ok: true, reason: 'no ICMP error' });
  });

  it('parses keepalived hex strings and applies length limits', () => {
    expect([...parseHexString('Ab12f 3 456').bytes]).toEqual([0xab, 0x12, 0x0f, 0x03, 0x45, 0x06]);
    expect([...parseHexString('aX').mask]).toEqual([0x0f]);
    expect(() => parseHexString('zz')).toThrow();
    const spec = { type: 'UDP' as const, replyPattern: parseHexString('01'), minReplyLength: 2, maxReplyLength: 3 };
    expect(udpReplyOk(Uint8Array.from([1]), spec)).toBe(false);
    expect(udpReplyOk(Uint8Array.from([1, 9]), spec)).toBe(true);
    expect(udpReplyOk(Uint8Array.from([1, 9, 9, 9]), spec)).toBe(false);
  });
});

describe('PING_CHECK', () => {
  it('gets echo replies from 127.0.0.1 and ::1', async () => {
    if (process.getuid?.() !== 0) {
      console.log('skipped: raw ICMP sockets need root');
      return;
    }
    expect(await pingCheck({ type: 'PING' }, { addr: '127.0.0.1', port: 0 }, 1000)).toMatchObject({ ok: true, reason: 'echo reply' });
    expect(await pingCheck({ type: 'PING' }, { addr: '::1', port: 0 }, 1000)).toMatchObject({ ok: true });
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => pingCheck({ type: 'PING' }, { addr: `127.0.0.${i + 1}`, port: 0 }, 1000)));
    expect(many.every((r) => r.ok)).toBe(true);
  });
});

describe('FILE_CHECK', () => {
  it('reads the number like strtol and applies keepalived weight rules', async () => {
    const f = join(tmp.dir, 'track');
    writeFileSync(f, '0x10\n');
    expect(await fileCheck({ type: 'FILE', path: f, weight: 2 })).toMatchObject({ ok: true, weightDelta: 32 });
    writeFileSync(f, '3');
    expect(await fileCheck({ type: 'FILE', path: f, weight: 0 })).toMatchObject({ ok: false });
    expect(await fileCheck({ type: 'FILE', path: f, weight: 0, reverse: true })).toMatchObject({ ok: true });
    expect(await fileCheck({ type: 'FILE', path: join(tmp.dir, 'missing'), weight: 0 })).toMatchObject({ ok: true }); // unreadable = 0
    expect(strtol0('  -017 junk')).toBe(-15);
    expect(strtol0('junk')).toBe(0);
    expect(fileResult(-(2 ** 31), { weight: 1 })).toMatchObject({ ok: false });
    expect(fileResult(5, { weight: 3, reverse: true })).toMatchObject({ ok: true, weightDelta: -15 });
  });
});

describe('bad targets', () => {
  it('fail the check with a clear reason instead of throwing', async () => {
    const bad = { addr: '127.0.0.1', port: 70000 };
    expect((await udpCheck({ type: 'UDP' }, bad, 300)).reason).toMatch(/^bad target: Port should be/);
    expect((await dnsCheck({ type: 'DNS' }, bad, 300)).reason).toMatch(/^bad target: Port should be/);
    expect((await udpCheck({ type: 'UDP' }, { addr: 'not-an-ip', port: 53 }, 300)).ok).toBe(false);
  });
});
