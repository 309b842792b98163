import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIptablesSave } from './iptables-parse.js';
import { traverseHook, type Hook, type NfContext, type NfOutcome } from './netfilter.js';
import {
  BUILTIN_CHAINS,
  type NfTableName,
  type PolicyRef,
  type RuleRef,
  type RuleSet,
} from './netfilter-ruleset.js';
import type { IpsetMatcher, IpsetQuery } from './ipset-query.js';
import type { Packet } from './packet.js';
import { cidrContains } from './ip.js';

/** A rule set from table → lines; built-in chains are declared ACCEPT unless a `:CHAIN POLICY` line says otherwise. */
function rs(spec: Partial<Record<NfTableName, readonly string[]>>, family: 4 | 6 = 4): RuleSet {
  let text = '';
  for (const [table, lines] of Object.entries(spec) as [NfTableName, readonly string[]][]) {
    const decl = lines
      .filter((l) => l.startsWith(':'))
      .map((l) => (l.split(' ').length === 2 ? `${l} [0:0]` : l));
    const builtins = BUILTIN_CHAINS[table]
      .filter((c) => !decl.some((d) => d.startsWith(`:${c} `)))
      .map((c) => `:${c} ACCEPT [0:0]`);
    text += `*${table}\n${[...builtins, ...decl].join('\n')}\n${lines.filter((l) => !l.startsWith(':')).join('\n')}\nCOMMIT\n`;
  }
  return parseIptablesSave(text, family === 4 ? 'iptables' : 'ip6tables');
}

function pkt(p: Partial<Packet> = {}): Packet {
  return {
    family: 4,
    protocol: 'tcp',
    src: '10.0.0.1',
    dst: '10.0.0.2',
    sport: 40000,
    dport: 80,
    mark: 0,
    tcpFlags: ['SYN'],
    ...p,
  };
}

/** Context overrides; an explicit `undefined` removes a default (`inIf: undefined`). */
type Ctx = { [K in keyof Omit<NfContext, 'packet'>]?: NfContext[K] | undefined } & {
  packet?: Partial<Packet>;
};

function run(rules: RuleSet, hook: Hook, c: Ctx = {}): NfOutcome[] {
  const { packet, ...rest } = c;
  const ctx = { ctState: 'NEW', inIf: 'eth0', outIf: 'eth1', ...rest, packet: pkt(packet) };
  for (const k of Object.keys(ctx) as (keyof typeof ctx)[]) if (ctx[k] === undefined) delete ctx[k];
  return traverseHook(rules, hook, ctx as NfContext);
}

function one(outcomes: NfOutcome[]): NfOutcome {
  expect(outcomes).toHaveLength(1);
  return outcomes[0] as NfOutcome;
}

function ref(r: RuleRef | PolicyRef | undefined): string {
  if (r === undefined) return 'none';
  return r.kind === 'policy' ? `policy ${r.table}/${r.chain}` : `${r.table}/${r.chain}#${r.index}`;
}

const filterInput = (lines: readonly string[], policy = 'ACCEPT'): RuleSet =>
  rs({ filter: [`:INPUT ${policy}`, ':A -', ':B -', ':C -', ...lines] });

describe('chains, jumps, gotos, returns and policies', () => {
  it.each([
    {
      name: 'empty chain: the policy decides (ACCEPT)',
      rules: [],
      policy: 'ACCEPT',
      verdict: 'accept',
      by: 'policy filter/INPUT',
      trace: ['policy filter/INPUT'],
    },
    {
      name: 'empty chain: the policy decides (DROP)',
      rules: [],
      policy: 'DROP',
      verdict: 'drop',
      by: 'policy filter/INPUT',
      trace: ['policy filter/INPUT'],
    },
    {
      name: 'a rule accepts before a DROP policy',
      rules: ['-A INPUT -p tcp -j ACCEPT'],
      policy: 'DROP',
      verdict: 'accept',
      by: 'filter/INPUT#1',
      trace: ['filter/INPUT#1'],
    },
    {
      name: 'first matching rule wins',
      rules: ['-A INPUT -p udp -j ACCEPT', '-A INPUT -p tcp -j DROP', '-A INPUT -j ACCEPT'],
      policy: 'ACCEPT',
      verdict: 'drop',
      by: 'filter/INPUT#2',
      trace: ['filter/INPUT#2'],
    },
    {
      name: 'falling off a user chain returns to the next rule',
      rules: ['-A INPUT -j A', '-A INPUT -j DROP', '-A A -p udp -j ACCEPT'],
      policy: 'ACCEPT',
      verdict: 'drop',
      by: 'filter/INPUT#2',
      trace: ['filter/INPUT#1', 'filter/INPUT#2'],
    },
    {
      name: 'RETURN returns to the next rule of the caller',
      rules: ['-A INPUT -j A', '-A INPUT -j DROP', '-A A -j RETURN', '-A A -j ACCEPT'],
      policy: 'ACCEPT',
      verdict: 'drop',
      by: 'filter/INPUT#2',
      trace: ['filter/INPUT#1', 'filter/A#1', 'filter/INPUT#2'],
    },
    {
      name: 'a verdict in a user chain ends the table',
      rules: ['-A INPUT -j A', '-A INPUT -j DROP', '-A A -j ACCEPT'],
      policy: 'DROP',
      verdict: 'accept',
      by: 'filter/A#1',
      trace: ['filter/INPUT#1', 'filter/A#1'],
    },
    {
      name: 'nested calls unwind one level per return',
      rules: ['-A INPUT -j A', '-A INPUT -j ACCEPT', '-A A -j B', '-A A -j DROP', '-A B -j RETURN'],
      policy: 'ACCEPT',
      verdict: 'drop',
      by: 'filter/A#2',
      trace: ['filter/INPUT#1', 'filter/A#1', 'filter/B#1', 'filter/A#2'],
    },
    {
      name: 'goto: RETURN in the goto target returns to the caller of the chain that did the goto',
      rules: ['-A INPUT -j A', '-A INPUT -j DROP', '-A A -g B', '-A A -j ACCEPT', '-A B -j RETURN'],
      policy: 'ACCEPT',
      verdict: 'drop',
      by: 'filter/INPUT#2',
      trace: ['filter/INPUT#1', 'filter/A#1', 'filter/B#1', 'filter/INPUT#2'],
    },
    {
      name: 'goto: falling off the goto target also returns to the caller',
      rules: ['-A INPUT -j A', '-A INPUT -j DROP', '-A A -g B', '-A A -j ACCEPT'],
      policy: 'ACCEPT',
      verdict: 'drop',
      by: 'filter/INPUT#2',
      trace: ['filter/INPUT#1', 'filter/A#1', 'filter/INPUT#2'],
    },
    {
      name: 'goto from a built-in chain: returning applies the policy',
      rules: ['-A INPUT -g B', '-A INPUT -j ACCEPT', '-A B -j RETURN'],
      policy: 'DROP',
      verdict: 'drop',
      by: 'policy filter/INPUT',
      trace: ['filter/INPUT#1', 'filter/B#1', 'policy filter/INPUT'],
    },
    {
      name: 'RETURN in a built-in chain applies the policy',
      rules: ['-A INPUT -j RETURN', '-A INPUT -j ACCEPT'],
      policy: 'DROP',
      verdict: 'drop',
      by: 'policy filter/INPUT',
      trace: ['filter/INPUT#1', 'policy filter/INPUT'],
    },
    {
      name: 'a rule without a target only counts',
      rules: ['-A INPUT -p tcp', '-A INPUT -j DROP'],
      policy: 'ACCEPT',
      verdict: 'drop',
      by: 'filter/INPUT#2',
      trace: ['filter/INPUT#1', 'filter/INPUT#2'],
    },
    {
      name: 'REJECT ends with reject',
      rules: ['-A INPUT -j REJECT --reject-with tcp-reset'],
      policy: 'ACCEPT',
      verdict: 'reject',
      by: 'filter/INPUT#1',
      trace: ['filter/INPUT#1'],
    },
    {
      name: 'LOG/NFLOG/TRACE do not decide',
      rules: ['-A INPUT -j LOG --log-prefix x', '-A INPUT -j NFLOG --nflog-group 1', '-A INPUT -j DROP'],
      policy: 'ACCEPT',
      verdict: 'drop',
      by: 'filter/INPUT#3',
      trace: ['filter/INPUT#1', 'filter/INPUT#2', 'filter/INPUT#3'],
    },
  ])('$name', ({ rules, policy, verdict, by, trace }) => {
    const o = one(run(filterInput(rules, policy), 'INPUT'));
    expect(o.verdict).toBe(verdict);
    expect(ref(o.decidedBy)).toBe(by);
    expect(o.trace.map(ref)).toEqual(trace);
    expect(o.unsupported).toEqual([]);
    expect(o.probability).toBe(1);
  });

  it('reports the reject type', () => {
    expect(
      one(run(filterInput(['-A INPUT -j REJECT --reject-with icmp-host-prohibited']), 'INPUT')).rejectWith,
    ).toBe('icmp-host-prohibited');
  });

  it('guards against chain loops the kernel would refuse', () => {
    const o = one(run(filterInput(['-A INPUT -j A', '-A A -j B', '-A B -g A']), 'INPUT'));
    expect(o.verdict).toBe('drop');
    expect(o.unsupported.map((u) => [ref(u.rule), u.reason])).toEqual([
      ['filter/B#1', 'jump to A loops (the kernel refuses such a rule set)'],
    ]);
  });
});

