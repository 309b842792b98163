import { cidrContains, familyOf, isIp, parsePrefix } from '../netstack/ip.js';
import type { IPPool, Node } from './objects.js';

function validCidr(cidr: unknown): cidr is string {
  if (typeof cidr !== 'string') return false;
  const slash = cidr.indexOf('/');
  if (slash < 0 || !isIp(cidr.slice(0, slash))) return false;
  try {
    parsePrefix(cidr);
    return true;
  } catch {
    return false;
  }
}

/** The node's pod CIDRs (`spec.podCIDRs`, else `spec.podCIDR`); empty when IPAM is not per node (Calico). */
export function nodePodCidrs(node: Node): readonly string[] {
  const list = (node.spec?.podCIDRs ?? []).filter(validCidr);
  if (list.length > 0) return list;
  const single = node.spec?.podCIDR;
  return validCidr(single) ? [single] : [];
}

/**
 * Whether `ip` lies inside one of the node's pod CIDRs of its family; `undefined` when the node has
 * no pod CIDR of that family, which is normal with Calico IPAM — then check the IP pools instead.
 */
export function podIpInNodeCidr(ip: string, node: Node): boolean | undefined {
  if (!isIp(ip)) return undefined;
  const fam = familyOf(ip);
  const cidrs = nodePodCidrs(node).filter((c) => parsePrefix(c).family === fam);
  if (cidrs.length === 0) return undefined;
  return cidrs.some((c) => cidrContains(c, ip));
}

/**
 * The enabled Calico IP pool holding `ip` (the longest matching prefix), or `undefined`.
 *
 * @remarks
 * Calico allocates pod IPs in blocks (`blockSize`, /26 by default) carved from enabled pools; a
 * disabled pool still routes existing addresses but allocates no new ones, so it is used only when
 * no enabled pool matches.
 */
export function ipPoolForIp(ip: string, pools: readonly IPPool[]): IPPool | undefined {
  if (!isIp(ip)) return undefined;
  let best: IPPool | undefined;
  let bestLen = -1;
  let bestEnabled = false;
  for (const pool of pools) {
    const cidr = pool.spec?.cidr;
    if (!validCidr(cidr) || !cidrContains(cidr, ip)) continue;
    const len = parsePrefix(cidr).length;
    const enabled = pool.spec.disabled !== true;
    if ((enabled && !bestEnabled) || (enabled === bestEnabled && len > bestLen)) {
      best = pool;
      bestLen = len;
      bestEnabled = enabled;
    }
  }
  return best;
}
