// Real SMTP servers on loopback for the alert tests: smtp-server keeping every mail it accepts
// (HELO name, envelope, message), a scripted server that records the client's exact bytes, and a
// mute one that accepts connections and never says a word.
import net from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface ReceivedMail {
  helo: string | false;
  from: string | false;
  to: string[];
  data: string;
}

export class MailSink {
  readonly mails: ReceivedMail[] = [];
  /** Called with each mail as it arrives. */
  onMail: (m: ReceivedMail) => void = () => {};
  private readonly waiters: (() => void)[] = [];
  private readonly server: SMTPServer;
  port = 0;

  constructor(opts: Partial<SMTPServerOptions> = {}) {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, cb) => {
        const parts: Buffer[] = [];
        stream.on('data', (b: Buffer) => parts.push(b));
        stream.on('end', () => {
          this.mails.push({
            helo: session.hostNameAppearsAs,
            from: session.envelope.mailFrom && session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map((r) => r.address),
            data: Buffer.concat(parts).toString('latin1'),
          });
          this.onMail(this.mails[this.mails.length - 1]);
          for (const w of this.waiters.splice(0)) w();
          cb();
        });
      },
      ...opts,
    });
    this.server.on('error', () => {});
  }

  async start(host = '127.0.0.1', port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    this.port = (this.server.server.address() as net.AddressInfo).port;
    return this;
  }

  /** Resolves once `n` mails have arrived (or rejects after `timeoutMs`). */
  async received(n: number, timeoutMs = 10_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.mails.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${n} mails, got ${this.mails.length}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.mails.slice(0, n);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A server that answers each client line with the next scripted reply and records what it got. */
export class ScriptedServer {
  readonly received: string[] = [];
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  /** `greeting` is sent on connect (null: never); `replies` answer the client's lines in order. */
  constructor(greeting: string | null, replies: string[]) {
    this.server = net.createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {});
      if (greeting !== null) s.write(greeting);
      let buf = '';
      let inData = false;
      let next = 0;
      s.setEncoding('latin1');
      s.on('data', (chunk: string) => {
        buf += chunk;
        for (;;) {
          if (inData) {
            const end = buf.indexOf('\r\n.\r\n');
            if (end < 0) return;
            this.received.push(buf.slice(0, end + 5));
            buf = buf.slice(end + 5);
            inData = false;
          } else {
            const eol = buf.indexOf('\r\n');
            if (eol < 0) return;
            const line = buf.slice(0, eol + 2);
            buf = buf.slice(eol + 2);
            this.received.push(line);
            if (line === 'DATA\r\n' && replies[next]?.startsWith('354')) inData = true;
          }
          const r = replies[next++];
          if (r !== undefined) s.write(r);
        }
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A port nobody listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Log lines kept for assertions (the AlertLogger shape). */
export class MemoryLog {
  readonly lines: { level: 'info' | 'warn'; msg: string; obj: Record<string, unknown> }[] = [];
  info(obj: object, msg: string): void {
    this.lines.push({ level: 'info', msg, obj: obj as Record<string, unknown> });
  }
  warn(obj: object, msg: string): void {
    this.lines.push({ level: 'warn', msg, obj: obj as Record<string, unknown> });
  }
}
