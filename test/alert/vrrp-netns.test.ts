// The real lvsd in a network namespace running one VRRP instance, mailing a real SMTP server in
// another namespace: BACKUP at start, MASTER when no other router speaks up, and "Stopping" on
// SIGTERM - keepalived's VRRP alerts through the daemon's state-change wiring.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { lvsdBin, repoRoot } from '../helpers/paths.js';
import { isRoot, makeLab, Proc, type Lab } from '../vrrp/netns-helpers.js';

if (!isRoot) console.log('test/alert/vrrp-netns: skipped, needs root for network namespaces and raw sockets');
const d = isRoot ? describe : describe.skip;

const SINK = '192.0.2.10'; // the lab's client namespace, on the bridge
const SINK_PORT = 2525;

d('lvsd VRRP email alerts', () => {
  let lab: Lab;
  let sink: Proc;
  beforeAll(async () => {
    lab = makeLab('alert', ['r1']);
    const child = spawn('ip', ['netns', 'exec', lab.names.cl, process.execPath, join(repoRoot, 'dist/test/alert/sink-main.js'), SINK, String(SINK_PORT)], { stdio: ['ignore', 'pipe', 'pipe'] });
    lab.procs.push(child);
    sink = new Proc(child);
    await sink.waitFor(() => sink.lines.some((l) => l.includes('"listening"')), 10_000, 'sink listening');
  });
  afterAll(() => lab?.cleanup());

  it('mails Entering BACKUP state, Entering MASTER state, then Stopping', async () => {
    const conf = join(lab.dir, 'r1.conf');
    writeFileSync(
      conf,
      `global_defs {
    router_id r1
    notification_email {
        ops@example.com
    }
    notification_email_from lvsd@r1.example.com
    smtp_server ${SINK} ${SINK_PORT}
    smtp_connect_timeout 2
    smtp_alert_vrrp
}
lvsd_defs {
    drain_timeout 0
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    version 3
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`,
    );
    const child = spawn('ip', ['netns', 'exec', lab.names.r1, process.execPath, lvsdBin, '-n', '-f', conf, '--control-socket', join(lab.dir, 'r1.sock'), '--workers', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    lab.procs.push(child);
    const lvsd = new Proc(child);
    const mails = () => sink.events.filter((e) => 'data' in e) as unknown as { helo: string; data: string }[];
    const subjects = () => mails().map((m) => /\r\nSubject: ([^\r]*)\r\n/.exec(m.data)?.[1]);
    await sink.waitFor(() => subjects().length >= 2, 15_000, 'BACKUP and MASTER mails');
    lvsd.kill('SIGTERM');
    await lvsd.exited();
    await sink.waitFor(() => subjects().length >= 3, 5_000, 'the Stopping mail');
    expect(subjects()).toEqual(['[r1] VRRP Instance VI_1 - Entering BACKUP state', '[r1] VRRP Instance VI_1 - Entering MASTER state', '[r1] VRRP Instance VI_1 - Stopping']);
    const bodies = mails().map((m) => m.data.split('\r\n\r\n')[1]);
    expect(bodies).toEqual(['=> VRRP Instance is no longer owning VRRP VIPs <=', '=> VRRP Instance is now owning VRRP VIPs <=', '=> VRRP Instance stopping <=']);
    // No smtp_helo_name: HELO is the host name.
    expect(new Set(mails().map((m) => m.helo))).toEqual(new Set([hostname()]));
  }, 40_000);
});
