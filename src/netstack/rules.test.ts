import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NetstackParseError } from './parse-error.js';
import { formatRule, parseIpProto, parseRules, type Rule } from './rules.js';

// `ip -j rule show` / `ip -6 -j rule show` and their text forms, captured on this machine from the
// fx1-policy and fx1-node namespaces built by test/fixtures/ip/capture.py.
const read = (name: string): string =>
  readFileSync(new URL(`../../test/fixtures/ip/${name}`, import.meta.url), 'utf8');
const json = (name: string): unknown => JSON.parse(read(name));

const policy = parseRules(json('policy-rules.json'), 4);
const policy6 = parseRules(json('policy-rules6.json'), 6);
const at = (rules: readonly Rule[], priority: number, n = 0): Rule => {
  const r = rules.filter((x) => x.priority === priority)[n];
  if (r === undefined) throw new Error(`no rule ${priority}`);
  return r;
};
const lines = (name: string): string[] =>
  read(name)
    .split('\n')
    .filter((l) => l !== '');

describe('formatRule reproduces `ip rule show`', () => {
  it.each([
    { name: 'IPv4 policy rules', rules: policy, text: 'policy-rules.txt' },
    { name: 'IPv6 policy rules', rules: policy6, text: 'policy-rules6.txt' },
    { name: 'node rules', rules: parseRules(json('node-rules.json'), 4), text: 'node-rules.txt' },
    { name: 'node IPv6 rules', rules: parseRules(json('node-rules6.json'), 6), text: 'node-rules6.txt' },
  ])('$name', ({ rules, text }) => {
    expect(rules.map(formatRule)).toEqual(lines(text).map((l) => l.trimEnd()));
  });
});

describe('parseRules on the fx1-policy capture', () => {
  it.each([
    {
      name: 'default local rule',
      rule: at(policy, 0),
      want: { action: 'lookup', table: 'local', not: false },
    },
    { name: 'l3mdev rule', rule: at(policy, 50), want: { action: 'lookup', l3mdev: true } },
    { name: 'detached iif', rule: at(policy, 60), want: { iif: 'nosuch', iifDetached: true, table: '20' } },
    {
      name: 'blackhole to a prefix',
      rule: at(policy, 90),
      want: { action: 'blackhole', dst: { family: 4, address: '10.30.0.0', length: 16 } },
    },
    { name: 'unreachable action', rule: at(policy, 91), want: { action: 'unreachable' } },
    { name: 'prohibit action', rule: at(policy, 92), want: { action: 'prohibit' } },
    {
      name: 'fwmark with mask',
      rule: at(policy, 100),
      want: { fwmark: 0x4000, fwmask: 0xc000, table: '10' },
    },
    {
      name: 'fwmark without mask means all bits',
      rule: at(policy, 110),
      want: { fwmark: 0x10, fwmask: 0xffffffff },
    },
    {
      name: 'from and to prefixes',
      rule: at(policy, 120),
      want: { src: { address: '10.0.0.0', length: 24 }, dst: { address: '10.20.0.0', length: 16 } },
    },
    { name: 'oif', rule: at(policy, 150), want: { oif: 'eth1', table: '30' } },
    {
      name: 'ipproto and single dport',
      rule: at(policy, 160),
      want: { ipproto: 6, dport: { start: 443, end: 443 } },
    },
    {
      name: 'ipproto and sport range',
      rule: at(policy, 165),
      want: { ipproto: 17, sport: { start: 5000, end: 6000 } },
    },
    { name: 'tos', rule: at(policy, 170), want: { tos: 0x10, table: '50' } },
    { name: 'uidrange', rule: at(policy, 180), want: { uidrange: { start: 1000, end: 2000 } } },
    { name: 'goto', rule: at(policy, 190), want: { action: 'goto', gotoPriority: 300 } },
    {
      name: 'suppress_prefixlength',
      rule: at(policy, 200),
      want: { table: 'main', suppressPrefixlength: 0 },
    },
    { name: 'suppress_ifgroup', rule: at(policy, 205), want: { table: '80', suppressIfgroup: '5' } },
    { name: 'nop', rule: at(policy, 210), want: { action: 'nop' } },
    { name: 'iif lo', rule: at(policy, 220), want: { iif: 'lo', table: '70' } },
    {
      name: 'unresolved goto',
      rule: at(policy, 230),
      want: { action: 'goto', gotoPriority: 400, unresolved: true },
    },
    { name: 'rule protocol', rule: at(policy, 240), want: { protocol: 'static' } },
    {
      name: 'host source without srclen',
      rule: at(policy, 310),
      want: { src: { address: '10.0.0.9', length: 32 } },
    },
    { name: 'realms', rule: at(policy, 315), want: { realms: '3' } },
    { name: 'not from', rule: at(policy, 320), want: { not: true, src: { address: '10.0.0.0', length: 8 } } },
  ])('$name', ({ rule, want }) => {
    expect(rule).toMatchObject(want);
  });

  it('keeps rules of equal priority in dump order (the order the kernel evaluates them)', () => {
    expect([at(policy, 300, 0).table, at(policy, 300, 1).table]).toEqual(['20', '30']);
  });

  it('reads IPv6 rules', () => {
    expect(at(policy6, 120)).toMatchObject({
      family: 6,
      src: { family: 6, address: 'fd00:a::', length: 64 },
      dst: { family: 6, address: 'fd00:20::', length: 48 },
    });
    expect(at(policy6, 130)).toMatchObject({
      not: true,
      dst: { address: 'fd00::', length: 16 },
      table: '10',
    });
  });

  it('sorts rules by priority', () => {
    const r = parseRules(
      [
        { priority: 32766, src: 'all', table: 'main' },
        { priority: 5, src: 'all', table: '5' },
      ],
      4,
    );
    expect(r.map((x) => x.priority)).toEqual([5, 32766]);
  });
});

