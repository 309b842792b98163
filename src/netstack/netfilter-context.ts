import type { CtState, Packet } from './packet.js';
import type { IpsetMatcher } from './ipset-query.js';
import type { PktType } from './netfilter-match.js';

/** The five netfilter hooks of the IPv4/IPv6 stack. */
export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** Addresses and ports of one direction of a connection. */
export interface NfTuple {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
}

/** Conntrack status bits `--ctstatus` can test. */
export type NfCtStatus = 'EXPECTED' | 'SEEN_REPLY' | 'ASSURED' | 'CONFIRMED';

/**
 * What the caller knows about the packet's conntrack entry, for `-m conntrack` options beyond
 * `--ctstate`. For a NEW packet every field may be left out: the original tuple is then the packet
 * as it enters this hook, the reply tuple its inverse after any NAT done in this hook, no status
 * bit is set and the direction is ORIGINAL. For other states a missing field makes the rules that
 * need it unsupported-for-this-context.
 */
export interface NfConntrack {
  readonly orig?: NfTuple;
  readonly reply?: NfTuple;
  readonly status?: readonly NfCtStatus[];
  readonly dir?: 'ORIGINAL' | 'REPLY';
  /** The connection's source was translated (IPS_SRC_NAT): `--ctstate SNAT` matches. */
  readonly snat?: boolean;
  /** The connection's destination was translated (IPS_DST_NAT): `--ctstate DNAT` matches. */
  readonly dnat?: boolean;
}

/** Bridge ports of a packet that crossed a bridge with br_netfilter on (`-m physdev`). */
export interface NfPhysdev {
  /** The bridge port the packet came in by. */
  readonly in?: string;
  /** The bridge port the packet leaves by; absent when it goes up to the host. */
  readonly out?: string;
  /** Whether the kernel has bridge info on the skb at all (the packet entered through a bridge port). */
  readonly isBridged: boolean;
}

/** The question `-m rpfilter` asks: does a route back to the source go out by the input interface? */
export interface NfRpfilterQuery {
  readonly packet: Packet;
  readonly inIf: string | undefined;
  readonly loose: boolean;
  readonly validMark: boolean;
  readonly acceptLocal: boolean;
}

/** The question `-m socket` asks: is there a socket on this host for the packet? */
export interface NfSocketQuery {
  readonly packet: Packet;
  readonly inIf: string | undefined;
  readonly transparent: boolean;
  readonly nowildcard: boolean;
}

/** The credentials of the local socket that sent a packet (`-m owner`). */
export interface NfSocketOwner {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups, for `--suppl-groups`. */
  readonly groups?: readonly number[];
}

/**
 * Everything about one packet at one hook that netfilter's matches may look at. Fields and
 * callbacks are optional: a rule whose match needs one that is absent is reported as unsupported
 * for this context and treated as not matching, never as matching everything.
 */
export interface NfContext {
  readonly packet: Packet;
  /** Input interface (PREROUTING, INPUT, FORWARD); other hooks have none and `-i` sees an empty name. */
  readonly inIf?: string;
  /** Output interface (FORWARD, OUTPUT, POSTROUTING); other hooks have none and `-o` sees an empty name. */
  readonly outIf?: string;
  /**
   * The conntrack state as the conntrack hook decided it (NEW for a connection's first packet,
   * ESTABLISHED for later packets and replies). `SNAT`/`DNAT` stand for ESTABLISHED with that NAT bit.
   */
  readonly ctState: CtState;
  /** The connection mark (0 for a new connection). */
  readonly ctMark?: number;
  readonly ct?: NfConntrack;
  /** Set when this connection's NAT for this hook was already decided: the nat table is skipped. */
  readonly skipNat?: boolean;
  readonly ipset?: IpsetMatcher;
  /** The type of set `name` as `ipset save` prints it (`hash:ip,port`), to build multi-dimension lookups. */
  readonly ipsetType?: (name: string) => string | undefined;
  /** The kernel's address type of `ip` (`LOCAL`, `UNICAST`, `BROADCAST`, …), optionally limited to device `dev`. */
  readonly addrType?: (ip: string, dev?: string) => string | undefined;
  /** The source address MASQUERADE picks on `outIf` (inet_select_addr); `undefined` when the device has none. */
  readonly masqueradeSource?: (outIf: string) => string | undefined;
  /** The primary address of `inIf` that REDIRECT uses; `undefined` when the device has none. */
  readonly redirectAddress?: (inIf: string | undefined) => string | undefined;
  /** Bridge ports; absent means the packet did not come through a bridge (no br_netfilter info). */
  readonly physdev?: NfPhysdev;
  readonly rpfilter?: (q: NfRpfilterQuery) => boolean;
  /** Source MAC of the frame (`-m mac`). */
  readonly srcMac?: string;
  readonly socketLookup?: (q: NfSocketQuery) => boolean;
  /** The sending socket's credentials; `null` when there is no local socket (forwarded traffic). */
  readonly owner?: NfSocketOwner | null;
  /** IP total length in bytes (`-m length`). */
  readonly length?: number;
  /** IPv4 TTL or IPv6 hop limit (`-m ttl`, `-m hl`). */
  readonly ttl?: number;
  /** Link-layer class (`-m pkttype`); derived from the destination address when absent. */
  readonly pktType?: PktType;
  /** Cap on forked outcomes (statistic matches); 4096 when absent. */
  readonly maxOutcomes?: number;
}
