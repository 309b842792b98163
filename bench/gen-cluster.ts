/**
 * A deterministic generator of a large snapshot (CONTRACTS §2): by default 1,000 nodes, 30,000 pods,
 * 10,000 Services with 3 endpoints each (EndpointSlices), flannel (vxlan or host-gw) with its
 * DaemonSet and ConfigMap, kube-proxy in iptables mode; the netstack of the three nodes a diagnosis
 * from a client pod to one Service walks through (the client's node and its backends' nodes, each
 * with ≈110,000 kube-proxy rules) and of the pods involved.
 *
 * The cluster is internally consistent: the kube-proxy rules (bench/gen-kube-proxy.ts) point at the
 * pods' real IPs, veth peers name each other's ifindex, each node routes the others' pod CIDRs, and
 * the backends listen on their port, so that the diagnosis walks pod → node → (node →) pod and comes
 * out `reachable`.
 *
 * `node --import tsx bench/gen-cluster.ts -o big.json.gz [--backend vxlan|host-gw] [--nodes N]
 * [--pods N] [--services N] [--target I] [--pod-netstack involved|node]` writes the file and prints
 * the skoop command line that diagnoses it.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { generateKubeProxySave } from './gen-kube-proxy.js';
import {
  layoutCluster,
  type ClusterShape,
  type Layout,
  type NodeInfo,
  type PodInfo,
} from './cluster-layout.js';
import { clusterObjects } from './cluster-objects.js';
import { nodeDump, nodeIptables, podDump } from './cluster-netstack.js';
import type { JsonObject } from './cluster-util.js';

/** The default shape: the 1,000 nodes, 30,000 pods, 10,000 Services × 3 endpoints. */
export const DEFAULT_SHAPE: ClusterShape = {
  nodes: 1000,
  pods: 30_000,
  services: 10_000,
  endpoints: 3,
  backend: 'vxlan',
  target: 4242,
  podNetstack: 'involved',
};

/** The diagnosis a generated snapshot is built for. */
export interface ClusterPlan {
  /** `-s`: the client pod (`pod/NAMESPACE/NAME`). */
  readonly source: string;
  /** `-d`: the target Service (`svc/NAMESPACE/NAME`). */
  readonly destination: string;
  /** `-p`: the Service port. */
  readonly port: number;
  /** The backends the diagnosis must reach, `ip:port`. */
  readonly backends: readonly string[];
  /** Nodes whose netstack is in the snapshot. */
  readonly capturedNodes: readonly string[];
  /** Pod namespaces in the snapshot (`namespace/name`). */
  readonly capturedPods: readonly string[];
  readonly layout: Layout;
}

/** A generated snapshot and the diagnosis it is built for. */
export interface GeneratedCluster extends ClusterPlan {
  readonly snapshot: JsonObject;
  /** iptables rules (`-A` lines) per captured node: kube-proxy's plus flannel's. */
  readonly rulesPerNode: number;
}

/** Flannel's rules per node (nodeIptables): FORWARD jump + 2 FLANNEL-FWD, POSTROUTING jump + 6 FLANNEL-POSTRTG. */
const FLANNEL_RULES = 10;

/** The pods whose namespace is captured on node `n`. */
function capturedPodsOf(layout: Layout, n: NodeInfo): readonly PodInfo[] {
  return layout.shape.podNetstack === 'node'
    ? n.pods
    : n.pods.filter((p) => p === layout.source || layout.target.pods.includes(p));
}

/** What a snapshot of `shape` is built to diagnose, without generating it (cheap). */
export function clusterPlan(shape: ClusterShape, layout: Layout = layoutCluster(shape)): ClusterPlan {
  const t = layout.target;
  const svc = t.gen;
  return {
    source: `pod/${layout.source.namespace}/${layout.source.name}`,
    destination: `svc/${t.namespace}/${t.name}`,
    port: svc.port,
    backends: t.pods.map((p) => `${p.ip}:${p.port}`),
    capturedNodes: layout.captured.map((n) => n.name),
    capturedPods: layout.captured.flatMap((n) =>
      capturedPodsOf(layout, n).map((p) => `${p.namespace}/${p.name}`),
    ),
    layout,
  };
}

/**
 * kube-proxy's rule set for the layout: the generator's text with its placeholder endpoint
 * addresses (10.128.0.2, 10.128.0.3, … in endpoint order) replaced by the backing pods' IPs, and
 * its cluster CIDR by the layout's.
 */
function kubeProxyLines(layout: Layout): string[] {
  const text = generateKubeProxySave(layout.kubeProxyShape).replaceAll('10.128.0.0/9', layout.clusterCidr);
  const replaced = text.replace(
    /\b10\.128\.(\d{1,3})\.(\d{1,3})\b/g,
    (whole: string, c: string, d: string) => {
      const pod = layout.pods[Number(c) * 256 + Number(d) - 2];
      return pod === undefined ? whole : pod.ip;
    },
  );
  if (replaced.includes('10.128.'))
    throw new Error('a placeholder endpoint address was left in the kube-proxy rules');
  return replaced.split('\n').filter((l) => l !== '');
}

