// lvsadm --start-daemon / --stop-daemon / -L --daemon end to end in one process: ipvsadm's
// argument handling, the control protocol's validation, a real SyncDaemon (master on the loopback
// interface) behind lvsd's DaemonSync, and ipvsadm's messages for the kernel's errors.
import { afterAll, describe, expect, test } from '@jest/globals';
import { parseArgs } from '../../src/control/args.js';
import { validateCommand } from '../../src/control/protocol.js';
import { renderDaemons } from '../../src/control/render/daemons.js';
import { runLvsadm, type TableAccess } from '../../src/control/run.js';
import type { ApplyResult, ControlCommand, TableView } from '../../src/control/view.js';
import { createTable, IpvsTableControl } from '../../src/ipvs/index.js';
import { pino } from 'pino';
import { DaemonSync } from '../../src/daemon/sync.js';

const table = createTable();
const sync = new DaemonSync(table, () => 0, pino({ level: 'silent' }), () => null);
const control = new IpvsTableControl(table, { now: () => 0 });

/** lvsd's control handler for these commands (src/daemon/sync.ts), over JSON as the socket carries it. */
const access: TableAccess = {
  async snapshot(o): Promise<TableView> {
    return JSON.parse(JSON.stringify({ ...control.snapshot(o), daemons: sync.views() })) as TableView;
  },
  async apply(raw: ControlCommand): Promise<ApplyResult> {
    const cmd = validateCommand(JSON.parse(JSON.stringify(raw)));
    return cmd.op === 'start-daemon' || cmd.op === 'stop-daemon' ? sync.command(cmd) : control.apply(cmd);
  },
};
const lvsadm = (line: string) => runLvsadm(line.split(' '), { table: access, readStdin: async () => '' });

afterAll(() => sync.stop());

describe('lvsadm sync daemon commands', () => {
  test('parse: ipvsadm defaults (eth0, syncid 0) and every option carried', () => {
    expect(parseArgs(['--start-daemon', 'backup'])).toEqual({ ok: true, action: { kind: 'apply', command: {
      op: 'start-daemon', daemon: { state: 'backup', mcastInterface: 'eth0', syncid: 0, maxlen: 0, group: null, port: 0, ttl: 0 } } } });
    const r = parseArgs('--start-daemon master --mcast-interface bond0 --syncid 7 --sync-maxlen 1400 --mcast-group 239.1.2.3 --mcast-port 9000 --mcast-ttl 3'.split(' '));
    expect(r).toEqual({ ok: true, action: { kind: 'apply', command: {
      op: 'start-daemon', daemon: { state: 'master', mcastInterface: 'bond0', syncid: 7, maxlen: 1400, group: '239.1.2.3', port: 9000, ttl: 3 } } } });
    expect(parseArgs(['--stop-daemon', 'master'])).toEqual({ ok: true, action: { kind: 'apply', command: { op: 'stop-daemon', state: 'master' } } });
    expect(parseArgs(['--start-daemon', 'master', '--syncid', '256'])).toMatchObject({ ok: false, exitCode: 2, stderr: 'illegal syncid specified\n' });
  });

  test('the protocol refuses malformed daemon commands', () => {
    const good = { op: 'start-daemon', daemon: { state: 'master', mcastInterface: 'eth0', syncid: 1, maxlen: 0, group: null, port: 0, ttl: 0 } };
    expect(validateCommand(good)).toEqual(good);
    for (const bad of [
      { ...good, daemon: { ...good.daemon, state: 'both' } },
      { ...good, daemon: { ...good.daemon, mcastInterface: 'a/b' } },
      { ...good, daemon: { ...good.daemon, syncid: 300 } },
      { ...good, daemon: { ...good.daemon, group: 'not-an-address' } },
      { op: 'stop-daemon', state: 'x' },
    ]) expect(() => validateCommand(bad)).toThrow();
  });

  test('start, list, a second start, stops, and errors with ipvsadm text', async () => {
    expect(await lvsadm('-L --daemon')).toEqual({ stdout: '', stderr: '', exitCode: 0 });
    expect(await lvsadm('--start-daemon master --mcast-interface lo --syncid 5')).toEqual({ stdout: '', stderr: '', exitCode: 0 });
    expect((await lvsadm('-L --daemon')).stdout).toBe('master sync daemon (mcast=lo, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n');
    expect(await lvsadm('--start-daemon master --mcast-interface lo')).toEqual({ stdout: '', stderr: 'Daemon has already run\n', exitCode: 255 });
    expect(await lvsadm('--stop-daemon backup')).toEqual({ stdout: '', stderr: 'No daemon is running\n', exitCode: 255 });
    expect(await lvsadm('--start-daemon backup --mcast-interface nosuch9')).toEqual({ stdout: '', stderr: 'No such device\n', exitCode: 255 });
    expect(await lvsadm('--stop-daemon master')).toEqual({ stdout: '', stderr: '', exitCode: 0 });
    expect((await lvsadm('-L --daemon')).stdout).toBe('');
  });

  test('render: master first, then backup, with the IPv6 group and maxlen as given', () => {
    expect(renderDaemons([
      { state: 'master', mcastInterface: 'eth1', syncid: 0, maxlen: 1452, group: 'ff02::81', port: 8848, ttl: 1 },
      { state: 'backup', mcastInterface: 'eth1', syncid: 9, maxlen: 1472, group: '224.0.0.81', port: 8848, ttl: 1 },
    ])).toBe('master sync daemon (mcast=eth1, syncid=0, maxlen=1452, group=ff02::81, port=8848, ttl=1)\n'
      + 'backup sync daemon (mcast=eth1, syncid=9, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n');
  });
});
