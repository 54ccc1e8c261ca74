// Table-driven: every malformed argument gets ipvsadm 1.31's message and exit code (ipvsadm.c
// fail()/tryhelp_exit()/popt), and well-formed lines become the right commands.
import { describe, expect, test } from '@jest/globals';
import { parseArgs, splitRestoreStream } from '../../src/control/args.js';

const TRY = "Try `lvsadm -h' or 'lvsadm --help' for more information.\n";
const bad: [string, number, string][] = [
  ['-q', 255, TRY],
  ['-n -L', 255, TRY], // the first option must be a command
  ['foo', 255, TRY],
  ['-L -q', 255, '-q: unknown option\n'],
  ['-L --bogus', 255, '--bogus: unknown option\n'],
  ['-L -t', 255, '-t: missing argument\n'],
  ['-L -A', 2, "invalid option `-A'\n"],
  ['-A -t 192.0.2.1:80 -t 192.0.2.2:80', 2, "multiple 'service-address' options specified\n"],
  ['-A -t 1.2.3.4.5:80', 2, 'illegal virtual server address[:port] specified\n'],
  ['-A -t 80', 2, 'illegal virtual server address[:port] specified\n'],
  ['-A -t [2001:db8::1]80', 2, 'illegal virtual server address[:port] specified\n'],
  ['-A -t 192.0.2.1:65536', 2, 'illegal virtual server address[:port] specified\n'],
  ['-A -t 192.0.2.1', 2, 'Zero port specified for non-persistent service\n'],
  ['-A -t 192.0.2.1:80 -o', 2, 'One-Packet Scheduling is only for UDP virtual services\n'],
  ['-A -t 192.0.2.1:80 -p 0', 2, "invalid timeout value `0' specified\n"],
  ['-A -t 192.0.2.1:80 -p 2678401', 2, "invalid timeout value `2678401' specified\n"],
  ['-A -t 192.0.2.1:80 -p x', 2, "invalid timeout value `x' specified\n"],
  ['-A -t 192.0.2.1:80 -M nonsense', 2, 'illegal virtual server persistent mask specified\n'],
  ['-A -t [2001:db8::1]:80 -M 129', 2, 'illegal ipv6 netmask specified\n'],
  ['-A -f 0', 2, "invalid fwmark value `0' specified\n"],
  ['-A -f 4294967296', 2, "invalid fwmark value `4294967296' specified\n"],
  ['-A -t 192.0.2.1:80 -6', 2, '-6 used before -f\n\n'],
  ['-A -t 192.0.2.1:80 -b flag-9', 2, "invalid scheduler flag `flag-9'\n"],
  ['-A -t 192.0.2.1:80 -s rr -b sh-port', 2, "incompatible scheduler flag `sh-port'\n"],
  ['-A -t 192.0.2.1:80 -r 10.0.0.1', 2, "Illegal 'real-server' option with the 'add-service' command\n"],
  ['-A', 2, "You need to supply the 'service-address' option for the 'add-service' command\n"],
  ['-a -t 192.0.2.10:80', 2, "You need to supply the 'real-server' option for the 'add-server' command\n"],
  ['-a -t 192.0.2.10:80 -r x..y', 2, 'illegal real server address[:port] specified\n'],
  ['-a -t 192.0.2.10:80 -r 10.0.0.1 -w 65536', 2, 'illegal weight specified\n'],
  ['-a -t 192.0.2.10:80 -r 10.0.0.1 -w -1', 2, 'illegal weight specified\n'],
  ['-a -t 192.0.2.10:80 -r 10.0.0.1 -x 2147483648', 2, 'illegal u_threshold specified\n'],
  ['-a -t 192.0.2.10:80 -r 10.0.0.1 -y z', 2, 'illegal l_threshold specified\n'],
  ['-a -t 192.0.2.10:80 -r 10.0.0.1 -m -g', 2, "multiple 'forwarding-method' options specified\n"],
  ['-a -t 192.0.2.10:80 -r [2001:db8::1]:80 -m', 2, 'Different address family is allowed only for tunneling servers\n'],
  ['-a -t 192.0.2.10:80 -r 10.0.0.1 -m --tun-type gue', 2, 'Tunnel options conflict with forward method\n'],
  ['-a -t 192.0.2.10:80 -r 10.0.0.1 -i --tun-type foo', 2, 'illegal tunnel type specified\n'],
  ['-a -t 192.0.2.10:80 -r 10.0.0.1 -i --tun-type gue', 2, "You need to supply the 'tun-port' option for the 'gue' tunnel type\n"],
  ['-a -t 192.0.2.10:80 -r 10.0.0.1 -i --tun-type gue --tun-port 0', 2, 'illegal tunnel port specified\n'],
  ['-a -t 192.0.2.10:80 -r 10.0.0.1 -i --tun-type gre --tun-csum --tun-nocsum', 2, "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gre' tunnel type\n"],
  ['-a -t 192.0.2.10:80 -r 10.0.0.1 -i --tun-type gre --tun-remcsum', 2, "Illegal 'tun-remcsum' option with the 'gre' tunnel type\n"],
  ['-d -t 192.0.2.10:80 -r 10.0.0.1 -w 3', 2, "Illegal 'weight' option with the 'delete-server' command\n"],
  ['-L -c -t 192.0.2.10:80', 2, "The option 'service-address' conflicts with the 'connection' option in the 'list' command\n"],
  ['-L -c --stats', 2, 'options conflicts in the list command\n'],
  ['-L --timeout --persistent-conn', 2, 'options conflicts in the list command\n'],
  ['-L -s rr', 2, "Illegal 'scheduler' option with the 'list' command\n"],
  ['--set 1 2', 2, '--set option requires 3 timeout values\n'],
  ['--set 1 2 x', 2, "invalid timeout value `x' specified\n"],
  ['--set 1 2 3 4', 2, 'unexpected argument 4\n'],
  ['-L extra', 2, 'unexpected argument extra\n'],
  ['-C -n', 2, "Illegal 'numeric' option with the 'flush' command\n"],
  ['-Z -n', 2, "Illegal 'numeric' option with the 'zero' command\n"],
  ['-S -c', 2, "Illegal 'connection' option with the 'save' command\n"],
  ['--start-daemon foo', 2, 'illegal start-daemon parameter specified\n'],
  ['--stop-daemon foo', 2, 'illegal start_daemon specified\n'],
  ['-A -t 192.0.2.1:80 --json', 2, "Illegal 'json' option with the 'add-service' command\n"],
];

