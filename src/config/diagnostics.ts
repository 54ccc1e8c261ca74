// Config problems are values with places: every error and warning carries FILE:LINE:COL.

export interface Loc {
  file: string;
  line: number; // 1-based
  col: number; // 1-based
}

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  severity: Severity;
  /** Stable code, e.g. ECONFIG_SYNTAX, ECONFIG_VALUE, WCONFIG_UNKNOWN. */
  code: string;
  message: string;
  loc: Loc | null;
}

/** Collects diagnostics for one load; stops collecting (but keeps counting) past a cap. */
export class Diagnostics {
  readonly items: Diagnostic[] = [];
  private dropped = 0;
  constructor(private readonly cap = 1000) {}

  error(code: string, message: string, loc: Loc | null): void {
    this.push({ severity: 'error', code, message, loc });
  }

  warn(code: string, message: string, loc: Loc | null): void {
    this.push({ severity: 'warning', code, message, loc });
  }

  private push(d: Diagnostic): void {
    if (this.items.length >= this.cap) {
      this.dropped++;
      return;
    }
    this.items.push(d);
  }

  get errors(): Diagnostic[] {
    return this.items.filter((d) => d.severity === 'error');
  }

  get warnings(): Diagnostic[] {
    return this.items.filter((d) => d.severity === 'warning');
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }

  get droppedCount(): number {
    return this.dropped;
  }
}

export function formatLoc(loc: Loc | null): string {
  return loc ? `${loc.file}:${loc.line}:${loc.col}` : '';
}

/** The thrown form, for callers that want an exception (stable code ECONFIG). */
export class ConfigError extends Error {
  readonly code = 'ECONFIG';
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => `${formatLoc(d.loc)}: ${d.severity}: ${d.message}`).join('\n'));
  }
}
