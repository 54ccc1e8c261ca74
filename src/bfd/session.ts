// One BFD session's state machine (RFC 5880 section 6, asynchronous mode, no echo, no auth), in
// the shape keepalived's bfd_scheduler.c gives it. Pure: time comes in as milliseconds with each
// call, randomness (transmit jitter) is injected, and every call returns what to send and which
// state changes happened. The shell (runner.ts) owns the sockets and the one timer: it calls
// tick() at nextDue().
//
// Rules kept here:
// - States Down -> Init -> Up per 6.8.6; a peer's AdminDown takes us Down (diag 3).
// - While not Up, DesiredMinTx is idle_tx (6.8.3: at least 1 s; keepalived lets idle_tx lower it)
//   and the transmit interval is max(DesiredMinTx, peer's RequiredMinRx), jittered 0-25 % down
//   (10-25 % when our Detect Mult is 1, 6.8.7).
// - Going Up lowers DesiredMinTx to min_tx and starts a Poll Sequence (keepalived): the lower
//   value applies at once; a raised DesiredMinTx or lowered RequiredMinRx while Up waits for the
//   Final (6.8.3).
// - Detection time = peer's Detect Mult x max(our RequiredMinRx, peer's DesiredMinTx) (6.8.4);
//   it runs in Init and Up; expiry: Down, diag 1, peer's discriminator forgotten (6.8.1).
// - A Down session forgets the peer's variables one detection time later (keepalived's reset).
// - Passive: send nothing until a packet arrives; keepalived's passive also falls silent on Down.
// - Subscribers hear "up" on entering Up and "down" on leaving it, except when the peer signalled
//   AdminDown: that is not a path failure, and keepalived does not report it (bfd_state_fall).
import { BfdDiag, BfdState, STATE_NAMES, type BfdStateName, type BfdStateValue, type ControlPacket, type OutgoingPacket } from './codec.js';

export interface SessionParams {
  /** min_tx: DesiredMinTxInterval while Up, microseconds */
  minTxUs: number;
  /** min_rx: RequiredMinRxInterval, microseconds */
  minRxUs: number;
  /** idle_tx: DesiredMinTxInterval while not Up, microseconds */
  idleTxUs: number;
  /** multiplier: DetectMult */
  multiplier: number;
  /** passive: wait for the peer's first packet before sending */
  passive: boolean;
}

export interface Transition {
  from: BfdStateName;
  to: BfdStateName;
  /** Diagnostic of the change (codec BfdDiag). */
  diag: number;
  /** What subscribers are told, if anything. */
  event: 'up' | 'down' | null;
}

export type SessionDrop = 'admin-down' | 'your-discr-mismatch';

export interface SessionOutput {
  send: OutgoingPacket[];
  transitions: Transition[];
  dropped?: SessionDrop;
}

const NONE = (): SessionOutput => ({ send: [], transitions: [] });

/** A read-only view for status output and tests. */
export interface SessionSnapshot {
  state: BfdStateName;
  localDiscr: number;
  remoteDiscr: number;
  remoteState: BfdStateName;
  localDiag: number;
  remoteDiag: number;
  poll: boolean;
  /** Interval between our packets before jitter, ms (null: not sending periodically). */
  txIntervalMs: number | null;
  detectTimeMs: number;
}

export class BfdSession {
  private state: BfdStateValue = BfdState.Down;
  private localDiag = 0;
  private remoteDiscr = 0;
  private remoteState: BfdStateValue = BfdState.Down;
  private remoteDiag = 0;
  private remoteDemand = false;
  /** 6.8.1: initialised to 1 us, so we send at our own pace until the peer speaks. */
  private remoteMinRxUs = 1;
  private remoteMinTxUs = 0;
  private remoteMult = 0;
  private poll = false;
  /** DesiredMinTx / RequiredMinRx in effect for our own timing (see the Poll rules above). */
  private txInEffectUs: number;
  private rxInEffectUs: number;
  private pendingTxUs: number | null = null;
  private pendingRxUs: number | null = null;
  /** Passive sessions send only once the peer has spoken. */
  private sending: boolean;
  private started = false;
  private txAt: number | null = null;
  private expireAt: number | null = null;
  private resetAt: number | null = null;

  constructor(
    private params: SessionParams,
    readonly localDiscr: number,
    private readonly rand: () => number = Math.random,
  ) {
    if (!Number.isInteger(localDiscr) || localDiscr < 1 || localDiscr > 0xffffffff) throw new RangeError(`local discriminator must be 1..2^32-1, not ${localDiscr}`);
    this.txInEffectUs = params.idleTxUs;
    this.rxInEffectUs = params.minRxUs;
    this.sending = !params.passive;
  }

  get stateName(): BfdStateName {
    return STATE_NAMES[this.state];
  }

  get isUp(): boolean {
    return this.state === BfdState.Up;
  }

