// The VRRP state machine (RFC 3768/5798 as keepalived 2.2.7 runs it, spec section 2). Pure: the
// caller passes the time (µs, monotonic) with every event and performs the returned actions in order.
import type { VrrpState, VrrpVersion } from './types.js';
import { compareAddr } from './addr.js';
import { masterDownUs, skewUs, US_PER_CS } from './timers.js';

export interface MachineOptions {
  version: VrrpVersion;
  /** Effective priority at start (1..255). */
  priority: number;
  /** Own Advertisement_Interval in centiseconds. */
  advertIntCs: number;
  initialState: 'MASTER' | 'BACKUP';
  /** Our advert source address: the tie-break on equal priority. */
  ownAddr: string;
  nopreempt?: boolean;
  preemptDelayUs?: number;
  downTimerAdverts?: number;
  lowerPrioNoAdvert?: boolean;
  higherPrioSendAdvert?: boolean;
  garpDelayUs?: number;
  garpRepeat?: number;
  garpRefreshUs?: number;
  garpRefreshRepeat?: number;
}

export type MachineAction =
  | { type: 'send'; priority: number }
  | { type: 'addVips' }
  | { type: 'removeVips' }
  | { type: 'garp'; count: number }
  | { type: 'transition'; from: VrrpState; to: VrrpState; priority: number }
  | { type: 'log'; event: string; detail?: Record<string, unknown> };

/** What the machine needs from a received advert that already passed codec and receive checks. */
export interface AdvertIn {
  priority: number;
  intervalCs: number;
  src: string;
}

export class VrrpMachine {
  state: VrrpState = 'INIT';
  priority: number;
  /** v3: the current master's interval; v2: our own. */
  masterAdverIntCs: number;
  /** True once the down timer expired: "I want to be master" (sync groups gate on it). */
  wantMaster = false;
  masterAddr: string | null = null;
  masterPriority = 0;
  /** Set by a sync group: may this instance go to Master now? */
  gate: (() => boolean) | null = null;

  private downAt: number | null = null;
  private advertAt: number | null = null;
  private preemptUntil: number | null = null;
  private garpAt: number | null = null;
  private refreshAt: number | null = null;
  private readonly faults = new Set<string>();
  private readonly o: Required<MachineOptions>;

  constructor(opts: MachineOptions) {
    this.o = {
      nopreempt: false,
      preemptDelayUs: 0,
      downTimerAdverts: 3,
      lowerPrioNoAdvert: false,
      higherPrioSendAdvert: false,
      garpDelayUs: 5_000_000,
      garpRepeat: 5,
      garpRefreshUs: 0,
      garpRefreshRepeat: 1,
      ...opts,
    };
    // keepalived ignores preempt_delay with `state MASTER`.
    if (this.o.initialState === 'MASTER') this.o.preemptDelayUs = 0;
    this.priority = opts.priority;
    this.masterAdverIntCs = opts.advertIntCs;
  }

  get options(): Readonly<Required<MachineOptions>> {
    return this.o;
  }

  skewUs(): number {
    return skewUs(this.priority, this.masterAdverIntCs);
  }

  masterDownUs(): number {
    return masterDownUs(this.priority, this.masterAdverIntCs, this.o.downTimerAdverts);
  }

  /** The earliest time tick() has work to do, or null. */
  nextDeadline(): number | null {
    const ts = [this.downAt, this.advertAt, this.garpAt, this.refreshAt].filter((t): t is number => t !== null);
    return ts.length ? Math.min(...ts) : null;
  }

  /** Down timer deadline while Backup (for tests and status). */
  downTimerAt(): number | null {
    return this.downAt;
  }

  start(now: number): MachineAction[] {
    if (this.state !== 'INIT') return [];
    if (this.faults.size > 0) return this.enter('FAULT', []);
    if (this.priority === 255 && this.o.initialState === 'MASTER') return this.becomeMaster(now);
    const out: MachineAction[] = [{ type: 'removeVips' }];
    this.downAt = now + this.startupDownUs();
    return this.enter('BACKUP', out);
  }

