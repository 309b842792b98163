import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CtState, Packet } from './packet.js';
import { NetstackParseError } from './parse-error.js';
import {
  formatNftRule,
  nativeTables,
  nftKey,
  parseNftables,
  traverseNftHook,
  type NftHook,
  type NftOutcome,
  type NftTraverseContext,
} from './nftables.js';

// `nft -j list ruleset` captured on this machine (nftables 1.0.6, iptables 1.8.9 nf_tables); how each
// namespace was built is in test/fixtures/nftables/README.md.
const fixture = (name: string): unknown =>
  JSON.parse(
    readFileSync(new URL(`../../test/fixtures/nftables/${name}`, import.meta.url), 'utf8'),
  ) as unknown;
const mixed = parseNftables(fixture('mixed.json'));
const lookalike = parseNftables(fixture('native-lookalike.json'));
const empty = parseNftables(fixture('empty.json'));

const NODE_IP = '192.168.49.2';

function pkt(over: Partial<Packet> = {}): Packet {
  return {
    family: 4,
    protocol: 'tcp',
    src: '10.244.1.2',
    dst: '10.96.12.34',
    sport: 40000,
    dport: 80,
    mark: 0,
    tcpFlags: ['SYN'],
    ...over,
  };
}

function run(
  hook: NftHook,
  packet: Partial<Packet>,
  extra: Partial<Omit<NftTraverseContext, 'packet'>> = {},
): readonly NftOutcome[] {
  const ctState: CtState = extra.ctState ?? 'NEW';
  return traverseNftHook(mixed, hook, { iif: 'eth0', oif: 'eth1', ...extra, ctState, packet: pkt(packet) });
}

const summary = (outcomes: readonly NftOutcome[]) =>
  outcomes.map((o) => ({
    p: o.probability,
    verdict: o.verdict,
    to: `${o.packet.dst}:${o.packet.dport}`,
    mark: o.packet.mark,
  }));

