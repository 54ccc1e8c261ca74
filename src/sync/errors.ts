// Sync daemon errors with stable codes. Decoding errors are values (a bad datagram is counted and
// dropped); start/stop errors carry the errno ipvsadm prints a message for.

export type SyncDecodeCode = 'ESHORT' | 'ESIZE' | 'ESYNCID' | 'EVERSION' | 'EENTRY_TYPE' | 'EENTRY_SHORT' | 'EOPTION';

/** Why a received datagram was dropped whole. */
export class SyncDecodeError extends Error {
  constructor(readonly code: SyncDecodeCode, message: string) {
    super(message);
    this.name = 'SyncDecodeError';
  }
}

/**
 * start/stop failures as the kernel reports them (start_sync_thread / stop_sync_thread):
 * EEXIST a daemon of that role runs already, ESRCH none runs, ENODEV unknown interface,
 * EINVAL bad parameters, EADDRNOTAVAIL the interface has no address of the group's family.
 */
export type SyncDaemonCode = 'EEXIST' | 'ESRCH' | 'ENODEV' | 'EINVAL' | 'EADDRNOTAVAIL' | 'ESOCKET';

/** ipvsadm's text (libipvs ipvs_strerror, else strerror) for each code. */
export const SYNC_DAEMON_MESSAGES: Record<SyncDaemonCode, string> = {
  EEXIST: 'Daemon has already run',
  ESRCH: 'No daemon is running',
  ENODEV: 'No such device',
  EINVAL: 'Invalid operation.  Possibly wrong module version, address not unicast, ...',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ESOCKET: 'Operation not permitted',
};

export class SyncDaemonError extends Error {
  constructor(readonly code: SyncDaemonCode, readonly detail = '') {
    super(SYNC_DAEMON_MESSAGES[code]);
    this.name = 'SyncDaemonError';
  }
}
