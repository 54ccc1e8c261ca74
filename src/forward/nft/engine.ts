// The nft forwarding engine: programs `table inet lvsd`, schedules the first packet of every new
// flow that the kernel queues, and feeds conntrack's view of the flows back to the director.
// Shell: owns the helper process, the conntrack event process and the nft/ip commands.

import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { CommandRunner } from './commands.js';
import { isActiveState, parseConntrackLine, parseQueueProc, type CtEntry } from './conntrack-line.js';
import { parseDrFlows } from './dr-flows.js';
import { syncDrRoutes, type DrRoute } from './dr-routes.js';
import { drLocalCounters, renderDrLocal, renderDrLocalDelete, resolveDrLocal } from './dr-local.js';
import { NftNativeError, NftServiceError, TunUnsupportedError } from './errors.js';
import { destIdentity, isLvsdMark, MARK_BASE, MARK_MASK, MarkAllocator } from './marks.js';
import { ensureHelperBuilt, spawnHelper } from './native-helper.js';
import { decodeRecord, FLAG_TRUNCATED, l4Name, RecordReader, TYPE_CONN, TYPE_LOST, TYPE_PACKET, TYPE_READY, VerdictBatch, type ConnRecord, type QueueRecord } from './queue-record.js';
import { COUNTERS, renderDelete, renderRuleset, TABLE, type KernelCounterName, type MarkedDest } from './ruleset.js';
import { conntrackInsertArgs, renderDrFlowAdds, type DrFlowAdd, type NatFlowAdd } from './sync-adopt.js';
import type { ConnStateEvent, ConnStats, NftCounters, NftDirector, NftEngineOptions, NftService } from './types.js';

interface MarkInfo {
  serviceId: string;
  destId: number;
  proto: string;
  family: 4 | 6;
  method: string;
  addr: string;
  /** DR dest: its flows live in nft flow sets, not in conntrack. */
  flowSet: boolean;
  /** DR dest of a fwmark service (its flows are also notracked by tuple). */
  fwmark: boolean;
}

export interface KernelCounters extends Record<KernelCounterName, number> {
  /** Packets the kernel could not queue (queue full, fail-closed) and those lost towards lvsd. */
  queueDropped: number;
  userDropped: number;
  queueLength: number;
  /** DR to a local VIP (dr-local.ts): packets sent to a real server, and dropped for want of a route to it. */
  drLocal: number;
  drLocalNoRoute: number;
}

export class NftEngine {
  private readonly runner: CommandRunner;
  private readonly marks = new MarkAllocator();
  private readonly opts: Required<Omit<NftEngineOptions, 'netns'>>;
  /** serviceId -> destId -> mark, for verdicts. */
  private destMarks = new Map<string, Map<number, number>>();
  /** mark -> who, for conntrack; includes draining dests removed from the config. */
  private markInfo = new Map<number, MarkInfo>();
  /** identity -> mark of every dest in the kernel's maps now. */
  private programmed = new Map<string, number>();
  private helper: ChildProcessWithoutNullStreams | null = null;
  /** Conntrack events the helper could not read (its socket buffer overflowed); the dump repairs. */
  private lostEvents = 0;
  private services: readonly NftService[] = [];
  /** mark -> family of the DR flow sets in the kernel now (deleted once their dest is gone). */
  private flowSets = new Map<number, 4 | 6>();
  private readonly stats: NftCounters = { queued: 0, picked: 0, noDest: 0, malformed: 0, unknownService: 0, verdictErrors: 0 };

  constructor(private readonly director: NftDirector, options: NftEngineOptions = {}) {
    this.runner = new CommandRunner(options.netns);
    this.opts = {
      queueNum: options.queueNum ?? 4242,
      queueMaxLen: options.queueMaxLen ?? 4096,
      failMode: options.failMode ?? 'fail-open',
      nowMs: options.nowMs ?? (() => performance.now()),
    };
  }

  /** Checks the kernel, adopts an existing table's marks, programs it and starts listening. */
  async start(services: readonly NftService[]): Promise<void> {
    if (services.some((s) => s.method === 'tun')) await this.checkTun();
    await this.adoptMarks();
    await this.runner.run('sysctl', ['-qw', 'net.netfilter.nf_conntrack_acct=1']);
    await this.apply(services);
    const bin = await ensureHelperBuilt();
    await this.startHelper(bin);
  }