describe('parseNftables', () => {
  it.each([
    { name: 'ip raw', family: 'ip', managed: true, reason: 'xt-expressions' },
    { name: 'ip mangle', family: 'ip', managed: true, reason: 'xt-expressions' },
    { name: 'ip security', family: 'ip', managed: true, reason: 'xt-expressions' },
    { name: 'ip nat', family: 'ip', managed: true, reason: 'xt-expressions' },
    { name: 'ip filter', family: 'ip', managed: true, reason: 'xt-expressions' },
    {
      name: 'ip6 filter (translated rules only, no xt)',
      family: 'ip6',
      managed: true,
      reason: 'xtables-layout',
    },
    { name: 'ip6 nat (empty built-in chains)', family: 'ip6', managed: true, reason: 'xtables-layout' },
    { name: 'bridge filter (ebtables-nft)', family: 'bridge', managed: true, reason: 'xt-expressions' },
    { name: 'bridge nat (ebtables-nft)', family: 'bridge', managed: true, reason: 'xtables-layout' },
    { name: 'arp filter (arptables-nft)', family: 'arp', managed: true, reason: 'xtables-layout' },
    { name: 'ip kube-proxy', family: 'ip', managed: false, reason: undefined },
    { name: 'inet x', family: 'inet', managed: false, reason: undefined },
    { name: 'netdev ingress-t', family: 'netdev', managed: false, reason: undefined },
  ])('tells whether $name is managed by iptables-nft', ({ name, family, managed, reason }) => {
    const tableName = name.split(' ')[1] as string;
    const t = mixed.tableIndex.get(nftKey(family as 'ip', tableName));
    expect(t?.managedByIptables).toBe(managed);
    expect(t?.managedReason).toBe(reason);
  });

  it('keeps only native tables for evaluation', () => {
    expect(nativeTables(mixed).map((t) => `${t.family} ${t.name}`)).toEqual([
      'ip kube-proxy',
      'inet x',
      'netdev ingress-t',
    ]);
  });

  it.each([
    { name: 'ip filter with lower-case chains', family: 'ip', table: 'filter' },
    { name: 'ip nat with a postrouting chain', family: 'ip', table: 'nat' },
    { name: 'ip6 filter INPUT at priority 10', family: 'ip6', table: 'filter' },
  ])('does not mistake a native $name for iptables-nft', ({ family, table }) => {
    expect(lookalike.tableIndex.get(nftKey(family as 'ip', table))?.managedByIptables).toBe(false);
  });

  it('reads an empty ruleset', () => {
    expect(empty.version).toBe('1.0.6');
    expect(empty.tables).toEqual([]);
  });

  it('reads base chains with type, hook, priority and policy', () => {
    expect(mixed.chainIndex.get(nftKey('ip', 'kube-proxy', 'filter-prerouting-pre-dnat'))).toEqual({
      family: 'ip',
      table: 'kube-proxy',
      name: 'filter-prerouting-pre-dnat',
      handle: 10,
      type: 'filter',
      hook: 'prerouting',
      prio: -110,
      policy: 'accept',
      devices: [],
    });
    // nft 1.0.6 leaves table and chain comments out of its JSON (the text output has them).
    expect(mixed.chainIndex.get(nftKey('ip', 'kube-proxy', 'reject-chain'))?.comment).toBeUndefined();
    expect(mixed.tableIndex.get(nftKey('ip', 'kube-proxy'))?.comment).toBeUndefined();
    expect(mixed.chainIndex.get(nftKey('ip', 'kube-proxy', 'services'))?.hook).toBeUndefined();
    expect(mixed.chainIndex.get(nftKey('ip', 'filter', 'FORWARD'))?.policy).toBe('drop');
  });

  it('keeps rules in listed order, not handle order', () => {
    expect(mixed.chainRules.get(nftKey('ip', 'kube-proxy', 'filter-output'))?.map((r) => r.handle)).toEqual([
      45, 47,
    ]);
    expect(mixed.chainRules.get(nftKey('inet', 'x', 'input'))?.map((r) => r.handle)).toEqual([
      4, 5, 6, 8, 9, 11, 12,
    ]);
  });

  it('reads sets and verdict maps', () => {
    const serviceIps = mixed.setIndex.get(nftKey('ip', 'kube-proxy', 'service-ips'));
    expect(serviceIps).toMatchObject({
      kind: 'map',
      type: ['ipv4_addr', 'inet_proto', 'inet_service'],
      map: 'verdict',
    });
    expect(serviceIps?.elements).toHaveLength(6);
    expect(
      mixed.setIndex.get(nftKey('ip', 'kube-proxy', 'affinity-GTK6MW7G-sess/sticky/tcp/p80__10.244.1.9/80')),
    ).toMatchObject({
      kind: 'set',
      type: 'ipv4_addr',
      flags: ['timeout'],
      elements: [],
    });
    expect(mixed.setIndex.get(nftKey('inet', 'x', 'blocked'))?.flags).toEqual(['interval']);
  });

  it('reads table and chain comments and netdev devices when a newer nft prints them', () => {
    const r = parseNftables({
      nftables: [
        { table: { family: 'netdev', name: 't', handle: 1, comment: 'edge' } },
        {
          chain: {
            family: 'netdev',
            table: 't',
            name: 'c',
            handle: 2,
            type: 'filter',
            hook: 'ingress',
            prio: 0,
            policy: 'accept',
            dev: ['eth0', 'eth1'],
            comment: 'in',
          },
        },
      ],
    });
    expect(r.tables[0]?.comment).toBe('edge');
    expect(r.chains[0]).toMatchObject({ comment: 'in', devices: ['eth0', 'eth1'] });
  });

  it('accepts the JSON as text', () => {
    const text = readFileSync(
      new URL('../../test/fixtures/nftables/native-lookalike.json', import.meta.url),
      'utf8',
    );
    expect(parseNftables(text).tables.map((t) => t.name)).toEqual(['filter', 'nat', 'filter']);
  });

  it.each([
    { name: 'not JSON text', raw: 'table ip filter {' },
    { name: 'no nftables array', raw: { tables: [] } },
    { name: 'item not an object', raw: { nftables: [42] } },
    { name: 'unknown family', raw: { nftables: [{ table: { family: 'ipx', name: 't', handle: 1 } }] } },
    {
      name: 'chain in unknown table',
      raw: { nftables: [{ chain: { family: 'ip', table: 't', name: 'c', handle: 1 } }] },
    },
    {
      name: 'rule in unknown chain',
      raw: {
        nftables: [
          { table: { family: 'ip', name: 't', handle: 1 } },
          { rule: { family: 'ip', table: 't', chain: 'c', handle: 2, expr: [] } },
        ],
      },
    },
    {
      name: 'rule without expr',
      raw: {
        nftables: [
          { table: { family: 'ip', name: 't', handle: 1 } },
          { chain: { family: 'ip', table: 't', name: 'c', handle: 1 } },
          { rule: { family: 'ip', table: 't', chain: 'c', handle: 2 } },
        ],
      },
    },
    {
      name: 'base chain without priority',
      raw: {
        nftables: [
          { table: { family: 'ip', name: 't', handle: 1 } },
          { chain: { family: 'ip', table: 't', name: 'c', handle: 1, hook: 'input', type: 'filter' } },
        ],
      },
    },
  ])('rejects $name', ({ raw }) => {
    let error: unknown;
    try {
      parseNftables(raw);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NetstackParseError);
    expect((error as NetstackParseError).field).toBe('nftables');
  });
});

