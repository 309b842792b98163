import type { Family } from './packet.js';
import { addrKeyOf, compareKeys, parseAddrNet, type AddrKey, type AddrNet } from './netfilter-addr.js';

/** An option value with its `!`. */
export interface Neg<T> {
  readonly value: T;
  readonly negated: boolean;
}

/** A flag option (`--physdev-is-bridged`, `--socket-exists`) with its `!`. */
export interface Flag {
  readonly negated: boolean;
}

/** An inclusive port (or number) range; a single port is `[p, p]`. */
export type PortRange = readonly [number, number];

/** An interface operand of `-i`/`-o`/`--physdev-*`: a name, or a prefix when written `eth+`. */
export interface IfaceName {
  readonly name: string;
  readonly wildcard: boolean;
}

/** `-s`/`-d`: the packet address lies in one of `nets` (the save format writes one per rule). */
export interface AddrMatch {
  readonly kind: 'addr';
  readonly dir: 'src' | 'dst';
  readonly negated: boolean;
  readonly nets: readonly AddrNet[];
  readonly text: string;
}

/** `-i`/`-o`. */
export interface IfaceMatch {
  readonly kind: 'iface';
  readonly dir: 'in' | 'out';
  readonly negated: boolean;
  readonly iface: IfaceName;
  readonly text: string;
}

/** `-p`: an IP protocol number (0 = all). */
export interface ProtoMatch {
  readonly kind: 'proto';
  readonly negated: boolean;
  readonly proto: number;
  readonly text: string;
}

/** `-f`: second and later fragments (skoop's packets are never fragments). */
export interface FragmentMatch {
  readonly kind: 'fragment';
  readonly negated: boolean;
  readonly text: string;
}

/** TCP flag bits as in the TCP header (`FIN` = 1 … `CWR` = 128). */
export const TCP_FLAG_BITS: Readonly<Record<string, number>> = {
  FIN: 1,
  SYN: 2,
  RST: 4,
  PSH: 8,
  ACK: 16,
  URG: 32,
  ECE: 64,
  CWR: 128,
};

/** `-m tcp|udp|sctp`: `--sport`, `--dport`, and for TCP `--tcp-flags` / `--syn`. */
export interface PortsMatch {
  readonly kind: 'ports';
  readonly module: 'tcp' | 'udp' | 'sctp';
  readonly sport: Neg<PortRange> | undefined;
  readonly dport: Neg<PortRange> | undefined;
  readonly tcpFlags: Neg<{ readonly mask: number; readonly comp: number }> | undefined;
  readonly text: string;
}

/** `-m multiport --sports|--dports|--ports` (ports or `a:b` ranges, up to 15). */
export interface MultiportMatch {
  readonly kind: 'multiport';
  readonly which: 'src' | 'dst' | 'either';
  readonly negated: boolean;
  readonly ranges: readonly PortRange[];
  readonly text: string;
}

/** `-m icmp --icmp-type` / `-m icmp6 --icmpv6-type`; type 255 means `any`. */
export interface IcmpMatch {
  readonly kind: 'icmp';
  readonly family: Family;
  readonly negated: boolean;
  readonly type: number;
  readonly codeMin: number;
  readonly codeMax: number;
  readonly text: string;
}

/** `-m comment --comment` (always matches). */
export interface CommentMatch {
  readonly kind: 'comment';
  readonly comment: string;
  readonly text: string;
}

/** `-m mark --mark v/m` (skb mark) or `-m connmark --mark v/m` (conntrack mark). */
export interface MarkMatch {
  readonly kind: 'mark' | 'connmark';
  readonly negated: boolean;
  readonly value: number;
  readonly mask: number;
  readonly text: string;
}

/** Conntrack state bits of `--ctstate` / `--state` (xt_conntrack's XT_CONNTRACK_STATE_*). */
export const CT_STATE_BITS = {
  INVALID: 1,
  ESTABLISHED: 2,
  RELATED: 4,
  NEW: 8,
  UNTRACKED: 16,
  SNAT: 32,
  DNAT: 64,
} as const;

/** Conntrack status bits of `--ctstatus` (the kernel's IPS_* bits). */
export const CT_STATUS_BITS = {
  NONE: 0,
  EXPECTED: 1,
  SEEN_REPLY: 2,
  ASSURED: 4,
  CONFIRMED: 8,
} as const;

/** `-m conntrack`. */
export interface ConntrackMatch {
  readonly kind: 'conntrack';
  readonly state: Neg<number> | undefined;
  readonly status: Neg<number> | undefined;
  readonly proto: Neg<number> | undefined;
  readonly origSrc: Neg<AddrNet> | undefined;
  readonly origDst: Neg<AddrNet> | undefined;
  readonly replSrc: Neg<AddrNet> | undefined;
  readonly replDst: Neg<AddrNet> | undefined;
  readonly origSrcPort: Neg<PortRange> | undefined;
  readonly origDstPort: Neg<PortRange> | undefined;
  readonly replSrcPort: Neg<PortRange> | undefined;
  readonly replDstPort: Neg<PortRange> | undefined;
  readonly dir: 'ORIGINAL' | 'REPLY' | undefined;
  readonly text: string;
}

/** `-m state --state`. */
export interface StateMatch {
  readonly kind: 'state';
  readonly negated: boolean;
  readonly state: number;
  readonly text: string;
}

/** `-m addrtype`. */
export interface AddrtypeMatch {
  readonly kind: 'addrtype';
  readonly src: Neg<readonly string[]> | undefined;
  readonly dst: Neg<readonly string[]> | undefined;
  readonly limitIn: boolean;
  readonly limitOut: boolean;
  readonly text: string;
}

