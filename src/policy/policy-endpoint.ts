import { podIps } from '../k8s/addresses.js';
import type { Backend, ClusterIndex } from '../k8s/cluster-index.js';
import type { ResolvedEndpoint } from '../k8s/endpoint-ref.js';
import { objectId, type KubeProtocol, type Node, type Pod, type StringMap } from '../k8s/objects.js';

/**
 * One end of a connection as the policy engine sees it: a pod (with its labels, namespace and
 * container ports), a node (or a hostNetwork pod, which is the node as far as policies go), or an
 * address outside the cluster.
 */
export type PolicyEndpoint =
  | {
      readonly kind: 'pod';
      readonly pod: Pod;
      /** The address the packet carries; the pod's primary IP when absent. */
      readonly ip?: string;
    }
  | { readonly kind: 'node'; readonly ip: string; readonly node?: Node }
  | { readonly kind: 'external'; readonly ip: string };

/** The L4 protocol of the connection; ICMP only matches rules without ports. */
export type PolicyProtocol = KubeProtocol | 'ICMP';

/** `namespace/name` of a pod. */
export const podId: (pod: Pod) => string = objectId;

/** The address an endpoint's packets carry (`''` for a pod without IP). */
export function endpointIp(ep: PolicyEndpoint): string {
  if (ep.kind !== 'pod') return ep.ip;
  return ep.ip ?? podIps(ep.pod)[0] ?? '';
}

/** How an endpoint is named in explanations: `pod x/a`, `node n1 (10.0.0.1)`, `10.1.2.3`. */
export function describeEndpoint(ep: PolicyEndpoint): string {
  if (ep.kind === 'pod') return `pod ${podId(ep.pod)}`;
  if (ep.kind === 'node')
    return ep.node !== undefined ? `node ${ep.node.metadata.name} (${ep.ip})` : `node ${ep.ip}`;
  return ep.ip;
}

/**
 * A pod endpoint, or the node endpoint a hostNetwork pod stands for.
 *
 * @remarks
 * NetworkPolicy does not select hostNetwork pods and their traffic carries the node's IP, so a
 * policy sees them as their node (https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-and-hostnetwork-pods).
 */
export function podPolicyEndpoint(index: ClusterIndex, pod: Pod, ip?: string): PolicyEndpoint {
  if (pod.spec?.hostNetwork === true) {
    const nodeName = pod.spec.nodeName;
    const node = nodeName !== undefined ? index.node(nodeName) : undefined;
    const addr = ip ?? podIps(pod)[0] ?? '';
    return node !== undefined ? { kind: 'node', ip: addr, node } : { kind: 'node', ip: addr };
  }
  return ip !== undefined ? { kind: 'pod', pod, ip } : { kind: 'pod', pod };
}

/**
 * The policy endpoint of a resolved `-s`/`-d` endpoint; `undefined` for a Service, whose backends
 * must be evaluated one by one (see {@link backendPolicyEndpoint}).
 */
export function policyEndpointOf(index: ClusterIndex, ep: ResolvedEndpoint): PolicyEndpoint | undefined {
  switch (ep.type) {
    case 'pod':
      return podPolicyEndpoint(index, ep.pod, ep.ip);
    case 'node':
      return { kind: 'node', ip: ep.ip, node: ep.node };
    case 'external':
      return policyEndpointForIp(index, ep.ip);
    case 'service':
      return undefined;
  }
}

/** The policy endpoint of a Service backend after DNAT: its pod when known, else whatever holds its IP. */
export function backendPolicyEndpoint(index: ClusterIndex, backend: Backend): PolicyEndpoint {
  if (backend.pod !== undefined) return podPolicyEndpoint(index, backend.pod, backend.ip);
  return policyEndpointForIp(index, backend.ip);
}

/** What holds `ip` in the cluster, as a policy endpoint (an external address when nothing does). */
export function policyEndpointForIp(index: ClusterIndex, ip: string): PolicyEndpoint {
  for (const owner of index.ownersOf(ip)) {
    if (owner.kind === 'pod') return { kind: 'pod', pod: owner.pod, ip };
    if (owner.kind === 'node') return { kind: 'node', ip, node: owner.node };
  }
  return { kind: 'external', ip };
}

/** A namespace's labels, with `kubernetes.io/metadata.name` set as the API server sets it (since 1.21). */
export function namespaceLabels(index: ClusterIndex, namespace: string): StringMap {
  const labels = index.namespace(namespace)?.metadata.labels ?? {};
  return { ...labels, 'kubernetes.io/metadata.name': namespace };
}

/** The node an endpoint is or runs on (a pod's `spec.nodeName`, a node endpoint's node). */
export function endpointNode(index: ClusterIndex, ep: PolicyEndpoint): Node | undefined {
  if (ep.kind === 'pod') {
    const name = ep.pod.spec?.nodeName;
    return name !== undefined ? index.node(name) : undefined;
  }
  if (ep.kind === 'node') return ep.node ?? index.nodeForIp(ep.ip);
  return undefined;
}
