import { podIps } from '../k8s/addresses.js';
import { buildClusterIndex, type ClusterIndex } from '../k8s/cluster-index.js';
import { parseEndpointRef, resolveEndpoint } from '../k8s/endpoint-ref.js';
import type { ClusterObjects, Pod } from '../k8s/objects.js';
import { usageError } from '../errors.js';

/** A pod whose network namespace is collected: found on its node by its IPs. */
export interface PlannedPod {
  /** `namespace/name`, its key in the snapshot. */
  readonly id: string;
  readonly ips: readonly string[];
}

/** One node to collect: its host namespace and the pod namespaces the diagnosis involves. */
export interface PlannedNode {
  readonly name: string;
  readonly pods: readonly PlannedPod[];
}

/** Which nodes and pods to collect, by node name (sorted). */
export interface CollectionPlan {
  readonly nodes: readonly PlannedNode[];
}

/** What `skoop capture` was asked for. */
export interface CaptureSelection {
  readonly nodes?: readonly string[];
  readonly allNodes?: boolean;
  /** `namespace/name`. */
  readonly pods?: readonly string[];
}

const isTerminal = (p: Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

class PlanBuilder {
  private readonly nodes = new Map<string, Map<string, PlannedPod>>();

  constructor(private readonly index: ClusterIndex) {}

  node(name: string | undefined): void {
    if (name === undefined || name === '' || this.index.node(name) === undefined) return;
    if (!this.nodes.has(name)) this.nodes.set(name, new Map());
  }

  pod(pod: Pod): void {
    const node = pod.spec?.nodeName;
    this.node(node);
    if (node === undefined || pod.spec?.hostNetwork === true || isTerminal(pod)) return;
    const ips = podIps(pod);
    const id = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
    if (ips.length > 0) this.nodes.get(node)?.set(id, { id, ips });
  }

  build(): CollectionPlan {
    return {
      nodes: [...this.nodes.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, pods]) => ({ name, pods: [...pods.values()].sort((a, b) => a.id.localeCompare(b.id)) })),
    };
  }
}

/**
 * The nodes and pods a packet between `endpoints` (command-line references, `-s` then `-d`) can
 * touch: the source's node and pod, the destination's, and for a Service every backend pod and its
 * node. Nothing else of the cluster is collected.
 */
export function planForEndpoints(objects: ClusterObjects, endpoints: readonly string[], namespace: string): CollectionPlan {
  const index = buildClusterIndex(objects);
  const plan = new PlanBuilder(index);
  for (const text of endpoints) {
    const ep = resolveEndpoint(index, parseEndpointRef(text, namespace));
    if (ep.type === 'pod') plan.pod(ep.pod);
    else if (ep.type === 'node') plan.node(ep.node.metadata.name);
    else if (ep.type === 'service') {
      for (const pod of index.servicePods(ep.service)) plan.pod(pod);
      for (const port of ep.service.spec?.ports ?? []) {
        for (const b of index.serviceEndpoints(ep.service, port)?.backends ?? []) {
          if (b.pod !== undefined) plan.pod(b.pod);
          else plan.node(b.nodeName);
        }
      }
    }
  }
  return plan.build();
}

/**
 * The nodes and pods `skoop capture` collects: the named (or all) nodes with every pod running on
 * them, plus the named pods and their nodes.
 */
export function planForSelection(objects: ClusterObjects, sel: CaptureSelection): CollectionPlan {
  const index = buildClusterIndex(objects);
  const plan = new PlanBuilder(index);
  const names = sel.allNodes === true ? objects.nodes.map((n) => n.metadata.name) : (sel.nodes ?? []);
  for (const name of names) {
    if (index.node(name) === undefined) {
      throw usageError('NODE_NOT_FOUND', `no node "${name}" in the cluster`, `nodes: ${objects.nodes.map((n) => n.metadata.name).join(', ') || '(none)'}`);
    }
    plan.node(name);
    for (const pod of index.podsOnNode(name)) plan.pod(pod);
  }
  for (const id of sel.pods ?? []) {
    const [ns, name, extra] = id.split('/');
    const pod = ns !== undefined && name !== undefined && extra === undefined ? index.pod(ns, name) : undefined;
    if (pod === undefined) throw usageError('POD_NOT_FOUND', `no pod "${id}" in the cluster`, 'give pods as NAMESPACE/NAME (kubectl get pods -A)');
    plan.pod(pod);
  }
  return plan.build();
}
