import { describe, expect, it } from 'vitest';
import { SkoopError } from '../errors.js';
import { loadFixture, node, objects, pod, svc } from '../../test/fixtures/k8s/builders.js';
import { buildClusterIndex } from './cluster-index.js';
import { parseEndpointRef, resolveEndpoint, type EndpointRef } from './endpoint-ref.js';

function thrown(fn: () => unknown): SkoopError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SkoopError) return err;
    throw err;
  }
  throw new Error('expected a SkoopError');
}

describe('parseEndpointRef', () => {
  it.each<{ name: string; text: string; want: Partial<EndpointRef> }>([
    { name: 'IPv4', text: '10.244.1.5', want: { kind: 'ip', ip: '10.244.1.5' } },
    { name: 'IPv6, canonicalised', text: 'FD00:10:244::0005', want: { kind: 'ip', ip: 'fd00:10:244::5' } },
    { name: 'IPv6 in brackets', text: '[fd00::1]', want: { kind: 'ip', ip: 'fd00::1' } },
    { name: 'pod/NAME in the default namespace', text: 'pod/web', want: { kind: 'pod', namespace: 'shop', name: 'web', namespaceExplicit: false } },
    { name: 'pod/NS/NAME', text: 'pod/kube-system/coredns-1', want: { kind: 'pod', namespace: 'kube-system', name: 'coredns-1', namespaceExplicit: true } },
    { name: 'svc/NAME', text: 'svc/web', want: { kind: 'service', namespace: 'shop', name: 'web' } },
    { name: 'service/NS/NAME', text: 'service/default/kubernetes', want: { kind: 'service', namespace: 'default', name: 'kubernetes' } },
    { name: 'kubectl short kinds', text: 'po/web', want: { kind: 'pod', name: 'web' } },
    { name: 'node/NAME', text: 'node/worker1', want: { kind: 'node', name: 'worker1' } },
    { name: 'node name with dots', text: 'node/ip-10-0-0-1.ec2.internal', want: { kind: 'node', name: 'ip-10-0-0-1.ec2.internal' } },
  ])('$name', ({ text, want }) => {
    expect(parseEndpointRef(text, 'shop')).toMatchObject(want);
  });

  it.each([
    { name: 'bare name', text: 'web', message: 'a name needs a kind, e.g. pod/web or svc/web' },
    { name: 'bad IPv4', text: '10.0.0.256', message: 'not a valid IP address' },
    { name: 'bad IPv6', text: 'fd00::1::2', message: 'not a valid IP address' },
    { name: 'CIDR', text: '10.0.0.0/24', message: 'a CIDR is not an endpoint' },
    { name: 'unknown kind', text: 'deploy/web', message: 'unknown kind "deploy"' },
    { name: 'empty name', text: 'pod/', message: 'empty name' },
    { name: 'namespaced node', text: 'node/ns/n1', message: 'nodes have no namespace' },
    { name: 'too many parts', text: 'pod/a/b/c', message: 'too many "/"' },
    { name: 'invalid name', text: 'pod/Web_1', message: 'is not a valid pod name' },
  ])('rejects $name', ({ text, message }) => {
    const err = thrown(() => parseEndpointRef(text, 'default'));
    expect(err.code).toBe('ENDPOINT_INVALID');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(message);
    expect(err.hint).toContain('pod/NAMESPACE/NAME');
  });
});

const flannel = buildClusterIndex(loadFixture('flannel-cluster.json'));
const calico = buildClusterIndex(loadFixture('calico-cluster.json'));
const resolve = (index: typeof flannel, text: string, ns = 'shop', family?: 4 | 6) =>
  resolveEndpoint(index, parseEndpointRef(text, ns), family !== undefined ? { family } : {});

