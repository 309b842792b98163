import type { Packet, CtState } from './packet.js';
import type { Netns } from './netns.js';
import type { Link } from './links.js';
import { invertTuple, sameTuple, tupleOf, type CtEntry, type Tuple } from './conntrack.js';

/**
 * Several network namespaces captured together (a cluster's nodes and pods, or a test bench), with
 * the wiring between them recovered from the dumps: veth peers, bridge ports, and which interface
 * owns which address (the underlay).
 */
export interface World {
  readonly hosts: ReadonlyMap<string, Netns>;
  /** Interfaces that hold each address, by canonical address. */
  readonly owners: ReadonlyMap<string, readonly Attachment[]>;
  /** Ambiguities found while wiring the world (e.g. a veth whose peer matches twice). */
  readonly warnings: readonly string[];
  readonly vethPeers: ReadonlyMap<string, Attachment>;
}

/** An interface in a host of the world. */
export interface Attachment {
  readonly host: string;
  readonly link: Link;
}

/** What happened to a packet at one point of its path, for evidence and rendering. */
export interface TraceStep {
  readonly host: string;
  readonly kind:
    'route' | 'hook' | 'nat' | 'xmit' | 'recv' | 'bridge' | 'encap' | 'decap' | 'deliver' | 'drop' | 'cross';
  readonly detail: string;
  readonly packet: Packet;
  readonly evidence?: readonly string[];
  /** For `cross`: the interface the frame left by, the host and interface it arrives at, and how. */
  readonly crossing?: {
    readonly outIf: string;
    readonly toHost: string;
    readonly inIf: string;
    readonly via: 'veth' | 'underlay';
    /** The packet inside the tunnel when the frame is a tunnel's outer packet. */
    readonly inner?: Packet;
    readonly tunnel?: 'vxlan' | 'ipip';
    /** The tunnel device the inner packet was sent on. */
    readonly tunnelDev?: string;
  };
  /** For `decap`: the tunnel device that took the inner packet. */
  readonly decapDev?: string;
  /** For `nat`: the translation, with the packet before it. */
  readonly nat?: { readonly kind: string; readonly before: Packet };
}

/** How a connection attempt ends, as the client's socket would report it. */
export type Outcome = 'connected' | 'refused' | 'unreachable' | 'timeout' | 'error' | 'unknown';

/** Why and where a packet was lost. `code` is a suspicion code of CONTRACTS.md §5. */
export interface Drop {
  readonly host: string;
  readonly code: string;
  readonly reason: string;
  /** The rule, route or sysctl behind it: e.g. `{ table, chain, index, rule }` for iptables. */
  readonly evidence?: Readonly<Record<string, unknown>>;
}

/** The most hops one branch may take before it is declared a loop. */
export const MAX_HOPS = 64;

export const attachKey = (host: string, ifname: string): string => `${host}\u0000${ifname}`;

/** The connection tracking state one branch has built so far, per host. */
type CtTable = ReadonlyMap<string, readonly CtEntry[]>;

/** The state of one branch of the walk. */
export interface State {
  readonly probability: number;
  readonly hops: number;
  readonly ct: CtTable;
  readonly steps: readonly TraceStep[];
  readonly unsupported: readonly string[];
}

/**
 * A packet in flight with what the kernel keeps on its skb: the conntrack entry it is attached to
 * in the current host (kept across loopback, cleared when it crosses into another namespace), and,
 * for a tunnel's outer packet, the inner packet it carries.
 */
export interface Flight {
  readonly packet: Packet;
  readonly dir: 'orig' | 'reply';
  readonly ct?: AttachedCt;
  readonly inner?: {
    readonly flight: Flight;
    readonly vni: number;
    readonly kind: 'vxlan' | 'ipip';
    readonly dev: string;
  };
}

export interface AttachedCt {
  readonly host: string;
  /** The connection's tuple as it entered this host (orig direction). */
  readonly orig: Tuple;
  /** For replies: the entry matched. */
  readonly entry?: CtEntry;
  readonly dnatDone: boolean;
  readonly snatDone: boolean;
  readonly mark: number;
}

