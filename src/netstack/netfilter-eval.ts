import { type Packet, protocolNumberOf } from './packet.js';
import type { IpsetPart } from './ipset-query.js';
import { addrKeyOf, compareKeys, netContains, type AddrKey, type AddrNet } from './netfilter-addr.js';
import {
  CT_STATE_BITS,
  CT_STATUS_BITS,
  TCP_FLAG_BITS,
  type IfaceName,
  type Match,
  type PktType,
  type PortRange,
} from './netfilter-match.js';
import type { Hook, NfContext, NfTuple } from './netfilter-context.js';
import type { PolicyRef, RuleRef } from './netfilter-ruleset.js';
import type { NfNat, NfTableDecision, NfUnsupported } from './netfilter.js';

/** One path through the hook: the packet as rewritten so far and what happened to it. */
export interface PathState {
  probability: number;
  packet: Packet;
  src: AddrKey;
  dst: AddrKey;
  ctMark: number;
  notrack: boolean;
  nat: NfNat | undefined;
  /** Whether NAT in this hook changed the source / destination (IPS_SRC_NAT / IPS_DST_NAT). */
  snatDone: boolean;
  dnatDone: boolean;
  trace: (RuleRef | PolicyRef)[];
  unsupported: NfUnsupported[];
  decisions: NfTableDecision[];
}

/** Everything fixed for one hook traversal, plus the table being walked. */
export interface Env {
  readonly ctx: NfContext;
  readonly hook: Hook;
  table: string;
  /** Interface names as the kernel passes them: '' where the hook has none, `undefined` when unknown. */
  readonly inName: string | undefined;
  readonly outName: string | undefined;
  /** The packet as it entered the hook (the derived original tuple of a NEW connection). */
  readonly entry: Packet;
  branches: number;
  readonly maxOutcomes: number;
  /** Chains on the current call path, for the loop guard. */
  readonly active: Set<string>;
  /** Why the last match returned {@link UNSUPPORTED}. */
  reason: string;
}

/** {@link evalMatch}: the match does not match. */
export const NO = 0;
/** {@link evalMatch}: the match matches. */
export const YES = 1;
/** {@link evalMatch}: a statistic match; the caller splits the path. */
export const FORK = 2;
/** {@link evalMatch}: the match cannot be decided in this context (`env.reason` says why). */
export const UNSUPPORTED = 3;

/** A result code of {@link evalMatch}. */
export type MatchResult = typeof NO | typeof YES | typeof FORK | typeof UNSUPPORTED;

/** The IP protocol number of a packet. */
export function protoOf(p: Packet): number {
  return protocolNumberOf(p.protocol, p.family);
}

/** Whether the packet's protocol carries ports. */
export function hasPorts(p: Packet): boolean {
  return p.protocol !== 'icmp' && p.protocol !== 'ipip';
}

function ifaceIs(name: string, want: IfaceName): boolean {
  return want.wildcard ? name.startsWith(want.name) : name === want.name;
}

function inRange(v: number, r: PortRange): boolean {
  return v >= r[0] && v <= r[1];
}

function tcpFlagBits(flags: readonly string[]): number {
  let bits = 0;
  for (const f of flags) bits |= TCP_FLAG_BITS[f.toUpperCase()] ?? 0;
  return bits;
}

function unsupported(env: Env, reason: string): MatchResult {
  env.reason = reason;
  return UNSUPPORTED;
}

/**
 * Whether the raw table runs before conntrack attached an entry to the skb. It does, except for
 * packets looped back on `lo` in PREROUTING, which still carry the entry from OUTPUT (verified
 * with counters: a raw PREROUTING `--ctstate INVALID` rule matches packets from a veth but not from lo).
 */
export function beforeConntrack(env: Env): boolean {
  return env.table === 'raw' && !(env.hook === 'PREROUTING' && env.inName === 'lo');
}

