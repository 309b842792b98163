// kind's kindnet (the ptp CNI plugin: a veth per pod, the gateway address on every host-side veth, a
// scope-host route to each pod, other nodes' pod CIDRs via their node IP), modelled by skoop's bridge plugin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAllLabs } from '../lib/lab.js';
import { buildCluster, EXTERNAL_IP } from './cluster.js';
import type { Cluster } from './cluster.js';
import { runScenario } from './scenario.js';
import type { Scenario } from './scenario.js';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await buildCluster({
    name: 'kindnet',
    cni: { plugin: 'kindnet' },
    nodes: 2,
    pods: [
      { name: 'client', node: 1 },
      { name: 'web-a', node: 1, labels: { app: 'web' }, ports: [{ name: 'http', port: 8080 }] },
      { name: 'web-b', node: 2, labels: { app: 'web' }, ports: [{ name: 'http', port: 8080 }] },
    ],
    services: [
      {
        name: 'web',
        clusterIP: '10.96.0.10',
        selector: { app: 'web' },
        ports: [{ name: 'http', port: 80, targetPort: 'http' }],
      },
    ],
  });
});

afterAll(() => {
  cluster?.destroy();
  destroyAllLabs();
});

const toWebB = {
  from: 'default/client',
  source: 'pod/client',
  destination: 'pod/web-b',
  dst: (c: Cluster) => c.pod('web-b').ip,
  port: 8080,
} as const;

describe('kindnet (ptp)', () => {
  const cases: Scenario[] = [
    { name: 'pod to pod across nodes', ...toWebB, kernel: ['connected'] },
    {
      name: 'pod to pod on one node',
      ...toWebB,
      destination: 'pod/web-a',
      dst: (c) => c.pod('web-a').ip,
      kernel: ['connected'],
    },
    {
      name: 'node to pod on another node',
      ...toWebB,
      from: 'node-1',
      source: 'node/node-1',
      kernel: ['connected'],
    },
    {
      name: 'pod to Service with endpoints on both nodes',
      ...toWebB,
      destination: 'svc/web',
      dst: () => '10.96.0.10',
      port: 80,
      count: 24,
      kernel: ['connected'],
      check: (c, attempts, d) => {
        expect(new Set(attempts.map((a) => a.server?.host))).toEqual(
          new Set([c.pod('web-a').host, c.pod('web-b').host]),
        );
        expect(new Set((d.result.branches ?? []).map((b) => b.backend?.split(' ')[0]))).toEqual(
          new Set(['default/web-a', 'default/web-b']),
        );
      },
    },
    {
      name: 'pod to an address outside the cluster (kind-masq-agent)',
      ...toWebB,
      destination: EXTERNAL_IP,
      dst: () => EXTERNAL_IP,
      port: 80,
      kernel: ['connected'],
      check: (c, attempts) => expect(attempts[0]?.server?.peer.split(':')[0]).toBe(c.node('node-1').ip),
    },
    {
      name: "node-2's pod CIDR route deleted on node-1",
      ...toWebB,
      breaks: [
        {
          on: 'node-1',
          script: 'ip route del 10.244.2.0/24',
          undo: 'ip route replace 10.244.2.0/24 via 192.168.50.12 dev eth0',
        },
      ],
      kernel: ['timeout'],
      expect: [{ code: 'ROUTE_MISSING', on: 'node-1' }],
    },
    {
      name: "the destination pod's host route deleted on its node",
      ...toWebB,
      breaks: (c) => {
        const p = c.pod('web-b');
        return [
          {
            on: 'node-2',
            script: `ip route del ${p.ip}/32 dev ${p.hostVeth}`,
            undo: `ip route replace ${p.ip}/32 dev ${p.hostVeth} scope host`,
          },
        ];
      },
      kernel: ['timeout'],
      expect: [{ code: 'ROUTE_MISSING', on: 'node-2' }],
    },
  ];
  it.each(cases)('$name', (s) => runScenario(cluster, s));
});
