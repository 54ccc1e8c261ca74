// As root: the 0600 control socket refuses a non-root user. A throwaway user connects with
// `runuser -u USER -- node -e ...` and must get EACCES; the user is removed afterwards.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ControlServer } from '../../src/control/server.js';
import { MemoryTable } from '../control/memory-table.js';

const isRoot = process.getuid?.() === 0;
const hasTools = spawnSync('sh', ['-c', 'command -v useradd && command -v runuser && command -v userdel']).status === 0;
if (!isRoot) console.log('control-perm: skipped, needs root (useradd/runuser)');
else if (!hasTools) console.log('control-perm: skipped, useradd/runuser/userdel not installed');
const run = isRoot && hasTools ? test : test.skip;

const user = `lvsdctl${Math.random().toString(36).slice(2, 8)}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'lvsd-control-perm-'));
const sockPath = path.join(dir, 'control.sock');
let server: ControlServer | null = null;

beforeAll(async () => {
  if (!isRoot || !hasTools) return;
  chmodSync(dir, 0o755); // the directory is searchable; only the socket's mode protects it
  execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', user]);
  server = new ControlServer({ path: sockPath, handler: new MemoryTable(), logger: pino({ level: 'silent' }) });
  await server.start();
});

afterAll(async () => {
  await server?.stop();
  if (isRoot && hasTools) spawnSync('userdel', [user]);
  rmSync(dir, { recursive: true, force: true });
});

const probe = `const s=require('net').createConnection(process.argv[1]);` +
  `s.on('connect',()=>{console.log('CONNECTED');s.destroy()});s.on('error',e=>{console.log(e.code)})`;

run('a non-root user cannot connect; root can', () => {
  const asUser = spawnSync('runuser', ['-u', user, '--', process.execPath, '-e', probe, sockPath], { encoding: 'utf8', timeout: 10000 });
  expect(asUser.stdout.trim()).toBe('EACCES');
  const asRoot = spawnSync(process.execPath, ['-e', probe, sockPath], { encoding: 'utf8', timeout: 10000 });
  expect(asRoot.stdout.trim()).toBe('CONNECTED');
});
