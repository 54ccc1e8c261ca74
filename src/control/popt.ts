// A small popt look-alike: ipvsadm parses with popt, and its error texts and the argument shown
// in "invalid option `%s'" (the last argv element consumed) follow popt's walk, so we walk alike.

export type ArgKind = 'none' | 'required' | 'optional';

export interface OptionDef {
  long: string;
  short: string | null;
  arg: ArgKind;
  /** what the caller switches on */
  tag: string;
}

export type PoptEvent =
  | { type: 'option'; tag: string; value: string | null; lastConsumed: string }
  | { type: 'error'; code: 'BADOPT' | 'NOARG' | 'UNWANTEDARG'; badOption: string; text: string }
  | { type: 'end' };

export const POPT_ERROR_TEXT = {
  BADOPT: 'unknown option',
  NOARG: 'missing argument',
  UNWANTEDARG: 'option does not take an argument',
} as const;

/** Walks argv (without argv[0]); leftovers (non-options) accumulate in `leftovers`. */
export class PoptWalker {
  readonly leftovers: string[] = [];
  private next = 0;
  private bundle: { rest: string; origin: string } | null = null;
  private restLeftover = false;

  constructor(private readonly argv: readonly string[], private readonly table: readonly OptionDef[]) {}

  nextOption(): PoptEvent {
    for (;;) {
      if (this.bundle) {
        const { rest, origin } = this.bundle;
        const ch = rest[0]!;
        const def = this.table.find((o) => o.short === ch);
        this.bundle = rest.length > 1 ? { rest: rest.slice(1), origin } : null;
        if (!def) return this.error('BADOPT', origin);
        if (def.arg === 'none') return { type: 'option', tag: def.tag, value: null, lastConsumed: origin };
        if (this.bundle) {
          const value = this.bundle.rest;
          this.bundle = null;
          return { type: 'option', tag: def.tag, value, lastConsumed: origin };
        }
        return this.takeArg(def, origin);
      }
      if (this.next >= this.argv.length) return { type: 'end' };
      const arg = this.argv[this.next++]!;
      if (this.restLeftover || arg[0] !== '-' || arg === '-') {
        this.leftovers.push(arg);
        continue;
      }
      if (arg === '--') {
        this.restLeftover = true;
        continue;
      }
      if (arg.startsWith('--')) {
        const eq = arg.indexOf('=');
        const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
        const def = this.table.find((o) => o.long === name);
        if (!def) return this.error('BADOPT', arg);
        if (eq !== -1) {
          if (def.arg === 'none') return this.error('UNWANTEDARG', arg);
          return { type: 'option', tag: def.tag, value: arg.slice(eq + 1), lastConsumed: arg };
        }
        if (def.arg === 'none') return { type: 'option', tag: def.tag, value: null, lastConsumed: arg };
        return this.takeArg(def, arg);
      }
      this.bundle = { rest: arg.slice(1), origin: arg };
    }
  }

  private takeArg(def: OptionDef, origin: string): PoptEvent {
    const candidate = this.argv[this.next];
    if (candidate === undefined) {
      if (def.arg === 'optional') return { type: 'option', tag: def.tag, value: null, lastConsumed: origin };
      return this.error('NOARG', origin);
    }
    // popt: an optional argument is not taken when the next word looks like an option
    if (def.arg === 'optional' && candidate.startsWith('-')) {
      return { type: 'option', tag: def.tag, value: null, lastConsumed: origin };
    }
    this.next++;
    return { type: 'option', tag: def.tag, value: candidate, lastConsumed: candidate };
  }

  private error(code: 'BADOPT' | 'NOARG' | 'UNWANTEDARG', badOption: string): PoptEvent {
    return { type: 'error', code, badOption, text: POPT_ERROR_TEXT[code] };
  }
}