/** Whether the packet has a conntrack entry at this point: not in raw (before conntrack), not untracked or invalid. */
export function hasCt(env: Env, st: PathState): boolean {
  if (beforeConntrack(env) || st.notrack) return false;
  const s = env.ctx.ctState;
  return s !== 'INVALID' && s !== 'UNTRACKED';
}

/** The xt_conntrack state bit of the packet, SNAT/DNAT bits excluded. */
function stateBit(env: Env, st: PathState): number {
  if (beforeConntrack(env)) return st.notrack ? CT_STATE_BITS.UNTRACKED : CT_STATE_BITS.INVALID;
  if (st.notrack) return CT_STATE_BITS.UNTRACKED;
  switch (env.ctx.ctState) {
    case 'NEW':
      return CT_STATE_BITS.NEW;
    case 'RELATED':
      return CT_STATE_BITS.RELATED;
    case 'INVALID':
      return CT_STATE_BITS.INVALID;
    case 'UNTRACKED':
      return CT_STATE_BITS.UNTRACKED;
    default:
      return CT_STATE_BITS.ESTABLISHED;
  }
}

function natBits(env: Env, st: PathState): number {
  const ct = env.ctx.ct;
  let bits = 0;
  if (st.snatDone || ct?.snat === true || env.ctx.ctState === 'SNAT') bits |= CT_STATE_BITS.SNAT;
  if (st.dnatDone || ct?.dnat === true || env.ctx.ctState === 'DNAT') bits |= CT_STATE_BITS.DNAT;
  return bits;
}

function origTuple(env: Env): NfTuple | undefined {
  if (env.ctx.ct?.orig !== undefined) return env.ctx.ct.orig;
  return env.ctx.ctState === 'NEW' ? env.entry : undefined;
}

function replyTuple(env: Env, st: PathState): NfTuple | undefined {
  if (env.ctx.ct?.reply !== undefined) return env.ctx.ct.reply;
  if (env.ctx.ctState !== 'NEW') return undefined;
  const p = st.packet;
  return { src: p.dst, dst: p.src, sport: p.dport, dport: p.sport };
}

function addrIn(ip: string, net: AddrNet): boolean {
  const k = addrKeyOf(ip, net.family);
  return k !== undefined && netContains(net, k);
}

function conntrackMatch(m: Extract<Match, { kind: 'conntrack' }>, st: PathState, env: Env): MatchResult {
  const ct = hasCt(env, st);
  if (m.state !== undefined) {
    const bits = stateBit(env, st) | (ct ? natBits(env, st) : 0);
    if (((bits & m.state.value) !== 0) === m.state.negated) return NO;
  }
  if (!ct) return m.state !== undefined ? YES : NO;
  if (m.dir !== undefined) {
    const dir = env.ctx.ct?.dir ?? (env.ctx.ctState === 'NEW' ? 'ORIGINAL' : undefined);
    if (dir === undefined) return unsupported(env, '--ctdir needs the packet direction (context ct.dir)');
    if (dir !== m.dir) return NO;
  }
  if (
    m.origSrc !== undefined ||
    m.origDst !== undefined ||
    m.origSrcPort !== undefined ||
    m.origDstPort !== undefined
  ) {
    const o = origTuple(env);
    if (o === undefined) return unsupported(env, 'conntrack original tuple unknown (context ct.orig)');
    if (m.origSrc !== undefined && addrIn(o.src, m.origSrc.value) === m.origSrc.negated) return NO;
    if (m.origDst !== undefined && addrIn(o.dst, m.origDst.value) === m.origDst.negated) return NO;
    if (m.origSrcPort !== undefined && inRange(o.sport, m.origSrcPort.value) === m.origSrcPort.negated)
      return NO;
    if (m.origDstPort !== undefined && inRange(o.dport, m.origDstPort.value) === m.origDstPort.negated)
      return NO;
  }
  if (
    m.replSrc !== undefined ||
    m.replDst !== undefined ||
    m.replSrcPort !== undefined ||
    m.replDstPort !== undefined
  ) {
    const r = replyTuple(env, st);
    if (r === undefined) return unsupported(env, 'conntrack reply tuple unknown (context ct.reply)');
    if (m.replSrc !== undefined && addrIn(r.src, m.replSrc.value) === m.replSrc.negated) return NO;
    if (m.replDst !== undefined && addrIn(r.dst, m.replDst.value) === m.replDst.negated) return NO;
    if (m.replSrcPort !== undefined && inRange(r.sport, m.replSrcPort.value) === m.replSrcPort.negated)
      return NO;
    if (m.replDstPort !== undefined && inRange(r.dport, m.replDstPort.value) === m.replDstPort.negated)
      return NO;
  }
  if (m.proto !== undefined && (protoOf(st.packet) === m.proto.value) === m.proto.negated) return NO;
  if (m.status !== undefined) {
    let status: number;
    const given = env.ctx.ct?.status;
    if (given !== undefined) status = given.reduce((b, s) => b | CT_STATUS_BITS[s], 0);
    else if (env.ctx.ctState === 'NEW') status = 0;
    else return unsupported(env, '--ctstatus needs the connection status (context ct.status)');
    if (((status & m.status.value) !== 0) === m.status.negated) return NO;
  }
  return YES;
}

