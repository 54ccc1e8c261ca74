// vrrp_sync_group: members change state together. A member goes Master only when every member
// wants to (keepalived's vrrp_sync_can_goto_master); one member's Master/Backup/Fault pulls the
// others along. Group-level notifies run once per group state change.
import type { Clock } from './clock.js';
import type { VrrpInstance } from './instance.js';
import type { Notifier } from './notify.js';
import type { VrrpState, VrrpSyncGroupSpec } from './types.js';

export class SyncGroup {
  state: VrrpState = 'INIT';
  private busy = false;
  private readonly cause: string;

  constructor(
    readonly spec: VrrpSyncGroupSpec,
    readonly members: VrrpInstance[],
    private readonly clock: Clock,
    private readonly notifier: Notifier,
  ) {
    this.cause = `sync:${spec.name}`;
    for (const m of members) {
      m.machine.gate = () => members.every((o) => o === m || o.machine.wantMaster || o.state === 'MASTER');
    }
  }

  has(inst: VrrpInstance): boolean {
    return this.members.includes(inst);
  }

  /** Called for every member transition; propagates it to the other members. */
  onTransition(inst: VrrpInstance, from: VrrpState, to: VrrpState): void {
    if (this.busy || to === 'STOP') return;
    this.busy = true;
    try {
      const now = this.clock.nowUs();
      const others = this.members.filter((m) => m !== inst);
      if (to === 'MASTER') for (const o of others) o.apply(o.machine.force(now, 'MASTER'));
      if (to === 'BACKUP' && from === 'MASTER') for (const o of others) o.apply(o.machine.force(now, 'BACKUP'));
      if (to === 'FAULT' || from === 'FAULT') this.reevaluateFaults();
    } finally {
      this.busy = false;
    }
    this.notifyIfSettled(to);
  }

  /**
   * The group is in Fault while any member has a fault of its own (interface, script, ...): then
   * every other member carries the group's fault cause; when none has, the cause is cleared on all.
   * Called on transitions and after every tracking pass, so recovery order never matters.
   */
  reevaluateFaults(): void {
    const now = this.clock.nowUs();
    const own = (m: VrrpInstance) => m.machine.faultCauses().some((c) => c !== this.cause);
    const anyOwn = this.members.some(own);
    for (const m of this.members) {
      const want = anyOwn && !own(m);
      if (m.machine.faultCauses().includes(this.cause) !== want) m.apply(m.machine.setFault(now, this.cause, want));
    }
  }

  private notifyIfSettled(to: VrrpState): void {
    if (to !== this.state && this.members.every((m) => m.state === to)) {
      this.state = to;
      const prio = Math.max(...this.members.map((m) => m.machine.priority));
      void this.notifier.run(this.spec.notify, 'GROUP', this.spec.name, to, prio);
    }
  }
}
