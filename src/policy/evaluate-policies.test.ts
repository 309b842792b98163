import { describe, expect, it } from 'vitest';
import { buildClusterIndex } from '../k8s/cluster-index.js';
import type { NetworkPolicy, Pod } from '../k8s/objects.js';
import { evaluatePolicies } from './evaluate-policies.js';
import type { PolicyEndpoint } from './policy-endpoint.js';
import { policySuspicions } from './policy-suspicions.js';

const pod = (ns: string, name: string, ip: string, labels: Record<string, string>, extra: Partial<Pod['spec']> = {}): Pod => ({
  metadata: { namespace: ns, name, labels },
  spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] }], ...extra },
  status: { phase: 'Running', podIP: ip },
});
const web = pod('shop', 'web', '10.244.1.5', { app: 'web' });
const cart = pod('shop', 'cart', '10.244.1.6', { app: 'cart' });
const other = pod('other', 'client', '10.244.2.7', { app: 'web' });
const np = (name: string, spec: NonNullable<NetworkPolicy['spec']>, ns = 'shop'): NetworkPolicy => ({ metadata: { namespace: ns, name }, spec });
const cluster = (nps: NetworkPolicy[]) =>
  buildClusterIndex({
    nodes: [{ metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.0.1' }] } }],
    namespaces: [{ metadata: { name: 'shop', labels: { team: 'a' } } }, { metadata: { name: 'other', labels: { team: 'b' } } }],
    pods: [web, cart, other],
    networkPolicies: nps,
  });
const P = (p: Pod): PolicyEndpoint => ({ kind: 'pod', pod: p });
const cartOnly = { matchLabels: { app: 'cart' } };

describe('evaluatePolicies: NetworkPolicy semantics', () => {
  it.each([
    { name: 'no policy: allowed', nps: [], src: P(web), port: 8080, allowed: true },
    { name: 'empty ingress list isolates and denies', nps: [np('deny', { podSelector: {}, policyTypes: ['Ingress'] })], src: P(web), port: 8080, allowed: false },
    { name: 'empty from allows everyone (not deny)', nps: [np('p', { podSelector: cartOnly, ingress: [{ ports: [{ port: 8080 }] }] })], src: P(other), port: 8080, allowed: true },
    { name: 'allows are a union across policies', nps: [np('deny', { podSelector: {}, policyTypes: ['Ingress'] }), np('allow', { podSelector: cartOnly, ingress: [{}] })], src: P(web), port: 8080, allowed: true },
    { name: 'podSelector alone means the policy namespace', nps: [np('p', { podSelector: cartOnly, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] })], src: P(other), port: 8080, allowed: false },
    { name: 'namespaceSelector AND podSelector in one peer', nps: [np('p', { podSelector: cartOnly, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } }, podSelector: { matchLabels: { app: 'web' } } }] }] })], src: P(other), port: 8080, allowed: true },
    { name: 'both selectors: namespace must match too', nps: [np('p', { podSelector: cartOnly, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } }, podSelector: { matchLabels: { app: 'web' } } }] }] })], src: P(web), port: 8080, allowed: false },
    { name: 'matchExpressions DoesNotExist', nps: [np('p', { podSelector: cartOnly, ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] } }] }] })], src: P(web), port: 8080, allowed: true },
    { name: 'named port resolves on the destination pod', nps: [np('p', { podSelector: cartOnly, ingress: [{ ports: [{ port: 'http' }] }] })], src: P(web), port: 8080, allowed: true },
    { name: 'named port with the wrong protocol does not match', nps: [np('p', { podSelector: cartOnly, ingress: [{ ports: [{ port: 'dns', protocol: 'TCP' }] }] })], src: P(web), port: 53, allowed: false },
    { name: 'endPort range', nps: [np('p', { podSelector: cartOnly, ingress: [{ ports: [{ port: 8000, endPort: 8100 }] }] })], src: P(web), port: 8080, allowed: true },
    { name: 'ports match the destination port, not the source port', nps: [np('p', { podSelector: cartOnly, ingress: [{ ports: [{ port: 80 }] }] })], src: P(web), port: 8080, allowed: false },
    { name: 'ipBlock with except', nps: [np('p', { podSelector: cartOnly, ingress: [{ from: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }] }] })], src: { kind: 'external', ip: '203.0.113.200' } as PolicyEndpoint, port: 8080, allowed: false },
    { name: 'ipBlock matches an external address', nps: [np('p', { podSelector: cartOnly, ingress: [{ from: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }] }] })], src: { kind: 'external', ip: '203.0.113.9' } as PolicyEndpoint, port: 8080, allowed: true },
    { name: 'selectors never match a node', nps: [np('p', { podSelector: cartOnly, ingress: [{ from: [{ namespaceSelector: {} }] }] })], src: { kind: 'node', ip: '192.168.0.9' } as PolicyEndpoint, port: 8080, allowed: false },
    { name: "the pod's own node is always allowed in", nps: [np('deny', { podSelector: {}, policyTypes: ['Ingress'] })], src: { kind: 'node', ip: '192.168.0.1' } as PolicyEndpoint, port: 8080, allowed: true },
    { name: 'egress isolation of the source', nps: [np('deny-egress', { podSelector: {}, policyTypes: ['Egress'] }, 'other')], src: P(other), port: 8080, allowed: false },
  ])('$name', ({ nps, src, port, allowed }) => {
    expect(evaluatePolicies({ cluster: cluster(nps), source: src, destination: P(cart), port, protocol: 'tcp' }).allowed).toBe(allowed);
  });

  it.each([
    { name: 'ipBlock matches pod IPs by default (Calico, upstream e2e)', option: undefined, allowed: true },
    { name: 'ipBlock ignores pod IPs when the plugin says so (Cilium)', option: false, allowed: false },
  ])('$name', ({ option, allowed }) => {
    const nps = [np('p', { podSelector: cartOnly, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16' } }] }] })];
    expect(evaluatePolicies({ cluster: cluster(nps), source: P(web), destination: P(cart), port: 8080, protocol: 'TCP', ...(option !== undefined ? { ipBlockMatchesPodIps: option } : {}) }).allowed).toBe(allowed);
  });

  it('a hostNetwork pod is not a subject', () => {
    const host = pod('shop', 'agent', '192.168.0.1', { app: 'cart' }, { hostNetwork: true });
    const v = evaluatePolicies({ cluster: cluster([np('deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })]), source: { kind: 'node', ip: '192.168.0.1' }, destination: { kind: 'external', ip: host.status?.podIP as string }, port: 1, protocol: 'tcp' });
    expect([v.allowed, v.egress.applies, v.ingress.applies]).toEqual([true, false, false]);
  });

  it('explains the denial and names the rule that allows', () => {
    const nps = [np('default-deny', { podSelector: {}, policyTypes: ['Ingress'] }), np('allow-web', { podSelector: cartOnly, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'x' } } }, { podSelector: { matchLabels: { app: 'web' } } }] }] })];
    const denied = evaluatePolicies({ cluster: cluster(nps), source: P(other), destination: P(cart), port: 8080, protocol: 'tcp' });
    expect(denied.ingress.explanation).toBe('[NP] denied: pod shop/cart is isolated for ingress by shop/default-deny, shop/allow-web, no rule allows pod other/client (10.244.2.7) on TCP 8080');
    const allowed = evaluatePolicies({ cluster: cluster(nps), source: P(web), destination: P(cart), port: 8080, protocol: 'tcp' });
    expect(allowed.ingress.allowedBy).toEqual([{ kind: 'NetworkPolicy', policy: 'shop/allow-web', tier: 'networkPolicy', ruleIndex: 0, peerIndex: 1, action: 'Allow' }]);
  });
});

