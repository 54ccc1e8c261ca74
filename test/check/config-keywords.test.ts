// Checker keywords from configuration text to the checker spec: the url regex keywords (what is
// read, what is rejected or warned about with its line and column, keepalived's url_check rules)
// and the checker fwmark.
import { describe, expect, it } from '@jest/globals';
import { checkSpecsOf } from '../../src/daemon/specs.js';
import type { HttpCheckSpec } from '../../src/check/types.js';
import { configTextLoader } from '../helpers/config-text.js';

const load = configTextLoader('lvsd-check-regex-');

const conf = (url: string): string => `virtual_server 192.0.2.1 80 {
    protocol TCP
    real_server 198.51.100.1 80 {
        HTTP_GET {
            url {
                path /health
${url}
            }
        }
    }
}
`;

function urlSpec(text: string) {
  const r = load(text);
  const spec = r.config ? (checkSpecsOf(r.config)[0]!.realServers[0]!.checkers[0] as HttpCheckSpec).urls[0] : undefined;
  return { ...r, url: spec };
}

describe('regex keywords in the configuration', () => {
  it('maps regex, regex_no_match, regex_options and the offsets onto the url spec, with no warning', () => {
    const r = urlSpec(conf('                regex "^OK .*ready"\n                regex_no_match\n                regex_options caseless multiline\n                regex_min_offset 4\n                regex_max_offset 100'));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.notActed).toEqual([]);
    expect(r.url?.regex).toEqual({ pattern: '^OK .*ready', options: ['caseless', 'multiline'], noMatch: true, minOffset: 4, maxOffset: 100 });
  });

  it('a pattern JavaScript cannot compile is an error at its place', () => {
    const r = urlSpec(conf('                regex "(unclosed"'));
    expect(r.errors).toEqual([expect.stringMatching(/^7:23: error ECONFIG_VALUE regex does not compile/)]);
  });

  it('an option with no JavaScript equivalent is an error; an unknown one is ignored with a warning', () => {
    const bad = urlSpec(conf('                regex x\n                regex_options caseless ungreedy'));
    expect(bad.errors).toEqual([expect.stringMatching(/^8:40: error ECONFIG_VALUE regex option 'ungreedy' is not supported/)]);
    const unknown = urlSpec(conf('                regex x\n                regex_options bogus dotall'));
    expect(unknown.warnings).toEqual(["8:31: warning WCONFIG_VALUE unknown regex option 'bogus' (ignored)"]);
    expect(unknown.url?.regex?.options).toEqual(['dotall']);
  });

  it("keepalived's url_check rules: regex options without a regex, min beyond max", () => {
    const orphan = urlSpec(conf('                regex_min_offset 3'));
    expect(orphan.warnings).toEqual(["7:17: warning WCONFIG_VALUE 'regex_min_offset' without 'regex' in this url (ignored)"]);
    expect(orphan.url?.regex).toBeUndefined();
    const crossed = urlSpec(conf('                regex x\n                regex_min_offset 50\n                regex_max_offset 10'));
    expect(crossed.warnings).toEqual([expect.stringMatching(/^8:17: warning WCONFIG_VALUE regex_min_offset 50 is beyond regex_max_offset 10/)]);
    expect(crossed.url?.regex).toEqual({ pattern: 'x', options: [], noMatch: false });
  });

  it('regex_stack is read but not acted on (JavaScript has no JIT stack setting)', () => {
    const r = urlSpec(conf('                regex x\n                regex_stack 32768 65536'));
    expect(r.notActed).toEqual([expect.stringContaining("'regex_stack' is read but lvsd does not act on it")]);
  });
});

describe('checker fwmark', () => {
  const withChecker = (block: string): string => `virtual_server 192.0.2.1 80 {
    protocol TCP
    real_server 198.51.100.1 80 {
        ${block} {
            fwmark 4660
        }
    }
}
`;
  it('is acted on for PING_CHECK and TCP_CHECK (SO_MARK) and read but not acted on for UDP_CHECK', () => {
    for (const [block, type] of [['PING_CHECK', 'PING'], ['TCP_CHECK', 'TCP']] as const) {
      const r = load(withChecker(block));
      expect(r.notActed).toEqual([]);
      expect(checkSpecsOf(r.config!)[0]!.realServers[0]!.checkers[0]).toMatchObject({ type, fwmark: 4660 });
    }
    const udp = load(withChecker('UDP_CHECK'));
    expect(udp.notActed).toEqual([expect.stringContaining("'fwmark' is read but lvsd does not act on it")]);
  });
});
