/**
 * Property test over the x/y/z model: random policy sets give the same 9×9 matrix in any order,
 * and when one policy is split into two with the same rules. Deterministic (seeded mulberry32).
 */
import { describe, expect, it } from 'vitest';
import type { LabelSelector, NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer } from '../../src/k8s/objects.js';
import { computedMatrix, modelObjects, podIp, PODS } from './conformance-model.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(r: () => number): NetworkPolicy[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const selector = (): LabelSelector =>
    pick<LabelSelector>([{}, { matchLabels: { pod: pick(['a', 'b', 'c']) } }, { matchExpressions: [{ key: 'pod', operator: pick(['In', 'NotIn'] as const), values: [pick(['a', 'b', 'c'])] }] }]);
  const nsSel = (): LabelSelector => pick<LabelSelector>([{}, { matchLabels: { ns: pick(['x', 'y', 'z']) } }]);
  const peer = (): NetworkPolicyPeer =>
    pick<() => NetworkPolicyPeer>([
      () => ({ podSelector: selector() }),
      () => ({ namespaceSelector: nsSel() }),
      () => ({ namespaceSelector: nsSel(), podSelector: selector() }),
      () => ({ ipBlock: { cidr: `${podIp(pick(PODS))}/32` } }),
    ])();
  const rule = (): NetworkPolicyIngressRule => ({
    ...(r() < 0.7 ? { from: Array.from({ length: 1 + Math.floor(r() * 2) }, peer) } : {}),
    ...(r() < 0.5 ? { ports: [pick([{ port: 80 }, { port: 81 }, { port: 'serve-80-tcp' }, { protocol: 'UDP' as const }])] } : {}),
  });
  return Array.from({ length: 1 + Math.floor(r() * 4) }, (_, i): NetworkPolicy => {
    const ingress = r() < 0.8;
    const egress = r() < 0.5 || !ingress;
    return {
      metadata: { namespace: pick(['x', 'y', 'z']), name: `p${i}` },
      spec: {
        podSelector: selector(),
        policyTypes: [...(ingress ? (['Ingress'] as const) : []), ...(egress ? (['Egress'] as const) : [])],
        ingress: ingress ? Array.from({ length: Math.floor(r() * 3) }, rule) : [],
        egress: egress ? Array.from({ length: Math.floor(r() * 3) }, () => { const x = rule(); return { ...(x.from !== undefined ? { to: x.from } : {}), ...(x.ports !== undefined ? { ports: x.ports } : {}) }; }) : [],
      },
    };
  });
}

/** Splits `p` into two policies with the same selector and types, each holding part of the rules. */
function split(p: NetworkPolicy): NetworkPolicy[] {
  const ingress = p.spec?.ingress ?? [];
  const egress = p.spec?.egress ?? [];
  const half = <T>(xs: readonly T[], first: boolean): T[] => (first ? xs.slice(0, Math.ceil(xs.length / 2)) : xs.slice(Math.ceil(xs.length / 2)));
  return [true, false].map((first) => ({ metadata: { namespace: p.metadata.namespace as string, name: `${p.metadata.name}-${first ? 1 : 2}` }, spec: { ...p.spec, ingress: half(ingress, first), egress: half(egress, first) } }));
}

const cases = Array.from({ length: 40 }, (_, seed) => ({ name: `seed ${seed}`, seed }));

describe('policy properties on random policy sets', () => {
  it.each(cases)('$name: order-independent and split-invariant', ({ seed }) => {
    const r = rng(seed + 1);
    const policies = generate(r);
    const base = computedMatrix(modelObjects(policies), 80, 'TCP');
    expect(computedMatrix(modelObjects([...policies].reverse()), 80, 'TCP')).toEqual(base);
    const i = Math.floor(r() * policies.length);
    const splitSet = policies.flatMap((p, j) => (j === i ? split(p) : [p]));
    expect(computedMatrix(modelObjects(splitSet), 80, 'TCP')).toEqual(base);
  });

  it('the generator produces both allowed and denied cells', () => {
    const cells = cases.flatMap(({ seed }) => computedMatrix(modelObjects(generate(rng(seed + 1))), 80, 'TCP').flat());
    expect(cells.includes(true) && cells.includes(false)).toBe(true);
  });
});
