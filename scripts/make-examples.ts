// Builds the example snapshots shipped in examples/ from real network namespaces (run as root):
//
//   node --import tsx scripts/make-examples.ts
//
// Each cluster's data plane is built with the e2e bench's cluster builder (test/e2e/cluster/), broken
// where the example says, captured with the real collector, and written as a gzip-compressed snapshot.
// Real connections are made too, so the script prints what the kernel did next to skoop's verdict.
import { fileURLToPath } from 'node:url';
import { runCli } from '../src/cli.js';
import type { Result } from '../src/model/result.js';
import { writeSnapshotFile } from '../src/source/snapshot.js';
import { buildCluster } from '../test/e2e/cluster/cluster.js';
import type { Cluster, ClusterSpec } from '../test/e2e/cluster/cluster.js';
import { destroyAllLabs } from '../test/e2e/lib/lab.js';

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));

/** The shop application: a frontend on node-1, two cart backends behind Service shop/cart (8080, `http`). */
function shop(name: string, cni: ClusterSpec['cni']): ClusterSpec {
  return {
    name,
    cni,
    nodes: 3,
    nodePorts: [10250],
    pods: [
      {
        namespace: 'shop',
        name: 'frontend',
        node: 1,
        labels: { app: 'frontend' },
        ports: [{ name: 'http', port: 80 }],
      },
      {
        namespace: 'shop',
        name: 'cart-7d9f8b6c5-x2k4p',
        node: 2,
        labels: { app: 'cart', 'pod-template-hash': '7d9f8b6c5' },
        ports: [{ name: 'http', port: 8080 }],
        owner: { kind: 'ReplicaSet', name: 'cart-7d9f8b6c5' },
      },
      {
        namespace: 'shop',
        name: 'cart-7d9f8b6c5-q8m3z',
        node: 3,
        labels: { app: 'cart', 'pod-template-hash': '7d9f8b6c5' },
        ports: [{ name: 'http', port: 8080 }],
        owner: { kind: 'ReplicaSet', name: 'cart-7d9f8b6c5' },
      },
    ],
    services: [
      {
        namespace: 'shop',
        name: 'cart',
        clusterIP: '10.96.112.40',
        selector: { app: 'cart' },
        ports: [{ name: 'http', port: 8080, targetPort: 'http' }],
      },
      {
        namespace: 'shop',
        name: 'frontend',
        clusterIP: '10.96.37.201',
        selector: { app: 'frontend' },
        ports: [{ name: 'http', port: 80, targetPort: 'http' }],
      },
    ],
  };
}

interface Example {
  readonly file: string;
  readonly spec: ClusterSpec;
  /** What to break before capturing, on a node or pod. */
  readonly breaks: (c: Cluster) => readonly { readonly on: string; readonly script: string }[];
}

const examples: readonly Example[] = [
  {
    file: 'flannel-vxlan-broken.json.gz',
    spec: shop('ex-flannel', { plugin: 'flannel', backend: 'vxlan' }),
    // node-1 loses its route to node-3's pod CIDR (what flanneld programs: via 10.244.3.0 dev flannel.1 onlink):
    // the frontend's connections to the cart backend on node-3 leave by the default route and are lost.
    breaks: (c) => [{ on: 'node-1', script: `ip route del ${c.node('node-3').podCIDR}` }],
  },
  {
    file: 'calico-healthy.json.gz',
    spec: shop('ex-calico', { plugin: 'calico', encap: 'bgp' }),
    breaks: () => [],
  },
];

async function skoopVerdict(file: string): Promise<string> {
  let out = '';
  const code = await runCli(
    ['-s', 'pod/shop/frontend', '-d', 'svc/shop/cart', '-p', '8080', '--snapshot', file, '--format', 'json'],
    {
      stdout: (t) => (out += t),
      stderr: (t) => process.stderr.write(t),
      env: {},
      stdoutIsTTY: false,
      stderrIsTTY: false,
    },
  );
  const r = JSON.parse(out) as Result;
  return `${r.verdict} (exit ${code}): ${r.suspicions.map((s) => `${s.code} on ${s.on}`).join(', ') || 'no suspicions'}`;
}

async function make(ex: Example): Promise<void> {
  const c = await buildCluster(ex.spec);
  try {
    for (const b of ex.breaks(c)) c.exec(b.on, b.script);
    const snapshot = await c.snapshot();
    const attempts = await c.connect('shop/frontend', {
      protocol: 'tcp',
      dst: '10.96.112.40',
      port: 8080,
      count: 20,
    });
    const path = `${EXAMPLES}${ex.file}`;
    await writeSnapshotFile(path, snapshot);
    const outcomes = new Map<string, number>();
    for (const a of attempts) {
      const key =
        a.outcome === 'connected'
          ? `connected to ${c.pods.find((p) => p.host === a.server?.host)?.name ?? '?'}`
          : a.outcome;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    console.log(`examples/${ex.file}`);
    console.log(`  kernel: ${[...outcomes].map(([k, n]) => `${n}× ${k}`).join(', ')}`);
    console.log(`  skoop:  ${await skoopVerdict(path)}`);
  } finally {
    c.destroy();
  }
}

if (process.getuid?.() !== 0) {
  console.error('make-examples: run as root (it builds network namespaces)');
  process.exit(1);
}
try {
  for (const ex of examples) await make(ex);
} finally {
  destroyAllLabs();
}
