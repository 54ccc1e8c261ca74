// Tracked objects: track_file and vrrp_track_process blocks (keepalived.conf(5), "Track files",
// "VRRP track processes"), bfd_instance ("BFD CONFIGURATION", run by src/bfd),
// interface_up_down_delays, and the `NAME [weight N [reverse|noreverse]]` list items that
// vrrp_instance and vrrp_sync_group use to refer to them.

import { Stmt } from '../parse.js';
import {
  address, blocks, Ctx, custom, expectArgs, flag, int, itemWords, listBlock, readInt, readTimer, str, timer, words,
} from '../schema.js';

/** A weight with keepalived's `reverse` modifier. */
export interface Weight {
  weight: number;
  reverse: boolean;
}

/** `weight N [reverse]` inside a tracked object's own block. */
export function weightSpec(def: number, min: number, max: number) {
  return custom<Weight>(
    (s, ctx) => {
      if (!expectArgs(s, ctx, 1, 2, `a weight (${min}..${max}) and optionally "reverse"`)) return undefined;
      const w = readInt(s.args[0], ctx, min, max, 'weight');
      if (w === undefined) return undefined;
      if (s.args[1] && s.args[1].text !== 'reverse') {
        ctx.diag.error('ECONFIG_ARGS', `expected 'reverse' after the weight, not '${s.args[1].text}'`, s.args[1].loc);
        return undefined;
      }
      return { weight: w, reverse: s.args.length === 2 };
    },
    () => ({ weight: def, reverse: false }),
  );
}

/** One line of track_interface/track_script/track_file/track_process/track_bfd. */
export interface TrackRef {
  name: string;
  /** null: the tracked object's own weight (track_interface: 0). */
  weight: number | null;
  /** null: the tracked object's own reverse setting. */
  reverse: boolean | null;
}

export function readTrackRef(what: string, min: number, max: number, defaultWeight: number | null) {
  return (s: Stmt, ctx: Ctx): TrackRef | undefined => {
    const w = itemWords(s);
    if (s.block) {
      ctx.diag.error('ECONFIG_BLOCK', `a ${what} entry does not take a block`, s.blockLoc);
      return undefined;
    }
    const ref: TrackRef = { name: w[0].text, weight: defaultWeight, reverse: defaultWeight === null ? null : false };
    if (w.length === 1) return ref;
    if (w[1].text !== 'weight') {
      ctx.diag.error('ECONFIG_ARGS', `unknown ${what} option '${w[1].text}' for ${w[0].text} (expected 'weight N [reverse|noreverse]')`, w[1].loc);
      return undefined;
    }
    if (!w[2]) {
      ctx.diag.error('ECONFIG_ARGS', `'weight' needs a value (${min}..${max}) for ${w[0].text}`, w[1].loc);
      return undefined;
    }
    const n = readInt(w[2], ctx, min, max, 'weight');
    if (n === undefined) return undefined;
    ref.weight = n;
    ref.reverse = false;
    if (w[3]) {
      if (w[3].text !== 'reverse' && w[3].text !== 'noreverse') {
        ctx.diag.error('ECONFIG_ARGS', `expected 'reverse' or 'noreverse' after the weight, not '${w[3].text}'`, w[3].loc);
        return undefined;
      }
      ref.reverse = w[3].text === 'reverse';
    }
    if (w[4]) {
      ctx.diag.error('ECONFIG_ARGS', `unexpected '${w[4].text}' after the weight of ${w[0].text}`, w[4].loc);
      return undefined;
    }
    return ref;
  };
}

/** The five tracking lists, with keepalived's weight ranges (vrrp_track.c, track_file.c). */
export const trackLists = {
  track_interface: listBlock(readTrackRef('track_interface', -253, 253, 0)),
  track_script: listBlock(readTrackRef('track_script', -253, 253, null)),
  track_file: listBlock(readTrackRef('track_file', -254, 254, null)),
  track_process: listBlock(readTrackRef('track_process', -254, 254, null)),
  track_bfd: listBlock(readTrackRef('track_bfd', -253, 253, null)),
};

/** `KEYWORD NAME { ... }`: named blocks carry their name. */
export function nameHeader(s: Stmt, ctx: Ctx): { name: string } | undefined {
  if (s.args.length !== 1) {
    ctx.diag.error('ECONFIG_ARGS', `'${s.key.text}' needs one name before its block`, s.args[1]?.loc ?? s.key.loc);
    return undefined;
  }
  return { name: s.args[0].text };
}

