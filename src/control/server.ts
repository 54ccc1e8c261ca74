// The control socket server (shell): a unix socket, mode 0600, newline-delimited JSON requests
// (protocol.ts) answered by the daemon's handler. Every request is logged; a malformed or oversized
// request gets an error response and its connection is closed; nothing thrown escapes.
import { chmod, chown, lstat, mkdir, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  decodeRequest, encode, MAX_MESSAGE_BYTES, PROTOCOL_VERSION, ProtocolError, type ControlResponse,
} from './protocol.js';
import type { ApplyResult, ControlCommand, SnapshotOptions, TableView } from './view.js';

export const DEFAULT_CONTROL_SOCKET = '/run/lvsd/control.sock';

/** What the daemon gives the server: the table's view and its one apply path. */
export interface ControlHandler {
  snapshot(options?: SnapshotOptions): TableView | Promise<TableView>;
  apply(cmd: ControlCommand): ApplyResult | Promise<ApplyResult>;
}

export interface ControlServerOptions {
  path?: string;
  handler: ControlHandler;
  logger: Logger;
  /** owner of the socket file (the daemon's user); default: the process's */
  uid?: number;
  gid?: number;
  maxMessageBytes?: number;
}

export class ControlServerError extends Error {
  constructor(readonly code: 'ESOCKET', message: string) {
    super(message);
  }
}

export class ControlServer {
  readonly path: string;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly maxBytes: number;

  constructor(private readonly opts: ControlServerOptions) {
    this.path = opts.path ?? DEFAULT_CONTROL_SOCKET;
    this.maxBytes = opts.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.server = net.createServer((sock) => this.onConnection(sock));
    this.server.on('error', (err) => opts.logger.error({ err, socket: this.path }, 'control socket error'));
  }

  /** Create the directory, replace a stale socket file, listen, restrict to 0600. */
  async start(): Promise<void> {
    await mkdir(path.dirname(this.path), { recursive: true, mode: 0o750 });
    try {
      const st = await lstat(this.path);
      if (!st.isSocket()) throw new ControlServerError('ESOCKET', `${this.path} exists and is not a socket`);
      await unlink(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // umask narrows the window in which the socket exists with wider permissions
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(this.path, () => {
          this.server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(oldMask);
    }
    await chmod(this.path, 0o600);
    if (this.opts.uid !== undefined || this.opts.gid !== undefined) {
      await chown(this.path, this.opts.uid ?? process.getuid?.() ?? 0, this.opts.gid ?? process.getgid?.() ?? 0);
    }
    this.opts.logger.info({ socket: this.path }, 'control socket listening');
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await unlink(this.path).catch(() => undefined);
  }

  private onConnection(sock: net.Socket): void {
    this.sockets.add(sock);
    let chunks: Buffer[] = [];
    let size = 0;
    let closing = false;
    let queue = Promise.resolve();
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', (err) => this.opts.logger.debug({ err }, 'control connection error'));
    const fail = (err: ProtocolError): void => {
      if (closing) return;
      closing = true;
      this.opts.logger.warn({ code: err.code, id: err.id }, err.message);
      const resp: ControlResponse = { v: PROTOCOL_VERSION, id: err.id, ok: false, error: { code: err.code, message: err.message } };
      sock.end(encode(resp));
      // a peer that never reads must not keep the socket open
      setTimeout(() => sock.destroy(), 1000).unref();
    };
    sock.on('data', (data: Buffer) => {
      if (closing) return;
      let start = 0;
      for (;;) {
        const nl = data.indexOf(0x0a, start);
        if (nl === -1) break;
        const piece = data.subarray(start, nl);
        if (size + piece.length > this.maxBytes) return fail(new ProtocolError('ETOOBIG', `request larger than ${this.maxBytes} bytes`));
        const line = Buffer.concat([...chunks, piece]).toString('utf8');
        chunks = [];
        size = 0;
        start = nl + 1;
        queue = queue.then(() => this.handleLine(line, sock, fail));
      }
      const rest = data.subarray(start);
      size += rest.length;
      if (size > this.maxBytes) return fail(new ProtocolError('ETOOBIG', `request larger than ${this.maxBytes} bytes`));
      if (rest.length > 0) chunks.push(Buffer.from(rest));
    });
  }

  private async handleLine(line: string, sock: net.Socket, fail: (err: ProtocolError) => void): Promise<void> {
    if (sock.destroyed) return;
    let req;
    try {
      req = decodeRequest(line);
    } catch (err) {
      fail(err instanceof ProtocolError ? err : new ProtocolError('EREQUEST', 'invalid request'));
      return;
    }
    const log = this.opts.logger;
    try {
      if (req.type === 'snapshot') {
        const view = await this.opts.handler.snapshot(req.options);
        log.info({ id: req.id, type: 'snapshot', connections: req.options?.connections === true }, 'control request');
        if (!sock.destroyed) sock.write(encode({ v: PROTOCOL_VERSION, id: req.id, ok: true, view }));
      } else {
        const result = await this.opts.handler.apply(req.command);
        log.info({ id: req.id, type: 'apply', op: req.command.op, ok: result.ok, code: result.ok ? undefined : result.code }, 'control request');
        if (!sock.destroyed) sock.write(encode({ v: PROTOCOL_VERSION, id: req.id, ok: true, result }));
      }
    } catch (err) {
      log.error({ err, id: req.id, type: req.type }, 'control handler failed');
      fail(new ProtocolError('EHANDLER', 'internal error', req.id));
    }
  }
}
