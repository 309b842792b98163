import type { Dump } from './dump.js';
import type { Packet, Protocol, CtState } from './packet.js';
import { cidrContains, familyOf, normalizeIp } from './ip.js';
import { buildNetns, type Netns } from './netns.js';
import type { Link } from './links.js';
import { lookupRoute, addrType, isLocalAddress, checkRpFilter, type RouteDecision } from './route-lookup.js';
import { lookupNeighbor } from './neighbors.js';
import { lookupFdb } from './fdb.js';
import {
  rpFilter,
  ipv4Forwarding,
  ipv6Forwarding,
  proxyArp,
  bridgeNfCallIptables,
  icmpEchoIgnoreAll,
  srcValidMark,
  acceptLocal,
} from './sysctls.js';
import { lookupListener } from './listeners.js';
import { traverseHook, type Hook, type NfOutcome } from './netfilter.js';
import type { NfConntrack } from './netfilter-context.js';
import { traverseNftHook, type NftHook } from './nftables.js';
import { lookupIpvs, schedulableRealServers, formatIpvsService } from './ipvs.js';
import { hostPort, invertTuple, sameTuple, tupleOf, type CtEntry, type Tuple } from './conntrack.js';

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

/** One way a connection can go (Service backends and ECMP fork the path), with its probability. */
export interface ConnectionBranch {
  readonly probability: number;
  readonly outcome: Outcome;
  /** The server that got the connection: host, the address it was reached at, the peer it saw. */
  readonly server?: { readonly host: string; readonly local: string; readonly peer: string };
  /** The address the client believes it talks to, from the reply it got (after un-NAT). */
  readonly clientSaw?: string;
  readonly drop?: Drop;
  /** The forward path then, when there was a reply, the reply path. */
  readonly steps: readonly TraceStep[];
  /** Rules the packet reached that the simulator could not evaluate (assumed not to match). */
  readonly unsupported: readonly string[];
}

/** A connection attempt from one host of the world. */
export interface ConnectionRequest {
  readonly from: string;
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  readonly dst: string;
  readonly dport: number;
  readonly src?: string;
  readonly sport?: number;
}

/** Every branch of a simulated connection attempt. */
export interface ConnectionVerdict {
  readonly branches: readonly ConnectionBranch[];
  readonly warnings: readonly string[];
}

/** The most hops one branch may take before it is declared a loop. */
export const MAX_HOPS = 64;
const EPHEMERAL_PORT = 40000;

/** How the hosts of a world are grouped: veth pairs only join hosts of one group (a node and its pods). */
export interface WorldOptions {
  /** Group of each host; hosts without one share a single default group. */
  readonly groups?: Readonly<Record<string, string>>;
}

/** Builds a World from named dumps: parses each namespace and wires veth peers and address owners. */
export function buildWorld(dumps: Readonly<Record<string, Dump>>, options: WorldOptions = {}): World {
  const hosts = new Map<string, Netns>();
  for (const [name, dump] of Object.entries(dumps)) hosts.set(name, buildNetns(name, dump));
  const owners = new Map<string, Attachment[]>();
  for (const ns of hosts.values()) {
    for (const link of ns.links) {
      for (const a of link.addresses) {
        const key = normalizeIp(a.local);
        const list = owners.get(key) ?? [];
        list.push({ host: ns.name, link });
        owners.set(key, list);
      }
    }
  }
  const { peers, warnings } = pairVeths(hosts, (h) => options.groups?.[h] ?? '');
  return { hosts, owners, warnings, vethPeers: peers };
}

const attachKey = (host: string, ifname: string): string => `${host}\u0000${ifname}`;

/**
 * Pairs veth ends across namespaces: each end names its peer's ifindex (`link_index`), so two ends
 * pair when each names the other. Ifindexes are per namespace and repeat, so where several
 * candidates remain the one sharing an IP subnet wins and the ambiguity is reported.
 */
function pairVeths(
  hosts: ReadonlyMap<string, Netns>,
  groupOf: (host: string) => string,
): { peers: Map<string, Attachment>; warnings: string[] } {
  const peers = new Map<string, Attachment>();
  const warnings: string[] = [];
  const byIndex = new Map<number, Attachment[]>();
  const veths: Attachment[] = [];
  for (const ns of hosts.values()) {
    for (const link of ns.links) {
      if (link.kind !== 'veth') continue;
      veths.push({ host: ns.name, link });
      const list = byIndex.get(link.ifindex) ?? [];
      list.push({ host: ns.name, link });
      byIndex.set(link.ifindex, list);
    }
  }
  for (const end of veths) {
    const key = attachKey(end.host, end.link.name);
    if (peers.has(key) || end.link.peerIfindex === undefined) continue;
    const candidates = (byIndex.get(end.link.peerIfindex) ?? []).filter(
      (c) =>
        c.host !== end.host &&
        groupOf(c.host) === groupOf(end.host) &&
        c.link.peerIfindex === end.link.ifindex &&
        !peers.has(attachKey(c.host, c.link.name)),
    );
    if (candidates.length === 0) continue;
    let chosen = candidates[0];
    if (candidates.length > 1) {
      const sharing = candidates.filter((c) => sharesSubnet(end.link, c.link));
      chosen = sharing[0] ?? chosen;
      if (sharing.length !== 1) {
        warnings.push(
          `veth ${end.host}/${end.link.name} has ${candidates.length} possible peers; chose ${chosen?.host}/${chosen?.link.name}`,
        );
      }
    }
    if (chosen === undefined) continue;
    peers.set(key, chosen);
    peers.set(attachKey(chosen.host, chosen.link.name), end);
  }
  return { peers, warnings };
}

function sharesSubnet(a: Link, b: Link): boolean {
  for (const x of a.addresses) {
    for (const y of b.addresses) {
      if (x.family !== y.family || x.scope === 'link' || y.scope === 'link') continue;
      const len = Math.min(x.prefixlen, y.prefixlen);
      if (sameNetwork(x.local, y.local, len)) return true;
    }
  }
  return false;
}

function sameNetwork(a: string, b: string, len: number): boolean {
  return familyOf(a) === familyOf(b) && cidrContains(`${b}/${len}`, a);
}

// ---------------------------------------------------------------------------------------------
// The walk

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

const step = (s: State, st: TraceStep): State => ({ ...s, steps: [...s.steps, st] });

