// global_defs, static addresses/routes/rules, linkbeat interfaces, track groups, track files and
// tracked processes (keepalived.conf(5), "GLOBAL CONFIGURATION").

import { block, str } from '../schema.js';

export const globalDefsSchema = {
  router_id: str(null),
};

export const globalKeywords = {
  global_defs: block('global_defs', globalDefsSchema),
};
