import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIptablesSave, type RuleSet } from './iptables-parse.js';
import { NetstackParseError } from './parse-error.js';
import type { Match } from './netfilter-match.js';
import type { Rule } from './netfilter-ruleset.js';
import { generateKubeProxySave } from '../../bench/gen-kube-proxy.js';

// Fixtures: test/fixtures/iptables/*.rules were loaded with iptables-restore (nf_tables backend,
// iptables v1.8.9) into throwaway network namespaces and dumped with iptables-save / ip6tables-save
// by test/fixtures/iptables/capture.sh, which also checks every dump with `iptables-restore --test`.
const dir = new URL('../../test/fixtures/iptables/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, dir), 'utf8');
const parse = (name: string): RuleSet =>
  parseIptablesSave(
    fixture(name),
    name.includes('ip6') || name.includes('6.rules') ? 'ip6tables' : 'iptables',
  );

function rule(rs: RuleSet, table: string, chain: string, index: number): Rule {
  const r = rs.tables.get(table)?.chains.get(chain)?.rules[index - 1];
  if (r === undefined) throw new Error(`no rule ${table}/${chain}#${index}`);
  return r;
}

function find(rs: RuleSet, table: string, chain: string, needle: string): Rule {
  const r = rs.tables
    .get(table)
    ?.chains.get(chain)
    ?.rules.find((x) => x.text.includes(needle));
  if (r === undefined) throw new Error(`no rule with ${needle}`);
  return r;
}

function only<K extends Match['kind']>(r: Rule, kind: K): Extract<Match, { kind: K }> {
  const ms = r.matches.filter((m): m is Extract<Match, { kind: K }> => m.kind === kind);
  expect(ms).toHaveLength(1);
  return ms[0] as Extract<Match, { kind: K }>;
}

function allRules(rs: RuleSet): Rule[] {
  return [...rs.tables.values()].flatMap((t) => [...t.chains.values()].flatMap((c) => [...c.rules]));
}

/** The dump rebuilt from the parse: tables, chain declarations and rule texts, comments dropped. */
function rebuild(rs: RuleSet, counters: boolean): string {
  const out: string[] = [];
  for (const t of rs.tables.values()) {
    out.push(`*${t.name}`);
    for (const c of t.chains.values()) out.push(`:${c.name} ${c.policy ?? '-'} [${c.packets}:${c.bytes}]`);
    for (const c of t.chains.values())
      for (const r of c.rules) out.push(counters ? `[0:0] ${r.text}` : r.text);
    out.push('COMMIT');
  }
  return out.join('\n');
}

describe('parseIptablesSave on captured dumps', () => {
  it.each([
    { name: 'kube-proxy.iptables-save', family: 4, tables: ['filter', 'nat'], chains: 42, rules: 83 },
    {
      name: 'calico.iptables-save',
      family: 4,
      tables: ['mangle', 'raw', 'filter', 'nat'],
      chains: 44,
      rules: 80,
    },
    { name: 'docker.iptables-save', family: 4, tables: ['filter', 'nat'], chains: 12, rules: 18 },
    { name: 'docker.counters.iptables-save', family: 4, tables: ['filter', 'nat'], chains: 12, rules: 18 },
    {
      name: 'modules.iptables-save',
      family: 4,
      tables: ['mangle', 'raw', 'filter', 'nat'],
      chains: 16,
      rules: 87,
    },
    { name: 'kube-proxy.ip6tables-save', family: 6, tables: ['filter', 'nat'], chains: 16, rules: 23 },
    { name: 'modules.ip6tables-save', family: 6, tables: ['raw', 'filter', 'nat'], chains: 9, rules: 17 },
  ])('$name: tables, chains and rule counts', ({ name, family, tables, chains, rules }) => {
    const rs = parse(name);
    expect(rs.family).toBe(family);
    expect([...rs.tables.keys()]).toEqual(tables);
    expect([...rs.tables.values()].reduce((n, t) => n + t.chains.size, 0)).toBe(chains);
    expect(rs.ruleCount).toBe(rules);
    expect(allRules(rs)).toHaveLength(rules);
  });

  it.each([
    { name: 'kube-proxy.iptables-save' },
    { name: 'calico.iptables-save' },
    { name: 'docker.iptables-save' },
    { name: 'modules.iptables-save' },
    { name: 'kube-proxy.ip6tables-save' },
    { name: 'modules.ip6tables-save' },
    { name: 'docker.counters.iptables-save' },
  ])(
    '$name: the parse rebuilds the dump, and every rule is exactly its match and target texts',
    ({ name }) => {
      const text = fixture(name);
      const rs = parse(name);
      const counters = name.includes('counters');
      const expected = text
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .join('\n');
      expect(rebuild(rs, counters)).toBe(expected);
      for (const r of allRules(rs)) {
        expect(
          ['-A', r.chain, ...r.matches.map((m) => m.text), r.target.text].filter((x) => x !== '').join(' '),
        ).toBe(r.text);
      }
    },
  );

  it('keeps the line numbers and positions of rules and policies', () => {
    const rs = parse('docker.iptables-save');
    const fwd = rs.tables.get('filter')?.chains.get('FORWARD');
    expect(fwd?.policy).toBe('DROP');
    expect(fwd?.policyRef).toEqual({
      kind: 'policy',
      table: 'filter',
      chain: 'FORWARD',
      policy: 'DROP',
      line: 4,
    });
    const r = rule(rs, 'filter', 'FORWARD', 3);
    expect({ index: r.index, line: r.line, text: r.text }).toEqual({
      index: 3,
      line: 12,
      text: '-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    });
    expect(rs.tables.get('filter')?.chains.get('DOCKER')?.builtin).toBe(false);
    expect(rs.tables.get('filter')?.chains.get('DOCKER')?.policy).toBeUndefined();
  });

  it('reads chain counters of `iptables-save -c`', () => {
    const rs = parse('docker.counters.iptables-save');
    const input = rs.tables.get('filter')?.chains.get('INPUT');
    expect([input?.packets, input?.bytes]).toEqual([4, 336]);
    expect(rule(rs, 'nat', 'DOCKER', 2).text).toBe(
      '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80',
    );
  });

  it('compiles a kube-proxy service rule (iptables-save order)', () => {
    const rs = parse('kube-proxy.iptables-save');
    const r = find(rs, 'nat', 'KUBE-SERVICES', 'default/web:http cluster IP');
    expect(r.text).toBe(
      '-A KUBE-SERVICES -d 10.96.100.10/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-CDGGSHYLG3RE2FKL',
    );
    expect(r.matches.map((m) => m.kind)).toEqual(['addr', 'proto', 'comment', 'ports']);
    expect(only(r, 'comment').comment).toBe('default/web:http cluster IP');
    expect(only(r, 'addr')).toMatchObject({
      dir: 'dst',
      negated: false,
      nets: [{ family: 4, a0: (10 << 24) | (96 << 16) | (100 << 8) | 10, m0: -1, host: true }],
    });
    expect(only(r, 'ports')).toMatchObject({
      module: 'tcp',
      dport: { value: [80, 80], negated: false },
      sport: undefined,
    });
    expect(r.target).toEqual({
      kind: 'jump',
      chain: 'KUBE-SVC-CDGGSHYLG3RE2FKL',
      goto: false,
      text: '-j KUBE-SVC-CDGGSHYLG3RE2FKL',
    });
  });

  it.each([
    { name: 'first endpoint', needle: '10.244.1.5:8080', probability: 715827883 / 2 ** 31 },
    { name: 'second endpoint', needle: '10.244.1.7:8080', probability: 0.5 },
  ])(
    'compiles the statistic match of the $name (31-bit probability as the kernel keeps it)',
    ({ needle, probability }) => {
      const r = find(parse('kube-proxy.iptables-save'), 'nat', 'KUBE-SVC-CDGGSHYLG3RE2FKL', needle);
      expect(only(r, 'statistic')).toMatchObject({ mode: 'random', negated: false, probability });
    },
  );

  it.each([
    {
      name: 'DNAT to an endpoint',
      table: 'nat',
      chain: 'KUBE-SEP-AFGSLHOD2HFNCBX4',
      index: 2,
      target: { kind: 'nat', nat: 'dnat', addr: '10.244.1.5', ports: [8080, 8080], note: undefined },
    },
    {
      name: 'KUBE-MARK-MASQ as an ordinary user chain',
      table: 'nat',
      chain: 'KUBE-SEP-AFGSLHOD2HFNCBX4',
      index: 1,
      target: { kind: 'jump', chain: 'KUBE-MARK-MASQ', goto: false },
    },
    {
      name: '--or-mark saved as --set-xmark',
      table: 'nat',
      chain: 'KUBE-MARK-MASQ',
      index: 1,
      target: { kind: 'mark', value: 0x4000, mask: 0x4000 },
    },
    {
      name: '--xor-mark saved as --set-xmark v/0',
      table: 'nat',
      chain: 'KUBE-POSTROUTING',
      index: 2,
      target: { kind: 'mark', value: 0x4000, mask: 0 },
    },
    {
      name: 'MASQUERADE --random-fully',
      table: 'nat',
      chain: 'KUBE-POSTROUTING',
      index: 3,
      target: { kind: 'nat', nat: 'masquerade', addr: undefined, ports: undefined },
    },
    {
      name: 'REJECT default',
      table: 'filter',
      chain: 'KUBE-SERVICES',
      index: 1,
      target: { kind: 'reject', with: 'icmp-port-unreachable' },
    },
    {
      name: 'counting rule without a target',
      table: 'nat',
      chain: 'KUBE-FW-JSLCNGWSGB5JPS5Q',
      index: 2,
      target: { kind: 'none', text: '' },
    },
  ])('compiles targets: $name', ({ table, chain, index, target }) => {
    expect(rule(parse('kube-proxy.iptables-save'), table, chain, index).target).toMatchObject(target);
  });

  it('compiles the kube-proxy KUBE-FIREWALL rule with its negations', () => {
    const r = rule(parse('kube-proxy.iptables-save'), 'filter', 'KUBE-FIREWALL', 1);
    expect(r.text).toBe(
      '-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    );
    const [src, dst] = r.matches;
    expect(src).toMatchObject({ kind: 'addr', dir: 'src', negated: true });
    expect(dst).toMatchObject({ kind: 'addr', dir: 'dst', negated: false });
    expect(only(r, 'conntrack').state).toEqual({ value: 2 | 4 | 64, negated: true });
  });

  it.each([
    {
      name: 'goto',
      chain: 'cali-INPUT',
      needle: '-g cali-wl-to-host',
      check: (r: Rule) =>
        expect(r.target).toMatchObject({ kind: 'jump', chain: 'cali-wl-to-host', goto: true }),
    },
    {
      name: 'two set matches, one negated',
      chain: '',
      needle: '',
      check: () => {
        const r = rule(parse('calico.iptables-save'), 'nat', 'cali-nat-outgoing', 1);
        expect(r.matches.filter((m) => m.kind === 'set')).toEqual([
          {
            kind: 'set',
            negated: false,
            name: 'cali40masq-ipam-pools',
            flags: ['src'],
            returnNomatch: false,
            text: '-m set --match-set cali40masq-ipam-pools src',
          },
          {
            kind: 'set',
            negated: true,
            name: 'cali40all-ipam-pools',
            flags: ['dst'],
            returnNomatch: false,
            text: '-m set ! --match-set cali40all-ipam-pools dst',
          },
        ]);
      },
    },
    {
      name: 'two addrtype matches in one rule',
      chain: '',
      needle: '',
      check: () => {
        const r = find(parse('calico.iptables-save'), 'nat', 'cali-POSTROUTING', 'tunl0');
        expect(r.matches.filter((m) => m.kind === 'addrtype')).toMatchObject([
          { src: { value: ['LOCAL'], negated: true }, limitOut: true },
          { src: { value: ['LOCAL'], negated: false }, limitOut: false },
        ]);
      },
    },
    {
      name: 'interface wildcard',
      chain: 'cali-FORWARD',
      needle: '-i cali+',
      check: (r: Rule) => expect(only(r, 'iface').iface).toEqual({ name: 'cali', wildcard: true }),
    },
    {
      name: 'protocol by name (ipencap = 4)',
      chain: 'cali-INPUT',
      needle: 'non-Calico',
      check: (r: Rule) => expect(only(r, 'proto').proto).toBe(4),
    },
    {
      name: 'multiport',
      chain: 'cali-pi-_deny-web',
      needle: 'multiport',
      check: (r: Rule) =>
        expect(only(r, 'multiport')).toMatchObject({
          which: 'dst',
          ranges: [
            [8080, 8080],
            [9000, 9100],
          ],
        }),
    },
  ])('compiles calico rules: $name', ({ chain, needle, check }) => {
    if (chain === '') check(undefined as unknown as Rule);
    else check(find(parse('calico.iptables-save'), 'filter', chain, needle));
  });

  it('compiles the raw-table rpfilter rule of calico', () => {
    const r = find(parse('calico.iptables-save'), 'raw', 'cali-PREROUTING', 'rpfilter');
    expect(only(r, 'rpfilter')).toMatchObject({
      validMark: true,
      invert: true,
      loose: false,
      acceptLocal: false,
    });
  });

  it.each([
    { needle: '--icmp-type 8 ', expect: { kind: 'icmp', type: 8, codeMin: 0, codeMax: 255 } },
    { needle: '--icmp-type 3/4', expect: { kind: 'icmp', type: 3, codeMin: 4, codeMax: 4 } },
    { needle: '--icmp-type any', expect: { kind: 'icmp', type: 255 } },
    {
      needle: '-s 10.0.0.0/255.0.255.0',
      expect: { kind: 'addr', nets: [{ a0: 10 << 24, m0: (255 << 24) | (255 << 8), host: false }] },
    },
    {
      needle: '--tcp-flags SYN,ACK SYN',
      expect: { kind: 'ports', tcpFlags: { value: { mask: 2 | 16, comp: 2 }, negated: false } },
    },
    {
      needle: '! --tcp-flags FIN,SYN,RST,ACK SYN',
      expect: { kind: 'ports', tcpFlags: { value: { mask: 1 | 2 | 4 | 16, comp: 2 }, negated: true } },
    },
    {
      needle: '--dport 1000:65535',
      expect: { kind: 'ports', dport: { value: [1000, 65535], negated: false } },
    },
    { needle: '--sport 0:1000', expect: { kind: 'ports', sport: { value: [0, 1000], negated: false } } },
    {
      needle: '--ctstatus ASSURED',
      expect: {
        kind: 'conntrack',
        state: { value: 6, negated: false },
        status: { value: 4, negated: false },
      },
    },
    { needle: '--state NEW', expect: { kind: 'state', state: 8, negated: false } },
    { needle: '--src-range', expect: { kind: 'iprange', src: { negated: false }, dst: { negated: true } } },
    { needle: '--mac-source', expect: { kind: 'mac', mac: 'aa:bb:cc:dd:ee:ff' } },
    { needle: '--pkt-type broadcast', expect: { kind: 'pkttype', type: 'broadcast' } },
    { needle: '--length 100:200', expect: { kind: 'length', range: [100, 200] } },
    { needle: '--ttl-gt 5', expect: { kind: 'ttl', op: 'gt', value: 5 } },
    {
      needle: '--mode nth',
      expect: { kind: 'statistic', mode: 'nth', every: 3, packet: 1, probability: 1 / 3 },
    },
    { needle: '! --probability', expect: { kind: 'statistic', mode: 'random', negated: true } },
    {
      needle: 'connmark ! --mark 0x1',
      expect: { kind: 'connmark', negated: true, value: 1, mask: 0xffffffff },
    },
    { needle: '--limit 5/min', expect: { kind: 'assumed', module: 'limit', result: true } },
    {
      needle: '--physdev-in veth+',
      expect: {
        kind: 'physdev',
        physIn: { value: { name: 'veth', wildcard: true }, negated: false },
        isBridged: { negated: false },
      },
    },
    { needle: '-f -j DROP', expect: { kind: 'fragment', negated: false } },
    { needle: '! -p udp', expect: { kind: 'proto', proto: 17, negated: true } },
    { needle: '-p gre', expect: { kind: 'proto', proto: 47 } },
    { needle: '--comment "a\\"b c"', expect: { kind: 'comment', comment: 'a"b c' } },
  ])('compiles filter matches: $needle', ({ needle, expect: want }) => {
    const r = find(parse('modules.iptables-save'), 'filter', 'INPUT', needle);
    const m =
      r.matches.find((x) => x.kind === want.kind && x.kind !== 'proto') ??
      r.matches.find((x) => x.kind === want.kind);
    expect(m).toMatchObject(want);
  });

  it.each([
    { needle: '--restore-mark', target: { kind: 'connmark', mode: 'restore', nfmask: 0xff, ctmask: 0xff } },
    {
      needle: '--save-mark',
      target: { kind: 'connmark', mode: 'save', nfmask: 0xffffffff, ctmask: 0xffffffff },
    },
    { needle: '-j TPROXY', target: { kind: 'unsupported', name: 'TPROXY' } },
    { needle: '-j NFQUEUE', target: { kind: 'unsupported', name: 'NFQUEUE' } },
    { needle: '-j TRACE', target: { kind: 'noop', name: 'TRACE' } },
    { needle: '-j CLASSIFY', target: { kind: 'noop', name: 'CLASSIFY' } },
    { needle: '-g MISC', target: { kind: 'jump', chain: 'MISC', goto: true } },
  ])('compiles mangle targets: $needle', ({ needle, target }) => {
    const rs = parse('modules.iptables-save');
    const r = allRules(rs).find((x) => x.table === 'mangle' && x.text.includes(needle));
    expect(r?.target).toMatchObject(target);
  });

  it.each([
    { needle: 'CT --notrack', target: { kind: 'notrack' } },
    { needle: '-j NOTRACK', target: { kind: 'notrack' } },
    {
      needle: 'REDIRECT --to-ports 8080-8090',
      target: {
        kind: 'nat',
        nat: 'redirect',
        ports: [8080, 8090],
        note: 'port range 8080-8090: the first port is assumed',
      },
    },
    {
      needle: '10.1.0.1-10.1.0.3:8000-8010',
      target: { kind: 'nat', nat: 'dnat', addr: '10.1.0.1', ports: [8000, 8010] },
    },
    {
      needle: 'NETMAP',
      target: { kind: 'nat', nat: 'netmap', netmap: { a0: (10 << 24) | (100 << 16), m0: -256 } },
    },
    {
      needle: '--to-source 1.2.3.9',
      target: { kind: 'nat', nat: 'snat', addr: '1.2.3.9', ports: undefined, note: undefined },
    },
    {
      needle: '--to-source 10.9.9.9:99',
      target: { kind: 'nat', nat: 'snat', addr: '10.9.9.9', ports: [99, 99] },
    },
    {
      needle: 'MASQUERADE --to-ports 2000-3000',
      target: { kind: 'nat', nat: 'masquerade', ports: [2000, 3000] },
    },
  ])('compiles raw and nat targets: $needle', ({ needle, target }) => {
    const r = allRules(parse('modules.iptables-save')).find((x) => x.text.includes(needle));
    expect(r?.target).toMatchObject(target);
  });

  it('keeps every module skoop does not simulate as an unsupported marker, never dropped', () => {
    const rs = parse('modules.iptables-save');
    const markers = allRules(rs).flatMap((r) =>
      r.matches.filter((m) => m.kind === 'unsupported').map((m) => [r.chain, m.module, m.text]),
    );
    expect(markers).toEqual([
      ['PREROUTING', 'devgroup', '-m devgroup --src-group 0x1'],
      ['MISC', 'string', '-m string --string "GET /" --algo bm'],
      ['MISC', 'time', '-m time --timestart 10:00:00 --timestop 23:59:59 --datestop 2038-01-19T03:14:07'],
      ['MISC', 'helper', '-m helper --helper ftp'],
      ['MISC', 'recent', '-m recent --rcheck --name x --mask 255.255.255.255 --rsource'],
      ['MISC', 'connlimit', '-m connlimit --connlimit-above 5 --connlimit-mask 32 --connlimit-saddr'],
      ['MISC', 'tos', '-m tos --tos 0x10/0xff'],
      ['MISC', 'dscp', '-m dscp --dscp 0x0a'],
      ['MISC', 'bpf', '-m bpf --bytecode "4,48 0 0 9,21 0 1 6,6 0 0 1,6 0 0 0"'],
      ['MISC', 'u32', '-m u32 --u32 "0x0>>0x16&0x3c@0x4=0x29"'],
    ]);
  });

  it.each([
    { needle: '--icmpv6-type 128', expect: { kind: 'icmp', family: 6, type: 128 } },
    { needle: '--icmpv6-type 1/3', expect: { kind: 'icmp', family: 6, type: 1, codeMin: 3, codeMax: 3 } },
    { needle: '--hl-eq 255', expect: { kind: 'ttl', op: 'eq', value: 255 } },
    {
      needle: '! -d fd00::1/128',
      expect: {
        kind: 'addr',
        dir: 'src',
        negated: false,
        nets: [{ family: 6, a0: 0xfd000000 | 0, m1: -1, m2: 0, host: false }],
      },
    },
    {
      needle: '-s fd00::/ffff:ffff:0:ffff::',
      expect: { kind: 'addr', nets: [{ a0: 0xfd000000 | 0, m0: -1, m1: 0xffff | 0, m2: 0, m3: 0 }] },
    },
    { needle: '-m frag', expect: { kind: 'unsupported', module: 'frag' } },
  ])('compiles ip6tables matches: $needle', ({ needle, expect: want }) => {
    const r = find(parse('modules.ip6tables-save'), 'filter', 'INPUT', needle);
    expect(r.matches.find((x) => x.kind === want.kind)).toMatchObject(want);
  });

  it('compiles a negated IPv6 host destination', () => {
    const r = find(parse('modules.ip6tables-save'), 'filter', 'INPUT', '! -d fd00::1/128');
    expect(r.matches[1]).toMatchObject({
      kind: 'addr',
      dir: 'dst',
      negated: true,
      nets: [{ family: 6, a0: 0xfd000000 | 0, a1: 0, a2: 0, a3: 1, host: true }],
    });
  });

  it.each([
    { needle: '[fd00::2]:80', target: { kind: 'nat', nat: 'dnat', addr: 'fd00::2', ports: [80, 80] } },
    { needle: 'fd00::3', target: { kind: 'nat', nat: 'dnat', addr: 'fd00::3', ports: undefined } },
  ])('compiles ip6tables DNAT $needle', ({ needle, target }) => {
    expect(find(parse('modules.ip6tables-save'), 'nat', 'PREROUTING', needle).target).toMatchObject(target);
  });

  it.each([
    { name: 'kube-proxy', input: 'kube-proxy.rules', saved: 'kube-proxy.iptables-save' },
    { name: 'calico', input: 'calico.rules', saved: 'calico.iptables-save' },
    { name: 'docker', input: 'docker.rules', saved: 'docker.iptables-save' },
    { name: 'kube-proxy IPv6', input: 'kube-proxy6.rules', saved: 'kube-proxy.ip6tables-save' },
    { name: 'IPv6 modules', input: 'modules6.rules', saved: 'modules.ip6tables-save' },
  ])(
    '$name: the restore input (kube-proxy option order, implicit modules, names) compiles like the normalized dump',
    ({ input, saved }) => {
      const a = parse(input);
      const b = parse(saved);
      const norm = (r: Rule): string =>
        [...r.matches.map((m) => JSON.stringify(m, (k, v: unknown) => (k === 'text' ? undefined : v)))]
          .sort()
          .join('|') + JSON.stringify(r.target, (k, v: unknown) => (k === 'text' ? undefined : v));
      for (const [tn, t] of a.tables) {
        for (const [cn, c] of t.chains) {
          expect(c.rules.map(norm)).toEqual(b.tables.get(tn)?.chains.get(cn)?.rules.map(norm));
        }
      }
    },
  );
});

const wrap = (lines: string): string =>
  `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:FOO - [0:0]\n${lines}\nCOMMIT\n`;

describe('parseIptablesSave option handling', () => {
  it.each([
    {
      name: 'kube-proxy order: option after -p/-d goes back to its module (header matches come first)',
      line: '-A INPUT -m comment --comment "x y" -m tcp -p tcp -d 10.0.0.1/32 --dport 443 -j ACCEPT',
      kinds: ['proto', 'addr', 'comment', 'ports'],
      texts: ['-p tcp', '-d 10.0.0.1/32', '-m comment --comment "x y"', '-m tcp --dport 443'],
    },
    {
      name: 'implicit module from -p',
      line: '-A INPUT -p udp --dport 53 -j ACCEPT',
      kinds: ['proto', 'ports'],
      texts: ['-p udp', '--dport 53'],
    },
    {
      name: 'same option in two modules goes to the newest',
      line: '-A INPUT -m mark --mark 0x1 -m connmark --mark 0x2 -j ACCEPT',
      kinds: ['mark', 'connmark'],
      texts: ['-m mark --mark 0x1', '-m connmark --mark 0x2'],
    },
    {
      name: 'old-style inner negation',
      line: '-A INPUT -p tcp --dport ! 80 -s ! 10.0.0.0/8 -j ACCEPT',
      kinds: ['proto', 'addr', 'ports'],
      texts: ['-p tcp', '-s ! 10.0.0.0/8', '--dport ! 80'],
    },
    {
      name: 'long option names',
      line: '--append INPUT --protocol tcp --source 10.0.0.1 --in-interface eth0 --match tcp --destination-port 22 --jump ACCEPT',
      kinds: ['proto', 'addr', 'iface', 'ports'],
      texts: [
        '--protocol tcp',
        '--source 10.0.0.1',
        '--in-interface eth0',
        '--match tcp --destination-port 22',
      ],
    },
    {
      name: 'unknown module keeps its options',
      line: '-A INPUT -m quota2 --name q --quota 10 ! --grow -j DROP',
      kinds: ['unsupported'],
      texts: ['-m quota2 --name q --quota 10 ! --grow'],
    },
    {
      name: 'option no module claims',
      line: '-A INPUT --nonsense 5 -j DROP',
      kinds: ['unsupported'],
      texts: ['--nonsense 5'],
    },
    {
      name: 'comma-separated sources in one rule',
      line: '-A INPUT -s 10.0.0.1,10.0.0.2/31 -j DROP',
      kinds: ['addr'],
      texts: ['-s 10.0.0.1,10.0.0.2/31'],
    },
  ])('$name', ({ line, kinds, texts }) => {
    const r = parseIptablesSave(wrap(line), 'iptables').tables.get('filter')?.chains.get('INPUT')?.rules[0];
    expect(r?.matches.map((m) => m.kind)).toEqual(kinds);
    expect(r?.matches.map((m) => m.text)).toEqual(texts);
  });

  it.each([
    {
      name: 'negated dport',
      line: '-A INPUT -p tcp --dport ! 80',
      want: { kind: 'ports', dport: { value: [80, 80], negated: true } },
    },
    {
      name: 'both sources',
      line: '-A INPUT -s 10.0.0.1,10.0.0.2/31',
      want: {
        kind: 'addr',
        nets: [
          { a0: (10 << 24) | 1, host: true },
          { a0: (10 << 24) | 2, m0: -2, host: false },
        ],
      },
    },
    {
      name: 'unknown module reason',
      line: '-A INPUT -m quota2 --quota 10',
      want: { kind: 'unsupported', module: 'quota2', reason: 'match module quota2 is not simulated' },
    },
    {
      name: 'named port is not resolved',
      line: '-A INPUT -p tcp --dport http',
      want: { kind: 'unsupported', module: 'tcp' },
    },
    {
      name: 'tcp option is not simulated',
      line: '-A INPUT -p tcp --tcp-option 2',
      want: { kind: 'unsupported', module: 'tcp', reason: '--tcp-option is not simulated' },
    },
    {
      name: 'hashlimit above',
      line: '-A INPUT -m hashlimit --hashlimit-above 5/sec --hashlimit-name x',
      want: { kind: 'assumed', module: 'hashlimit', result: false },
    },
    {
      name: 'policy ipsec',
      line: '-A INPUT -m policy --dir in --pol ipsec',
      want: { kind: 'assumed', module: 'policy', result: false },
    },
    {
      name: 'unknown protocol',
      line: '-A INPUT -p foo',
      want: { kind: 'unsupported', module: 'protocol', reason: 'protocol foo is unknown' },
    },
  ])('compiles $name', ({ line, want }) => {
    const r = parseIptablesSave(wrap(line), 'iptables').tables.get('filter')?.chains.get('INPUT')?.rules[0];
    expect(r?.matches.find((m) => m.kind === want.kind)).toMatchObject(want);
  });

  it.each([
    {
      name: 'jump to a declared chain',
      line: '-A INPUT -j FOO',
      target: { kind: 'jump', chain: 'FOO', goto: false },
    },
    { name: 'goto', line: '-A INPUT -g FOO', target: { kind: 'jump', chain: 'FOO', goto: true } },
    {
      name: 'jump to an undeclared chain',
      line: '-A INPUT -j BAR',
      target: {
        kind: 'unsupported',
        name: 'BAR',
        reason: 'target BAR is neither a chain of table filter nor a simulated extension',
      },
    },
    {
      name: 'goto an undeclared chain',
      line: '-A INPUT -g BAR',
      target: { kind: 'unsupported', name: 'BAR', reason: 'chain BAR does not exist in table filter' },
    },
    {
      name: 'unknown target keeps its options',
      line: '-A INPUT -j FOOBAR --x 1 --y',
      target: { kind: 'unsupported', name: 'FOOBAR', text: '-j FOOBAR --x 1 --y' },
    },
    {
      name: 'MARK --set-mark keeps value bits in the mask',
      line: '-A INPUT -j MARK --set-mark 0x10/0x1',
      target: { kind: 'mark', value: 0x10, mask: 0x11 },
    },
    {
      name: 'MARK --and-mark',
      line: '-A INPUT -j MARK --and-mark 0xff',
      target: { kind: 'mark', value: 0, mask: 0xffffff00 },
    },
    {
      name: 'CONNMARK --or-mark',
      line: '-A INPUT -j CONNMARK --or-mark 0x4',
      target: { kind: 'connmark', mode: 'set', value: 4, ctmask: 4 },
    },
    {
      name: 'REJECT with',
      line: '-A INPUT -j REJECT --reject-with icmp-admin-prohibited',
      target: { kind: 'reject', with: 'icmp-admin-prohibited' },
    },
    {
      name: 'LOG no-op',
      line: '-A INPUT -j LOG --log-prefix "x: " --log-level 4',
      target: { kind: 'noop', name: 'LOG' },
    },
  ])('targets: $name', ({ line, target }) => {
    const r = parseIptablesSave(wrap(line), 'iptables').tables.get('filter')?.chains.get('INPUT')?.rules[0];
    expect(r?.target).toMatchObject(target);
  });

  it('reads a malformed rule body as an unsupported marker naming the line, instead of dropping it', () => {
    const rs = parseIptablesSave(wrap('-A INPUT -s 10.0.0.300 -j DROP'), 'iptables');
    const r = rs.tables.get('filter')?.chains.get('INPUT')?.rules[0];
    expect(r?.matches).toEqual([
      {
        kind: 'unsupported',
        module: 'rule',
        reason: 'iptables, line 6: invalid address "10.0.0.300"',
        text: '-A INPUT -s 10.0.0.300 -j DROP',
      },
    ]);
    expect(r?.target.kind).toBe('unsupported');
  });

  it('applies -N, -P and -I like iptables-restore, renumbering the chain', () => {
    const text =
      '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-N BAR\n-P FORWARD DROP\n-A BAR -j RETURN\n-A BAR -s 1.1.1.1 -j DROP\n-I BAR -s 2.2.2.2 -j DROP\n-I BAR 2 -s 3.3.3.3 -j DROP\nCOMMIT\n';
    const rs = parseIptablesSave(text, 'iptables');
    const bar = rs.tables.get('filter')?.chains.get('BAR');
    expect(bar?.rules.map((r) => [r.index, r.text])).toEqual([
      [1, '-I BAR -s 2.2.2.2 -j DROP'],
      [2, '-I BAR 2 -s 3.3.3.3 -j DROP'],
      [3, '-A BAR -j RETURN'],
      [4, '-A BAR -s 1.1.1.1 -j DROP'],
    ]);
    expect(bar?.rules[1]?.matches[0]).toMatchObject({ kind: 'addr', nets: [{ a0: 0x03030303 }] });
    expect(rs.tables.get('filter')?.chains.get('FORWARD')?.policyRef).toEqual({
      kind: 'policy',
      table: 'filter',
      chain: 'FORWARD',
      policy: 'DROP',
      line: 6,
    });
  });

  it('serializes a rule as evidence without its compiled form', () => {
    const r = parseIptablesSave(wrap('-A INPUT -s 10.0.0.1 -j DROP'), 'iptables')
      .tables.get('filter')
      ?.chains.get('INPUT')?.rules[0];
    expect(JSON.parse(JSON.stringify(r))).toEqual({
      kind: 'rule',
      table: 'filter',
      chain: 'INPUT',
      index: 1,
      line: 6,
      text: '-A INPUT -s 10.0.0.1 -j DROP',
    });
  });

  it('shares identical compiled matches between rules', () => {
    const rs = parseIptablesSave(
      wrap('-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n-A FOO -p tcp -m tcp --dport 80 -j ACCEPT'),
      'iptables',
    );
    const a = rs.tables.get('filter')?.chains.get('INPUT')?.rules[0]?.matches[1];
    const b = rs.tables.get('filter')?.chains.get('FOO')?.rules[0]?.matches[1];
    expect(a).toBeDefined();
    expect(a).toBe(b);
  });

  it.each([
    { name: 'rule before a table', text: '-A INPUT -j ACCEPT\n', line: 1, msg: 'before a *table line' },
    { name: 'chain before a table', text: ':INPUT ACCEPT [0:0]\n', line: 1, msg: 'before a *table line' },
    {
      name: 'undeclared chain',
      text: '*filter\n:INPUT ACCEPT [0:0]\n-A NOPE -j ACCEPT\nCOMMIT\n',
      line: 3,
      msg: 'undeclared chain NOPE',
    },
    {
      name: 'missing COMMIT at the end',
      text: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n',
      line: 3,
      msg: 'has no COMMIT',
    },
    {
      name: 'missing COMMIT before the next table',
      text: '*filter\n:INPUT ACCEPT [0:0]\n*nat\nCOMMIT\n',
      line: 3,
      msg: 'no COMMIT before',
    },
    {
      name: 'unbalanced quotes',
      text: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment "oops -j ACCEPT\nCOMMIT\n',
      line: 3,
      msg: 'unbalanced quotes',
    },
    {
      name: 'escaped quote does not close',
      text: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment "a\\" -j ACCEPT\nCOMMIT\n',
      line: 3,
      msg: 'unbalanced quotes',
    },
    { name: 'COMMIT outside a table', text: 'COMMIT\n', line: 1, msg: 'COMMIT outside a table' },
    {
      name: 'chain declared twice',
      text: '*filter\n:INPUT ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\nCOMMIT\n',
      line: 3,
      msg: 'declared twice',
    },
    {
      name: 'policy on a user chain',
      text: '*filter\n:FOO ACCEPT [0:0]\nCOMMIT\n',
      line: 2,
      msg: 'not a built-in chain',
    },
    {
      name: 'bad policy',
      text: '*filter\n:INPUT REJECT [0:0]\nCOMMIT\n',
      line: 2,
      msg: 'unknown chain policy',
    },
    {
      name: 'bad counters',
      text: '*filter\n:INPUT ACCEPT [x:0]\nCOMMIT\n',
      line: 2,
      msg: 'malformed counters',
    },
    {
      name: 'bad rule counters',
      text: '*filter\n:INPUT ACCEPT [0:0]\n[0:x] -A INPUT -j ACCEPT\nCOMMIT\n',
      line: 3,
      msg: 'malformed [packets:bytes]',
    },
    {
      name: 'unexpected command',
      text: '*filter\n:INPUT ACCEPT [0:0]\n-D INPUT 1\nCOMMIT\n',
      line: 3,
      msg: 'command -D is not expected',
    },
    {
      name: 'garbage line',
      text: '*filter\n:INPUT ACCEPT [0:0]\nhello\nCOMMIT\n',
      line: 3,
      msg: 'unexpected line',
    },
  ])('throws NetstackParseError naming field and line: $name', ({ text, line, msg }) => {
    let err: unknown;
    try {
      parseIptablesSave(text, 'iptablesLegacy');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetstackParseError);
    expect(err).toMatchObject({ field: 'iptablesLegacy', line, code: 'NETSTACK_PARSE' });
    expect((err as Error).message).toContain(msg);
  });

  it('accepts an empty dump, CRLF line ends and tabs', () => {
    expect(parseIptablesSave('', 'iptables').tables.size).toBe(0);
    const rs = parseIptablesSave(
      '*filter\r\n:INPUT DROP [0:0]\r\n-A INPUT\t-s 10.0.0.1\t-j ACCEPT\r\nCOMMIT\r\n',
      'iptables',
    );
    const r = rs.tables.get('filter')?.chains.get('INPUT')?.rules[0];
    expect(r?.matches[0]).toMatchObject({ kind: 'addr', nets: [{ a0: (10 << 24) | 1 }] });
    expect(r?.target.kind).toBe('accept');
  });

  it('takes the family from the field or the ip6tables-save header', () => {
    expect(parseIptablesSave('', 'ip6tables').family).toBe(6);
    expect(parseIptablesSave('# Generated by ip6tables-save v1.8.9\n', 'x').family).toBe(6);
    expect(parseIptablesSave('', 'iptablesLegacy').family).toBe(4);
  });
});

describe('chain index', () => {
  it('indexes a generated kube-proxy KUBE-SERVICES chain by destination host', () => {
    const rs = parseIptablesSave(
      generateKubeProxySave({ services: 200, endpoints: 3, nodePortEvery: 20, noEndpointsEvery: 100 }),
      'iptables',
    );
    expect(rs.ruleCount).toBe(15 + 2 + 7 + 198 * 11 + 10 * 3 + 1);
    const svc = rs.tables.get('nat')?.chains.get('KUBE-SERVICES');
    expect(svc?.rules).toHaveLength(199);
    expect(svc?.index?.key).toBe('dst');
    expect(svc?.index?.others).toEqual([198]);
    expect(svc?.index?.byKey.get((10 << 24) | (96 << 16) | 1)).toEqual([0]);
    const np = rs.tables.get('nat')?.chains.get('KUBE-NODEPORTS');
    expect(np?.index).toBeUndefined();
  });

  it('indexes by destination port when most rules name one', () => {
    const lines = Array.from(
      { length: 40 },
      (_, i) => `-A FOO -p tcp -m tcp --dport ${1000 + i} -j ACCEPT`,
    ).join('\n');
    const ix = parseIptablesSave(wrap(`${lines}\n-A FOO -j DROP`), 'iptables')
      .tables.get('filter')
      ?.chains.get('FOO')?.index;
    expect(ix?.key).toBe('dport');
    expect(ix?.byKey.get(1005)).toEqual([5]);
    expect(ix?.others).toEqual([40]);
  });
});

describe('chain index from rule texts', () => {
  /** The index the compiled matches give (what parseIptablesSave documents), for comparison. */
  function compiledIndex(
    rules: readonly Rule[],
  ): { key: string; byKey: [unknown, number[]][]; others: number[] } | undefined {
    const keys = rules.map((r) => {
      let dst: unknown;
      let dport: unknown;
      for (const m of r.matches) {
        if (
          m.kind === 'addr' &&
          m.dir === 'dst' &&
          !m.negated &&
          m.nets.length === 1 &&
          m.nets[0]?.host === true
        )
          dst = m.nets[0].a0;
        else if (
          m.kind === 'ports' &&
          m.dport !== undefined &&
          !m.dport.negated &&
          m.dport.value[0] === m.dport.value[1]
        )
          dport = m.dport.value[0];
      }
      return { dst, dport };
    });
    const withDst = keys.filter((k) => k.dst !== undefined).length;
    const withPort = keys.filter((k) => k.dport !== undefined).length;
    if (Math.max(withDst, withPort) * 2 < rules.length) return undefined;
    const key = withDst >= withPort ? 'dst' : 'dport';
    const byKey = new Map<unknown, number[]>();
    const others: number[] = [];
    keys.forEach((k, pos) => {
      const v = key === 'dst' ? k.dst : k.dport;
      if (v === undefined) others.push(pos);
      else byKey.set(v, [...(byKey.get(v) ?? []), pos]);
    });
    return { key, byKey: [...byKey], others };
  }

  const restoreForm = generateKubeProxySave({
    services: 300,
    endpoints: 2,
    nodePortEvery: 10,
    noEndpointsEvery: 50,
  });
  // The same rules in the option order iptables-save prints.
  const saveForm = restoreForm.replace(
    /^(-A \S+) (-m comment --comment "[^"]*") -m (tcp|udp|sctp) -p \3 (-d \S+) (--dport \d+) /gm,
    '$1 $4 -p $3 $2 -m $3 $5 ',
  );
  // Rules of the Service form that do not compile as it suggests, or whose target is no chain.
  const odd = [
    '-A FOO -d 10.96.0.1/32 -p tcp -m comment --comment "a" -m tcp --dport 80 -j BAR',
    '-A FOO -d 10.96.0.300/32 -p tcp -m comment --comment "bad address" -m tcp --dport 80 -j BAR',
    '-A FOO -d 10.96.0.2/32 -p tcp -m comment --comment "bad port" -m tcp --dport 70000 -j BAR',
    '-A FOO -d 10.96.0.3/32 -p tcp -m comment --comment "no such chain" -m tcp --dport 80 -j NOPE',
    '-A FOO -d 10.96.0.4/32 -p udp -m comment --comment "modules differ" -m tcp --dport 80 -j BAR',
    '-A FOO -m comment --comment "b" -m udp -p udp -d 10.96.0.5/32 --dport 53 -j DROP',
    '-A FOO -m comment --comment "c" -m udp -p udp -d 192.168.0.5/32 --dport 0 -j RETURN',
    '-A FOO -d 10.96.0.6/32 -p tcp -m comment --comment "rejected" -m tcp --dport 81 -j REJECT',
  ];
  const oddDump = `*filter\n:INPUT ACCEPT [0:0]\n:FOO - [0:0]\n:BAR - [0:0]\n${Array.from({ length: 5 }, () => odd.join('\n')).join('\n')}\nCOMMIT\n`;

  it.each([
    { name: 'kube-proxy restore input', text: restoreForm },
    { name: 'iptables-save order', text: saveForm },
    { name: 'rules that only look like Service rules', text: oddDump },
  ])('$name: every index equals the one built from compiled rules', ({ text }) => {
    const rs = parseIptablesSave(text, 'iptables');
    let indexed = 0;
    for (const t of rs.tables.values()) {
      for (const c of t.chains.values()) {
        const ix = c.index;
        const want = c.rules.length >= 32 ? compiledIndex(c.rules) : undefined;
        expect(
          ix === undefined ? undefined : { key: ix.key, byKey: [...ix.byKey], others: ix.others },
        ).toEqual(want);
        if (ix !== undefined) indexed++;
      }
    }
    expect(indexed).toBeGreaterThan(0);
  });

  it('the rewritten dump has the option order of iptables-save', () => {
    expect(saveForm).toMatch(
      /^-A KUBE-SERVICES -d 10\.96\.\d+\.\d+\/32 -p tcp -m comment --comment "[^"]+ cluster IP" -m tcp --dport \d+ -j KUBE-SVC-\w+$/m,
    );
    expect(saveForm).not.toMatch(/^-A KUBE-SERVICES -m comment --comment "[^"]+ cluster IP" -m tcp/m);
  });
});
