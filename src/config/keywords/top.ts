// The top level of a configuration file: which blocks may appear and where their tables live.

import { ModelOf, Schema } from '../schema.js';
import { sslBlock, virtualServerGroups, virtualServers } from './lvs.js';
import { globalKeywords } from './global.js';
import { vrrpKeywords } from './vrrp.js';
import { lvsdKeywords } from './lvsd.js';

export const topSchema = {
  ...globalKeywords,
  ...vrrpKeywords,
  virtual_server_group: virtualServerGroups,
  virtual_server: virtualServers,
  SSL: sslBlock,
  ...lvsdKeywords,
} satisfies Schema;

export type ConfigModel = ModelOf<typeof topSchema>;
