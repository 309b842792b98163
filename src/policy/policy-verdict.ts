import type { AdminPolicyKind } from './admin-policy-types.js';

/** The tier that decided one direction: Admin (ANP, CNP Admin), NetworkPolicy, Baseline (BANP, CNP Baseline), or nobody. */
export type PolicyTier = 'admin' | 'networkPolicy' | 'baseline' | 'default';

/** A rule action, with CNP's `Accept` normalised to `Allow`. */
export type RuleAction = 'Allow' | 'Deny' | 'Pass';

/** The kind of the object a rule belongs to. */
export type PolicyKind = 'NetworkPolicy' | AdminPolicyKind;

/** One rule that matched the connection. Indexes are 0-based; explanations print them 1-based. */
export interface RuleRef {
  readonly kind: PolicyKind;
  /** `namespace/name` for a NetworkPolicy, the name for cluster-scoped kinds. */
  readonly policy: string;
  readonly tier: Exclude<PolicyTier, 'default'>;
  /** Index in the policy's `ingress` or `egress` list. */
  readonly ruleIndex: number;
  /** The rule's `name` (ANP/BANP/CNP). */
  readonly ruleName?: string;
  /** Index of the matching peer in `from`/`to`; absent when the rule has no peers (matches all). */
  readonly peerIndex?: number;
  /** Index of the matching entry of `ports`/`protocols`; absent when the rule has none (all ports). */
  readonly portIndex?: number;
  readonly action: RuleAction;
  /** ANP/CNP priority. */
  readonly priority?: number;
}

/** How one direction (the source's egress, the destination's ingress) was decided. */
export interface Decision {
  readonly direction: 'ingress' | 'egress';
  /** The pod whose policies were evaluated (`namespace/name`); absent when that end is not a pod. */
  readonly subject?: string;
  /** Whether any policy can apply at all: false when that end is a node, a hostNetwork pod or external. */
  readonly applies: boolean;
  readonly allowed: boolean;
  /** The tier that made the decision. */
  readonly tier: PolicyTier;
  /** Whether some NetworkPolicy isolates the subject in this direction. */
  readonly isolated: boolean;
  /** The NetworkPolicies (`namespace/name`) that isolate the subject in this direction. */
  readonly isolatedBy: readonly string[];
  /** Every NetworkPolicy rule that allows the connection (allows are a union; any one suffices). */
  readonly allowedBy: readonly RuleRef[];
  /** The Admin or Baseline rule that decided (Allow/Deny, or Baseline Pass). */
  readonly decidedBy?: RuleRef;
  /** Admin-tier Pass rules that sent the decision down to NetworkPolicy. */
  readonly passedBy: readonly RuleRef[];
  /** Whether ingress was allowed because it comes from the destination pod's own node. */
  readonly fromOwnNode: boolean;
  /** One line, tier by tier: `[ANP] pass (tenant-isolation, rule 2) → [NP] denied: …`. */
  readonly explanation: string;
}

/** The policy verdict of one connection: allowed only when both the egress and the ingress side allow it. */
export interface PolicyVerdict {
  readonly allowed: boolean;
  readonly egress: Decision;
  readonly ingress: Decision;
  /** One line per direction a policy can apply to (egress first), or one line saying none can. */
  readonly explanation: readonly string[];
}