/** `-m set --match-set NAME src,dst…`. */
export interface SetMatch {
  readonly kind: 'set';
  readonly negated: boolean;
  readonly name: string;
  readonly flags: readonly ('src' | 'dst')[];
  readonly returnNomatch: boolean;
  readonly text: string;
}

/** `-m statistic`; `probability` is the effective one (the kernel keeps it in 31 bits). */
export interface StatisticMatch {
  readonly kind: 'statistic';
  readonly mode: 'random' | 'nth';
  readonly negated: boolean;
  readonly probability: number;
  readonly every: number;
  readonly packet: number;
  readonly text: string;
}

/** `-m physdev`. */
export interface PhysdevMatch {
  readonly kind: 'physdev';
  readonly physIn: Neg<IfaceName> | undefined;
  readonly physOut: Neg<IfaceName> | undefined;
  readonly isIn: Flag | undefined;
  readonly isOut: Flag | undefined;
  readonly isBridged: Flag | undefined;
  readonly text: string;
}

/** `-m iprange --src-range|--dst-range a-b`. */
export interface IprangeMatch {
  readonly kind: 'iprange';
  readonly src: Neg<readonly [AddrKey, AddrKey]> | undefined;
  readonly dst: Neg<readonly [AddrKey, AddrKey]> | undefined;
  readonly text: string;
}

/** `-m mac --mac-source` (lower case). */
export interface MacMatch {
  readonly kind: 'mac';
  readonly negated: boolean;
  readonly mac: string;
  readonly text: string;
}

/**
 * A match whose answer skoop fixes by assumption: `limit`/`hashlimit` (rate not exceeded),
 * `nfacct` (only counts), `policy` (no IPsec).
 */
export interface AssumedMatch {
  readonly kind: 'assumed';
  readonly module: string;
  readonly result: boolean;
  readonly assumption: string;
  readonly text: string;
}

/** `-m rpfilter`. */
export interface RpfilterMatch {
  readonly kind: 'rpfilter';
  readonly loose: boolean;
  readonly validMark: boolean;
  readonly acceptLocal: boolean;
  readonly invert: boolean;
  readonly text: string;
}

/** `-m owner`. */
export interface OwnerMatch {
  readonly kind: 'owner';
  readonly uid: Neg<PortRange> | undefined;
  readonly gid: Neg<PortRange> | undefined;
  readonly socketExists: Flag | undefined;
  readonly supplGroups: boolean;
  readonly text: string;
}

/** `-m socket`. */
export interface SocketMatch {
  readonly kind: 'socket';
  readonly transparent: boolean;
  readonly nowildcard: boolean;
  readonly restoreSkmark: boolean;
  readonly text: string;
}

/** `-m length --length a[:b]`. */
export interface LengthMatch {
  readonly kind: 'length';
  readonly negated: boolean;
  readonly range: PortRange;
  readonly text: string;
}

/** `-m ttl --ttl-eq|lt|gt` (IPv4) or `-m hl --hl-eq|lt|gt` (IPv6). */
export interface TtlMatch {
  readonly kind: 'ttl';
  readonly op: 'eq' | 'lt' | 'gt';
  readonly negated: boolean;
  readonly value: number;
  readonly text: string;
}

/** The link-layer packet classes of `-m pkttype`. */
export type PktType = 'unicast' | 'broadcast' | 'multicast' | 'otherhost';

/** `-m pkttype --pkt-type`. */
export interface PkttypeMatch {
  readonly kind: 'pkttype';
  readonly negated: boolean;
  readonly type: PktType;
  readonly text: string;
}

/** A match skoop does not simulate; evaluated as "does not match" and reported when reached. */
export interface UnsupportedMatch {
  readonly kind: 'unsupported';
  readonly module: string;
  readonly reason: string;
  readonly text: string;
}

/** One compiled match of a rule. */
export type Match =
  | AddrMatch
  | IfaceMatch
  | ProtoMatch
  | FragmentMatch
  | PortsMatch
  | MultiportMatch
  | IcmpMatch
  | CommentMatch
  | MarkMatch
  | ConntrackMatch
  | StateMatch
  | AddrtypeMatch
  | SetMatch
  | StatisticMatch
  | PhysdevMatch
  | IprangeMatch
  | MacMatch
  | AssumedMatch
  | RpfilterMatch
  | OwnerMatch
  | SocketMatch
  | LengthMatch
  | TtlMatch
  | PkttypeMatch
  | UnsupportedMatch;

/** One `[!] --option args…` as read from a rule, with its canonical name. */
export interface RawOption {
  readonly name: string;
  readonly negated: boolean;
  readonly args: readonly string[];
}

/** What a module compiler knows about the rule around it. */
export interface CompileContext {
  readonly family: Family;
  readonly text: string;
}

/** Canonical name and argument count of one option. */
export type OptionSpec = readonly [canonical: string, arity: number];

/** The options of one match or target extension and how to compile them. */
export interface ExtensionSpec<T> {
  readonly options: ReadonlyMap<string, OptionSpec>;
  readonly compile: (opts: readonly RawOption[], c: CompileContext) => T;
}

class Invalid extends Error {}

function fail(message: string): never {
  throw new Invalid(message);
}

