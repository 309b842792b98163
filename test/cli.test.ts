import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import type { CliIo } from '../src/io.js';
import { configMap, daemonSet, endpoint, node, objects, pod, slice, svc } from './fixtures/k8s/builders.js';

const dir = mkdtempSync(join(tmpdir(), 'skoop-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function skoop(...argv: string[]): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: { NO_COLOR: '1' },
    stdoutIsTTY: false,
    stderrIsTTY: false,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

/** A small flannel cluster's objects, with no network state captured. */
function clusterObjects(extra: { cni?: 'flannel' | 'cilium' } = {}) {
  return objects({
    nodes: [
      node({ name: 'node-1', ips: ['192.168.50.11'], podCIDRs: ['10.244.1.0/24'] }),
      node({ name: 'node-2', ips: ['192.168.50.12'], podCIDRs: ['10.244.2.0/24'] }),
    ],
    namespaces: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } },
    ],
    pods: [
      pod({ ns: 'shop', name: 'frontend', ip: '10.244.1.5', node: 'node-1', labels: { app: 'frontend' } }),
      pod({
        ns: 'shop',
        name: 'cart-1',
        ip: '10.244.2.7',
        node: 'node-2',
        labels: { app: 'cart' },
        ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
      }),
    ],
    services: [
      svc({
        ns: 'shop',
        name: 'cart',
        clusterIP: '10.96.0.20',
        selector: { app: 'cart' },
        ports: [
          { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
          { name: 'metrics', port: 9090, targetPort: 9090, protocol: 'TCP' },
        ],
      }),
    ],
    endpointSlices: [
      slice({
        ns: 'shop',
        name: 'cart-abc',
        service: 'cart',
        endpoints: [endpoint('10.244.2.7', { node: 'node-2', pod: 'cart-1' })],
      }),
    ],
    daemonSets: [
      extra.cni === 'cilium'
        ? daemonSet('kube-system', 'cilium', ['quay.io/cilium/cilium:v1.15.0'])
        : daemonSet('kube-flannel', 'kube-flannel-ds', ['docker.io/flannel/flannel:v0.25.1']),
    ],
    configMaps: [
      configMap('kube-flannel', 'kube-flannel-cfg', {
        'net-conf.json': '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}',
      }),
    ],
  });
}

function writeSnapshot(name: string, body: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
}

const snapshot = writeSnapshot('cluster.json', {
  apiVersion: 'skoop/v1',
  kind: 'Snapshot',
  objects: clusterObjects(),
  netstack: {},
});
const ciliumSnapshot = writeSnapshot('cilium.json', {
  apiVersion: 'skoop/v1',
  kind: 'Snapshot',
  objects: clusterObjects({ cni: 'cilium' }),
  netstack: {},
});