  /** Reprograms the table in one nft transaction (start, reload, dest/weight edits). */
  async apply(services: readonly NftService[]): Promise<void> {
    for (const s of services) validateService(s);
    if (services.some((s) => s.method === 'tun')) await this.checkTun();
    const destMarks = new Map<string, Map<number, number>>();
    const markInfo = new Map<number, MarkInfo>();
    const dests: MarkedDest[] = [];
    for (const s of services) {
      const m = new Map<number, number>();
      for (const d of s.dests) {
        const identity = destIdentity(s.id, d.addr, d.port);
        const mark = this.marks.markFor(identity);
        m.set(d.id, mark);
        const flowSet = s.method === 'dr';
        const fwmark = flowSet && s.fwmark !== undefined;
        markInfo.set(mark, { serviceId: s.id, destId: d.id, proto: s.proto, family: s.family, method: s.method, addr: d.addr, flowSet, fwmark });
        dests.push({ mark, identity, family: s.family, method: s.method as MarkedDest['method'], addr: d.addr, port: d.port, snatAddr: s.snatAddr, flowSet, fwmark });
      }
      destMarks.set(s.id, m);
    }
    // Dests removed from the config keep their marks (and DR routes) while conntrack holds flows.
    const draining = await this.liveMarks();
    for (const [mark, info] of this.markInfo) {
      if (markInfo.has(mark) || !draining.has(mark)) continue;
      markInfo.set(mark, info);
      const identity = this.marks.identityOf(mark) ?? '';
      if (info.method === 'dr') dests.push({ mark, identity, family: info.family, method: 'dr', addr: info.addr, port: 0, flowSet: info.flowSet, fwmark: info.fwmark });
    }
    const flowSetNow = new Set(dests.filter((d) => d.flowSet).map((d) => d.mark));
    const staleFlowSets = [...this.flowSets].filter(([m]) => !flowSetNow.has(m)).map(([mark, family]) => ({ mark, family }));
    this.marks.retain(new Set([...markInfo.keys()].map((m) => this.marks.identityOf(m) ?? '')));
    const text = renderRuleset({
      vipServices: services
        .filter((s) => s.vip !== undefined)
        .map((s) => ({ family: s.family, vip: s.vip as string, proto: s.proto, vport: s.vport ?? 0, dr: s.method === 'dr' })),
      fwmarks: services.filter((s) => s.fwmark !== undefined && s.method !== 'dr').map((s) => s.fwmark as number),
      drFwmarks: services.filter((s) => s.fwmark !== undefined && s.method === 'dr').map((s) => ({ family: s.family, fwmark: s.fwmark as number })),
      dests,
      staleFlowSets,
    });
    const drRoutes: DrRoute[] = dests.filter((d) => d.method === 'dr').map((d) => ({ mark: d.mark, family: d.family, addr: d.addr }));
    // DR to a VIP this host holds (dr-local.ts): same transaction as the inet table.
    const drLocal = renderDrLocal(await resolveDrLocal(this.runner, drRoutes));
    await this.runner.must('nft', ['-f', '-'], text + drLocal);
    await syncDrRoutes(this.runner, drRoutes);
    this.services = services;
    this.programmed = new Map(dests.map((d) => [d.identity, d.mark]));
    this.destMarks = destMarks;
    this.markInfo = markInfo;
    this.flowSets = new Map(dests.filter((d) => d.flowSet).map((d) => [d.mark, d.family]));
  }

  /** Stops listening and removes everything lvsd put in the kernel. */
  async stop(): Promise<void> {
    this.detach();
    await this.runner.run('nft', ['-f', '-'], renderDelete());
    await this.runner.run('nft', ['-f', '-'], renderDrLocalDelete());
    await syncDrRoutes(this.runner, []);
  }

  /** Stops the helper and the event reader but leaves the kernel state (as if lvsd were killed). */
  detach(): void {
    this.helper?.stdin.end();
    this.helper?.kill('SIGTERM');
    this.helper = null;
  }

  counters(): NftCounters {
    return { ...this.stats };
  }

  /** Conntrack events lost so far (the 2 s dump corrects the states and drops the gone flows). */
  get eventsLost(): number {
    return this.lostEvents;
  }

