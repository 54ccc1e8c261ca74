// lvsadm's whole behaviour as a function: argv + stdin + a table connection -> output and exit
// code. src/bin/lvsadm.ts only wires real streams, the socket client and name lookups to it.
import { NO_LOOKUP, parseArgs, splitRestoreStream, type LvsadmAction, type NameLookup } from './args.js';
import { failureMessage } from './messages.js';
import { renderConnections } from './render/connections.js';
import { renderDaemons } from './render/daemons.js';
import type { NameResolver } from './render/format.js';
import { renderJson } from './render/json.js';
import { renderOneService, renderTable, renderTimeout } from './render/list.js';
import { renderSave } from './render/save.js';
import { usageText, versionLine } from './usage.js';
import type { ApplyResult, ControlCommand, SnapshotOptions, TableView } from './view.js';

/** The table as lvsadm reaches it (the control client, or an in-process table in tests). */
export interface TableAccess {
  snapshot(options?: SnapshotOptions): Promise<TableView>;
  apply(cmd: ControlCommand): Promise<ApplyResult>;
}

export interface RunEnv {
  prog?: string;
  table: TableAccess;
  readStdin(): Promise<string>;
  lookup?: NameLookup;
  /** builds reverse names for a view (listing without -n); null resolver = numeric */
  resolverFor?(view: TableView): Promise<NameResolver | null>;
}

export interface RunOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export async function runLvsadm(argv: readonly string[], env: RunEnv): Promise<RunOutput> {
  const out: RunOutput = { stdout: '', stderr: '', exitCode: 0 };
  const prog = env.prog ?? 'lvsadm';
  const parsed = parseArgs(argv, { prog, lookup: env.lookup ?? NO_LOOKUP });
  if (!parsed.ok) return { stdout: '', stderr: parsed.stderr, exitCode: parsed.exitCode };
  try {
    if (parsed.action.kind === 'restore') {
      await restore(env, prog, out);
    } else {
      await perform(parsed.action, env, prog, out);
    }
  } catch (err) {
    out.stderr += `${(err as Error).message}\n`;
    out.exitCode = 255;
  }
  return out;
}

async function perform(action: Exclude<LvsadmAction, { kind: 'restore' }>, env: RunEnv, prog: string, out: RunOutput): Promise<void> {
  switch (action.kind) {
    case 'help': out.stdout += usageText(prog); return;
    case 'version': out.stdout += versionLine(prog); return;
    case 'apply': {
      const result = await env.table.apply(action.command);
      report(action.command, result, out);
      return;
    }
    case 'save': {
      const view = await env.table.snapshot();
      const names = action.format.numeric ? null : (await env.resolverFor?.(view)) ?? null;
      out.stdout += action.format.json ? renderJson(view, action.format) : renderSave(view, action.format, names);
      return;
    }
    case 'list': {
      const view = await env.table.snapshot({ connections: action.what === 'connections' });
      if (action.format.json) {
        out.stdout += renderJson(view, action.format);
        return;
      }
      const names = action.format.numeric ? null : (await env.resolverFor?.(view)) ?? null;
      if (action.what === 'table') out.stdout += renderTable(view, action.format, names);
      else if (action.what === 'timeout') out.stdout += renderTimeout(view);
      else if (action.what === 'daemon') out.stdout += renderDaemons(view.daemons ?? []);
      else if (action.what === 'connections') out.stdout += renderConnections(view, action.format, names);
      else {
        const r = renderOneService(view, action.service!, action.format, names);
        if (r.ok) out.stdout += r.text;
        else {
          out.stderr += r.stderr;
          out.exitCode = r.exitCode;
        }
      }
    }
  }
}

function report(cmd: ControlCommand, result: ApplyResult, out: RunOutput): void {
  if (result.ok) {
    out.exitCode = 0;
    return;
  }
  out.stderr += failureMessage(cmd.op, result.code, result.message) + '\n';
  out.exitCode = 255;
}

/**
 * -R: lines run in order. Consecutive edits go to lvsd as one restore batch; a line that does not
 * parse stops the restore with exit 2 (earlier lines stay applied), as in ipvsadm.
 */
async function restore(env: RunEnv, prog: string, out: RunOutput): Promise<void> {
  const lines = splitRestoreStream(await env.readStdin());
  let batch: ControlCommand[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const cmds = batch;
    batch = [];
    const result = await env.table.apply({ op: 'restore', commands: cmds });
    const results = result.results ?? [];
    cmds.forEach((c, i) => report(c, results[i] ?? result, out));
  };
  for (const { argv } of lines) {
    const parsed = parseArgs(argv, { prog, readingStdin: true, lookup: env.lookup ?? NO_LOOKUP });
    if (!parsed.ok) {
      await flush();
      out.stderr += parsed.stderr;
      out.exitCode = parsed.exitCode;
      return;
    }
    const op = parsed.action.kind === 'apply' ? parsed.action.command.op : null;
    if (parsed.action.kind === 'apply' && op !== 'start-daemon' && op !== 'stop-daemon') {
      batch.push(parsed.action.command);
      continue;
    }
    await flush();
    if (parsed.action.kind === 'restore') continue; // unreachable: refused by parseArgs
    out.exitCode = 0;
    await perform(parsed.action, env, prog, out);
  }
  await flush();
}
