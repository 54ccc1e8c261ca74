// lvsadm -S / -C / -R round trip against a running lvsd, and keepalived's reload semantics: edits
// made with lvsadm are live and logged until a SIGHUP, which brings the table back to the file.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { lvsadm, sleep, tcpExchange } from './lvsadm-harness.js';
import { REPLY, REQUEST, startScenario, type Scenario } from './lvsadm-scenario.js';

let sc: Scenario;
let saved = '';

beforeAll(async () => {
  sc = await startScenario();
  const r = await lvsadm(sc.lvsd.socket, ['-S', '-n']);
  expect(r.code).toBe(0);
  saved = r.stdout;
}, 30000);

afterAll(async () => {
  await sc?.stop();
});

const EMPTY_LIST = 'IP Virtual Server version 1.2.1 (size=4096)\n' +
  'Prot LocalAddress:Port Scheduler Flags\n' +
  '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';

async function waitForLog(pred: (e: Record<string, unknown>) => boolean, from: number, what: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10000;
  for (;;) {
    const hit = sc.lvsd.logs().slice(from).find(pred);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no log event: ${what}`);
    await sleep(50);
  }
}

/** A request through the IPv4 TCP VIP, retried briefly while the proxy (re)starts listening. */
async function throughVip(): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      return (await tcpExchange('127.0.0.1', sc.ports.tcp4, REQUEST)).reply;
    } catch (err) {
      if (i >= 20) throw err;
      await sleep(100);
    }
  }
}

test('-S > f; -C; -R < f; -S gives the same text', async () => {
  expect(saved.split('\n').length).toBe(17); // 16 rules and the final newline
  const cleared = await lvsadm(sc.lvsd.socket, ['-C']);
  expect(cleared).toEqual({ stdout: '', stderr: '', code: 0 });
  expect((await lvsadm(sc.lvsd.socket, ['-L', '-n'])).stdout).toBe(EMPTY_LIST);
  expect((await lvsadm(sc.lvsd.socket, ['-S', '-n'])).stdout).toBe('');

  const restored = await lvsadm(sc.lvsd.socket, ['-R'], saved);
  expect(restored).toEqual({ stdout: '', stderr: '', code: 0 });
  expect((await lvsadm(sc.lvsd.socket, ['-S', '-n'])).stdout).toBe(saved);
  // and the restored table serves: wrr over 127.0.0.2 (w1) and 127.0.0.3 (w2)
  expect([REPLY.b2, REPLY.b3]).toContain(await throughVip());
});

test('lvsadm edits are live and logged; SIGHUP brings back the file\'s table', async () => {
  const p = sc.ports;
  const sock = sc.lvsd.socket;
  const mark = sc.lvsd.logs().length;
  const edits: string[][] = [
    ['-e', '-t', `127.0.0.1:${p.tcp4}`, '-r', `127.0.0.3:${p.b3}`, '-m', '-w', '5'],
    ['-d', '-t', `127.0.0.1:${p.tcp4}`, '-r', '192.0.2.10:80'],
    ['-a', '-u', `127.0.0.1:${p.udp4}`, '-r', `198.51.100.20:${p.udp4}`, '-g', '-w', '4'],
    ['-A', '-t', '127.0.0.1:9', '-s', 'lc'],
    ['-D', '-f', '8', '-6'],
    ['-E', '-t', `[::1]:${p.tcp6}`, '-s', 'rr'],
  ];
  for (const e of edits) expect(await lvsadm(sock, e)).toEqual({ stdout: '', stderr: '', code: 0 });
  // a failing edit says why, in ipvsadm's words, and changes nothing
  expect(await lvsadm(sock, ['-d', '-t', `127.0.0.1:${p.tcp4}`, '-r', '192.0.2.99:80'])).toEqual({ stdout: '', stderr: 'No such destination\n', code: 255 });

  const t4 = `-t 127.0.0.1:${p.tcp4}`;
  const u4 = `-u 127.0.0.1:${p.udp4}`;
  const t6 = `-t [::1]:${p.tcp6}`;
  const edited = saved.split('\n')
    .map((l) => (l === `-a ${t4} -r 127.0.0.3:${p.b3} -m -w 2` ? `-a ${t4} -r 127.0.0.3:${p.b3} -m -w 5` : l))
    .filter((l) => l !== `-a ${t4} -r 192.0.2.10:80 -m -w 0` && !l.startsWith('-A -f 8 -6') && !l.startsWith('-a -f 8 -6'))
    .map((l) => (l === `-A ${t6} -s wlc -p 300` ? `-A ${t6} -s rr` : l))
    .flatMap((l) => (l === `-a ${u4} -r 198.51.100.10:${p.udp4} -i -w 0 --tun-type ipip` ? [l, `-a ${u4} -r 198.51.100.20:${p.udp4} -g -w 4`] : [l]));
  // the new service sorts first (127.0.0.1:9 has the lowest port among IPv4 TCP services)
  edited.unshift('-A -t 127.0.0.1:9 -s lc');
  expect((await lvsadm(sock, ['-S', '-n'])).stdout).toBe(edited.join('\n'));

  // each edit was logged by the control socket (op, ok) and by the daemon (lvsadm edit)
  const logs = sc.lvsd.logs().slice(mark);
  const requests = logs.filter((e) => e.msg === 'control request' && e.type === 'apply');
  expect(requests.map((e) => [e.op, e.ok])).toEqual([
    ['edit-dest', true], ['delete-dest', true], ['add-dest', true], ['add-service', true], ['delete-service', true],
    ['edit-service', true], ['delete-dest', false],
  ]);
  expect(requests.at(-1)!.code).toBe('NO_DEST');
  expect(logs.filter((e) => e.msg === 'lvsadm edit').map((e) => e.command)).toEqual(requests.map((e) => e.op));

  // SIGHUP: the file is the truth again (keepalived re-applies its configuration on reload)
  const before = sc.lvsd.logs().length;
  sc.lvsd.proc.kill('SIGHUP');
  const applied = await waitForLog((e) => e.msg === 'reload applied', before, 'reload applied');
  expect(applied.changes).toBeGreaterThan(0);
  expect((await lvsadm(sock, ['-S', '-n'])).stdout).toBe(saved);
  expect([REPLY.b2, REPLY.b3]).toContain(await throughVip());
});
