import type { ClusterIndex } from '../k8s/cluster-index.js';
import type { Pod } from '../k8s/objects.js';
import type { PolicyEndpoint } from './policy-endpoint.js';
import type { PortQuery } from './port-match.js';
import type { PolicyIndex } from './policy-index.js';

/** Everything one direction's evaluation reads: the subject pod, the other end, and the port. */
export interface DirectionContext {
  readonly direction: 'ingress' | 'egress';
  readonly index: ClusterIndex;
  readonly policies: PolicyIndex;
  /** The pod whose policies decide this direction (the source for egress, the destination for ingress). */
  readonly subject: Pod;
  /** The other end: the destination for egress, the source for ingress. */
  readonly peer: PolicyEndpoint;
  /** The other end's address as the packet carries it. */
  readonly peerIp: string;
  readonly query: PortQuery;
  /** Whether a NetworkPolicy `ipBlock` matches pod IPs (see {@link EvaluateInput.ipBlockMatchesPodIps}). */
  readonly ipBlockMatchesPodIps: boolean;
}
