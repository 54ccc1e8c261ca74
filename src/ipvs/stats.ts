// Cumulative traffic counters kept per service, per destination and for the whole table.

export interface Counters {
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
}

export function zeroCounters(): Counters {
  return { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 };
}

export function clearCounters(c: Counters): void {
  c.conns = c.inPkts = c.outPkts = c.inBytes = c.outBytes = 0;
}
