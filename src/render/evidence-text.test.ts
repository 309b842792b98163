import { describe, expect, it } from 'vitest';
import { formatEvidence } from './evidence-text.js';

describe('formatEvidence', () => {
  it.each([
    {
      name: 'an iptables rule folds table, chain and index',
      evidence: { table: 'filter', chain: 'INPUT', index: 1, rule: '-A INPUT -j DROP' },
      lines: ['chain: filter/INPUT #1', 'rule:  -A INPUT -j DROP'],
    },
    {
      name: 'a chain without an index',
      evidence: { rule: '-A KUBE-SERVICES -j REJECT', chain: 'KUBE-SERVICES', table: 'filter' },
      lines: ['rule:  -A KUBE-SERVICES -j REJECT', 'chain: filter/KUBE-SERVICES'],
    },
    {
      name: 'a routing table alone is not folded',
      evidence: { table: 'main', route: { type: 'blackhole', dst: '10.244.2.14', flags: [] } },
      lines: ['table: main', 'route: type=blackhole dst=10.244.2.14 flags=[]'],
    },
    {
      name: 'strings with spaces are quoted inside key=value pairs',
      evidence: { errors: { iptables: 'iptables-save: not found' } },
      lines: ['errors: iptables="iptables-save: not found"'],
    },
    {
      name: 'scalar lists inline, null and booleans as written',
      evidence: { fields: ['iptables', 'ipsets'], ready: false, reason: null },
      lines: ['fields: iptables, ipsets', 'ready:  false', 'reason: null'],
    },
    {
      name: 'lists of objects one per line',
      evidence: {
        routes: [
          { dst: '10.0.0.0/8', dev: 'eth0' },
          { dst: 'default', via: '192.168.1.1' },
        ],
      },
      lines: ['routes:', '  - dst=10.0.0.0/8 dev=eth0', '  - dst=default via=192.168.1.1'],
    },
    {
      name: 'deep objects nest',
      evidence: { policy: { name: 'deny-all', spec: { podSelector: {} } } },
      lines: ['policy:', '  name: deny-all', '  spec:', '    podSelector: {}'],
    },
    { name: 'undefined values are skipped', evidence: { a: undefined, b: 1 }, lines: ['b: 1'] },
    { name: 'an empty string leaves no trailing space', evidence: { comment: '' }, lines: ['comment:'] },
  ])('$name', ({ evidence, lines }) => {
    expect(formatEvidence(evidence, 80)).toEqual(lines);
  });

  it('wraps long strings under their value', () => {
    const rule =
      '-A KUBE-SEP-ABC -p tcp -m comment --comment "shop/cart:http" -m tcp -j DNAT --to-destination 10.244.2.14:8080';
    const lines = formatEvidence({ rule }, 40);
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.every((l) => l.length <= 40)).toBe(true);
    expect(lines.slice(1).every((l) => l.startsWith('      '))).toBe(true);
    expect(lines.map((l, i) => (i === 0 ? l.slice('rule: '.length) : l.trim())).join(' ')).toBe(rule);
  });

  it('puts a flat object too long for one line on its own lines', () => {
    const lines = formatEvidence(
      { route: { dst: '10.244.2.0/24', gateway: '192.168.10.12', dev: 'flannel.1', protocol: 'kernel' } },
      30,
    );
    expect(lines).toEqual([
      'route:',
      '  dst:      10.244.2.0/24',
      '  gateway:  192.168.10.12',
      '  dev:      flannel.1',
      '  protocol: kernel',
    ]);
  });
});
