import { describe, expect, it } from '@jest/globals';
import { BfdDiag, BfdState, decodeControl, encodeControl, type ControlPacket, type OutgoingPacket } from '../../src/bfd/codec.js';
import { BfdSession, type SessionOutput, type SessionParams } from '../../src/bfd/session.js';
import { rng as mulberry32 } from '../helpers/rng.js';

const P: SessionParams = { minTxUs: 100_000, minRxUs: 100_000, idleTxUs: 1_000_000, multiplier: 3, passive: false };

/** What a packet looks like after the wire (so the session sees exactly what the codec yields). */
function wire(p: OutgoingPacket): ControlPacket {
  const r = decodeControl(encodeControl(p));
  if (!r.ok) throw r.error;
  return r.packet;
}

interface Log {
  t: number;
  who: 'a' | 'b';
  sent: OutgoingPacket[];
  events: string[];
}

/**
 * Two sessions joined by a lossless zero-delay link, driven like the runner drives them: at
 * each step the earliest nextDue() runs. `cut(t)` true drops everything sent at t (a dead link).
 */
class Pair {
  t = 0;
  log: Log[] = [];
  cut: (t: number) => boolean = () => false;
  constructor(readonly a: BfdSession, readonly b: BfdSession) {}
  start(): void {
    this.deliver('a', this.a.start(this.t));
    this.deliver('b', this.b.start(this.t));
  }
  private deliver(who: 'a' | 'b', out: SessionOutput): void {
    const events = out.transitions.filter((x) => x.event).map((x) => x.event!);
    if (out.send.length || events.length) this.log.push({ t: this.t, who, sent: out.send, events });
    if (this.cut(this.t)) return;
    const peer = who === 'a' ? this.b : this.a;
    for (const p of out.send) this.deliver(who === 'a' ? 'b' : 'a', peer.receive(wire(p), this.t));
  }
  runUntil(until: number): void {
    for (;;) {
      const da = this.a.nextDue();
      const db = this.b.nextDue();
      const d = Math.min(da, db);
      if (d > until) break;
      this.t = Math.max(this.t, d);
      if (da <= db) this.deliver('a', this.a.tick(this.t));
      else this.deliver('b', this.b.tick(this.t));
    }
    this.t = until;
  }
  events(who: 'a' | 'b'): Array<[number, string]> {
    return this.log.filter((l) => l.who === who).flatMap((l) => l.events.map((e) => [l.t, e] as [number, string]));
  }
}

const rng = (seed = 1) => mulberry32(seed);

