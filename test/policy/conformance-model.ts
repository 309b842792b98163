/**
 * The upstream NetworkPolicy e2e model (kubernetes/test/e2e/network/netpol): namespaces x, y, z with
 * pods a, b, c each (label `pod: <name>`), every pod serving ports 80 and 81 over TCP, UDP and SCTP
 * with container ports named `serve-<port>-<proto>`; and a 9×9 reachability matrix built the way
 * upstream's `Reachability` is (start all-true, then `Expect…` calls in order).
 */
import { buildClusterIndex, type ClusterIndex } from '../../src/k8s/cluster-index.js';
import type { ClusterObjects, KubeProtocol, Namespace, NetworkPolicy, Pod, PolicyApiObject, StringMap } from '../../src/k8s/objects.js';
import { evaluatePolicies } from '../../src/policy/evaluate-policies.js';

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const POD_NAMES = ['a', 'b', 'c'] as const;
/** `x/a` … `z/c`, in matrix order. */
export const PODS: readonly string[] = NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => `${ns}/${p}`));

/** The pod `ns/name` of the model, at 10.244.<ns>.<pod>. */
export function modelPod(id: string, extraLabels: StringMap = {}): Pod {
  const [ns, name] = id.split('/') as [string, string];
  const ip = `10.244.${NAMESPACES.indexOf(ns as 'x') + 1}.${POD_NAMES.indexOf(name as 'a') + 10}`;
  const ports = [80, 81].flatMap((port) =>
    (['TCP', 'UDP', 'SCTP'] as const).map((protocol) => ({ name: `serve-${port}-${protocol.toLowerCase()}`, containerPort: port, protocol })),
  );
  return {
    metadata: { namespace: ns, name, labels: { pod: name, ...extraLabels } },
    spec: { nodeName: 'node1', containers: [{ name: `cont-${name}`, ports }] },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}

/** The model's IP of pod `id`. */
export const podIp = (id: string): string => modelPod(id).status?.podIP as string;

/** Changes to the base model a step makes (upstream's AddNamespaceLabel / AddPodLabels). */
export interface ModelChanges {
  readonly namespaceLabels?: Readonly<Record<string, StringMap>>;
  readonly podLabels?: Readonly<Record<string, StringMap>>;
}

/** The cluster objects of the model with `policies`. */
export function modelObjects(
  policies: readonly NetworkPolicy[],
  changes: ModelChanges = {},
  admin: { anps?: readonly PolicyApiObject[]; banps?: readonly PolicyApiObject[]; cnps?: readonly PolicyApiObject[] } = {},
): Partial<ClusterObjects> {
  const namespaces: Namespace[] = NAMESPACES.map((ns) => ({
    metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns, ns, ...(changes.namespaceLabels?.[ns] ?? {}) } },
  }));
  return {
    nodes: [{ metadata: { name: 'node1' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.0.1' }] } }],
    namespaces,
    pods: PODS.map((id) => modelPod(id, changes.podLabels?.[id] ?? {})),
    networkPolicies: policies,
    adminNetworkPolicies: admin.anps ?? [],
    baselineAdminNetworkPolicies: admin.banps ?? [],
    clusterNetworkPolicies: admin.cnps ?? [],
  };
}

/** One upstream `Expect…` call: `[from, to, reachable]`, each end `x/a`, `x/*` or `*`. */
export type Expectation = readonly [from: string, to: string, reachable: boolean];

const matches = (pattern: string, pod: string): boolean =>
  pattern === '*' || pattern === pod || (pattern.endsWith('/*') && pod.startsWith(pattern.slice(0, -1)));

/** The expected 9×9 matrix (`[from][to]`): all true, then each expectation applied in order. */
export function expectedMatrix(expectations: readonly Expectation[]): boolean[][] {
  return PODS.map((from) =>
    PODS.map((to) => {
      let v = true;
      for (const [f, t, r] of expectations) if (matches(f, from) && matches(t, to)) v = r;
      return v;
    }),
  );
}

/** The 9×9 matrix skoop computes for `port`/`protocol` over `objects`. */
export function computedMatrix(objects: Partial<ClusterObjects>, port: number, protocol: KubeProtocol): boolean[][] {
  const index: ClusterIndex = buildClusterIndex(objects);
  const pod = (id: string): Pod => {
    const [ns, name] = id.split('/') as [string, string];
    return index.pod(ns, name) as Pod;
  };
  return PODS.map((from) =>
    PODS.map((to) => evaluatePolicies({ cluster: index, source: { kind: 'pod', pod: pod(from) }, destination: { kind: 'pod', pod: pod(to) }, port, protocol }).allowed),
  );
}

/** A matrix printed like upstream's truth table (`.` reachable, `X` not). */
export function formatMatrix(m: readonly (readonly boolean[])[]): string {
  const head = `      ${PODS.join(' ')}`;
  return [head, ...PODS.map((from, i) => `${from}   ${(m[i] ?? []).map((v) => (v ? ' . ' : ' X ')).join(' ')}`)].join('\n');
}
