#!/usr/bin/env node
// lvsadm: ipvsadm's command language for a running lvsd, over its control socket.
// Flags: ipvsadm's, plus --socket PATH (or $LVSD_CONTROL_SOCKET) and --json.
import { ControlClient, controlSocketPath } from '../control/client.js';
import { systemLookup, systemResolverFor } from '../control/names.js';
import { runLvsadm } from '../control/run.js';

function takeSocketFlag(argv: string[]): { argv: string[]; socket: string | undefined } {
  const rest: string[] = [];
  let socket: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--socket' && i + 1 < argv.length) socket = argv[++i];
    else if (a.startsWith('--socket=')) socket = a.slice('--socket='.length);
    else rest.push(a);
  }
  return { argv: rest, socket };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  const { argv, socket } = takeSocketFlag(process.argv.slice(2));
  const client = new ControlClient(controlSocketPath(socket));
  const result = await runLvsadm(argv, {
    prog: 'lvsadm',
    table: client,
    readStdin,
    lookup: systemLookup(),
    resolverFor: (view) => systemResolverFor(view),
  });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.exitCode;
}

main().catch((err: unknown) => {
  process.stderr.write(`lvsadm: ${(err as Error).message}\n`);
  process.exitCode = 255;
});