  /** nft counters of the table plus the kernel queue's drop counters. */
  async kernelCounters(): Promise<KernelCounters> {
    const local = await drLocalCounters(this.runner);
    const out = { queueDropped: 0, userDropped: 0, queueLength: 0, drLocal: local.drlocal, drLocalNoRoute: local.drlocalnoroute } as KernelCounters;
    for (const c of COUNTERS) out[c] = 0;
    const r = await this.runner.run('nft', ['list', 'counters', 'table', 'inet', TABLE]);
    const re = /counter (\w+) \{\s*packets (\d+) bytes (\d+)/g;
    for (let m = re.exec(r.stdout); m; m = re.exec(r.stdout)) {
      if ((COUNTERS as readonly string[]).includes(m[1])) out[m[1] as KernelCounterName] = Number(m[2]);
    }
    const q = await this.runner.run('cat', ['/proc/net/netfilter/nfnetlink_queue']);
    const mine = parseQueueProc(q.stdout).get(this.opts.queueNum);
    if (mine) {
      out.queueDropped = mine.queueDropped;
      out.userDropped = mine.userDropped;
      out.queueLength = mine.queueTotal;
    }
    return out;
  }

  /** Dumps conntrack, hands per-dest counters to the director and returns them. */
  async refreshStats(): Promise<ConnStats[]> {
    const entries = await this.dump();
    const per = new Map<number, { active: number; inactive: number; inPkts: number; outPkts: number; inBytes: number; outBytes: number }>();
    for (const e of entries) {
      if (!this.markInfo.has(e.mark)) continue;
      const s = per.get(e.mark) ?? { active: 0, inactive: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 };
      if (isActiveState(e.proto, e.state)) s.active++;
      else s.inactive++;
      s.inPkts += e.orig.packets;
      s.inBytes += e.orig.bytes;
      s.outPkts += e.reply.packets;
      s.outBytes += e.reply.bytes;
      per.set(e.mark, s);
    }
    const stats: ConnStats[] = [];
    for (const [mark, info] of this.markInfo) {
      const s = per.get(mark) ?? { active: 0, inactive: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 };
      stats.push({
        serviceId: info.serviceId,
        destId: info.destId,
        activeConns: s.active,
        inactiveConns: s.inactive,
        inPkts: s.inPkts,
        outPkts: s.outPkts,
        inBytes: s.inBytes,
        outBytes: s.outBytes,
      });
    }
    this.director.onConnStats(stats);
    return stats;
  }

  /** Conntrack entries of flows lvsd scheduled (lvsadm -c). */
  async connections(): Promise<(CtEntry & { serviceId: string; destId: number })[]> {
    const out: (CtEntry & { serviceId: string; destId: number })[] = [];
    for (const e of await this.dump()) {
      const info = this.markInfo.get(e.mark);
      if (info) out.push({ ...e, serviceId: info.serviceId, destId: info.destId });
    }
    return out;
  }

  private async dump(): Promise<CtEntry[]> {
    const out: CtEntry[] = [];
    for (const fam of ['ipv4', 'ipv6']) {
      const r = await this.runner.run('conntrack', ['-L', '-f', fam, '-o', 'extended,id', '--mark', `${MARK_BASE}/${MARK_MASK}`]);
      let n = 0;
      for (const line of r.stdout.split('\n')) {
        const e = parseConntrackLine(line);
        if (e) out.push(e);
        // Tens of thousands of TIME_WAIT flows take a few hundred ms to parse: new flows' picks
        // go in between slices instead of waiting for the whole dump.
        if (++n % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    if ([...this.markInfo.values()].some((i) => i.flowSet)) {
      const r = await this.runner.run('nft', ['-j', 'list', 'table', 'inet', TABLE]);
      const protoOf = (mark: number): 'tcp' | 'udp' | undefined => {
        const p = this.markInfo.get(mark)?.proto;
        return p === 'tcp' || p === 'udp' ? p : undefined;
      };
      if (r.code === 0) out.push(...parseDrFlows(r.stdout, protoOf));
    }
    return out;
  }

  private async liveMarks(): Promise<Set<number>> {
    if (this.markInfo.size === 0) return new Set();
    return new Set((await this.dump()).map((e) => e.mark));
  }

  private async checkTun(): Promise<void> {
    const name = `lvsdtun${process.pid % 10000}`;
    const r = await this.runner.run('ip', ['link', 'add', name, 'type', 'ipip', 'local', '127.0.0.1']);
    if (r.code !== 0) throw new TunUnsupportedError(r.stderr.trim() || 'ip link add type ipip failed');
    await this.runner.run('ip', ['link', 'del', name]);
  }

  /** Reads the `marks` set comments of a table left by a previous lvsd. */
  private async adoptMarks(): Promise<void> {
    const r = await this.runner.run('nft', ['list', 'set', 'inet', TABLE, 'marks']);
    if (r.code !== 0) return;
    const found: [number, string][] = [];
    const re = /(0x[0-9a-f]+) comment "([^"]*)"/g;
    for (let m = re.exec(r.stdout); m; m = re.exec(r.stdout)) found.push([Number(m[1]), m[2]]);
    this.marks.adopt(found);
  }

  private startHelper(bin: string): Promise<void> {
    // The helper also reads conntrack's events of lvsd's marks: no `conntrack -E` process, no text.
    const child = spawnHelper(bin, this.runner, this.opts.queueNum, this.opts.queueMaxLen, this.opts.failMode, `${MARK_BASE}/${MARK_MASK}`);
    this.helper = child;
    const reader = new RecordReader();
    const verdicts = new VerdictBatch();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d).slice(-2000));
    child.stdin.on('error', () => undefined);
    return new Promise((resolve, reject) => {
      let ready = false;
      child.on('error', (e) => reject(new NftNativeError(String(e))));
      child.on('exit', (code) => {
        if (!ready) reject(new NftNativeError(`exited with ${code}: ${stderr.trim()}`));
        if (this.helper === child) this.helper = null;
      });
      child.stdout.on('data', (chunk: Buffer) => {
        reader.read(chunk, (b, off, type) => {
          if (type === TYPE_PACKET) this.onRecord(decodeRecord(b, off), verdicts);
          else if (type === TYPE_CONN) this.onConnEvent(decodeRecord(b, off));
          else if (type === TYPE_LOST) this.lostEvents += b.readUInt32LE(off + 4);
          else if (type === TYPE_READY && !ready) {
            ready = true;
            resolve();
          }
        });
        // The chunk's verdicts in one write; back-pressure is advisory (the pipe buffers, the helper drains it).
        if (verdicts.count > 0) child.stdin.write(verdicts.take());
      });
    });
  }

