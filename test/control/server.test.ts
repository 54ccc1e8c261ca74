// The control socket on a real unix socket: lvsadm edits and listings end to end through
// runLvsadm + ControlClient, random bytes and oversized requests get error replies and the server
// keeps answering, the socket file is 0600.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ControlClient, ControlClientError } from '../../src/control/client.js';
import { MAX_MESSAGE_BYTES } from '../../src/control/protocol.js';
import { runLvsadm } from '../../src/control/run.js';
import { ControlServer } from '../../src/control/server.js';
import { MemoryTable } from './memory-table.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'lvsd-control-'));
const sockPath = path.join(dir, 'control.sock');
const table = new MemoryTable();
const server = new ControlServer({ path: sockPath, handler: table, logger: pino({ level: 'silent' }) });
const client = new ControlClient(sockPath, 5000);
const lvsadm = (line: string, stdin = '') =>
  runLvsadm(line === '' ? [] : line.split(' '), { table: client, readStdin: async () => stdin });

beforeAll(() => server.start());
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Send raw bytes, collect everything until the server closes or `ms` passes. */
function raw(bytes: Buffer, ms = 2000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.createConnection(sockPath);
    let out = '';
    const t = setTimeout(() => { s.destroy(); resolve(out); }, ms);
    s.on('data', (d) => { out += d.toString(); });
    s.on('error', () => undefined);
    s.on('close', () => { clearTimeout(t); resolve(out); });
    s.on('connect', () => s.end(bytes));
  });
}

describe('control socket', () => {
  test('socket file is mode 0600', () => {
    expect(statSync(sockPath).mode & 0o777).toBe(0o600);
  });

  test('edits and listings through the socket, with ipvsadm messages and exit codes', async () => {
    expect(await lvsadm('-A -t 192.0.2.10:80 -s rr')).toEqual({ stdout: '', stderr: '', exitCode: 0 });
    expect(await lvsadm('-A -t 192.0.2.10:80 -s rr')).toEqual({ stdout: '', stderr: 'Service already exists\n', exitCode: 255 });
    expect(await lvsadm('-A -t 192.0.2.11:80 -s nosuch')).toEqual({ stdout: '', stderr: 'Scheduler or persistence engine not found\n', exitCode: 255 });
    expect(await lvsadm('-a -t 192.0.2.10:80 -r 10.0.0.11:80 -m')).toMatchObject({ exitCode: 0 });
    expect(await lvsadm('-a -t 192.0.2.99:80 -r 10.0.0.11:80 -m')).toEqual({ stdout: '', stderr: 'Service not defined\n', exitCode: 255 });
    expect(await lvsadm('-e -t 192.0.2.10:80 -r 10.0.0.12:80 -m')).toEqual({ stdout: '', stderr: 'No such destination\n', exitCode: 255 });
    expect((await lvsadm('-L -n')).stdout).toBe([
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      'TCP  192.0.2.10:80 rr',
      '  -> 10.0.0.11:80                 Masq    1      0          0         ',
      '',
    ].join('\n'));
    expect(await lvsadm('-L -n -t 192.0.2.99:80')).toEqual({ stdout: '', stderr: 'No such service\n', exitCode: 1 });
    expect(await lvsadm('--set 0 60 0')).toMatchObject({ exitCode: 0 });
    expect((await lvsadm('-L --timeout')).stdout).toBe('Timeout (tcp tcpfin udp): 900 60 300\n');
  });

  test('-S then -C then -R restores the same table; a bad line stops with exit 2', async () => {
    const saved = (await lvsadm('-S -n')).stdout;
    expect(saved).toBe('-A -t 192.0.2.10:80 -s rr\n-a -t 192.0.2.10:80 -r 10.0.0.11:80 -m -w 1\n');
    expect((await lvsadm('-C')).exitCode).toBe(0);
    expect(await lvsadm('-R', saved)).toEqual({ stdout: '', stderr: '', exitCode: 0 });
    expect((await lvsadm('-S -n')).stdout).toBe(saved);
    const r = await lvsadm('-R', '-A -u 192.0.2.10:53\n-A -u 192.0.2.10:53\n-a -u 192.0.2.10:53 -r 10.0.0.1 -w 99999\n-A -u 192.0.2.10:54\n');
    expect(r).toEqual({ stdout: '', stderr: 'Service already exists\nillegal weight specified\n', exitCode: 2 });
    expect((await lvsadm('-S -n')).stdout).toContain('-A -u 192.0.2.10:53 -s wlc\n');
    expect((await lvsadm('-S -n')).stdout).not.toContain('192.0.2.10:54');
  });

  test('random bytes and malformed requests get error replies; the server keeps answering', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2048 }), async (bytes) => {
      const buf = Buffer.concat([Buffer.from(bytes), Buffer.from('\n')]);
      const reply = await raw(buf);
      const first = reply.split('\n')[0]!;
      const parsed = JSON.parse(first) as { ok: boolean };
      expect(parsed.ok).toBe(false);
    }), { numRuns: 40 });
    for (const line of ['{}', '[]', '{"v":1,"id":1}', '{"v":2,"id":1,"type":"snapshot"}',
      '{"v":1,"id":1,"type":"apply","command":{"op":"restore","commands":[{"op":"restore","commands":[]}]}}',
      '{"v":1,"id":1,"type":"apply","command":{"op":"add-dest","service":{"kind":"addr","protocol":"TCP","address":"192.0.2.010","port":80}}}']) {
      const reply = JSON.parse((await raw(Buffer.from(line + '\n'))).split('\n')[0]!) as { ok: boolean; error: { code: string } };
      expect(reply.ok).toBe(false);
      expect(['EREQUEST', 'EVERSION', 'EPARSE']).toContain(reply.error.code);
    }
    expect((await client.snapshot()).services.length).toBeGreaterThan(0);
  }, 60000);

  test('an oversized request gets ETOOBIG and the connection closes', async () => {
    const reply = await raw(Buffer.alloc(MAX_MESSAGE_BYTES + 10, 0x61), 5000);
    expect(JSON.parse(reply.split('\n')[0]!)).toMatchObject({ ok: false, error: { code: 'ETOOBIG' } });
    expect((await client.snapshot()).version).toBe('1.2.1');
  });

  test('no socket: "lvsd is not running"', async () => {
    const gone = new ControlClient(path.join(dir, 'absent.sock'));
    await expect(gone.snapshot()).rejects.toBeInstanceOf(ControlClientError);
    const r = await runLvsadm(['-L', '-n'], { table: gone, readStdin: async () => '' });
    expect(r).toEqual({ stdout: '', stderr: `lvsd is not running (no control socket at ${path.join(dir, 'absent.sock')})\n`, exitCode: 255 });
  });
});
