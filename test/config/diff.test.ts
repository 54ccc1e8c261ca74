// The plan between two configurations: what a reload (and lvsd -t --diff) reports.
import { afterAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { diffConfigs, loadConfig, renderPlan } from '../../src/config/index.js';
import { tempTree } from '../helpers/paths.js';

const vs = (ip: string, body: string) => `virtual_server ${ip} 80 {\n  lvs_sched rr\n${body}\n}\n`;
const rs = (ip: string, weight: number, check = '') => `  real_server ${ip} 80 {\n    weight ${weight}\n${check}  }\n`;

const tree = tempTree({
  'a.conf': vs('192.0.2.1', rs('198.51.100.1', 1) + rs('198.51.100.2', 1)) + vs('192.0.2.2', rs('198.51.100.9', 1)) + 'vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 5\n  priority 100\n}\n',
  'b.conf':
    vs('192.0.2.1', rs('198.51.100.1', 3) + rs('198.51.100.3', 1, '    TCP_CHECK {\n    }\n')).replace('lvs_sched rr', 'lvs_sched wrr') +
    vs('192.0.2.3', rs('198.51.100.7', 2)) +
    'vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 5\n  priority 150\n}\n',
});
afterAll(() => tree.cleanup());

function load(name: string) {
  const r = loadConfig(join(tree.dir, name), { configId: 't' });
  if (!r.config) throw new Error(JSON.stringify(r.diagnostics.errors));
  return r.config;
}

describe('diffConfigs', () => {
  it('lists additions, removals and changed keywords, one line each', () => {
    expect(renderPlan(diffConfigs(load('a.conf'), load('b.conf')))).toEqual([
      '-vs TCP 192.0.2.2:80',
      '~lvs_sched TCP 192.0.2.1:80 rr->wrr',
      '-rs TCP 192.0.2.1:80 198.51.100.2:80',
      '~weight TCP 192.0.2.1:80 198.51.100.1:80 1->3',
      '+rs TCP 192.0.2.1:80 198.51.100.3:80',
      '+vs TCP 192.0.2.3:80',
      '+rs TCP 192.0.2.3:80 198.51.100.7:80',
      '~priority vrrp VI_1 100->150',
    ]);
  });

  it('is empty between a configuration and itself', () => {
    expect(diffConfigs(load('a.conf'), load('a.conf'))).toEqual([]);
  });

  it('reverses: b -> a undoes a -> b', () => {
    const back = renderPlan(diffConfigs(load('b.conf'), load('a.conf')));
    expect(back).toContain('~weight TCP 192.0.2.1:80 198.51.100.1:80 3->1');
    expect(back).toContain('-rs TCP 192.0.2.1:80 198.51.100.3:80');
    expect(back).toContain('+vs TCP 192.0.2.2:80');
  });
});

describe('diffConfigs on real servers in another order', () => {
  const servers = (order: number[], weights: Record<number, number> = {}) => order.map((i) => rs(`198.51.100.${i}`, weights[i] ?? 1)).join('');
  const t2 = tempTree({
    'in-order.conf': vs('192.0.2.1', servers([1, 2, 3])),
    'reweighted.conf': vs('192.0.2.1', servers([1, 2, 3], { 2: 4 })),
    'shuffled.conf': vs('192.0.2.1', servers([3, 1, 2])),
    'shuffled-reweighted.conf': vs('192.0.2.1', servers([3, 1, 2], { 2: 4 })),
  });
  afterAll(() => t2.cleanup());
  const loadIn = (name: string) => {
    const r = loadConfig(join(t2.dir, name), { configId: 't' });
    if (!r.config) throw new Error(JSON.stringify(r.diagnostics.errors));
    return r.config;
  };

  it('a new order alone is no change', () => {
    expect(diffConfigs(loadIn('in-order.conf'), loadIn('shuffled.conf'))).toEqual([]);
  });

  it('the same weight change is found whether the servers are paired by place or by address', () => {
    const byPlace = renderPlan(diffConfigs(loadIn('in-order.conf'), loadIn('reweighted.conf')));
    const byAddress = renderPlan(diffConfigs(loadIn('in-order.conf'), loadIn('shuffled-reweighted.conf')));
    expect(byPlace).toEqual(['~weight TCP 192.0.2.1:80 198.51.100.2:80 1->4']);
    expect(byAddress).toEqual(byPlace);
  });
});

describe('diffConfigs sees every real server field', () => {
  // One field changed per real server, each a different keyword: none may be skipped as "same".
  const edits: Array<[string, string, string]> = [
    ['weight 1', 'weight 2', '~weight TCP 192.0.2.1:80 198.51.100.1:80 1->2'],
    ['uthreshold 0', 'uthreshold 9', '~uthreshold TCP 192.0.2.1:80 198.51.100.2:80 0->9'],
    ['inhibit_on_failure off', 'inhibit_on_failure on', '~inhibit_on_failure TCP 192.0.2.1:80 198.51.100.3:80 false->true'],
    ['lvs_method NAT', 'lvs_method DR', '~lvs_method TCP 192.0.2.1:80 198.51.100.4:80 NAT->DR'],
    ['delay_loop 5', 'delay_loop 7', '~delay_loop TCP 192.0.2.1:80 198.51.100.5:80 5->7'],
  ];
  const server = (i: number, line: string) => `  real_server 198.51.100.${i + 1} 80 {\n    ${line}\n  }\n`;
  const t3 = tempTree({
    'before.conf': vs('192.0.2.1', edits.map(([a], i) => server(i, a)).join('')),
    'after.conf': vs('192.0.2.1', edits.map(([, b], i) => server(i, b)).join('')),
  });
  afterAll(() => t3.cleanup());
  const loadIn = (name: string) => {
    const r = loadConfig(join(t3.dir, name), { configId: 't' });
    if (!r.config) throw new Error(JSON.stringify(r.diagnostics.errors));
    return r.config;
  };

  it('one plan line per changed field, in server order', () => {
    expect(renderPlan(diffConfigs(loadIn('before.conf'), loadIn('after.conf')))).toEqual(edits.map(([, , line]) => line));
  });
});
