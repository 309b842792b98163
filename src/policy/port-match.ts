import type { NetworkPolicyPort, Pod } from '../k8s/objects.js';
import { findContainerPort } from '../k8s/service-ports.js';
import type { PolicyProtocol } from './policy-endpoint.js';

/** The connection a rule's ports are matched against: destination port, protocol and destination pod. */
export interface PortQuery {
  readonly port: number;
  readonly protocol: PolicyProtocol;
  /** The pod the packet is delivered to, whose container ports give named ports their number. */
  readonly destinationPod?: Pod;
}

/**
 * Whether a NetworkPolicy `ports[]` entry matches the connection: same protocol (default TCP), and
 * the destination port equal to `port`, within `port..endPort`, or equal to the destination pod's
 * container port of that name and protocol; an entry without `port` matches every port.
 *
 * @remarks
 * Ports always describe the destination, for ingress and egress alike. A named port resolves per
 * destination pod (`FindPort` semantics), so one rule can mean different numbers on different pods,
 * and it never matches a destination that is not a pod.
 */
export function matchPolicyPort(entry: NetworkPolicyPort, q: PortQuery): boolean {
  const protocol = entry.protocol ?? 'TCP';
  if (protocol !== q.protocol) return false;
  const port = entry.port;
  if (port === undefined || port === null) return true;
  if (typeof port === 'number') {
    if (entry.endPort !== undefined && entry.endPort !== null) return q.port >= port && q.port <= entry.endPort;
    return q.port === port;
  }
  if (/^\d+$/.test(port)) {
    // A hand-written manifest quoting a number; the API server would reject it as a name.
    return q.port === Number(port);
  }
  if (q.destinationPod === undefined) return false;
  return findContainerPort(q.destinationPod, port, protocol) === q.port;
}

/**
 * Which entry of a rule's `ports` matches: its index, `'all'` when the list is absent or empty (every
 * port matches), `undefined` when none does.
 */
export function matchPolicyPorts(ports: readonly NetworkPolicyPort[] | undefined | null, q: PortQuery): number | 'all' | undefined {
  if (ports === undefined || ports === null || ports.length === 0) return 'all';
  const i = ports.findIndex((p) => matchPolicyPort(p, q));
  return i < 0 ? undefined : i;
}

/** A connection printed as `TCP 8080` or `ICMP`. */
export function formatPort(q: Pick<PortQuery, 'port' | 'protocol'>): string {
  return q.protocol === 'ICMP' ? 'ICMP' : `${q.protocol} ${q.port}`;
}
