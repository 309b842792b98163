import { familyOf, isIp, normalizeIp } from '../netstack/ip.js';
import type { Family } from '../netstack/packet.js';
import type { Node, Pod, Service } from './objects.js';

const DOTTED_QUAD = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * `text` in canonical form (what {@link normalizeIp} returns), or `undefined` when it is not an IP
 * address; a dotted quad without leading zeros is already canonical and skips the parser.
 */
export function canonicalIp(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  if (DOTTED_QUAD.test(text)) return text;
  return isIp(text) ? normalizeIp(text) : undefined;
}

function canonical(ips: Iterable<string | undefined>): string[] {
  const out: string[] = [];
  for (const ip of ips) {
    const n = canonicalIp(ip);
    if (n !== undefined && !out.includes(n)) out.push(n);
  }
  return out;
}

/**
 * The pod's IPs in canonical form, primary first (`status.podIP`, then `status.podIPs`).
 *
 * @remarks
 * For a `hostNetwork` pod these are its node's IPs.
 */
export function podIps(pod: Pod): readonly string[] {
  return canonical([pod.status?.podIP, ...(pod.status?.podIPs ?? []).map((p) => p?.ip)]);
}

/** The node's InternalIP and ExternalIP addresses in canonical form, in `status.addresses` order. */
export function nodeIps(node: Node): readonly { readonly ip: string; readonly type: 'InternalIP' | 'ExternalIP' }[] {
  const out: { ip: string; type: 'InternalIP' | 'ExternalIP' }[] = [];
  for (const a of node.status?.addresses ?? []) {
    if (a.type !== 'InternalIP' && a.type !== 'ExternalIP') continue;
    const ip = canonicalIp(a.address);
    if (ip !== undefined && !out.some((o) => o.ip === ip)) out.push({ ip, type: a.type });
  }
  return out;
}

/** The first InternalIP of each family of a node. */
export interface NodeInternalIps {
  readonly v4?: string;
  readonly v6?: string;
}

/** The node's first InternalIP of each family (the addresses kubelet and the CNI use between nodes). */
export function nodeInternalIps(node: Node): NodeInternalIps {
  let v4: string | undefined;
  let v6: string | undefined;
  for (const { ip, type } of nodeIps(node)) {
    if (type !== 'InternalIP') continue;
    if (familyOf(ip) === 4) v4 ??= ip;
    else v6 ??= ip;
  }
  return { ...(v4 !== undefined ? { v4 } : {}), ...(v6 !== undefined ? { v6 } : {}) };
}

/** Why a Service owns an address. */
export type ServiceIpRole = 'clusterIP' | 'externalIP' | 'loadBalancer';

/** Every address of a Service with its role: ClusterIPs (not `None`), externalIPs, LoadBalancer ingress IPs. */
export function serviceIps(service: Service): readonly { readonly ip: string; readonly role: ServiceIpRole }[] {
  const out: { ip: string; role: ServiceIpRole }[] = [];
  const add = (ip: string | undefined, role: ServiceIpRole): void => {
    const n = canonicalIp(ip);
    if (n !== undefined && !out.some((o) => o.ip === n)) out.push({ ip: n, role });
  };
  const spec = service.spec;
  add(spec?.clusterIP, 'clusterIP');
  for (const ip of spec?.clusterIPs ?? []) add(ip, 'clusterIP');
  for (const ip of spec?.externalIPs ?? []) add(ip, 'externalIP');
  for (const ing of service.status?.loadBalancer?.ingress ?? []) add(ing?.ip, 'loadBalancer');
  return out;
}

/** The first address of `family` in `ips`, or the first address when `family` is not given. */
export function pickIp(ips: readonly string[], family?: Family): string | undefined {
  if (family === undefined) return ips[0];
  return ips.find((ip) => familyOf(ip) === family);
}