const sets: Record<string, (q: IpsetQuery) => boolean> = {
  frontend: (q) => q.parts[0]?.kind === 'ip' && q.parts[0].ip === '10.0.0.1',
  svcports: (q) =>
    q.parts[0]?.kind === 'ip' &&
    q.parts[0].ip === '10.0.0.2' &&
    q.parts[1]?.kind === 'port' &&
    q.parts[1].port === 80 &&
    q.parts[1].protocol === 'tcp',
};
const ipset: IpsetMatcher = (q) => sets[q.name]?.(q);

type Hit = true | false | 'unsupported';

describe('matches (rule `-A INPUT <match> -j DROP`, policy ACCEPT)', () => {
  it.each<{ name: string; match: string; c?: Ctx; hit: Hit }>([
    { name: '-s inside', match: '-s 10.0.0.0/8', hit: true },
    { name: '-s outside', match: '-s 192.168.0.0/16', hit: false },
    { name: '! -s inside', match: '! -s 10.0.0.0/8', hit: false },
    { name: '! -s outside', match: '! -s 192.168.0.0/16', hit: true },
    { name: '-s list', match: '-s 192.168.0.1,10.0.0.1', hit: true },
    { name: '-s non-contiguous mask', match: '-s 10.255.0.1/255.0.0.255', hit: true },
    { name: '-d host', match: '-d 10.0.0.2/32', hit: true },
    { name: '! -d host', match: '! -d 10.0.0.2', hit: false },
    { name: '-p tcp', match: '-p tcp', hit: true },
    { name: '-p udp on tcp', match: '-p udp', hit: false },
    { name: '! -p udp', match: '! -p udp', hit: true },
    { name: '-p 6', match: '-p 6', hit: true },
    { name: '-p all', match: '-p all', hit: true },
    {
      name: '-p icmp on icmp',
      match: '-p icmp',
      c: { packet: { protocol: 'icmp', sport: 0, dport: 0, tcpFlags: [], icmpType: 8, icmpCode: 0 } },
      hit: true,
    },
    { name: '-i exact', match: '-i eth0', hit: true },
    { name: '-i other', match: '-i eth1', hit: false },
    { name: '-i wildcard', match: '-i eth+', c: { inIf: 'eth7' }, hit: true },
    { name: '-i wildcard is a prefix, not a substring', match: '-i eth+', c: { inIf: 'veth1' }, hit: false },
    { name: '! -i wildcard', match: '! -i cali+', c: { inIf: 'cali123' }, hit: false },
    { name: '-i + matches any interface', match: '-i +', c: { inIf: 'x' }, hit: true },
    { name: '-o in INPUT sees no interface', match: '-o eth1', hit: false },
    { name: '! -o in INPUT', match: '! -o eth1', hit: true },
    { name: '-i unknown at INPUT', match: '-i eth0', c: { inIf: undefined }, hit: 'unsupported' },
    { name: '-f (never a fragment)', match: '-f', hit: false },
    { name: '! -f', match: '! -f', hit: true },
    { name: '--dport', match: '-p tcp -m tcp --dport 80', hit: true },
    { name: '--dport other', match: '-p tcp -m tcp --dport 81', hit: false },
    { name: '! --dport', match: '-p tcp -m tcp ! --dport 80', hit: false },
    { name: '--dport range', match: '-p tcp -m tcp --dport 79:81', hit: true },
    { name: '--dport :b', match: '-p tcp -m tcp --dport :80', hit: true },
    { name: '--dport a:', match: '-p tcp -m tcp --dport 81:', hit: false },
    { name: '--sport', match: '-p tcp -m tcp --sport 40000', hit: true },
    { name: 'old-style --dport ! 80', match: '-p tcp --dport ! 80', hit: false },
    { name: '--syn on a SYN', match: '-p tcp -m tcp --syn', hit: true },
    {
      name: '--syn on SYN+ACK',
      match: '-p tcp -m tcp --syn',
      c: { packet: { tcpFlags: ['SYN', 'ACK'] } },
      hit: false,
    },
    {
      name: '! --syn on an ACK',
      match: '-p tcp -m tcp ! --syn',
      c: { packet: { tcpFlags: ['ACK'] } },
      hit: true,
    },
    { name: '--tcp-flags ALL NONE', match: '-p tcp -m tcp --tcp-flags ALL NONE', hit: false },
    { name: 'udp match on a tcp packet', match: '-m udp --dport 80', hit: false },
    { name: 'multiport --dports', match: '-p tcp -m multiport --dports 22,80,443', hit: true },
    { name: 'multiport range', match: '-p tcp -m multiport --dports 1:79,81:100', hit: false },
    { name: 'multiport --ports takes either', match: '-p tcp -m multiport --ports 40000', hit: true },
    { name: '! multiport', match: '-p tcp -m multiport ! --dports 80,443', hit: false },
    { name: 'multiport --sports', match: '-p tcp -m multiport --sports 39999:40001', hit: true },
    ...(['echo-request', '8', '8/0', 'any'] as const).map((t) => ({
      name: `icmp type ${t}`,
      match: `-p icmp -m icmp --icmp-type ${t}`,
      c: {
        packet: { protocol: 'icmp' as const, sport: 0, dport: 0, tcpFlags: [], icmpType: 8, icmpCode: 0 },
      },
      hit: true as Hit,
    })),
    {
      name: 'icmp type/code mismatch',
      match: '-p icmp -m icmp --icmp-type 3/4',
      c: { packet: { protocol: 'icmp', sport: 0, dport: 0, tcpFlags: [], icmpType: 3, icmpCode: 3 } },
      hit: false,
    },
    {
      name: 'icmp name with code',
      match: '-p icmp -m icmp --icmp-type port-unreachable',
      c: { packet: { protocol: 'icmp', sport: 0, dport: 0, tcpFlags: [], icmpType: 3, icmpCode: 3 } },
      hit: true,
    },
    {
      name: '! icmp type',
      match: '-p icmp -m icmp ! --icmp-type 8',
      c: { packet: { protocol: 'icmp', sport: 0, dport: 0, tcpFlags: [], icmpType: 0, icmpCode: 0 } },
      hit: true,
    },
    { name: 'comment always matches', match: '-m comment --comment "anything at all"', hit: true },
    {
      name: 'mark value/mask',
      match: '-m mark --mark 0x4000/0x4000',
      c: { packet: { mark: 0x4001 } },
      hit: true,
    },
    {
      name: 'mark without mask is exact',
      match: '-m mark --mark 0x4000',
      c: { packet: { mark: 0x4001 } },
      hit: false,
    },
    { name: '! mark', match: '-m mark ! --mark 0x4000/0x4000', hit: true },
    { name: 'connmark', match: '-m connmark --mark 0x10/0xf0', c: { ctMark: 0x1f }, hit: true },
    { name: '! connmark', match: '-m connmark ! --mark 0x1', c: { ctMark: 0x1 }, hit: false },
    { name: 'ctstate NEW on NEW', match: '-m conntrack --ctstate NEW', hit: true },
    {
      name: 'ctstate INVALID does not match a NEW packet',
      match: '-m conntrack --ctstate INVALID',
      hit: false,
    },
    {
      name: 'ctstate INVALID on INVALID',
      match: '-m conntrack --ctstate INVALID',
      c: { ctState: 'INVALID' },
      hit: true,
    },
    {
      name: 'ctstate RELATED,ESTABLISHED on ESTABLISHED',
      match: '-m conntrack --ctstate RELATED,ESTABLISHED',
      c: { ctState: 'ESTABLISHED' },
      hit: true,
    },
    {
      name: 'ctstate RELATED,ESTABLISHED on NEW',
      match: '-m conntrack --ctstate RELATED,ESTABLISHED',
      hit: false,
    },
    {
      name: '! ctstate RELATED,ESTABLISHED on NEW',
      match: '-m conntrack ! --ctstate RELATED,ESTABLISHED',
      hit: true,
    },
    {
      name: 'ctstate UNTRACKED',
      match: '-m conntrack --ctstate UNTRACKED',
      c: { ctState: 'UNTRACKED' },
      hit: true,
    },
    {
      name: 'ctstate DNAT from the context',
      match: '-m conntrack --ctstate DNAT',
      c: { ctState: 'ESTABLISHED', ct: { dnat: true } },
      hit: true,
    },
    {
      name: 'ctstate DNAT without DNAT',
      match: '-m conntrack --ctstate DNAT',
      c: { ctState: 'ESTABLISHED' },
      hit: false,
    },
    {
      name: 'ctstate SNAT via ctState SNAT',
      match: '-m conntrack --ctstate SNAT',
      c: { ctState: 'SNAT' },
      hit: true,
    },
    {
      name: 'ctstatus ASSURED',
      match: '-m conntrack --ctstatus ASSURED',
      c: { ctState: 'ESTABLISHED', ct: { status: ['SEEN_REPLY', 'ASSURED'] } },
      hit: true,
    },
    { name: 'ctstatus of a NEW connection', match: '-m conntrack --ctstatus CONFIRMED', hit: false },
    {
      name: 'ctstatus unknown for ESTABLISHED',
      match: '-m conntrack --ctstatus ASSURED',
      c: { ctState: 'ESTABLISHED' },
      hit: 'unsupported',
    },
    {
      name: 'ctorigdst of a NEW packet is its destination',
      match: '-m conntrack --ctorigdst 10.0.0.2',
      hit: true,
    },
    { name: '! ctorigdst', match: '-m conntrack ! --ctorigdst 10.0.0.0/8', hit: false },
    {
      name: 'ctorigdst from the context',
      match: '-m conntrack --ctorigdst 10.96.0.10',
      c: {
        ctState: 'ESTABLISHED',
        ct: { orig: { src: '10.0.0.1', dst: '10.96.0.10', sport: 40000, dport: 80 } },
      },
      hit: true,
    },
    {
      name: 'ctorigdst unknown for ESTABLISHED',
      match: '-m conntrack --ctorigdst 10.0.0.2',
      c: { ctState: 'ESTABLISHED' },
      hit: 'unsupported',
    },
    { name: 'ctorigdstport', match: '-m conntrack --ctorigdstport 80', hit: true },
    {
      name: 'ctrepldst of a NEW packet is its source',
      match: '-m conntrack --ctrepldst 10.0.0.1',
      hit: true,
    },
    { name: 'ctproto', match: '-m conntrack --ctproto tcp', hit: true },
    { name: '! ctproto', match: '-m conntrack ! --ctproto tcp', hit: false },
    { name: 'ctdir ORIGINAL on NEW', match: '-m conntrack --ctdir ORIGINAL', hit: true },
    {
      name: 'ctdir REPLY from the context',
      match: '-m conntrack --ctdir REPLY',
      c: { ctState: 'ESTABLISHED', ct: { dir: 'REPLY' } },
      hit: true,
    },
    {
      name: 'conntrack without ct: non-state options do not match',
      match: '-m conntrack --ctproto tcp',
      c: { ctState: 'INVALID' },
      hit: false,
    },
    {
      name: 'conntrack without ct: only the state counts',
      match: '-m conntrack --ctstate INVALID --ctproto udp',
      c: { ctState: 'INVALID' },
      hit: true,
    },
    { name: 'state NEW', match: '-m state --state NEW', hit: true },
    { name: '! state NEW', match: '-m state ! --state NEW', hit: false },
    {
      name: 'state ESTABLISHED on a reply',
      match: '-m state --state ESTABLISHED',
      c: { ctState: 'ESTABLISHED' },
      hit: true,
    },
    {
      name: 'addrtype LOCAL',
      match: '-m addrtype --dst-type LOCAL',
      c: { addrType: (ip) => (ip === '10.0.0.2' ? 'LOCAL' : 'UNICAST') },
      hit: true,
    },
    {
      name: '! addrtype LOCAL',
      match: '-m addrtype ! --dst-type LOCAL',
      c: { addrType: (ip) => (ip === '10.0.0.2' ? 'LOCAL' : 'UNICAST') },
      hit: false,
    },
    {
      name: 'addrtype list',
      match: '-m addrtype --src-type LOCAL,UNICAST',
      c: { addrType: () => 'UNICAST' },
      hit: true,
    },
    {
      name: 'addrtype --limit-iface-in asks about the input device',
      match: '-m addrtype --dst-type LOCAL --limit-iface-in',
      c: { addrType: (_ip, dev) => (dev === 'eth0' ? 'LOCAL' : 'UNICAST') },
      hit: true,
    },
    { name: 'addrtype without a callback', match: '-m addrtype --dst-type LOCAL', hit: 'unsupported' },
    {
      name: 'addrtype the callback cannot answer',
      match: '-m addrtype ! --dst-type LOCAL',
      c: { addrType: () => undefined },
      hit: 'unsupported',
    },
    { name: 'set src', match: '-m set --match-set frontend src', c: { ipset }, hit: true },
    { name: 'set dst', match: '-m set --match-set frontend dst', c: { ipset }, hit: false },
    { name: '! set', match: '-m set ! --match-set frontend src', c: { ipset }, hit: false },
    {
      name: 'set ip,port by type',
      match: '-m set --match-set svcports dst,dst',
      c: { ipset, ipsetType: () => 'hash:ip,port' },
      hit: true,
    },
    {
      name: 'set with fewer flags than dimensions',
      match: '-m set --match-set svcports dst',
      c: { ipset, ipsetType: () => 'hash:ip,port' },
      hit: false,
    },
    {
      name: 'set with two flags and no type',
      match: '-m set --match-set svcports dst,dst',
      c: { ipset },
      hit: 'unsupported',
    },
    {
      name: 'set that does not exist',
      match: '-m set --match-set nope src',
      c: { ipset },
      hit: 'unsupported',
    },
    { name: 'set without a matcher', match: '-m set --match-set frontend src', hit: 'unsupported' },
    { name: 'physdev-is-bridged, not bridged', match: '-m physdev --physdev-is-bridged', hit: false },
    { name: '! physdev-is-bridged, not bridged', match: '-m physdev ! --physdev-is-bridged', hit: true },
    {
      name: 'physdev-is-bridged, bridged out',
      match: '-m physdev --physdev-is-bridged',
      c: { physdev: { in: 'veth1', out: 'veth2', isBridged: true } },
      hit: true,
    },
    {
      name: 'physdev-is-bridged, bridged up to the host',
      match: '-m physdev --physdev-is-bridged',
      c: { physdev: { in: 'veth1', isBridged: true } },
      hit: false,
    },
    {
      name: 'physdev-in wildcard',
      match: '-m physdev --physdev-in veth+',
      c: { physdev: { in: 'veth1', isBridged: true } },
      hit: true,
    },
    {
      name: '! physdev-in',
      match: '-m physdev ! --physdev-in veth+',
      c: { physdev: { in: 'veth1', isBridged: true } },
      hit: false,
    },
    {
      name: 'physdev-out without an out port',
      match: '-m physdev ! --physdev-out eth0',
      c: { physdev: { in: 'veth1', isBridged: true } },
      hit: false,
    },
    {
      name: '! physdev-is-in, bridged',
      match: '-m physdev ! --physdev-is-in',
      c: { physdev: { in: 'veth1', isBridged: true } },
      hit: false,
    },
    { name: 'iprange src', match: '-m iprange --src-range 10.0.0.0-10.0.0.5', hit: true },
    { name: '! iprange dst', match: '-m iprange ! --dst-range 10.0.0.2-10.0.0.2', hit: false },
    {
      name: 'iprange across the sign bit',
      match: '-m iprange --dst-range 100.0.0.0-200.0.0.0',
      c: { packet: { dst: '150.1.1.1' } },
      hit: true,
    },
    {
      name: 'mac',
      match: '-m mac --mac-source aa:bb:cc:dd:ee:ff',
      c: { srcMac: 'AA:BB:CC:DD:EE:FF' },
      hit: true,
    },
    { name: 'mac unknown', match: '-m mac --mac-source aa:bb:cc:dd:ee:ff', hit: 'unsupported' },
    { name: 'limit is assumed not exceeded', match: '-m limit --limit 1/sec', hit: true },
    {
      name: 'hashlimit-above is assumed not exceeded',
      match: '-m hashlimit --hashlimit-above 1/sec --hashlimit-name x',
      hit: false,
    },
    { name: 'policy none (no IPsec)', match: '-m policy --dir in --pol none', hit: true },
    { name: 'rpfilter passes', match: '-m rpfilter', c: { rpfilter: () => true }, hit: true },
    {
      name: 'rpfilter --invert',
      match: '-m rpfilter --invert',
      c: { rpfilter: (q) => !(q.loose || q.inIf !== 'eth0') },
      hit: false,
    },
    { name: 'rpfilter without a callback', match: '-m rpfilter --invert', hit: 'unsupported' },
    {
      name: 'owner uid range',
      match: '-m owner --uid-owner 0-10',
      c: { owner: { uid: 5, gid: 5 } },
      hit: true,
    },
    { name: '! owner gid', match: '-m owner ! --gid-owner 5', c: { owner: { uid: 5, gid: 5 } }, hit: false },
    {
      name: 'owner suppl groups',
      match: '-m owner --gid-owner 7 --suppl-groups',
      c: { owner: { uid: 5, gid: 5, groups: [7] } },
      hit: true,
    },
    { name: 'owner without a socket', match: '-m owner --uid-owner 0', c: { owner: null }, hit: false },
    {
      name: '! --socket-exists without a socket',
      match: '-m owner ! --socket-exists',
      c: { owner: null },
      hit: true,
    },
    { name: 'owner unknown', match: '-m owner --uid-owner 0', hit: 'unsupported' },
    {
      name: 'socket',
      match: '-m socket --transparent',
      c: { socketLookup: (q) => q.transparent },
      hit: true,
    },
    { name: 'length', match: '-m length --length 60:100', c: { length: 60 }, hit: true },
    { name: '! length', match: '-m length ! --length 60:100', c: { length: 60 }, hit: false },
    { name: 'length unknown', match: '-m length --length 60', hit: 'unsupported' },
    { name: 'ttl', match: '-m ttl --ttl-lt 2', c: { ttl: 1 }, hit: true },
    { name: 'ttl unknown', match: '-m ttl --ttl-eq 64', hit: 'unsupported' },
    { name: 'pkttype unicast', match: '-m pkttype --pkt-type unicast', hit: true },
    {
      name: 'pkttype broadcast derived',
      match: '-m pkttype --pkt-type broadcast',
      c: { packet: { dst: '255.255.255.255' } },
      hit: true,
    },
    {
      name: 'pkttype multicast derived',
      match: '-m pkttype --pkt-type multicast',
      c: { packet: { dst: '224.0.0.5' } },
      hit: true,
    },
    {
      name: 'pkttype from the context',
      match: '-m pkttype ! --pkt-type broadcast',
      c: { pktType: 'broadcast' },
      hit: false,
    },
    { name: 'unknown module', match: '-m u32 --u32 "0x0>>22&0x3C@0x4=0x29"', hit: 'unsupported' },
    {
      name: 'unsupported match is not reached when an earlier one fails',
      match: '-p udp -m u32 --u32 "0x0>>22"',
      hit: false,
    },
  ])('$name', ({ match, c, hit }) => {
    const o = one(run(filterInput([`-A INPUT ${match} -j DROP`]), 'INPUT', c));
    expect(o.verdict).toBe(hit === true ? 'drop' : 'accept');
    expect(o.unsupported).toHaveLength(hit === 'unsupported' ? 1 : 0);
    if (hit === 'unsupported') expect(o.unsupported[0]?.assumption).toBe('treated as not matching');
  });

  it.each<{ name: string; match: string; c?: Ctx; hit: boolean }>([
    {
      name: 'icmp6 echo-request',
      match: '-p ipv6-icmp -m icmp6 --icmpv6-type echo-request',
      c: {
        packet: {
          family: 6,
          protocol: 'icmp',
          src: 'fd00::1',
          dst: 'fd00::2',
          sport: 0,
          dport: 0,
          tcpFlags: [],
          icmpType: 128,
          icmpCode: 0,
        },
      },
      hit: true,
    },
    {
      name: '-p icmp (1) on ICMPv6',
      match: '-p icmp',
      c: {
        packet: {
          family: 6,
          protocol: 'icmp',
          src: 'fd00::1',
          dst: 'fd00::2',
          sport: 0,
          dport: 0,
          tcpFlags: [],
          icmpType: 128,
          icmpCode: 0,
        },
      },
      hit: false,
    },
    {
      name: 'IPv6 prefix',
      match: '-s fd00::/64',
      c: { packet: { family: 6, src: 'fd00::1', dst: 'fd00::2' } },
      hit: true,
    },
    {
      name: 'IPv6 prefix outside',
      match: '-s fd00:1::/64',
      c: { packet: { family: 6, src: 'fd00::1', dst: 'fd00::2' } },
      hit: false,
    },
    {
      name: 'IPv6 address mask',
      match: '-d fd00::/ffff:ffff:0:ffff::',
      c: { packet: { family: 6, src: 'fd00::1', dst: 'fd00:0:1234::2' } },
      hit: true,
    },
    {
      name: 'IPv6 host',
      match: '! -d fd00::2/128',
      c: { packet: { family: 6, src: 'fd00::1', dst: 'fd00::2' } },
      hit: false,
    },
  ])('IPv6: $name', ({ match, c, hit }) => {
    const rules = rs({ filter: [`-A INPUT ${match} -j DROP`] }, 6);
    expect(one(run(rules, 'INPUT', c)).verdict).toBe(hit ? 'drop' : 'accept');
  });

  it('throws when the packet family differs from the rule set', () => {
    expect(() =>
      run(filterInput([]), 'INPUT', { packet: { family: 6, src: 'fd00::1', dst: 'fd00::2' } }),
    ).toThrow(/IPv6 packet/);
  });
});