/** Generates the snapshot for `shape` (deterministic: the same shape gives the same bytes). */
export function generateCluster(shape: ClusterShape = DEFAULT_SHAPE): GeneratedCluster {
  const layout = layoutCluster(shape);
  const lines = kubeProxyLines(layout);
  const netstack: Record<string, JsonObject> = {};
  for (const n of layout.captured) {
    const pods: Record<string, JsonObject> = {};
    for (const p of capturedPodsOf(layout, n)) pods[`${p.namespace}/${p.name}`] = podDump(layout, p);
    netstack[n.name] = { host: nodeDump(layout, n, nodeIptables(lines, layout, n)), pods };
  }
  return {
    ...clusterPlan(shape, layout),
    rulesPerNode: lines.filter((l) => l.startsWith('-A ')).length + FLANNEL_RULES,
    snapshot: {
      apiVersion: 'skoop/v1',
      kind: 'Snapshot',
      capturedAt: '2026-11-21T10:00:00Z',
      objects: clusterObjects(layout),
      netstack,
    },
  };
}

/** Serialises a generated snapshot (gzip-compressed when `gzip` is set, as `skoop capture` writes it), with the JSON's size. */
export function snapshotBytes(
  g: GeneratedCluster,
  gzip: boolean,
): { readonly data: Buffer; readonly jsonBytes: number } {
  const raw = Buffer.from(JSON.stringify(g.snapshot), 'utf8');
  return { data: gzip ? gzipSync(raw, { level: 6 }) : raw, jsonBytes: raw.length };
}

function option(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? undefined : argv[i + 1];
}

/** Service 4242 when there are that many, else one in the middle; never a UDP one (index % 10 === 9). */
function defaultTarget(services: number): number {
  const t = services > DEFAULT_SHAPE.target ? DEFAULT_SHAPE.target : Math.floor(services / 2);
  return t % 10 === 9 ? t - 1 : t;
}

/** Parses the shape flags shared by this generator and bench/diagnose.ts. */
export function shapeFromArgs(argv: readonly string[]): ClusterShape {
  const int = (name: string, fallback: number): number => {
    const v = option(argv, name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`--${name}: expected a non-negative integer, got ${v}`);
    return n;
  };
  const backend = option(argv, 'backend') ?? DEFAULT_SHAPE.backend;
  if (backend !== 'vxlan' && backend !== 'host-gw')
    throw new Error(`--backend: vxlan or host-gw, got ${backend}`);
  const podNetstack = option(argv, 'pod-netstack') ?? DEFAULT_SHAPE.podNetstack;
  if (podNetstack !== 'involved' && podNetstack !== 'node')
    throw new Error(`--pod-netstack: involved or node, got ${podNetstack}`);
  const services = int('services', DEFAULT_SHAPE.services);
  const endpoints = int('endpoints', DEFAULT_SHAPE.endpoints);
  return {
    nodes: int('nodes', DEFAULT_SHAPE.nodes),
    pods: int('pods', Math.max(DEFAULT_SHAPE.pods, services * endpoints)),
    services,
    endpoints,
    backend,
    target: int('target', defaultTarget(services)),
    podNetstack,
  };
}

/** The command-line flags that give `shape` (the inverse of {@link shapeFromArgs}). */
export function shapeArgs(shape: ClusterShape): string[] {
  return [
    ['--nodes', shape.nodes],
    ['--pods', shape.pods],
    ['--services', shape.services],
    ['--endpoints', shape.endpoints],
    ['--backend', shape.backend],
    ['--target', shape.target],
    ['--pod-netstack', shape.podNetstack],
  ].flatMap(([k, v]) => [String(k), String(v)]);
}

/** One line describing a generated cluster. */
export function describeCluster(g: GeneratedCluster): string {
  const s = g.layout.shape;
  return `${s.nodes} nodes, ${s.pods} pods, ${s.services} services × ${s.endpoints} endpoints, flannel ${s.backend}; netstack of ${g.capturedNodes.join(', ')} (${g.rulesPerNode.toLocaleString('en')} iptables rules each) and ${g.capturedPods.length} pods; ${g.source} → ${g.destination}:${g.port} (backends ${g.backends.join(', ')}, ClusterIP ${g.layout.target.gen.clusterIP})`;
}

function main(argv: readonly string[]): void {
  const o = argv.indexOf('-o');
  const out = o < 0 ? option(argv, 'output') : argv[o + 1];
  if (out === undefined) {
    process.stderr.write(
      'usage: node --import tsx bench/gen-cluster.ts -o FILE.json[.gz] [--backend vxlan|host-gw] [--nodes N] [--pods N] [--services N] [--endpoints N] [--target I] [--pod-netstack involved|node]\n',
    );
    process.exitCode = 2;
    return;
  }
  const g = generateCluster(shapeFromArgs(argv));
  const { data, jsonBytes } = snapshotBytes(g, out.endsWith('.gz'));
  writeFileSync(out, data);
  process.stdout.write(
    `${describeCluster(g)}\nwrote ${out} (${(data.length / 1e6).toFixed(1)} MB, ${(jsonBytes / 1e6).toFixed(0)} MB of JSON)\n`,
  );
  process.stdout.write(
    `node bin/skoop.js -s ${g.source} -d ${g.destination} -p ${g.port} --snapshot ${out} --format json\n`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2));