describe('formatNftRule', () => {
  it.each([
    {
      handle: 38,
      text: 'ip daddr @cluster-ips reject with icmp port-unreachable comment "Reject traffic to invalid ports of ClusterIPs"',
    },
    { handle: 40, text: 'ct state new jump firewall-check' },
    { handle: 49, text: 'meta mark set meta mark | 16384' },
    { handle: 50, text: 'meta mark & 16384 == 0 return' },
    { handle: 52, text: 'masquerade fully-random' },
    { handle: 58, text: 'ip daddr . meta l4proto . th dport vmap @service-ips' },
    { handle: 65, text: 'meta l4proto tcp dnat to 192.168.49.2:8443' },
    { handle: 70, text: 'fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"' },
    { handle: 90, text: 'update @affinity-GTK6MW7G-sess/sticky/tcp/p80__10.244.1.9/80 { ip saddr }' },
    { handle: 92, text: 'ip saddr != 203.0.113.0/25 drop' },
    {
      handle: 80,
      text: 'numgen random mod 2 vmap { 0 : goto endpoint-GTK6MW7G-kube-system/kube-dns/udp/dns__10.244.0.3/53, 1 : goto endpoint-XYZ12345-kube-system/kube-dns/udp/dns__10.244.0.4/53 }',
    },
  ])('kube-proxy rule $handle', ({ handle, text }) => {
    const rule = mixed.rules.find((r) => r.table === 'kube-proxy' && r.handle === handle);
    expect(rule && formatNftRule(rule)).toBe(text);
  });

  it('renders an iptables-nft compat rule', () => {
    const rule = mixed.rules.find((r) => r.table === 'filter' && r.family === 'ip' && r.chain === 'FORWARD');
    expect(rule && formatNftRule(rule)).toBe('xt match comment counter jump KUBE-FORWARD');
  });
});

