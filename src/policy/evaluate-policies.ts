import { buildClusterIndex, type ClusterIndex } from '../k8s/cluster-index.js';
import type { ClusterObjects, Pod } from '../k8s/objects.js';
import { evaluateAdminTier } from './admin-policy.js';
import type { DirectionContext } from './direction-context.js';
import { evaluateNetworkPolicies } from './network-policy.js';
import { describeEndpoint, endpointIp, endpointNode, podId, type PolicyEndpoint, type PolicyProtocol } from './policy-endpoint.js';
import { indexPolicies } from './policy-index.js';
import type { Decision, PolicyVerdict, RuleRef } from './policy-verdict.js';
import { formatPort, type PortQuery } from './port-match.js';

/** What {@link evaluatePolicies} decides on: one connection, after DNAT, between two endpoints. */
export interface EvaluateInput {
  /** The cluster: an index (preferred: built once per diagnosis) or the object lists. */
  readonly cluster: ClusterIndex | Partial<ClusterObjects>;
  readonly source: PolicyEndpoint;
  /** The backend the packet is delivered to: for a Service, one evaluation per backend. */
  readonly destination: PolicyEndpoint;
  /** The destination port after DNAT (the backend's port); ignored for ICMP. */
  readonly port: number;
  readonly protocol: PolicyProtocol | Lowercase<PolicyProtocol>;
  /**
   * Whether NetworkPolicy `ipBlock` peers match pod IPs (default true).
   *
   * @remarks
   * The API documents ipBlock as meant for cluster-external addresses and leaves pod IPs
   * unspecified: Calico, kube-router, Antrea and the upstream e2e suite match pod IPs; Cilium and
   * OVN-Kubernetes do not (pods are only selectable by labels). A plugin passes its behaviour here.
   */
  readonly ipBlockMatchesPodIps?: boolean;
}

const indexCache = new WeakMap<object, ClusterIndex>();

function toIndex(cluster: ClusterIndex | Partial<ClusterObjects>): ClusterIndex {
  if (typeof (cluster as ClusterIndex).ownersOf === 'function') return cluster as ClusterIndex;
  let index = indexCache.get(cluster);
  if (index === undefined) {
    index = buildClusterIndex(cluster as Partial<ClusterObjects>);
    indexCache.set(cluster, index);
  }
  return index;
}

/** `[ANP]`, `[BANP]`, `[CNP Admin]`, `[CNP Baseline]`. */
function tag(ref: RuleRef): string {
  if (ref.kind === 'AdminNetworkPolicy') return '[ANP]';
  if (ref.kind === 'BaselineAdminNetworkPolicy') return '[BANP]';
  return ref.tier === 'admin' ? '[CNP Admin]' : '[CNP Baseline]';
}

/** `tenant-isolation, rule 2 "deny-others"` (rules and peers numbered from 1). */
function adminRuleText(ref: RuleRef): string {
  return `${ref.policy}, rule ${ref.ruleIndex + 1}${ref.ruleName !== undefined ? ` "${ref.ruleName}"` : ''}`;
}

/** `shop/allow-web rule 1 peer 2`. */
function npRuleText(ref: RuleRef): string {
  return `${ref.policy} rule ${ref.ruleIndex + 1}${ref.peerIndex !== undefined ? ` peer ${ref.peerIndex + 1}` : ''}`;
}

function describePeer(ep: PolicyEndpoint): string {
  const ip = endpointIp(ep);
  return ep.kind === 'external' ? ip : `${describeEndpoint(ep)}${ep.kind === 'pod' && ip !== '' ? ` (${ip})` : ''}`;
}

const ACTION_WORD = { Allow: 'allowed', Deny: 'denied', Pass: 'pass' } as const;

function notApplicable(direction: 'ingress' | 'egress', ep: PolicyEndpoint): Decision {
  const what = ep.kind === 'node' ? `${describeEndpoint(ep)} is a node (or hostNetwork pod)` : `${describeEndpoint(ep)} is outside the cluster`;
  return {
    direction,
    applies: false,
    allowed: true,
    tier: 'default',
    isolated: false,
    isolatedBy: [],
    allowedBy: [],
    passedBy: [],
    fromOwnNode: false,
    explanation: `${direction}: ${what}; no policy applies to it`,
  };
}

