// The SMTP dialogue against real servers on loopback: the exact bytes keepalived's sequence sends,
// a real server (smtp-server) accepting the mail, and every way it can go wrong - a 5xx, a server
// that never answers, a closed port - each an outcome, never a throw.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { composeMessage, sendMail, SmtpError, type SmtpRequest } from '../../src/alert/index.js';
import { closedPort, MailSink, ScriptedServer } from './mail-sink.js';

const data = composeMessage({ date: 'Mon, 01 Mar 2021 09:44:08 +0000', from: 'LB one <lb1@example.com>', to: ['ops@example.com', 'j@example.com'], subject: '[lb1] test', body: 'hello' });
const request = (port: number, over: Partial<SmtpRequest> = {}): SmtpRequest => ({
  host: '127.0.0.1',
  port,
  helo: 'lb1.example.com',
  from: 'LB one <lb1@example.com>',
  to: ['ops@example.com', 'j@example.com'],
  data,
  timeoutMs: 2000,
  ...over,
});

describe('sendMail', () => {
  let sink: MailSink;
  beforeAll(async () => {
    sink = await new MailSink({
      onRcptTo: (addr, _s, cb) => (addr.address.startsWith('nobody@') ? cb(Object.assign(new Error('no such user'), { responseCode: 550 })) : cb()),
    }).start();
  });
  afterAll(() => sink.close());

  it('sends HELO, MAIL FROM, one RCPT TO per recipient, DATA, the message, QUIT - byte for byte', async () => {
    const srv = await new ScriptedServer('220-mx.example.com ESMTP\r\n220 ready\r\n', ['250 hi\r\n', '250 ok\r\n', '250 ok\r\n', '250 ok\r\n', '354 go\r\n', '250 queued\r\n', '221 bye\r\n']).start();
    try {
      expect(await sendMail(request(srv.port))).toEqual({ ok: true });
      for (let i = 0; i < 50 && srv.received.length < 7; i++) await new Promise((r) => setTimeout(r, 20));
      expect(srv.received).toEqual([
        'HELO lb1.example.com\r\n',
        'MAIL FROM:<lb1@example.com>\r\n',
        'RCPT TO:<ops@example.com>\r\n',
        'RCPT TO:<j@example.com>\r\n',
        'DATA\r\n',
        data,
        'QUIT\r\n',
      ]);
    } finally {
      await srv.close();
    }
  });

  it('a real SMTP server takes the mail with its envelope and headers', async () => {
    expect(await sendMail(request(sink.port))).toEqual({ ok: true });
    const [m] = await sink.received(1);
    expect(m.helo).toBe('lb1.example.com');
    expect(m.from).toBe('lb1@example.com');
    expect(m.to).toEqual(['ops@example.com', 'j@example.com']);
    expect(m.data).toBe(data.slice(0, -3)); // the server keeps the message without the final "." line
  });

  it('a 5xx to RCPT TO: ESMTP_REPLY with the step and status, and nothing is sent', async () => {
    const before = sink.mails.length;
    const out = await sendMail(request(sink.port, { to: ['ops@example.com', 'nobody@example.com'] }));
    expect(out.ok).toBe(false);
    expect(out.error).toBeInstanceOf(SmtpError);
    expect(out.error).toMatchObject({ code: 'ESMTP_REPLY', step: 'RCPT', status: 550 });
    expect(sink.mails.length).toBe(before);
  });

  it('a server that never answers: ESMTP_TIMEOUT after the timeout, waiting for the greeting', async () => {
    const mute = await new ScriptedServer(null, []).start();
    try {
      const t0 = Date.now();
      const out = await sendMail(request(mute.port, { timeoutMs: 300 }));
      const took = Date.now() - t0;
      expect(out.error).toMatchObject({ code: 'ESMTP_TIMEOUT', step: '(E)SMTP' });
      expect(took).toBeGreaterThanOrEqual(290);
    } finally {
      await mute.close();
    }
  });

  it('a server that stops answering mid-way: ESMTP_TIMEOUT at that step, then QUIT', async () => {
    const srv = await new ScriptedServer('220 ready\r\n', ['250 hi\r\n']).start();
    try {
      const out = await sendMail(request(srv.port, { timeoutMs: 300 }));
      expect(out.error).toMatchObject({ code: 'ESMTP_TIMEOUT', step: 'MAIL' });
      for (let i = 0; i < 50 && srv.received.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
      expect(srv.received).toEqual(['HELO lb1.example.com\r\n', 'MAIL FROM:<lb1@example.com>\r\n', 'QUIT\r\n']);
    } finally {
      await srv.close();
    }
  });

  it('a closed port: ESMTP_CONNECT', async () => {
    const out = await sendMail(request(await closedPort()));
    expect(out.error).toMatchObject({ code: 'ESMTP_CONNECT', step: '(E)SMTP' });
  });

  it('a server that greets with 554 or sends garbage: an outcome, not a throw', async () => {
    const refuse = await new ScriptedServer('554 go away\r\n', []).start();
    const garbage = await new ScriptedServer('hello there\r\n', []).start();
    try {
      expect((await sendMail(request(refuse.port))).error).toMatchObject({ code: 'ESMTP_REPLY', step: '(E)SMTP', status: 554 });
      expect((await sendMail(request(garbage.port))).error).toMatchObject({ code: 'ESMTP_PROTOCOL' });
    } finally {
      await refuse.close();
      await garbage.close();
    }
  });
});
