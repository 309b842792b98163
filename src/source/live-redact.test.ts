import { describe, expect, it } from 'vitest';
import { completeObjects, type ClusterObjects } from '../k8s/objects.js';
import { redactSnapshot, scrubSnapshot } from './live-redact.js';
import type { Snapshot } from './snapshot.js';

const snapshot: Snapshot = {
  apiVersion: 'skoop/v1',
  kind: 'Snapshot',
  objects: completeObjects({
    namespaces: [{ metadata: { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop' } } }, { metadata: { name: 'kube-system' } }],
    pods: [
      { metadata: { name: 'cart-7d9f', namespace: 'shop' }, spec: { nodeName: 'n1', containers: [{ name: 'c', env: [{ name: 'DB_PASSWORD', value: 'hunter2' }] }] } },
      { metadata: { name: 'kube-proxy-x', namespace: 'kube-system' }, spec: { nodeName: 'n1', containers: [{ name: 'c' }] } },
    ],
    endpointSlices: [{ metadata: { name: 'cart-abc', namespace: 'shop' }, endpoints: [{ addresses: ['10.0.0.2'], targetRef: { kind: 'Pod', name: 'cart-7d9f', namespace: 'shop' } }] }],
    daemonSets: [{ metadata: { name: 'calico-node', namespace: 'kube-system' }, spec: { template: { spec: { containers: [{ name: 'n', env: [{ name: 'CALICO_IPV4POOL_IPIP', value: 'Always' }, { name: 'TOKEN', value: 's3cret' }] }] } } } }],
  } as unknown as Partial<ClusterObjects>),
  netstack: { n1: { pods: { 'shop/cart-7d9f': { iptables: '-A KUBE-SERVICES -d 10.96.0.9/32 -m comment --comment "shop/cart:http cluster IP" -j KUBE-SVC-X\n' } } } },
};

describe('redactSnapshot', () => {
  const r = redactSnapshot(snapshot);
  it.each([
    { name: 'namespace name and its label', got: () => r.objects.namespaces[0]?.metadata, want: { name: 'ns-1', labels: { 'kubernetes.io/metadata.name': 'ns-1' } } },
    { name: 'system namespaces stay', got: () => r.objects.namespaces[1]?.metadata.name, want: 'kube-system' },
    { name: 'pod name and namespace', got: () => [r.objects.pods[0]?.metadata.name, r.objects.pods[0]?.metadata.namespace], want: ['pod-1', 'ns-1'] },
    { name: 'EndpointSlice targetRef, consistently', got: () => r.objects.endpointSlices[0]?.endpoints?.[0]?.targetRef, want: { kind: 'Pod', name: 'pod-1', namespace: 'ns-1' } },
    { name: 'netstack pod key and rule comments', got: () => r.netstack['n1']?.pods['ns-1/pod-1']?.iptables, want: '-A KUBE-SERVICES -d 10.96.0.9/32 -m comment --comment "ns-1/cart:http cluster IP" -j KUBE-SVC-X\n' },
  ])('$name', ({ got, want }) => {
    expect(got()).toEqual(want);
  });
});

describe('scrubSnapshot', () => {
  const s = JSON.stringify(scrubSnapshot(snapshot).objects);
  it.each([
    { name: 'pod environment values are removed', text: 'hunter2', present: false },
    { name: 'other DaemonSet values are removed', text: 's3cret', present: false },
    { name: 'the CNI settings of its DaemonSet stay', text: '"CALICO_IPV4POOL_IPIP","value":"Always"', present: true },
    { name: 'variable names stay', text: 'DB_PASSWORD', present: true },
  ])('$name', ({ text, present }) => {
    expect(s.includes(text)).toBe(present);
  });
});
