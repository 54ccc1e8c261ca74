// A real NOTIFY_SOCKET for tests: Node has no unix datagram sockets, so a few lines of python3
// bind one (with SO_PASSCRED, like systemd) and print each datagram with its sender's pid as JSON.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';

const LISTENER = `
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print(json.dumps({"listening": sys.argv[1]}), flush=True)
while True:
    data, anc, flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(12))
    pid = None
    for level, kind, c in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", c[:12])[0]
    print(json.dumps({"pid": pid, "data": data.decode("utf-8", "replace")}), flush=True)
`;

export interface Notification {
  /** The sender's pid as the kernel saw it (SCM_CREDENTIALS): what systemd checks. */
  pid: number | null;
  /** VARIABLE=VALUE assignments in the datagram. */
  fields: Record<string, string>;
}

/** Why the listener cannot run here, or null. */
export function notifyListenerMissing(): string | null {
  const py = spawnSync('python3', ['-c', 'import socket; socket.SCM_CREDENTIALS'], { encoding: 'utf8' });
  if (py.error || py.status !== 0) return 'python3 (with socket.SCM_CREDENTIALS) is not available';
  const sn = spawnSync('systemd-notify', ['--help'], { encoding: 'utf8' });
  if (sn.error) return 'the systemd-notify binary (package systemd) is not installed';
  return null;
}

export class NotifyListener {
  readonly messages: Notification[] = [];
  private waiters: Array<() => void> = [];
  private child: ChildProcess | null = null;

  constructor(readonly path: string) {}

  async start(): Promise<void> {
    const child = spawn('python3', ['-c', LISTENER, this.path], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let buf = '';
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`notify listener exited ${code}: ${err}`)));
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) !== -1) {
          const m = JSON.parse(buf.slice(0, nl)) as { listening?: string; pid?: number | null; data?: string };
          buf = buf.slice(nl + 1);
          if (m.listening) {
            resolve();
            continue;
          }
          // systemd-notify (252) follows each message with a BARRIER=1 handshake of its own.
          if (m.data === 'BARRIER=1') continue;
          const fields: Record<string, string> = {};
          for (const line of (m.data ?? '').split('\n')) {
            const eq = line.indexOf('=');
            if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
          }
          this.messages.push({ pid: m.pid ?? null, fields });
        }
        for (const w of this.waiters) w();
      });
    });
  }

  /** Waits until `pred` holds for the messages received so far. */
  waitUntil(pred: (ms: Notification[]) => boolean, timeoutMs = 10000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pred(this.messages)) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`notifications so far: ${JSON.stringify(this.messages)}`));
      }, timeoutMs);
      this.waiters.push(check);
      check();
    });
  }

  stop(): void {
    this.child?.kill('SIGTERM');
    this.child = null;
  }
}
