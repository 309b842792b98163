/** The IP protocols skoop simulates; `ipip` is an IP-in-IP tunnel's outer packet (protocol 4). */
export type Protocol = 'tcp' | 'udp' | 'icmp' | 'sctp' | 'ipip';

/** The IP protocol number of `protocol` (ICMP is 1 for IPv4, 58 for IPv6). */
export function protocolNumberOf(protocol: Protocol, family: Family): number {
  switch (protocol) {
    case 'tcp':
      return 6;
    case 'udp':
      return 17;
    case 'sctp':
      return 132;
    case 'ipip':
      return 4;
    case 'icmp':
      return family === 6 ? 58 : 1;
  }
}

/** The address family of a packet or prefix. */
export type Family = 4 | 6;

/**
 * A packet as the kernel sees it at one point of its path: the 5-tuple, the skb mark, and for TCP
 * the flags (a connection's first packet is a SYN). Ports are 0 for ICMP.
 */
export interface Packet {
  readonly family: Family;
  readonly protocol: Protocol;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  /** skb->mark, 0 when unset. */
  readonly mark: number;
  /** TCP flags present on the packet, upper case (`SYN`, `ACK`, …); empty for other protocols. */
  readonly tcpFlags: readonly string[];
  /** ICMP type (and code) for ICMP packets: echo-request is 8/0 (v4) or 128/0 (v6). */
  readonly icmpType?: number;
  readonly icmpCode?: number;
}

/** Conntrack state of a packet as netfilter's `conntrack`/`state` matches see it. */
export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED' | 'SNAT' | 'DNAT';