/** IP protocol numbers by the names iptables accepts (from /etc/protocols). */
export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  all: 0,
  ip: 0,
  icmp: 1,
  igmp: 2,
  ipencap: 4,
  ipip: 4,
  tcp: 6,
  egp: 8,
  udp: 17,
  ipv6: 41,
  'ipv6-route': 43,
  'ipv6-frag': 44,
  rsvp: 46,
  gre: 47,
  esp: 50,
  ah: 51,
  icmpv6: 58,
  'ipv6-icmp': 58,
  'ipv6-nonxt': 59,
  'ipv6-opts': 60,
  ospf: 89,
  pim: 103,
  vrrp: 112,
  l2tp: 115,
  sctp: 132,
  mh: 135,
  udplite: 136,
  dccp: 33,
};

/** The protocol number of `-p NAME|NUMBER`, or `undefined` when unknown. */
export function protocolNumber(text: string): number | undefined {
  const lower = text.toLowerCase();
  const known = PROTOCOL_NUMBERS[lower];
  if (known !== undefined) return known;
  return isDigits(lower) && Number(lower) <= 255 ? Number(lower) : undefined;
}

/** Whether `s` is a non-empty run of ASCII digits. */
export function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Parses a number the way iptables' strtoul(…, 0) does: `0x` hex, leading `0` octal, else decimal. */
export function parseUint(text: string, max = 0xffffffff): number {
  let n: number;
  if (/^0x[0-9a-f]+$/i.test(text)) n = parseInt(text.slice(2), 16);
  else if (/^0[0-7]+$/.test(text)) n = parseInt(text.slice(1), 8);
  else if (isDigits(text)) n = Number(text);
  else fail(`not a number: ${text}`);
  if (n > max) fail(`number out of range: ${text}`);
  return n;
}

/** Parses `value[/mask]` (mask defaults to all ones). */
export function parseValueMask(text: string): { value: number; mask: number } {
  const slash = text.indexOf('/');
  if (slash < 0) return { value: parseUint(text), mask: 0xffffffff };
  return { value: parseUint(text.slice(0, slash)), mask: parseUint(text.slice(slash + 1)) };
}

function parsePort(text: string): number {
  if (!isDigits(text)) fail(`port ${text} is not numeric (service names are not resolved)`);
  const n = Number(text);
  if (n > 65535) fail(`port out of range: ${text}`);
  return n;
}

/** Parses `p`, `a:b`, `:b` or `a:` (iptables' port range syntax). */
export function parsePortRange(text: string, max = 65535): PortRange {
  const colon = text.indexOf(':');
  if (colon < 0) {
    const p = parsePort(text);
    return [p, p];
  }
  const lo = colon === 0 ? 0 : parsePort(text.slice(0, colon));
  const hi = colon === text.length - 1 ? max : parsePort(text.slice(colon + 1));
  if (lo > hi) fail(`empty range: ${text}`);
  return [lo, hi];
}

function parseNumRange(text: string, sep: string): PortRange {
  const i = text.indexOf(sep);
  if (i < 0) {
    const n = parseUint(text);
    return [n, n];
  }
  return [parseUint(text.slice(0, i)), parseUint(text.slice(i + 1))];
}

function addr(text: string, family: Family): AddrNet {
  const n = parseAddrNet(text, family);
  if (n === undefined) fail(`invalid address ${text}`);
  return n;
}

function iface(text: string): IfaceName {
  if (text.length > 15 + 1) fail(`interface name too long: ${text}`);
  return text.endsWith('+') ? { name: text.slice(0, -1), wildcard: true } : { name: text, wildcard: false };
}

/** Parses an interface operand (`eth0`, `cali+`). */
export function parseIface(text: string): IfaceName {
  return iface(text);
}

function arg(o: RawOption, i = 0): string {
  const a = o.args[i];
  if (a === undefined) fail(`--${o.name} needs an argument`);
  return a;
}

function options(list: readonly (readonly [string, string, number])[]): ReadonlyMap<string, OptionSpec> {
  return new Map(list.map(([alias, canonical, arity]) => [alias, [canonical, arity] as const]));
}

function spec<T>(
  list: readonly (readonly [string, string, number])[],
  compile: (opts: readonly RawOption[], c: CompileContext) => T,
): ExtensionSpec<T> {
  return { options: options(list), compile };
}

function unsupported(module: string, reason: string, text: string): UnsupportedMatch {
  return { kind: 'unsupported', module, reason, text };
}

/** Wraps a compiler so that invalid or unsimulated option values give an unsupported marker. */
function guarded(
  module: string,
  compile: (opts: readonly RawOption[], c: CompileContext) => Match,
): (opts: readonly RawOption[], c: CompileContext) => Match {
  return (opts, c) => {
    try {
      return compile(opts, c);
    } catch (e) {
      if (e instanceof Invalid) return unsupported(module, e.message, c.text);
      throw e;
    }
  };
}

function portsSpec(module: 'tcp' | 'udp' | 'sctp'): ExtensionSpec<Match> {
  const list: [string, string, number][] = [
    ['sport', 'sport', 1],
    ['source-port', 'sport', 1],
    ['dport', 'dport', 1],
    ['destination-port', 'dport', 1],
  ];
  if (module === 'tcp')
    list.push(['tcp-flags', 'tcp-flags', 2], ['syn', 'syn', 0], ['tcp-option', 'tcp-option', 1]);
  if (module === 'sctp') list.push(['chunk-types', 'chunk-types', 2]);
  return spec(
    list,
    guarded(module, (opts, c) => {
      let sport: Neg<PortRange> | undefined;
      let dport: Neg<PortRange> | undefined;
      let tcpFlags: Neg<{ mask: number; comp: number }> | undefined;
      for (const o of opts) {
        if (o.name === 'sport') sport = { value: parsePortRange(arg(o)), negated: o.negated };
        else if (o.name === 'dport') dport = { value: parsePortRange(arg(o)), negated: o.negated };
        else if (o.name === 'tcp-flags')
          tcpFlags = {
            value: { mask: tcpFlagList(arg(o, 0)), comp: tcpFlagList(arg(o, 1)) },
            negated: o.negated,
          };
        else if (o.name === 'syn')
          tcpFlags = { value: { mask: 1 | 2 | 4 | 16, comp: 2 }, negated: o.negated };
        else fail(`--${o.name} is not simulated`);
      }
      return { kind: 'ports', module, sport, dport, tcpFlags, text: c.text };
    }),
  );
}