function setParts(m: Extract<Match, { kind: 'set' }>, st: PathState, env: Env): IpsetPart[] | string {
  const type = env.ctx.ipsetType?.(m.name);
  let dims: string[];
  if (type === undefined || type.startsWith('list:')) {
    if (m.flags.length > 1)
      return `set ${m.name} is looked up with ${m.flags.length} dimensions but its type is unknown (context ipsetType)`;
    dims = ['ip'];
  } else dims = type.slice(type.indexOf(':') + 1).split(',');
  const p = st.packet;
  const parts: IpsetPart[] = [];
  for (let i = 0; i < m.flags.length && i < dims.length; i++) {
    const fromSrc = m.flags[i] === 'src';
    const dim = dims[i];
    if (dim === 'ip' || dim === 'net') parts.push({ kind: 'ip', ip: fromSrc ? p.src : p.dst });
    else if (dim === 'port') {
      const port =
        p.protocol === 'icmp' ? ((p.icmpType ?? 0) << 8) | (p.icmpCode ?? 0) : fromSrc ? p.sport : p.dport;
      parts.push({ kind: 'port', port, protocol: p.protocol });
    } else if (dim === 'iface') {
      const name = fromSrc ? env.inName : env.outName;
      if (name === undefined) return `set ${m.name} needs the ${fromSrc ? 'input' : 'output'} interface`;
      parts.push({ kind: 'iface', name });
    } else return `set ${m.name}: dimension ${dim ?? '?'} is not simulated`;
  }
  return parts;
}

function derivedPktType(p: Packet): PktType {
  if (p.family === 4) {
    const first = Number(p.dst.slice(0, p.dst.indexOf('.')));
    if (first >= 224 && first <= 239) return 'multicast';
    if (p.dst === '255.255.255.255') return 'broadcast';
    return 'unicast';
  }
  return p.dst.toLowerCase().startsWith('ff') ? 'multicast' : 'unicast';
}

function keyInRange(k: AddrKey, r: readonly [AddrKey, AddrKey]): boolean {
  return compareKeys(k, r[0]) >= 0 && compareKeys(k, r[1]) <= 0;
}

/**
 * Evaluates one match against the packet on one path; {@link FORK} for a statistic match (the
 * caller splits the path), {@link UNSUPPORTED} with `env.reason` when it cannot be decided.
 * @remarks Each case follows the kernel match function named in the comment of its module
 * (ip_packet_match for header options, xt_conntrack's conntrack_mt, xt_physdev's physdev_mt, …).
 */
