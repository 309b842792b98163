// KubeSkoop's calico cases (BGP; IPIP cannot run here) and calico VXLAN, healthy and broken, on
// two-node calico clusters built in network namespaces: cali* veths with proxy ARP, /32 routes,
// a blackhole per IPAM block, and BGP routes or vxlan.calico between the nodes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAllLabs } from '../lib/lab.js';
import { buildCluster, EXTERNAL_IP } from './cluster.js';
import type { Cluster, ClusterSpec } from './cluster.js';
import { runScenario } from './scenario.js';
import type { Scenario } from './scenario.js';

const topology = (name: string, encap: 'bgp' | 'vxlan'): ClusterSpec => ({
  name,
  cni: { plugin: 'calico', encap },
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

const toWebB = {
  from: 'default/client',
  source: 'pod/client',
  destination: 'pod/web-b',
  dst: (c: Cluster) => c.pod('web-b').ip,
  port: 8080,
} as const;

const toService: Omit<Scenario, 'name' | 'kernel'> = {
  from: 'default/client',
  source: 'pod/client',
  destination: 'svc/web',
  dst: () => '10.96.0.10',
  port: 80,
  count: 24,
  check: (c, attempts, d) => {
    const hosts = new Set(attempts.map((a) => a.server?.host));
    expect([...hosts].sort()).toEqual([c.pod('web-a').host, c.pod('web-b').host].sort());
    expect(new Set((d.result.branches ?? []).map((b) => b.backend?.split(' ')[0]))).toEqual(
      new Set(['default/web-a', 'default/web-b']),
    );
  },
};

afterAll(destroyAllLabs);

describe('calico BGP', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await buildCluster(topology('calico-bgp', 'bgp'));
  });
  afterAll(() => cluster?.destroy());

  const cases: Scenario[] = [
    { name: 'pod to pod across nodes', ...toWebB, kernel: ['connected'] },
    {
      name: 'pod to pod on one node',
      ...toWebB,
      destination: 'pod/web-a',
      dst: (c) => c.pod('web-a').ip,
      kernel: ['connected'],
    },
    { name: 'pod to Service with endpoints on both nodes', ...toService, kernel: ['connected'] },
    {
      name: 'pod to an address outside the pool (natOutgoing)',
      ...toWebB,
      destination: EXTERNAL_IP,
      dst: () => EXTERNAL_IP,
      port: 80,
      kernel: ['connected'],
      check: (c, attempts) => expect(attempts[0]?.server?.peer.split(':')[0]).toBe(c.node('node-1').ip),
    },
    {
      name: "the destination pod's cali veth down",
      ...toWebB,
      breaks: (c) => {
        const p = c.pod('web-b');
        return [
          {
            on: 'node-2',
            script: `ip link set ${p.hostVeth} down`,
            undo: `ip link set ${p.hostVeth} up\nip route replace ${p.ip}/32 dev ${p.hostVeth} scope link`,
          },
        ];
      },
      kernel: ['timeout'],
      expect: [{ code: 'VETH_PEER_DOWN', on: 'node-2' }],
    },
    {
      name: "the destination pod's /32 route deleted (the block's blackhole takes it)",
      ...toWebB,
      breaks: (c) => {
        const p = c.pod('web-b');
        return [
          {
            on: 'node-2',
            script: `ip route del ${p.ip}/32 dev ${p.hostVeth}`,
            undo: `ip route replace ${p.ip}/32 dev ${p.hostVeth} scope link`,
          },
        ];
      },
      kernel: ['timeout'],
      expect: [{ code: ['ROUTE_MISSING', 'ROUTE_BLACKHOLE'], on: 'node-2' }],
    },
    {
      name: "proxy_arp off on the source pod's cali veth",
      ...toWebB,
      timeoutMs: 4500,
      breaks: (c) => {
        const p = c.pod('client');
        return [
          {
            on: 'node-1',
            script: `sysctl -qw net.ipv4.conf.${p.hostVeth}.proxy_arp=0`,
            undo: `sysctl -qw net.ipv4.conf.${p.hostVeth}.proxy_arp=1`,
          },
          // Forget the gateway's MAC, as a pod started after the change would not know it.
          { on: 'default/client', script: 'ip neigh flush dev eth0' },
        ];
      },
      // Nobody answers the pod's ARP for 169.254.1.1: the connecting socket gets EHOSTUNREACH.
      kernel: ['unreachable'],
      expect: [{ code: 'SYSCTL_MISMATCH', on: 'node-1' }],
    },
  ];
  it.each(cases)('$name', (s) => runScenario(cluster, s));
});

describe('calico VXLAN', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await buildCluster(topology('calico-vxlan', 'vxlan'));
  });
  afterAll(() => cluster?.destroy());

  const peer = (c: Cluster): string => {
    const p = c.node('node-2');
    return [
      `ip route replace ${p.podCIDR} via ${p.vtepIp} dev vxlan.calico onlink proto 80`,
      `ip neigh replace ${p.vtepIp} lladdr ${p.vtepMac} dev vxlan.calico nud permanent`,
      `bridge fdb replace ${p.vtepMac} dev vxlan.calico dst ${p.ip} self permanent`,
    ].join('\n');
  };

  const cases: Scenario[] = [
    { name: 'pod to pod across nodes', ...toWebB, kernel: ['connected'] },
    { name: 'pod to Service with endpoints on both nodes', ...toService, kernel: ['connected'] },
    {
      name: "FDB entry for node-2's VTEP missing on node-1",
      ...toWebB,
      breaks: (c) => [
        {
          on: 'node-1',
          script: `bridge fdb del ${c.node('node-2').vtepMac} dev vxlan.calico dst ${c.node('node-2').ip} self`,
          undo: peer(c),
        },
      ],
      kernel: ['timeout'],
      expect: [{ code: 'VXLAN_FDB_MISSING', on: 'node-1' }],
    },
    {
      name: 'vxlan.calico down on the source node',
      ...toWebB,
      breaks: (c) => [
        {
          on: 'node-1',
          script: 'ip link set vxlan.calico down',
          undo: `ip link set vxlan.calico up\n${peer(c)}`,
        },
      ],
      kernel: ['timeout'],
      expect: [{ code: 'LINK_DOWN', on: 'node-1' }],
    },
  ];
  it.each(cases)('$name', (s) => runScenario(cluster, s));
});