  /** `state MASTER` below 255 (and an owner leaving Fault): one interval plus the minimum skew. */
  private startupDownUs(): number {
    if (this.o.initialState === 'MASTER') return this.masterAdverIntCs * US_PER_CS + skewUs(255, this.masterAdverIntCs);
    return this.masterDownUs();
  }

  receive(now: number, adv: AdvertIn): MachineAction[] {
    if (this.state === 'BACKUP') return this.backupReceive(now, adv);
    if (this.state === 'MASTER') return this.masterReceive(now, adv);
    return [];
  }

  private backupReceive(now: number, adv: AdvertIn): MachineAction[] {
    if (adv.priority === 0) {
      this.downAt = now + this.skewUs();
      return [{ type: 'log', event: 'priority-zero-received', detail: { src: adv.src } }];
    }
    const delayRunning = this.o.preemptDelayUs > 0 && (this.preemptUntil === null || this.preemptUntil > now);
    if (this.o.nopreempt || adv.priority >= this.priority || delayRunning) {
      const out: MachineAction[] = [];
      if (this.o.version === 3) this.masterAdverIntCs = adv.intervalCs;
      this.masterAddr = adv.src;
      this.masterPriority = adv.priority;
      this.wantMaster = false;
      if (this.o.preemptDelayUs > 0) {
        if (adv.priority >= this.priority) this.preemptUntil = null;
        else if (this.preemptUntil === null) {
          this.preemptUntil = now + this.o.preemptDelayUs;
          out.push({ type: 'log', event: 'preempt-delay-start', detail: { until: this.preemptUntil } });
        }
      }
      this.downAt = now + this.masterDownUs();
      return out;
    }
    // Lower priority and we may preempt: ignore it and let our down timer run out.
    return [{ type: 'log', event: 'lower-priority-discarded', detail: { priority: adv.priority, src: adv.src } }];
  }

  private masterReceive(now: number, adv: AdvertIn): MachineAction[] {
    if (adv.priority === 0) {
      this.advertAt = now + this.o.advertIntCs * US_PER_CS;
      return [{ type: 'send', priority: this.priority }];
    }
    const cmp = adv.priority - this.priority || compareAddr(adv.src, this.o.ownAddr);
    if (cmp === 0) return [{ type: 'log', event: 'same-priority-same-address', detail: { src: adv.src } }];
    if (cmp < 0) {
      // keepalived's "forcing new election": answer a lower-priority master at once.
      return this.o.lowerPrioNoAdvert ? [] : [{ type: 'send', priority: this.priority }];
    }
    const out: MachineAction[] = [];
    if (this.o.higherPrioSendAdvert) out.push({ type: 'send', priority: this.priority });
    if (this.o.version === 3) this.masterAdverIntCs = adv.intervalCs;
    this.masterAddr = adv.src;
    this.masterPriority = adv.priority;
    return this.becomeBackup(now, out);
  }

  tick(now: number): MachineAction[] {
    const out: MachineAction[] = [];
    if (this.state === 'MASTER') {
      if (this.advertAt !== null && now >= this.advertAt) {
        out.push({ type: 'send', priority: this.priority });
        const step = this.o.advertIntCs * US_PER_CS;
        this.advertAt += step;
        if (this.advertAt <= now) this.advertAt = now + step; // we were late: do not burst to catch up
      }
      if (this.garpAt !== null && now >= this.garpAt) {
        this.garpAt = null;
        out.push({ type: 'garp', count: this.o.garpRepeat });
      }
      if (this.refreshAt !== null && now >= this.refreshAt) {
        this.refreshAt = now + this.o.garpRefreshUs;
        out.push({ type: 'garp', count: this.o.garpRefreshRepeat });
      }
    } else if (this.state === 'BACKUP' && this.downAt !== null && now >= this.downAt) {
      this.wantMaster = true;
      if (this.gate && !this.gate()) {
        this.downAt = now + this.masterDownUs();
        out.push({ type: 'log', event: 'sync-group-wait' });
      } else out.push(...this.becomeMaster(now));
    }
    return out;
  }