function tcpFlagList(text: string): number {
  if (text === 'ALL') return 255;
  if (text === 'NONE') return 0;
  let bits = 0;
  for (const name of text.split(',')) {
    const b = name === 'ALL' ? 255 : name === 'NONE' ? 0 : TCP_FLAG_BITS[name.toUpperCase()];
    if (b === undefined) fail(`unknown TCP flag ${name}`);
    bits |= b;
  }
  return bits;
}

/** ICMP type names iptables accepts, as [type, codeMin, codeMax]. */
const ICMP4_TYPES: Readonly<Record<string, readonly [number, number, number]>> = {
  any: [255, 0, 255],
  'echo-reply': [0, 0, 255],
  pong: [0, 0, 255],
  'destination-unreachable': [3, 0, 255],
  'network-unreachable': [3, 0, 0],
  'host-unreachable': [3, 1, 1],
  'protocol-unreachable': [3, 2, 2],
  'port-unreachable': [3, 3, 3],
  'fragmentation-needed': [3, 4, 4],
  'source-route-failed': [3, 5, 5],
  'network-unknown': [3, 6, 6],
  'host-unknown': [3, 7, 7],
  'network-prohibited': [3, 9, 9],
  'host-prohibited': [3, 10, 10],
  'TOS-network-unreachable': [3, 11, 11],
  'TOS-host-unreachable': [3, 12, 12],
  'communication-prohibited': [3, 13, 13],
  'host-precedence-violation': [3, 14, 14],
  'precedence-cutoff': [3, 15, 15],
  'source-quench': [4, 0, 255],
  redirect: [5, 0, 255],
  'network-redirect': [5, 0, 0],
  'host-redirect': [5, 1, 1],
  'TOS-network-redirect': [5, 2, 2],
  'TOS-host-redirect': [5, 3, 3],
  'echo-request': [8, 0, 255],
  ping: [8, 0, 255],
  'router-advertisement': [9, 0, 255],
  'router-solicitation': [10, 0, 255],
  'time-exceeded': [11, 0, 255],
  'ttl-exceeded': [11, 0, 255],
  'ttl-zero-during-transit': [11, 0, 0],
  'ttl-zero-during-reassembly': [11, 1, 1],
  'parameter-problem': [12, 0, 255],
  'ip-header-bad': [12, 0, 0],
  'required-option-missing': [12, 1, 1],
  'timestamp-request': [13, 0, 255],
  'timestamp-reply': [14, 0, 255],
  'address-mask-request': [17, 0, 255],
  'address-mask-reply': [18, 0, 255],
};

/** ICMPv6 type names ip6tables accepts, as [type, codeMin, codeMax]. */
const ICMP6_TYPES: Readonly<Record<string, readonly [number, number, number]>> = {
  'destination-unreachable': [1, 0, 255],
  'no-route': [1, 0, 0],
  'communication-prohibited': [1, 1, 1],
  'beyond-scope': [1, 2, 2],
  'address-unreachable': [1, 3, 3],
  'port-unreachable': [1, 4, 4],
  'failed-policy': [1, 5, 5],
  'reject-route': [1, 6, 6],
  'packet-too-big': [2, 0, 255],
  'time-exceeded': [3, 0, 255],
  'ttl-exceeded': [3, 0, 255],
  'ttl-zero-during-transit': [3, 0, 0],
  'ttl-zero-during-reassembly': [3, 1, 1],
  'parameter-problem': [4, 0, 255],
  'bad-header': [4, 0, 0],
  'unknown-header-type': [4, 1, 1],
  'unknown-option': [4, 2, 2],
  'echo-request': [128, 0, 255],
  ping: [128, 0, 255],
  'echo-reply': [129, 0, 255],
  pong: [129, 0, 255],
  'router-solicitation': [133, 0, 255],
  'router-advertisement': [134, 0, 255],
  'neighbour-solicitation': [135, 0, 255],
  'neighbor-solicitation': [135, 0, 255],
  'neighbour-advertisement': [136, 0, 255],
  'neighbor-advertisement': [136, 0, 255],
  redirect: [137, 0, 255],
};

function icmpSpec(family: Family): ExtensionSpec<Match> {
  const opt = family === 4 ? 'icmp-type' : 'icmpv6-type';
  const names = family === 4 ? ICMP4_TYPES : ICMP6_TYPES;
  return spec(
    [[opt, opt, 1]],
    guarded(family === 4 ? 'icmp' : 'icmp6', (opts, c) => {
      const o = opts[0];
      if (o === undefined || opts.length > 1) fail(`expects exactly one --${opt}`);
      const t = arg(o);
      const named = names[t];
      let type: number;
      let codeMin: number;
      let codeMax: number;
      if (named !== undefined) [type, codeMin, codeMax] = named;
      else {
        const slash = t.indexOf('/');
        type = parseUint(slash < 0 ? t : t.slice(0, slash), 255);
        if (slash < 0) [codeMin, codeMax] = [0, 255];
        else codeMin = codeMax = parseUint(t.slice(slash + 1), 255);
      }
      return { kind: 'icmp', family, negated: o.negated, type, codeMin, codeMax, text: c.text };
    }),
  );
}

