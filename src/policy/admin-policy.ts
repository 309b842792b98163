import { matchesSelector } from '../k8s/label-selector.js';
import type { LabelSelector, Pod, PolicyApiObject } from '../k8s/objects.js';
import { findContainerPort } from '../k8s/service-ports.js';
import type { AdminPeer, AdminPolicyKind, AdminPolicySpec, AdminPort, AdminRuleSpec, AdminSubject, CnpPort, CnpProtocol } from './admin-policy-types.js';
import { matchCidr } from './cidr-match.js';
import type { DirectionContext } from './direction-context.js';
import { endpointNode, namespaceLabels } from './policy-endpoint.js';
import type { PortQuery } from './port-match.js';
import type { RuleAction, RuleRef } from './policy-verdict.js';

/** One rule of a cluster policy, with its action normalised (`Accept` → `Allow`). */
export interface NormalizedAdminRule {
  readonly index: number;
  readonly name?: string;
  /** `undefined` for an action this program does not know: such a rule is skipped. */
  readonly action: RuleAction | undefined;
  readonly peers: readonly AdminPeer[];
  /** v1alpha1 `ports` or v1alpha2 `protocols`; absent means every port and protocol. */
  readonly ports?: readonly AdminPort[];
  readonly protocols?: readonly CnpProtocol[];
}