  private onRecord(rec: QueueRecord, verdicts: VerdictBatch): void {
    if (rec.kind !== 'packet') return;
    this.stats.queued++;
    const verdict = this.decide(rec);
    verdicts.add(rec.id, verdict !== 0, verdict);
  }

  /** A conntrack event of one of lvsd's flows, for the director's table. */
  private onConnEvent(rec: QueueRecord): void {
    if (rec.kind !== 'conn') return;
    const info = this.markInfo.get(rec.mark);
    const proto = l4Name(rec.l4proto);
    if (!info || proto === null) return;
    this.director.onConnState(connStateEvent(rec, info.serviceId, info.destId, proto));
  }

  /** 0 = drop, otherwise accept with this mark. */
  private decide(rec: Extract<QueueRecord, { kind: 'packet' }>): number {
    const proto = l4Name(rec.l4proto);
    if (rec.family === 0 || proto === null || (rec.flags & FLAG_TRUNCATED) !== 0) {
      this.stats.malformed++;
      return 0;
    }
    const pick = this.director.pickFor(
      { family: rec.family, proto, saddr: rec.saddr, sport: rec.sport, daddr: rec.daddr, dport: rec.dport, mark: rec.mark },
      this.opts.nowMs(),
    );
    if (pick.kind === 'no-dest') {
      this.stats.noDest++;
      return 0;
    }
    // A dest back in the table (health, lvsadm) has a new id until the next apply; its address
    // and port may still be programmed (a draining dest keeps its mark), so use that mark.
    const mark = this.destMarks.get(pick.serviceId)?.get(pick.destId)
      ?? (pick.addr !== undefined ? this.programmed.get(destIdentity(pick.serviceId, pick.addr, pick.port ?? 0)) : undefined);
    if (mark === undefined) {
      this.stats.unknownService++;
      return 0;
    }
    this.stats.picked++;
    return mark;
  }

  /** Services last applied. */
  current(): readonly NftService[] {
    return this.services;
  }