describe('policySuspicions', () => {
  const nps = [np('deny-egress', { podSelector: {}, policyTypes: ['Egress'] }, 'other'), np('deny', { podSelector: {}, policyTypes: ['Ingress'] })];
  const verdict = evaluatePolicies({ cluster: cluster(nps), source: P(other), destination: P(cart), port: 8080, protocol: 'tcp' });
  it.each([
    { name: 'enforced: a deny on each enforcing hop', enforced: true, want: [['fatal', 'NETWORK_POLICY_DENY', 'other/client'], ['fatal', 'NETWORK_POLICY_DENY', 'shop/cart']] },
    { name: 'not enforced: warnings', enforced: false, want: [['warning', 'NETWORK_POLICY_NOT_ENFORCED', 'other/client'], ['warning', 'NETWORK_POLICY_NOT_ENFORCED', 'shop/cart']] },
  ])('$name', ({ enforced, want }) => {
    const s = policySuspicions(verdict, { sourceHop: 'other/client', destinationHop: 'shop/cart', enforced });
    expect(s.map((x) => [x.level, x.code, x.on])).toEqual(want);
  });

  it('an admin deny is ADMIN_NETWORK_POLICY_DENY with the rule as evidence', () => {
    const index = buildClusterIndex({
      pods: [web, cart],
      adminNetworkPolicies: [{ metadata: { name: 'block' }, spec: { priority: 3, subject: { namespaces: {} }, egress: [{ name: 'no-cart', action: 'Deny', to: [{ pods: { namespaceSelector: {}, podSelector: cartOnly } }] }] } }],
    });
    const v = evaluatePolicies({ cluster: index, source: P(web), destination: P(cart), port: 8080, protocol: 'tcp' });
    const [s] = policySuspicions(v, { sourceHop: 'shop/web', destinationHop: 'shop/cart', enforced: true });
    expect([s?.code, s?.on, s?.message]).toEqual(['ADMIN_NETWORK_POLICY_DENY', 'shop/web', '[ANP] denied (block, rule 1 "no-cart"): egress of pod shop/web to pod shop/cart (10.244.1.6) on TCP 8080']);
    expect(s?.evidence?.['rule']).toMatchObject({ policy: 'block', rule: 0, ruleName: 'no-cart', priority: 3 });
  });
});
