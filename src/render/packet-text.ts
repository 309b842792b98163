import type { Endpoint, PacketSummary } from '../model/result.js';

/** `ip:port`, with IPv6 addresses in brackets (`[fd00::1]:80`); the bare address when there is no port. */
export function formatHostPort(ip: string, port?: number): string {
  if (port === undefined || port === 0) return ip;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** One packet as `10.244.1.5:40000 → 10.96.0.10:80 tcp` (ICMP without ports). */
export function formatPacket(packet: PacketSummary, arrow = ' → '): string {
  const ports = packet.protocol !== 'icmp';
  const src = formatHostPort(packet.src, ports ? packet.sport : undefined);
  const dst = formatHostPort(packet.dst, ports ? packet.dport : undefined);
  return `${src}${arrow}${dst} ${packet.protocol}`;
}

/** Where a packet is addressed to, as `10.96.0.10:80/tcp` (`10.0.0.1/icmp` without a port). */
export function formatDestination(endpoint: Endpoint): string {
  const address = formatHostPort(endpoint.ip, endpoint.port);
  return endpoint.protocol === undefined ? address : `${address}/${endpoint.protocol}`;
}

/**
 * The address translations that turn `before` into `after`, as `DNAT 10.96.0.10:80 → 10.244.2.9:8080`
 * and `SNAT 10.244.1.5:40000 → 192.168.1.10:61234`; empty when the addresses did not change.
 */
export function describeNat(before: PacketSummary, after: PacketSummary): string[] {
  const ports = before.protocol !== 'icmp' && after.protocol !== 'icmp';
  const hp = (ip: string, port: number): string => formatHostPort(ip, ports ? port : undefined);
  const nat: string[] = [];
  if (before.dst !== after.dst || (ports && before.dport !== after.dport)) {
    nat.push(`DNAT ${hp(before.dst, before.dport)} → ${hp(after.dst, after.dport)}`);
  }
  if (before.src !== after.src || (ports && before.sport !== after.sport)) {
    nat.push(`SNAT ${hp(before.src, before.sport)} → ${hp(after.src, after.sport)}`);
  }
  return nat;
}
