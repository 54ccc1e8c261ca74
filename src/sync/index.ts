// Public API of IPVS connection synchronisation between directors.
export {
  SyncDaemon, resolveConfig, type SyncDaemonConfig, type SyncDaemonDeps, type SyncDaemonView, type SyncRole, type SyncCounters,
} from './daemon.js';
export { SyncDaemonError, SyncDecodeError, type SyncDaemonCode, type SyncDecodeCode } from './errors.js';
export { decodeMessage, encodeMessage, packMessages, type SyncConn, type DecodedMessage } from './codec.js';
export { SyncInstaller, type Installed } from './backup.js';
export { SyncOutbox } from './master.js';
