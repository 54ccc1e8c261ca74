// `lvsadm -L --json` (our addition): the TableView itself, services and destinations in listing
// order, under a versioned envelope. Shape: { "lvsadm_json": 1, "table": TableView }.
import type { ListFormat } from '../args.js';
import type { TableView } from '../view.js';
import { sortedDests, sortedServices } from './sort.js';

export const JSON_FORMAT_VERSION = 1;

export function renderJson(view: TableView, format: ListFormat): string {
  const services = sortedServices(view.services, format.nosort).map((s) => ({ ...s, dests: sortedDests(s.dests, format.nosort) }));
  return JSON.stringify({ lvsadm_json: JSON_FORMAT_VERSION, table: { ...view, services } }, null, 2) + '\n';
}
