// HTTP_GET and SSL_GET: for each url, GET the path (keepalived's request format), then compare
// the status with status_code (default 200-299) and the MD5 of the body with digest. TLS is not
// verified unless asked (keepalived never verifies). The body is read to its end (EOF or
// Content-Length) and capped, so an endless body fails instead of eating memory.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { markedTcpSocket } from '../net/marked-socket.js';
import type { CheckResult, HttpCheckSpec, HttpUrlSpec, StatusRange } from './types.js';
import { connectEndpoint, since, type CheckTarget, type Endpoint } from './target.js';
import { bodyMatches, compileBodyRegex, type BodyRegex } from './body-regex.js';

export const DEFAULT_MAX_BODY = 1 << 20;
const MAX_HEADER = 64 * 1024;
const DEFAULT_STATUS: readonly StatusRange[] = [[200, 299]];

export interface HttpFetch {
  status: number;
  /** Raw header block (status line included), latin1. */
  header: string;
  /** Lower-case hex MD5 of the body bytes. */
  digest: string;
  bodyBytes: number;
  /** The body itself, when asked for (keepBody: a url with a regex). */
  body?: Buffer;
}

/** keepalived's request: HTTP/1.0 (or 1.1), Connection: close for 1.0C/1.1, Host with :port unless a vhost. */
export function buildRequest(path: string, host: string, port: number, vhost: string | undefined, proto: '1.0' | '1.0C' | '1.1'): string {
  const hostHeader = vhost ?? (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
  return (
    `GET ${path} HTTP/1.${proto === '1.1' ? 1 : 0}\r\n` +
    'User-Agent: KeepAliveClient\r\n' +
    (proto === '1.0' ? '' : 'Connection: close\r\n') +
    `Host: ${hostHeader}\r\n\r\n`
  );
}

export function statusMatches(code: number, ranges: readonly StatusRange[] = DEFAULT_STATUS): boolean {
  return ranges.some(([lo, hi]) => code >= lo && code <= hi);
}

/** Parse "200", "200-299" items as in `status_code 200-299 400 503`. Throws on junk (config time). */
export function parseStatusRanges(items: readonly string[]): StatusRange[] {
  return items.map((item) => {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(item);
    if (!m) throw new Error(`bad status_code '${item}'`);
    const lo = Number(m[1]);
    const hi = m[2] ? Number(m[2]) : lo;
    if (hi < lo) throw new Error(`bad status_code range '${item}'`);
    return [lo, hi] as const;
  });
}

/** Pure: does one fetched url satisfy its url block? In keepalived's order: status, digest, regex. */
export function httpUrlResult(fetch: HttpFetch, url: HttpUrlSpec, tookMs: number, regex?: BodyRegex): CheckResult {
  if (!statusMatches(fetch.status, url.statusCodes)) return { ok: false, reason: `status ${fetch.status}`, tookMs };
  if (url.digest && url.digest.toLowerCase() !== fetch.digest)
    return { ok: false, reason: `digest ${fetch.digest} != ${url.digest.toLowerCase()}`, tookMs };
  if (regex) {
    const matched = bodyMatches(regex, fetch.body ?? Buffer.alloc(0));
    if (matched === regex.noMatch) return { ok: false, reason: matched ? 'regex matched (regex_no_match)' : 'regex did not match', tookMs };
    return { ok: true, reason: `status ${fetch.status}, regex ${matched ? 'matched' : 'did not match'}`, tookMs };
  }
  return { ok: true, reason: `status ${fetch.status}`, tookMs };
}

export class HttpFetchError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'HttpFetchError';
  }
}

export interface FetchOptions {
  tls: boolean;
  path: string;
  vhost?: string;
  proto: '1.0' | '1.0C' | '1.1';
  sni?: string;
  verify: boolean;
  ca?: string | Buffer;
  timeoutMs: number;
  maxBodyBytes: number;
  /** Keep the body bytes (for a regex); they are capped by maxBodyBytes like the digest. */
  keepBody?: boolean;
  signal?: AbortSignal;
}

