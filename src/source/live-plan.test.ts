import { describe, expect, it } from 'vitest';
import { completeObjects, type ClusterObjects } from '../k8s/objects.js';
import { planForEndpoints, planForSelection } from './live-plan.js';

const node = (name: string, ip: string): unknown => ({ metadata: { name }, spec: { podCIDR: `10.244.${ip.split('.')[3]}.0/24` }, status: { addresses: [{ type: 'InternalIP', address: ip }] } });
const pod = (name: string, nodeName: string, ip: string, extra: Record<string, unknown> = {}): unknown => ({
  metadata: { name, namespace: 'default', labels: name.startsWith('web') ? { app: 'web' } : {} },
  spec: { nodeName, containers: [{ name: 'c' }], ...extra },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
});

const objects: ClusterObjects = completeObjects({
  nodes: [node('n1', '192.168.0.1'), node('n2', '192.168.0.2'), node('n3', '192.168.0.3'), node('n4', '192.168.0.4')],
  pods: [
    pod('client', 'n1', '10.244.1.2'),
    pod('web-a', 'n2', '10.244.2.2'),
    pod('web-b', 'n3', '10.244.3.2'),
    pod('agent', 'n4', '192.168.0.4', { hostNetwork: true }),
    pod('other', 'n4', '10.244.4.2'),
  ],
  services: [{ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } }],
} as unknown as Partial<ClusterObjects>);

const summary = (p: { nodes: readonly { name: string; pods: readonly { id: string }[] }[] }): Record<string, string[]> =>
  Object.fromEntries(p.nodes.map((n) => [n.name, n.pods.map((x) => x.id)]));

describe('planForEndpoints', () => {
  it.each([
    { name: 'pod to Service: the source node and every backend node', endpoints: ['pod/client', 'svc/web'], want: { n1: ['default/client'], n2: ['default/web-a'], n3: ['default/web-b'] } },
    { name: 'pod to pod by IP', endpoints: ['10.244.1.2', '10.244.3.2'], want: { n1: ['default/client'], n3: ['default/web-b'] } },
    { name: 'a hostNetwork pod is its node', endpoints: ['pod/agent', 'pod/client'], want: { n1: ['default/client'], n4: [] } },
    { name: 'node to an external address', endpoints: ['node/n2', '8.8.8.8'], want: { n2: [] } },
  ])('$name', ({ endpoints, want }) => {
    expect(summary(planForEndpoints(objects, endpoints, 'default'))).toEqual(want);
  });
});

describe('planForSelection', () => {
  it.each([
    { name: 'named nodes with their pods', sel: { nodes: ['n4'] }, want: { n4: ['default/other'] } },
    { name: 'named pods', sel: { pods: ['default/web-b'] }, want: { n3: ['default/web-b'] } },
    { name: 'all nodes', sel: { allNodes: true }, want: { n1: ['default/client'], n2: ['default/web-a'], n3: ['default/web-b'], n4: ['default/other'] } },
  ])('$name', ({ sel, want }) => {
    expect(summary(planForSelection(objects, sel))).toEqual(want);
  });

  it.each([
    { name: 'unknown node', sel: { nodes: ['n9'] }, message: 'no node "n9" in the cluster' },
    { name: 'unknown pod', sel: { pods: ['default/nope'] }, message: 'no pod "default/nope" in the cluster' },
  ])('$name is a usage error', ({ sel, message }) => {
    expect(() => planForSelection(objects, sel)).toThrow(message);
  });
});
