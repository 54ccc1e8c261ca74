// Checker specs the check runner takes. Independent of the config model: the config layer maps
// keepalived's keywords onto these (keyword noted on each field). Times are milliseconds
// (keepalived TIMER values are seconds, possibly fractional: multiply by 1000).
// Timing options may be set on the virtual server, the real server or the checker; the most
// specific one wins (keepalived's inheritance), and `resolveTiming` fills keepalived's defaults.

/** Options every checker type accepts (MISC/FILE ignore the connection ones). */
export interface CheckTiming {
  /** connect_timeout (default 5 s) */
  connectTimeoutMs?: number;
  /** retry (default 1; DNS_CHECK 3; MISC_CHECK 0) */
  retry?: number;
  /** delay_before_retry (default 1 s; HTTP/SSL 3 s; DNS = delay_loop) */
  delayBeforeRetryMs?: number;
  /** warmup: max random delay before the first check (default = delay_loop; 0 disables) */
  warmupMs?: number;
  /** delay_loop (default 60 s) */
  delayLoopMs?: number;
  /** alpha: start down until a check succeeds (default false) */
  alpha?: boolean;
  /** log_all_failures: log failures also while the checker is up (default false) */
  logAllFailures?: boolean;
}

/** Connection options (not for MISC_CHECK / FILE_CHECK). Defaults: the real server's address. */
export interface CheckConnect {
  /** connect_ip */
  connectIp?: string;
  /** connect_port */
  connectPort?: number;
  /** bindto */
  bindTo?: string;
  /** bind_port */
  bindPort?: number;
  /** bind_if (needed for IPv6 link-local bindto; used as the scope id) */
  bindIf?: string;
  /** fwmark: SO_MARK on the check's socket (TCP-based checks and PING; not UDP/DNS) */
  fwmark?: number;
}

/** A script with its optional run-as user (notify_up, notify_down, quorum_up, misc_path...). */
export interface ScriptSpec {
  /** The command line as written (split like keepalived: whitespace, '…' and "…" quotes, \ escapes). */
  command: string;
  /** `username [:][groupname]` after the script */
  user?: string;
  group?: string;
}

export interface TcpCheckSpec extends CheckTiming, CheckConnect {
  type: 'TCP';
}

/** status_code entries: a single code or an inclusive range (`200-299`). */
export type StatusRange = readonly [number, number];

export interface HttpUrlSpec {
  /** path (default "/") */
  path: string;
  /** digest: lower-case hex MD5 of the body (optional) */
  digest?: string;
  /** status_code (default 200-299) */
  statusCodes?: readonly StatusRange[];
  /** virtualhost (overrides checker / real server / virtual server) */
  virtualhost?: string;
  /** regex and its options: the body must match it (or must not, with regex_no_match) */
  regex?: BodyRegexSpec;
}

/** A url's regex keywords (see body-regex.ts for how PCRE2 options map to JavaScript). */
export interface BodyRegexSpec {
  /** regex */
  pattern: string;
  /** regex_options (keepalived's PCRE2 option names) */
  options?: readonly string[];
  /** regex_no_match: a match fails the check */
  noMatch?: boolean;
  /** regex_min_offset: body offset where matching starts */
  minOffset?: number;
  /** regex_max_offset: the match must start at or before this body offset */
  maxOffset?: number;
}

export interface HttpCheckSpec extends CheckTiming, CheckConnect {
  /** HTTP = HTTP_GET, SSL = SSL_GET */
  type: 'HTTP' | 'SSL';
  /** url { } blocks; all must pass */
  urls: readonly HttpUrlSpec[];
  /** virtualhost */
  virtualhost?: string;
  /** http_protocol: '1.0' | '1.0C' | '1.1' (default 1.0, as keepalived) */
  httpProtocol?: '1.0' | '1.0C' | '1.1';
  /** enable_sni: send SNI (virtualhost, or sni_name) */
  enableSni?: boolean;
  /** sni_name */
  sniName?: string;
  /** Not in keepalived (which never verifies): verify the server certificate. Default false. */
  tlsVerify?: boolean;
  /** SSL { ca } — CA bundle (PEM path) used when tlsVerify is on. */
  caFile?: string;
  /** Body bytes read at most (the digest covers what was read). Default 1 MiB. */
  maxBodyBytes?: number;
}

export interface MiscCheckSpec extends CheckTiming {
  type: 'MISC';
  /** misc_path (+ user) */
  script: ScriptSpec;
  /** misc_timeout (default delay_loop) */
  timeoutMs?: number;
  /** misc_dynamic: exit 0 up, 1 down, 2..255 up with weight = code - 2 */
  dynamic?: boolean;
  /** Cap on captured stdout+stderr (default 64 KiB); the rest is drained and dropped. */
  maxOutputBytes?: number;
}

export interface SmtpHostSpec extends CheckConnect {}

export interface SmtpCheckSpec extends CheckTiming, CheckConnect {
  type: 'SMTP';
  /** helo_name (default: this host's name) */
  heloName?: string;
  /** host { } blocks (older syntax): each is tried; the check passes if all pass */
  hosts?: readonly SmtpHostSpec[];
}

export type DnsQueryType = 'A' | 'NS' | 'CNAME' | 'SOA' | 'MX' | 'TXT' | 'AAAA';

