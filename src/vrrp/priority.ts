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
  // keepalived (vrrp_track.c): reverse is a multiplier of -1. A positive weight counts while the
  // object is up, a negative one while it is down; reverse flips the sign of what counts, not
  // which state counts. 'weight 0' faults while down, 'weight 0 reverse' while up.
  for (const t of tracked) {
    if (t.weight === 0) {
      if (t.up === !!t.reverse) fault = true;
      continue;
    }
    const w = t.weight * (t.multiplier ?? 1);
    const sign = t.reverse ? -1 : 1;
    if (w > 0 && t.up) delta += w * sign;
    if (w < 0 && !t.up) delta += w * sign;
  }
  if (base === 255) return { priority: 255, fault };
  return { priority: Math.min(254, Math.max(1, base + delta)), fault };
}