describe('statistic forks', () => {
  it('forks a random match: matched with p, not matched with 1-p', () => {
    const out = run(filterInput(['-A INPUT -m statistic --mode random --probability 0.25 -j DROP']), 'INPUT');
    expect(out.map((o) => [o.verdict, o.probability])).toEqual([
      ['drop', 0.25],
      ['accept', 0.75],
    ]);
  });

  it('negated probability matches with 1-p (31-bit kernel value)', () => {
    const out = run(
      filterInput(['-A INPUT -m statistic --mode random ! --probability 0.2 -j DROP']),
      'INPUT',
    );
    const p = Math.round(0.2 * 2 ** 31) / 2 ** 31;
    expect(out.map((o) => [o.verdict, o.probability])).toEqual([
      ['drop', 1 - p],
      ['accept', p],
    ]);
  });

  it('nth mode matches one packet in n', () => {
    const out = run(filterInput(['-A INPUT -m statistic --mode nth --every 4 --packet 0 -j DROP']), 'INPUT');
    expect(out.map((o) => [o.verdict, o.probability])).toEqual([
      ['drop', 0.25],
      ['accept', 0.75],
    ]);
  });

  it('multiplies probabilities along a path', () => {
    const out = run(
      filterInput([
        '-A INPUT -m statistic --mode random --probability 0.5 -j MARK --or-mark 0x1',
        '-A INPUT -m statistic --mode random --probability 0.5 -j MARK --or-mark 0x2',
      ]),
      'INPUT',
    );
    expect(out.map((o) => [o.packet.mark, o.probability]).sort()).toEqual([
      [0, 0.25],
      [1, 0.25],
      [2, 0.25],
      [3, 0.25],
    ]);
  });

  it('stops forking at the outcome cap and reports it', () => {
    const rules = rs({
      nat: [
        ':S -',
        '-A PREROUTING -j S',
        ...[1, 2, 3].map(
          (i) =>
            `-A S -m statistic --mode random --probability ${(1 / (5 - i)).toFixed(5)} -p tcp -j DNAT --to-destination 10.1.0.${i}`,
        ),
        '-A S -p tcp -j DNAT --to-destination 10.1.0.4',
      ],
    });
    const all = run(rules, 'PREROUTING');
    expect(all.map((o) => o.packet.dst)).toEqual(['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4']);
    const capped = run(rules, 'PREROUTING', { maxOutcomes: 2 });
    expect(capped).toHaveLength(2);
    expect(capped.flatMap((o) => o.unsupported.map((u) => u.reason))).toEqual([
      'outcome cap of 2 reached',
      'outcome cap of 2 reached',
    ]);
    expect(capped.reduce((s, o) => s + o.probability, 0)).toBeLessThan(1);
  });
});