function dropped(
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

function hostOf(w: World, name: string): Netns {
  const ns = w.hosts.get(name);
  if (ns === undefined) throw new Error(`unknown host ${name}`);
  return ns;
}

const withPacket = (f: Flight, packet: Packet): Flight => ({ ...f, packet });

function ctEntriesOf(s: State, host: string): readonly CtEntry[] {
  return s.ct.get(host) ?? [];
}

function confirm(s: State, f: Flight): State {
  const ct = f.ct;
  if (ct === undefined || f.dir !== 'orig') return s;
  const entry: CtEntry = { orig: ct.orig, reply: invertTuple(tupleOf(f.packet)), mark: ct.mark };
  const list = ctEntriesOf(s, ct.host).filter((e) => !sameTuple(e.orig, entry.orig));
  const next = new Map(s.ct);
  next.set(ct.host, [...list, entry]);
  return { ...s, ct: next };
}

/** Attaches the conntrack entry for `host` to the flight if it has none there yet. */
function attachCt(s: State, host: string, f: Flight): { flight: Flight; ctState: CtState } {
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
function unNat(f: Flight, point: 'dst' | 'src'): Flight {
  const e = f.ct?.entry;
  if (e === undefined || f.dir !== 'reply') return f;
  const p = f.packet;
  return point === 'dst'
    ? withPacket(f, { ...p, dst: e.orig.src, dport: e.orig.sport })
    : withPacket(f, { ...p, src: e.orig.dst, sport: e.orig.dport });
}

interface HookIo {
  readonly inIf?: string;
  readonly outIf?: string;
  readonly physdev?: { readonly in?: string; readonly out?: string; readonly isBridged: boolean };
}

interface HookPass {
  readonly state: State;
  readonly flight: Flight;
}

/**
 * Runs one netfilter hook in `host` over every rule set loaded there (iptables-nft, then legacy),
 * forking where a `statistic` match forks. Returns the passing branches and the terminals of the
 * branches the hook dropped or rejected.
 */
function runHook(
  w: World,
  s: State,
  host: string,
  f: Flight,
  hook: Hook,
  io: HookIo,
  ctState: CtState,
): { passed: HookPass[]; ended: Terminal[] } {
  const ns = hostOf(w, host);
  const rulesets = f.packet.family === 4 ? ns.iptables4 : ns.iptables6;
  const field = f.packet.family === 4 ? 'iptables' : 'ip6tables';
  if (ns.missing.has(field)) {
    s = step(s, {
      host,
      kind: 'hook',
      detail: `${hook}: ${field} not collected, rules not checked`,
      packet: f.packet,
    });
  }
  let passes: HookPass[] = [{ state: s, flight: f }];
  const ended: Terminal[] = [];
  const natHook =
    hook === 'PREROUTING' || hook === 'OUTPUT'
      ? 'dnat'
      : hook === 'POSTROUTING' || hook === 'INPUT'
        ? 'snat'
        : undefined;
  for (const rules of rulesets) {
    const next: HookPass[] = [];
    for (const pass of passes) {
      const ct = pass.flight.ct;
      const natDone =
        natHook === undefined || ct === undefined || (natHook === 'dnat' ? ct.dnatDone : ct.snatDone);
      const outcomes: NfOutcome[] = traverseHook(rules, hook, {
        packet: pass.flight.packet,
        ...(io.inIf !== undefined ? { inIf: io.inIf } : {}),
        ...(io.outIf !== undefined ? { outIf: io.outIf } : {}),
        ctState,
        skipNat: natDone,
        ctMark: ct?.mark ?? 0,
        ...(ct !== undefined ? { ct: nfConntrackOf(ct, pass.flight) } : {}),
        ...(ns.ipset !== undefined ? { ipset: ns.ipset, ipsetType: ns.ipsetType } : {}),
        addrType: (ip: string) => addrType(ns.routing, ip),
        masqueradeSource: (outIf: string) => masqueradeSource(ns, pass.flight.packet, outIf),
        redirectAddress: (inIf: string | undefined) => redirectAddress(ns, inIf, pass.flight.packet.family),
        ...(io.physdev !== undefined ? { physdev: io.physdev } : {}),
      });
      for (const o of outcomes) {
        let st: State = { ...pass.state, probability: pass.state.probability * o.probability };
        if (o.unsupported.length > 0) {
          st = {
            ...st,
            unsupported: [
              ...st.unsupported,
              ...o.unsupported.map((u) => `${host}: ${u.rule.text} (${u.reason})`),
            ],
          };
        }
        const evidence = o.decidedBy === undefined ? [] : [describeDecider(o)];
        if (o.verdict !== 'accept') {
          const code = o.verdict === 'reject' ? 'IPTABLES_REJECT' : 'IPTABLES_DROP';
          const d = o.decidedBy;
          const ev: Record<string, unknown> =
            d === undefined
              ? { hook }
              : d.kind === 'policy'
                ? { hook, table: d.table, chain: d.chain, policy: d.policy, field, line: d.line }
                : { hook, table: d.table, chain: d.chain, index: d.index, rule: d.text, field, line: d.line };
          if (o.rejectWith !== undefined) ev['rejectWith'] = o.rejectWith;
          ended.push(
            dropped(
              st,
              host,
              pass.flight.packet,
              code,
              `${hook}: ${o.verdict} by ${evidence[0] ?? 'a rule'}`,
              rejectNotify(o, hook, pass.flight.packet.protocol),
              ev,
            ),
          );
          continue;
        }
        let flight = withPacket(pass.flight, o.packet);
        if (flight.ct !== undefined) {
          flight = {
            ...flight,
            ct: {
              ...flight.ct,
              mark: o.ctMark ?? flight.ct.mark,
              ...(natHook === 'dnat' && flight.dir === 'orig' ? { dnatDone: true } : {}),
              ...(natHook === 'snat' && flight.dir === 'orig' ? { snatDone: true } : {}),
            },
          };
        }
        if (o.nat !== undefined) {
          st = step(st, {
            host,
            kind: 'nat',
            detail: `${hook} ${o.nat.kind} ${o.nat.from} -> ${o.nat.to}`,
            packet: o.packet,
            evidence,
            nat: { kind: o.nat.kind, before: pass.flight.packet },
          });
        }
        next.push({ state: st, flight });
      }
    }
    passes = next;
  }
  if (ns.nftables !== undefined) {
    const ct0 = f.ct;
    const natDoneBefore =
      ct0 !== undefined && (natHook === 'dnat' ? ct0.dnatDone : natHook === 'snat' ? ct0.snatDone : false);
    passes = runNftHook(ns, host, hook, io, ctState, passes, ended, () => natDoneBefore);
  }
  return { passed: passes, ended };
}

/**
 * Native nftables tables (not iptables-nft's) at the same hook, after the iptables tables.
 * @remarks kube-proxy's nftables mode lives in `table ip kube-proxy`; `numgen` forks like statistic.
 */
function runNftHook(
  ns: Netns,
  host: string,
  hook: Hook,
  io: HookIo,
  ctState: CtState,
  passes: HookPass[],
  ended: Terminal[],
  natDone: (pass: HookPass) => boolean,
): HookPass[] {
  const rules = ns.nftables;
  if (rules === undefined) return passes;
  const next: HookPass[] = [];
  for (const pass of passes) {
    const p = pass.flight.packet;
    const src = io.outIf === undefined ? undefined : masqueradeSource(ns, p, io.outIf);
    const outcomes = traverseNftHook(rules, hook.toLowerCase() as NftHook, {
      packet: p,
      // nat chains of both iptables and nftables run in one NAT pass: skip them once it translated.
      ctState: natDone(pass) && ctState === 'NEW' ? 'ESTABLISHED' : ctState,
      ...(io.inIf !== undefined ? { iif: io.inIf } : {}),
      ...(io.outIf !== undefined ? { oif: io.outIf } : {}),
      isLocalAddress: (ip: string) => isLocalAddress(ns.routing, ip),
      ...(src !== undefined ? { masqueradeAddress: src } : {}),
    });
    for (const o of outcomes) {
      let st: State = { ...pass.state, probability: pass.state.probability * o.probability };
      const ev = { hook, nftables: o.evidence.map((e) => `${e.family} ${e.table} ${e.chain}: ${e.rule}`) };
      if (o.verdict === 'unsupported') {
        ended.push(
          dropped(
            st,
            host,
            p,
            'NETFILTER_UNSUPPORTED',
            `${hook}: nftables rule not evaluated: ${o.reason ?? 'unsupported expression'}`,
            'unknown',
            ev,
          ),
        );
        continue;
      }
      if (o.verdict !== 'accept') {
        ended.push(
          dropped(
            st,
            host,
            p,
            'NFTABLES_DROP',
            `${hook}: nftables ${o.verdict} by ${ev.nftables.at(-1) ?? 'policy'}`,
            o.verdict === 'reject' ? 'refused' : 'timeout',
            ev,
          ),
        );
        continue;
      }
      let flight = withPacket(pass.flight, o.packet);
      if (o.nat.length > 0) {
        const kind = o.nat[0]?.kind === 'snat' || o.nat[0]?.kind === 'masquerade' ? 'snat' : 'dnat';
        st = step(st, {
          host,
          kind: 'nat',
          detail: `${hook} nftables ${o.nat.map((n) => n.kind).join(', ')}`,
          packet: o.packet,
          evidence: ev.nftables,
          nat: { kind, before: p },
        });
        if (flight.ct !== undefined && flight.dir === 'orig')
          flight = {
            ...flight,
            ct: { ...flight.ct, ...(kind === 'dnat' ? { dnatDone: true } : { snatDone: true }) },
          };
      }
      next.push({ state: st, flight });
    }
  }
  return next;
}

/** What conntrack knows of the packet's connection in this host, for `-m conntrack` beyond `--ctstate`. */
function nfConntrackOf(ct: AttachedCt, f: Flight): NfConntrack {
  const o = ct.orig;
  if (ct.entry !== undefined) {
    const r = ct.entry.reply;
    return {
      orig: o,
      reply: r,
      dir: f.dir === 'reply' ? 'REPLY' : 'ORIGINAL',
      status: ['SEEN_REPLY', 'CONFIRMED'],
      dnat: r.src !== o.dst || r.sport !== o.dport,
      snat: r.dst !== o.src || r.dport !== o.sport,
    };
  }
  const p = f.packet;
  return {
    orig: o,
    dir: 'ORIGINAL',
    status: [],
    dnat: p.dst !== o.dst || p.dport !== o.dport,
    snat: p.src !== o.src || p.sport !== o.sport,
  };
}

function describeDecider(o: NfOutcome): string {
  const d = o.decidedBy;
  if (d === undefined) return '';
  return d.kind === 'policy'
    ? `policy ${d.policy} of ${d.table}/${d.chain}`
    : `${d.table}/${d.chain} rule ${d.index}: ${d.text}`;
}

/** What the sending socket learns from a REJECT (the ICMP error or RST the rule sends back). */
function rejectNotify(o: NfOutcome, hook: Hook, protocol: Protocol): Outcome {
  if (o.verdict === 'drop') return hook === 'OUTPUT' && protocol !== 'tcp' ? 'error' : 'timeout';
  const how = o.rejectWith ?? 'icmp-port-unreachable';
  if (how.includes('port-unreach') || how === 'tcp-reset') return 'refused';
  return 'unreachable';
}

function masqueradeSource(ns: Netns, p: Packet, outIf: string): string | undefined {
  const d = lookupRoute(ns.routing, { family: p.family, dst: p.dst, oif: outIf, mark: p.mark });
  return d.source;
}

function redirectAddress(ns: Netns, inIf: string | undefined, family: 4 | 6): string | undefined {
  if (inIf === undefined) return family === 4 ? '127.0.0.1' : '::1';
  const link = ns.linkByName.get(inIf);
  return link?.addresses.find((a) => a.family === family && a.scope !== 'link')?.local;
}

function routeQuery(p: Packet, iif?: string) {
  return {
    family: p.family,
    dst: p.dst,
    ...(p.src !== '' ? { src: p.src } : {}),
    ...(iif !== undefined ? { iif } : {}),
    mark: p.mark,
    protocol: p.protocol,
    sport: p.sport,
    dport: p.dport,
  } as const;
}

/** Forks a routing decision over its next hops (ECMP), with their weights as probabilities. */
function forkNexthops(
  s: State,
  d: RouteDecision,
): { state: State; dev: string; gateway: string | undefined }[] {
  const total = d.nexthops.reduce((n, h) => n + (h.weight > 0 ? h.weight : 1), 0);
  return d.nexthops.map((h) => ({
    state:
      d.nexthops.length > 1
        ? { ...s, probability: (s.probability * (h.weight > 0 ? h.weight : 1)) / total }
        : s,
    dev: h.dev,
    gateway: h.gateway,
  }));
}

function routeFailure(s: State, host: string, p: Packet, d: RouteDecision, local: boolean): Terminal {
  const ev = d.evidence.length > 0 ? { route: d.evidence } : undefined;
  switch (d.kind) {
    case 'blackhole':
      return dropped(
        s,
        host,
        p,
        'ROUTE_BLACKHOLE',
        `blackhole route to ${p.dst}`,
        local ? 'error' : 'timeout',
        ev,
      );
    case 'unreachable':
      return dropped(s, host, p, 'ROUTE_BLACKHOLE', `unreachable route to ${p.dst}`, 'unreachable', ev);
    case 'prohibit':
      return dropped(
        s,
        host,
        p,
        'ROUTE_BLACKHOLE',
        `prohibit route to ${p.dst}`,
        local ? 'error' : 'unreachable',
        ev,
      );
    case 'invalid':
      return dropped(
        s,
        host,
        p,
        d.reason === 'rp-filter' ? 'RP_FILTER_DROP' : 'ROUTE_MISSING',
        `the kernel refuses this packet (${d.reason ?? 'invalid'})`,
        local ? 'error' : 'timeout',
        ev,
      );
    case 'broadcast':
    case 'multicast':
      return dropped(s, host, p, 'ROUTE_WRONG', `${p.dst} is a ${d.kind} destination here`, 'timeout', ev);
    default:
      return dropped(s, host, p, 'ROUTE_MISSING', `no route to ${p.dst}`, 'unreachable', ev);
  }
}

/** A locally generated packet leaving `host`: route, OUTPUT, re-route, POSTROUTING, transmit. */
function localOut(w: World, s: State, host: string, f0: Flight): Terminal[] {
  // The source address is chosen by the first route lookup when the socket has none bound.
  const ns = hostOf(w, host);
  const d0 = lookupRoute(ns.routing, routeQuery(f0.packet));
  if (f0.packet.src === '') {
    if (d0.source === undefined) return [routeFailure(s, host, f0.packet, d0, true)];
    f0 = withPacket(f0, { ...f0.packet, src: d0.source });
  }
  const { flight: f1, ctState } = attachCt(s, host, f0);
  const f = unNat(f1, 'dst');
  const d = f.packet.dst === f0.packet.dst ? d0 : lookupRoute(ns.routing, routeQuery(f.packet));
  s = step(s, {
    host,
    kind: 'route',
    detail: `output route: ${d.kind}`,
    packet: f.packet,
    evidence: d.evidence,
  });
  if (d.kind !== 'unicast' && d.kind !== 'local') return [routeFailure(s, host, f.packet, d, true)];
  const results: Terminal[] = [];
  for (const nh of d.kind === 'local' ? [{ state: s, dev: 'lo', gateway: undefined }] : forkNexthops(s, d)) {
    const hook = runHook(w, nh.state, host, f, 'OUTPUT', { outIf: nh.dev }, ctState);
    results.push(...hook.ended);
    for (const pass of hook.passed) {
      const before = f.packet;
      const after = pass.flight.packet;
      if (after.dst !== before.dst || after.mark !== before.mark) {
        // ip_route_me_harder: the packet is routed again after OUTPUT changed its destination or mark.
        const d2 = lookupRoute(ns.routing, routeQuery(after));
        const st = step(pass.state, {
          host,
          kind: 'route',
          detail: `re-route after OUTPUT: ${d2.kind}`,
          packet: after,
          evidence: d2.evidence,
        });
        if (d2.kind !== 'unicast' && d2.kind !== 'local') {
          results.push(routeFailure(st, host, after, d2, true));
          continue;
        }
        const hops =
          d2.kind === 'local' ? [{ state: st, dev: 'lo', gateway: undefined }] : forkNexthops(st, d2);
        for (const h of hops)
          results.push(...postrouting(w, h.state, host, pass.flight, h.dev, h.gateway ?? after.dst, ctState));
      } else {
        results.push(
          ...postrouting(w, pass.state, host, pass.flight, nh.dev, nh.gateway ?? after.dst, ctState),
        );
      }
    }
  }
  return results;
}

function postrouting(
  w: World,
  s: State,
  host: string,
  f: Flight,
  outIf: string,
  nexthop: string,
  ctState: CtState,
  physdev?: HookIo['physdev'],
): Terminal[] {
  const hook = runHook(w, s, host, f, 'POSTROUTING', { outIf, ...(physdev ? { physdev } : {}) }, ctState);
  const out: Terminal[] = [...hook.ended];
  for (const pass of hook.passed) {
    const fl = unNat(pass.flight, 'src');
    const st = confirm(pass.state, fl);
    out.push(...xmit(w, st, host, fl, outIf, nexthop));
  }
  return out;
}

/** A packet arriving on `inIf` of `host` at layer 3: PREROUTING, routing, then INPUT or FORWARD. */
function receive(w: World, s: State, host: string, f0: Flight, inIf: string, physIn?: string): Terminal[] {
  const ns = hostOf(w, host);
  if (s.hops >= MAX_HOPS)
    return [
      dropped(s, host, f0.packet, 'ROUTING_LOOP', `more than ${MAX_HOPS} hops: routing loop`, 'timeout'),
    ];
  s = { ...s, hops: s.hops + 1 };
  const link = ns.linkByName.get(inIf);
  if (link === undefined)
    return [dropped(s, host, f0.packet, 'LINK_MISSING', `no interface ${inIf}`, 'timeout')];
  if (!link.adminUp) return [dropped(s, host, f0.packet, 'LINK_DOWN', `${inIf} is down`, 'timeout')];
  s = step(s, { host, kind: 'recv', detail: `in ${inIf}`, packet: f0.packet });
  const { flight: f1, ctState } = attachCt(s, host, f0);
  const physdev = physIn === undefined ? undefined : { in: physIn, isBridged: false };
  const pre = runHook(w, s, host, f1, 'PREROUTING', { inIf, ...(physdev ? { physdev } : {}) }, ctState);
  const out: Terminal[] = [...pre.ended];
  for (const pass of pre.passed)
    out.push(...routeInput(w, pass.state, host, unNat(pass.flight, 'dst'), inIf, ctState));
  return out;
}

function routeInput(w: World, s: State, host: string, f: Flight, inIf: string, ctState: CtState): Terminal[] {
  const ns = hostOf(w, host);
  const p = f.packet;
  const d = lookupRoute(ns.routing, routeQuery(p, inIf));
  s = step(s, { host, kind: 'route', detail: `input route: ${d.kind}`, packet: p, evidence: d.evidence });
  if (ns.sysctls !== undefined && inIf !== 'lo' && (d.kind === 'local' || d.kind === 'unicast')) {
    const mode = rpFilter(ns.sysctls, inIf) ?? 0;
    const oif = d.kind === 'unicast' ? d.nexthops[0]?.dev : undefined;
    const rp = checkRpFilter(
      ns.routing,
      mode,
      { src: p.src, dst: p.dst, mark: p.mark, family: p.family },
      inIf,
      {
        ...(oif !== undefined ? { oif } : {}),
        acceptLocal: acceptLocal(ns.sysctls, inIf) ?? false,
        srcValidMark: srcValidMark(ns.sysctls, inIf) ?? false,
      },
    );
    if (!rp.ok) {
      const why =
        rp.reason === 'rp-filter'
          ? `rp_filter=${mode} on ${inIf} drops packets from ${p.src}: ${mode === 1 ? 'the route back to it leaves by another interface' : 'there is no route back to it'}`
          : `packets from ${p.src} arriving on ${inIf} are martians (${rp.reason ?? 'invalid source'})`;
      return [
        dropped(s, host, p, 'RP_FILTER_DROP', why, 'timeout', {
          sysctl: `net.ipv4.conf.${inIf}.rp_filter`,
          value: mode,
          reverseRoute: rp.evidence,
        }),
      ];
    }
  }
  if (d.kind === 'local') return input(w, s, host, f, inIf, ctState);
  if (d.kind !== 'unicast') return [routeFailure(s, host, p, d, false)];
  if (ns.sysctls === undefined) {
    s = step(s, { host, kind: 'route', detail: 'sysctls not collected: forwarding not checked', packet: p });
  } else {
    const fwd = p.family === 4 ? ipv4Forwarding(ns.sysctls, inIf) : ipv6Forwarding(ns.sysctls, inIf);
    if (fwd === false) {
      const key = p.family === 4 ? `net.ipv4.conf.${inIf}.forwarding` : 'net.ipv6.conf.all.forwarding';
      // ip_error sends no ICMP error when the input device does not forward: the sender times out.
      return [
        dropped(
          s,
          host,
          p,
          'IP_FORWARD_DISABLED',
          `forwarding is off for packets entering ${inIf} (${key})`,
          'timeout',
          { sysctl: key, value: 0 },
        ),
      ];
    }
  }
  const out: Terminal[] = [];
  for (const nh of forkNexthops(s, d)) {
    const hook = runHook(w, nh.state, host, f, 'FORWARD', { inIf, outIf: nh.dev }, ctState);
    out.push(...hook.ended);
    for (const pass of hook.passed)
      out.push(...postrouting(w, pass.state, host, pass.flight, nh.dev, nh.gateway ?? p.dst, ctState));
  }
  return out;
}

function input(w: World, s: State, host: string, f: Flight, inIf: string, ctState: CtState): Terminal[] {
  const hook = runHook(w, s, host, f, 'INPUT', { inIf }, ctState);
  const out: Terminal[] = [...hook.ended];
  for (const pass of hook.passed) {
    const viaIpvs = ipvsIntercept(w, pass.state, host, pass.flight);
    if (viaIpvs !== undefined) {
      out.push(...viaIpvs);
      continue;
    }
    const fl = unNat(pass.flight, 'src');
    const st = confirm(pass.state, fl);
    out.push(...deliver(w, st, host, fl, inIf));
  }
  return out;
}

/**
 * IPVS takes a connection's first packet for a virtual service at LOCAL_IN and sends it to a real
 * server: every schedulable real server is a branch, weighted. Masquerading rewrites the destination
 * (conntrack remembers it, so replies are un-NATed); direct routing and tunnelling are reported as
 * not simulated.
 * @remarks ip_vs_remote_request4 / ip_vs_nat_xmit; kube-proxy's ClusterIPs are local addresses on
 * the `kube-ipvs0` dummy device, which is why the packet reaches LOCAL_IN at all.
 */
function ipvsIntercept(w: World, s: State, host: string, f: Flight): Terminal[] | undefined {
  const ns = hostOf(w, host);
  const p = f.packet;
  if (ns.ipvs === undefined || f.dir !== 'orig' || p.protocol === 'icmp') return undefined;
  const svc = lookupIpvs(ns.ipvs, {
    protocol: p.protocol,
    dst: p.dst,
    dport: p.dport,
    mark: p.mark,
    family: p.family,
  });
  if (svc === undefined) return undefined;
  const evidence = [formatIpvsService(svc)];
  const servers = schedulableRealServers(svc);
  if (servers.length === 0) {
    return [
      dropped(
        s,
        host,
        p,
        'SERVICE_NO_ENDPOINTS',
        `IPVS virtual service ${hostPort(p.dst, p.dport)} has no real server with weight > 0`,
        'timeout',
        { ipvs: evidence },
      ),
    ];
  }
  const total = servers.reduce((n, r) => n + r.weight, 0);
  const out: Terminal[] = [];
  for (const rs of servers) {
    const st0: State = { ...s, probability: (s.probability * rs.weight) / total };
    if (rs.method !== 'masq') {
      out.push(
        dropped(
          st0,
          host,
          p,
          'NETFILTER_UNSUPPORTED',
          `IPVS ${rs.method} forwarding to ${rs.address} is not simulated`,
          'unknown',
          { ipvs: evidence },
        ),
      );
      continue;
    }
    const to: Packet = { ...p, dst: normalizeIp(rs.address), dport: rs.port === 0 ? p.dport : rs.port };
    const st = step(st0, {
      host,
      kind: 'nat',
      detail: `IPVS ${hostPort(p.dst, p.dport)} -> ${hostPort(to.dst, to.dport)}`,
      packet: to,
      evidence,
      nat: { kind: 'dnat', before: p },
    });
    // IPVS runs at LOCAL_IN before the nat table's SNAT point (priority NF_IP_PRI_NAT_SRC - 2), so
    // the source NAT of this connection is still to be decided, in POSTROUTING.
    const fl: Flight =
      f.ct === undefined ? withPacket(f, to) : { ...withPacket(f, to), ct: { ...f.ct, snatDone: false } };
    out.push(...localOut(w, st, host, fl));
  }
  return out;
}

/** Local delivery: a tunnel's outer packet is decapsulated, anything else ends here. */
function deliver(w: World, s: State, host: string, f: Flight, inIf: string): Terminal[] {
  const inner = f.inner;
  if (inner === undefined) {
    return [
      {
        kind: 'delivered',
        state: step(s, { host, kind: 'deliver', detail: `local delivery (in ${inIf})`, packet: f.packet }),
        host,
        flight: f,
        inIf,
      },
    ];
  }
  const ns = hostOf(w, host);
  if (inner.kind === 'ipip') {
    // ipip_rcv: the tunnel matching the outer addresses, else the fallback device tunl0 (remote any).
    const tun = ns.links.find(
      (l) =>
        l.kind === 'ipip' &&
        l.adminUp &&
        (l.tunnel?.remote === undefined || l.tunnel.remote === f.packet.src),
    );
    if (tun === undefined) {
      return [
        dropped(
          s,
          host,
          inner.flight.packet,
          'IPIP_DEVICE_MISSING',
          `an IP-in-IP packet from ${f.packet.src} arrived, but ${host} has no ipip device that is up to take it`,
          'timeout',
        ),
      ];
    }
    const st = step(s, {
      host,
      kind: 'decap',
      detail: `ipip ${tun.name}`,
      packet: inner.flight.packet,
      decapDev: tun.name,
    });
    return receive(w, st, host, { packet: inner.flight.packet, dir: inner.flight.dir }, tun.name);
  }
  const dev = ns.links.find(
    (l) =>
      l.kind === 'vxlan' &&
      l.vxlan !== undefined &&
      l.vxlan.id === inner.vni &&
      (l.vxlan.port ?? 4789) === f.packet.dport,
  );
  if (dev === undefined) {
    return [
      dropped(
        s,
        host,
        inner.flight.packet,
        'VXLAN_DEVICE_MISSING',
        `no vxlan device with VNI ${inner.vni} on UDP port ${f.packet.dport}`,
        'timeout',
      ),
    ];
  }
  const st = step(s, {
    host,
    kind: 'decap',
    detail: `vxlan ${dev.name} (VNI ${inner.vni})`,
    packet: inner.flight.packet,
    decapDev: dev.name,
  });
  const innerFlight: Flight = { packet: inner.flight.packet, dir: inner.flight.dir };
  return receive(w, st, host, innerFlight, dev.name);
}

/** Transmits on `outIf` towards `nexthop`: loopback, veth, bridge, vxlan, or the underlay. */
function xmit(w: World, s: State, host: string, f0: Flight, outIf: string, nexthop: string): Terminal[] {
  const ns = hostOf(w, host);
  const p = f0.packet;
  const link = ns.linkByName.get(outIf);
  if (link === undefined) return [dropped(s, host, p, 'LINK_MISSING', `no interface ${outIf}`, 'timeout')];
  if (!link.adminUp) return [dropped(s, host, p, 'LINK_DOWN', `${outIf} is down`, 'timeout')];
  s = step(s, { host, kind: 'xmit', detail: `out ${outIf} to ${nexthop}`, packet: p });
  if (link.kind === 'loopback') return receive(w, s, host, f0, 'lo');
  // The skb's conntrack is dropped when it crosses into another namespace (skb_scrub_packet).
  const f: Flight =
    f0.inner === undefined ? { packet: p, dir: f0.dir } : { packet: p, dir: f0.dir, inner: f0.inner };
  if (link.kind === 'vxlan') return vxlanXmit(w, s, host, f, link, nexthop);
  if (link.kind === 'ipip') return ipipXmit(w, s, host, f, link, nexthop);
  if (link.kind === 'dummy')
    return [
      dropped(
        s,
        host,
        p,
        'ROUTE_WRONG',
        `${outIf} is a dummy device: packets sent to it are discarded`,
        'timeout',
      ),
    ];
  if (link.kind === 'bridge') return bridgeOut(w, s, host, f, link, nexthop, undefined);
  return wireOut(w, s, host, f, link, nexthop);
}

/** Sends a frame out of a non-bridge device: to its veth peer, else across the underlay. */
function wireOut(w: World, s: State, host: string, f: Flight, link: Link, nexthop: string): Terminal[] {
  const p = f.packet;
  if (link.kind === 'veth') {
    const peer = w.vethPeers.get(attachKey(host, link.name));
    if (peer !== undefined) {
      if (!link.lowerUp || !peer.link.adminUp) {
        // No carrier: neighbour resolution fails at once and the sender gets EHOSTUNREACH.
        return [
          dropped(
            s,
            host,
            p,
            'VETH_PEER_DOWN',
            `${link.name}'s peer ${peer.host}/${peer.link.name} is down (no carrier)`,
            'unreachable',
          ),
        ];
      }
      return [cross(s, { host, link }, peer, f, nexthop, 'veth')];
    }
  }
  if (!link.lowerUp) return [dropped(s, host, p, 'LINK_DOWN', `${link.name} has no carrier`, 'unreachable')];
  // ARP/ND only reaches interfaces on this link's network: never the far end of another veth pair
  // (a pod's eth0 is on its veth, not on the underlay); one sharing a subnet with this link first.
  const reachable = (w.owners.get(normalizeIp(nexthop)) ?? []).filter(
    (o) =>
      o.host !== host &&
      o.link.kind !== 'loopback' &&
      !(o.link.kind === 'veth' && w.vethPeers.has(attachKey(o.host, o.link.name))),
  );
  const owner = reachable.find((o) => sharesSubnet(link, o.link)) ?? reachable[0];
  if (owner === undefined) {
    const dstOwners = (w.owners.get(normalizeIp(p.dst)) ?? []).filter((o) => o.host !== host);
    if (dstOwners.length === 0) return [{ kind: 'left', state: s, host, flight: f }];
    if (normalizeIp(nexthop) !== normalizeIp(p.dst)) {
      // A gateway outside the captured hosts, for a destination that is one of them: a misroute.
      const d = lookupRoute(hostOf(w, host).routing, { family: p.family, dst: p.dst, mark: p.mark });
      const viaDefault = d.route !== undefined && d.route.dst.length === 0;
      const where = dstOwners.map((o) => o.host).join(', ');
      const what = viaDefault ? `no route to ${p.dst} but the default route` : `the route to ${p.dst}`;
      return [
        dropped(
          s,
          host,
          p,
          viaDefault ? 'ROUTE_MISSING' : 'ROUTE_WRONG',
          `${what} sends it to ${nexthop} on ${link.name}, which is not a captured host, instead of towards ${where}`,
          'timeout',
          { route: d.evidence },
        ),
      ];
    }
    return [
      dropped(
        s,
        host,
        p,
        'NEIGH_FAILED',
        `nothing on ${link.name}'s network answers for ${nexthop}`,
        'unreachable',
      ),
    ];
  }
  return [cross(s, { host, link }, owner, f, nexthop, 'underlay')];
}

/** Whether `at` answers ARP/ND for `ip` arriving on its interface (owns it, or proxies for it). */
function answersFor(w: World, at: Attachment, ip: string): boolean {
  const ns = hostOf(w, at.host);
  if (at.link.addresses.some((a) => normalizeIp(a.local) === normalizeIp(ip))) return true;
  if (isLocalAddress(ns.routing, ip)) {
    const arpIgnore = ns.sysctls?.get(`net.ipv4.conf.${at.link.name}.arp_ignore`);
    return arpIgnore === undefined || arpIgnore === '0' || familyOf(ip) === 6;
  }
  return familyOf(ip) === 4 && ns.sysctls !== undefined && proxyArp(ns.sysctls, at.link.name) === true;
}

function cross(
  s: State,
  from: Attachment,
  to: Attachment,
  f: Flight,
  nexthop: string,
  via: 'veth' | 'underlay',
): Crossing {
  const inner = f.inner;
  const st = step(s, {
    host: from.host,
    kind: 'cross',
    detail: `${from.link.name} -> ${to.host}/${to.link.name} (${via})`,
    packet: f.packet,
    crossing: {
      outIf: from.link.name,
      toHost: to.host,
      inIf: to.link.name,
      via,
      ...(inner !== undefined
        ? { inner: inner.flight.packet, tunnel: inner.kind, tunnelDev: inner.dev }
        : {}),
    },
  });
  return { kind: 'cross', state: st, from, to, flight: f, nexthop, via };
}

/** Continues a crossing in the host it arrives at: the frame is bridged, or received at layer 3. */
export function arrive(w: World, c: Crossing): Terminal[] {
  return frameIn(w, c.state, c.to, c.flight, c.nexthop, c.from.host, c.from.link);
}

/** A frame arriving at interface `at` for `nexthop`: bridged, or received at layer 3. */
function frameIn(
  w: World,
  s: State,
  at: Attachment,
  f: Flight,
  nexthop: string,
  fromHost: string,
  fromLink: Link,
): Terminal[] {
  const ns = hostOf(w, at.host);
  if (!at.link.adminUp)
    return [dropped(s, at.host, f.packet, 'LINK_DOWN', `${at.link.name} is down`, 'timeout')];
  if (at.link.master !== undefined) {
    const bridge = ns.linkByName.get(at.link.master);
    if (bridge !== undefined && bridge.kind === 'bridge') {
      if (!bridge.adminUp)
        return [dropped(s, at.host, f.packet, 'BRIDGE_DOWN', `bridge ${bridge.name} is down`, 'timeout')];
      if (answersFor(w, { host: at.host, link: bridge }, nexthop)) {
        const st = step(s, {
          host: at.host,
          kind: 'bridge',
          detail: `${at.link.name} -> ${bridge.name} (to the host)`,
          packet: f.packet,
        });
        return receive(w, st, at.host, f, bridge.name, at.link.name);
      }
      return bridgeOut(w, s, at.host, f, bridge, nexthop, at.link);
    }
  }
  if (!answersFor(w, at, nexthop)) {
    const neigh = hostOf(w, fromHost).neighbors;
    const permanent = neigh === undefined ? undefined : lookupNeighbor(neigh, nexthop, fromLink.name);
    if (permanent === undefined || !permanent.state.some((x) => x === 'PERMANENT' || x === 'NOARP')) {
      return [
        dropped(
          s,
          fromHost,
          f.packet,
          'NEIGH_FAILED',
          `${at.host}/${at.link.name} does not answer ARP/ND for ${nexthop}`,
          'unreachable',
        ),
      ];
    }
  }
  return receive(w, s, at.host, f, at.link.name);
}

/**
 * A bridge forwarding a frame to the port behind which `nexthop` answers. Frames entering from a
 * port (`inPort`) and leaving by another are bridged, and pass iptables FORWARD when br_netfilter's
 * `bridge-nf-call-iptables` is on; frames sent by the host on the bridge device are not.
 */
function bridgeOut(
  w: World,
  s: State,
  host: string,
  f: Flight,
  bridge: Link,
  nexthop: string,
  inPort: Link | undefined,
): Terminal[] {
  const ns = hostOf(w, host);
  const p = f.packet;
  if (!bridge.adminUp)
    return [dropped(s, host, p, 'BRIDGE_DOWN', `bridge ${bridge.name} is down`, 'timeout')];
  for (const port of ns.bridgePorts.get(bridge.name) ?? []) {
    if (inPort !== undefined && port.name === inPort.name) continue;
    const far = w.vethPeers.get(attachKey(host, port.name));
    if (far === undefined || !answersFor(w, far, nexthop)) continue;
    if (!port.adminUp) {
      return [dropped(s, host, p, 'LINK_DOWN', `bridge port ${port.name} is down`, 'unreachable')];
    }
    if (!port.lowerUp || !far.link.adminUp) {
      // The port is up but has no carrier: its veth peer, on the far side, is down.
      return [
        dropped(
          s,
          far.host,
          p,
          'LINK_DOWN',
          `${far.link.name} of ${far.host}, behind bridge port ${port.name} of ${host}, is down`,
          'unreachable',
        ),
      ];
    }
    const st = step(s, {
      host,
      kind: 'bridge',
      detail: `${bridge.name}: ${inPort?.name ?? 'host'} -> ${port.name}`,
      packet: p,
    });
    const nfOn = inPort !== undefined && ns.sysctls !== undefined && bridgeNfOn(ns, p.family);
    if (!nfOn) return [cross(st, { host, link: port }, far, f, nexthop, 'veth')];
    // br_netfilter: bridged IP traffic traverses PREROUTING, FORWARD and POSTROUTING of iptables.
    const physdev = { in: inPort.name, out: port.name, isBridged: true };
    const { flight: fc, ctState } = attachCt(st, host, f);
    const out: Terminal[] = [];
    const pre = runHook(w, st, host, fc, 'PREROUTING', { inIf: bridge.name, physdev }, ctState);
    out.push(...pre.ended);
    for (const a of pre.passed) {
      const fw = runHook(
        w,
        a.state,
        host,
        unNat(a.flight, 'dst'),
        'FORWARD',
        { inIf: bridge.name, outIf: bridge.name, physdev },
        ctState,
      );
      out.push(...fw.ended);
      for (const b of fw.passed) {
        const post = runHook(
          w,
          b.state,
          host,
          b.flight,
          'POSTROUTING',
          { outIf: bridge.name, physdev },
          ctState,
        );
        out.push(...post.ended);
        for (const c0 of post.passed) {
          const c = { ...c0, flight: unNat(c0.flight, 'src') };
          const conf = confirm(c.state, c.flight);
          const fl: Flight = {
            packet: c.flight.packet,
            dir: c.flight.dir,
            ...(c.flight.inner ? { inner: c.flight.inner } : {}),
          };
          out.push(cross(conf, { host, link: port }, far, fl, nexthop, 'veth'));
        }
      }
    }
    return out;
  }
  return [
    dropped(
      s,
      host,
      p,
      'NEIGH_FAILED',
      `no port of bridge ${bridge.name} leads to ${nexthop}`,
      'unreachable',
    ),
  ];
}

/**
 * IP-in-IP transmit (Calico's IPIP): the packet is wrapped in an IPv4 packet of protocol 4 to the
 * route's gateway (`via <peer node> dev tunl0 onlink`), sent by the host like its own.
 */
function ipipXmit(w: World, s: State, host: string, f: Flight, link: Link, nexthop: string): Terminal[] {
  const p = f.packet;
  if (p.family !== 4 || familyOf(nexthop) !== 4) {
    return [
      dropped(
        s,
        host,
        p,
        'ROUTE_WRONG',
        `${link.name} is an IPv4-in-IPv4 tunnel, but the next hop is ${nexthop}`,
        'timeout',
      ),
    ];
  }
  const remote = link.tunnel?.remote ?? nexthop;
  const outer: Packet = {
    family: 4,
    protocol: 'ipip',
    src: link.tunnel?.local ?? '',
    dst: remote,
    sport: 0,
    dport: 0,
    mark: p.mark,
    tcpFlags: [],
  };
  const st = step(s, { host, kind: 'encap', detail: `ipip ${link.name} to ${remote}`, packet: outer });
  const outerFlight: Flight = {
    packet: outer,
    dir: 'orig',
    inner: { flight: f, vni: 0, kind: 'ipip', dev: link.name },
  };
  return localOut(w, st, host, outerFlight).map((t) =>
    t.kind === 'dropped' && t.notify === 'error' ? { ...t, notify: 'timeout' } : t,
  );
}

/** Whether br_netfilter hands bridged packets of `family` to iptables (`bridge-nf-call-ip(6)tables`). */
export function bridgeNfOn(ns: Netns, family: 4 | 6): boolean {
  if (ns.sysctls === undefined) return false;
  if (family === 4) return bridgeNfCallIptables(ns.sysctls) === true;
  return ns.sysctls.get('net.bridge.bridge-nf-call-ip6tables') === '1';
}

/** VXLAN transmit: neighbour (MAC of the next hop), FDB (remote VTEP), then UDP encapsulation. */
function vxlanXmit(w: World, s: State, host: string, f: Flight, link: Link, nexthop: string): Terminal[] {
  const ns = hostOf(w, host);
  const p = f.packet;
  const vx = link.vxlan;
  if (vx === undefined)
    return [dropped(s, host, p, 'VXLAN_DEVICE_MISSING', `${link.name} has no vxlan attributes`, 'timeout')];
  const neigh = ns.neighbors === undefined ? undefined : lookupNeighbor(ns.neighbors, nexthop, link.name);
  const mac =
    neigh !== undefined && !neigh.state.some((x) => x === 'FAILED' || x === 'INCOMPLETE')
      ? neigh.lladdr
      : undefined;
  if (ns.neighbors === undefined) {
    return [
      dropped(
        s,
        host,
        p,
        'NETSTACK_NOT_COLLECTED',
        `neighbours of ${host} were not collected: cannot resolve ${nexthop} on ${link.name}`,
        'unknown',
      ),
    ];
  }
  if (mac === undefined) {
    return [
      dropped(
        s,
        host,
        p,
        'VXLAN_NEIGH_MISSING',
        `no neighbour entry for ${nexthop} on ${link.name}`,
        'unreachable',
      ),
    ];
  }
  const fdb = ns.fdb === undefined ? undefined : lookupFdb(ns.fdb, link.name, mac);
  const remote = fdb?.entries.find((e) => e.dst !== undefined)?.dst ?? vx.remote;
  if (remote === undefined) {
    return [dropped(s, host, p, 'VXLAN_FDB_MISSING', `no FDB entry for ${mac} on ${link.name}`, 'timeout')];
  }
  const outer: Packet = {
    family: familyOf(remote),
    protocol: 'udp',
    src: vx.local ?? '',
    dst: remote,
    sport: 0,
    dport: vx.port ?? 4789,
    mark: p.mark,
    tcpFlags: [],
  };
  const st = step(s, {
    host,
    kind: 'encap',
    detail: `vxlan ${link.name} VNI ${vx.id} to ${remote} (inner to ${mac})`,
    packet: outer,
  });
  const outerFlight: Flight = {
    packet: outer,
    dir: 'orig',
    inner: { flight: f, vni: vx.id, kind: 'vxlan', dev: link.name },
  };
  return localOut(w, st, host, outerFlight).map((t) =>
    t.kind === 'dropped' && t.notify === 'error' ? { ...t, notify: 'timeout' } : t,
  );
}

// ---------------------------------------------------------------------------------------------
// Connections

/** The packet a client in `host` sends first for `req`. */
export function firstPacket(req: ConnectionRequest): Packet {
  const family = familyOf(req.dst);
  const protocol: Protocol = req.protocol;
  const icmp = protocol === 'icmp';
  return {
    family,
    protocol,
    src: req.src ?? '',
    dst: normalizeIp(req.dst),
    sport: icmp ? 0 : (req.sport ?? EPHEMERAL_PORT),
    dport: icmp ? 0 : req.dport,
    mark: 0,
    tcpFlags: protocol === 'tcp' ? ['SYN'] : [],
    ...(icmp ? { icmpType: family === 4 ? 8 : 128, icmpCode: 0 } : {}),
  };
}

/** The state a walk starts from. */
export const emptyState = (): State => ({
  probability: 1,
  hops: 0,
  ct: new Map(),
  steps: [],
  unsupported: [],
});

/** Follows every crossing until each branch is delivered, dropped, or leaves the world. */
export function drive(w: World, start: readonly Terminal[]): Exclude<Terminal, Crossing>[] {
  const done: Exclude<Terminal, Crossing>[] = [];
  const queue: Terminal[] = [...start];
  while (queue.length > 0) {
    const t = queue.pop() as Terminal;
    if (t.kind === 'cross') queue.push(...arrive(w, t));
    else done.push(t);
  }
  return done.reverse();
}

/** Starts a packet from a socket in `host` (the first packet of a connection, or a reply). */
export function sendFrom(w: World, s: State, host: string, flight: Flight): Terminal[] {
  return localOut(w, s, host, flight);
}

/**
 * Simulates a connection attempt from `req.from`: the first packet to wherever the kernel takes it
 * (forking over Service backends and ECMP), whether a socket accepts it, and the reply's way back
 * through every conntrack un-NAT, as the client's socket would see it.
 */
export function simulateConnection(
  dumps: Readonly<Record<string, Dump>> | World,
  req: ConnectionRequest,
): ConnectionVerdict {
  const w = isWorld(dumps) ? dumps : buildWorld(dumps);
  const branches: ConnectionBranch[] = [];
  const first = firstPacket(req);
  for (const t of drive(w, localOut(w, emptyState(), req.from, { packet: first, dir: 'orig' }))) {
    branches.push(...settle(w, req.from, first, t));
  }
  return { branches, warnings: w.warnings };
}

function isWorld(x: unknown): x is World {
  return typeof x === 'object' && x !== null && (x as World).hosts instanceof Map;
}

function branchOf(t: Terminal, outcome: Outcome, extra: Partial<ConnectionBranch> = {}): ConnectionBranch {
  return {
    probability: t.state.probability,
    outcome,
    steps: t.state.steps,
    unsupported: t.state.unsupported,
    ...extra,
  };
}

/**
 * Turns where a first packet ended into what the client's socket sees: a server's answer (SYN-ACK,
 * RST, echo, ICMP port unreachable) travels the reply path back through every conntrack un-NAT.
 */
export function settle(
  w: World,
  from: string,
  first: Packet,
  t: Exclude<Terminal, Crossing>,
): ConnectionBranch[] {
  if (t.kind === 'dropped') return [branchOf(t, t.notify, { drop: t.drop })];
  if (t.kind === 'left') {
    return [
      branchOf(t, 'unknown', {
        drop: {
          host: t.host,
          code: 'NETSTACK_NOT_COLLECTED',
          reason: `the packet left the captured hosts towards ${t.flight.packet.dst}`,
        },
      }),
    ];
  }
  const ns = hostOf(w, t.host);
  const p = t.flight.packet;
  const server = { host: t.host, local: hostPort(p.dst, p.dport), peer: hostPort(p.src, p.sport) };
  let replyPacket: Packet;
  let answered: Outcome;
  if (p.protocol === 'icmp') {
    if (ns.sysctls !== undefined && p.family === 4 && icmpEchoIgnoreAll(ns.sysctls) === true) {
      return [
        branchOf(t, 'timeout', {
          drop: { host: t.host, code: 'SYSCTL_MISMATCH', reason: 'icmp_echo_ignore_all is set' },
        }),
      ];
    }
    replyPacket = { ...p, src: p.dst, dst: p.src, icmpType: p.family === 4 ? 0 : 129 };
    answered = 'connected';
  } else {
    if (ns.listeners === undefined) {
      return [
        branchOf(t, 'unknown', {
          server,
          drop: {
            host: t.host,
            code: 'NETSTACK_NOT_COLLECTED',
            reason: `listening sockets of ${t.host} were not collected`,
          },
        }),
      ];
    }
    const l = lookupListener(ns.listeners, p.protocol === 'udp' ? 'udp' : 'tcp', p.dst, p.dport);
    answered = l === undefined ? 'refused' : 'connected';
    // No socket: TCP answers with a RST, UDP with ICMP port unreachable; both travel the reply path.
    replyPacket = {
      ...p,
      src: p.dst,
      dst: p.src,
      sport: p.dport,
      dport: p.sport,
      tcpFlags: p.protocol === 'tcp' ? (l ? ['SYN', 'ACK'] : ['RST', 'ACK']) : [],
    };
  }
  const replyFlight: Flight = { packet: replyPacket, dir: 'reply' };
  const out: ConnectionBranch[] = [];
  for (const r of drive(w, localOut(w, t.state, t.host, replyFlight))) {
    if (r.kind === 'delivered') {
      const rp = r.flight.packet;
      const expected = invertTuple(originalTuple(t.state, from, first));
      const back = tupleOf(rp);
      const okHost = r.host === from;
      const okTuple =
        back.dst === expected.dst &&
        back.src === expected.src &&
        back.sport === expected.sport &&
        back.dport === expected.dport;
      if (okHost && okTuple) {
        out.push(branchOf(r, answered, { server, clientSaw: hostPort(rp.src, rp.sport) }));
      } else {
        out.push(
          branchOf(r, 'timeout', {
            server,
            drop: {
              host: r.host,
              code: 'UNEXPECTED_SNAT',
              reason: `the reply reached ${r.host} as ${hostPort(rp.src, rp.sport)} -> ${hostPort(rp.dst, rp.dport)}, which is not the client's connection`,
            },
          }),
        );
      }
    } else if (r.kind === 'dropped') {
      out.push(branchOf(r, 'timeout', { server, drop: r.drop }));
    } else {
      out.push(
        branchOf(r, 'unknown', {
          server,
          drop: {
            host: r.host,
            code: 'NETSTACK_NOT_COLLECTED',
            reason: `the reply left the captured hosts towards ${r.flight.packet.dst}`,
          },
        }),
      );
    }
  }
  return out;
}

/** The tuple of the client's socket: its first packet as it left OUTPUT's routing (before NAT). */
function originalTuple(s: State, from: string, first: Packet): Tuple {
  const entries = s.ct.get(from) ?? [];
  const match = entries.find(
    (e) =>
      e.orig.dst === first.dst &&
      e.orig.dport === first.dport &&
      e.orig.protocol === first.protocol &&
      (first.src === '' || e.orig.src === first.src),
  );
  return match?.orig ?? tupleOf(first);
}