  /** Effective priority changed (tracking). Takes effect in the next advert and skew. */
  setPriority(now: number, p: number): MachineAction[] {
    void now;
    this.priority = p;
    return [];
  }

  /** Raise or clear one fault cause (interface down, zero-weight script failing, sync group). */
  setFault(now: number, cause: string, on: boolean): MachineAction[] {
    const before = this.faults.size > 0;
    if (on) this.faults.add(cause);
    else this.faults.delete(cause);
    const after = this.faults.size > 0;
    if (before === after || this.state === 'INIT' || this.state === 'STOP') return [];
    if (after) return this.leave(now, 'FAULT');
    this.masterAdverIntCs = this.o.advertIntCs;
    if (this.priority === 255 && this.o.initialState === 'MASTER') this.downAt = now + this.startupDownUs();
    else this.downAt = now + this.masterDownUs();
    return this.enter('BACKUP', []);
  }

  faultCauses(): string[] {
    return [...this.faults];
  }

  get faulty(): boolean {
    return this.faults.size > 0;
  }

  /** Graceful shutdown: priority 0 advert if Master, VIPs removed, state STOP. */
  stop(now: number): MachineAction[] {
    if (this.state === 'STOP') return [];
    return this.leave(now, 'STOP');
  }

  /** Sync group: follow a member into Master or Backup. */
  force(now: number, to: 'MASTER' | 'BACKUP'): MachineAction[] {
    if (to === 'MASTER' && this.state === 'BACKUP') return this.becomeMaster(now);
    if (to === 'BACKUP' && this.state === 'MASTER') return this.becomeBackup(now, []);
    return [];
  }

  private becomeMaster(now: number): MachineAction[] {
    this.masterAdverIntCs = this.o.advertIntCs;
    this.downAt = null;
    this.preemptUntil = null;
    this.wantMaster = true;
    this.masterAddr = this.o.ownAddr;
    this.masterPriority = this.priority;
    this.advertAt = now + this.o.advertIntCs * US_PER_CS;
    this.garpAt = this.o.garpDelayUs > 0 ? now + this.o.garpDelayUs : null;
    this.refreshAt = this.o.garpRefreshUs > 0 ? now + this.o.garpRefreshUs : null;
    // keepalived's order: advert first (the old master yields before our GARPs), VIPs, GARP, notify.
    const out: MachineAction[] = [{ type: 'send', priority: this.priority }, { type: 'addVips' }];
    if (this.o.garpRepeat > 0) out.push({ type: 'garp', count: this.o.garpRepeat });
    return this.enter('MASTER', out);
  }

  private becomeBackup(now: number, out: MachineAction[]): MachineAction[] {
    this.clearMasterTimers();
    this.wantMaster = false;
    this.downAt = now + this.masterDownUs();
    out.push({ type: 'removeVips' });
    return this.enter('BACKUP', out);
  }

  private leave(now: number, to: 'FAULT' | 'STOP'): MachineAction[] {
    void now;
    const out: MachineAction[] = [];
    if (this.state === 'MASTER') out.push({ type: 'send', priority: 0 }, { type: 'removeVips' });
    this.clearMasterTimers();
    this.downAt = null;
    this.preemptUntil = null;
    this.wantMaster = false;
    return this.enter(to, out);
  }

  private clearMasterTimers(): void {
    this.advertAt = null;
    this.garpAt = null;
    this.refreshAt = null;
  }

  private enter(to: VrrpState, out: MachineAction[]): MachineAction[] {
    const from = this.state;
    this.state = to;
    out.push({ type: 'transition', from, to, priority: to === 'STOP' ? 0 : this.priority });
    return out;
  }
}