describe('targets', () => {
  it.each([
    { name: '--set-xmark', target: 'MARK --set-xmark 0x4000/0xff00', mark: 0x12ab, want: 0x4000 | 0xab },
    { name: '--set-mark v/m keeps value bits', target: 'MARK --set-mark 0x1/0xf', mark: 0xff, want: 0xf1 },
    { name: '--or-mark', target: 'MARK --or-mark 0x4000', mark: 0x1, want: 0x4001 },
    { name: '--and-mark', target: 'MARK --and-mark 0xff', mark: 0x4001, want: 0x1 },
    { name: '--xor-mark', target: 'MARK --xor-mark 0x4000', mark: 0x4001, want: 0x1 },
    {
      name: 'high bits stay unsigned',
      target: 'MARK --set-xmark 0x80000000/0x80000000',
      mark: 0,
      want: 0x80000000,
    },
  ])('MARK $name rewrites the packet mark and continues', ({ target, mark, want }) => {
    const o = one(
      run(rs({ mangle: [`-A PREROUTING -j ${target}`, '-A PREROUTING -j LOG'] }), 'PREROUTING', {
        packet: { mark },
      }),
    );
    expect(o.packet.mark).toBe(want);
    expect(o.trace.map(ref)).toEqual([
      'mangle/PREROUTING#1',
      'mangle/PREROUTING#2',
      'policy mangle/PREROUTING',
    ]);
  });

  it('a mark set in mangle is seen by filter', () => {
    const rules = rs({
      mangle: ['-A INPUT -j MARK --set-xmark 0x10/0x10'],
      filter: ['-A INPUT -m mark --mark 0x10/0x10 -j DROP'],
    });
    const o = one(run(rules, 'INPUT'));
    expect([o.verdict, ref(o.decidedBy)]).toEqual(['drop', 'filter/INPUT#1']);
  });

  it.each([
    {
      name: 'save',
      target: 'CONNMARK --save-mark --nfmask 0xff --ctmask 0xff',
      mark: 0x1234,
      ctMark: 0xff00,
      wantMark: 0x1234,
      wantCt: 0xff34,
    },
    {
      name: 'restore',
      target: 'CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff',
      mark: 0x1200,
      ctMark: 0xab,
      wantMark: 0x12ab,
      wantCt: 0xab,
    },
    {
      name: 'set',
      target: 'CONNMARK --set-xmark 0x10/0xf0',
      mark: 0,
      ctMark: 0x1ff,
      wantMark: 0,
      wantCt: 0x11f,
    },
  ])('CONNMARK $name', ({ target, mark, ctMark, wantMark, wantCt }) => {
    const o = one(
      run(rs({ mangle: [`-A PREROUTING -j ${target}`] }), 'PREROUTING', { packet: { mark }, ctMark }),
    );
    expect([o.packet.mark, o.ctMark]).toEqual([wantMark, wantCt]);
  });

  it('CONNMARK in raw does nothing: conntrack has not run yet', () => {
    const o = one(
      run(rs({ raw: ['-A PREROUTING -j CONNMARK --set-xmark 0x1/0x1'] }), 'PREROUTING', { ctMark: 0 }),
    );
    expect(o.ctMark).toBe(0);
  });

  it.each([
    {
      name: 'DNAT ip:port',
      rule: '-A PREROUTING -p tcp -j DNAT --to-destination 10.244.1.5:8080',
      dst: '10.244.1.5',
      dport: 8080,
      nat: { kind: 'dnat', from: '10.0.0.2:80', to: '10.244.1.5:8080' },
    },
    {
      name: 'DNAT address only keeps the port',
      rule: '-A PREROUTING -j DNAT --to-destination 10.244.1.5',
      dst: '10.244.1.5',
      dport: 80,
      nat: { kind: 'dnat', to: '10.244.1.5:80' },
    },
    {
      name: 'DNAT port only keeps the address',
      rule: '-A PREROUTING -p tcp -j DNAT --to-destination :8443',
      dst: '10.0.0.2',
      dport: 8443,
      nat: { kind: 'dnat', to: '10.0.0.2:8443' },
    },
    {
      name: 'DNAT range: the first is assumed',
      rule: '-A PREROUTING -p tcp -j DNAT --to-destination 10.1.0.1-10.1.0.3:8000-8010',
      dst: '10.1.0.1',
      dport: 8000,
      nat: {
        note: 'address range 10.1.0.1-10.1.0.3: the first address is assumed; port range 8000-8010: the first port is assumed',
      },
    },
    {
      name: 'NETMAP keeps the host part',
      rule: '-A PREROUTING -j NETMAP --to 192.168.7.0/24',
      dst: '192.168.7.2',
      dport: 80,
      nat: { kind: 'netmap', from: '10.0.0.2:80', to: '192.168.7.2:80' },
    },
  ])('$name', ({ rule, dst, dport, nat }) => {
    const o = one(run(rs({ nat: [rule, '-A PREROUTING -j DNAT --to-destination 1.1.1.1'] }), 'PREROUTING'));
    expect([o.verdict, o.packet.dst, o.packet.dport]).toEqual(['accept', dst, dport]);
    expect(o.nat).toMatchObject(nat);
    expect(ref(o.nat?.rule)).toBe('nat/PREROUTING#1');
    expect(o.trace.map(ref)).toEqual(['nat/PREROUTING#1']);
  });

  it('DNAT of an ICMP packet rewrites only the address', () => {
    const o = one(
      run(rs({ nat: ['-A OUTPUT -j DNAT --to-destination 10.9.9.9'] }), 'OUTPUT', {
        packet: { protocol: 'icmp', sport: 0, dport: 0, tcpFlags: [], icmpType: 8, icmpCode: 0 },
      }),
    );
    expect(o.nat).toMatchObject({ kind: 'dnat', from: '10.0.0.2', to: '10.9.9.9' });
  });

  it('IPv6 DNAT prints bracketed endpoints', () => {
    const o = one(
      run(rs({ nat: ['-A PREROUTING -p tcp -j DNAT --to-destination [fd00::5]:8080'] }, 6), 'PREROUTING', {
        packet: { family: 6, src: 'fd00::1', dst: 'fd00::2' },
      }),
    );
    expect([o.packet.dst, o.nat?.from, o.nat?.to]).toEqual(['fd00::5', '[fd00::2]:80', '[fd00::5]:8080']);
  });

  it.each([
    {
      name: 'SNAT keeps the source port',
      rule: '-A POSTROUTING -j SNAT --to-source 192.168.1.1',
      c: {},
      verdict: 'accept',
      src: '192.168.1.1',
      sport: 40000,
      unsupported: 0,
    },
    {
      name: 'SNAT with a port',
      rule: '-A POSTROUTING -p tcp -j SNAT --to-source 192.168.1.1:5000-6000',
      c: {},
      verdict: 'accept',
      src: '192.168.1.1',
      sport: 5000,
      unsupported: 0,
    },
    {
      name: 'MASQUERADE takes the address of the output interface',
      rule: '-A POSTROUTING -o eth1 -j MASQUERADE',
      c: { masqueradeSource: (dev: string) => (dev === 'eth1' ? '172.16.0.9' : undefined) },
      verdict: 'accept',
      src: '172.16.0.9',
      sport: 40000,
      unsupported: 0,
    },
    {
      name: 'MASQUERADE --to-ports',
      rule: '-A POSTROUTING -p tcp -j MASQUERADE --to-ports 1024-2048',
      c: { masqueradeSource: () => '172.16.0.9' },
      verdict: 'accept',
      src: '172.16.0.9',
      sport: 1024,
      unsupported: 0,
    },
    {
      name: 'MASQUERADE on an interface without an address drops',
      rule: '-A POSTROUTING -j MASQUERADE',
      c: { masqueradeSource: () => undefined },
      verdict: 'drop',
      src: '10.0.0.1',
      sport: 40000,
      unsupported: 0,
    },
    {
      name: 'MASQUERADE without the callback is reported',
      rule: '-A POSTROUTING -j MASQUERADE',
      c: {},
      verdict: 'accept',
      src: '10.0.0.1',
      sport: 40000,
      unsupported: 1,
    },
  ])('$name', ({ rule, c, verdict, src, sport, unsupported }) => {
    const o = one(run(rs({ nat: [rule] }), 'POSTROUTING', c));
    expect([o.verdict, o.packet.src, o.packet.sport, o.unsupported.length]).toEqual([
      verdict,
      src,
      sport,
      unsupported,
    ]);
  });

  it.each([
    {
      name: 'in PREROUTING to the input interface address',
      hook: 'PREROUTING' as const,
      c: { redirectAddress: (dev: string | undefined) => (dev === 'eth0' ? '10.0.0.254' : undefined) },
      verdict: 'accept',
      dst: '10.0.0.254',
    },
    { name: 'in OUTPUT to loopback', hook: 'OUTPUT' as const, c: {}, verdict: 'accept', dst: '127.0.0.1' },
    {
      name: 'on an interface without an address: dropped',
      hook: 'PREROUTING' as const,
      c: { redirectAddress: () => undefined },
      verdict: 'drop',
      dst: '10.0.0.2',
    },
  ])('REDIRECT $name', ({ hook, c, verdict, dst }) => {
    const o = one(run(rs({ nat: [`-A ${hook} -p tcp -j REDIRECT --to-ports 15001`] }), hook, c));
    expect([o.verdict, o.packet.dst]).toEqual([verdict, dst]);
    if (verdict === 'accept') expect(o.packet.dport).toBe(15001);
  });

  it.each([
    { name: 'ESTABLISHED', c: { ctState: 'ESTABLISHED' as const } },
    { name: 'RELATED', c: { ctState: 'RELATED' as const } },
    { name: 'INVALID', c: { ctState: 'INVALID' as const } },
    { name: 'UNTRACKED', c: { ctState: 'UNTRACKED' as const } },
    { name: 'NAT already decided (skipNat)', c: { skipNat: true } },
  ])('the nat table is not traversed for $name packets', ({ c }) => {
    const o = one(run(rs({ nat: ['-A PREROUTING -j DNAT --to-destination 10.9.9.9'] }), 'PREROUTING', c));
    expect([o.packet.dst, o.nat, o.trace]).toEqual(['10.0.0.2', undefined, []]);
  });

  it.each([{ target: 'NOTRACK' }, { target: 'CT --notrack' }])(
    '$target in raw: untracked, nat skipped, later tables see UNTRACKED',
    ({ target }) => {
      const rules = rs({
        raw: [
          `-A PREROUTING -j ${target}`,
          '-A PREROUTING -m conntrack --ctstate UNTRACKED -j MARK --or-mark 0x1',
        ],
        mangle: [
          '-A PREROUTING -m conntrack --ctstate UNTRACKED -j MARK --or-mark 0x2',
          '-A PREROUTING -m connmark --mark 0x0 -j MARK --or-mark 0x4',
        ],
        nat: ['-A PREROUTING -j DNAT --to-destination 10.9.9.9'],
      });
      const o = one(run(rules, 'PREROUTING'));
      expect([o.notrack, o.ctState, o.packet.mark, o.packet.dst, o.nat]).toEqual([
        true,
        'UNTRACKED',
        0x3,
        '10.0.0.2',
        undefined,
      ]);
    },
  );

  it('an unsupported target is reported and skipped', () => {
    const o = one(run(filterInput(['-A INPUT -j NFQUEUE --queue-num 1', '-A INPUT -j DROP']), 'INPUT'));
    expect([o.verdict, ref(o.decidedBy)]).toEqual(['drop', 'filter/INPUT#2']);
    expect(o.unsupported.map((u) => [ref(u.rule), u.assumption])).toEqual([
      ['filter/INPUT#1', 'target ignored; continued with the next rule'],
    ]);
  });

  it('a NAT target outside the nat table is reported and skipped', () => {
    const o = one(run(rs({ mangle: ['-A PREROUTING -j DNAT --to-destination 1.1.1.1'] }), 'PREROUTING'));
    expect([o.packet.dst, o.unsupported[0]?.reason]).toEqual(['10.0.0.2', 'DNAT outside the nat table']);
  });
});

