// Effective priority from tracked objects (spec 2.3). Pure.
export interface TrackedObject {
  /** 0 = Fault while down. */
  weight: number;
  reverse?: boolean;
  up: boolean;
  /** track_file: the file's integer value multiplies the weight (keepalived); default 1. */
  multiplier?: number;
}

export interface PriorityResult {
  priority: number;
  /** A zero-weight object is down. */
  fault: boolean;
}

export function effectivePriority(base: number, tracked: readonly TrackedObject[]): PriorityResult {
  let fault = false;
  let delta = 0;
  for (const t of tracked) {
    const up = t.reverse ? !t.up : t.up;
    if (t.weight === 0) {
      if (!t.up) fault = true;
      continue;
    }
    const w = t.weight * (t.multiplier ?? 1);
    if (w > 0 && up) delta += w;
    if (w < 0 && !up) delta += w;
  }
  if (base === 255) return { priority: 255, fault };
  return { priority: Math.min(254, Math.max(1, base + delta)), fault };
}
