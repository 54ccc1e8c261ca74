// VRRP timer arithmetic in integer microseconds, as keepalived does it (spec 2.1).
import type { VrrpVersion } from './types.js';

export const US_PER_CS = 10_000;

/** Own Advertisement_Interval in centiseconds from a configured `advert_int` (seconds). */
export function advertIntervalCs(version: VrrpVersion, seconds: number): number {
  if (version === 2) return Math.min(255, Math.max(1, Math.round(seconds))) * 100;
  return Math.min(4095, Math.max(1, Math.round(seconds * 100)));
}

/** Skew_Time = ((256 - priority) * Master_Adver_Interval) / 256, in µs (truncated). */
export function skewUs(priority: number, masterAdverIntCs: number): number {
  return Math.floor(((256 - priority) * masterAdverIntCs * US_PER_CS) / 256);
}

/** Master_Down_Interval = adverts * Master_Adver_Interval + Skew_Time, in µs. */
export function masterDownUs(priority: number, masterAdverIntCs: number, adverts = 3): number {
  return adverts * masterAdverIntCs * US_PER_CS + skewUs(priority, masterAdverIntCs);
}
