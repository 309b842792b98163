import type { Condition, Node, Pod } from './objects.js';

function conditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return (conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

/**
 * Whether the pod's `Ready` condition is `True`.
 *
 * @remarks
 * The kubelet sets `Ready` when every container is ready (and every readiness gate holds); it is the
 * condition the EndpointSlice controller copies into `endpoints[].conditions.ready`.
 */
export function isPodReady(pod: Pod): boolean {
  return conditionTrue(pod.status?.conditions, 'Ready');
}

/** Whether the node's `Ready` condition is `True` (`False` and `Unknown` — kubelet silent — are not ready). */
export function isNodeReady(node: Node): boolean {
  return conditionTrue(node.status?.conditions, 'Ready');
}

/** Names of the pod's containers whose status says `ready: false`. */
export function unreadyContainers(pod: Pod): readonly string[] {
  return (pod.status?.containerStatuses ?? []).filter((s) => !s.ready).map((s) => s.name);
}

/**
 * Whether the pod has finished (`Succeeded` or `Failed`): it no longer holds its IP, which the CNI
 * may already have given to another pod.
 */
export function isPodTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}