/** One GET; resolves with status and digest or rejects with an HttpFetchError. */
export function httpFetch(ep: Endpoint, o: FetchOptions): Promise<HttpFetch> {
  return new Promise((resolve, reject) => {
    let done = false;
    let headerBuf = Buffer.alloc(0);
    let header: string | null = null;
    let status = 0;
    let contentLength = -1;
    let bodyBytes = 0;
    const kept: Buffer[] | null = o.keepBody ? [] : null;
    const md5 = createHash('md5');
    const opts = { host: ep.host, port: ep.port, localAddress: ep.localAddress, localPort: ep.localPort, family: ep.family };
    // fwmark: TLS runs over a marked TCP socket (tls.connect adopts it while it connects).
    const tcp = ep.mark ? markedTcpSocket(ep.family, ep.mark).connect(opts) : null;
    const sock: Socket = o.tls
      ? tlsConnect({ ...(tcp ? { socket: tcp } : opts), servername: o.sni, rejectUnauthorized: o.verify, ca: o.ca })
      : (tcp ?? netConnect(opts));
    const finish = (err: HttpFetchError | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      if (err) reject(err);
      else resolve({ status, header: header ?? '', digest: md5.digest('hex'), bodyBytes, ...(kept ? { body: Buffer.concat(kept, bodyBytes) } : {}) });
    };
    const onAbort = (): void => finish(new HttpFetchError('aborted', 'aborted'));
    const timer = setTimeout(() => finish(new HttpFetchError('timeout', `no complete response in ${o.timeoutMs} ms`)), o.timeoutMs);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const body = (chunk: Buffer): void => {
      if (contentLength >= 0 && bodyBytes + chunk.length > contentLength) chunk = chunk.subarray(0, contentLength - bodyBytes);
      bodyBytes += chunk.length;
      if (bodyBytes > o.maxBodyBytes) return finish(new HttpFetchError('body-too-large', `body over ${o.maxBodyBytes} bytes`));
      md5.update(chunk);
      kept?.push(chunk);
      if (contentLength >= 0 && bodyBytes >= contentLength) finish(null);
    };
    sock.once(o.tls ? 'secureConnect' : 'connect', () => {
      sock.write(buildRequest(o.path, ep.host, ep.port, o.vhost, o.proto));
    });
    sock.on('data', (chunk: Buffer) => {
      if (done) return;
      if (header !== null) return body(chunk);
      headerBuf = Buffer.concat([headerBuf, chunk]);
      const end = headerBuf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (headerBuf.length > MAX_HEADER) finish(new HttpFetchError('bad-response', 'header too large'));
        return;
      }
      header = headerBuf.subarray(0, end).toString('latin1');
      const m = /^HTTP\/\d\.\d (\d{3})/.exec(header);
      if (!m) return finish(new HttpFetchError('bad-response', 'no HTTP status line'));
      status = Number(m[1]);
      const cl = /\r\ncontent-length:\s*(\d+)/i.exec(header);
      if (cl) contentLength = Number(cl[1]);
      const rest = headerBuf.subarray(end + 4);
      headerBuf = Buffer.alloc(0);
      if (rest.length > 0 || contentLength === 0) body(rest);
    });
    sock.once('end', () => {
      if (header === null) finish(new HttpFetchError('bad-response', 'connection closed before a response'));
      else finish(null);
    });
    sock.once('error', (e: NodeJS.ErrnoException) => finish(new HttpFetchError(e.code ?? 'error', e.message)));
  });
}

export async function httpCheck(spec: HttpCheckSpec, target: CheckTarget, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult> {
  const ep = connectEndpoint(spec, target);
  const start = performance.now();
  let ca: Buffer | undefined;
  if (spec.caFile) {
    try {
      ca = readFileSync(spec.caFile);
    } catch (e) {
      return { ok: false, reason: `ca: ${(e as Error).message}`, tookMs: since(start) };
    }
  }
  let last: CheckResult = { ok: false, reason: 'no url', tookMs: 0 };
  for (const url of spec.urls) {
    const vhost = url.virtualhost ?? spec.virtualhost ?? target.virtualhost;
    let regex: BodyRegex | undefined;
    try {
      regex = url.regex ? compileBodyRegex(url.regex) : undefined;
    } catch (e) {
      return { ok: false, reason: `${url.path}: ${(e as Error).message}`, tookMs: since(start) };
    }
    try {
      const f = await httpFetch(ep, {
        tls: spec.type === 'SSL',
        path: url.path || '/',
        vhost,
        proto: spec.httpProtocol ?? '1.0',
        sni: spec.type === 'SSL' && spec.enableSni ? (spec.sniName ?? vhost) : undefined,
        verify: spec.tlsVerify ?? false,
        ca,
        timeoutMs,
        maxBodyBytes: spec.maxBodyBytes ?? DEFAULT_MAX_BODY,
        keepBody: regex !== undefined,
        signal,
      });
      last = httpUrlResult(f, url, since(start), regex);
    } catch (e) {
      const err = e as HttpFetchError;
      last = { ok: false, reason: err.code ?? err.message, tookMs: since(start) };
    }
    if (!last.ok) return { ...last, reason: `${url.path}: ${last.reason}` };
  }
  return last;
}
