// KubeSkoop's e2e cases (generic, service and flannel vxlan) and the ones it lacks, on a two-node
// flannel vxlan cluster built in network namespaces: each case breaks the cluster (and undoes it),
// captures it, connects for real and checks skoop's verdict, exit code and codes against the kernel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAllLabs } from '../lib/lab.js';
import { buildCluster, EXTERNAL_IP } from './cluster.js';
import type { Cluster } from './cluster.js';
import { runScenario } from './scenario.js';
import type { Scenario } from './scenario.js';

const HTTP = [{ name: 'http', port: 8080 }] as const;
const WEB = [
  { name: 'http', port: 8080 },
  { name: 'dns', port: 5353, protocol: 'UDP' as const },
] as const;

let cluster: Cluster;

beforeAll(async () => {
  cluster = await buildCluster({
    name: 'flannel-vxlan',
    cni: { plugin: 'flannel', backend: 'vxlan' },
    nodes: 2,
    nodePorts: [10250],
    pods: [
      { name: 'client', node: 1 },
      { name: 'web-a', node: 1, labels: { app: 'web' }, ports: WEB },
      { name: 'lodown', node: 1, ports: HTTP },
      { name: 'routelo', node: 1 },
      { name: 'flushed', node: 1, ports: HTTP },
      { name: 'web-b', node: 2, labels: { app: 'web' }, ports: WEB },
      { name: 'idle', node: 2, ports: HTTP, listen: false },
      { name: 'ethdown', node: 2, ports: HTTP },
    ],
    services: [
      {
        name: 'web',
        type: 'NodePort',
        clusterIP: '10.96.0.10',
        selector: { app: 'web' },
        ports: [{ name: 'http', port: 80, targetPort: 'http', nodePort: 30080 }],
      },
      {
        name: 'empty',
        clusterIP: '10.96.0.20',
        selector: { app: 'gone' },
        ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      },
    ],
  });
});

afterAll(() => {
  cluster?.destroy();
  destroyAllLabs();
});

const ip = (pod: string) => (c: Cluster) => c.pod(pod).ip;
const nodeIp = (node: string) => (c: Cluster) => c.node(node).ip;
const servers = (c: Cluster, attempts: readonly { server?: { host: string } }[]): string[] =>
  [...new Set(attempts.map((a) => a.server?.host).filter((h): h is string => h !== undefined))]
    .map((h) => c.pods.find((p) => p.host === h)?.id ?? h)
    .sort();
const backends = (d: { result: { branches?: readonly { backend?: string }[] } }): string[] =>
  [
    ...new Set(
      (d.result.branches ?? [])
        .map((b) => b.backend?.split(' ')[0])
        .filter((b): b is string => b !== undefined),
    ),
  ].sort();

/** The route flannel vxlan installs on node-1 for node-2's pods. */
const VXLAN_ROUTE_2 = 'ip route replace 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink';

/** What flanneld programs on a node for peer `peer`: route, permanent neighbour and FDB entry (idempotent). */
function vxlanPeer(c: Cluster, peer: string): string {
  const p = c.node(peer);
  return [
    `ip route replace ${p.podCIDR} via ${p.vtepIp} dev flannel.1 onlink`,
    `ip neigh replace ${p.vtepIp} lladdr ${p.vtepMac} dev flannel.1 nud permanent`,
    `bridge fdb replace ${p.vtepMac} dev flannel.1 dst ${p.ip} self permanent`,
  ].join('\n');
}