describe('traverseNftHook on kube-proxy nftables mode', () => {
  it('splits a ClusterIP connection evenly over the endpoints and DNATs it', () => {
    const out = run('prerouting', { dst: '10.96.12.34', dport: 80 });
    expect(summary(out)).toEqual([
      { p: 1 / 3, verdict: 'accept', to: '10.244.1.5:8080', mark: 0 },
      { p: 1 / 3, verdict: 'accept', to: '10.244.2.7:8080', mark: 0 },
      { p: 1 / 3, verdict: 'accept', to: '10.244.2.8:8080', mark: 0 },
    ]);
    expect(out[0]?.nat).toEqual([{ kind: 'dnat', addr: '10.244.1.5', port: 8080 }]);
    expect(out[0]?.evidence.map((e) => `${e.chain}#${e.handle}`)).toEqual([
      'filter-prerouting-pre-dnat#40',
      'nat-prerouting#55',
      'services#58',
      'service-ULMVA6XW-web/web/tcp/http#68',
      'endpoint-5OJB2KTY-web/web/tcp/http__10.244.1.5/8080#73',
    ]);
  });

  it.each([
    {
      name: 'UDP DNS over two endpoints',
      packet: { protocol: 'udp' as const, dst: '10.96.0.10', dport: 53 },
      to: ['10.244.0.3:53', '10.244.0.4:53'],
    },
    {
      name: 'external IP from a pod short-circuits to the service',
      packet: { dst: '192.168.99.22', dport: 80 },
      to: ['10.244.1.5:8080', '10.244.2.7:8080', '10.244.2.8:8080'],
    },
    {
      name: 'kubernetes API with one endpoint',
      packet: { dst: '10.96.0.1', dport: 443 },
      to: ['192.168.49.2:8443'],
    },
    {
      name: 'TCP port of a UDP-only service is not translated',
      packet: { dst: '10.96.0.10', dport: 53 },
      to: ['10.96.0.10:53'],
    },
  ])('prerouting: $name', ({ packet, to }) => {
    const out = run('prerouting', packet);
    expect(out.map((o) => `${o.packet.dst}:${o.packet.dport}`)).toEqual(to);
    expect(out.every((o) => o.verdict === 'accept')).toBe(true);
    expect(out.reduce((s, o) => s + o.probability, 0)).toBeCloseTo(1);
  });

  it('marks host-originated ClusterIP traffic for masquerade at output', () => {
    const out = run('output', { src: NODE_IP, dst: '10.96.0.1', dport: 443 }, { oif: 'eth0' });
    expect(summary(out)).toEqual([{ p: 1, verdict: 'accept', to: '192.168.49.2:8443', mark: 0x4000 }]);
    expect(out[0]?.evidence.map((e) => e.rule)).toContain('meta mark set meta mark | 16384');
  });

  it('masquerades marked traffic at postrouting and clears the mark', () => {
    const out = run(
      'postrouting',
      { src: NODE_IP, dst: '192.168.49.2', dport: 8443, mark: 0x4000 },
      { masqueradeAddress: '192.168.49.2' },
    );
    expect(out).toHaveLength(1);
    expect(out[0]?.nat).toEqual([{ kind: 'masquerade', addr: '192.168.49.2' }]);
    expect(out[0]?.packet.mark).toBe(0);
    expect(run('postrouting', { mark: 0 })[0]?.nat).toEqual([]);
  });

  it('rejects a ClusterIP without endpoints when forwarding', () => {
    const out = run('forward', { dst: '10.96.77.77', dport: 80 });
    expect(summary(out)).toEqual([{ p: 1, verdict: 'reject', to: '10.96.77.77:80', mark: 0 }]);
    expect(out[0]?.evidence.at(-1)).toMatchObject({ chain: 'reject-chain', handle: 57 });
  });

  it.each([
    {
      name: 'a port the ClusterIP does not serve is rejected',
      packet: { dst: '10.96.0.1', dport: 80 },
      verdict: 'reject',
      handle: 38,
    },
    {
      name: 'an unallocated ClusterIP is dropped',
      packet: { dst: '10.96.5.5', dport: 80 },
      verdict: 'drop',
      handle: 39,
    },
  ])('forward: $name', ({ packet, verdict, handle }) => {
    const out = run('forward', { ...packet, src: '10.244.1.2' }, { ctState: 'NEW' });
    expect(out.map((o) => o.verdict)).toEqual([verdict]);
    expect(out[0]?.evidence.at(-1)?.handle).toBe(handle);
  });

  it('leaves established packets to conntrack: no NAT chain runs', () => {
    const out = run('prerouting', { dst: '10.96.12.34', dport: 80 }, { ctState: 'ESTABLISHED' });
    expect(summary(out)).toEqual([{ p: 1, verdict: 'accept', to: '10.96.12.34:80', mark: 0 }]);
    expect(out[0]?.evidence).toEqual([]);
  });

  it.each([
    {
      name: 'outside loadBalancerSourceRanges is dropped',
      src: '198.51.100.1',
      verdict: 'drop',
      to: '5.6.7.8:80',
    },
    {
      name: 'inside loadBalancerSourceRanges is translated',
      src: '203.0.113.5',
      verdict: 'accept',
      to: '10.244.1.9:80',
    },
  ])('LoadBalancer IP: $name', ({ src, verdict, to }) => {
    const out = run('prerouting', { src, dst: '5.6.7.8', dport: 80 });
    expect(out.map((o) => [o.verdict, `${o.packet.dst}:${o.packet.dport}`])).toEqual([[verdict, to]]);
  });

  it('needs the local addresses for fib … type local', () => {
    const out = run('prerouting', { src: '198.51.100.1', dst: NODE_IP, dport: 30080 });
    expect(out.map((o) => [o.verdict, o.reason])).toEqual([
      ['unsupported', 'fib type local without the local addresses'],
    ]);
    expect(out[0]?.evidence.at(-1)?.handle).toBe(70);
  });

  it('with local addresses, external NodePort traffic of a Local-policy service is not translated', () => {
    const out = run(
      'prerouting',
      { src: '198.51.100.1', dst: NODE_IP, dport: 30080 },
      { isLocalAddress: (ip) => ip === NODE_IP },
    );
    expect(summary(out)).toEqual([{ p: 1, verdict: 'accept', to: '192.168.49.2:30080', mark: 0 }]);
  });

  it('host-local NodePort traffic is masqueraded and short-circuited', () => {
    const out = run(
      'output',
      { src: NODE_IP, dst: NODE_IP, dport: 30080 },
      { isLocalAddress: (ip) => ip === NODE_IP, oif: 'lo' },
    );
    expect(out.map((o) => `${o.packet.dst}:${o.packet.dport}`)).toEqual([
      '10.244.1.5:8080',
      '10.244.2.7:8080',
      '10.244.2.8:8080',
    ]);
    expect(out.every((o) => o.packet.mark === 0x4000)).toBe(true);
  });

  it('rejects a NodePort without endpoints at input', () => {
    const out = run('input', { src: '198.51.100.1', dst: NODE_IP, dport: 30777 }, { iif: 'lo' });
    expect(out.map((o) => [o.verdict, o.evidence.at(-1)?.chain])).toEqual([
      ['drop', 'nodeport-endpoints-check'],
    ]);
  });
});