function markSpec(kind: 'mark' | 'connmark'): ExtensionSpec<Match> {
  return spec(
    [['mark', 'mark', 1]],
    guarded(kind, (opts, c) => {
      const o = opts[0];
      if (o === undefined || opts.length > 1) fail('expects exactly one --mark');
      const { value, mask } = parseValueMask(arg(o));
      return { kind, negated: o.negated, value, mask, text: c.text };
    }),
  );
}

function stateBits(text: string, allowNat: boolean): number {
  let bits = 0;
  for (const s of text.split(',')) {
    const b = (CT_STATE_BITS as Readonly<Record<string, number>>)[s.toUpperCase()];
    if (b === undefined || (!allowNat && b >= CT_STATE_BITS.SNAT)) fail(`unknown state ${s}`);
    bits |= b;
  }
  return bits;
}

const conntrackSpec = spec(
  [
    ['ctstate', 'ctstate', 1],
    ['ctproto', 'ctproto', 1],
    ['ctorigsrc', 'ctorigsrc', 1],
    ['ctorigdst', 'ctorigdst', 1],
    ['ctreplsrc', 'ctreplsrc', 1],
    ['ctrepldst', 'ctrepldst', 1],
    ['ctorigsrcport', 'ctorigsrcport', 1],
    ['ctorigdstport', 'ctorigdstport', 1],
    ['ctreplsrcport', 'ctreplsrcport', 1],
    ['ctrepldstport', 'ctrepldstport', 1],
    ['ctstatus', 'ctstatus', 1],
    ['ctexpire', 'ctexpire', 1],
    ['ctdir', 'ctdir', 1],
  ],
  guarded('conntrack', (opts, c): ConntrackMatch => {
    const m: { -readonly [K in keyof ConntrackMatch]: ConntrackMatch[K] } = {
      kind: 'conntrack',
      state: undefined,
      status: undefined,
      proto: undefined,
      origSrc: undefined,
      origDst: undefined,
      replSrc: undefined,
      replDst: undefined,
      origSrcPort: undefined,
      origDstPort: undefined,
      replSrcPort: undefined,
      replDstPort: undefined,
      dir: undefined,
      text: c.text,
    };
    for (const o of opts) {
      const a = arg(o);
      const neg = o.negated;
      switch (o.name) {
        case 'ctstate':
          m.state = { value: stateBits(a, true), negated: neg };
          break;
        case 'ctstatus': {
          let bits = 0;
          for (const s of a.split(',')) {
            const b = (CT_STATUS_BITS as Readonly<Record<string, number>>)[s.toUpperCase()];
            if (b === undefined) fail(`unknown ctstatus ${s}`);
            bits |= b;
          }
          m.status = { value: bits, negated: neg };
          break;
        }
        case 'ctproto': {
          const p = protocolNumber(a);
          if (p === undefined) fail(`unknown protocol ${a}`);
          m.proto = { value: p, negated: neg };
          break;
        }
        case 'ctorigsrc':
          m.origSrc = { value: addr(a, c.family), negated: neg };
          break;
        case 'ctorigdst':
          m.origDst = { value: addr(a, c.family), negated: neg };
          break;
        case 'ctreplsrc':
          m.replSrc = { value: addr(a, c.family), negated: neg };
          break;
        case 'ctrepldst':
          m.replDst = { value: addr(a, c.family), negated: neg };
          break;
        case 'ctorigsrcport':
          m.origSrcPort = { value: parsePortRange(a), negated: neg };
          break;
        case 'ctorigdstport':
          m.origDstPort = { value: parsePortRange(a), negated: neg };
          break;
        case 'ctreplsrcport':
          m.replSrcPort = { value: parsePortRange(a), negated: neg };
          break;
        case 'ctrepldstport':
          m.replDstPort = { value: parsePortRange(a), negated: neg };
          break;
        case 'ctdir':
          if (a !== 'ORIGINAL' && a !== 'REPLY') fail(`unknown --ctdir ${a}`);
          m.dir = a;
          break;
        default:
          fail(`--${o.name} is not simulated (needs the conntrack timer)`);
      }
    }
    return m;
  }),
);

const stateSpec = spec(
  [['state', 'state', 1]],
  guarded('state', (opts, c): StateMatch => {
    const o = opts[0];
    if (o === undefined) fail('expects --state');
    return { kind: 'state', negated: o.negated, state: stateBits(arg(o), false), text: c.text };
  }),
);

/** Address types of `-m addrtype` (the kernel's RTN_* names). */
export const ADDR_TYPES = [
  'UNSPEC',
  'UNICAST',
  'LOCAL',
  'BROADCAST',
  'ANYCAST',
  'MULTICAST',
  'BLACKHOLE',
  'UNREACHABLE',
  'PROHIBIT',
  'THROW',
  'NAT',
  'XRESOLVE',
] as const;

