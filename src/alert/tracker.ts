// Turns the daemon's events into the alerts keepalived would mail: a VRRP instance or sync group
// entering MASTER/BACKUP/FAULT/STOP (once per state: last_email_state), a real server going up
// or down through a checker, a virtual server gaining or losing quorum. Pure state, no I/O.

import { checkerBody, quorumBody, type Alert, type AlertGroupState, type AlertVrrpState } from './alert.js';
import { EMPTY_POLICY, type AlertPolicy } from './policy.js';

/** What the tracker needs of a check event (src/check CheckEvent has these fields). */
export interface CheckChange {
  kind: 'rs' | 'sorry' | 'quorum';
  vs: string;
  rs: string;
  up: boolean;
  weight: number;
  /** "TCP#0"; '' when no checker caused it (start, reload, quorum). */
  checker: string;
  reason: string;
}

type State = 'INIT' | AlertGroupState;

export class AlertTracker {
  private policy: AlertPolicy = EMPTY_POLICY;
  private readonly instanceState = new Map<string, State>();
  private readonly instanceMailed = new Map<string, State>();
  private readonly groupState = new Map<string, State>();
  private readonly groupMailed = new Map<string, State>();
  /** vs id -> rs endpoint -> alive as last seen. */
  private readonly alive = new Map<string, Map<string, boolean>>();

  /**
   * A new configuration: state of what still exists is kept. Returns the mails for what it
   * removed: VRRP instances (keepalived: FAULT, or "Deleted" with notify_deleted) and live real
   * servers (keepalived clear_service_rs: "=> Removing <=").
   */
  setPolicy(p: AlertPolicy): Alert[] {
    const out: Alert[] = [];
    const old = this.policy;
    for (const [name, alert] of old.vrrpInstances) {
      if (p.vrrpInstances.has(name) || !this.instanceState.has(name)) continue;
      const to = old.vrrpNotifyDeleted?.has(name) ? 'DELETED' : 'FAULT';
      if (this.mails(alert, to, this.instanceMailed.get(name))) out.push({ kind: 'vrrp-instance', name, state: to });
    }
    for (const [vsId, ofVs] of this.alive) {
      const before = old.virtualServers.get(vsId);
      const now = p.virtualServers.get(vsId);
      for (const [rsKey, up] of ofVs) {
        const rs = before?.rs.get(rsKey);
        if (up && rs?.alert && !now?.rs.has(rsKey)) out.push({ kind: 'realserver', vs: before!.display, rs: rs.display, up: false, body: '=> Removing <=' });
      }
    }
    this.policy = p;
    for (const m of [this.instanceState, this.instanceMailed]) for (const k of m.keys()) if (!p.vrrpInstances.has(k)) m.delete(k);
    for (const m of [this.groupState, this.groupMailed]) for (const k of m.keys()) if (!p.vrrpGroups.has(k)) m.delete(k);
    for (const [vs, ofVs] of this.alive) {
      const now = p.virtualServers.get(vs);
      if (!now) this.alive.delete(vs);
      else for (const rs of ofVs.keys()) if (!now.rs.has(rs)) ofVs.delete(rs);
    }
    return out;
  }

  /**
   * The daemon is stopping: with omega, each live real server's mail (keepalived
   * clear_service_rs when stopping: "=> Shutting down <="); without omega, none.
   */
  shutdown(): Alert[] {
    const out: Alert[] = [];
    for (const [vsId, ofVs] of this.alive) {
      const vs = this.policy.virtualServers.get(vsId);
      if (!vs?.omega) continue;
      for (const [rsKey, up] of ofVs) {
        const rs = vs.rs.get(rsKey);
        if (up && rs?.alert) out.push({ kind: 'realserver', vs: vs.display, rs: rs.display, up: false, body: '=> Shutting down <=' });
      }
      ofVs.clear();
    }
    return out;
  }

  get current(): AlertPolicy {
    return this.policy;
  }

  /** A VRRP instance changed state: its mail, then its sync group's if the group now agrees. */
  vrrpState(name: string, to: State): Alert[] {
    const out: Alert[] = [];
    // An instance a reload removed still stops after the new policy is in: already mailed above.
    if (!this.policy.vrrpInstances.has(name)) return out;
    this.instanceState.set(name, to);
    const groups = [...this.policy.vrrpGroups].filter(([, g]) => g.members.includes(name));
    if (to !== 'INIT') {
      // keepalived send_instance_notifies: nothing more once the instance's group is in that state.
      const groupHas = groups.some(([gn]) => this.groupState.get(gn) === to) && this.instanceMailed.has(name);
      if (!groupHas && this.mails(this.policy.vrrpInstances.get(name) ?? false, to, this.instanceMailed.get(name))) {
        this.instanceMailed.set(name, to);
        out.push({ kind: 'vrrp-instance', name, state: to });
      }
    }
    for (const [gn, g] of groups) {
      if (to === 'INIT' || this.groupState.get(gn) === to) continue;
      if (!g.members.every((m) => this.instanceState.get(m) === to)) continue;
      this.groupState.set(gn, to);
      if (this.mails(g.alert, to, this.groupMailed.get(gn))) {
        this.groupMailed.set(gn, to);
        out.push({ kind: 'vrrp-group', name: gn, state: to as AlertGroupState });
      }
    }
    return out;
  }

  /** A checker event: a real server's alive change through a checker, or a quorum change. */
  checkEvent(e: CheckChange): Alert | null {
    const vs = this.policy.virtualServers.get(e.vs);
    if (!vs) return null; // not configured for mail: nothing to remember either
    if (e.kind === 'quorum') {
      if (!vs.alert) return null;
      const init = e.reason.startsWith('starting');
      const threshold = e.up || init ? vs.quorum + vs.hysteresis : vs.quorum - vs.hysteresis;
      return { kind: 'virtualserver', vs: vs.display, up: e.up, body: quorumBody(e.up, init, vs.quorum, vs.hysteresis, threshold, e.weight) };
    }
    if (e.kind !== 'rs') return null;
    let ofVs = this.alive.get(e.vs);
    if (!ofVs) this.alive.set(e.vs, (ofVs = new Map()));
    const was = ofVs.get(e.rs);
    ofVs.set(e.rs, e.up);
    // The first sighting is the start state (keepalived mails no start); '' is not a checker.
    if (was === undefined || was === e.up || e.checker === '') return null;
    const rs = vs.rs.get(e.rs);
    if (!rs?.alert) return null;
    const body = checkerBody(e.checker.split('#')[0], e.up, e.reason);
    return body === null ? null : { kind: 'realserver', vs: vs.display, rs: rs.display, up: e.up, body };
  }

  private mails(flag: boolean, to: AlertVrrpState, lastMailed: State | undefined): boolean {
    return flag && !(this.policy.noEmailFaults && to === 'FAULT') && lastMailed !== to;
  }
}
