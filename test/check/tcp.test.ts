// TCP_CHECK's probe on its own: up on a real listener, refused on a closed port, and bad input
// (a port out of range, a bind address this host does not have, an abort) as failed checks with
// a reason, never a throw. Loopback only.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { tcpCheck } from '../../src/check/tcp.js';
import { close, closedPort, listen } from './helpers.js';

const server = createServer((s) => s.end());
let port = 0;
beforeAll(async () => {
  port = await listen(server);
});
afterAll(() => close(server));

describe('tcpCheck', () => {
  it('is up when the connection completes and down when it is refused', async () => {
    expect(await tcpCheck({ type: 'TCP' }, { addr: '127.0.0.1', port }, 1000)).toMatchObject({ ok: true, reason: 'connected' });
    expect(await tcpCheck({ type: 'TCP' }, { addr: '127.0.0.1', port: await closedPort() }, 1000)).toMatchObject({ ok: false, reason: 'ECONNREFUSED' });
  });

  it('turns bad input into a failed check with a reason', async () => {
    expect(await tcpCheck({ type: 'TCP', connectPort: 70000 }, { addr: '127.0.0.1', port }, 500)).toMatchObject({ ok: false, reason: 'ERR_SOCKET_BAD_PORT' });
    expect(await tcpCheck({ type: 'TCP', bindTo: '192.0.2.77' }, { addr: '127.0.0.1', port }, 500)).toMatchObject({ ok: false, reason: 'EADDRNOTAVAIL' });
    const ac = new AbortController();
    ac.abort();
    expect(await tcpCheck({ type: 'TCP' }, { addr: '127.0.0.1', port }, 500, ac.signal)).toMatchObject({ ok: false, reason: 'aborted' });
  });
});