describe('tables of a hook', () => {
  it('ACCEPT ends only its table: the next table of the hook still runs', () => {
    const rules = rs({ mangle: ['-A INPUT -j ACCEPT'], filter: ['-A INPUT -j DROP'] });
    const o = one(run(rules, 'INPUT'));
    expect([o.verdict, ref(o.decidedBy)]).toEqual(['drop', 'filter/INPUT#1']);
    expect(o.decisions.map((d) => [d.table, d.verdict, ref(d.decidedBy)])).toEqual([
      ['mangle', 'accept', 'mangle/INPUT#1'],
      ['filter', 'drop', 'filter/INPUT#1'],
    ]);
  });

  it('DROP ends the hook: later tables do not run', () => {
    const rules = rs({ raw: ['-A PREROUTING -j DROP'], mangle: ['-A PREROUTING -j LOG'] });
    const o = one(run(rules, 'PREROUTING'));
    expect(o.trace.map(ref)).toEqual(['raw/PREROUTING#1']);
  });

  it.each([
    { hook: 'PREROUTING' as const, tables: ['raw', 'mangle', 'nat'] },
    { hook: 'INPUT' as const, tables: ['mangle', 'filter', 'security', 'nat'] },
    { hook: 'FORWARD' as const, tables: ['mangle', 'filter', 'security'] },
    { hook: 'OUTPUT' as const, tables: ['raw', 'mangle', 'nat', 'filter', 'security'] },
    { hook: 'POSTROUTING' as const, tables: ['mangle', 'nat'] },
  ])(
    '$hook runs its tables in priority order; an accept is credited to the last table but nat',
    ({ hook, tables }) => {
      const rules = rs(
        Object.fromEntries(
          (['raw', 'mangle', 'nat', 'filter', 'security'] as const).map((t) => [
            t,
            BUILTIN_CHAINS[t].map((c) => `-A ${c} -j LOG`),
          ]),
        ),
      );
      const o = one(run(rules, hook));
      expect(o.decisions.map((d) => d.table)).toEqual(tables);
      const filtering = tables.filter((t) => t !== 'nat');
      expect(ref(o.decidedBy)).toBe(`policy ${filtering[filtering.length - 1]}/${hook}`);
    },
  );

  it('with no rules for the hook the packet is accepted by nothing', () => {
    const o = one(run(rs({ filter: [] }), 'PREROUTING'));
    expect([o.verdict, o.decidedBy, o.decisions]).toEqual(['accept', undefined, []]);
  });

  it('raw sees no conntrack entry yet: a NEW packet is INVALID there, connmark never matches', () => {
    const rules = rs({
      raw: [
        '-A PREROUTING -m conntrack --ctstate INVALID -j MARK --or-mark 0x1',
        '-A PREROUTING -m conntrack --ctstate NEW -j MARK --or-mark 0x2',
        '-A PREROUTING -m connmark ! --mark 0x1 -j MARK --or-mark 0x4',
      ],
    });
    expect(one(run(rules, 'PREROUTING')).packet.mark).toBe(0x1);
  });

  it('looped-back packets keep their conntrack entry in raw PREROUTING', () => {
    const rules = rs({
      raw: [
        '-A PREROUTING -m conntrack --ctstate INVALID -j MARK --or-mark 0x1',
        '-A PREROUTING -m conntrack --ctstate ESTABLISHED -j MARK --or-mark 0x2',
      ],
    });
    expect(one(run(rules, 'PREROUTING', { inIf: 'lo', ctState: 'ESTABLISHED' })).packet.mark).toBe(0x2);
  });

  it('after DNAT in nat OUTPUT, filter OUTPUT sees --ctstate DNAT and the original destination', () => {
    const rules = rs({
      nat: ['-A OUTPUT -d 10.96.0.10 -p tcp -j DNAT --to-destination 10.244.0.5:8080'],
      filter: [
        '-A OUTPUT -m conntrack --ctstate DNAT --ctorigdst 10.96.0.10 --ctorigdstport 80 -d 10.244.0.5 -j REJECT',
      ],
    });
    const o = one(run(rules, 'OUTPUT', { packet: { dst: '10.96.0.10' } }));
    expect([o.verdict, ref(o.decidedBy)]).toEqual(['reject', 'filter/OUTPUT#1']);
  });

  it('-i in OUTPUT compares against an empty name', () => {
    expect(
      one(run(rs({ filter: ['-A OUTPUT -i eth0 -j DROP', '-A OUTPUT ! -i eth0 -j REJECT'] }), 'OUTPUT'))
        .verdict,
    ).toBe('reject');
  });
});

