// The hooks the VRRP netns suites share: one lab (routers r1, r2 and a client on a bridge, see
// makeLab) for the whole suite, an echo server on each router so the client can ask who holds the
// VIP, IPv6 link-local addresses ready before the first test, the suite's own clean-up after each
// test (a failed test must not leave its routers running into the next one), and the lab removed
// at the end.
import { afterAll, afterEach, beforeAll } from '@jest/globals';
import { makeLab, startEcho, waitLinkLocal, type Lab } from '../vrrp/netns-helpers.js';

export interface TwoRouterLabHooks {
  /** receives the lab once it exists (before the echo servers start) */
  ready: (lab: Lab) => void;
  /** extra set-up of the routers, run before the echo servers start */
  setup?: (lab: Lab) => void;
  /** stops what a test started and removes what it left (VIPs, devices) */
  afterEachTest: () => Promise<void>;
}

/** Registers beforeAll/afterEach/afterAll for a suite over makeLab(area, ['r1', 'r2']). */
export function useTwoRouterLab(area: string, hooks: TwoRouterLabHooks): void {
  let lab: Lab | undefined;
  beforeAll(async () => {
    lab = makeLab(area);
    hooks.ready(lab);
    hooks.setup?.(lab);
    startEcho(lab, 'r1');
    startEcho(lab, 'r2');
    await waitLinkLocal(lab, ['r1', 'r2']);
  });
  afterEach(async () => {
    if (lab) await hooks.afterEachTest();
  });
  afterAll(() => lab?.cleanup());
}