describe('resolveEndpoint', () => {
  it.each([
    { name: 'pod by name', text: 'pod/web-canary-0', want: { type: 'pod', ip: '10.244.1.8', id: 'shop/web-canary-0', hostNetwork: false, nodeName: 'worker1' } },
    { name: 'pod by IP', text: '10.244.0.2', want: { type: 'pod', ip: '10.244.0.2', id: 'kube-system/coredns-7c65d6cfc9-4xk2m' } },
    { name: 'hostNetwork pod by name keeps its node IP', text: 'pod/kube-system/kube-proxy-m9zqf', want: { type: 'pod', ip: '192.168.56.11', hostNetwork: true, nodeName: 'worker1' } },
    { name: 'hostNetwork pod IP resolves to the node', text: '192.168.56.10', want: { type: 'node', ip: '192.168.56.10', id: 'cp1' } },
    { name: 'node IP with an externalIP on it resolves to the node', text: '192.168.56.11', want: { type: 'node', id: 'worker1' } },
    { name: 'service by name', text: 'svc/kube-system/kube-dns', want: { type: 'service', ip: '10.96.0.10', id: 'kube-system/kube-dns' } },
    { name: 'service by ClusterIP', text: '10.96.120.7', want: { type: 'service', id: 'shop/web' } },
    { name: 'service by LoadBalancer IP', text: '192.168.56.200', want: { type: 'service', ip: '192.168.56.200', id: 'shop/lb' } },
    { name: 'node by name', text: 'node/worker2', want: { type: 'node', ip: '192.168.56.12', id: 'worker2' } },
    { name: 'external IP', text: '1.1.1.1', want: { type: 'external', ip: '1.1.1.1', id: '1.1.1.1' } },
    { name: 'an IP reused after a finished pod is the running pod', text: '10.244.1.6', want: { type: 'pod', id: 'shop/cart-5f4d8b7c6-p7h2s' } },
  ])('$name', ({ text, want }) => {
    expect(resolve(flannel, text)).toMatchObject(want);
  });

  it.each([
    { name: 'pod, v6 wanted', text: 'pod/default/nginx-7769f8f85b-5xk9d', family: 6 as const, want: { type: 'pod', ip: 'fd00:10:244:0:6c1f:9a8e:8b1c:4d41' } },
    { name: 'pod, primary is v4', text: 'pod/default/nginx-7769f8f85b-5xk9d', family: undefined, want: { type: 'pod', ip: '192.168.33.5' } },
    { name: 'service, v6 ClusterIP', text: 'svc/default/nginx', family: 6 as const, want: { type: 'service', ip: 'fd00:10:96::2e4f' } },
    { name: 'node, v6 InternalIP', text: 'node/c2', family: 6 as const, want: { type: 'node', ip: 'fd00:0:0:1::12' } },
    { name: 'node, ExternalIP is not preferred', text: 'node/c1', family: 4 as const, want: { type: 'node', ip: '10.0.0.11' } },
  ])('dual stack: $name', ({ text, family, want }) => {
    expect(resolve(calico, text, 'default', family)).toMatchObject(want);
  });

  it.each([
    {
      name: 'unknown pod lists the namespace pods and suggests a Deployment pod',
      text: 'pod/frontend',
      ns: 'shop',
      code: 'ENDPOINT_NOT_FOUND',
      message:
        'no pod shop/frontend; pods in shop: cart-5f4d8b7c6-p7h2s, checkout-78d9c6b5f-2lq8w, db-0, frontend-6d8f7b9c5-x2k4q, nightly-report-29391780-7kq5d, web-5b7f9d4c6-k8j2p, web-5b7f9d4c6-q9w7z, web-canary-0',
      hint: 'did you mean pod/shop/frontend-6d8f7b9c5-x2k4q?',
    },
    {
      name: 'pod in another namespace suggests -n',
      text: 'pod/db-0',
      ns: 'default',
      code: 'ENDPOINT_NOT_FOUND',
      message: 'no pod default/db-0; pods in default: debug-shell',
      hint: 'pod db-0 exists in namespace shop: add -n shop or write pod/shop/db-0',
    },
    {
      name: 'explicit namespace suggests the full form only',
      text: 'pod/kube-system/db-0',
      ns: 'default',
      code: 'ENDPOINT_NOT_FOUND',
      message: 'no pod kube-system/db-0; pods in kube-system:',
      hint: 'pod db-0 exists in namespace shop: write pod/shop/db-0',
    },
    {
      name: 'unknown namespace',
      text: 'svc/web',
      ns: 'shopp',
      code: 'ENDPOINT_NOT_FOUND',
      message: 'no service shopp/web; there is no namespace shopp (namespaces: default, kube-flannel, kube-node-lease, kube-public, kube-system, shop)',
      hint: 'service web exists in namespace shop: add -n shop or write svc/shop/web',
    },
    {
      name: 'namespace without services',
      text: 'svc/web',
      ns: 'kube-flannel',
      code: 'ENDPOINT_NOT_FOUND',
      message: 'no service kube-flannel/web; namespace kube-flannel has no services',
      hint: 'service web exists in namespace shop',
    },
    { name: 'unknown node', text: 'node/worker', ns: 'default', code: 'ENDPOINT_NOT_FOUND', message: 'no node worker; nodes: cp1, worker1, worker2', hint: 'kubectl get nodes' },
    { name: 'pending pod without IP', text: 'pod/default/debug-shell', ns: 'default', code: 'ENDPOINT_NO_IP', message: 'pod default/debug-shell (phase Pending) has no IP address', hint: 'kubectl get pod -n default debug-shell -o wide' },
    { name: 'finished pod', text: 'pod/nightly-report-29391780-7kq5d', ns: 'shop', code: 'ENDPOINT_NO_IP', message: 'has finished (phase Succeeded)', hint: 'running pod' },
    { name: 'headless service', text: 'svc/db', ns: 'shop', code: 'ENDPOINT_NO_IP', message: 'service shop/db is headless (clusterIP: None)', hint: 'pod/shop/db-0' },
    { name: 'ExternalName service', text: 'svc/payments-api', ns: 'shop', code: 'ENDPOINT_NO_IP', message: 'a DNS alias for api.payments.example.com', hint: 'resolves to' },
  ])('$name', ({ text, ns, code, message, hint }) => {
    const err = thrown(() => resolve(flannel, text, ns));
    expect(err.code).toBe(code);
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(message);
    expect(err.hint).toContain(hint);
  });

  it('lists at most ten names', () => {
    const pods = Array.from({ length: 14 }, (_, i) => pod({ name: `p${String(i).padStart(2, '0')}`, ip: `10.0.0.${i + 1}` }));
    const err = thrown(() => resolve(buildClusterIndex(objects({ pods })), 'pod/x', 'default'));
    expect(err.message).toBe('no pod default/x; pods in default: p00, p01, p02, p03, p04, p05, p06, p07, p08, p09 … and 4 more');
  });

  it('an IP claimed twice is ambiguous', () => {
    const index = buildClusterIndex(
      objects({ nodes: [node({ name: 'n1', ips: ['10.0.0.1'] })], pods: [pod({ name: 'a', ip: '10.0.0.1', node: 'n1' })], services: [svc({ name: 's', clusterIP: '10.96.0.1' })] }),
    );
    const err = thrown(() => resolve(index, '10.0.0.1', 'default'));
    expect(err.code).toBe('ENDPOINT_AMBIGUOUS');
    expect(err.message).toContain('node n1, pod default/a');
  });

  it('a family the IP literal does not have', () => {
    expect(thrown(() => resolve(flannel, '10.244.1.5', 'shop', 6)).code).toBe('ENDPOINT_INVALID');
  });

  it('a pod without an address of the wanted family', () => {
    const err = thrown(() => resolve(flannel, 'pod/web-canary-0', 'shop', 6));
    expect(err.code).toBe('ENDPOINT_NO_IP');
    expect(err.message).toBe('pod shop/web-canary-0 has no IPv6 address (it has 10.244.1.8)');
  });
});
