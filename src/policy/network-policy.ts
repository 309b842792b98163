import { matchesSelector } from '../k8s/label-selector.js';
import type { NetworkPolicy, NetworkPolicyPeer } from '../k8s/objects.js';
import { matchIpBlock } from './cidr-match.js';
import type { DirectionContext } from './direction-context.js';
import { namespaceLabels, podId } from './policy-endpoint.js';
import { matchPolicyPorts } from './port-match.js';
import type { RuleRef } from './policy-verdict.js';

/** The NetworkPolicy tier's view of one direction. */
export interface NetworkPolicyResult {
  /** The policies (`namespace/name`) selecting the subject with this direction in their policyTypes. */
  readonly isolatedBy: readonly string[];
  /** Every rule of those policies that matches the connection. */
  readonly allowedBy: readonly RuleRef[];
}

/**
 * The directions a NetworkPolicy isolates: its `policyTypes`, or when absent (a manifest not yet
 * defaulted by the API server) Ingress always and Egress when it has egress rules.
 */
export function policyTypesOf(np: NetworkPolicy): { readonly ingress: boolean; readonly egress: boolean } {
  const types = np.spec?.policyTypes;
  if (types !== undefined && types.length > 0) return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
  return { ingress: true, egress: (np.spec?.egress?.length ?? 0) > 0 };
}

/** Whether the NetworkPolicy's `spec.podSelector` selects `pod` (same namespace; an absent selector is `{}`). */
export function selectsPod(np: NetworkPolicy, pod: { readonly metadata: { readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> } }): boolean {
  if ((np.metadata.namespace ?? '') !== (pod.metadata.namespace ?? '')) return false;
  return matchesSelector(pod.metadata.labels, np.spec?.podSelector ?? {});
}

/**
 * Whether one `from`/`to` peer of a policy in `policyNamespace` matches the other end of the connection.
 *
 * @remarks
 * `podSelector` and `namespaceSelector` in one peer are ANDed; a `podSelector` alone means the
 * policy's own namespace; a `namespaceSelector` alone means every pod of the selected namespaces.
 * Selectors never match nodes, hostNetwork pods or external addresses: those are matched by
 * `ipBlock` only. Whether an `ipBlock` matches pod IPs is CNI-specific (the API documents that
 * ipBlock is meant for cluster-external addresses), hence `ipBlockMatchesPodIps`.
 */
export function matchNetworkPolicyPeer(peer: NetworkPolicyPeer, policyNamespace: string, ctx: DirectionContext): boolean {
  if (peer.ipBlock !== undefined && peer.ipBlock !== null) {
    if (ctx.peer.kind === 'pod' && !ctx.ipBlockMatchesPodIps) return false;
    return matchIpBlock(peer.ipBlock, ctx.peerIp);
  }
  const hasPods = peer.podSelector !== undefined && peer.podSelector !== null;
  const hasNs = peer.namespaceSelector !== undefined && peer.namespaceSelector !== null;
  if (!hasPods && !hasNs) return false;
  if (ctx.peer.kind !== 'pod') return false;
  const pod = ctx.peer.pod;
  const ns = pod.metadata.namespace ?? '';
  if (hasNs) {
    if (!matchesSelector(namespaceLabels(ctx.index, ns), peer.namespaceSelector)) return false;
  } else if (ns !== policyNamespace) {
    return false;
  }
  return hasPods ? matchesSelector(pod.metadata.labels, peer.podSelector) : true;
}

/**
 * Evaluates the NetworkPolicy tier for one direction: the subject is isolated when some policy of
 * its namespace selects it with that policy type, and the connection is then allowed when any rule
 * of any of those policies matches it (a union: no policy or rule ever denies by itself).
 *
 * @remarks
 * Within a rule, `ports` and `from`/`to` are ANDed, and an absent or empty list matches everything
 * (`ingress: [{}]` allows all; `ingress: []` allows nothing). Semantics of
 * https://kubernetes.io/docs/concepts/services-networking/network-policies/.
 */
export function evaluateNetworkPolicies(ctx: DirectionContext): NetworkPolicyResult {
  const ns = ctx.subject.metadata.namespace ?? '';
  const isolatedBy: string[] = [];
  const allowedBy: RuleRef[] = [];
  for (const np of ctx.policies.networkPolicies(ns)) {
    if (!policyTypesOf(np)[ctx.direction] || !selectsPod(np, ctx.subject)) continue;
    const id = `${ns}/${np.metadata.name}`;
    isolatedBy.push(id);
    const rules = ctx.direction === 'ingress' ? (np.spec?.ingress ?? []) : (np.spec?.egress ?? []);
    rules.forEach((rule, ruleIndex) => {
      const port = matchPolicyPorts(rule.ports, ctx.query);
      if (port === undefined) return;
      const peers = ctx.direction === 'ingress' ? (rule as { from?: readonly NetworkPolicyPeer[] | null }).from : (rule as { to?: readonly NetworkPolicyPeer[] | null }).to;
      let peerIndex: number | undefined;
      if (peers !== undefined && peers !== null && peers.length > 0) {
        peerIndex = peers.findIndex((p) => matchNetworkPolicyPeer(p, ns, ctx));
        if (peerIndex < 0) return;
      }
      allowedBy.push({
        kind: 'NetworkPolicy',
        policy: id,
        tier: 'networkPolicy',
        ruleIndex,
        ...(peerIndex !== undefined ? { peerIndex } : {}),
        ...(port !== 'all' ? { portIndex: port } : {}),
        action: 'Allow',
      });
    });
  }
  return { isolatedBy, allowedBy };
}

/** `namespace/name` of the subject pod, for messages. */
export const subjectId = (ctx: DirectionContext): string => podId(ctx.subject);
