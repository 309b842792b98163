import { describe, expect, it } from 'vitest';
import { endpoint, loadFixture, node, objects, pod, slice, svc } from '../../test/fixtures/k8s/builders.js';
import { buildClusterIndex, type IpOwner } from './cluster-index.js';
import type { Service } from './objects.js';

const flannel = buildClusterIndex(loadFixture('flannel-cluster.json'));
const calico = buildClusterIndex(loadFixture('calico-cluster.json'));

const owners = (list: readonly IpOwner[]): string[] =>
  list.map((o) => `${o.kind}:${o.id}${o.kind === 'node' ? `:${o.via}` : o.kind === 'service' ? `:${o.role}` : ''}`);

function service(index: ReturnType<typeof buildClusterIndex>, ns: string, name: string): Service {
  const s = index.service(ns, name);
  if (s === undefined) throw new Error(`fixture lacks service ${ns}/${name}`);
  return s;
}

describe('IP ownership (flannel fixture)', () => {
  it.each([
    { name: 'pod IP', ip: '10.244.1.5', want: ['pod:shop/frontend-6d8f7b9c5-x2k4q'] },
    { name: 'node InternalIP', ip: '192.168.56.10', want: ['node:cp1:InternalIP'] },
    { name: 'hostNetwork pods resolve to their node', ip: '192.168.56.11', want: ['node:worker1:InternalIP', 'service:shop/lb:externalIP'] },
    { name: 'ClusterIP', ip: '10.96.0.10', want: ['service:kube-system/kube-dns:clusterIP'] },
    { name: 'LoadBalancer ingress IP', ip: '192.168.56.200', want: ['service:shop/lb:loadBalancer'] },
    { name: 'a finished pod does not hold its old IP', ip: '10.244.1.6', want: ['pod:shop/cart-5f4d8b7c6-p7h2s'] },
    { name: 'headless service owns nothing', ip: 'None', want: [] },
    { name: 'unknown IP', ip: '8.8.8.8', want: [] },
  ])('$name', ({ ip, want }) => {
    expect(owners(flannel.ownersOf(ip))).toEqual(want);
  });

  it('has no duplicates', () => {
    expect(flannel.duplicates).toEqual([]);
  });
});

describe('IP ownership (calico fixture, dual stack)', () => {
  it.each([
    { name: 'pod IPv6 in any notation', ip: 'fd00:10:244:0:6c1f:9a8e:8b1c:4d41', want: ['pod:default/nginx-7769f8f85b-5xk9d'] },
    { name: 'pod IPv6 uncompressed', ip: 'FD00:0010:0244:0000:6C1F:9A8E:8B1C:4D41', want: ['pod:default/nginx-7769f8f85b-5xk9d'] },
    { name: 'node IPv6 InternalIP', ip: 'fd00:0:0:1::12', want: ['node:c2:InternalIP'] },
    { name: 'node ExternalIP', ip: '203.0.113.11', want: ['node:c1:ExternalIP'] },
    { name: 'second ClusterIP', ip: 'fd00:10:96::2e4f', want: ['service:default/nginx:clusterIP'] },
  ])('$name', ({ ip, want }) => {
    expect(owners(calico.ownersOf(ip))).toEqual(want);
  });
});

describe('duplicates', () => {
  it.each([
    {
      name: 'two running pods with one IP',
      input: objects({ pods: [pod({ name: 'a', ip: '10.0.0.5' }), pod({ name: 'b', ip: '10.0.0.5' })] }),
      want: [{ ip: '10.0.0.5', owners: ['pod:default/a', 'pod:default/b'] }],
    },
    {
      name: 'a pod IP equal to a node IP',
      input: objects({ nodes: [node({ name: 'n1', ips: ['10.0.0.1'] })], pods: [pod({ name: 'a', ip: '10.0.0.1', node: 'n1' })] }),
      want: [{ ip: '10.0.0.1', owners: ['node:n1:InternalIP', 'pod:default/a'] }],
    },
    {
      name: 'a ClusterIP equal to a pod IP',
      input: objects({ pods: [pod({ name: 'a', ip: '10.96.0.9' })], services: [svc({ name: 's', clusterIP: '10.96.0.9' })] }),
      want: [{ ip: '10.96.0.9', owners: ['pod:default/a', 'service:default/s:clusterIP'] }],
    },
    {
      name: 'hostNetwork pods and their node are one owner',
      input: objects({
        nodes: [node({ name: 'n1', ips: ['10.0.0.1'] })],
        pods: [pod({ name: 'p1', ip: '10.0.0.1', node: 'n1', hostNetwork: true }), pod({ name: 'p2', ip: '10.0.0.1', node: 'n1', hostNetwork: true })],
      }),
      want: [],
    },
    {
      name: 'a finished pod whose IP was reused',
      input: objects({ pods: [pod({ name: 'old', ip: '10.0.0.5', phase: 'Failed' }), pod({ name: 'new', ip: '10.0.0.5' })] }),
      want: [],
    },
    {
      name: 'an externalIP on a node address is normal',
      input: objects({ nodes: [node({ name: 'n1', ips: ['10.0.0.1'] })], services: [svc({ name: 's', clusterIP: '10.96.0.2', externalIPs: ['10.0.0.1'], lbIps: ['10.0.0.1'] })] }),
      want: [],
    },
    {
      name: 'same address written two ways',
      input: objects({ pods: [pod({ name: 'a', ip: 'fd00::5' }), pod({ name: 'b', ip: 'fd00:0:0::0005' })] }),
      want: [{ ip: 'fd00::5', owners: ['pod:default/a', 'pod:default/b'] }],
    },
  ])('$name', ({ input, want }) => {
    const index = buildClusterIndex(input);
    expect(index.duplicates.map((d) => ({ ip: d.ip, owners: owners(d.owners) }))).toEqual(want);
  });
});

