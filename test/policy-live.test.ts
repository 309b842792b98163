// `skoop policy` against a live cluster: the API double serves the objects over real HTTP, and skoop
// reads them through @kubernetes/client-node with a real kubeconfig file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import { startApiDouble, type ApiDouble } from './api-double/api-double.js';

let double: ApiDouble;
let dir: string;
let kubeconfig: string;

const pod = (name: string, app: string, ip: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'shop', labels: { app } },
  spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] },
});

beforeAll(async () => {
  double = await startApiDouble({
    objects: {
      nodes: [{ metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.50.11' }] } }],
      namespaces: [{ metadata: { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop' } } }],
      pods: [pod('frontend', 'frontend', '10.244.1.2'), pod('cart', 'cart', '10.244.1.3')],
      networkpolicies: [
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'cart-from-frontend', namespace: 'shop' },
          spec: {
            podSelector: { matchLabels: { app: 'cart' } },
            policyTypes: ['Ingress'],
            ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 'http' }] }],
          },
        },
      ],
    },
  });
  dir = mkdtempSync(join(tmpdir(), 'skoop-policy-live-'));
  kubeconfig = join(dir, 'config');
  double.writeKubeconfig(kubeconfig, { namespace: 'shop' });
});

afterAll(async () => {
  await double.close();
  rmSync(dir, { recursive: true, force: true });
});

async function policy(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['policy', ...argv, '--kubeconfig', kubeconfig], {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    env: {},
    stdoutIsTTY: false,
    stderrIsTTY: false,
  });
  return { code, out, err };
}

describe('skoop policy on a live cluster', () => {
  it.each([
    { name: 'the named port the policy allows', argv: ['-s', 'pod/frontend', '-d', 'pod/cart', '-p', '8080'], code: 0, word: 'ALLOWED', policy: 'cart-from-frontend' },
    { name: 'the reverse direction is isolated', argv: ['-s', 'pod/cart', '-d', 'pod/frontend', '-p', '8080'], code: 0, word: 'ALLOWED', policy: undefined },
    { name: 'another port is denied', argv: ['-s', 'pod/frontend', '-d', 'pod/cart', '-p', '9090'], code: 1, word: 'DENIED', policy: 'cart-from-frontend' },
  ])('$name (namespace from the kubeconfig context)', async ({ argv, code, word, policy: name }) => {
    const r = await policy(...argv);
    expect(r.err).toBe('');
    expect(r.code).toBe(code);
    expect(r.out).toMatch(new RegExp(`^${word}`));
    if (name !== undefined) expect(r.out).toContain(name);
  });

  it('reads the objects from the API, not from a file', async () => {
    const before = double.requests.length;
    await policy('-s', 'pod/frontend', '-d', 'pod/cart', '-p', '8080');
    const paths = double.requests.slice(before).map((r) => r.path);
    expect(paths).toContain('/apis/networking.k8s.io/v1/networkpolicies');
    expect(paths).toContain('/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies');
  });
});