describe('generic (KubeSkoop generic cases)', () => {
  const cases: Scenario[] = [
    {
      name: 'pod to pod across nodes',
      from: 'default/client',
      source: 'pod/client',
      destination: 'pod/web-b',
      dst: ip('web-b'),
      port: 8080,
      kernel: ['connected'],
    },
    {
      name: 'pod to pod on one node',
      from: 'default/client',
      source: 'pod/client',
      destination: 'pod/web-a',
      dst: ip('web-a'),
      port: 8080,
      kernel: ['connected'],
    },
    {
      name: 'pod to node',
      from: 'default/client',
      source: 'pod/client',
      destination: 'node/node-2',
      dst: nodeIp('node-2'),
      port: 10250,
      kernel: ['connected'],
    },
    {
      name: 'pod to its own node',
      from: 'default/client',
      source: 'pod/client',
      destination: 'node/node-1',
      dst: nodeIp('node-1'),
      port: 10250,
      kernel: ['connected'],
    },
    {
      name: 'node to node',
      from: 'node-1',
      source: 'node/node-1',
      destination: 'node/node-2',
      dst: nodeIp('node-2'),
      port: 10250,
      kernel: ['connected'],
    },
    {
      name: 'node to pod on another node',
      from: 'node-1',
      source: 'node/node-1',
      destination: 'pod/web-b',
      dst: ip('web-b'),
      port: 8080,
      kernel: ['connected'],
    },
    {
      name: 'node to its own pod',
      from: 'node-1',
      source: 'node/node-1',
      destination: 'pod/web-a',
      dst: ip('web-a'),
      port: 8080,
      kernel: ['connected'],
    },
    {
      name: 'pod to pod over UDP',
      from: 'default/client',
      source: 'pod/client',
      destination: 'pod/web-b',
      dst: ip('web-b'),
      port: 5353,
      protocol: 'udp',
      kernel: ['connected'],
    },
    {
      name: 'pod to an address outside the cluster (masqueraded)',
      from: 'default/client',
      source: 'pod/client',
      destination: EXTERNAL_IP,
      dst: () => EXTERNAL_IP,
      port: 80,
      kernel: ['connected'],
      check: (c, attempts, d) => {
        // flannel's FLANNEL-POSTRTG masquerades pod traffic leaving the pod network: the server saw the node.
        expect(attempts[0]?.server?.peer.split(':')[0]).toBe(c.node('node-1').ip);
        const last = d.result.path.links.at(-1);
        expect(last?.packet.src, JSON.stringify(d.result.path)).toBe(c.node('node-1').ip);
      },
    },
    {
      name: 'no listener on the destination port',
      from: 'default/client',
      source: 'pod/client',
      destination: 'pod/idle',
      dst: ip('idle'),
      port: 8080,
      kernel: ['refused'],
      expect: [{ code: 'NO_LISTENER', on: 'default/idle' }],
    },
    {
      name: 'destination pod eth0 down',
      from: 'default/client',
      source: 'pod/client',
      destination: 'pod/ethdown',
      dst: ip('ethdown'),
      port: 8080,
      timeoutMs: 4500,
      breaks: [
        {
          on: 'default/ethdown',
          script: 'ip link set eth0 down',
          undo: 'ip link set eth0 up\nip route replace default via 10.244.2.1 dev eth0',
        },
      ],
      kernel: ['unreachable'],
      expect: [{ code: 'LINK_DOWN', on: 'default/ethdown' }],
    },
    {
      name: 'pod lo down, pod to its own IP',
      from: 'default/lodown',
      source: 'pod/lodown',
      destination: 'pod/lodown',
      dst: ip('lodown'),
      port: 8080,
      breaks: [{ on: 'default/lodown', script: 'ip link set lo down', undo: 'ip link set lo up' }],
      kernel: ['timeout'],
      expect: [{ code: 'LINK_DOWN', on: 'default/lodown' }],
    },
    {
      name: 'pod routes flushed, node to pod (the pod cannot answer)',
      from: 'node-1',
      source: 'node/node-1',
      destination: 'pod/flushed',
      dst: ip('flushed'),
      port: 8080,
      breaks: [
        {
          on: 'default/flushed',
          script: 'ip route flush table main',
          undo: 'ip route replace 10.244.1.0/24 dev eth0 proto kernel scope link src 10.244.1.6\nip route replace default via 10.244.1.1 dev eth0',
        },
      ],
      kernel: ['timeout'],
      expect: [{ code: 'ROUTE_MISSING', on: 'default/flushed' }],
    },
    {
      name: 'pod routes flushed, pod to node (the pod cannot send)',
      from: 'default/flushed',
      source: 'pod/flushed',
      destination: 'node/node-1',
      dst: nodeIp('node-1'),
      port: 10250,
      breaks: [
        {
          on: 'default/flushed',
          script: 'ip route flush table main',
          undo: 'ip route replace 10.244.1.0/24 dev eth0 proto kernel scope link src 10.244.1.6\nip route replace default via 10.244.1.1 dev eth0',
        },
      ],
      kernel: ['unreachable'],
      expect: [{ code: 'ROUTE_MISSING', on: 'default/flushed' }],
    },
    {
      name: 'pod default route via lo',
      from: 'default/routelo',
      source: 'pod/routelo',
      destination: 'node/node-1',
      dst: nodeIp('node-1'),
      port: 10250,
      breaks: [
        {
          on: 'default/routelo',
          script: 'ip route flush table main\nip route add default dev lo',
          undo: 'ip route flush table main\nip route add 10.244.1.0/24 dev eth0 proto kernel scope link src 10.244.1.5\nip route add default via 10.244.1.1 dev eth0',
        },
      ],
      kernel: ['timeout'],
      expect: [{ code: 'ROUTE_WRONG', on: 'default/routelo' }],
    },
    {
      name: 'iptables -I INPUT -j DROP in the destination pod',
      from: 'default/client',
      source: 'pod/client',
      destination: 'pod/web-b',
      dst: ip('web-b'),
      port: 8080,
      breaks: [{ on: 'default/web-b', script: 'iptables -I INPUT -j DROP', undo: 'iptables -F INPUT' }],
      kernel: ['timeout'],
      expect: [{ code: 'IPTABLES_DROP', on: 'default/web-b' }],
    },
    {
      name: 'iptables REJECT in the destination pod (refused, not a timeout)',
      from: 'default/client',
      source: 'pod/client',
      destination: 'pod/web-b',
      dst: ip('web-b'),
      port: 8080,
      breaks: [
        {
          on: 'default/web-b',
          script: 'iptables -I INPUT -p tcp --dport 8080 -j REJECT',
          undo: 'iptables -F INPUT',
        },
      ],
      kernel: ['refused'],
      expect: [{ code: 'IPTABLES_REJECT', on: 'default/web-b' }],
    },
  ];
  it.each(cases)('$name', (s) => runScenario(cluster, s));
});

