/** How bad a finding is. `critical` and `fatal` make the exit code 1. */
export type SuspicionLevel = 'info' | 'warning' | 'critical' | 'fatal';

/** Levels from least to most severe. */
export const SUSPICION_LEVELS = ['info', 'warning', 'critical', 'fatal'] as const satisfies readonly SuspicionLevel[];

/** The stable suspicion codes of CONTRACTS.md §5 (extend, never rename). */
export const SUSPICION_CODES = [
  // links
  'LINK_MISSING',
  'LINK_DOWN',
  'MTU_MISMATCH',
  'VETH_PEER_MISSING',
  'VETH_PEER_DOWN',
  'VETH_NOT_ON_BRIDGE',
  'BRIDGE_MISSING',
  'BRIDGE_DOWN',
  // routing
  'ROUTE_MISSING',
  'ROUTE_BLACKHOLE',
  'ROUTE_WRONG',
  'POLICY_ROUTING',
  'DEFAULT_RULE_BROKEN',
  'RP_FILTER_DROP',
  'GATEWAY_UNREACHABLE',
  'ROUTING_LOOP',
  // overlay, neighbours
  'NEIGH_FAILED',
  'VXLAN_DEVICE_MISSING',
  'VXLAN_NEIGH_MISSING',
  'VXLAN_FDB_MISSING',
  'VXLAN_FDB_WRONG',
  'IPIP_DEVICE_MISSING',
  // sysctls
  'IP_FORWARD_DISABLED',
  'BRIDGE_NF_CALL_IPTABLES_DISABLED',
  'SYSCTL_MISMATCH',
  // netfilter
  'IPTABLES_DROP',
  'IPTABLES_REJECT',
  'NFTABLES_DROP',
  'UNEXPECTED_SNAT',
  'NETFILTER_UNSUPPORTED',
  // services
  'SERVICE_NO_ENDPOINTS',
  'SERVICE_PORT_MISSING',
  'SERVICE_RULES_MISSING',
  'SERVICE_BACKEND_MISMATCH',
  'ENDPOINT_NOT_READY',
  'LB_SOURCE_RANGE_DENY',
  // policy
  'NETWORK_POLICY_DENY',
  'ADMIN_NETWORK_POLICY_DENY',
  'NETWORK_POLICY_NOT_ENFORCED',
  // endpoints
  'NO_LISTENER',
  'POD_NOT_READY',
  'NODE_NOT_READY',
  'POD_IP_OUTSIDE_NODE_CIDR',
  'DUPLICATE_IP',
  // data
  'NETSTACK_NOT_COLLECTED',
  'CNI_UNSUPPORTED',
] as const;

/** A stable suspicion code. */
export type SuspicionCode = (typeof SUSPICION_CODES)[number];

/**
 * A finding about the cluster: what is wrong, where on the path (`on`: a path node id or `cluster`),
 * and the evidence behind it (the rule, route, sysctl, object). Findings are data, never thrown.
 */
export interface Suspicion {
  readonly level: SuspicionLevel;
  readonly code: SuspicionCode;
  readonly on: string;
  readonly message: string;
  readonly evidence?: Readonly<Record<string, unknown>>;
}

/** The more severe of two levels. */
export function worstLevel(a: SuspicionLevel | undefined, b: SuspicionLevel): SuspicionLevel {
  if (a === undefined) return b;
  return SUSPICION_LEVELS.indexOf(a) >= SUSPICION_LEVELS.indexOf(b) ? a : b;
}