const addrtypeSpec = spec(
  [
    ['src-type', 'src-type', 1],
    ['dst-type', 'dst-type', 1],
    ['limit-iface-in', 'limit-iface-in', 0],
    ['limit-iface-out', 'limit-iface-out', 0],
  ],
  guarded('addrtype', (opts, c): AddrtypeMatch => {
    let src: Neg<readonly string[]> | undefined;
    let dst: Neg<readonly string[]> | undefined;
    let limitIn = false;
    let limitOut = false;
    const types = (t: string): string[] => {
      const list = t.split(',').map((x) => x.toUpperCase());
      for (const x of list)
        if (!(ADDR_TYPES as readonly string[]).includes(x)) fail(`unknown address type ${x}`);
      return list;
    };
    for (const o of opts) {
      if (o.name === 'src-type') src = { value: types(arg(o)), negated: o.negated };
      else if (o.name === 'dst-type') dst = { value: types(arg(o)), negated: o.negated };
      else if (o.name === 'limit-iface-in') limitIn = true;
      else limitOut = true;
    }
    return { kind: 'addrtype', src, dst, limitIn, limitOut, text: c.text };
  }),
);

const setSpec = spec(
  [
    ['match-set', 'match-set', 2],
    ['set', 'match-set', 2],
    ['return-nomatch', 'return-nomatch', 0],
    ['update-counters', 'update-counters', 0],
    ['update-subcounters', 'update-subcounters', 0],
    ['packets-eq', 'packets-eq', 1],
    ['packets-lt', 'packets-lt', 1],
    ['packets-gt', 'packets-gt', 1],
    ['bytes-eq', 'bytes-eq', 1],
    ['bytes-lt', 'bytes-lt', 1],
    ['bytes-gt', 'bytes-gt', 1],
  ],
  guarded('set', (opts, c): SetMatch => {
    let name: string | undefined;
    let negated = false;
    let flags: ('src' | 'dst')[] = [];
    let returnNomatch = false;
    for (const o of opts) {
      if (o.name === 'match-set') {
        name = arg(o, 0);
        negated = o.negated;
        flags = arg(o, 1)
          .split(',')
          .map((f) => (f === 'src' || f === 'dst' ? f : fail(`unknown set flag ${f}`)));
      } else if (o.name === 'return-nomatch') returnNomatch = true;
      else if (o.name.startsWith('packets-') || o.name.startsWith('bytes-'))
        fail(`--${o.name} (counter match) is not simulated`);
    }
    if (name === undefined) fail('expects --match-set');
    return { kind: 'set', negated, name, flags, returnNomatch, text: c.text };
  }),
);

const statisticSpec = spec(
  [
    ['mode', 'mode', 1],
    ['probability', 'probability', 1],
    ['every', 'every', 1],
    ['packet', 'packet', 1],
  ],
  guarded('statistic', (opts, c): StatisticMatch => {
    let mode: 'random' | 'nth' | undefined;
    let probability = 0;
    let every = 0;
    let packet = 0;
    let negated = false;
    for (const o of opts) {
      const a = arg(o);
      if (o.name === 'mode') {
        if (a !== 'random' && a !== 'nth') fail(`unknown --mode ${a}`);
        mode = a;
      } else if (o.name === 'probability') {
        const p = Number(a);
        if (!Number.isFinite(p) || p < 0 || p > 1) fail(`bad probability ${a}`);
        probability = Math.round(p * 0x80000000) / 0x80000000;
        negated ||= o.negated;
      } else if (o.name === 'every') {
        every = parseUint(a);
        if (every === 0) fail('--every 0');
        negated ||= o.negated;
      } else packet = parseUint(a);
    }
    if (mode === undefined) fail('expects --mode');
    if (mode === 'nth') probability = 1 / every;
    return { kind: 'statistic', mode, negated, probability, every, packet, text: c.text };
  }),
);

const physdevSpec = spec(
  [
    ['physdev-in', 'physdev-in', 1],
    ['physdev-out', 'physdev-out', 1],
    ['physdev-is-in', 'physdev-is-in', 0],
    ['physdev-is-out', 'physdev-is-out', 0],
    ['physdev-is-bridged', 'physdev-is-bridged', 0],
  ],
  guarded('physdev', (opts, c): PhysdevMatch => {
    const m: { -readonly [K in keyof PhysdevMatch]: PhysdevMatch[K] } = {
      kind: 'physdev',
      physIn: undefined,
      physOut: undefined,
      isIn: undefined,
      isOut: undefined,
      isBridged: undefined,
      text: c.text,
    };
    for (const o of opts) {
      if (o.name === 'physdev-in') m.physIn = { value: iface(arg(o)), negated: o.negated };
      else if (o.name === 'physdev-out') m.physOut = { value: iface(arg(o)), negated: o.negated };
      else if (o.name === 'physdev-is-in') m.isIn = { negated: o.negated };
      else if (o.name === 'physdev-is-out') m.isOut = { negated: o.negated };
      else m.isBridged = { negated: o.negated };
    }
    return m;
  }),
);

function rangeKeys(text: string, family: Family): readonly [AddrKey, AddrKey] {
  const dash = text.indexOf('-');
  const lo = addrKeyOf(dash < 0 ? text : text.slice(0, dash), family);
  const hi = addrKeyOf(dash < 0 ? text : text.slice(dash + 1), family);
  if (lo === undefined || hi === undefined || compareKeys(lo, hi) > 0) fail(`bad address range ${text}`);
  return [lo, hi];
}

