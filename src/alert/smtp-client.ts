// One mail over one SMTP connection, keepalived's dialogue (core/smtp.c): wait for 220, HELO,
// MAIL FROM, one RCPT TO per recipient, DATA, the message, QUIT. Every wait (the connect and each
// reply) is bounded by the timeout. Never rejects: the outcome says what happened.

import net from 'node:net';
import { envelopeAddress } from './message.js';
import { SmtpError } from './errors.js';
import { ReplyReader } from './reply.js';

export interface SmtpRequest {
  host: string;
  port: number;
  /** HELO argument. */
  helo: string;
  from: string;
  to: readonly string[];
  /** The message as composeMessage returns it (ends with CRLF . CRLF). */
  data: string;
  /** smtp_connect_timeout, in ms: for the connect and for each reply. */
  timeoutMs: number;
}

export interface SmtpOutcome {
  ok: boolean;
  error?: SmtpError;
}

interface Step {
  name: string;
  expect: number;
  /** What to send once the previous reply was right (null: the greeting, nothing to send). */
  send: string | null;
}

function dialogue(r: SmtpRequest): Step[] {
  return [
    { name: '(E)SMTP', expect: 220, send: null },
    { name: 'HELO', expect: 250, send: `HELO ${r.helo}\r\n` },
    { name: 'MAIL', expect: 250, send: `MAIL FROM:${envelopeAddress(r.from)}\r\n` },
    ...r.to.map((a) => ({ name: 'RCPT', expect: 250, send: `RCPT TO:${envelopeAddress(a)}\r\n` })),
    { name: 'DATA', expect: 354, send: 'DATA\r\n' },
    { name: 'BODY', expect: 250, send: r.data },
  ];
}

export function sendMail(r: SmtpRequest): Promise<SmtpOutcome> {
  return new Promise((resolve) => {
    const steps = dialogue(r);
    let at = 0;
    const replies = new ReplyReader();
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let connected = false;
    const where = `${r.host}:${r.port}`;
    const sock = net.connect({ host: r.host, port: r.port });

    const arm = (what: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(new SmtpError('ESMTP_TIMEOUT', `no ${what} from SMTP server ${where} within ${r.timeoutMs} ms`, steps[at]?.name ?? 'QUIT')), r.timeoutMs);
    };
    const finish = (o: SmtpOutcome, quit: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(o);
      if (quit && connected && sock.writable) {
        // Polite end (keepalived sends QUIT after a failure or the message); the 221 is not awaited.
        sock.end('QUIT\r\n');
        setTimeout(() => sock.destroy(), Math.min(r.timeoutMs, 1000)).unref();
      } else sock.destroy();
    };
    const fail = (e: SmtpError) => finish({ ok: false, error: e }, e.code === 'ESMTP_REPLY' || e.code === 'ESMTP_TIMEOUT');

    arm('connection');
    sock.setNoDelay(true);
    sock.on('connect', () => {
      connected = true;
      arm('greeting');
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (settled) return;
      fail(new SmtpError(connected ? 'ESMTP_PROTOCOL' : 'ESMTP_CONNECT', `SMTP server ${where}: ${e.code ?? e.message}`, steps[at]?.name ?? 'QUIT'));
    });
    sock.on('close', () => fail(new SmtpError('ESMTP_PROTOCOL', `SMTP server ${where} closed the connection`, steps[at]?.name ?? 'QUIT')));
    sock.setEncoding('latin1');
    sock.on('data', (chunk: string) => {
      for (const reply of replies.push(chunk)) {
        if (settled) return;
        const step = steps[at];
        if ('error' in reply) return fail(new SmtpError('ESMTP_PROTOCOL', `SMTP server ${where}: ${reply.error}`, step.name));
        if (reply.status !== step.expect) return fail(new SmtpError('ESMTP_REPLY', `SMTP server ${where} answered ${step.name} with ${reply.status}: ${reply.text.slice(0, 200)}`, step.name, reply.status));
        at++;
        if (at === steps.length) return finish({ ok: true }, true);
        sock.write(steps[at].send!);
        arm(`reply to ${steps[at].name}`);
      }
    });
  });
}
