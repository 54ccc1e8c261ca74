// The IPVS rate estimator (ip_vs_est.c): every 2 s, the counter delta is scaled to a fixed-point
// per-second rate and smoothed with weight 1/4. Reading rounds back to integers.
import type { Counters } from './stats.js';

export const ESTIMATOR_PERIOD_MS = 2000;

export interface Rates {
  cps: number;
  inpps: number;
  outpps: number;
  inbps: number;
  outbps: number;
}

export class RateEstimator {
  private lastConns = 0;
  private lastInPkts = 0;
  private lastOutPkts = 0;
  private lastInBytes = 0;
  private lastOutBytes = 0;
  // Fixed point: packet/conn rates scaled by 2^10, byte rates by 2^5 (as the kernel).
  private cps = 0;
  private inpps = 0;
  private outpps = 0;
  private inbps = 0;
  private outbps = 0;

  /** One 2-second estimation step over the current cumulative counters. */
  tick(c: Counters): void {
    // (delta << 9) = delta/2s * 2^10; (delta << 4) = delta/2s * 2^5. `>> 2` of a signed value
    // rounds toward -inf, hence Math.floor.
    this.cps += Math.floor(((c.conns - this.lastConns) * 512 - this.cps) / 4);
    this.inpps += Math.floor(((c.inPkts - this.lastInPkts) * 512 - this.inpps) / 4);
    this.outpps += Math.floor(((c.outPkts - this.lastOutPkts) * 512 - this.outpps) / 4);
    this.inbps += Math.floor(((c.inBytes - this.lastInBytes) * 16 - this.inbps) / 4);
    this.outbps += Math.floor(((c.outBytes - this.lastOutBytes) * 16 - this.outbps) / 4);
    this.lastConns = c.conns;
    this.lastInPkts = c.inPkts;
    this.lastOutPkts = c.outPkts;
    this.lastInBytes = c.inBytes;
    this.lastOutBytes = c.outBytes;
  }

  /** ip_vs_read_estimator: round to nearest from the fixed-point values. */
  read(): Rates {
    return {
      cps: Math.floor((this.cps + 0x1ff) / 1024),
      inpps: Math.floor((this.inpps + 0x1ff) / 1024),
      outpps: Math.floor((this.outpps + 0x1ff) / 1024),
      inbps: Math.floor((this.inbps + 0xf) / 32),
      outbps: Math.floor((this.outbps + 0xf) / 32),
    };
  }

  /** ipvsadm -Z: rates drop to zero and the next delta starts from the (zeroed) counters. */
  reset(c: Counters): void {
    this.cps = this.inpps = this.outpps = this.inbps = this.outbps = 0;
    this.lastConns = c.conns;
    this.lastInPkts = c.inPkts;
    this.lastOutPkts = c.outPkts;
    this.lastInBytes = c.inBytes;
    this.lastOutBytes = c.outBytes;
  }
}
