/**
 * The policy cases of the upstream NetworkPolicy e2e suite (kubernetes/kubernetes,
 * test/e2e/network/netpol/network_policy.go: "Netpol NetworkPolicy between server and client", and
 * its UDP and SCTP variants), re-expressed as data: the policies of each step and, per port and
 * protocol probed, the `Reachability` expectations upstream sets. Policy and test names are
 * upstream's. Steps that update or delete policies or labels are separate steps with the state after
 * the change.
 */
import type { KubeProtocol, LabelSelector, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule } from '../../src/k8s/objects.js';
import type { Expectation, ModelChanges } from './conformance-model.js';
import { podIp } from './conformance-model.js';

/** One probe: a port and protocol, and what upstream expects of the 9×9 matrix. */
export interface Probe {
  readonly port: number;
  readonly protocol: KubeProtocol;
  readonly expect: readonly Expectation[];
}

/** The cluster state of one step and its probes. */
export interface Step {
  readonly policies: readonly NetworkPolicy[];
  readonly changes?: ModelChanges;
  readonly probes: readonly Probe[];
}

/** One upstream `It(...)`. */
export interface UpstreamCase {
  readonly name: string;
  readonly steps: readonly Step[];
}

/** upstream GenNetworkPolicyWithNameAndPodSelector + SetSpecIngressRules/SetSpecEgressRules. */
function np(ns: string, name: string, podSelector: LabelSelector, rules: { ingress?: NetworkPolicyIngressRule[]; egress?: NetworkPolicyEgressRule[] }): NetworkPolicy {
  return {
    metadata: { namespace: ns, name },
    spec: {
      podSelector,
      policyTypes: [...(rules.ingress !== undefined ? (['Ingress'] as const) : []), ...(rules.egress !== undefined ? (['Egress'] as const) : [])],
      ...(rules.ingress !== undefined ? { ingress: rules.ingress } : {}),
      ...(rules.egress !== undefined ? { egress: rules.egress } : {}),
    },
  };
}

const labels = (m: Record<string, string>): LabelSelector => ({ matchLabels: m });
const podA = labels({ pod: 'a' });
const all: LabelSelector = {};
const nsName = (ns: string): LabelSelector => labels({ 'kubernetes.io/metadata.name': ns });
const tcp = (port: number, ...expect: Expectation[]): Probe => ({ port, protocol: 'TCP', expect });
const udp = (port: number, ...expect: Expectation[]): Probe => ({ port, protocol: 'UDP', expect });
const sctp = (port: number, ...expect: Expectation[]): Probe => ({ port, protocol: 'SCTP', expect });
const one = (policies: NetworkPolicy[], ...probes: Probe[]): Step => ({ policies, probes });