describe('lookups', () => {
  it('finds objects by name', () => {
    expect(flannel.pod('shop', 'db-0')?.status?.podIP).toBe('10.244.1.9');
    expect(flannel.pod('default', 'db-0')).toBeUndefined();
    expect(flannel.service('shop', 'web')?.spec?.clusterIP).toBe('10.96.120.7');
    expect(flannel.node('worker2')?.spec?.podCIDR).toBe('10.244.2.0/24');
    expect(flannel.namespace('shop')?.metadata.labels?.['team']).toBe('shop');
    expect(flannel.namespace('nope')).toBeUndefined();
  });

  it('lists pods on a node and in a namespace', () => {
    expect(flannel.podsOnNode('cp1').map((p) => p.metadata.name)).toEqual([
      'coredns-7c65d6cfc9-4xk2m',
      'coredns-7c65d6cfc9-r8vnt',
      'kube-proxy-6wq2d',
      'kube-flannel-ds-8hj6t',
      'checkout-78d9c6b5f-2lq8w',
    ]);
    expect(flannel.podsOnNode('ghost')).toEqual([]);
    expect(flannel.podsInNamespace('default').map((p) => p.metadata.name)).toEqual(['debug-shell']);
    expect(flannel.servicesInNamespace('kube-system').map((s) => s.metadata.name)).toEqual(['kube-dns']);
    expect(flannel.namespaceNames()).toEqual(['default', 'kube-flannel', 'kube-node-lease', 'kube-public', 'kube-system', 'shop']);
  });

  it.each([
    { name: 'single stack', index: flannel, node: 'worker1', want: { v4: '192.168.56.11' } },
    { name: 'dual stack', index: calico, node: 'c1', want: { v4: '10.0.0.11', v6: 'fd00:0:0:1::11' } },
    { name: 'unknown node', index: calico, node: 'c9', want: {} },
  ])('nodeInternalIP: $name', ({ index, node: name, want }) => {
    expect(index.nodeInternalIP(name)).toEqual(want);
  });

  it.each([
    { name: 'node address', ip: '192.168.56.12', want: 'worker2' },
    { name: 'pod IP', ip: '10.244.0.7', want: 'cp1' },
    { name: 'unknown IP inside a pod CIDR', ip: '10.244.2.99', want: 'worker2' },
    { name: 'ClusterIP is on no node', ip: '10.96.0.1', want: undefined },
    { name: 'outside the cluster', ip: '1.1.1.1', want: undefined },
    { name: 'not an IP', ip: 'web', want: undefined },
  ])('nodeForIp: $name', ({ ip, want }) => {
    expect(flannel.nodeForIp(ip)?.metadata.name).toBe(want);
  });
});

