// wrr — weighted round robin (ip_vs_wrr.c): passes over the list with a falling weight
// threshold cw (from mw down to 1 in steps of di = gcd of positive weights).
import type { PacketKey, SchedDest, Scheduler } from './types.js';

const HEAD = -1;

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

export class WeightedRoundRobinScheduler implements Scheduler {
  readonly name = 'wrr' as const;
  private dests: readonly SchedDest[] = [];
  /** Kernel mark: current list position (HEAD or index), current/max weight, step. */
  private cl = HEAD;
  private cw = 0;
  private mw = 0;
  private di = 1;

  /** ip_vs_wrr_dest_changed(). A fresh scheduler is the kernel state of an empty service. */
  update(dests: readonly SchedDest[]): void {
    this.dests = dests;
    let g = 0;
    let max = 0;
    for (const d of dests) {
      if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
      if (d.weight > max) max = d.weight;
    }
    this.di = g > 0 ? g : 1;
    this.mw = max - (this.di - 1);
    this.cl = HEAD;
    if (this.cw > this.mw || this.cw === 0) this.cw = this.mw;
    else if (this.di > 1) this.cw = Math.trunc(this.cw / this.di) * this.di + 1;
  }

  /** Current weight threshold (exposed for tests that follow the kernel trace). */
  get currentWeight(): number {
    return this.cw;
  }

  pick(_key: PacketKey, _nowMs: number): SchedDest | null {
    const dests = this.dests;
    const n = dests.length;
    if (this.mw <= 0) return null; // kernel: mw == 0 → no destination (cl unchanged)
    let dest = this.cl < n ? this.cl : HEAD;
    const last = dest;
    let stop = -2; // none
    let lastPass = false;
    let restarted = false;
    for (;;) {
      for (dest = dest + 1; dest < n; dest++) {
        const d = dests[dest]!;
        if (!d.overloaded && d.weight >= this.cw) {
          this.cl = dest;
          return d;
        }
        if (dest === stop) {
          this.cl = dest;
          return null; // all destinations are overloaded
        }
      }
      dest = HEAD;
      this.cw -= this.di;
      if (this.cw <= 0) {
        this.cw = this.mw;
        // Stop when the last pass (weight >= 1) already covered every dest.
        if (lastPass || last === HEAD) {
          this.cl = HEAD;
          return null;
        }
        restarted = true;
      }
      lastPass = this.cw <= this.di;
      if (lastPass && restarted && last !== HEAD) stop = last;
    }
  }
}