const denyIngressX = np('x', 'deny-ingress', all, { ingress: [] });
const allowPort81FromY = np('x', 'allow-client-a-via-ns-selector', podA, { ingress: [{ from: [{ namespaceSelector: nsName('y') }], ports: [{ port: 81, protocol: 'TCP' }] }] });
const cidrExcept = np('x', 'allow-client-a-via-cidr-egress-rule', podA, { egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/4', except: [`${podIp('x/b')}/32`] } }] }] });
const podAndNsFromYA = (name: string) => np('x', name, podA, { ingress: [{ from: [{ namespaceSelector: nsName('y'), podSelector: podA }] }] });
const portsFromY = (name: string, protocol: KubeProtocol) => np('x', name, podA, { ingress: [{ from: [{ namespaceSelector: nsName('y') }], ports: [{ port: 81, protocol }] }] });

/** Every upstream case, in the order of the upstream file. */
export const UPSTREAM_CASES: readonly UpstreamCase[] = [
  { name: "should support a 'default-deny-ingress' policy", steps: [one([denyIngressX], tcp(80, ['*', 'x/*', false]))] },
  {
    name: "should support a 'default-deny-all' policy",
    steps: [one([np('x', 'deny-all', all, { ingress: [], egress: [] })], tcp(80, ['*', 'x/*', false], ['x/*', '*', false]))],
  },
  {
    name: 'should enforce policy to allow traffic from pods within server namespace based on PodSelector',
    steps: [one([np('x', 'x-a-allows-x-b', podA, { ingress: [{ from: [{ podSelector: labels({ pod: 'b' }) }] }] })], tcp(80, ['*', 'x/a', false], ['x/b', 'x/a', true]))],
  },
  {
    name: 'should enforce policy to allow ingress traffic for a target',
    steps: [
      one(
        [np('x', 'deny-all', all, { ingress: [] }), np('x', 'allow-all-to-a', podA, { ingress: [{ from: [{ podSelector: {}, namespaceSelector: {} }] }] })],
        tcp(80, ['*', 'x/a', true], ['*', 'x/b', false], ['*', 'x/c', false]),
      ),
    ],
  },
  {
    name: 'should enforce policy to allow ingress traffic from pods in all namespaces',
    steps: [one([np('x', 'allow-from-another-ns', podA, { ingress: [{ from: [{ namespaceSelector: { matchLabels: {} } }] }] })], tcp(80))],
  },
  {
    name: 'should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector',
    steps: [one([np('x', 'allow-client-a-via-ns-selector', podA, { ingress: [{ from: [{ namespaceSelector: nsName('y') }] }] })], tcp(80, ['x/*', 'x/a', false], ['z/*', 'x/a', false]))],
  },
  {
    name: 'should enforce policy based on PodSelector with MatchExpressions',
    steps: [
      one(
        [np('x', 'x-a-allows-x-b', podA, { ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b'] }] } }] }] })],
        tcp(80, ['*', 'x/a', false], ['x/b', 'x/a', true]),
      ),
    ],
  },
  {
    name: 'should enforce policy based on NamespaceSelector with MatchExpressions',
    steps: [
      one(
        [np('x', 'allow-ns-y-match-selector', podA, { ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['y'] }] } }] }] })],
        tcp(80, ['x/*', 'x/a', false], ['z/*', 'x/a', false]),
      ),
    ],
  },
  {
    name: 'should enforce policy based on PodSelector or NamespaceSelector',
    steps: [
      one(
        [
          np('x', 'allow-ns-y-match-selector', podA, {
            ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['x'] }] } }, { podSelector: labels({ pod: 'b' }) }] }],
          }),
        ],
        tcp(80, ['x/a', 'x/a', false], ['x/c', 'x/a', false]),
      ),
    ],
  },
  {
    name: 'should enforce policy based on PodSelector and NamespaceSelector',
    steps: [
      one(
        [
          np('x', 'allow-ns-y-podselector-and-nsselector', podA, {
            ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['x'] }] }, podSelector: labels({ pod: 'b' }) }] }],
          }),
        ],
        tcp(80, ['*', 'x/a', false], ['y/b', 'x/a', true], ['z/b', 'x/a', true]),
      ),
    ],
  },
  {
    name: 'should enforce policy based on Multiple PodSelectors and NamespaceSelectors',
    steps: [
      one(
        [
          np('x', 'allow-ns-y-z-pod-b-c', podA, {
            ingress: [
              {
                from: [
                  {
                    namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['x'] }] },
                    podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] },
                  },
                ],
              },
            ],
          }),
        ],
        tcp(80, ['x/*', 'x/a', false], ['y/a', 'x/a', false], ['z/a', 'x/a', false]),
      ),
    ],
  },
  {
    name: 'should enforce policy based on any PodSelectors',
    steps: [
      one(
        [np('x', 'allow-ns-x-pod-b-c', podA, { ingress: [{ from: [{ podSelector: labels({ pod: 'b' }) }, { podSelector: labels({ pod: 'c' }) }] }] })],
        tcp(80, ['*', 'x/a', false], ['x/b', 'x/a', true], ['x/c', 'x/a', true]),
      ),
    ],
  },
  {
    name: 'should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
    steps: [one([podAndNsFromYA('allow-ns-y-pod-a-via-namespace-pod-selector')], tcp(80, ['*', 'x/a', false], ['y/a', 'x/a', true]))],
  },
  {
    name: 'should enforce policy based on Ports',
    steps: [one([allowPort81FromY], tcp(81, ['x/*', 'x/a', false], ['y/*', 'x/a', true], ['z/*', 'x/a', false]))],
  },
  {
    name: 'should enforce multiple, stacked policies with overlapping podSelectors',
    steps: [
      one([allowPort81FromY], tcp(81, ['x/*', 'x/a', false], ['y/*', 'x/a', true], ['z/*', 'x/a', false]), tcp(80, ['*', 'x/a', false])),
      one(
        [allowPort81FromY, np('x', 'allow-client-a-via-ns-selector-80', podA, { ingress: [{ from: [{ namespaceSelector: nsName('y') }], ports: [{ port: 80, protocol: 'TCP' }] }] })],
        tcp(80, ['x/*', 'x/a', false], ['y/*', 'x/a', true], ['z/*', 'x/a', false]),
      ),
    ],
  },
  { name: 'should support allow-all policy', steps: [one([np('x', 'allow-all', labels({}), { ingress: [{}] })], tcp(80), tcp(81))] },
  {
    name: 'should allow ingress access on one named port',
    steps: [one([np('x', 'allow-all', labels({}), { ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] })], tcp(81), tcp(80, ['*', 'x/*', false]))],
  },
  {
    name: 'should allow ingress access from namespace on one named port',
    steps: [
      one(
        [np('x', 'allow-client-a-via-ns-selector-80', podA, { ingress: [{ from: [{ namespaceSelector: nsName('y') }], ports: [{ port: 'serve-80-tcp', protocol: 'TCP' }] }] })],
        tcp(80, ['x/*', 'x/a', false], ['z/*', 'x/a', false]),
        tcp(81, ['*', 'x/a', false]),
      ),
    ],
  },
  {
    name: 'should allow egress access on one named port',
    steps: [one([np('x', 'allow-egress', labels({}), { egress: [{ ports: [{ port: 'serve-80-tcp' }] }] })], tcp(80), tcp(81, ['x/*', '*', false]))],
  },
  {
    name: 'should enforce updated policy',
    steps: [
      one([np('x', 'allow-all-mutate-to-deny-all', labels({}), { ingress: [{}] })], tcp(81)),
      one([np('x', 'allow-all-mutate-to-deny-all', labels({}), { ingress: [] })], tcp(81, ['*', 'x/*', false])),
    ],
  },
  {
    name: 'should allow ingress access from updated namespace',
    steps: [
      one([np('x', 'allow-client-a-via-ns-selector', podA, { ingress: [{ from: [{ namespaceSelector: labels({ ns2: 'updated' }) }] }] })], tcp(80, ['*', 'x/a', false])),
      {
        policies: [np('x', 'allow-client-a-via-ns-selector', podA, { ingress: [{ from: [{ namespaceSelector: labels({ ns2: 'updated' }) }] }] })],
        changes: { namespaceLabels: { y: { ns2: 'updated' } } },
        probes: [tcp(80, ['*', 'x/a', false], ['y/*', '*', true])],
      },
    ],
  },
  {
    name: 'should allow ingress access from updated pod',
    steps: [
      one([np('x', 'allow-client-a-via-pod-selector', podA, { ingress: [{ from: [{ podSelector: labels({ pod: 'b', pod2: 'updated' }) }] }] })], tcp(80, ['*', 'x/a', false])),
      {
        policies: [np('x', 'allow-client-a-via-pod-selector', podA, { ingress: [{ from: [{ podSelector: labels({ pod: 'b', pod2: 'updated' }) }] }] })],
        changes: { podLabels: { 'x/b': { pod2: 'updated' } } },
        probes: [tcp(80, ['*', 'x/a', false], ['x/b', 'x/a', true])],
      },
    ],
  },
  {
    name: 'should deny ingress from pods on other namespaces',
    steps: [one([np('x', 'deny-empty-policy', all, { ingress: [{ from: [{ podSelector: { matchLabels: {} } }] }] })], tcp(80, ['y/*', 'x/*', false], ['z/*', 'x/*', false]))],
  },
  {
    name: 'should deny ingress access to updated pod',
    steps: [
      one([np('x', 'deny-ingress-via-label-selector', labels({ target: 'isolated' }), { ingress: [] })], tcp(80)),
      {
        policies: [np('x', 'deny-ingress-via-label-selector', labels({ target: 'isolated' }), { ingress: [] })],
        changes: { podLabels: { 'x/a': { target: 'isolated' } } },
        probes: [tcp(80, ['*', 'x/a', false])],
      },
    ],
  },
  { name: 'should deny egress from pods based on PodSelector', steps: [one([np('x', 'deny-egress-pod-a', podA, { egress: [] })], tcp(80, ['x/a', '*', false]))] },
  { name: 'should deny egress from all pods in a namespace', steps: [one([np('x', 'deny-egress-ns-x', all, { egress: [] })], tcp(80, ['x/*', '*', false]))] },
  {
    name: 'should work with Ingress, Egress specified together',
    steps: [
      one(
        [
          {
            metadata: { namespace: 'x', name: 'allow-client-a-via-pod-selector' },
            spec: { podSelector: podA, policyTypes: ['Egress', 'Ingress'], ingress: [{ from: [{ podSelector: labels({ pod: 'b' }) }] }], egress: [{ ports: [{ port: 80 }] }] },
          },
        ],
        tcp(80, ['*', 'x/a', false], ['x/b', 'x/a', true]),
        tcp(81, ['*', 'x/a', false], ['x/a', '*', false], ['x/b', 'x/a', true]),
      ),
    ],
  },
  {
    name: 'should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)',
    steps: [
      one(
        [
          np('x', 'allow-to-ns-y-pod-a', podA, { egress: [{ to: [{ namespaceSelector: nsName('y'), podSelector: podA }] }] }),
          np('y', 'allow-from-xa-on-ya-match-selector', podA, { ingress: [{ from: [{ namespaceSelector: nsName('x'), podSelector: podA }] }] }),
          np('y', 'allow-from-xa-on-yb-match-selector', labels({ pod: 'b' }), { ingress: [{ from: [{ namespaceSelector: nsName('x'), podSelector: podA }] }] }),
        ],
        tcp(80, ['x/a', '*', false], ['*', 'y/a', false], ['x/a', 'y/a', true], ['*', 'y/b', false]),
      ),
    ],
  },
  {
    name: 'should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector',
    steps: [one([np('x', 'allow-to-ns-y-pod-a', podA, { egress: [{ to: [{ namespaceSelector: nsName('y'), podSelector: podA }] }] })], tcp(80, ['x/a', '*', false], ['x/a', 'y/a', true]))],
  },
  {
    name: 'should enforce ingress policy allowing any port traffic to a server on a specific protocol',
    steps: [one([np('x', 'allow-ingress-by-proto', podA, { ingress: [{ ports: [{ protocol: 'TCP' }] }] })], tcp(80), udp(80, ['*', 'x/a', false]))],
  },
  {
    name: 'should enforce multiple ingress policies with ingress allow-all policy taking precedence',
    steps: [
      one([np('x', 'allow-ingress-port-80', labels({}), { ingress: [{ ports: [{ port: 80 }] }] })], tcp(81, ['*', 'x/*', false])),
      one([np('x', 'allow-ingress-port-80', labels({}), { ingress: [{ ports: [{ port: 80 }] }] }), np('x', 'allow-ingress', labels({}), { ingress: [{}] })], tcp(81)),
    ],
  },
  {
    name: 'should enforce multiple egress policies with egress allow-all policy taking precedence',
    steps: [
      one([np('x', 'allow-egress-port-80', labels({}), { egress: [{ ports: [{ port: 80 }] }] })], tcp(81, ['x/*', '*', false])),
      one([np('x', 'allow-egress-port-80', labels({}), { egress: [{ ports: [{ port: 80 }] }] }), np('x', 'allow-egress', labels({}), { egress: [{}] })], tcp(81)),
    ],
  },
  {
    name: 'should stop enforcing policies after they are deleted',
    steps: [one([np('x', 'deny-all', all, { ingress: [], egress: [] })], tcp(80, ['x/*', '*', false], ['*', 'x/*', false])), one([], tcp(80))],
  },
  {
    name: 'should allow egress access to server in CIDR block',
    steps: [one([np('x', 'allow-client-a-via-cidr-egress-rule', podA, { egress: [{ to: [{ ipBlock: { cidr: `${podIp('y/b')}/32` } }] }] })], tcp(80, ['x/a', '*', false], ['x/a', 'y/b', true]))],
  },
  { name: 'should enforce except clause while egress access to server in CIDR block', steps: [one([cidrExcept], tcp(80, ['x/a', 'x/b', false]))] },
  {
    name: 'should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed',
    steps: [
      one([cidrExcept], tcp(80, ['x/a', 'x/b', false])),
      // UpdatePolicy replaces the policy of the same name.
      one([np('x', 'allow-client-a-via-cidr-egress-rule', podA, { egress: [{ to: [{ ipBlock: { cidr: `${podIp('x/b')}/32` } }] }] })], tcp(80, ['x/a', '*', false], ['x/a', 'x/b', true])),
    ],
  },
  {
    name: 'should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector',
    steps: [
      one([np('x', 'allow-egress-for-target', podA, { egress: [{}] })], tcp(80)),
      one([np('x', 'allow-egress-for-target', podA, { egress: [{}] }), np('x', 'deny-ingress-via-label-selector', podA, { ingress: [] })], tcp(80, ['*', 'x/a', false])),
    ],
  },
  {
    name: "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP",
    steps: [one([denyIngressX, np('x', 'allow-only-sctp-ingress-on-port-81', podA, { ingress: [{ ports: [{ port: 81, protocol: 'SCTP' }] }] })], tcp(81, ['*', 'x/*', false]))],
  },
  {
    name: "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP",
    steps: [one([np('x', 'allow-only-sctp-ingress-on-port-80', podA, { ingress: [{ ports: [{ port: 80, protocol: 'SCTP' }] }] })], tcp(81, ['*', 'x/a', false]))],
  },
  {
    name: 'should not allow access by TCP when a policy specifies only UDP',
    steps: [one([np('x', 'allow-only-udp-ingress-on-port-81', podA, { ingress: [{ ports: [{ port: 81, protocol: 'UDP' }] }] })], tcp(81, ['*', 'x/a', false]))],
  },
  {
    name: 'should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label',
    steps: [
      one([np('x', 'allow-client-a-via-ns-selector-for-immutable-ns-label', podA, { ingress: [{ from: [{ namespaceSelector: nsName('y') }] }] })], tcp(80, ['x/*', 'x/a', false], ['z/*', 'x/a', false])),
    ],
  },
  {
    name: 'should enforce policy based on NamespaceSelector with MatchExpressions using default ns label',
    steps: [
      one(
        [np('x', 'allow-ns-y-match-selector-for-immutable-ns-label', podA, { egress: [{ to: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['y'] }] } }] }] })],
        tcp(80, ['x/a', 'y/*', false]),
      ),
    ],
  },
  { name: "UDP: should support a 'default-deny-ingress' policy", steps: [one([np('x', 'deny-all', all, { ingress: [] })], udp(80, ['*', 'x/*', false]))] },
  { name: 'UDP: should enforce policy based on Ports', steps: [one([portsFromY('allow-ingress-on-port-81-ns-x', 'UDP')], udp(81, ['x/*', 'x/a', false], ['z/*', 'x/a', false]))] },
  {
    name: 'UDP: should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
    steps: [one([podAndNsFromYA('allow-ns-y-pod-a-via-namespace-pod-selector')], udp(80, ['*', 'x/a', false], ['y/a', 'x/a', true]))],
  },
  { name: "SCTP: should support a 'default-deny-ingress' policy", steps: [one([np('x', 'deny-all', all, { ingress: [] })], sctp(80, ['*', 'x/*', false]))] },
  { name: 'SCTP: should enforce policy based on Ports', steps: [one([portsFromY('allow-ingress-on-port-81-ns-x', 'SCTP')], sctp(81, ['x/*', 'x/a', false], ['z/*', 'x/a', false]))] },
  {
    name: 'SCTP: should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
    steps: [one([podAndNsFromYA('allow-ns-y-pod-a-via-namespace-pod-selector')], sctp(80, ['*', 'x/a', false], ['y/a', 'x/a', true]))],
  },
];