describe('BFD session state machine (RFC 5880 6.8.6)', () => {
  it('two active sessions come Up through Init, each reporting "up" once', () => {
    const pair = new Pair(new BfdSession(P, 1, rng(1)), new BfdSession(P, 2, rng(2)));
    pair.start();
    pair.runUntil(3000);
    expect(pair.a.stateName).toBe('Up');
    expect(pair.b.stateName).toBe('Up');
    expect(pair.events('a').map((e) => e[1])).toEqual(['up']);
    expect(pair.events('b').map((e) => e[1])).toEqual(['up']);
    // they learnt each other's discriminators
    expect(pair.a.snapshot().remoteDiscr).toBe(2);
    expect(pair.b.snapshot().remoteDiscr).toBe(1);
  });

  it('Down + peer Down -> Init; Init + peer Init or Up -> Up; Up + peer Down -> Down (diag 3)', () => {
    const s = new BfdSession(P, 7, rng());
    s.start(0);
    const peer = (state: number, yourDiscr = 7): ControlPacket => wire({ diag: 0, state: state as 0, poll: false, final: false, demand: false, detectMult: 3, myDiscr: 9, yourDiscr, desiredMinTxUs: 1_000_000, requiredMinRxUs: 100_000 });
    expect(s.receive(peer(BfdState.Down, 0), 10).transitions.map((t) => t.to)).toEqual(['Init']);
    expect(s.receive(peer(BfdState.Up), 20).transitions).toEqual([{ from: 'Init', to: 'Up', diag: 0, event: 'up' }]);
    expect(s.receive(peer(BfdState.Down, 0), 30).transitions).toEqual([{ from: 'Up', to: 'Down', diag: BfdDiag.NeighborSignaledDown, event: 'down' }]);
    expect(s.receive(peer(BfdState.Init), 40).transitions).toEqual([{ from: 'Down', to: 'Up', diag: 0, event: 'up' }]);
  });

  it('a peer AdminDown takes the session Down without telling subscribers (keepalived bfd_state_fall)', () => {
    const s = new BfdSession(P, 7, rng());
    s.start(0);
    const peer = (state: number): ControlPacket => wire({ diag: state === 0 ? 7 : 0, state: state as 0, poll: false, final: false, demand: false, detectMult: 3, myDiscr: 9, yourDiscr: 7, desiredMinTxUs: 1_000_000, requiredMinRxUs: 100_000 });
    s.receive(peer(BfdState.Init), 0);
    expect(s.stateName).toBe('Up');
    expect(s.receive(peer(BfdState.AdminDown), 10).transitions).toEqual([{ from: 'Up', to: 'Down', diag: 3, event: null }]);
  });

  it('drops packets for another discriminator and everything while AdminDown', () => {
    const s = new BfdSession(P, 7, rng());
    s.start(0);
    const pkt = wire({ diag: 0, state: BfdState.Init, poll: false, final: false, demand: false, detectMult: 3, myDiscr: 9, yourDiscr: 8, desiredMinTxUs: 1_000_000, requiredMinRxUs: 100_000 });
    expect(s.receive(pkt, 1).dropped).toBe('your-discr-mismatch');
    const down = s.adminDown();
    expect(down.send[0]).toMatchObject({ state: BfdState.AdminDown, diag: BfdDiag.AdministrativelyDown });
    expect(s.receive({ ...pkt, yourDiscr: 7 }, 2).dropped).toBe('admin-down');
    expect(s.nextDue()).toBe(Infinity);
  });
});

