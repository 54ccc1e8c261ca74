// Pure: a vrrp_track_process's status from the processes it counts, as keepalived's
// track_process.c decides it: up while quorum <= count <= quorum_max. Crossing a bound by a fork
// waits fork_delay and by an exit waits terminate_delay (both re-check the count when they
// expire); a crossing by exec or rename counts at once and cancels the other timer. Time is
// passed in (µs).

export interface QuorumOptions {
  quorum: number;
  /** Infinity: unlimited. */
  quorumMax: number;
  forkDelayUs: number;
  terminateDelayUs: number;
}

/** How a process joined or left the set between two looks. */
export type ProcessChange = { kind: 'added'; byFork: boolean } | { kind: 'removed'; byExit: boolean };

export class ProcessQuorum {
  private count = 0;
  private haveQuorum = false;
  private forkTimer: number | null = null;
  private terminateTimer: number | null = null;

  constructor(private readonly o: QuorumOptions) {}

  get up(): boolean {
    return this.haveQuorum;
  }

  get current(): number {
    return this.count;
  }

  /** The first look (keepalived's startup scan): status straight from the count, no delays. */
  init(count: number): void {
    this.count = count;
    this.haveQuorum = this.inRange();
    this.forkTimer = this.terminateTimer = null;
  }

  /** Apply changes in order (a poll passes removals before additions); returns whether `up` changed. */
  apply(nowUs: number, changes: readonly ProcessChange[]): boolean {
    const before = this.haveQuorum;
    for (const c of changes) {
      if (c.kind === 'added') this.added(nowUs, c.byFork);
      else this.removed(nowUs, c.byExit);
    }
    return this.haveQuorum !== before;
  }

  /** Expire due timers; returns whether `up` changed. */
  tick(nowUs: number): boolean {
    const before = this.haveQuorum;
    if (this.forkTimer !== null && nowUs >= this.forkTimer) {
      this.forkTimer = null;
      this.haveQuorum = this.inRange();
    }
    if (this.terminateTimer !== null && nowUs >= this.terminateTimer) {
      this.terminateTimer = null;
      this.haveQuorum = this.inRange();
    }
    return this.haveQuorum !== before;
  }

  nextDeadline(): number | null {
    const t = [this.forkTimer, this.terminateTimer].filter((x): x is number => x !== null);
    return t.length ? Math.min(...t) : null;
  }

  private inRange(): boolean {
    return this.count >= this.o.quorum && this.count <= this.o.quorumMax;
  }

  private added(nowUs: number, byFork: boolean): void {
    this.count++;
    if (this.count !== this.o.quorum && this.count !== this.o.quorumMax + 1) return;
    if (this.terminateTimer !== null) this.terminateTimer = null;
    else if (byFork && this.o.forkDelayUs > 0) {
      this.forkTimer = nowUs + this.o.forkDelayUs;
      return;
    }
    this.haveQuorum = this.inRange();
  }

  private removed(nowUs: number, byExit: boolean): void {
    const was = this.count;
    this.count = Math.max(0, this.count - 1);
    if (was !== this.o.quorum && this.count !== this.o.quorumMax) return;
    if (this.forkTimer !== null) this.forkTimer = null;
    else if (byExit && this.o.terminateDelayUs > 0) {
      this.terminateTimer = nowUs + this.o.terminateDelayUs;
      return;
    }
    this.haveQuorum = this.inRange();
  }
}