describe('service endpoints (flannel fixture)', () => {
  it('merges slices and resolves per-slice port numbers for a named port', () => {
    const eps = flannel.serviceEndpoints(service(flannel, 'shop', 'web'), 'http');
    expect(eps?.haveSlices).toBe(true);
    expect(eps?.backends.map((b) => [b.ip, b.port, b.ready, b.serving, b.nodeName, b.pod?.metadata.name, b.slice])).toEqual([
      ['10.244.1.7', 8080, true, true, 'worker1', 'web-5b7f9d4c6-k8j2p', 'web-7rfxq'],
      ['10.244.2.4', 8080, false, false, 'worker2', 'web-5b7f9d4c6-q9w7z', 'web-7rfxq'],
      ['10.244.1.8', 8081, true, true, 'worker1', 'web-canary-0', 'web-zk2lp'],
    ]);
  });

  it('selects the port by number too', () => {
    const eps = flannel.serviceEndpoints(service(flannel, 'shop', 'web'), 9090);
    expect(eps?.servicePort.name).toBe('metrics');
    expect(eps?.backends.map((b) => `${b.ip}:${b.port}`)).toEqual(['10.244.1.7:9090', '10.244.2.4:9090', '10.244.1.8:9090']);
  });

  it.each([
    { name: 'dns over UDP', port: 'dns', protocol: undefined, want: ['10.244.0.2:53', '10.244.0.3:53'] },
    { name: '53/TCP is dns-tcp', port: 53, protocol: 'tcp', want: ['10.244.0.2:53', '10.244.0.3:53'] },
    { name: 'metrics', port: 'metrics', protocol: undefined, want: ['10.244.0.2:9153', '10.244.0.3:9153'] },
  ])('kube-dns: $name', ({ port, protocol, want }) => {
    const eps = flannel.serviceEndpoints(service(flannel, 'kube-system', 'kube-dns'), port, protocol);
    expect(eps?.backends.map((b) => `${b.ip}:${b.port}`)).toEqual(want);
  });

  it('53 without a protocol is ambiguous on kube-dns', () => {
    expect(flannel.serviceEndpoints(service(flannel, 'kube-system', 'kube-dns'), 53)).toBeUndefined();
  });

  it.each([
    { name: 'unnamed port matches the slice port named ""', ns: 'shop', svcName: 'frontend', port: 80, want: ['10.244.1.5:8080'] },
    { name: 'selectorless service with a hand-made slice', ns: 'shop', svcName: 'legacy-db', port: 5432, want: ['10.0.50.3:5432'] },
    { name: 'endpoints: null means none', ns: 'shop', svcName: 'cart', port: 'http', want: [] },
    { name: 'kubernetes service without targetRef', ns: 'default', svcName: 'kubernetes', port: 443, want: ['192.168.56.10:6443'] },
  ])('$name', ({ ns, svcName, port, want }) => {
    const eps = flannel.serviceEndpoints(service(flannel, ns, svcName), port);
    expect(eps?.haveSlices).toBe(true);
    expect(eps?.backends.map((b) => `${b.ip}:${b.port}`)).toEqual(want);
  });

  it('a port the service lacks gives undefined', () => {
    expect(flannel.serviceEndpoints(service(flannel, 'shop', 'web'), 8080)).toBeUndefined();
  });

  it('dual stack: both address families', () => {
    const eps = calico.serviceEndpoints(service(calico, 'default', 'nginx'), 80);
    expect(eps?.backends.map((b) => b.ip)).toEqual([
      '192.168.33.5',
      '192.168.140.66',
      'fd00:10:244:0:6c1f:9a8e:8b1c:4d41',
      'fd00:10:244:0:2a7e:51c0:33d4:9a02',
    ]);
  });
});

describe('service endpoints (builders)', () => {
  const web = svc({ name: 'web', clusterIP: '10.96.0.5', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] });
  const build = (...slices: ReturnType<typeof slice>[]) => buildClusterIndex(objects({ services: [web], endpointSlices: slices }));

  it.each([
    {
      name: 'conditions: null and absent read as ready/serving, not terminating',
      slices: [slice({ name: 's1', service: 'web', endpoints: [endpoint('10.0.0.1', { ready: null, serving: null, terminating: null }), endpoint('10.0.0.2')] })],
      want: ['10.0.0.1:8080 ready serving -', '10.0.0.2:8080 ready serving -'],
    },
    {
      name: 'terminating but serving',
      slices: [slice({ name: 's1', service: 'web', endpoints: [endpoint('10.0.0.1', { ready: false, serving: true, terminating: true })] })],
      want: ['10.0.0.1:8080 - serving terminating'],
    },
    {
      name: 'an endpoint listed by two slices counts once',
      slices: [
        slice({ name: 's2', service: 'web', endpoints: [endpoint('10.0.0.1'), endpoint('10.0.0.3')] }),
        slice({ name: 's1', service: 'web', endpoints: [endpoint('10.0.0.1')] }),
      ],
      want: ['10.0.0.1:8080 ready serving -', '10.0.0.3:8080 ready serving -'],
    },
    {
      name: 'slice ports match by name, not position',
      slices: [slice({ name: 's1', service: 'web', endpoints: [endpoint('10.0.0.1')], ports: [{ name: 'other', port: 1 }, { name: 'http', port: 8443 }] })],
      want: ['10.0.0.1:8443 ready serving -'],
    },
    {
      name: 'a slice port of another protocol does not match',
      slices: [slice({ name: 's1', service: 'web', endpoints: [endpoint('10.0.0.1')], ports: [{ name: 'http', port: 8080, protocol: 'UDP' }] })],
      want: [],
    },
    {
      name: 'a slice port without a number (all ports) is ignored, like kube-proxy does',
      slices: [slice({ name: 's1', service: 'web', endpoints: [endpoint('10.0.0.1')], ports: [{ name: 'http' }] })],
      want: [],
    },
    {
      name: 'ports: null',
      slices: [slice({ name: 's1', service: 'web', endpoints: [endpoint('10.0.0.1')], ports: null })],
      want: [],
    },
    {
      name: 'FQDN slices are ignored',
      slices: [slice({ name: 's1', service: 'web', addressType: 'FQDN', endpoints: [{ addresses: ['db.example.com'] }] })],
      want: [],
    },
    {
      name: 'only the first address of an endpoint counts',
      slices: [slice({ name: 's1', service: 'web', endpoints: [{ addresses: ['10.0.0.7', '10.0.0.8'] }] })],
      want: ['10.0.0.7:8080 ready serving -'],
    },
  ])('$name', ({ slices, want }) => {
    const eps = build(...slices).serviceEndpoints(web, 'http');
    expect(eps?.backends.map((b) => `${b.ip}:${b.port} ${b.ready ? 'ready' : '-'} ${b.serving ? 'serving' : '-'} ${b.terminating ? 'terminating' : '-'}`)).toEqual(want);
  });

  it('slices of a same-named service in another namespace do not count', () => {
    const index = build(slice({ ns: 'other', name: 's1', service: 'web', endpoints: [endpoint('10.0.0.1')] }));
    expect(index.serviceEndpoints(web, 80)).toMatchObject({ haveSlices: false, backends: [] });
  });
});