export interface DnsCheckSpec extends CheckTiming, CheckConnect {
  type: 'DNS';
  /** type (default SOA) */
  queryType?: DnsQueryType;
  /** name (default ".") */
  name?: string;
  /**
   * Not in keepalived (which only checks the reply matches the query and has answers):
   * the answer set must contain one of these values (A/AAAA address text, or target name).
   */
  expect?: readonly string[];
}

export interface UdpCheckSpec extends CheckTiming, CheckConnect {
  type: 'UDP';
  /** payload: bytes sent (default: random bytes) */
  payload?: Uint8Array;
  /** require_reply present */
  requireReply?: boolean;
  /** require_reply HEX_STR: expected prefix; nibbles marked X are ignored (see udp.ts) */
  replyPattern?: { bytes: Uint8Array; mask: Uint8Array };
  /** min_reply_length (default 0) */
  minReplyLength?: number;
  /** max_reply_length (default 255) */
  maxReplyLength?: number;
}

export interface PingCheckSpec extends CheckTiming, CheckConnect {
  type: 'PING';
}

export interface FileCheckSpec extends CheckTiming {
  type: 'FILE';
  /** the track_file's file path */
  path: string;
  /** weight (checker's, else the track_file's; default 1) */
  weight?: number;
  /** weight … reverse */
  reverse?: boolean;
  /** dynamic: the value read adjusts the real server weight */
  dynamic?: boolean;
}

/**
 * BFD_CHECK: the real server follows a bfd_instance's session (check_bfd.c). Its state arrives
 * as events (no retry: a session Down takes the checker down at once); the runner also re-reads
 * it every delay_loop. Options: name, alpha.
 */
export interface BfdCheckSpec extends CheckTiming {
  type: 'BFD';
  /** the bfd_instance's name */
  name: string;
}

export type CheckerSpec =
  | BfdCheckSpec
  | TcpCheckSpec
  | HttpCheckSpec
  | MiscCheckSpec
  | SmtpCheckSpec
  | DnsCheckSpec
  | UdpCheckSpec
  | PingCheckSpec
  | FileCheckSpec;

export type CheckerType = CheckerSpec['type'];

export interface RealServerCheckSpec extends CheckTiming {
  /** real_server address (IPv4 or IPv6 text) and port */
  addr: string;
  port: number;
  /** weight (default 1) */
  weight?: number;
  /** inhibit_on_failure: set weight 0 instead of removing */
  inhibitOnFailure?: boolean;
  notifyUp?: ScriptSpec;
  notifyDown?: ScriptSpec;
  virtualhost?: string;
  checkers: readonly CheckerSpec[];
}

export interface VirtualServerCheckSpec extends CheckTiming {
  /** Stable key used in events and logs, e.g. "192.0.2.1:80", "fwmark 1", "group web". */
  id: string;
  inhibitOnFailure?: boolean;
  /** quorum (default 1) */
  quorum?: number;
  /** hysteresis (default 0) */
  hysteresis?: number;
  quorumUp?: ScriptSpec;
  quorumDown?: ScriptSpec;
  /** omega: on stop, run down notifiers / quorum_down where appropriate */
  omega?: boolean;
  /** ha_suspend: pause this VS's checks while the director is not VRRP master */
  haSuspend?: boolean;
  sorryServer?: { addr: string; port: number };
  /** sorry_server_inhibit */
  sorryServerInhibit?: boolean;
  virtualhost?: string;
  realServers: readonly RealServerCheckSpec[];
}

/** Global script rules (global_defs script_user / enable_script_security). */
export interface ScriptPolicy {
  /** script_user (default: keepalived_script if it exists, else nobody) */
  defaultUser?: string;
  defaultGroup?: string;
  /** enable_script_security: allows root only when the script path is not writable by others */
  enableScriptSecurity?: boolean;
}

/**
 * What the runner tells the daemon. kind 'rs': a real server's table entry changed; kind 'sorry':
 * the sorry server's entry changed; kind 'quorum': the VS quorum state changed (rs is '').
 * `inTable` false means remove the destination; true with weight 0 means inhibit.
 */
export interface CheckEvent {
  kind: 'rs' | 'sorry' | 'quorum';
  vs: string;
  /** "addr:port" ("[v6]:port" for IPv6) */
  rs: string;
  up: boolean;
  weight: number;
  inTable: boolean;
  /** checker that caused it, e.g. "TCP#0" ('' for quorum-driven changes) */
  checker: string;
  reason: string;
  took_ms: number;
}

/** One check attempt's outcome, as every checker module returns it. */
export interface CheckResult {
  ok: boolean;
  /** Short machine-friendly reason: 'ok', 'ECONNREFUSED', 'timeout', 'status 503', ... */
  reason: string;
  /** MISC misc_dynamic: the absolute weight asked for (exit status - 2). */
  weight?: number;
  /** FILE: the amount added to the real server's weight (value read x weight). */
  weightDelta?: number;
  tookMs: number;
}

/** Errors raised for bad specs; checks themselves never throw (they return a failed result). */
export class CheckSpecError extends Error {
  readonly code = 'ECHECKSPEC';
  constructor(message: string) {
    super(message);
    this.name = 'CheckSpecError';
  }
}