describe('traverseNftHook on a hand-written inet filter', () => {
  it.each([
    {
      name: 'address in an interval set is dropped',
      packet: { src: '192.0.2.5', dst: NODE_IP, dport: 22 },
      ctx: {},
      verdict: 'drop',
      last: 6,
    },
    {
      name: 'host entry of the interval set',
      packet: { src: '198.51.100.7', dst: NODE_IP, dport: 22 },
      ctx: {},
      verdict: 'drop',
      last: 6,
    },
    {
      name: 'anonymous port set',
      packet: { src: '10.1.1.1', dst: NODE_IP, dport: 443 },
      ctx: {},
      verdict: 'accept',
      last: 8,
    },
    {
      name: 'established traffic',
      packet: { src: '192.0.2.5', dst: NODE_IP, dport: 22 },
      ctx: { ctState: 'ESTABLISHED' as const },
      verdict: 'accept',
      last: 4,
    },
    {
      name: 'loopback interface',
      packet: { src: '192.0.2.5', dst: NODE_IP, dport: 5 },
      ctx: { iif: 'lo' },
      verdict: 'accept',
      last: 5,
    },
    {
      name: 'l4proto icmp',
      packet: { protocol: 'icmp' as const, src: '192.0.2.5', dst: NODE_IP, dport: 0 },
      ctx: { iif: 'lo' },
      verdict: 'accept',
      last: 5,
    },
    {
      name: 'fib daddr type local',
      packet: { src: '10.1.1.1', dst: NODE_IP, dport: 9000 },
      ctx: { isLocalAddress: (ip: string) => ip === NODE_IP },
      verdict: 'accept',
      last: 11,
    },
    {
      name: 'mark bit test',
      packet: { src: '10.1.1.1', dst: NODE_IP, dport: 9001, mark: 0x8001 },
      ctx: { isLocalAddress: () => true },
      verdict: 'drop',
      last: 12,
    },
  ])('input: $name', ({ packet, ctx, verdict, last }) => {
    const out = run('input', packet, ctx);
    expect(out.map((o) => o.verdict)).toEqual([verdict]);
    expect(out[0]?.evidence.at(-1)).toMatchObject({ table: 'x', handle: last });
  });

  it('reports what it cannot evaluate instead of guessing', () => {
    const out = traverseNftHook(mixed, 'input', {
      ctState: 'NEW',
      packet: pkt({ src: '10.1.1.1', dst: NODE_IP, dport: 22 }),
    });
    expect(out.map((o) => [o.verdict, o.reason])).toEqual([
      ['unsupported', 'meta iifname without an input interface'],
    ]);
  });

  it('drops forwarded IPv4 by the inet policy, after kube-proxy accepted it', () => {
    const out = run(
      'forward',
      { src: '10.244.1.2', dst: '10.244.2.3', dport: 8080 },
      { ctState: 'ESTABLISHED' },
    );
    expect(out.map((o) => [o.verdict, o.evidence.at(-1)?.rule])).toEqual([['drop', 'policy drop']]);
  });

  it('rejects forwarded IPv6 to fd00::/8 out of an eth* interface', () => {
    const out = run(
      'forward',
      { family: 6, src: 'fd01::1', dst: 'fd00::5', dport: 80 },
      { oif: 'eth3', ctState: 'ESTABLISHED' },
    );
    expect(out.map((o) => [o.verdict, o.evidence.at(-1)?.handle])).toEqual([['reject', 10]]);
  });

  it('does not evaluate iptables-nft tables unless asked, and then reports their xt expressions', () => {
    const filter = mixed.tableIndex.get(nftKey('ip', 'filter'));
    const out = run(
      'forward',
      { src: '10.244.1.2', dst: '10.244.2.3', dport: 8080 },
      { tables: filter ? [filter] : [] },
    );
    expect(out.map((o) => [o.verdict, o.reason])).toEqual([
      ['unsupported', 'iptables-nft compat expression xt match comment'],
    ]);
  });

  it('passes packets of a family no table handles', () => {
    const out = traverseNftHook(empty, 'prerouting', { ctState: 'NEW', packet: pkt() });
    expect(summary(out)).toEqual([{ p: 1, verdict: 'accept', to: '10.96.12.34:80', mark: 0 }]);
  });
});