describe('skoop command line: exit codes and errors (CONTRACTS §1, §4)', () => {
  it.each([
    { name: 'help', argv: ['--help'], code: 0, out: 'Usage: skoop' },
    { name: 'version', argv: ['--version'], code: 0, out: '0.1.0' },
    { name: 'plugins', argv: ['plugins'], code: 0, out: 'flannel' },
    { name: 'bash completion', argv: ['completion', 'bash'], code: 0, out: '__complete' },
    { name: 'policy help', argv: ['policy', '--help'], code: 0, out: 'Usage: skoop policy' },
  ])('$name exits $code', async ({ argv, code, out }) => {
    const r = await skoop(...argv);
    expect(r.code).toBe(code);
    expect(r.stdout).toContain(out);
  });

  it.each([
    { name: 'an unknown flag', argv: ['--bogus'], code: 2, err: "unknown option '--bogus'" },
    {
      name: 'no endpoints',
      argv: ['--snapshot', snapshot],
      code: 2,
      err: '-s/--source and -d/--destination',
    },
    {
      name: 'a missing snapshot file',
      argv: ['-s', 'pod/a', '-d', 'pod/b', '-p', '80', '--snapshot', join(dir, 'nope.json')],
      code: 2,
      err: 'snapshot file not found',
    },
    {
      name: 'no snapshot and no kubeconfig anywhere',
      argv: ['-s', 'pod/a', '-d', 'pod/b', '-p', '80'],
      code: 3,
      err: 'no kubeconfig',
    },
    {
      name: 'a kubeconfig that does not exist',
      argv: ['-s', 'pod/a', '-d', 'pod/b', '-p', '80', '--kubeconfig', join(dir, 'nope.kubeconfig')],
      code: 2,
      err: 'kubeconfig not found',
    },
    {
      name: 'capture without -o',
      argv: ['capture', '--all-nodes'],
      code: 2,
      err: '-o FILE',
    },
    {
      name: 'a malformed snapshot',
      argv: [
        '-s',
        'pod/a',
        '-d',
        'pod/b',
        '-p',
        '80',
        '--snapshot',
        writeSnapshot('bad.json', '{"apiVersion":'),
      ],
      code: 2,
      err: 'invalid JSON',
    },
    {
      name: 'a snapshot of the wrong kind',
      argv: [
        '-s',
        'pod/a',
        '-d',
        'pod/b',
        '-p',
        '80',
        '--snapshot',
        writeSnapshot('list.json', { apiVersion: 'v1', kind: 'List' }),
      ],
      code: 2,
      err: 'apiVersion',
    },
    {
      name: 'an unknown pod',
      argv: ['-s', 'pod/shop/nope', '-d', 'svc/shop/cart', '-p', '80', '--snapshot', snapshot],
      code: 2,
      err: 'frontend',
    },
    {
      name: 'a Service port it does not expose',
      argv: ['-s', 'pod/shop/frontend', '-d', 'svc/shop/cart', '-p', '8443', '--snapshot', snapshot],
      code: 2,
      err: 'http(80/TCP), metrics(9090/TCP)',
    },
    {
      name: 'a port name a pod does not have',
      argv: ['-s', 'pod/shop/frontend', '-d', 'pod/shop/cart-1', '-p', 'grpc', '--snapshot', snapshot],
      code: 2,
      err: 'grpc',
    },
    {
      name: 'no port for tcp',
      argv: ['-s', 'pod/shop/frontend', '-d', 'svc/shop/cart', '--snapshot', snapshot],
      code: 2,
      err: '-p/--dport',
    },
    {
      name: 'an unknown network plugin',
      argv: [
        '-s',
        'pod/shop/frontend',
        '-d',
        'svc/shop/cart',
        '-p',
        '80',
        '--snapshot',
        snapshot,
        '--network-plugin',
        'weavenet',
      ],
      code: 2,
      err: 'unknown network plugin',
    },
    {
      name: 'a Service as the source',
      argv: ['-s', 'svc/shop/cart', '-d', 'pod/shop/frontend', '-p', '80', '--snapshot', snapshot],
      code: 2,
      err: 'source must be a pod or a node',
    },
    { name: 'an unknown completion shell', argv: ['completion', 'tcsh'], code: 2, err: 'tcsh' },
    {
      name: '--http on a non-loopback address without consent',
      argv: [
        '-s',
        'pod/shop/frontend',
        '-d',
        'svc/shop/cart',
        '-p',
        '80',
        '--snapshot',
        snapshot,
        '--http',
        '0.0.0.0:8080',
      ],
      code: 2,
      err: '--http-allow-remote',
    },
    {
      name: 'an unknown format',
      argv: [
        '-s',
        'pod/shop/frontend',
        '-d',
        'svc/shop/cart',
        '-p',
        '80',
        '--snapshot',
        snapshot,
        '--format',
        'yaml',
      ],
      code: 2,
      err: 'yaml',
    },
  ])('$name exits $code with a message that says what to fix', async ({ argv, code, err }) => {
    const r = await skoop(...argv);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(err);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });
});

