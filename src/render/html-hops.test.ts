import { describe, expect, it } from 'vitest';
import {
  partialServiceBlackhole,
  reachablePodToPod,
  unreachableIptablesDrop,
} from '../../test/fixtures/results/examples.js';
import { viewHops, type HopView } from './html-hops.js';
import { describeNat } from './packet-text.js';

const hopOf = (hops: readonly HopView[], id: string): HopView => {
  const h = hops.find((x) => x.id === id);
  if (h === undefined) throw new Error(`no hop ${id}`);
  return h;
};

describe('viewHops', () => {
  it('lists the hops in path order, each once', () => {
    expect(viewHops(partialServiceBlackhole()).map((h) => h.id)).toEqual([
      'default/client',
      'node-1',
      'shop/cart',
      'shop/cart-5b6d9-k8j2p',
      'node-2',
      'shop/cart-7f9c8-q4w5e',
    ]);
  });

  it.each([
    {
      name: 'the source only sends',
      hop: 'default/client',
      interfaces: [{ direction: 'out', peer: 'node-1', link: 'veth', name: 'eth0' }],
    },
    {
      name: 'a node: in on the host veth, out to the Service hop with no interface',
      hop: 'node-1',
      interfaces: [
        { direction: 'in', peer: 'default/client', link: 'veth', name: 'veth3f2a9c1e' },
        { direction: 'out', peer: 'shop/cart', link: 'local' },
      ],
    },
    {
      name: 'two links over the same tunnel to the same peer count once',
      hop: 'node-2',
      interfaces: [
        { direction: 'in', peer: 'shop/cart', link: 'vxlan', name: 'flannel.1' },
        { direction: 'out', peer: 'shop/cart-7f9c8-q4w5e', link: 'veth', name: 'veth0d9e8f7a' },
      ],
    },
  ])('$name', ({ hop, interfaces }) => {
    expect(hopOf(viewHops(partialServiceBlackhole()), hop).interfaces).toEqual(interfaces);
  });

  it('the Service hop shows one crossing per backend, each with its DNAT', () => {
    const cart = hopOf(viewHops(partialServiceBlackhole()), 'shop/cart');
    expect(cart.crossings.map((c) => [c.next, c.branches, c.nat])).toEqual([
      ['shop/cart-5b6d9-k8j2p', [0], ['DNAT 10.96.0.10:80 → 10.244.1.8:8080']],
      ['node-2', [1], ['DNAT 10.96.0.10:80 → 10.244.2.9:8080']],
      ['node-2', [2], ['DNAT 10.96.0.10:80 → 10.244.2.14:8080']],
    ]);
    for (const c of cart.crossings) {
      if (c.before === undefined || c.after === undefined) throw new Error('crossing without packets');
      expect(c.nat).toEqual(describeNat(c.before, c.after));
    }
  });

  it('the source crossing starts there; the hop every branch shares counts once', () => {
    const hops = viewHops(partialServiceBlackhole());
    const [source] = hopOf(hops, 'default/client').crossings;
    expect(source?.before).toBeUndefined();
    expect(source?.after?.dst).toBe('10.96.0.10');
    expect(hopOf(hops, 'node-1').crossings.map((c) => c.branches)).toEqual([[0, 1, 2]]);
  });

  it('a dropped branch ends at its endedAt hop with its codes and probability', () => {
    const node2 = hopOf(viewHops(partialServiceBlackhole()), 'node-2');
    expect(node2.ends).toEqual([
      {
        branch: 2,
        outcome: 'dropped',
        probability: 1 / 3,
        backend: 'shop/cart-2c4e1-z9x8c 10.244.2.14:8080',
        codes: ['ROUTE_BLACKHOLE'],
      },
    ]);
    expect(node2.worst).toBe('fatal');
    expect(node2.suspicions.map((s) => s.code)).toEqual(['ROUTE_BLACKHOLE']);
  });

  it.each([
    {
      name: 'delivered pod to pod',
      result: reachablePodToPod(),
      hop: 'default/web-5d8f7c9b4-x2x7q',
      outcome: 'delivered',
    },
    {
      name: 'dropped by iptables',
      result: unreachableIptablesDrop(),
      hop: 'default/db-0',
      outcome: 'dropped',
    },
  ])('$name: the last hop receives and does not forward', ({ result, hop, outcome }) => {
    const h = hopOf(viewHops(result), hop);
    expect(h.crossings).toHaveLength(1);
    expect(h.crossings[0]?.after).toBeUndefined();
    expect(h.ends.map((e) => e.outcome)).toEqual([outcome]);
  });

  it('a hop only a suspicion names (cluster) comes last, without a type', () => {
    const result = {
      ...reachablePodToPod(),
      suspicions: [
        { level: 'warning', code: 'DUPLICATE_IP', on: 'cluster', message: 'two pods have 10.244.2.7' },
      ] as const,
    };
    const hops = viewHops(result);
    const last = hops[hops.length - 1];
    expect(last?.id).toBe('cluster');
    expect(last?.type).toBeUndefined();
    expect(last?.worst).toBe('warning');
  });
});
