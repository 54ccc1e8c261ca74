// The real lvsd (dist/src/bin/lvsd.js) with a checker on a closed port: the real server goes
// down and one mail arrives at a real SMTP server on loopback; when something listens there again
// it comes up and the UP mail follows. With the SMTP server gone, the failure is logged and the
// daemon carries on.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { freePort, LvsdProcess, tempDir, type TempDir } from '../e2e/harness.js';
import { closedPort, MailSink } from './mail-sink.js';

let tmp: TempDir;
let sink: MailSink;
const started: LvsdProcess[] = [];

beforeAll(async () => {
  tmp = tempDir('lvsd-alert-');
  sink = await new MailSink().start();
});

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  await sink.close();
  tmp.cleanup();
});

function config(name: string, smtpPort: number, vip: number, rsPort: number): string {
  const file = tmp.path(`${name}.conf`);
  writeFileSync(
    file,
    [
      'global_defs {',
      '  router_id lvsd_alert',
      '  notification_email {',
      '    ops@example.com',
      '  }',
      '  notification_email_from lvsd@example.com',
      `  smtp_server 127.0.0.1 ${smtpPort}`,
      '  smtp_helo_name lb.example.com',
      '  smtp_connect_timeout 2',
      '}',
      'lvsd_defs {',
      `  control_socket ${tmp.path(`${name}.sock`)}`,
      '  drain_timeout 1',
      '}',
      `virtual_server 127.0.0.1 ${vip} {`,
      '  lvs_sched rr',
      '  protocol TCP',
      '  delay_loop 1',
      `  real_server 127.0.0.1 ${rsPort} {`,
      '    TCP_CHECK {',
      '      connect_timeout 1',
      '    }',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  return file;
}

describe('lvsd email alerts', () => {
  it('one mail when the real server goes down, one when it comes back', async () => {
    const vip = await freePort();
    const rsPort = await closedPort();
    const lvsd = await LvsdProcess.start(config('down', sink.port, vip, rsPort));
    started.push(lvsd);
    const subject = (s: string) => `[lvsd_alert] Realserver [127.0.0.1]:tcp:${rsPort} of virtual server [127.0.0.1]:tcp:${vip} - ${s}`;
    const [down] = await sink.received(1, 15_000);
    expect(down).toMatchObject({ helo: 'lb.example.com', from: 'lvsd@example.com', to: ['ops@example.com'] });
    expect(down.data).toMatch(new RegExp(`^Date: \\w{3}, \\d\\d \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d [+-]\\d{4}\\r\\nFrom: lvsd@example.com\\r\\n`));
    expect(down.data).toContain(`\r\nSubject: ${subject('DOWN')}\r\n`);
    expect(down.data.endsWith('\r\n\r\n=> TCP CHECK failed on service <=\r\n\r\n')).toBe(true);
    await lvsd.waitFor((l) => l.msg === 'smtp alert sent', 5000);

    const listener = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => listener.listen(rsPort, '127.0.0.1', resolve));
    try {
      const [, up] = await sink.received(2, 15_000);
      expect(up.data).toContain(`\r\nSubject: ${subject('UP')}\r\n`);
      expect(up.data).toContain('\r\n\r\n=> TCP CHECK succeed on service <=\r\n');
    } finally {
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
    // Exactly one mail per change.
    expect(sink.mails.filter((m) => m.data.includes(`Subject: ${subject('DOWN')}\r\n`))).toHaveLength(1);
    expect((await lvsd.stop()).code).toBe(0);
  }, 40_000);

  it('a reload that drops a live real server mails "=> Removing <="', async () => {
    const vip = await freePort();
    const live = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => live.listen(0, '127.0.0.1', resolve));
    const rsPort = (live.address() as net.AddressInfo).port;
    try {
      const file = config('reload', sink.port, vip, rsPort);
      const lvsd = await LvsdProcess.start(file);
      started.push(lvsd);
      const before = sink.mails.length;
      // The same file without the real server.
      writeFileSync(file, readFileSync(file, 'utf8').replace(/  real_server[\s\S]*?\n  }\n/, ''));
      await lvsd.signal('SIGHUP', (l) => l.msg === 'reload applied');
      const [m] = (await sink.received(before + 1, 10_000)).slice(before);
      expect(m.data).toContain(`\r\nSubject: [lvsd_alert] Realserver [127.0.0.1]:tcp:${rsPort} of virtual server [127.0.0.1]:tcp:${vip} - DOWN\r\n`);
      expect(m.data.endsWith('\r\n\r\n=> Removing <=\r\n\r\n')).toBe(true);
      expect((await lvsd.stop()).code).toBe(0);
    } finally {
      await new Promise<void>((resolve) => live.close(() => resolve()));
    }
  }, 30_000);

  it('with the SMTP server on a closed port: logged, and the daemon goes on', async () => {
    const vip = await freePort();
    const lvsd = await LvsdProcess.start(config('nosmtp', await closedPort(), vip, await closedPort()));
    started.push(lvsd);
    const fail = await lvsd.waitFor((l) => l.msg === 'smtp alert not sent', 15_000);
    expect(fail).toMatchObject({ code: 'ESMTP_CONNECT', step: '(E)SMTP' });
    // The checker's change was applied all the same, and lvsd stops cleanly.
    expect(lvsd.count((l) => l.msg === 'table updated')).toBeGreaterThanOrEqual(1);
    expect((await lvsd.stop()).code).toBe(0);
  }, 30_000);
});
