// KubeSkoop's flannel host-gw cases, and rp_filter on an asymmetric path, on a two-node flannel
// host-gw cluster whose nodes also share a second underlay (eth1, 192.168.60.0/24).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAllLabs } from '../lib/lab.js';
import { buildCluster } from './cluster.js';
import type { Cluster } from './cluster.js';
import { runScenario } from './scenario.js';
import type { Scenario } from './scenario.js';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await buildCluster({
    name: 'flannel-hostgw',
    cni: { plugin: 'flannel', backend: 'host-gw' },
    nodes: 2,
    secondUnderlay: true,
    pods: [
      { name: 'client', node: 1 },
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

/** The route flannel host-gw installs on node-1 for node-2's pods. */
const HOSTGW_ROUTE_2 = 'ip route replace 10.244.2.0/24 via 192.168.50.12 dev eth0';

describe('flannel host-gw', () => {
  const cases: Scenario[] = [
    { name: 'pod to pod across nodes', ...toWebB, kernel: ['connected'] },
    {
      name: 'pod to Service',
      ...toWebB,
      destination: 'svc/web',
      dst: () => '10.96.0.10',
      port: 80,
      kernel: ['connected'],
    },
    {
      name: 'destination pod MTU 1400 (node 1500)',
      ...toWebB,
      breaks: [
        { on: 'default/web-b', script: 'ip link set eth0 mtu 1400', undo: 'ip link set eth0 mtu 1500' },
      ],
      // TCP connects (the pod advertises a smaller MSS); a full-size packet towards the pod is dropped
      // at its veth (larger than the receiving device's MTU), checked with ping below.
      kernel: ['connected'],
      verdict: 'partial',
      expect: [{ code: 'MTU_MISMATCH', on: 'default/web-b' }],
      check: async (c) => {
        expect(await c.pingFits('default/client', c.pod('web-b').ip, 1472)).toBe(false);
        expect(await c.pingFits('default/client', c.pod('web-b').ip, 1372)).toBe(true);
      },
    },
    {
      name: 'cni0 down on the destination node',
      ...toWebB,
      breaks: [{ on: 'node-2', script: 'ip link set cni0 down', undo: 'ip link set cni0 up' }],
      kernel: ['timeout'],
      expect: [{ code: 'BRIDGE_DOWN', on: 'node-2' }],
    },
    {
      name: "the destination node's own pod CIDR route (to cni0) deleted",
      ...toWebB,
      breaks: [
        {
          on: 'node-2',
          script: 'ip route del 10.244.2.0/24 dev cni0',
          undo: 'ip route replace 10.244.2.0/24 dev cni0 proto kernel scope link src 10.244.2.1',
        },
      ],
      kernel: ['timeout'],
      expect: [{ code: 'ROUTE_MISSING', on: 'node-2' }],
    },
    {
      name: "node-2's pod CIDR routed via a wrong gateway on node-1",
      ...toWebB,
      timeoutMs: 4500,
      breaks: [
        {
          on: 'node-1',
          script: 'ip route replace 10.244.2.0/24 via 192.168.50.99 dev eth0',
          undo: HOSTGW_ROUTE_2,
        },
      ],
      kernel: ['unreachable'],
      expect: [{ code: 'ROUTE_WRONG', on: 'node-1' }],
    },
    {
      name: 'rp_filter strict on an asymmetric path (in by eth1, back by eth0)',
      ...toWebB,
      breaks: [
        {
          on: 'node-1',
          script: 'ip route replace 10.244.2.0/24 via 192.168.60.12 dev eth1',
          undo: HOSTGW_ROUTE_2,
        },
        {
          on: 'node-2',
          script: 'sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.eth1.rp_filter=1',
          undo: 'sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth1.rp_filter=0',
        },
      ],
      kernel: ['timeout'],
      expect: [{ code: 'RP_FILTER_DROP', on: 'node-2' }],
    },
    {
      name: 'rp_filter loose on the same asymmetric path',
      ...toWebB,
      breaks: [
        {
          on: 'node-1',
          script: 'ip route replace 10.244.2.0/24 via 192.168.60.12 dev eth1',
          undo: HOSTGW_ROUTE_2,
        },
        {
          on: 'node-2',
          script: 'sysctl -qw net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.eth1.rp_filter=2',
          undo: 'sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth1.rp_filter=0',
        },
      ],
      // Loose mode only asks for some route back: delivered, so reachable, whatever route node-1 takes.
      kernel: ['connected'],
      check: (_c, _attempts, d) =>
        expect(d.result.suspicions.map((s) => s.code)).not.toContain('RP_FILTER_DROP'),
    },
  ];
  it.each(cases)('$name', (s) => runScenario(cluster, s));
});