  /** Begin: an active session sends its first packet now (keepalived does on start-up). */
  start(nowMs: number): SessionOutput {
    const out = NONE();
    if (this.started) return out;
    this.started = true;
    if (this.sending && this.state !== BfdState.AdminDown) {
      out.send.push(this.packet(false));
      this.scheduleTx(nowMs);
    }
    return out;
  }

  /** The earliest time tick() has work to do (Infinity: none). */
  nextDue(): number {
    return Math.min(this.txAt ?? Infinity, this.expireAt ?? Infinity, this.resetAt ?? Infinity);
  }

  /** Run whatever is due at `nowMs`: detection expiry, the post-Down reset, periodic transmission. */
  tick(nowMs: number): SessionOutput {
    const out = NONE();
    if (this.expireAt !== null && nowMs >= this.expireAt) {
      this.expireAt = null;
      this.remoteDiscr = 0;
      this.goDown(BfdDiag.ControlDetectionTimeExpired, nowMs, out);
    }
    if (this.resetAt !== null && nowMs >= this.resetAt) {
      this.resetAt = null;
      this.forgetPeer();
      this.rescheduleIfSooner(nowMs);
    }
    if (this.txAt !== null && nowMs >= this.txAt) {
      out.send.push(this.packet(false));
      this.txAt = null;
      this.scheduleTx(nowMs);
    }
    return out;
  }

  /** A packet that passed decodeControl and was matched to this session. */
  receive(p: ControlPacket, nowMs: number): SessionOutput {
    const out = NONE();
    if (this.state === BfdState.AdminDown) return { ...out, dropped: 'admin-down' };
    if (p.yourDiscr !== 0 && p.yourDiscr !== this.localDiscr) return { ...out, dropped: 'your-discr-mismatch' };
    this.remoteDiscr = p.myDiscr;
    this.remoteState = p.state;
    this.remoteDiag = p.diag;
    this.remoteDemand = p.demand;
    this.remoteMinRxUs = p.requiredMinRxUs;
    this.remoteMinTxUs = p.desiredMinTxUs;
    this.remoteMult = p.detectMult;
    if (p.final && this.poll) {
      this.poll = false;
      if (this.pendingTxUs !== null) this.txInEffectUs = this.pendingTxUs;
      if (this.pendingRxUs !== null) this.rxInEffectUs = this.pendingRxUs;
      this.pendingTxUs = this.pendingRxUs = null;
    }
    // 6.8.6 state machine
    const s = this.state;
    if (p.state === BfdState.AdminDown) {
      if (s !== BfdState.Down) this.goDown(BfdDiag.NeighborSignaledDown, nowMs, out);
    } else if (s === BfdState.Down) {
      if (p.state === BfdState.Down) this.goInit(out);
      else if (p.state === BfdState.Init) this.goUp(out);
    } else if (s === BfdState.Init) {
      if (p.state === BfdState.Init || p.state === BfdState.Up) this.goUp(out);
    } else if (p.state === BfdState.Down) this.goDown(BfdDiag.NeighborSignaledDown, nowMs, out);

    if (this.state === BfdState.Init || this.state === BfdState.Up) {
      this.sending = true;
      this.expireAt = nowMs + this.detectTimeMs();
      this.resetAt = null;
    }
    if (p.poll) out.send.push(this.packet(true));
    if (!this.wantsPeriodic()) this.txAt = null;
    else if (this.txAt === null) this.scheduleTx(nowMs);
    else this.rescheduleIfSooner(nowMs);
    return out;
  }

  /**
   * Reload with new intervals: the session (discriminators, state) carries on. While Up a change
   * starts a Poll Sequence; a raised min_tx or lowered min_rx takes effect at its Final.
   */
  setParams(next: SessionParams, nowMs: number): SessionOutput {
    const prev = this.params;
    this.params = next;
    const up = this.state === BfdState.Up;
    const wantTx = up ? next.minTxUs : next.idleTxUs;
    if (!up || wantTx <= this.txInEffectUs) this.txInEffectUs = wantTx;
    else this.pendingTxUs = wantTx;
    if (!up || next.minRxUs >= this.rxInEffectUs) this.rxInEffectUs = next.minRxUs;
    else this.pendingRxUs = next.minRxUs;
    if (up && (prev.minTxUs !== next.minTxUs || prev.minRxUs !== next.minRxUs || prev.multiplier !== next.multiplier)) this.poll = true;
    if (!next.passive && !this.sending && this.state !== BfdState.AdminDown) this.sending = true;
    const out = NONE();
    if (this.started && !this.wantsPeriodic()) this.txAt = null;
    else if (this.started && this.txAt === null) {
      out.send.push(this.packet(false));
      this.scheduleTx(nowMs);
    } else if (this.started) this.rescheduleIfSooner(nowMs);
    return out;
  }

