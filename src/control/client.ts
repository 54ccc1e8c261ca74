// Control socket client: one request, one response, with a timeout. Used by lvsadm.
import net from 'node:net';
import { encode, MAX_MESSAGE_BYTES, PROTOCOL_VERSION, type ControlResponse } from './protocol.js';
import { DEFAULT_CONTROL_SOCKET } from './server.js';
import type { ApplyResult, ControlCommand, SnapshotOptions, TableView } from './view.js';

export type ClientErrorCode = 'ENOTRUNNING' | 'EACCES' | 'ETIMEDOUT' | 'EPROTO' | 'ESERVER';

export class ControlClientError extends Error {
  constructor(readonly code: ClientErrorCode, message: string) {
    super(message);
  }
}

/** Socket path: --socket PATH, else $LVSD_CONTROL_SOCKET, else /run/lvsd/control.sock. */
export function controlSocketPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.LVSD_CONTROL_SOCKET ?? DEFAULT_CONTROL_SOCKET;
}

export class ControlClient {
  private nextId = 1;
  constructor(readonly path: string, private readonly timeoutMs = 10000) {}

  async snapshot(options: SnapshotOptions = {}): Promise<TableView> {
    const resp = await this.request({ type: 'snapshot', options });
    if (!('view' in resp)) throw new ControlClientError('EPROTO', 'unexpected response');
    return resp.view;
  }

  async apply(command: ControlCommand): Promise<ApplyResult> {
    const resp = await this.request({ type: 'apply', command });
    if (!('result' in resp)) throw new ControlClientError('EPROTO', 'unexpected response');
    return resp.result;
  }

  private request(body: { type: 'snapshot'; options: SnapshotOptions } | { type: 'apply'; command: ControlCommand }): Promise<ControlResponse & { ok: true }> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const sock = net.createConnection(this.path);
      let buf = '';
      let done = false;
      const finish = (err: Error | null, resp?: ControlResponse & { ok: true }): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.destroy();
        if (err) reject(err);
        else resolve(resp!);
      };
      const timer = setTimeout(() => finish(new ControlClientError('ETIMEDOUT', `no answer from lvsd on ${this.path}`)), this.timeoutMs);
      sock.setEncoding('utf8');
      sock.on('connect', () => sock.write(encode({ v: PROTOCOL_VERSION, id, ...body })));
      sock.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
          finish(new ControlClientError('ENOTRUNNING', `lvsd is not running (no control socket at ${this.path})`));
        } else if (err.code === 'EACCES' || err.code === 'EPERM') {
          finish(new ControlClientError('EACCES', `Permission denied (you must be root): ${this.path}`));
        } else finish(new ControlClientError('EPROTO', `control socket ${this.path}: ${err.message}`));
      });
      sock.on('data', (chunk: string) => {
        buf += chunk;
        if (buf.length > 512 * MAX_MESSAGE_BYTES) return finish(new ControlClientError('EPROTO', 'response too large'));
        const nl = buf.indexOf('\n');
        if (nl === -1) return;
        let resp: ControlResponse;
        try {
          resp = JSON.parse(buf.slice(0, nl)) as ControlResponse;
        } catch {
          return finish(new ControlClientError('EPROTO', 'malformed response from lvsd'));
        }
        if (!resp.ok) return finish(new ControlClientError('ESERVER', `lvsd: ${resp.error.message} (${resp.error.code})`));
        finish(null, resp);
      });
      sock.on('close', () => finish(new ControlClientError('EPROTO', 'lvsd closed the connection')));
    });
  }
}