describe('traverseNftHook against the kernel', () => {
  // Captured after one TCP SYN to 127.0.0.5:1234 inside the capture namespace (loopback only): the
  // counters say which rules the kernel ran. The nat chain has priority -150, yet the filter chain
  // at -120 still saw the original destination: nat chains run at the NAT core's priority (-100).
  const natPriority = parseNftables(fixture('nat-priority.json'));
  it('runs nat chains at the NAT core priority, as the kernel counters show', () => {
    const out = traverseNftHook(natPriority, 'output', {
      ctState: 'NEW',
      oif: 'lo',
      packet: pkt({ src: '127.0.0.1', dst: '127.0.0.5', dport: 1234 }),
    });
    const counted = natPriority.rules
      .filter((r) => r.expr.some((e) => (e as { counter?: { packets: number } }).counter?.packets === 1))
      .map((r) => r.handle);
    expect(out).toHaveLength(1);
    expect(out[0]?.packet).toMatchObject({ dst: '127.0.0.1', dport: 2345 });
    expect(out[0]?.evidence.filter((e) => e.chain !== 'natout').map((e) => e.handle)).toEqual(counted);
    expect(out[0]?.evidence.map((e) => e.chain)).toEqual(['early', 'mid', 'natout', 'late']);
  });
});

describe('parseNftables at scale', () => {
  it('reads 100k iptables-nft rules and classifies their table in one pass', () => {
    const items: unknown[] = [{ table: { family: 'ip', name: 'filter', handle: 1 } }];
    for (let c = 0; c < 1_000; c++)
      items.push({ chain: { family: 'ip', table: 'filter', name: `KUBE-SEP-${c}`, handle: c + 2 } });
    for (let i = 0; i < 100_000; i++) {
      items.push({
        rule: {
          family: 'ip',
          table: 'filter',
          chain: `KUBE-SEP-${i % 1_000}`,
          handle: 2_000 + i,
          expr: [
            {
              match: {
                op: '==',
                left: { payload: { protocol: 'ip', field: 'saddr' } },
                right: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
              },
            },
            { counter: { packets: 0, bytes: 0 } },
            i === 99_999 ? { xt: { type: 'target', name: 'DNAT' } } : { accept: null },
          ],
        },
      });
    }
    const t0 = performance.now();
    const r = parseNftables({ nftables: items });
    expect(r.rules).toHaveLength(100_000);
    expect(r.tables[0]?.managedReason).toBe('xt-expressions');
    expect(r.chainRules.get(nftKey('ip', 'filter', 'KUBE-SEP-7'))).toHaveLength(100);
    expect(performance.now() - t0).toBeLessThan(3_000);
  });
});

