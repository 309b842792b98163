/**
 * Types of the `policy.networking.k8s.io` cluster-scoped policies as the API serves them:
 * AdminNetworkPolicy and BaselineAdminNetworkPolicy (v1alpha1) and ClusterNetworkPolicy (v1alpha2).
 * Only the fields the policy engine reads are declared; everything is optional because the objects
 * arrive untyped (`PolicyApiObject.spec: unknown`) and are checked field by field.
 *
 * @remarks
 * Source: https://github.com/kubernetes-sigs/network-policy-api (`apis/v1alpha1/*_types.go`,
 * `apis/v1alpha2/clusternetworkpolicy_types.go`).
 */
import type { KubeObject, LabelSelector } from '../k8s/objects.js';

/** `pods` of a subject or peer: pods matching `podSelector` in namespaces matching `namespaceSelector`. */
export interface NamespacedPodSelector {
  readonly namespaceSelector?: LabelSelector;
  readonly podSelector?: LabelSelector;
}

/** The pods a cluster policy applies to (exactly one field is set). */
export interface AdminSubject {
  readonly namespaces?: LabelSelector;
  readonly pods?: NamespacedPodSelector;
}

/** A peer of an ANP/BANP/CNP rule (exactly one field is set; `nodes`, `networks` and `domainNames` only in egress). */
export interface AdminPeer {
  readonly namespaces?: LabelSelector;
  readonly pods?: NamespacedPodSelector;
  readonly nodes?: LabelSelector;
  readonly networks?: readonly string[];
  readonly domainNames?: readonly string[];
}

/** A v1alpha1 `ports[]` entry (exactly one field is set). */
export interface AdminPort {
  readonly portNumber?: { readonly protocol?: string; readonly port: number };
  readonly portRange?: { readonly protocol?: string; readonly start: number; readonly end: number };
  readonly namedPort?: string;
}

/** A v1alpha2 destination port: a number or a range. */
export interface CnpPort {
  readonly number?: number;
  readonly range?: { readonly start: number; readonly end: number };
}

/** A v1alpha2 `protocols[]` entry (exactly one field is set). */
export interface CnpProtocol {
  readonly tcp?: { readonly destinationPort?: CnpPort };
  readonly udp?: { readonly destinationPort?: CnpPort };
  readonly sctp?: { readonly destinationPort?: CnpPort };
  readonly destinationNamedPort?: string;
}

/** One ingress or egress rule of an ANP, BANP or CNP. */
export interface AdminRuleSpec {
  readonly name?: string;
  /** ANP: Allow | Deny | Pass; BANP: Allow | Deny; CNP: Accept | Deny | Pass. */
  readonly action?: string;
  readonly from?: readonly AdminPeer[];
  readonly to?: readonly AdminPeer[];
  /** v1alpha1 ports. */
  readonly ports?: readonly AdminPort[];
  /** v1alpha2 protocols. */
  readonly protocols?: readonly CnpProtocol[];
}

/** The spec shared by the three kinds. */
export interface AdminPolicySpec {
  /** ANP and CNP: 0–1000, lower first. */
  readonly priority?: number;
  /** CNP only. */
  readonly tier?: 'Admin' | 'Baseline';
  readonly subject?: AdminSubject;
  readonly ingress?: readonly AdminRuleSpec[];
  readonly egress?: readonly AdminRuleSpec[];
}

/** An AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy. */
export interface AdminPolicyObject extends KubeObject {
  readonly spec?: AdminPolicySpec;
}

/** The kind of a cluster-scoped policy object. */
export type AdminPolicyKind = 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy' | 'ClusterNetworkPolicy';
