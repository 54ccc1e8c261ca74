// Runs the privileged tools the engine drives (nft, ip, conntrack), optionally inside a network
// namespace. Shell: the only place that spawns short-lived commands.

import { spawn } from 'node:child_process';
import { NftCommandError } from './errors.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class CommandRunner {
  constructor(readonly netns?: string) {}

  /** argv with the `ip netns exec` prefix when a namespace is set. */
  argv(cmd: string, args: readonly string[]): [string, string[]] {
    return this.netns ? ['ip', ['netns', 'exec', this.netns, cmd, ...args]] : [cmd, [...args]];
  }

  run(cmd: string, args: readonly string[], input?: string): Promise<CommandResult> {
    const [file, argv] = this.argv(cmd, args);
    return new Promise((resolve) => {
      const child = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (e) => resolve({ code: 127, stdout, stderr: stderr + String(e) }));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.on('error', () => undefined);
      child.stdin.end(input ?? '');
    });
  }

  /** Like run() but throws NftCommandError on a non-zero exit. */
  async must(cmd: string, args: readonly string[], input?: string): Promise<string> {
    const r = await this.run(cmd, args, input);
    if (r.code !== 0) throw new NftCommandError(`${cmd} ${args.join(' ')}`, r.stderr || r.stdout);
    return r.stdout;
  }
}
