// `-L --daemon` (ipvsadm list_daemon): one line per running sync daemon, master first, with the
// details the kernel reports back (its defaults filled in). Pure.
import type { SyncDaemonView } from '../view.js';

export function renderDaemons(views: readonly SyncDaemonView[]): string {
  let out = '';
  for (const v of views) {
    out += `${v.state} sync daemon (mcast=${v.mcastInterface}, syncid=${v.syncid}`;
    if (v.maxlen) out += `, maxlen=${v.maxlen}`;
    out += `, group=${v.group}`;
    if (v.port) out += `, port=${v.port}`;
    if (v.ttl) out += `, ttl=${v.ttl}`;
    out += ')\n';
  }
  return out;
}
