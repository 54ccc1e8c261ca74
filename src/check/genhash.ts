// `lvsd genhash`: keepalived's genhash. Fetches a URL the way HTTP_GET/SSL_GET do and prints the
// MD5 of the body (the value for `digest`). -v adds the header and status, like genhash -v.
// Options: -s server -p port -u url -S (ssl) -V vhost -P 1.0|1.0C|1.1 -t timeout(s) -v,
// or a plain URL: genhash http://127.0.0.1:8080/index.html
import { DEFAULT_MAX_BODY, HttpFetchError, httpFetch } from './http.js';

export interface GenhashArgs {
  server: string;
  port: number;
  path: string;
  ssl: boolean;
  vhost?: string;
  proto: '1.0' | '1.0C' | '1.1';
  timeoutMs: number;
  verbose: boolean;
}

const USAGE = 'usage: genhash [-S] [-v] [-V vhost] [-P 1.0|1.0C|1.1] [-t secs] -s server -p port -u url | URL';

export class GenhashUsageError extends Error {
  readonly code = 'EUSAGE';
}

/** Pure: argv -> arguments, or a GenhashUsageError. */
export function parseGenhashArgs(argv: readonly string[]): GenhashArgs | 'help' {
  const a: Partial<GenhashArgs> & { verbose: boolean; ssl: boolean } = { verbose: false, ssl: false };
  let url: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new GenhashUsageError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '-h': case '--help': return 'help';
      case '-S': case '--use-ssl': a.ssl = true; break;
      case '-v': case '--verbose': a.verbose = true; break;
      case '-s': case '--server': a.server = val(); break;
      case '-p': case '--port': a.port = Number(val()); break;
      case '-u': case '--url': a.path = val(); break;
      case '-V': case '--use-virtualhost': a.vhost = val(); break;
      case '-t': case '--timeout': a.timeoutMs = Number(val()) * 1000; break;
      case '-P': case '--protocol': {
        const p = val().toUpperCase();
        if (p !== '1.0' && p !== '1.0C' && p !== '1.1') throw new GenhashUsageError(`bad protocol '${p}'`);
        a.proto = p;
        break;
      }
      default:
        if (arg.startsWith('-') || url !== undefined) throw new GenhashUsageError(`unexpected '${arg}'`);
        url = arg;
    }
  }
  if (url !== undefined) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new GenhashUsageError(`bad URL '${url}'`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new GenhashUsageError(`unsupported scheme '${u.protocol}'`);
    a.ssl = a.ssl || u.protocol === 'https:';
    a.server ??= u.hostname.replace(/^\[|\]$/g, '');
    a.port ??= u.port ? Number(u.port) : a.ssl ? 443 : 80;
    a.path ??= u.pathname + u.search;
  }
  if (!a.server) throw new GenhashUsageError('no server (-s or URL)');
  const port = a.port ?? (a.ssl ? 443 : 80);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new GenhashUsageError(`bad port '${a.port}'`);
  const timeoutMs = a.timeoutMs ?? 5000;
  if (!(timeoutMs > 0)) throw new GenhashUsageError('bad timeout');
  return { server: a.server, port, path: a.path ?? '/', ssl: a.ssl, vhost: a.vhost, proto: a.proto ?? '1.0', timeoutMs, verbose: a.verbose };
}

const DELIM = (title: string): string => `-----------------------[${title}]-----------------------\n`;

export async function genhashMain(argv: string[], write: (s: string) => void = (s) => void process.stdout.write(s)): Promise<number> {
  let args: GenhashArgs | 'help';
  try {
    args = parseGenhashArgs(argv);
  } catch (e) {
    write(`genhash: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args === 'help') {
    write(`${USAGE}\n`);
    return 0;
  }
  try {
    const f = await httpFetch(
      { host: args.server, port: args.port, family: args.server.includes(':') ? 6 : 4 },
      { tls: args.ssl, path: args.path, vhost: args.vhost, proto: args.proto, sni: args.vhost, verify: false, timeoutMs: args.timeoutMs, maxBodyBytes: DEFAULT_MAX_BODY },
    );
    if (args.verbose) {
      write(DELIM(' HTTP Header Ascii Buffer '));
      write(`${f.header}\n\n`);
      write(`HTTP status code: ${f.status}\nBody bytes: ${f.bodyBytes}\n\n`);
      write(DELIM(' HTML hash final resulting '));
    }
    if (f.bodyBytes === 0) {
      write('no data received from remote webserver\n');
      return 1;
    }
    write(`${f.digest}\n`);
    return 0;
  } catch (e) {
    write(`genhash: ${(e as HttpFetchError).code ?? ''} ${(e as Error).message}\n`);
    return 1;
  }
}