/** Where one host's processing of a packet ends. */
export type Terminal =
  | {
      readonly kind: 'delivered';
      readonly state: State;
      readonly host: string;
      readonly flight: Flight;
      readonly inIf: string;
    }
  | {
      readonly kind: 'dropped';
      readonly state: State;
      readonly drop: Drop;
      /** What the sender's socket sees: an ICMP error or RST (refused/unreachable), a local error, or nothing. */
      readonly notify: Outcome;
    }
  | { readonly kind: 'left'; readonly state: State; readonly host: string; readonly flight: Flight }
  | Crossing;

/**
 * A frame leaving `from` and arriving at `to`, an interface of another host: where one host's
 * processing ends and the next one's begins (a veth pair, a bridge port, or the underlay).
 */
export interface Crossing {
  readonly kind: 'cross';
  readonly state: State;
  readonly from: Attachment;
  readonly to: Attachment;
  readonly flight: Flight;
  readonly nexthop: string;
  readonly via: 'veth' | 'underlay';
}

export const step = (s: State, st: TraceStep): State => ({ ...s, steps: [...s.steps, st] });

export function dropped(
  s: State,
  host: string,
  packet: Packet,
  code: string,
  reason: string,
  notify: Outcome,
  evidence?: Readonly<Record<string, unknown>>,
): Terminal {
  const d: Drop = evidence === undefined ? { host, code, reason } : { host, code, reason, evidence };
  const lines =
    evidence === undefined
      ? undefined
      : Object.entries(evidence).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join('; ') : String(v)}`);
  return {
    kind: 'dropped',
    state: step(s, {
      host,
      kind: 'drop',
      detail: `${code}: ${reason}`,
      packet,
      ...(lines ? { evidence: lines } : {}),
    }),
    drop: d,
    notify,
  };
}

export function hostOf(w: World, name: string): Netns {
  const ns = w.hosts.get(name);
  if (ns === undefined) throw new Error(`unknown host ${name}`);
  return ns;
}

export const withPacket = (f: Flight, packet: Packet): Flight => ({ ...f, packet });

function ctEntriesOf(s: State, host: string): readonly CtEntry[] {
  return s.ct.get(host) ?? [];
}

export function confirm(s: State, f: Flight): State {
  const ct = f.ct;
  if (ct === undefined || f.dir !== 'orig') return s;
  const entry: CtEntry = { orig: ct.orig, reply: invertTuple(tupleOf(f.packet)), mark: ct.mark };
  const list = ctEntriesOf(s, ct.host).filter((e) => !sameTuple(e.orig, entry.orig));
  const next = new Map(s.ct);
  next.set(ct.host, [...list, entry]);
  return { ...s, ct: next };
}

/** Attaches the conntrack entry for `host` to the flight if it has none there yet. */
export function attachCt(s: State, host: string, f: Flight): { flight: Flight; ctState: CtState } {
  if (f.ct !== undefined && f.ct.host === host) {
    return { flight: f, ctState: f.dir === 'reply' || f.ct.entry !== undefined ? 'ESTABLISHED' : 'NEW' };
  }
  const t = tupleOf(f.packet);
  const entry = ctEntriesOf(s, host).find((e) => sameTuple(e.reply, t));
  if (entry !== undefined) {
    return {
      flight: {
        ...f,
        ct: { host, orig: entry.orig, entry, dnatDone: true, snatDone: true, mark: entry.mark },
      },
      ctState: 'ESTABLISHED',
    };
  }
  const fresh: AttachedCt = { host, orig: t, dnatDone: false, snatDone: false, mark: 0 };
  return { flight: { ...f, ct: fresh }, ctState: 'NEW' };
}

/** Reverse NAT on a reply: destination at PREROUTING/OUTPUT, source at POSTROUTING/INPUT. */
export function unNat(f: Flight, point: 'dst' | 'src'): Flight {
  const e = f.ct?.entry;
  if (e === undefined || f.dir !== 'reply') return f;
  const p = f.packet;
  return point === 'dst'
    ? withPacket(f, { ...p, dst: e.orig.src, dport: e.orig.sport })
    : withPacket(f, { ...p, src: e.orig.dst, sport: e.orig.dport });
}

/** The state a walk starts from. */
export const emptyState = (): State => ({
  probability: 1,
  hops: 0,
  ct: new Map(),
  steps: [],
  unsupported: [],
});
