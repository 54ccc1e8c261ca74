// The daemon's entry (start, reload, stop): issue 7 builds it out.

export async function runDaemon(opts: Record<string, unknown>): Promise<number | undefined> {
  void opts;
  process.stderr.write('lvsd: the daemon is not built yet; use -t to check a configuration\n');
  return 1;
}
