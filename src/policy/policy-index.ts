import type { ClusterObjects, NetworkPolicy, PolicyApiObject } from '../k8s/objects.js';
import { normalizeAdminPolicy, type NormalizedAdminPolicy } from './admin-policy.js';
import type { AdminPolicyKind } from './admin-policy-types.js';

/** The policies of a cluster, indexed once: NetworkPolicies by namespace, cluster policies by tier in evaluation order. */
export interface PolicyIndex {
  /** NetworkPolicies of a namespace, in object order. */
  networkPolicies(namespace: string): readonly NetworkPolicy[];
  /** Admin tier (ANP and CNP `tier: Admin`), by priority, then kind (ANP first), then name. */
  readonly admin: readonly NormalizedAdminPolicy[];
  /** Baseline tier (CNP `tier: Baseline` by priority then name, then BANPs by name). */
  readonly baseline: readonly NormalizedAdminPolicy[];
}

const cache = new WeakMap<ClusterObjects, PolicyIndex>();

const KIND_ORDER: Readonly<Record<AdminPolicyKind, number>> = {
  AdminNetworkPolicy: 0,
  ClusterNetworkPolicy: 1,
  BaselineAdminNetworkPolicy: 2,
};

/**
 * Orders cluster policies as they are evaluated: lower priority value first; ties (which the API
 * leaves to the implementation) broken by kind and name so the result never depends on list order.
 */
export function compareAdminPolicies(a: NormalizedAdminPolicy, b: NormalizedAdminPolicy): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.kind !== b.kind) return KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Indexes the policies of `objects` (memoised per objects value). */
export function indexPolicies(objects: ClusterObjects): PolicyIndex {
  const cached = cache.get(objects);
  if (cached !== undefined) return cached;
  const byNs = new Map<string, NetworkPolicy[]>();
  for (const np of objects.networkPolicies) {
    const ns = np.metadata.namespace ?? '';
    const list = byNs.get(ns);
    if (list === undefined) byNs.set(ns, [np]);
    else list.push(np);
  }
  const admin: NormalizedAdminPolicy[] = [];
  const baseline: NormalizedAdminPolicy[] = [];
  const add = (kind: AdminPolicyKind, list: readonly PolicyApiObject[]): void => {
    for (const obj of list) {
      const p = normalizeAdminPolicy(kind, obj);
      (p.tier === 'admin' ? admin : baseline).push(p);
    }
  };
  add('AdminNetworkPolicy', objects.adminNetworkPolicies);
  add('BaselineAdminNetworkPolicy', objects.baselineAdminNetworkPolicies);
  add('ClusterNetworkPolicy', objects.clusterNetworkPolicies);
  admin.sort(compareAdminPolicies);
  baseline.sort(compareAdminPolicies);
  const index: PolicyIndex = {
    networkPolicies: (ns) => byNs.get(ns) ?? [],
    admin,
    baseline,
  };
  cache.set(objects, index);
  return index;
}