export function evalMatch(m: Match, st: PathState, env: Env): MatchResult {
  const p = st.packet;
  switch (m.kind) {
    case 'addr': {
      const k = m.dir === 'src' ? st.src : st.dst;
      let hit = false;
      for (const n of m.nets) {
        if (netContains(n, k)) {
          hit = true;
          break;
        }
      }
      return hit !== m.negated ? YES : NO;
    }
    case 'iface': {
      const name = m.dir === 'in' ? env.inName : env.outName;
      if (name === undefined)
        return unsupported(env, `${m.dir === 'in' ? 'input' : 'output'} interface unknown at ${env.hook}`);
      return ifaceIs(name, m.iface) !== m.negated ? YES : NO;
    }
    case 'proto':
      return (m.proto === 0 || m.proto === protoOf(p)) !== m.negated ? YES : NO;
    case 'fragment':
      return m.negated ? YES : NO;
    case 'ports': {
      if (p.protocol !== m.module) return NO;
      if (m.sport !== undefined && inRange(p.sport, m.sport.value) === m.sport.negated) return NO;
      if (m.dport !== undefined && inRange(p.dport, m.dport.value) === m.dport.negated) return NO;
      if (m.tcpFlags !== undefined) {
        const f = m.tcpFlags.value;
        if (((tcpFlagBits(p.tcpFlags) & f.mask) === f.comp) === m.tcpFlags.negated) return NO;
      }
      return YES;
    }
    case 'multiport': {
      if (!hasPorts(p)) return NO;
      let hit = false;
      for (const r of m.ranges) {
        if ((m.which !== 'dst' && inRange(p.sport, r)) || (m.which !== 'src' && inRange(p.dport, r))) {
          hit = true;
          break;
        }
      }
      return hit !== m.negated ? YES : NO;
    }
    case 'icmp': {
      if (p.protocol !== 'icmp' || p.family !== m.family) return NO;
      if (m.type === 255) return m.negated ? NO : YES;
      if (p.icmpType === undefined) return unsupported(env, 'the packet has no ICMP type');
      const hit = p.icmpType === m.type && (p.icmpCode ?? 0) >= m.codeMin && (p.icmpCode ?? 0) <= m.codeMax;
      return hit !== m.negated ? YES : NO;
    }
    case 'comment':
      return YES;
    case 'mark':
      return ((p.mark & m.mask) >>> 0 === m.value) !== m.negated ? YES : NO;
    case 'connmark':
      if (!hasCt(env, st)) return NO;
      return ((st.ctMark & m.mask) >>> 0 === m.value) !== m.negated ? YES : NO;
    case 'state':
      return ((stateBit(env, st) & m.state) !== 0) !== m.negated ? YES : NO;
    case 'conntrack':
      return conntrackMatch(m, st, env);
    case 'addrtype': {
      const f = env.ctx.addrType;
      if (f === undefined) return unsupported(env, 'address types unknown (context addrType)');
      const dev = m.limitIn ? env.inName : m.limitOut ? env.outName : undefined;
      if ((m.limitIn || m.limitOut) && dev === undefined)
        return unsupported(env, 'addrtype --limit-iface needs the interface');
      for (const [want, ip] of [
        [m.src, p.src],
        [m.dst, p.dst],
      ] as const) {
        if (want === undefined) continue;
        const type = f(ip, dev);
        if (type === undefined) return unsupported(env, `address type of ${ip} unknown`);
        if (want.value.includes(type) === want.negated) return NO;
      }
      return YES;
    }
    case 'set': {
      const matcher = env.ctx.ipset;
      if (matcher === undefined) return unsupported(env, `ipset ${m.name} unknown (context ipset)`);
      const type = env.ctx.ipsetType?.(m.name);
      const dims = type === undefined ? 1 : type.slice(type.indexOf(':') + 1).split(',').length;
      if (type !== undefined && !type.startsWith('list:') && m.flags.length < dims) return NO;
      const parts = setParts(m, st, env);
      if (typeof parts === 'string') return unsupported(env, parts);
      const r = matcher({ name: m.name, parts });
      if (r === undefined) return unsupported(env, `ipset ${m.name} does not exist in the captured state`);
      return r !== m.negated ? YES : NO;
    }
    case 'statistic':
      return FORK;
    case 'physdev': {
      const pd = env.ctx.physdev;
      if (pd === undefined || !pd.isBridged) {
        const opts = [m.isBridged, m.isIn, m.isOut, m.physIn, m.physOut];
        return opts.some((o) => o !== undefined && !o.negated) ? NO : YES;
      }
      if (m.isBridged !== undefined && (pd.out !== undefined) === m.isBridged.negated) return NO;
      if (m.isIn !== undefined && (pd.in === undefined) !== m.isIn.negated) return NO;
      if (m.isOut !== undefined && (pd.out === undefined) !== m.isOut.negated) return NO;
      if (
        m.physIn !== undefined &&
        pd.in !== undefined &&
        ifaceIs(pd.in, m.physIn.value) === m.physIn.negated
      )
        return NO;
      if (m.physOut !== undefined) {
        if (pd.out === undefined) return NO;
        return ifaceIs(pd.out, m.physOut.value) !== m.physOut.negated ? YES : NO;
      }
      return YES;
    }
    case 'iprange':
      if (m.src !== undefined && keyInRange(st.src, m.src.value) === m.src.negated) return NO;
      if (m.dst !== undefined && keyInRange(st.dst, m.dst.value) === m.dst.negated) return NO;
      return YES;
    case 'mac': {
      const mac = env.ctx.srcMac;
      if (mac === undefined) return unsupported(env, 'source MAC unknown (context srcMac)');
      return (mac.toLowerCase() === m.mac) !== m.negated ? YES : NO;
    }
    case 'assumed':
      return m.result ? YES : NO;
    case 'rpfilter': {
      const f = env.ctx.rpfilter;
      if (f === undefined) return unsupported(env, 'reverse-path lookup unavailable (context rpfilter)');
      const ok = f({
        packet: p,
        inIf: env.inName,
        loose: m.loose,
        validMark: m.validMark,
        acceptLocal: m.acceptLocal,
      });
      return ok !== m.invert ? YES : NO;
    }
    case 'owner': {
      const o = env.ctx.owner;
      if (o === undefined) return unsupported(env, 'socket owner unknown (context owner)');
      const used = [m.uid, m.gid, m.socketExists].filter((x) => x !== undefined);
      if (o === null) return used.every((x) => x.negated) ? YES : NO;
      if (m.socketExists?.negated === true) return NO;
      if (m.uid !== undefined && inRange(o.uid, m.uid.value) === m.uid.negated) return NO;
      if (m.gid !== undefined) {
        const g = m.gid.value;
        const hit = inRange(o.gid, g) || (m.supplGroups && (o.groups ?? []).some((x) => inRange(x, g)));
        if (hit === m.gid.negated) return NO;
      }
      return YES;
    }
    case 'socket': {
      const f = env.ctx.socketLookup;
      if (f === undefined) return unsupported(env, 'socket table unknown (context socketLookup)');
      if (m.restoreSkmark) return unsupported(env, '--restore-skmark needs the socket mark');
      return f({ packet: p, inIf: env.inName, transparent: m.transparent, nowildcard: m.nowildcard })
        ? YES
        : NO;
    }
    case 'length': {
      const len = env.ctx.length;
      if (len === undefined) return unsupported(env, 'packet length unknown (context length)');
      return inRange(len, m.range) !== m.negated ? YES : NO;
    }
    case 'ttl': {
      const ttl = env.ctx.ttl;
      if (ttl === undefined) return unsupported(env, 'TTL / hop limit unknown (context ttl)');
      const hit = m.op === 'eq' ? ttl === m.value : m.op === 'lt' ? ttl < m.value : ttl > m.value;
      return hit !== m.negated ? YES : NO;
    }
    case 'pkttype':
      return ((env.ctx.pktType ?? derivedPktType(p)) === m.type) !== m.negated ? YES : NO;
    case 'unsupported':
      return unsupported(env, m.reason);
  }
}