// Scenarios on the real captures (test/fixtures/iptables, see iptables-parse.test.ts).
const fixture = (name: string): RuleSet =>
  parseIptablesSave(
    readFileSync(new URL(`../../test/fixtures/iptables/${name}`, import.meta.url), 'utf8'),
    name.includes('ip6') ? 'ip6tables' : 'iptables',
  );

describe('kube-proxy (captured)', () => {
  const kp = fixture('kube-proxy.iptables-save');
  const node = '192.168.49.2';
  const addrType = (ip: string): string => (ip === node ? 'LOCAL' : 'UNICAST');

  it('pod → ClusterIP: PREROUTING forks over the three endpoints with probability 1/3 each', () => {
    const out = run(kp, 'PREROUTING', {
      inIf: 'cni0',
      addrType,
      packet: { src: '10.244.0.7', dst: '10.96.100.10', dport: 80 },
    });
    expect(out.map((o) => [o.verdict, o.nat?.to, o.packet.mark])).toEqual([
      ['accept', '10.244.1.5:8080', 0],
      ['accept', '10.244.1.7:8080', 0],
      ['accept', '10.244.2.6:8080', 0],
    ]);
    for (const o of out) expect(o.probability).toBeCloseTo(1 / 3, 9);
    expect(out.reduce((s, o) => s + o.probability, 0)).toBeCloseTo(1, 12);
    expect(out[1]?.trace.map(ref)).toEqual([
      'nat/PREROUTING#1',
      'nat/KUBE-SERVICES#4',
      'nat/KUBE-SVC-CDGGSHYLG3RE2FKL#3',
      'nat/KUBE-SEP-A4JCWMD6AMIS43DD#2',
    ]);
    expect(out[1]?.nat).toMatchObject({ kind: 'dnat', from: '10.96.100.10:80', to: '10.244.1.7:8080' });
  });

  it('node → ClusterIP: marked for masquerade, then MASQUERADE in POSTROUTING clears the mark', () => {
    const [first] = run(kp, 'OUTPUT', {
      inIf: undefined,
      outIf: 'eth0',
      addrType,
      packet: { src: node, dst: '10.96.0.1', dport: 443 },
    });
    expect([first?.packet.dst, first?.packet.dport, first?.packet.mark]).toEqual([
      '192.168.49.2',
      8443,
      0x4000,
    ]);
    const post = one(
      run(kp, 'POSTROUTING', {
        inIf: undefined,
        outIf: 'eth0',
        masqueradeSource: () => node,
        packet: { ...first?.packet },
      }),
    );
    expect([post.packet.src, post.packet.mark, post.nat?.kind]).toEqual([node, 0, 'masquerade']);
    expect(post.trace.map(ref)).toEqual([
      'nat/POSTROUTING#1',
      'nat/KUBE-POSTROUTING#2',
      'nat/KUBE-POSTROUTING#3',
    ]);
  });

  it('NodePort: KUBE-SERVICES → KUBE-NODEPORTS → KUBE-EXT (mark) → endpoints', () => {
    const out = run(kp, 'PREROUTING', { addrType, packet: { src: '203.0.113.50', dst: node, dport: 30080 } });
    expect(out.map((o) => [o.packet.dst, o.packet.mark])).toEqual([
      ['10.244.1.5', 0x4000],
      ['10.244.1.7', 0x4000],
      ['10.244.2.6', 0x4000],
    ]);
  });

  it.each([
    { name: 'allowed source range', src: '198.51.100.7', dnat: '10.244.2.8', verdict: 'accept' },
    {
      name: 'other source: not translated, then dropped by KUBE-PROXY-FIREWALL',
      src: '192.0.2.1',
      dnat: '203.0.113.10',
      verdict: 'drop',
    },
  ])('LoadBalancer with source ranges: $name', ({ src, dnat, verdict }) => {
    const pre = one(run(kp, 'PREROUTING', { addrType, packet: { src, dst: '203.0.113.10', dport: 80 } }));
    expect(pre.packet.dst).toBe(dnat);
    const fwd = one(run(kp, 'FORWARD', { outIf: 'cni0', addrType, packet: { ...pre.packet } }));
    expect(fwd.verdict).toBe(verdict);
  });

  it.each([
    {
      name: 'a NEW packet is not dropped by the --ctstate INVALID rule',
      ctState: 'NEW' as const,
      verdict: 'accept',
      by: 'policy filter/FORWARD',
    },
    {
      name: 'an INVALID packet is',
      ctState: 'INVALID' as const,
      verdict: 'drop',
      by: 'filter/KUBE-FORWARD#1',
    },
    {
      name: 'an ESTABLISHED packet is accepted by the conntrack rule',
      ctState: 'ESTABLISHED' as const,
      verdict: 'accept',
      by: 'filter/KUBE-FORWARD#3',
    },
  ])('KUBE-FORWARD: $name', ({ ctState, verdict, by }) => {
    const o = one(
      run(kp, 'FORWARD', {
        ctState,
        addrType,
        packet: { src: '10.244.0.7', dst: '10.244.1.5', dport: 8080 },
      }),
    );
    expect([o.verdict, ref(o.decidedBy)]).toEqual([verdict, by]);
  });

  it('service without endpoints: REJECT in filter KUBE-SERVICES', () => {
    const o = one(
      run(kp, 'FORWARD', { addrType, packet: { src: '10.244.0.7', dst: '10.96.200.20', dport: 80 } }),
    );
    expect([o.verdict, o.rejectWith, ref(o.decidedBy)]).toEqual([
      'reject',
      'icmp-port-unreachable',
      'filter/KUBE-SERVICES#1',
    ]);
  });

  it('IPv6 service: two endpoints, bracketed addresses', () => {
    const out = run(fixture('kube-proxy.ip6tables-save'), 'PREROUTING', {
      addrType: () => 'UNICAST',
      packet: { family: 6, src: 'fd00:10:244::7', dst: 'fd00:10:96::a', dport: 80 },
    });
    expect(out.map((o) => [o.nat?.to, o.probability])).toEqual([
      ['[fd00:10:244:1::5]:8080', 0.5],
      ['[fd00:10:244:2::6]:8080', 0.5],
    ]);
  });
});