describe('parseIpProto', () => {
  it.each([
    { text: 'tcp', want: 6 },
    { text: 'udp', want: 17 },
    { text: 'ipv6-icmp', want: 58 },
    { text: 'gre', want: 47 },
    { text: 'ipencap', want: 4 },
    { text: 'ipproto-200', want: 200 },
    { text: '99', want: 99 },
    { text: 'warp', want: undefined },
  ])('$text → $want', ({ text, want }) => {
    expect(parseIpProto(text)).toBe(want);
  });
});

describe('parseRules errors', () => {
  it.each([
    { name: 'not an array', raw: 'rules', message: /expected the JSON array/ },
    { name: 'missing priority', raw: [{ src: 'all', table: 'main' }], message: /entry 0: bad "priority"/ },
    { name: 'bad fwmark', raw: [{ priority: 1, fwmark: 'x10', table: '1' }], message: /bad "fwmark"/ },
    {
      name: 'bad source',
      raw: [{ priority: 1, src: '10.0.0.0', srclen: 40, table: '1' }],
      message: /bad "src"/,
    },
    {
      name: 'unknown ipproto',
      raw: [{ priority: 1, ipproto: 'warp', table: '1' }],
      message: /bad "ipproto" "warp"/,
    },
    { name: 'lookup without table', raw: [{ priority: 1, src: 'all' }], message: /lookup without "table"/ },
    {
      name: 'unknown action',
      raw: [{ priority: 1, action: 'teleport' }],
      message: /bad "action" "teleport"/,
    },
  ])('rejects $name', ({ raw, message }) => {
    expect(() => parseRules(raw, 4)).toThrow(NetstackParseError);
    expect(() => parseRules(raw, 4)).toThrow(message);
  });

  it('names the rules6 field for IPv6 and rejects an IPv4 prefix there', () => {
    expect(() => parseRules([{ priority: 1, src: '10.0.0.0', srclen: 8, table: '1' }], 6)).toThrow(
      /^rules6: entry 0: bad "src"/,
    );
  });
});