describe('skoop on a snapshot without network state', () => {
  it('reports what it could not check and exits 1 with verdict unknown', async () => {
    const r = await skoop(
      '-s',
      'pod/shop/frontend',
      '-d',
      'svc/shop/cart',
      '-p',
      'http',
      '--snapshot',
      snapshot,
      '--format',
      'json',
    );
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout) as {
      verdict: string;
      suspicions: { code: string; on: string }[];
      destination: { port: number };
    };
    expect(result.verdict).toBe('unknown');
    expect(result.destination.port).toBe(80);
    expect(result.suspicions).toContainEqual(
      expect.objectContaining({ code: 'NETSTACK_NOT_COLLECTED', on: 'shop/frontend' }),
    );
  });

  it('reports an unsupported CNI as CNI_UNSUPPORTED on the cluster, still exit 1 not 3', async () => {
    const r = await skoop(
      '-s',
      'pod/shop/frontend',
      '-d',
      'svc/shop/cart',
      '-p',
      '80',
      '--snapshot',
      ciliumSnapshot,
      '--format',
      'json',
    );
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout) as { verdict: string; suspicions: { code: string; on: string }[] };
    expect(result.verdict).toBe('unknown');
    expect(result.suspicions).toContainEqual(
      expect.objectContaining({ code: 'CNI_UNSUPPORTED', on: 'cluster' }),
    );
  });

    it('still runs the Kubernetes-level checks with an unsupported CNI: endpoints and policies', async () => {
    const objects = clusterObjects({ cni: 'cilium' });
    const file = writeSnapshot('cilium-checks.json', {
      apiVersion: 'skoop/v1',
      kind: 'Snapshot',
      objects: {
        ...objects,
        endpointSlices: [],
        networkPolicies: [
          {
            apiVersion: 'networking.k8s.io/v1',
            kind: 'NetworkPolicy',
            metadata: { name: 'cart-deny', namespace: 'shop' },
            spec: { podSelector: { matchLabels: { app: 'cart' } }, policyTypes: ['Ingress'] },
          },
        ],
      },
      netstack: {},
    });
    const svc = await skoop('-s', 'pod/shop/frontend', '-d', 'svc/shop/cart', '-p', '80', '--snapshot', file, '--format', 'json');
    const r1 = JSON.parse(svc.stdout) as { verdict: string; suspicions: { code: string; on: string }[] };
    expect(r1.verdict).toBe('unknown');
    expect(r1.suspicions).toContainEqual(expect.objectContaining({ code: 'SERVICE_NO_ENDPOINTS', on: 'cluster' }));
    const pod = await skoop('-s', 'pod/shop/frontend', '-d', 'pod/shop/cart-1', '-p', '8080', '--snapshot', file, '--format', 'json');
    const r2 = JSON.parse(pod.stdout) as { suspicions: { code: string; on: string }[]; path: { nodes: { id: string }[] } };
    expect(r2.suspicions).toContainEqual(expect.objectContaining({ code: 'NETWORK_POLICY_DENY', on: 'shop/cart-1' }));
    expect(r2.path.nodes.map((n) => n.id)).toContain('shop/cart-1');
  });

  it('writes the HTML report with --format html', async () => {
    const out = join(dir, 'out.html');
    const r = await skoop(
      '-s',
      'pod/shop/frontend',
      '-d',
      'svc/shop/cart',
      '-p',
      '80',
      '--snapshot',
      snapshot,
      '--format',
      'html',
      '-o',
      out,
    );
    expect(r.code).toBe(1);
    const { readFileSync } = await import('node:fs');
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/i);
    expect(html).toContain('NETSTACK_NOT_COLLECTED');
  });

  it('writes the chosen format to -o and nothing to stdout', async () => {
    const out = join(dir, 'out.dot');
    const r = await skoop(
      '-s',
      'pod/shop/frontend',
      '-d',
      'pod/shop/cart-1',
      '-p',
      'http',
      '--snapshot',
      snapshot,
      '--format',
      'dot',
      '-o',
      out,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(out, 'utf8')).toMatch(/^digraph/);
  });
});