/** An ANP, BANP or CNP reduced to what evaluation needs. */
export interface NormalizedAdminPolicy {
  readonly kind: AdminPolicyKind;
  readonly name: string;
  readonly tier: 'admin' | 'baseline';
  /** BANPs have no priority: they sort after every CNP of the Baseline tier. */
  readonly priority: number;
  readonly subject: AdminSubject | undefined;
  readonly ingress: readonly NormalizedAdminRule[];
  readonly egress: readonly NormalizedAdminRule[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Whether an optional object field of an untrusted spec is present and an object. */
const present = <T>(v: T | null | undefined): v is T => v !== null && typeof v === 'object' && !Array.isArray(v);

function normalizeAction(kind: AdminPolicyKind, action: unknown): RuleAction | undefined {
  if (action === 'Allow' && kind !== 'ClusterNetworkPolicy') return 'Allow';
  if (action === 'Accept' && kind === 'ClusterNetworkPolicy') return 'Allow';
  if (action === 'Deny') return 'Deny';
  if (action === 'Pass' && kind !== 'BaselineAdminNetworkPolicy') return 'Pass';
  return undefined;
}

function normalizeRules(kind: AdminPolicyKind, rules: unknown, direction: 'ingress' | 'egress'): NormalizedAdminRule[] {
  if (!Array.isArray(rules)) return [];
  const out: NormalizedAdminRule[] = [];
  rules.forEach((raw: unknown, index) => {
    if (!isRecord(raw)) return;
    const rule = raw as AdminRuleSpec;
    const peers = direction === 'ingress' ? rule.from : rule.to;
    out.push({
      index,
      ...(typeof rule.name === 'string' && rule.name !== '' ? { name: rule.name } : {}),
      action: normalizeAction(kind, rule.action),
      peers: Array.isArray(peers) ? peers : [],
      ...(Array.isArray(rule.ports) && rule.ports.length > 0 ? { ports: rule.ports } : {}),
      ...(Array.isArray(rule.protocols) && rule.protocols.length > 0 ? { protocols: rule.protocols } : {}),
    });
  });
  return out;
}

/**
 * Reduces an ANP, BANP or CNP object (whose `spec` arrives untyped) to a {@link NormalizedAdminPolicy}.
 *
 * @remarks
 * A CNP without a valid `tier` is treated as Admin; a missing priority as 1000 (the lowest
 * precedence the API allows).
 */
export function normalizeAdminPolicy(kind: AdminPolicyKind, obj: PolicyApiObject): NormalizedAdminPolicy {
  const spec = (isRecord(obj.spec) ? obj.spec : {}) as AdminPolicySpec;
  const tier = kind === 'BaselineAdminNetworkPolicy' || (kind === 'ClusterNetworkPolicy' && spec.tier === 'Baseline') ? 'baseline' : 'admin';
  const priority =
    kind === 'BaselineAdminNetworkPolicy' ? Number.MAX_SAFE_INTEGER : typeof spec.priority === 'number' ? spec.priority : 1000;
  return {
    kind,
    name: obj.metadata.name,
    tier,
    priority,
    subject: present(spec.subject) ? spec.subject : undefined,
    ingress: normalizeRules(kind, spec.ingress, 'ingress'),
    egress: normalizeRules(kind, spec.egress, 'egress'),
  };
}

/** Whether `pod` (not hostNetwork: those are never selected) is in the pods `pods` selects. */
function matchNamespacedPod(index: DirectionContext['index'], pods: { namespaceSelector?: LabelSelector; podSelector?: LabelSelector }, pod: Pod): boolean {
  const ns = pod.metadata.namespace ?? '';
  return matchesSelector(namespaceLabels(index, ns), pods.namespaceSelector ?? {}) && matchesSelector(pod.metadata.labels, pods.podSelector ?? {});
}

/** Whether a cluster policy's `subject` selects `pod`. */
export function adminSubjectSelects(index: DirectionContext['index'], subject: AdminSubject | undefined, pod: Pod): boolean {
  if (subject === undefined || pod.spec?.hostNetwork === true) return false;
  if (present(subject.namespaces)) return matchesSelector(namespaceLabels(index, pod.metadata.namespace ?? ''), subject.namespaces);
  if (present(subject.pods)) return matchNamespacedPod(index, subject.pods, pod);
  return false;
}

/**
 * Whether one peer matches the other end; `'invalid'` for a peer with no known field, which the API
 * says to fail closed on.
 */
function matchAdminPeer(peer: AdminPeer, ctx: DirectionContext): boolean | 'invalid' {
  if (!present(peer)) return 'invalid';
  const other = ctx.peer;
  if (present(peer.namespaces)) {
    return other.kind === 'pod' && matchesSelector(namespaceLabels(ctx.index, other.pod.metadata.namespace ?? ''), peer.namespaces);
  }
  if (present(peer.pods)) return other.kind === 'pod' && matchNamespacedPod(ctx.index, peer.pods, other.pod);
  if (ctx.direction === 'egress' && present(peer.nodes)) {
    if (other.kind !== 'node') return false;
    const node = endpointNode(ctx.index, other);
    return node !== undefined && matchesSelector(node.metadata.labels, peer.nodes);
  }
  if (ctx.direction === 'egress' && Array.isArray(peer.networks)) {
    // Networks match any address, pod IPs included (network-policy-api: "cluster-internal traffic
    // will be checked against the rule as well").
    return peer.networks.some((cidr) => typeof cidr === 'string' && matchCidr(cidr, ctx.peerIp));
  }
  if (ctx.direction === 'egress' && Array.isArray(peer.domainNames)) {
    // A connection to an address cannot be matched to a domain name without DNS: never matches.
    return false;
  }
  return 'invalid';
}

const protoOf = (p: unknown): string => (typeof p === 'string' ? p.toUpperCase() : 'TCP');

/** A named port matches the destination pod's container port of that name and of the packet's protocol. */
function namedPortMatches(name: string, q: PortQuery): boolean {
  if (q.destinationPod === undefined || q.protocol === 'ICMP') return false;
  return findContainerPort(q.destinationPod, name, q.protocol) === q.port;
}

function matchAdminPort(p: AdminPort, q: PortQuery): boolean {
  if (!present(p)) return false;
  if (present(p.portNumber)) return protoOf(p.portNumber.protocol) === q.protocol && p.portNumber.port === q.port;
  if (present(p.portRange)) return protoOf(p.portRange.protocol) === q.protocol && q.port >= p.portRange.start && q.port <= p.portRange.end;
  if (typeof p.namedPort === 'string') return namedPortMatches(p.namedPort, q);
  return false;
}

function matchCnpPort(port: CnpPort | undefined, q: PortQuery): boolean {
  if (!present(port)) return true;
  if (typeof port.number === 'number') return port.number === q.port;
  if (present(port.range)) return q.port >= port.range.start && q.port <= port.range.end;
  return true;
}

function matchCnpProtocol(p: CnpProtocol, q: PortQuery): boolean {
  if (!present(p)) return false;
  if (present(p.tcp)) return q.protocol === 'TCP' && matchCnpPort(p.tcp.destinationPort, q);
  if (present(p.udp)) return q.protocol === 'UDP' && matchCnpPort(p.udp.destinationPort, q);
  if (present(p.sctp)) return q.protocol === 'SCTP' && matchCnpPort(p.sctp.destinationPort, q);
  if (typeof p.destinationNamedPort === 'string') return namedPortMatches(p.destinationNamedPort, q);
  return false;
}

/**
 * Matches one rule against the connection: which port entry and which peer matched, or `undefined`.
 *
 * @remarks
 * A rule whose peers are all of an unknown shape fails closed as the API asks: an Allow rule
 * matches nothing, a Deny or Pass rule matches everything.
 */
export function matchAdminRule(rule: NormalizedAdminRule, ctx: DirectionContext): { peerIndex?: number; portIndex?: number } | undefined {
  let portIndex: number | undefined;
  if (rule.ports !== undefined) {
    portIndex = rule.ports.findIndex((p) => matchAdminPort(p, ctx.query));
    if (portIndex < 0) return undefined;
  } else if (rule.protocols !== undefined) {
    portIndex = rule.protocols.findIndex((p) => matchCnpProtocol(p, ctx.query));
    if (portIndex < 0) return undefined;
  }
  let invalid = rule.peers.length === 0 ? 1 : 0;
  for (let i = 0; i < rule.peers.length; i++) {
    const m = matchAdminPeer(rule.peers[i] as AdminPeer, ctx);
    if (m === true) return { peerIndex: i, ...(portIndex !== undefined ? { portIndex } : {}) };
    if (m === 'invalid') invalid++;
  }
  if (invalid > 0 && rule.action !== 'Allow') return portIndex !== undefined ? { portIndex } : {};
  return undefined;
}

/** The first rule of a tier (policies in evaluation order, rules in written order) that matches. */
export function evaluateAdminTier(policies: readonly NormalizedAdminPolicy[], ctx: DirectionContext): RuleRef | undefined {
  for (const policy of policies) {
    if (!adminSubjectSelects(ctx.index, policy.subject, ctx.subject)) continue;
    for (const rule of ctx.direction === 'ingress' ? policy.ingress : policy.egress) {
      if (rule.action === undefined) continue;
      const m = matchAdminRule(rule, ctx);
      if (m === undefined) continue;
      return {
        kind: policy.kind,
        policy: policy.name,
        tier: policy.tier,
        ruleIndex: rule.index,
        ...(rule.name !== undefined ? { ruleName: rule.name } : {}),
        ...(m.peerIndex !== undefined ? { peerIndex: m.peerIndex } : {}),
        ...(m.portIndex !== undefined ? { portIndex: m.portIndex } : {}),
        action: rule.action,
        ...(policy.kind !== 'BaselineAdminNetworkPolicy' ? { priority: policy.priority } : {}),
      };
    }
  }
  return undefined;
}