  /**
   * Sync: puts flows a sync master announced into their DR dest's flow set (sync-adopt.ts).
   * Flows of dests without a flow set here (not programmed, not DR) are left out; returns how
   * many went in. Throws NftCommandError when nft refuses the transaction.
   */
  async adoptDrFlows(flows: readonly (Omit<DrFlowAdd, 'mark' | 'family'> & { serviceId: string; destId: number })[]): Promise<number> {
    const adds: DrFlowAdd[] = [];
    for (const f of flows) {
      const mark = this.destMarks.get(f.serviceId)?.get(f.destId);
      const info = mark === undefined ? undefined : this.markInfo.get(mark);
      if (mark === undefined || !info?.flowSet) continue;
      adds.push({ ...f, mark, family: info.family });
    }
    const text = renderDrFlowAdds(adds);
    if (text) await this.runner.must('nft', ['-f', '-'], text);
    return adds.length;
  }

  /**
   * Sync: NAT/FULLNAT flows a sync master announced become conntrack entries with their dest's
   * mark and NAT binding (`conntrack -I`, one per flow). FULLNAT flows need the service's
   * fixed source address (fullnat_snat): under masquerade this director's address differs from
   * the old master's and the real server would not know the flow, so those are left out.
   * Returns how many were created and the first refusal (an entry conntrack has already is one).
   */
  async adoptNatFlows(flows: readonly (Omit<NatFlowAdd, 'mark' | 'family' | 'snatAddr'> & { serviceId: string; destId: number })[]): Promise<{ made: number; error: string | null }> {
    let made = 0;
    let error: string | null = null;
    for (const f of flows) {
      const mark = this.destMarks.get(f.serviceId)?.get(f.destId);
      const info = mark === undefined ? undefined : this.markInfo.get(mark);
      if (mark === undefined || !info || (info.method !== 'nat' && info.method !== 'fullnat')) continue;
      const snatAddr = info.method === 'fullnat' ? this.services.find((s) => s.id === f.serviceId)?.snatAddr : undefined;
      if (info.method === 'fullnat' && !snatAddr) continue;
      const args = conntrackInsertArgs({ ...f, mark, family: info.family, snatAddr });
      if (!args) continue;
      const r = await this.runner.run('conntrack', args);
      if (r.code === 0) made++;
      else error ??= `conntrack ${args.join(' ')}: ${r.stderr.trim()}`;
    }
    return { made, error };
  }
}

function connStateEvent(rec: ConnRecord, serviceId: string, destId: number, proto: 'tcp' | 'udp'): ConnStateEvent {
  return {
    event: rec.event,
    serviceId,
    destId,
    proto,
    client: { addr: rec.saddr, port: rec.sport },
    vip: { addr: rec.daddr, port: rec.dport },
    state: rec.state,
    expiresS: rec.timeoutS,
    counters: rec.counters,
  };
}

/** Throws NftServiceError when the engine cannot program `s` (callers may pre-check services). */
export function validateService(s: NftService): void {
  const hasVip = s.vip !== undefined;
  const hasFwm = s.fwmark !== undefined;
  if (hasVip === hasFwm) throw new NftServiceError(s.id, 'needs exactly one of vip or fwmark');
  if (hasFwm && (s.fwmark! <= 0 || s.fwmark! > 0xffffffff || isLvsdMark(s.fwmark!))) {
    throw new NftServiceError(s.id, `fwmark ${s.fwmark} is 0, out of range or inside lvsd's mark range 0x4c000000/8`);
  }
  if (hasVip && (s.vport === undefined || s.vport < 0 || s.vport > 65535)) throw new NftServiceError(s.id, 'bad port');
  if (s.method === 'dr' && s.dests.some((d) => d.port !== 0 && s.vport !== undefined && d.port !== s.vport)) {
    throw new NftServiceError(s.id, 'DR cannot map ports: real server ports must equal the virtual port');
  }
  const addrOk = (a: string): boolean => (s.family === 4 ? /^\d{1,3}(\.\d{1,3}){3}$/.test(a) : a.includes(':') && /^[0-9a-fA-F:.]+$/.test(a));
  if (hasVip && !addrOk(s.vip!)) throw new NftServiceError(s.id, `bad IPv${s.family} address ${s.vip}`);
  for (const d of s.dests) if (!addrOk(d.addr)) throw new NftServiceError(s.id, `bad real server address ${d.addr}`);
  if (s.snatAddr !== undefined && !addrOk(s.snatAddr)) throw new NftServiceError(s.id, `bad snat address ${s.snatAddr}`);
}