describe('malformed arguments', () => {
  test.each(bad)('lvsadm %s', (line, exitCode, stderr) => {
    expect(parseArgs(line.split(' '))).toEqual({ ok: false, exitCode, stderr });
  });
  test('-R inside a restore stream is refused with the try-help text', () => {
    expect(parseArgs(['-R'], { readingStdin: true })).toEqual({ ok: false, exitCode: 255, stderr: TRY });
  });
});

describe('well-formed lines', () => {
  const action = (line: string) => {
    const r = parseArgs(line.split(' '));
    if (!r.ok) throw new Error(r.stderr);
    return r.action;
  };
  test('no arguments lists the table with names', () => {
    expect(parseArgs([])).toMatchObject({ ok: true, action: { kind: 'list', what: 'table', format: { numeric: false } } });
  });
  test('-A with defaults: wlc, -p bare = 360 s, mask /32', () => {
    expect(action('-A -t 192.0.2.10:80 -p')).toEqual({ kind: 'apply', command: { op: 'add-service', service: {
      key: { kind: 'addr', protocol: 'TCP', address: '192.0.2.10', port: 80 }, scheduler: 'wlc', schedFlags: [],
      persistence: { timeout: 360, netmask: 32 }, pe: null, ops: false } } });
  });
  test('-p takes a following number but not a following option; bundles work', () => {
    expect(action('-A -t 192.0.2.10:0 -p 60 -M 255.255.0.0')).toMatchObject({ command: { service: { persistence: { timeout: 60, netmask: 16 } } } });
    expect(action('-A -t 192.0.2.10:0 -p -s rr')).toMatchObject({ command: { service: { scheduler: 'rr', persistence: { timeout: 360 } } } });
    expect(action('-Ln')).toMatchObject({ kind: 'list', format: { numeric: true } });
  });
  test('IPv6 fwmark service with -6 and sh flags', () => {
    expect(action('-A -f 7 -6 -s sh -b sh-port,sh-fallback')).toMatchObject({ command: { service: {
      key: { kind: 'fwmark', fwmark: 7, family: 6 }, schedFlags: ['sh-fallback', 'sh-port'] } } });
  });
  test('-a: -g forces the service port, -m keeps its own, port defaults to the service port', () => {
    expect(action('-a -t 192.0.2.10:80 -r 10.0.0.1:8080 -g')).toMatchObject({ command: { dest: { port: 80, forward: 'route', weight: 1 } } });
    expect(action('-a -t 192.0.2.10:80 -r 10.0.0.1:8080 -m -w 3')).toMatchObject({ command: { dest: { port: 8080, forward: 'masq', weight: 3 } } });
    expect(action('-a -u [2001:db8::1]:53 -r 2001:db8::2 -k')).toMatchObject({ command: { dest: { address: '2001:db8::2', port: 53, forward: 'fullnat' } } });
    expect(action('-a -f 1 -r [2001:db8::2]:9 -i --tun-type gue --tun-port 6080 --tun-remcsum')).toMatchObject({
      command: { dest: { address: '2001:db8::2', port: 9, tunnel: { type: 'gue', port: 6080, csum: 'remcsum' } } } });
  });
  test('inet_aton forms and IPv6 canonical text', () => {
    expect(action('-D -t 10.1:80')).toEqual({ kind: 'apply', command: { op: 'delete-service', key: { kind: 'addr', protocol: 'TCP', address: '10.0.0.1', port: 80 } } });
    expect(action('-D -u [2001:DB8:0:0::0:1]:53')).toMatchObject({ command: { key: { address: '2001:db8::1' } } });
  });
  test('--set, -Z, -C, -L variants', () => {
    expect(action('--set 10 0 30')).toEqual({ kind: 'apply', command: { op: 'set-timeouts', timeouts: { tcp: 10, tcpfin: 0, udp: 30 } } });
    expect(action('-Z')).toEqual({ kind: 'apply', command: { op: 'zero', service: null } });
    expect(action('-C')).toEqual({ kind: 'apply', command: { op: 'clear' } });
    expect(action('-L -n -c --persistent-conn')).toMatchObject({ kind: 'list', what: 'connections', format: { persistentConn: true } });
    expect(action('-l --timeout')).toMatchObject({ kind: 'list', what: 'timeout' });
    expect(action('-L -n -t 192.0.2.10:80 --stats --exact --sort')).toMatchObject({ kind: 'list', what: 'service', format: { stats: true, exact: true } });
    expect(action('--list --numeric --json')).toMatchObject({ kind: 'list', format: { json: true } });
  });
  test('service names from an injected lookup', () => {
    const r = parseArgs(['-A', '-t', 'web:http'], { lookup: {
      hostToIPv4: (n) => (n === 'web' ? '192.0.2.5' : null), serviceToPort: (n, p) => (n === 'http' && p === 'TCP' ? 80 : null) } });
    expect(r).toMatchObject({ ok: true, action: { command: { service: { key: { address: '192.0.2.5', port: 80 } } } } });
  });
  test('restore stream: words, ipvsadm token dropped, comments, blank lines', () => {
    expect(splitRestoreStream('ipvsadm -A -t 192.0.2.1:80\n\n  # note\n-a\t-t 192.0.2.1:80 -r 10.0.0.1 # tail\n'))
      .toEqual([{ line: 1, argv: ['-A', '-t', '192.0.2.1:80'] }, { line: 4, argv: ['-a', '-t', '192.0.2.1:80', '-r', '10.0.0.1'] }]);
  });
});