describe('BFD timers (injected clock, no sleeps)', () => {
  it('sends at 1 s (idle_tx) while not Up, jittered 0-25 % down', () => {
    const s = new BfdSession(P, 1, rng(3));
    expect(s.start(0).send).toHaveLength(1);
    let t = 0;
    const gaps: number[] = [];
    for (let i = 0; i < 200; i++) {
      const due = s.nextDue();
      gaps.push(due - t);
      t = due;
      expect(s.tick(t).send).toHaveLength(1);
    }
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(750);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1000);
    // the jitter is spread, not a constant
    expect(Math.max(...gaps) - Math.min(...gaps)).toBeGreaterThan(150);
  });

  it('with Detect Mult 1 the jitter is 10-25 % (6.8.7)', () => {
    const s = new BfdSession({ ...P, multiplier: 1 }, 1, rng(4));
    s.start(0);
    let t = 0;
    for (let i = 0; i < 200; i++) {
      const due = s.nextDue();
      expect(due - t).toBeGreaterThanOrEqual(750);
      expect(due - t).toBeLessThanOrEqual(900);
      t = due;
      s.tick(t);
    }
  });

  it('once Up, packets go every max(min_tx, peer min_rx) and a Poll is answered with a Final at once', () => {
    const pair = new Pair(new BfdSession(P, 1, rng(5)), new BfdSession({ ...P, minRxUs: 200_000 }, 2, rng(6)));
    pair.start();
    pair.runUntil(5000);
    const from = pair.log.length;
    pair.runUntil(7000);
    const aSends = pair.log.slice(from).filter((l) => l.who === 'a' && l.sent.some((p) => !p.final)).map((l) => l.t);
    const gaps = aSends.slice(1).map((t, i) => t - aSends[i]);
    // a sends to b, who asked for 200 ms: 150-200 ms apart
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(150);
      expect(g).toBeLessThanOrEqual(200);
    }
    expect(pair.a.snapshot().txIntervalMs).toBe(200);
    expect(pair.b.snapshot().txIntervalMs).toBe(100);
    // detection time = peer mult x max(our min_rx, peer min_tx)
    expect(pair.a.detectTimeMs()).toBe(3 * 100);
    expect(pair.b.detectTimeMs()).toBe(3 * 200);
    // the Poll Sequence that going Up started has ended with a Final
    expect(pair.a.snapshot().poll).toBe(false);
    const polls = pair.log.filter((l) => l.sent.some((p) => p.poll));
    const finals = pair.log.filter((l) => l.sent.some((p) => p.final));
    expect(polls.length).toBeGreaterThan(0);
    expect(finals.length).toBeGreaterThan(0);
    expect(finals[0].t).toBe(polls[0].t); // the Final goes out when the Poll arrives
  });

  it('goes Down within the detection time when the peer falls silent (diag 1), and says so once', () => {
    const pair = new Pair(new BfdSession(P, 1, rng(7)), new BfdSession(P, 2, rng(8)));
    pair.start();
    pair.runUntil(3000);
    expect(pair.a.stateName).toBe('Up');
    const silentFrom = 3000;
    pair.cut = (t) => t >= silentFrom;
    pair.runUntil(3000 + 1000);
    expect(pair.a.stateName).toBe('Down');
    expect(pair.a.snapshot().localDiag).toBe(BfdDiag.ControlDetectionTimeExpired);
    const down = pair.events('a').filter((e) => e[1] === 'down');
    expect(down).toHaveLength(1);
    // last packet from b arrived before silentFrom; a detection time (300 ms) after it a is Down
    const lastFromB = Math.max(...pair.log.filter((l) => l.who === 'b' && l.t < silentFrom).map((l) => l.t));
    expect(down[0][0] - lastFromB).toBeCloseTo(300, 6);
    // and it forgot the peer's discriminator (6.8.1)
    expect(pair.a.snapshot().remoteDiscr).toBe(0);
  });

  it('comes back Up when the link heals, keeping its own discriminator', () => {
    const pair = new Pair(new BfdSession(P, 11, rng(9)), new BfdSession(P, 12, rng(10)));
    pair.start();
    pair.runUntil(3000);
    pair.cut = (t) => t >= 3000 && t < 6000;
    pair.runUntil(10_000);
    expect(pair.a.stateName).toBe('Up');
    expect(pair.events('a').map((e) => e[1])).toEqual(['up', 'down', 'up']);
    expect(pair.a.localDiscr).toBe(11);
  });

  it('a passive session sends nothing until the peer speaks, then comes Up', () => {
    const passive = new BfdSession({ ...P, passive: true }, 1, rng(11));
    expect(passive.start(0).send).toEqual([]);
    expect(passive.nextDue()).toBe(Infinity);
    const pair = new Pair(passive, new BfdSession(P, 2, rng(12)));
    pair.start();
    pair.runUntil(3000);
    expect(passive.stateName).toBe('Up');
    // its first packet follows b's first (t=0) by one jittered idle interval
    const first = pair.log.find((l) => l.who === 'a')!.t;
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(1000);
  });

  it('two passive sessions never come up (neither speaks first)', () => {
    const pair = new Pair(new BfdSession({ ...P, passive: true }, 1, rng(13)), new BfdSession({ ...P, passive: true }, 2, rng(14)));
    pair.start();
    pair.runUntil(10_000);
    expect(pair.log).toEqual([]);
    expect(pair.a.stateName).toBe('Down');
  });

  it('a peer asking for no packets (RequiredMinRx 0) gets none periodically (6.8.7)', () => {
    const s = new BfdSession(P, 1, rng(15));
    s.start(0);
    s.receive(wire({ diag: 0, state: BfdState.Down, poll: false, final: false, demand: false, detectMult: 3, myDiscr: 9, yourDiscr: 0, desiredMinTxUs: 1_000_000, requiredMinRxUs: 0 }), 5);
    expect(s.snapshot().txIntervalMs).toBeNull();
    expect(s.nextDue()).toBe(5 + 3000); // only the detection timer
  });
});