const iprangeSpec = spec(
  [
    ['src-range', 'src-range', 1],
    ['dst-range', 'dst-range', 1],
  ],
  guarded('iprange', (opts, c): IprangeMatch => {
    let src: Neg<readonly [AddrKey, AddrKey]> | undefined;
    let dst: Neg<readonly [AddrKey, AddrKey]> | undefined;
    for (const o of opts) {
      const r = { value: rangeKeys(arg(o), c.family), negated: o.negated };
      if (o.name === 'src-range') src = r;
      else dst = r;
    }
    return { kind: 'iprange', src, dst, text: c.text };
  }),
);

const macSpec = spec(
  [['mac-source', 'mac-source', 1]],
  guarded('mac', (opts, c): MacMatch => {
    const o = opts[0];
    if (o === undefined) fail('expects --mac-source');
    const mac = arg(o).toLowerCase();
    if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac)) fail(`bad MAC address ${mac}`);
    return { kind: 'mac', negated: o.negated, mac, text: c.text };
  }),
);

function assumed(module: string, result: boolean, assumption: string, text: string): AssumedMatch {
  return { kind: 'assumed', module, result, assumption, text };
}

const limitSpec = spec(
  [
    ['limit', 'limit', 1],
    ['limit-burst', 'limit-burst', 1],
  ],
  (_opts, c) => assumed('limit', true, 'rate limit not exceeded', c.text),
);

const hashlimitSpec = spec(
  [
    ['hashlimit', 'hashlimit-upto', 1],
    ['hashlimit-upto', 'hashlimit-upto', 1],
    ['hashlimit-above', 'hashlimit-above', 1],
    ['hashlimit-burst', 'hashlimit-burst', 1],
    ['hashlimit-mode', 'hashlimit-mode', 1],
    ['hashlimit-srcmask', 'hashlimit-srcmask', 1],
    ['hashlimit-dstmask', 'hashlimit-dstmask', 1],
    ['hashlimit-name', 'hashlimit-name', 1],
    ['hashlimit-htable-size', 'hashlimit-htable-size', 1],
    ['hashlimit-htable-max', 'hashlimit-htable-max', 1],
    ['hashlimit-htable-expire', 'hashlimit-htable-expire', 1],
    ['hashlimit-htable-gcinterval', 'hashlimit-htable-gcinterval', 1],
    ['hashlimit-rate-match', 'hashlimit-rate-match', 0],
    ['hashlimit-rate-interval', 'hashlimit-rate-interval', 1],
  ],
  (opts, c) => {
    const above = opts.some((o) => o.name === 'hashlimit-above');
    return assumed('hashlimit', !above, 'rate limit not exceeded', c.text);
  },
);

const nfacctSpec = spec([['nfacct-name', 'nfacct-name', 1]], (_opts, c) =>
  assumed('nfacct', true, 'nfacct only counts', c.text),
);

const policySpec = spec(
  [
    ['dir', 'dir', 1],
    ['pol', 'pol', 1],
    ['strict', 'strict', 0],
    ['reqid', 'reqid', 1],
    ['spi', 'spi', 1],
    ['proto', 'proto', 1],
    ['mode', 'mode', 1],
    ['tunnel-src', 'tunnel-src', 1],
    ['tunnel-dst', 'tunnel-dst', 1],
    ['next', 'next', 0],
  ],
  guarded('policy', (opts, c) => {
    const pol = opts.find((o) => o.name === 'pol');
    if (pol === undefined) fail('expects --pol');
    const none = arg(pol) === 'none';
    return assumed('policy', none, 'no IPsec policy applies to the packet', c.text);
  }),
);

const rpfilterSpec = spec(
  [
    ['loose', 'loose', 0],
    ['validmark', 'validmark', 0],
    ['accept-local', 'accept-local', 0],
    ['invert', 'invert', 0],
  ],
  (opts, c): RpfilterMatch => {
    const has = (n: string): boolean => opts.some((o) => o.name === n);
    return {
      kind: 'rpfilter',
      loose: has('loose'),
      validMark: has('validmark'),
      acceptLocal: has('accept-local'),
      invert: has('invert'),
      text: c.text,
    };
  },
);

const ownerSpec = spec(
  [
    ['uid-owner', 'uid-owner', 1],
    ['gid-owner', 'gid-owner', 1],
    ['socket-exists', 'socket-exists', 0],
    ['suppl-groups', 'suppl-groups', 0],
  ],
  guarded('owner', (opts, c): OwnerMatch => {
    let uid: Neg<PortRange> | undefined;
    let gid: Neg<PortRange> | undefined;
    let socketExists: Flag | undefined;
    let supplGroups = false;
    for (const o of opts) {
      if (o.name === 'uid-owner') uid = { value: parseNumRange(arg(o), '-'), negated: o.negated };
      else if (o.name === 'gid-owner') gid = { value: parseNumRange(arg(o), '-'), negated: o.negated };
      else if (o.name === 'socket-exists') socketExists = { negated: o.negated };
      else supplGroups = true;
    }
    return { kind: 'owner', uid, gid, socketExists, supplGroups, text: c.text };
  }),
);

const socketSpec = spec(
  [
    ['transparent', 'transparent', 0],
    ['nowildcard', 'nowildcard', 0],
    ['restore-skmark', 'restore-skmark', 0],
  ],
  (opts, c): SocketMatch => {
    const has = (n: string): boolean => opts.some((o) => o.name === n);
    return {
      kind: 'socket',
      transparent: has('transparent'),
      nowildcard: has('nowildcard'),
      restoreSkmark: has('restore-skmark'),
      text: c.text,
    };
  },
);

const lengthSpec = spec(
  [['length', 'length', 1]],
  guarded('length', (opts, c): LengthMatch => {
    const o = opts[0];
    if (o === undefined) fail('expects --length');
    return { kind: 'length', negated: o.negated, range: parsePortRange(arg(o)), text: c.text };
  }),
);