describe('docker (captured)', () => {
  const dk = fixture('docker.iptables-save');

  it.each([
    {
      name: 'published port: FORWARD DROP policy, but DOCKER accepts first',
      c: { inIf: 'eth0', outIf: 'docker0', packet: { src: '192.0.2.9', dst: '172.17.0.2', dport: 80 } },
      verdict: 'accept',
      by: 'filter/DOCKER#1',
    },
    {
      name: 'unpublished port: the FORWARD DROP policy decides',
      c: { inIf: 'eth0', outIf: 'docker0', packet: { src: '192.0.2.9', dst: '172.17.0.2', dport: 22 } },
      verdict: 'drop',
      by: 'policy filter/FORWARD',
    },
    {
      name: 'container to the outside',
      c: { inIf: 'docker0', outIf: 'eth0', packet: { src: '172.17.0.2', dst: '192.0.2.9', dport: 443 } },
      verdict: 'accept',
      by: 'filter/FORWARD#5',
    },
    {
      name: 'reply to a container',
      c: {
        inIf: 'eth0',
        outIf: 'docker0',
        ctState: 'ESTABLISHED' as const,
        packet: { src: '192.0.2.9', dst: '172.17.0.2', sport: 443, dport: 40000 },
      },
      verdict: 'accept',
      by: 'filter/FORWARD#3',
    },
  ])('$name', ({ c, verdict, by }) => {
    const o = one(run(dk, 'FORWARD', c));
    expect([o.verdict, ref(o.decidedBy)]).toEqual([verdict, by]);
  });

  it('published port: DNAT in PREROUTING for local destinations only', () => {
    const addrType = (ip: string): string => (ip === '192.168.1.10' ? 'LOCAL' : 'UNICAST');
    const local = one(
      run(dk, 'PREROUTING', { addrType, packet: { src: '192.0.2.9', dst: '192.168.1.10', dport: 8080 } }),
    );
    expect(local.nat).toMatchObject({ kind: 'dnat', from: '192.168.1.10:8080', to: '172.17.0.2:80' });
    const other = one(
      run(dk, 'PREROUTING', { addrType, packet: { src: '192.0.2.9', dst: '192.168.1.11', dport: 8080 } }),
    );
    expect(other.nat).toBeUndefined();
  });
});

