import type { Suspicion } from './suspicion.js';

/** What an endpoint of the diagnosis is. */
export type EndpointType = 'pod' | 'service' | 'node' | 'external';

/** The source or destination of a diagnosis, resolved. */
export interface Endpoint {
  readonly ip: string;
  readonly type: EndpointType;
  /** `ns/name` for pods and Services, the node name for nodes, the IP for externals. */
  readonly id: string;
  readonly port?: number;
  readonly protocol?: 'tcp' | 'udp' | 'icmp';
}

/** The kinds of hop on a path. */
export type PathNodeType = 'pod' | 'node' | 'service' | 'external';

/** A hop of the packet path: a pod, a node, a Service, or an address outside the cluster. */
export interface PathNode {
  readonly id: string;
  readonly type: PathNodeType;
}

/** How one hop reaches the next. */
export type LinkType = 'veth' | 'bridge' | 'host' | 'vxlan' | 'ipip' | 'underlay' | 'external' | 'local';

/** What happened to the packet on a link. */
export type LinkAction = 'send' | 'forward' | 'service' | 'serve' | 'drop';

/** The packet as it crossed a link (for a tunnel, the packet inside it). */
export interface PacketSummary {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly protocol: 'tcp' | 'udp' | 'icmp' | 'sctp' | 'ipip';
}

/** A transmission between two path nodes. */
export interface PathLink {
  readonly from: string;
  readonly to: string;
  readonly type: LinkType;
  readonly outIf?: string;
  readonly inIf?: string;
  readonly packet: PacketSummary;
  readonly action: LinkAction;
}

/** Every node and link the packet (in any branch) went through. */
export interface PacketPath {
  readonly nodes: readonly PathNode[];
  readonly links: readonly PathLink[];
}

/** The overall answer, per CONTRACTS.md §3. */
export type Verdict = 'reachable' | 'unreachable' | 'partial' | 'unknown';

/** How one explored branch ended. */
export type BranchOutcome = 'delivered' | 'refused' | 'dropped' | 'unknown';

/**
 * One way the packet can go (the kernel picks a Service backend or an ECMP next hop per
 * connection; skoop follows each), as indexes into `path.links`, with its probability.
 */
export interface Branch {
  readonly probability: number;
  readonly outcome: BranchOutcome;
  /** Indexes into `path.links`, in order. */
  readonly links: readonly number[];
  /** The Service backend this branch goes to (`ns/pod ip:port` or `ip:port`). */
  readonly backend?: string;
  /** The path node where the branch ended when it did not deliver. */
  readonly endedAt?: string;
  /** Codes of the suspicions that ended this branch. */
  readonly codes?: readonly string[];
}

/** What was asked and from what it was answered. */
export interface RequestInfo {
  /** `snapshot` (with its file name) or `live` (with the kubeconfig context). */
  readonly from: string;
  /** When the state was captured (the snapshot's capturedAt), ISO 8601, if known. */
  readonly capturedAt?: string;
  readonly networkPlugin?: string;
  readonly proxyMode?: string;
}

/** The result of one diagnosis: the JSON document of `--format json`. */
export interface Result {
  readonly verdict: Verdict;
  readonly source: Endpoint;
  readonly destination: Endpoint;
  readonly suspicions: readonly Suspicion[];
  readonly path: PacketPath;
  /** Every explored branch (an extension of CONTRACTS §3). */
  readonly branches?: readonly Branch[];
  readonly request?: RequestInfo;
}
