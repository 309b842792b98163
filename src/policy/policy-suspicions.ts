import type { Suspicion } from '../model/suspicion.js';
import type { Decision, PolicyVerdict, RuleRef } from './policy-verdict.js';

/** Where the verdict's findings go: the path node ids of both ends, and whether the CNI enforces policies. */
export interface PolicyHops {
  /** Path node id of the source (`ns/pod`, node name, IP): egress findings go there. */
  readonly sourceHop: string;
  /** Path node id of the destination backend: ingress findings go there. */
  readonly destinationHop: string;
  /** Whether the network plugin enforces policies (`Plugin.enforcesNetworkPolicy`). */
  readonly enforced: boolean;
}

function ruleEvidence(ref: RuleRef): Record<string, unknown> {
  return {
    kind: ref.kind,
    policy: ref.policy,
    tier: ref.tier,
    rule: ref.ruleIndex,
    ...(ref.ruleName !== undefined ? { ruleName: ref.ruleName } : {}),
    ...(ref.peerIndex !== undefined ? { peer: ref.peerIndex } : {}),
    ...(ref.priority !== undefined ? { priority: ref.priority } : {}),
    action: ref.action,
  };
}

function evidenceOf(d: Decision): Record<string, unknown> {
  return {
    direction: d.direction,
    ...(d.subject !== undefined ? { pod: d.subject } : {}),
    tier: d.tier,
    ...(d.decidedBy !== undefined ? { rule: ruleEvidence(d.decidedBy) } : {}),
    ...(d.isolatedBy.length > 0 ? { isolatedBy: d.isolatedBy } : {}),
    ...(d.passedBy.length > 0 ? { passedBy: d.passedBy.map(ruleEvidence) } : {}),
    explanation: d.explanation,
  };
}

/**
 * The findings of a policy verdict, each on the hop that enforces it: a denied egress on the
 * source, a denied ingress on the destination backend. `ADMIN_NETWORK_POLICY_DENY` when an Admin or
 * Baseline rule denied, `NETWORK_POLICY_DENY` when NetworkPolicy isolation did (both fatal: the
 * packet is dropped); with a CNI that does not enforce policies, `NETWORK_POLICY_NOT_ENFORCED`
 * (warning) instead.
 */
export function policySuspicions(verdict: PolicyVerdict, hops: PolicyHops): Suspicion[] {
  const out: Suspicion[] = [];
  for (const d of [verdict.egress, verdict.ingress]) {
    if (d.allowed) continue;
    const on = d.direction === 'egress' ? hops.sourceHop : hops.destinationHop;
    const evidence = evidenceOf(d);
    if (!hops.enforced) {
      out.push({
        level: 'warning',
        code: 'NETWORK_POLICY_NOT_ENFORCED',
        on,
        message: `a policy would deny this connection, but the network plugin does not enforce policies: ${d.explanation}`,
        evidence,
      });
      continue;
    }
    out.push({
      level: 'fatal',
      code: d.tier === 'networkPolicy' ? 'NETWORK_POLICY_DENY' : 'ADMIN_NETWORK_POLICY_DENY',
      on,
      message: d.explanation,
      evidence,
    });
  }
  return out;
}
