// TCP sockets carrying a firewall mark (SO_MARK) from their first packet, for checkers with
// `fwmark` (keepalived sets SO_MARK before connecting). Node has no setsockopt, so a tiny N-API
// addon (native/lvsd-sockopt.c, built by `npm ci`) opens the socket and Node adopts its fd.
// Shell: loads the addon once; callers fall back to an unmarked socket when it is missing.

import { closeSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface SockoptAddon {
  openMarkedTcpSocket(family: 4 | 6, mark: number): number;
}

let addon: SockoptAddon | null | undefined;
let missing = '';

/** native/build/lvsd-sockopt.node, found from this module in src/ or dist/src/. */
function addonPath(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'native', 'build', 'lvsd-sockopt.node');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return null;
}

function load(): SockoptAddon | null {
  if (addon !== undefined) return addon;
  const p = addonPath();
  try {
    addon = p ? (createRequire(import.meta.url)(p) as SockoptAddon) : null;
    if (!p) missing = 'native/build/lvsd-sockopt.node is not built (npm ci builds it with cc and Node\'s headers)';
  } catch (e) {
    addon = null;
    missing = `native/build/lvsd-sockopt.node cannot be loaded: ${(e as Error).message}`;
  }
  return addon;
}

/** Why marked sockets are unavailable (addon missing, or the kernel refuses SO_MARK), or null. */
export function markedSocketsUnavailable(): string | null {
  const a = load();
  if (!a) return missing;
  try {
    closeSync(a.openMarkedTcpSocket(4, 1));
    return null;
  } catch (e) {
    return `SO_MARK is refused: ${(e as Error).message}`;
  }
}

/**
 * The fd of an unconnected non-blocking TCP socket whose packets carry `mark`, for
 * `new Socket({ fd })`. Null when the addon is missing (see markedSocketsUnavailable). Throws the
 * addon's error (code ESOCKET/ESOMARK, e.g. EPERM without CAP_NET_ADMIN) when the kernel refuses.
 */
export function markedTcpFd(family: 4 | 6, mark: number): number | null {
  const a = load();
  return a ? a.openMarkedTcpSocket(family, mark >>> 0) : null;
}

/**
 * Options for `new Socket(...)`: the marked fd when `mark` is set and possible, else none (the
 * check runs unmarked; the daemon warns once at start, see markedSocketsUnavailable()).
 */
export function markedSocketOptions(family: 4 | 6, mark: number | undefined): { fd: number; readable: true; writable: true } | Record<string, never> {
  if (!mark) return {};
  try {
    const fd = markedTcpFd(family, mark);
    return fd === null ? {} : { fd, readable: true, writable: true };
  } catch {
    return {};
  }
}

/** An unconnected TCP socket carrying `mark` (unmarked when the addon is missing). */
export function markedTcpSocket(family: 4 | 6, mark: number): Socket {
  return new Socket(markedSocketOptions(family, mark));
}
