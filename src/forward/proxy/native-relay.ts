// Runs one native/lvsd-relay helper (shell): builds it when missing, spawns it, writes records
// to its stdin (batched per turn of the event loop) and hands each record it reads to the
// engine's visitor (listen answers it keeps).
// A helper that exits or sends bad records never throws here: the engine is told and decides.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  encodeKill, encodeListen, encodeRetry, encodeUnlisten, HelperRecordReader, RecordBatch, type HelperRecordVisitor,
} from './relay-protocol.js';
import type { RelayTarget } from './tcp-relay.js';

export class RelayHelperError extends Error {
  readonly code = 'ERELAYHELPER';
}

/** The repository's native/ folder, found from this module in src/ or dist/src/. */
function nativeDir(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'native', 'lvsd-relay.c'))) return join(dir, 'native');
    dir = dirname(dir);
  }
  return null;
}

let built: string | null = null;

/** Path of the helper binary, compiled when missing or older than its source; throws if it cannot be. */
export function relayHelperPath(): string {
  if (built) return built;
  const dir = nativeDir();
  if (!dir) throw new RelayHelperError('native/lvsd-relay.c not found');
  const src = join(dir, 'lvsd-relay.c');
  const bin = join(dir, 'build', 'lvsd-relay');
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(join(dir, 'build'), { recursive: true });
    // built aside and renamed: processes that start at once (test workers) never run half a file
    const tmp = `${bin}.${process.pid}.tmp`;
    const r = spawnSync('cc', ['-O2', '-Wall', '-o', tmp, src], { encoding: 'utf8' });
    if (r.status !== 0) {
      rmSync(tmp, { force: true });
      throw new RelayHelperError(`cannot build native/lvsd-relay (needs a C compiler): ${(r.stderr || r.error?.message || '').trim()}`);
    }
    renameSync(tmp, bin);
  }
  built = bin;
  return bin;
}

export class NativeRelay {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly reader = new HelperRecordReader();
  private readonly out = new RecordBatch();
  private flushQueued = false;
  /** inside a chunk's records: the flush comes at its end */
  private reading = false;
  private readonly listenWaiters = new Map<number, (errno: number) => void>();
  private readonly unlistenWaiters = new Map<number, () => void>();
  private exited = false;

  constructor(
    bin: string,
    connectTimeoutMs: number,
    /** the engine's; begin() runs before each chunk's records (one clock read per chunk) */
    records: HelperRecordVisitor & { begin(): void },
    onMalformed: (count: number) => void,
    onExit: (code: number | null, signal: NodeJS.Signals | null) => void,
  ) {
    this.proc = spawn(bin, [String(connectTimeoutMs)], { stdio: ['pipe', 'pipe', 'inherit'] }) as unknown as ChildProcessWithoutNullStreams;
    // a helper that cannot be spawned reports only 'error': treat it as an exit
    this.proc.on('error', () => {
      if (this.proc.pid === undefined) this.ended(null, null, onExit);
    });
    this.proc.stdin.on('error', () => undefined);
    const visitor: HelperRecordVisitor = {
      listen: (listener, errno) => {
        const w = this.listenWaiters.get(listener);
        this.listenWaiters.delete(listener);
        w?.(errno);
      },
      unlistened: (listener) => {
        const w = this.unlistenWaiters.get(listener);
        this.unlistenWaiters.delete(listener);
        w?.();
      },
      accept: (slot, listener, addr, port) => records.accept(slot, listener, addr, port),
      state: (conn, state) => records.state(conn, state),
      counters: (conn, inP, outP, inB, outB, end, endState) => records.counters(conn, inP, outP, inB, outB, end, endState),
      refused: (conn) => records.refused(conn),
      error: (what, errno) => records.error(what, errno),
      failed: (type, err) => records.failed(type, err),
    };
    this.proc.stdout.on('data', (chunk: Buffer) => {
      const before = this.reader.malformed;
      records.begin();
      // the picks this chunk's accepts get go out in one write right after it (no microtask)
      this.reading = true;
      try {
        this.reader.read(chunk, visitor);
      } finally {
        this.reading = false;
      }
      if (this.flushQueued) this.flush();
      if (this.reader.malformed > before) onMalformed(this.reader.malformed - before);
    });
    this.proc.once('exit', (code, signal) => this.ended(code, signal, onExit));
  }

  private ended(code: number | null, signal: NodeJS.Signals | null, onExit: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    if (this.exited) return;
    this.exited = true;
    for (const w of this.listenWaiters.values()) w(-1);
    this.listenWaiters.clear();
    for (const w of this.unlistenWaiters.values()) w();
    this.unlistenWaiters.clear();
    onExit(code, signal);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Resolves with 0 when listening, else an errno (-1: the helper is gone). */
  listen(listener: number, addr: string, port: number, backlog: number): Promise<number> {
    if (this.exited) return Promise.resolve(-1);
    return new Promise((resolve) => {
      this.listenWaiters.set(listener, resolve);
      this.send(encodeListen(listener, addr, port, backlog));
    });
  }

  /** Resolves once the helper has closed the listening socket (or is gone). */
  unlisten(listener: number): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.unlistenWaiters.set(listener, resolve);
      this.send(encodeUnlisten(listener));
    });
  }

  /** Where accepted slot goes; a null target resets the client (no destination). */
  pick(slot: number, token: number, target: RelayTarget | null): void {
    if (this.exited) return;
    this.out.pick(slot, target ? token : 0, target, target?.header ?? null);
    this.queueFlush();
  }

  retry(slot: number, token: number, target: RelayTarget | null): void {
    this.send(encodeRetry(slot, token, target, target?.header ?? null));
  }

  kill(slot: number, token: number): void {
    this.send(encodeKill(slot, token));
  }

  /** Closes its stdin (it exits) and waits; SIGKILL after 2 s. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.exited || this.proc.exitCode !== null || this.proc.signalCode !== null) return resolve();
      this.proc.once('exit', () => resolve());
      this.flush();
      this.proc.stdin.end();
      setTimeout(() => this.proc.kill('SIGKILL'), 2000).unref();
    });
  }

  private send(buf: Buffer): void {
    if (this.exited) return;
    this.out.append(buf);
    this.queueFlush();
  }

  private queueFlush(): void {
    if (this.reading) {
      this.flushQueued = true;
      return;
    }
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.out.length === 0 || this.exited) return;
    const stdin = this.proc.stdin;
    stdin.write(this.out.take());
    // written to the pipe at once (the usual case): its memory can take the next batch
    if (stdin.writableLength === 0) this.out.written();
  }
}