  /** Take the session administratively down (removal, stop): one last AdminDown packet to send. */
  adminDown(): SessionOutput {
    const out = NONE();
    if (this.state === BfdState.AdminDown) return out;
    const from = this.state;
    this.state = BfdState.AdminDown;
    this.localDiag = BfdDiag.AdministrativelyDown;
    this.txAt = this.expireAt = this.resetAt = null;
    out.transitions.push({ from: STATE_NAMES[from], to: 'AdminDown', diag: this.localDiag, event: null });
    if (this.started) out.send.push(this.packet(false));
    return out;
  }

  snapshot(): SessionSnapshot {
    return {
      state: STATE_NAMES[this.state],
      localDiscr: this.localDiscr,
      remoteDiscr: this.remoteDiscr,
      remoteState: STATE_NAMES[this.remoteState],
      localDiag: this.localDiag,
      remoteDiag: this.remoteDiag,
      poll: this.poll,
      txIntervalMs: this.wantsPeriodic() ? this.txIntervalUs() / 1000 : null,
      detectTimeMs: this.detectTimeMs(),
    };
  }

  /** 6.8.4: the peer's Detect Mult times the agreed interval of the peer's transmissions. */
  detectTimeMs(): number {
    return (this.remoteMult * Math.max(this.rxInEffectUs, this.remoteMinTxUs)) / 1000;
  }

  private txIntervalUs(): number {
    return Math.max(this.txInEffectUs, this.remoteMinRxUs);
  }

  private wantsPeriodic(): boolean {
    if (!this.started || !this.sending || this.state === BfdState.AdminDown) return false;
    // 6.8.7: a zero RequiredMinRx asks for no periodic packets; a demand-mode peer likewise once both are Up
    if (this.remoteMinRxUs === 0) return false;
    return !(this.remoteDemand && this.state === BfdState.Up && this.remoteState === BfdState.Up);
  }

  private jitteredMs(): number {
    const lo = this.params.multiplier === 1 ? 0.1 : 0;
    const cut = lo + this.rand() * (0.25 - lo);
    return (this.txIntervalUs() * (1 - cut)) / 1000;
  }

  private scheduleTx(nowMs: number): void {
    this.txAt = this.wantsPeriodic() ? nowMs + this.jitteredMs() : null;
  }

  /** A shorter interval applies at once (6.8.3 allows a decrease immediately). */
  private rescheduleIfSooner(nowMs: number): void {
    if (this.txAt !== null && this.txAt - nowMs > this.txIntervalUs() / 1000) this.scheduleTx(nowMs);
  }

  private packet(final: boolean): OutgoingPacket {
    const up = this.state === BfdState.Up;
    return {
      diag: this.localDiag,
      state: this.state,
      // a reply carries F; our own Poll goes out again with the next periodic packet
      poll: this.poll && !final,
      final,
      demand: false,
      detectMult: this.params.multiplier,
      myDiscr: this.localDiscr,
      yourDiscr: this.remoteDiscr,
      desiredMinTxUs: up ? this.params.minTxUs : this.params.idleTxUs,
      requiredMinRxUs: this.params.minRxUs,
    };
  }

  private goInit(out: SessionOutput): void {
    const from = this.state;
    this.state = BfdState.Init;
    this.localDiag = BfdDiag.None;
    out.transitions.push({ from: STATE_NAMES[from], to: 'Init', diag: 0, event: null });
  }

  private goUp(out: SessionOutput): void {
    const from = this.state;
    this.state = BfdState.Up;
    this.localDiag = BfdDiag.None;
    const minTx = this.params.minTxUs;
    if (minTx !== this.params.idleTxUs) this.poll = true;
    if (minTx <= this.txInEffectUs) this.txInEffectUs = minTx;
    else this.pendingTxUs = minTx;
    out.transitions.push({ from: STATE_NAMES[from], to: 'Up', diag: 0, event: 'up' });
  }

  private goDown(diag: number, nowMs: number, out: SessionOutput): void {
    const from = this.state;
    this.state = BfdState.Down;
    this.localDiag = diag;
    this.expireAt = null;
    this.resetAt = nowMs + Math.max(this.detectTimeMs(), this.params.idleTxUs / 1000);
    this.txInEffectUs = this.params.idleTxUs;
    this.rxInEffectUs = this.params.minRxUs;
    this.pendingTxUs = this.pendingRxUs = null;
    if (this.params.passive) {
      this.sending = false;
      this.txAt = null;
    }
    const event = from === BfdState.Up && this.remoteState !== BfdState.AdminDown ? 'down' : null;
    out.transitions.push({ from: STATE_NAMES[from], to: 'Down', diag, event });
  }

  /** keepalived's bfd_reset_state: a Down session starts over as if the peer never spoke. */
  private forgetPeer(): void {
    this.remoteDiscr = 0;
    this.remoteState = BfdState.Down;
    this.remoteDiag = 0;
    this.remoteDemand = false;
    this.remoteMinRxUs = 1;
    this.remoteMinTxUs = 0;
    this.remoteMult = 0;
    this.poll = false;
  }
}