describe('services (KubeSkoop service cases and more)', () => {
  const cases: Scenario[] = [
    {
      name: 'pod to Service with two endpoints on two nodes',
      from: 'default/client',
      source: 'pod/client',
      destination: 'svc/web',
      dst: () => '10.96.0.10',
      port: 80,
      skoopPort: 'http',
      count: 24,
      kernel: ['connected'],
      check: (c, attempts, d) => {
        expect(servers(c, attempts)).toEqual(['default/web-a', 'default/web-b']);
        expect(backends(d)).toEqual(['default/web-a', 'default/web-b']);
      },
    },
    {
      name: 'pod to Service without endpoints',
      from: 'default/client',
      source: 'pod/client',
      destination: 'svc/empty',
      dst: () => '10.96.0.20',
      port: 80,
      kernel: ['refused'],
      expect: [{ code: 'SERVICE_NO_ENDPOINTS', on: 'node-1' }],
    },
    {
      name: 'node to Service without endpoints',
      from: 'node-1',
      source: 'node/node-1',
      destination: 'svc/empty',
      dst: () => '10.96.0.20',
      port: 80,
      kernel: ['refused'],
      expect: [{ code: 'SERVICE_NO_ENDPOINTS', on: 'node-1' }],
    },
    {
      name: 'NodePort from another node',
      from: 'node-2',
      source: 'node/node-2',
      destination: 'node/node-1',
      dst: nodeIp('node-1'),
      port: 30080,
      count: 24,
      kernel: ['connected'],
      check: (c, attempts, d) => {
        expect(servers(c, attempts)).toEqual(['default/web-a', 'default/web-b']);
        expect(backends(d)).toEqual(['default/web-a', 'default/web-b']);
      },
    },
    {
      name: 'Service with one backend blocked (partial)',
      from: 'default/client',
      source: 'pod/client',
      destination: 'svc/web',
      dst: () => '10.96.0.10',
      port: 80,
      count: 24,
      breaks: [
        {
          on: 'default/web-b',
          script: 'iptables -A INPUT -p tcp --dport 8080 -j DROP',
          undo: 'iptables -F INPUT',
        },
      ],
      kernel: ['connected', 'timeout'],
      expect: [{ code: 'IPTABLES_DROP', on: 'default/web-b' }],
      check: (c, attempts) => expect(servers(c, attempts)).toEqual(['default/web-a']),
    },
  ];
  it.each(cases)('$name', (s) => runScenario(cluster, s));
});

