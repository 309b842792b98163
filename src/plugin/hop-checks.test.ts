import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildNetns } from '../netstack/netns.js';
import type { Packet } from '../netstack/packet.js';
import { neighborCheck, ruleChecks } from './hop-checks.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../test/fixtures/ip/${name}`, import.meta.url), 'utf8'));

// Real `ip -j rule show` captures (test/fixtures/ip): the node has the kernel's defaults plus
// fwmark / source / prohibit rules; the variants below remove or narrow the default rules.
const nodeRules = fixture('node-rules.json') as Record<string, unknown>[];
const defaults = [
  { priority: 0, src: 'all', table: 'local' },
  { priority: 32766, src: 'all', table: 'main' },
  { priority: 32767, src: 'all', table: 'default' },
];

describe('ruleChecks', () => {
  it.each([
    { name: 'the kernel defaults only', rules: defaults, codes: [] },
    { name: 'defaults plus policy rules (a real node capture)', rules: nodeRules, codes: ['POLICY_ROUTING'] },
    {
      name: 'main rule deleted',
      rules: defaults.filter((r) => r.table !== 'main'),
      codes: ['DEFAULT_RULE_BROKEN'],
    },
    {
      name: 'main rule narrowed to one source',
      rules: defaults.map((r) => (r.table === 'main' ? { ...r, src: '10.0.0.0', srclen: 8 } : r)),
      codes: ['DEFAULT_RULE_BROKEN', 'POLICY_ROUTING'],
    },
    {
      name: 'local rule deleted',
      rules: defaults.filter((r) => r.table !== 'local'),
      codes: ['DEFAULT_RULE_BROKEN'],
    },
  ])('$name', ({ rules, codes }) => {
    const ns = buildNetns('node-1', { rules });
    expect(
      ruleChecks(ns, 'node-1')
        .map((s) => s.code)
        .sort(),
    ).toEqual([...codes].sort());
  });

  it('says nothing when the rules were not collected', () => {
    expect(ruleChecks(buildNetns('node-1', {}), 'node-1')).toEqual([]);
  });
});

describe('neighborCheck', () => {
  const packet = (dst: string): Packet => ({
    family: 4,
    protocol: 'tcp',
    src: '10.244.1.2',
    dst,
    sport: 40000,
    dport: 80,
    mark: 0,
    tcpFlags: ['SYN'],
  });
  const addresses = [
    {
      ifindex: 1,
      ifname: 'lo',
      flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
      mtu: 65536,
      operstate: 'UNKNOWN',
      link_type: 'loopback',
      addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }],
    },
    {
      ifindex: 2,
      ifname: 'eth0',
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      mtu: 1500,
      operstate: 'UP',
      link_type: 'ether',
      address: '02:00:00:00:00:01',
      addr_info: [{ family: 'inet', local: '192.168.50.11', prefixlen: 24, scope: 'global' }],
    },
  ];
  const routes = [
    {
      type: 'unicast',
      dst: 'default',
      gateway: '192.168.50.1',
      dev: 'eth0',
      table: 'main',
      protocol: 'boot',
      scope: 'global',
      flags: [],
    },
    {
      type: 'unicast',
      dst: '192.168.50.0/24',
      dev: 'eth0',
      table: 'main',
      protocol: 'kernel',
      scope: 'link',
      prefsrc: '192.168.50.11',
      flags: [],
    },
  ];
  it.each([
    {
      name: 'gateway FAILED',
      neighbors: [{ dst: '192.168.50.1', dev: 'eth0', state: ['FAILED'] }],
      dst: '8.8.8.8',
      codes: ['NEIGH_FAILED'],
    },
    {
      name: 'direct neighbour INCOMPLETE',
      neighbors: [{ dst: '192.168.50.12', dev: 'eth0', state: ['INCOMPLETE'] }],
      dst: '192.168.50.12',
      codes: ['NEIGH_FAILED'],
    },
    {
      name: 'gateway REACHABLE',
      neighbors: [{ dst: '192.168.50.1', dev: 'eth0', lladdr: '02:00:00:00:00:fe', state: ['REACHABLE'] }],
      dst: '8.8.8.8',
      codes: [],
    },
    {
      name: 'another neighbour FAILED',
      neighbors: [{ dst: '192.168.50.99', dev: 'eth0', state: ['FAILED'] }],
      dst: '8.8.8.8',
      codes: [],
    },
  ])('$name', ({ neighbors, dst, codes }) => {
    const ns = buildNetns('node-1', { addresses, routes, neighbors });
    expect(neighborCheck(ns, 'node-1', packet(dst)).map((s) => s.code)).toEqual(codes);
  });
});