function decide(index: ClusterIndex, direction: 'ingress' | 'egress', subjectEp: PolicyEndpoint, peer: PolicyEndpoint, query: PortQuery, ipBlockMatchesPodIps: boolean): Decision {
  if (subjectEp.kind !== 'pod') return notApplicable(direction, subjectEp);
  const subject = subjectEp.pod;
  const ctx: DirectionContext = {
    direction,
    index,
    policies: indexPolicies(index.objects),
    subject,
    peer,
    peerIp: endpointIp(peer),
    query,
    ipBlockMatchesPodIps,
  };
  const sid = podId(subject);
  const traffic = direction === 'ingress' ? `ingress to pod ${sid} from ${describePeer(peer)} on ${formatPort(query)}` : `egress of pod ${sid} to ${describePeer(peer)} on ${formatPort(query)}`;
  const base = { direction, subject: sid, applies: true } as const;
  const parts: string[] = [];
  const passedBy: RuleRef[] = [];

  const admin = evaluateAdminTier(ctx.policies.admin, ctx);
  if (admin !== undefined && admin.action !== 'Pass') {
    return {
      ...base,
      allowed: admin.action === 'Allow',
      tier: 'admin',
      isolated: false,
      isolatedBy: [],
      allowedBy: [],
      decidedBy: admin,
      passedBy,
      fromOwnNode: false,
      explanation: `${tag(admin)} ${ACTION_WORD[admin.action]} (${adminRuleText(admin)}): ${traffic}`,
    };
  }
  if (admin !== undefined) {
    passedBy.push(admin);
    parts.push(`${tag(admin)} pass (${adminRuleText(admin)})`);
  }

  const np = evaluateNetworkPolicies(ctx);
  if (np.isolatedBy.length > 0) {
    const by = np.isolatedBy.join(', ');
    const fromOwnNode = direction === 'ingress' && isOwnNode(index, subject, peer);
    const allowed = np.allowedBy.length > 0 || fromOwnNode;
    const first = np.allowedBy[0];
    let why: string;
    if (first !== undefined) why = `allowed: pod ${sid} is isolated for ${direction} by ${by}; ${np.allowedBy.map(npRuleText).join(', ')} ${np.allowedBy.length > 1 ? 'allow' : 'allows'} ${describePeer(peer)} on ${formatPort(query)}`;
    else if (fromOwnNode) why = `allowed: pod ${sid} is isolated for ingress by ${by}, but traffic from the pod's own node is always allowed`;
    else why = `denied: pod ${sid} is isolated for ${direction} by ${by}, no rule allows ${describePeer(peer)} on ${formatPort(query)}`;
    parts.push(`[NP] ${why}`);
    return {
      ...base,
      allowed,
      tier: 'networkPolicy',
      isolated: true,
      isolatedBy: np.isolatedBy,
      allowedBy: np.allowedBy,
      passedBy,
      fromOwnNode: first === undefined && fromOwnNode,
      explanation: parts.join(' → '),
    };
  }
  parts.push(`[NP] pod ${sid} is not isolated for ${direction}`);

  const baseline = evaluateAdminTier(ctx.policies.baseline, ctx);
  const common = { ...base, isolated: false, isolatedBy: [], allowedBy: [], passedBy, fromOwnNode: false } as const;
  if (baseline !== undefined) {
    parts.push(
      baseline.action === 'Pass'
        ? `${tag(baseline)} pass (${adminRuleText(baseline)}) → allowed by default`
        : `${tag(baseline)} ${ACTION_WORD[baseline.action]} (${adminRuleText(baseline)}): ${traffic}`,
    );
    return { ...common, allowed: baseline.action !== 'Deny', tier: 'baseline', decidedBy: baseline, explanation: parts.join(' → ') };
  }
  parts.push('allowed');
  return { ...common, allowed: true, tier: 'default', explanation: parts.join(' → ') };
}

/**
 * Whether `peer` is the node `pod` runs on (or a hostNetwork pod there).
 *
 * @remarks
 * "Traffic is allowed to a pod if … the traffic source is the pod's local node" (NetworkPolicySpec
 * `ingress`, k8s.io/api/networking/v1): kubelet probes keep working under a default-deny policy.
 */
function isOwnNode(index: ClusterIndex, pod: Pod, peer: PolicyEndpoint): boolean {
  if (peer.kind !== 'node') return false;
  const nodeName = pod.spec?.nodeName;
  if (nodeName === undefined) return false;
  return endpointNode(index, peer)?.metadata.name === nodeName;
}

/**
 * The policy verdict of one connection from `source` to the backend `destination`: the source
 * pod's egress and the destination pod's ingress are each decided tier by tier — Admin (ANP and
 * CNP Admin, by priority; Allow/Deny decide, Pass goes on) → NetworkPolicy (decides for an isolated
 * pod: allowed iff some rule of some selecting policy allows) → Baseline (BANP and CNP Baseline) →
 * allowed — and the connection is allowed only when both are.
 *
 * @remarks
 * Pure: reads only its input. Nodes, hostNetwork pods and external addresses are never subjects;
 * a Service must be evaluated per backend after DNAT (kube-proxy translates before the CNI's policy
 * hook sees the packet).
 */
export function evaluatePolicies(input: EvaluateInput): PolicyVerdict {
  const index = toIndex(input.cluster);
  const protocol = input.protocol.toUpperCase() as PolicyProtocol;
  const dst = input.destination;
  const query: PortQuery = {
    port: protocol === 'ICMP' ? 0 : input.port,
    protocol,
    ...(dst.kind === 'pod' ? { destinationPod: dst.pod } : {}),
  };
  const ipb = input.ipBlockMatchesPodIps ?? true;
  const egress = decide(index, 'egress', input.source, dst, query, ipb);
  const ingress = decide(index, 'ingress', dst, input.source, query, ipb);
  const applied = [egress, ingress].filter((d) => d.applies);
  const explanation =
    applied.length > 0
      ? applied.map((d) => d.explanation)
      : [`no policy applies: neither ${describeEndpoint(input.source)} nor ${describeEndpoint(dst)} is a pod`];
  return { allowed: egress.allowed && ingress.allowed, egress, ingress, explanation };
}
