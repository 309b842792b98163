import type { Packet, Protocol } from './packet.js';

/** A connection tuple as conntrack keys it. */
export interface Tuple {
  readonly protocol: Protocol;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
}

/**
 * One conntrack entry in one namespace: the tuple as the connection's first packet arrived
 * (`orig`), the tuple its replies will carry once NAT is applied (`reply`), and the connection mark.
 * @remarks NAT is decided on the first packet only and replayed on every later packet of both
 * directions (nf_nat_inet_fn, nf_nat_packet); this is what makes the reply's un-NAT come out right.
 */
export interface CtEntry {
  readonly orig: Tuple;
  readonly reply: Tuple;
  readonly mark: number;
}

/** The tuple of `p`. */
export function tupleOf(p: Packet): Tuple {
  return { protocol: p.protocol, src: p.src, dst: p.dst, sport: p.sport, dport: p.dport };
}

/** The tuple a reply to `t` carries (addresses and ports swapped). */
export function invertTuple(t: Tuple): Tuple {
  return { protocol: t.protocol, src: t.dst, dst: t.src, sport: t.dport, dport: t.sport };
}

/** Whether two tuples are equal. */
export function sameTuple(a: Tuple, b: Tuple): boolean {
  return a.protocol === b.protocol && a.src === b.src && a.dst === b.dst && a.sport === b.sport && a.dport === b.dport;
}

/** `t` printed as `proto src:sport -> dst:dport`. */
export function formatTuple(t: Tuple): string {
  return `${t.protocol} ${hostPort(t.src, t.sport)} -> ${hostPort(t.dst, t.dport)}`;
}

/** `ip:port`, with brackets for IPv6. */
export function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