describe('flannel vxlan (KubeSkoop flannel cases and the ones it lacks)', () => {
  const cases: Scenario[] = [
    {
      name: 'pod MTU larger than flannel.1 (1500 over 1450)',
      from: 'default/client',
      source: 'pod/client',
      destination: 'pod/web-b',
      dst: ip('web-b'),
      port: 8080,
      breaks: [
        { on: 'default/client', script: 'ip link set eth0 mtu 1500', undo: 'ip link set eth0 mtu 1450' },
      ],
      // Small packets pass (TCP connects); a full-size packet does not (checked with ping below).
      kernel: ['connected'],
      expect: [{ code: 'MTU_MISMATCH', on: 'default/client' }],
      check: async (c) => {
        // The real breakage: a 1500-byte packet cannot cross flannel.1 (MTU 1450), a 1400-byte one can.
        expect(await c.pingFits('default/client', c.pod('web-b').ip, 1472)).toBe(false);
        expect(await c.pingFits('default/client', c.pod('web-b').ip, 1372)).toBe(true);
      },
      verdict: 'partial',
    },
    {
      name: 'cni0 down on the source node',
      from: 'default/client',
      source: 'pod/client',
      destination: 'pod/web-b',
      dst: ip('web-b'),
      port: 8080,
      breaks: [{ on: 'node-1', script: 'ip link set cni0 down', undo: 'ip link set cni0 up' }],
      // The client's ARP for its gateway goes unanswered; the error never reaches the connecting socket in time.
      kernel: ['timeout'],
      expect: [{ code: 'BRIDGE_DOWN', on: 'node-1' }],
    },
    {
      name: 'flannel.1 down on the source node',
      from: 'default/client',
      source: 'pod/client',
      destination: 'pod/web-b',
      dst: ip('web-b'),
      port: 8080,
      breaks: (c) => [
        {
          on: 'node-1',
          script: 'ip link set flannel.1 down',
          undo: `ip link set flannel.1 up\n${vxlanPeer(c, 'node-2')}`,
        },
      ],
      kernel: ['timeout'],
      expect: [{ code: 'LINK_DOWN', on: 'node-1' }],
    },
    {
      name: "node-2's pod CIDR route deleted on node-1",
      from: 'default/client',
      source: 'pod/client',
      destination: 'pod/web-b',
      dst: ip('web-b'),
      port: 8080,
      breaks: [{ on: 'node-1', script: 'ip route del 10.244.2.0/24', undo: VXLAN_ROUTE_2 }],
      kernel: ['timeout'],
      expect: [{ code: 'ROUTE_MISSING', on: 'node-1' }],
    },
    {
      name: "node-2's pod CIDR routed to the wrong device (eth0) on node-1",
      from: 'default/client',
      source: 'pod/client',
      destination: 'pod/web-b',
      dst: ip('web-b'),
      port: 8080,
      timeoutMs: 4500,
      breaks: [{ on: 'node-1', script: 'ip route replace 10.244.2.0/24 dev eth0', undo: VXLAN_ROUTE_2 }],
      kernel: ['unreachable'],
      expect: [{ code: 'ROUTE_WRONG', on: 'node-1' }],
    },
    {
      name: 'ip_forward off on the destination node',
      from: 'default/client',
      source: 'pod/client',
      destination: 'pod/web-b',
      dst: ip('web-b'),
      port: 8080,
      breaks: [
        {
          on: 'node-2',
          script: 'sysctl -qw net.ipv4.ip_forward=0',
          undo: 'sysctl -qw net.ipv4.ip_forward=1',
        },
      ],
      kernel: ['timeout'],
      expect: [{ code: 'IP_FORWARD_DISABLED', on: 'node-2' }],
    },
    {
      name: "FDB entry for node-2's VTEP missing on node-1",
      from: 'default/client',
      source: 'pod/client',
      destination: 'pod/web-b',
      dst: ip('web-b'),
      port: 8080,
      breaks: (c) => [
        {
          on: 'node-1',
          script: `bridge fdb del ${c.node('node-2').vtepMac} dev flannel.1 dst ${c.node('node-2').ip} self`,
          undo: vxlanPeer(c, 'node-2'),
        },
      ],
      kernel: ['timeout'],
      expect: [{ code: 'VXLAN_FDB_MISSING', on: 'node-1' }],
    },
    {
      name: "neighbour entry for node-2's VTEP missing on node-1",
      from: 'default/client',
      source: 'pod/client',
      destination: 'pod/web-b',
      dst: ip('web-b'),
      port: 8080,
      timeoutMs: 4500,
      breaks: (c) => [
        {
          on: 'node-1',
          script: `ip neigh del ${c.node('node-2').vtepIp} dev flannel.1`,
          undo: vxlanPeer(c, 'node-2'),
        },
      ],
      // flannel.1 has no FDB entry for the broadcast ARP (nolearning, no flanneld to answer misses): the neighbour fails.
      kernel: ['unreachable'],
      expect: [{ code: 'VXLAN_NEIGH_MISSING', on: 'node-1' }],
    },
  ];
  it.each(cases)('$name', (s) => runScenario(cluster, s));
});