describe('BFD parameter changes (Poll Sequence, 6.8.3)', () => {
  function upPair(): Pair {
    const pair = new Pair(new BfdSession(P, 1, rng(21)), new BfdSession(P, 2, rng(22)));
    pair.start();
    pair.runUntil(3000);
    return pair;
  }

  it('a raised min_tx while Up is used only once the Final arrives', () => {
    const pair = upPair();
    const out = pair.a.setParams({ ...P, minTxUs: 300_000 }, pair.t);
    expect(pair.a.snapshot().poll).toBe(true);
    expect(pair.a.snapshot().txIntervalMs).toBe(100); // still the old interval
    expect(out.send).toEqual([]);
    pair.runUntil(pair.t + 500);
    expect(pair.a.snapshot().poll).toBe(false);
    expect(pair.a.snapshot().txIntervalMs).toBe(300);
    // the peer now detects with a's new interval
    expect(pair.b.detectTimeMs()).toBe(900);
    expect(pair.a.stateName).toBe('Up');
    expect(pair.b.stateName).toBe('Up');
  });

  it('a lowered min_rx keeps the old value for detection until the Final', () => {
    const pair = upPair();
    pair.a.setParams({ ...P, minRxUs: 50_000 }, pair.t);
    expect(pair.a.detectTimeMs()).toBe(300);
    pair.runUntil(pair.t + 500);
    expect(pair.a.snapshot().poll).toBe(false);
    // b keeps sending at its min_tx (100 ms): detection = 3 x max(50, 100)
    expect(pair.a.detectTimeMs()).toBe(300);
    expect(pair.b.snapshot().txIntervalMs).toBe(100);
  });

  it('a changed multiplier while Down changes nothing else and polls nobody', () => {
    const s = new BfdSession(P, 1, rng(23));
    s.start(0);
    s.setParams({ ...P, multiplier: 5 }, 1);
    expect(s.snapshot().poll).toBe(false);
    expect(s.tick(s.nextDue()).send[0].detectMult).toBe(5);
  });
});

describe('BFD session under arbitrary peers (property)', () => {
  it('never throws, only reports "up" on entering Up and "down" on leaving it, and never spins', async () => {
    const fc = (await import('fast-check')).default;
    const pkt = fc.record({
      diag: fc.integer({ min: 0, max: 31 }),
      state: fc.constantFrom(BfdState.AdminDown, BfdState.Down, BfdState.Init, BfdState.Up),
      poll: fc.boolean(),
      demand: fc.boolean(),
      detectMult: fc.integer({ min: 1, max: 255 }),
      yourDiscr: fc.constantFrom(0, 7, 8),
      desiredMinTxUs: fc.integer({ min: 0, max: 3_000_000 }),
      requiredMinRxUs: fc.integer({ min: 0, max: 3_000_000 }),
    });
    const step = fc.oneof(
      fc.record({ kind: fc.constant('pkt' as const), dt: fc.integer({ min: 0, max: 2000 }), p: pkt }),
      fc.record({ kind: fc.constant('tick' as const), dt: fc.integer({ min: 0, max: 5000 }) }),
      fc.record({ kind: fc.constant('params' as const), dt: fc.integer({ min: 0, max: 100 }), minTx: fc.integer({ min: 1000, max: 2_000_000 }), minRx: fc.integer({ min: 1000, max: 2_000_000 }), passive: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(step, { maxLength: 60 }), fc.integer({ min: 1, max: 1000 }), (passive, steps, seed) => {
        const s = new BfdSession({ ...P, passive }, 7, rng(seed));
        let now = 0;
        const check = (out: SessionOutput) => {
          for (const p of out.send) expect(() => encodeControl(p)).not.toThrow();
          for (const t of out.transitions) {
            if (t.event === 'up') expect(t.to).toBe('Up');
            if (t.event === 'down') expect([t.from, t.to]).toEqual(['Up', 'Down']);
            if (t.to === 'Up') expect(t.event).toBe('up');
          }
        };
        check(s.start(now));
        for (const st of steps) {
          now += st.dt;
          if (st.kind === 'pkt') {
            const p = { ...st.p, final: false, myDiscr: 9 };
            if (p.yourDiscr === 0 && p.state !== BfdState.Down && p.state !== BfdState.AdminDown) continue; // the codec drops these
            check(s.receive(wire(p), now));
          } else if (st.kind === 'params') check(s.setParams({ ...P, minTxUs: st.minTx, minRxUs: st.minRx, passive: st.passive }, now));
          else {
            // run every deadline up to now, as the runner does; each tick must move the deadline on
            for (let d = s.nextDue(), guard = 0; d <= now; d = s.nextDue(), guard++) {
              expect(guard).toBeLessThan(10_000);
              check(s.tick(d));
              expect(s.nextDue()).toBeGreaterThan(d);
            }
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
