// `lvsadm -c`: ipvsadm's list_conn / print_conn over the connection table.
import type { ListFormat } from '../args.js';
import type { ConnectionView, Protocol, TableView } from '../view.js';
import { addrPort, left, type NameResolver } from './format.js';

function expireText(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function connLine(c: ConnectionView, format: ListFormat, names: NameResolver | null): string {
  const proto: Protocol | null = c.protocol === 'IP' ? null : c.protocol;
  const cname = addrPort(c.client.address, c.client.port, proto, names);
  const vname = addrPort(c.virtual.address, c.virtual.port, proto, names);
  const dname = addrPort(c.destination.address, c.destination.port, proto, names);
  const head = `${left(c.protocol, 3)} ${left(expireText(c.expireSeconds), 6)} ${left(c.state, 11)} ${left(cname, 18)} ${left(vname, 18)}`;
  // the kernel adds pe name and data only when the entry has pe data; ipvsadm pads dname to 16 there
  if (format.persistentConn && c.peName !== null && c.peData !== null) {
    return `${head} ${left(dname, 16)} ${left(c.peName, 18)} ${c.peData}\n`;
  }
  return `${head} ${dname}\n`;
}

export function renderConnections(view: TableView, format: ListFormat, names: NameResolver | null): string {
  let out = 'IPVS connection entries\n';
  out += format.persistentConn
    ? `pro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} ${left('destination', 18)} ${left('pe name', 16)} pe_data\n`
    : `pro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} destination\n`;
  for (const c of view.connections) out += connLine(c, format, names);
  return out;
}