// ---------------------------------------------------------------------------------------------
// track_file NAME { file; weight; init_file }

export interface InitFile {
  value: number;
  overwrite: boolean;
}

export const trackFileSchema = {
  file: str(null),
  /** Source range is -254..254 (track_file.c), not the man page's 32-bit range. */
  weight: weightSpec(1, -254, 254),
  init_file: custom<InitFile | null>(
    (s, ctx) => {
      if (!expectArgs(s, ctx, 0, 2, '[VALUE] [overwrite]')) return undefined;
      const out: InitFile = { value: 0, overwrite: false };
      for (const a of s.args) {
        if (a.text === 'overwrite') out.overwrite = true;
        else {
          const v = readInt(a, ctx, -2147483648, 2147483647, 'init_file value');
          if (v === undefined) return undefined;
          if (v < -254 || v > 254) ctx.diag.warn('WCONFIG_RANGE', `init_file value ${v} is outside the sensible range -254..254`, a.loc);
          out.value = v;
        }
      }
      return out;
    },
    () => null,
  ),
};

// ---------------------------------------------------------------------------------------------
// vrrp_track_process NAME { ... }

export const trackProcessSchema = {
  /** The command name then its parameters (quoted words stay whole). */
  process: words(),
  /** exact when given bare; initial|partial otherwise; null: match the name only. */
  param_match: custom<'exact' | 'initial' | 'partial' | null>(
    (s, ctx) => {
      if (!expectArgs(s, ctx, 0, 1, 'at most one of initial|partial')) return undefined;
      if (!s.args.length) return 'exact';
      const t = s.args[0].text;
      if (t === 'initial' || t === 'partial') return t;
      ctx.diag.error('ECONFIG_VALUE', `'${t}' is not initial or partial for 'param_match'`, s.args[0].loc);
      return undefined;
    },
    () => null,
  ),
  weight: weightSpec(0, -254, 254),
  quorum: int(1, 1, 65535),
  /** null: unlimited. */
  quorum_max: int(null, 0, 65535),
  fork_delay: timer(null, 0.000001, 3600),
  terminate_delay: timer(null, 0.000001, 3600),
  delay: timer(null, 0.000001, 3600),
  full_command: flag(false),
};

// ---------------------------------------------------------------------------------------------
// bfd_instance NAME { ... } (intervals in milliseconds, as keepalived reads them)

export const bfdSchema = {
  neighbor_ip: address(null, { aliases: ['neighbour_ip'] }),
  source_ip: address(null),
  min_rx: timer(10, 0.001, 1e6),
  min_tx: timer(10, 0.001, 1e6),
  idle_tx: timer(1000, 0.001, 1e6),
  multiplier: int(5, 1, 255),
  passive: flag(false),
  ttl: int(255, 1, 255),
  hoplimit: int(64, 1, 255),
  max_hops: int(0, -1, 255),
  multihop: flag(false),
  weight: weightSpec(0, -253, 253),
  vrrp: flag(false),
  checker: flag(false),
};

// ---------------------------------------------------------------------------------------------
// interface_up_down_delays { IF DOWN [UP] }

export interface UpDownDelay {
  ifname: string;
  down: number;
  up: number;
}

function readUpDownDelay(s: Stmt, ctx: Ctx): UpDownDelay | undefined {
  const w = itemWords(s);
  if (w.length < 2 || w.length > 3 || s.block) {
    ctx.diag.error('ECONFIG_ARGS', `an interface_up_down_delays entry is 'IFNAME DOWN_DELAY [UP_DELAY]'`, (w[3] ?? w[0]).loc);
    return undefined;
  }
  const down = readTimer(w[1], ctx, 0, 255, 'down delay');
  const up = w[2] ? readTimer(w[2], ctx, 0, 255, 'up delay') : down;
  if (down === undefined || up === undefined) return undefined;
  return { ifname: w[0].text, down, up };
}

export const trackKeywords = {
  track_file: blocks('track_file', trackFileSchema, nameHeader, { aliases: ['vrrp_track_file'] }),
  vrrp_track_process: blocks('vrrp_track_process', trackProcessSchema, nameHeader),
  bfd_instance: blocks('bfd_instance', bfdSchema, nameHeader),
  interface_up_down_delays: listBlock(readUpDownDelay, { acted: false }),
};
