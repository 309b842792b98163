import { isIp, parsePrefix, prefixContains } from '../netstack/ip.js';
import type { IPBlock } from '../k8s/objects.js';

/**
 * Whether `ip` lies in the CIDR text `cidr`; a malformed CIDR (which the API server would have
 * rejected) contains nothing.
 */
export function matchCidr(cidr: string, ip: string): boolean {
  const slash = cidr.indexOf('/');
  const addr = slash < 0 ? cidr : cidr.slice(0, slash);
  if (!isIp(addr) || !isIp(ip)) return false;
  try {
    return prefixContains(parsePrefix(cidr), ip);
  } catch {
    return false;
  }
}

/**
 * Whether `ip` is in a NetworkPolicy `ipBlock`: inside `cidr` and outside every `except` entry.
 *
 * @remarks
 * `except` entries lie inside `cidr` (the API server validates it); an address of the other family
 * never matches (`IPBlock` in k8s.io/api/networking/v1).
 */
export function matchIpBlock(block: IPBlock, ip: string): boolean {
  if (!matchCidr(block.cidr, ip)) return false;
  return !(block.except ?? []).some((e) => matchCidr(e, ip));
}