describe('traverseNftHook at scale', () => {
  it('looks up a 20k-element service map without scanning it', () => {
    const elements: unknown[] = [];
    for (let i = 0; i < 20_000; i++) {
      elements.push([{ concat: [`10.96.${i >> 8}.${i & 255}`, 'tcp', 80] }, { goto: { target: 'svc' } }]);
    }
    const ruleset = parseNftables({
      nftables: [
        { table: { family: 'ip', name: 'kp', handle: 1 } },
        {
          map: {
            family: 'ip',
            name: 'service-ips',
            table: 'kp',
            type: ['ipv4_addr', 'inet_proto', 'inet_service'],
            handle: 2,
            map: 'verdict',
            elem: elements,
          },
        },
        {
          chain: {
            family: 'ip',
            table: 'kp',
            name: 'pre',
            handle: 3,
            type: 'nat',
            hook: 'prerouting',
            prio: -100,
            policy: 'accept',
          },
        },
        { chain: { family: 'ip', table: 'kp', name: 'svc', handle: 4 } },
        {
          rule: {
            family: 'ip',
            table: 'kp',
            chain: 'pre',
            handle: 5,
            expr: [
              {
                vmap: {
                  key: {
                    concat: [
                      { payload: { protocol: 'ip', field: 'daddr' } },
                      { meta: { key: 'l4proto' } },
                      { payload: { protocol: 'th', field: 'dport' } },
                    ],
                  },
                  data: '@service-ips',
                },
              },
            ],
          },
        },
        {
          rule: {
            family: 'ip',
            table: 'kp',
            chain: 'svc',
            handle: 6,
            expr: [{ dnat: { addr: '10.244.0.1', port: 8080 } }],
          },
        },
      ],
    });
    const t0 = performance.now();
    let translated = 0;
    for (let i = 0; i < 2_000; i++) {
      const out = traverseNftHook(ruleset, 'prerouting', {
        ctState: 'NEW',
        packet: pkt({ dst: `10.96.${(i * 7) % 78}.${i & 255}` }),
      });
      if (out[0]?.packet.dst === '10.244.0.1') translated++;
    }
    expect(translated).toBe(2_000);
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
});