function ttlSpec(prefix: 'ttl' | 'hl'): ExtensionSpec<Match> {
  return spec(
    [
      [`${prefix}-eq`, 'eq', 1],
      [`${prefix}-lt`, 'lt', 1],
      [`${prefix}-gt`, 'gt', 1],
    ],
    guarded(prefix, (opts, c): TtlMatch => {
      const o = opts[0];
      if (o === undefined || opts.length > 1) fail(`expects one --${prefix}-eq|lt|gt`);
      return {
        kind: 'ttl',
        op: o.name as 'eq' | 'lt' | 'gt',
        negated: o.negated,
        value: parseUint(arg(o), 255),
        text: c.text,
      };
    }),
  );
}

const pkttypeSpec = spec(
  [['pkt-type', 'pkt-type', 1]],
  guarded('pkttype', (opts, c): PkttypeMatch => {
    const o = opts[0];
    if (o === undefined) fail('expects --pkt-type');
    const t = arg(o).toLowerCase();
    const type: PktType | undefined =
      t === 'unicast' || t === 'host'
        ? 'unicast'
        : t === 'broadcast' || t === 'multicast' || t === 'otherhost'
          ? t
          : undefined;
    if (type === undefined) fail(`packet type ${t} is not simulated`);
    return { kind: 'pkttype', negated: o.negated, type, text: c.text };
  }),
);

const commentSpec = spec([['comment', 'comment', 1]], (opts, c): CommentMatch => ({
  kind: 'comment',
  comment: opts[0]?.args[0] ?? '',
  text: c.text,
}));

const multiportSpec = spec(
  [
    ['sports', 'sports', 1],
    ['source-ports', 'sports', 1],
    ['dports', 'dports', 1],
    ['destination-ports', 'dports', 1],
    ['ports', 'ports', 1],
  ],
  guarded('multiport', (opts, c): MultiportMatch => {
    const o = opts[0];
    if (o === undefined || opts.length > 1) fail('expects exactly one of --sports, --dports, --ports');
    const ranges = arg(o)
      .split(',')
      .map((p) => parsePortRange(p));
    const which = o.name === 'sports' ? 'src' : o.name === 'dports' ? 'dst' : 'either';
    return { kind: 'multiport', which, negated: o.negated, ranges, text: c.text };
  }),
);

const V4_ONLY: ReadonlyMap<string, ExtensionSpec<Match>> = new Map([
  ['icmp', icmpSpec(4)],
  ['ttl', ttlSpec('ttl')],
]);

const V6_ONLY: ReadonlyMap<string, ExtensionSpec<Match>> = new Map([
  ['icmp6', icmpSpec(6)],
  ['hl', ttlSpec('hl')],
]);

const COMMON: ReadonlyMap<string, ExtensionSpec<Match>> = new Map<string, ExtensionSpec<Match>>([
  ['tcp', portsSpec('tcp')],
  ['udp', portsSpec('udp')],
  ['sctp', portsSpec('sctp')],
  ['multiport', multiportSpec],
  ['comment', commentSpec],
  ['mark', markSpec('mark')],
  ['connmark', markSpec('connmark')],
  ['conntrack', conntrackSpec],
  ['state', stateSpec],
  ['addrtype', addrtypeSpec],
  ['set', setSpec],
  ['statistic', statisticSpec],
  ['physdev', physdevSpec],
  ['iprange', iprangeSpec],
  ['mac', macSpec],
  ['limit', limitSpec],
  ['hashlimit', hashlimitSpec],
  ['nfacct', nfacctSpec],
  ['policy', policySpec],
  ['rpfilter', rpfilterSpec],
  ['owner', ownerSpec],
  ['socket', socketSpec],
  ['length', lengthSpec],
  ['pkttype', pkttypeSpec],
]);

/** The match extension `name` for `family`, or `undefined` when skoop does not know it. */
export function matchExtension(name: string, family: Family): ExtensionSpec<Match> | undefined {
  return COMMON.get(name) ?? (family === 4 ? V4_ONLY : V6_ONLY).get(name);
}

/** The match module `-p NAME` loads implicitly for its options (`-p tcp --dport 80`). */
export function implicitModule(proto: number, family: Family): string | undefined {
  switch (proto) {
    case 6:
      return 'tcp';
    case 17:
      return 'udp';
    case 132:
      return 'sctp';
    case 1:
      return family === 4 ? 'icmp' : undefined;
    case 58:
      return family === 6 ? 'icmp6' : undefined;
    default:
      return undefined;
  }
}

/** Builds the unsupported marker for a module skoop does not know. */
export function unknownModule(module: string, text: string): UnsupportedMatch {
  return unsupported(module, `match module ${module} is not simulated`, text);
}

/** Builds an unsupported marker with an explicit reason. */
export function unsupportedMatch(module: string, reason: string, text: string): UnsupportedMatch {
  return unsupported(module, reason, text);
}

/** Builds a `-s`/`-d` match from a comma-separated operand; `undefined` when an address is invalid. */
export function compileAddr(
  dir: 'src' | 'dst',
  negated: boolean,
  operand: string,
  family: Family,
  text: string,
): AddrMatch | undefined {
  const nets: AddrNet[] = [];
  for (const part of operand.split(',')) {
    const n = parseAddrNet(part, family);
    if (n === undefined) return undefined;
    nets.push(n);
  }
  return { kind: 'addr', dir, negated, nets, text };
}