describe('servicePods', () => {
  it.each([
    { name: 'selects by labels, skips finished pods', ns: 'shop', svcName: 'web', want: ['web-5b7f9d4c6-k8j2p', 'web-5b7f9d4c6-q9w7z', 'web-canary-0'] },
    { name: 'a Service without selector has none', ns: 'shop', svcName: 'legacy-db', want: [] },
    { name: 'ExternalName has none', ns: 'shop', svcName: 'payments-api', want: [] },
    { name: 'only in its namespace', ns: 'kube-system', svcName: 'kube-dns', want: ['coredns-7c65d6cfc9-4xk2m', 'coredns-7c65d6cfc9-r8vnt'] },
  ])('$name', ({ ns, svcName, want }) => {
    expect(flannel.servicePods(service(flannel, ns, svcName)).map((p) => p.metadata.name)).toEqual(want);
  });
});

describe('podIpInNodeCidr', () => {
  const n1 = node({ name: 'n1', ips: ['10.0.0.1'], podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'] });
  const bare = node({ name: 'n2', ips: ['10.0.0.2'] });
  it.each([
    { name: 'inside', p: pod({ name: 'a', node: 'n1', ip: '10.244.1.3' }), want: true },
    { name: 'outside', p: pod({ name: 'a', node: 'n1', ip: '10.244.2.3' }), want: false },
    { name: 'dual stack, both inside', p: pod({ name: 'a', node: 'n1', ips: ['10.244.1.3', 'fd00:1::3'] }), want: true },
    { name: 'dual stack, v6 outside', p: pod({ name: 'a', node: 'n1', ips: ['10.244.1.3', 'fd00:2::3'] }), want: false },
    { name: 'node without podCIDR (Calico IPAM)', p: pod({ name: 'a', node: 'n2', ip: '192.168.3.4' }), want: undefined },
    { name: 'hostNetwork pod', p: pod({ name: 'a', node: 'n1', ip: '10.0.0.1', hostNetwork: true }), want: undefined },
    { name: 'unknown node', p: pod({ name: 'a', node: 'n9', ip: '10.244.1.3' }), want: undefined },
  ])('$name', ({ p, want }) => {
    expect(buildClusterIndex(objects({ nodes: [n1, bare], pods: [p] })).podIpInNodeCidr(p)).toBe(want);
  });

  it('every pod of the flannel fixture is inside its node CIDR', () => {
    const results = flannel.objects.pods.map((p) => flannel.podIpInNodeCidr(p));
    expect(results.filter((r) => r === false)).toEqual([]);
    expect(results.filter((r) => r === true).length).toBe(10);
  });

  it('calico nodes have no podCIDR: undefined, and the pool answers', () => {
    const nginx = calico.pod('default', 'nginx-7769f8f85b-5xk9d');
    expect(nginx && calico.podIpInNodeCidr(nginx)).toBeUndefined();
    expect(calico.ipPoolForIp('192.168.33.5')?.metadata.name).toBe('default-ipv4-ippool');
    expect(calico.ipPoolForIp('fd00:10:244:0:6c1f:9a8e:8b1c:4d41')?.metadata.name).toBe('default-ipv6-ippool');
    expect(calico.ipPoolForIp('10.10.3.4')?.metadata.name).toBe('legacy-pool');
    expect(calico.ipPoolForIp('172.16.0.1')).toBeUndefined();
  });
});
