import ipaddr from 'ipaddr.js';
import type { Family } from './packet.js';

/** A parsed IP prefix (`10.244.0.0/16`, `fd00::/64`, or a host address as /32 or /128). */
export interface Prefix {
  readonly family: Family;
  readonly address: string;
  readonly length: number;
}

type Addr = ipaddr.IPv4 | ipaddr.IPv6;

const cache = new Map<string, Addr>();

function parseAddr(ip: string): Addr {
  let a = cache.get(ip);
  if (a === undefined) {
    a = ipaddr.parse(ip);
    if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
    if (cache.size > 100_000) cache.clear();
    cache.set(ip, a);
  }
  return a;
}

/** Whether `ip` is a valid IPv4 or IPv6 address. */
export function isIp(ip: string): boolean {
  return ipaddr.isValid(ip) && (ipaddr.IPv4.isValidFourPartDecimal(ip) || ipaddr.IPv6.isValid(ip));
}

/** The address family of `ip`. */
export function familyOf(ip: string): Family {
  return parseAddr(ip).kind() === 'ipv4' ? 4 : 6;
}

/** `ip` in canonical text form (IPv6 compressed, lower case). */
export function normalizeIp(ip: string): string {
  return parseAddr(ip).toString();
}

/** Parses `a.b.c.d/len`, `x::/len`, a bare address (host prefix), or `default`/`any` for the given family. */
export function parsePrefix(text: string, family?: Family): Prefix {
  if (text === 'default' || text === 'any' || text === 'all') {
    const fam = family ?? 4;
    return { family: fam, address: fam === 4 ? '0.0.0.0' : '::', length: 0 };
  }
  const slash = text.indexOf('/');
  const addr = parseAddr(slash < 0 ? text : text.slice(0, slash));
  const fam: Family = addr.kind() === 'ipv4' ? 4 : 6;
  const max = fam === 4 ? 32 : 128;
  const length = slash < 0 ? max : Number(text.slice(slash + 1));
  if (!Number.isInteger(length) || length < 0 || length > max) throw new Error(`bad prefix length in ${text}`);
  return { family: fam, address: addr.toString(), length };
}

/** Whether `ip` lies inside `prefix` (false across families). */
export function prefixContains(prefix: Prefix, ip: string): boolean {
  const a = parseAddr(ip);
  const fam: Family = a.kind() === 'ipv4' ? 4 : 6;
  if (fam !== prefix.family) return false;
  if (prefix.length === 0) return true;
  return a.match(parseAddr(prefix.address), prefix.length);
}

/** Whether `ip` lies inside the CIDR text `cidr`. */
export function cidrContains(cidr: string, ip: string): boolean {
  return prefixContains(parsePrefix(cidr), ip);
}

/** `ip` as a bigint, for range comparisons (`iprange`, ipset ranges). */
export function ipToBigInt(ip: string): bigint {
  const bytes = parseAddr(ip).toByteArray();
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** `prefix` printed as `address/length`. */
export function formatPrefix(prefix: Prefix): string {
  return `${prefix.address}/${prefix.length}`;
}