describe('calico (captured)', () => {
  const cal = fixture('calico.iptables-save');
  const pools: Record<string, string[]> = {
    'cali40all-ipam-pools': ['10.244.0.0/16'],
    'cali40masq-ipam-pools': ['10.244.0.0/16'],
    'cali40all-hosts-net': ['192.168.49.2/32', '192.168.49.3/32'],
    'cali40s:frontend': ['10.244.1.20/32'],
  };
  const calIpset: IpsetMatcher = (q) => {
    const part = q.parts[0];
    const set = pools[q.name];
    return set === undefined || part?.kind !== 'ip' ? undefined : set.some((c) => cidrContains(c, part.ip));
  };
  const base = {
    ipset: calIpset,
    addrType: (ip: string) => (ip.startsWith('192.168.49.') ? 'LOCAL' : 'UNICAST'),
    rpfilter: () => true,
  };

  it.each([
    {
      name: 'frontend pod to the workload: allowed by the policy',
      src: '10.244.1.20',
      dport: 8080,
      verdict: 'accept',
      by: 'filter/FORWARD#2',
    },
    {
      name: 'other pod: dropped when no policy passed it',
      src: '10.244.1.21',
      dport: 8080,
      verdict: 'drop',
      by: 'filter/cali-tw-cali1234abcd5#7',
    },
    {
      name: 'frontend pod, port outside the policy',
      src: '10.244.1.20',
      dport: 22,
      verdict: 'drop',
      by: 'filter/cali-tw-cali1234abcd5#7',
    },
  ])('$name', ({ src, dport, verdict, by }) => {
    const o = one(
      run(cal, 'FORWARD', {
        ...base,
        inIf: 'eth0',
        outIf: 'cali1234abcd5',
        packet: { src, dst: '10.244.2.9', dport },
      }),
    );
    expect([o.verdict, ref(o.decidedBy)]).toEqual([verdict, by]);
    expect(o.unsupported).toEqual([]);
  });

  it.each([
    { name: 'pod to the internet is masqueraded', dst: '93.184.216.34', src: '192.168.49.2' },
    { name: 'pod to pod is not', dst: '10.244.2.9', src: '10.244.1.20' },
  ])('nat-outgoing: $name', ({ dst, src }) => {
    const o = one(
      run(cal, 'POSTROUTING', {
        ...base,
        inIf: undefined,
        outIf: 'eth0',
        masqueradeSource: () => '192.168.49.2',
        packet: { src: '10.244.1.20', dst },
      }),
    );
    expect(o.packet.src).toBe(src);
  });

  it('workload to host goes through cali-wl-to-host (goto) and is accepted', () => {
    const o = one(
      run(cal, 'INPUT', {
        ...base,
        inIf: 'cali1234abcd5',
        packet: { src: '10.244.2.9', dst: '192.168.49.2', dport: 10250 },
      }),
    );
    expect([o.verdict, ref(o.decidedBy)]).toEqual(['accept', 'filter/cali-wl-to-host#2']);
    expect(o.trace.map(ref)).toContain('filter/cali-INPUT#4');
  });
});
