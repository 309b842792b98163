import { type Family, type Protocol, protocolNumberOf } from './packet.js';
import type { IpsetMatcher, IpsetPart, IpsetQuery } from './ipset-query.js';
import { familyOf, ipToBigInt, isIp } from './ip.js';
import { NetstackParseError } from './parse-error.js';

/** The set types skoop simulates; any other type is kept but answers lookups with `undefined`. */
export const SUPPORTED_IPSET_TYPES = [
  'hash:ip',
  'hash:net',
  'hash:ip,port',
  'hash:net,port',
  'hash:ip,port,ip',
  'hash:ip,port,net',
  'hash:net,iface',
  'hash:mac',
  'bitmap:port',
  'bitmap:ip',
  'list:set',
] as const;

/** One of {@link SUPPORTED_IPSET_TYPES}. */
export type SupportedIpsetType = (typeof SUPPORTED_IPSET_TYPES)[number];

/** The kind of one dimension of a set type: `hash:ip,port,net` is `ip`, `port`, `net`. */
export type IpsetDimension = 'ip' | 'net' | 'port' | 'iface' | 'mac' | 'setname';

/** One `add` line of `ipset save`, as written plus what skoop needs to match it. */
export interface IpsetEntry {
  /** The element exactly as printed (`10.96.0.1,tcp:443`). */
  readonly element: string;
  /** 1-based line in the `ipsets` Dump field. */
  readonly line: number;
  /** The `nomatch` flag: a hit on this entry means "not in the set" (ipset(8), "nomatch"). */
  readonly nomatch: boolean;
  /** The `wildcard` flag of `hash:net,iface` entries: the interface name is a prefix. */
  readonly wildcard: boolean;
  readonly comment?: string;
  /** Seconds left when captured; the entry is still counted as present. */
  readonly timeout?: number;
}

/** One set from `ipset save`: its `create` line and its `add` lines. */
export interface Ipset {
  readonly name: string;
  /** The type exactly as printed (`hash:ip,port`). */
  readonly type: string;
  /** Whether skoop can answer membership questions for this type. */
  readonly supported: boolean;
  /** Address family for hash and bitmap:ip sets; `undefined` for family-less types (bitmap:port, list:set, hash:mac). */
  readonly family: Family | undefined;
  /** The dimensions of the type, in element order (empty for unsupported types). */
  readonly dimensions: readonly IpsetDimension[];
  /** The `create` options after the type, keyword → value (`true` for flags such as `counters`). */
  readonly options: Readonly<Record<string, string | true>>;
  readonly entries: readonly IpsetEntry[];
  /** 1-based line of the `create` line. */
  readonly line: number;
}

/** A set skoop keeps but cannot evaluate, with the reason shown to the user. */
export interface UnsupportedIpset {
  readonly name: string;
  readonly type: string;
  readonly reason: string;
}

/** Every set of one network namespace, as read from `ipset save` (Dump field `ipsets`). */
export interface IpsetState {
  /** Sets by name, in the order `ipset save` printed them. */
  readonly sets: ReadonlyMap<string, Ipset>;
  /** Sets whose type skoop does not simulate: lookups on them return `undefined`. */
  readonly unsupportedSets: readonly UnsupportedIpset[];
}

/** The answer to one membership question, with the entry that decided it (for evidence). */
export interface IpsetLookup {
  /** `true`/`false` as the kernel would answer; `undefined` when the set is unknown or not simulated. */
  readonly result: boolean | undefined;
  /** The set whose entry decided (a member set for `list:set`). */
  readonly set?: string;
  /** The deciding entry: a member, or a `nomatch` entry that excluded the tuple. */
  readonly entry?: IpsetEntry;
  /** Why the answer is `undefined`. */
  readonly reason?: string;
}

const FIELD = 'ipsets';

const DIMENSIONS: Readonly<Record<SupportedIpsetType, readonly IpsetDimension[]>> = {
  'hash:ip': ['ip'],
  'hash:net': ['net'],
  'hash:ip,port': ['ip', 'port'],
  'hash:net,port': ['net', 'port'],
  'hash:ip,port,ip': ['ip', 'port', 'ip'],
  'hash:ip,port,net': ['ip', 'port', 'net'],
  'hash:net,iface': ['net', 'iface'],
  'hash:mac': ['mac'],
  'bitmap:port': ['port'],
  'bitmap:ip': ['ip'],
  'list:set': ['setname'],
};

/** Create options that take a value; every other create keyword is a flag. */
const CREATE_VALUE_OPTIONS = new Set([
  'family',
  'hashsize',
  'maxelem',
  'timeout',
  'bucketsize',
  'initval',
  'netmask',
  'bitmask',
  'markmask',
  'range',
  'size',
  'probes',
  'resize',
]);

/** Add options that take a value. */
const ADD_VALUE_OPTIONS = new Set([
  'timeout',
  'packets',
  'bytes',
  'comment',
  'skbmark',
  'skbprio',
  'skbqueue',
  'before',
  'after',
]);
/** Add options that are flags. */
const ADD_FLAG_OPTIONS = new Set(['nomatch', 'wildcard']);

/** IP protocol numbers of the protocol names ipset prints (`getprotobyname`, /etc/protocols). */
const PROTO_NUMBERS: Readonly<Record<string, number>> = {
  icmp: 1,
  tcp: 6,
  udp: 17,
  'ipv6-icmp': 58,
  icmpv6: 58,
  sctp: 132,
  udplite: 136,
};

/**
 * ICMP type/code names as `ipset save` prints them, captured by adding every type/code to a set
 * (ipset's lib/icmp.c table).
 */
const ICMP_NAMES: Readonly<Record<string, readonly [number, number]>> = {
  'echo-reply': [0, 0],
  pong: [0, 0],
  'network-unreachable': [3, 0],
  'host-unreachable': [3, 1],
  'protocol-unreachable': [3, 2],
  'port-unreachable': [3, 3],
  'fragmentation-needed': [3, 4],
  'source-route-failed': [3, 5],
  'network-unknown': [3, 6],
  'host-unknown': [3, 7],
  'network-prohibited': [3, 9],
  'host-prohibited': [3, 10],
  'TOS-network-unreachable': [3, 11],
  'TOS-host-unreachable': [3, 12],
  'communication-prohibited': [3, 13],
  'host-precedence-violation': [3, 14],
  'precedence-cutoff': [3, 15],
  'source-quench': [4, 0],
  'network-redirect': [5, 0],
  'host-redirect': [5, 1],
  'TOS-network-redirect': [5, 2],
  'TOS-host-redirect': [5, 3],
  'echo-request': [8, 0],
  ping: [8, 0],
  'router-advertisement': [9, 0],
  'router-solicitation': [10, 0],
  'ttl-zero-during-transit': [11, 0],
  'ttl-zero-during-reassembly': [11, 1],
  'ip-header-bad': [12, 0],
  'required-option-missing': [12, 1],
  'timestamp-request': [13, 0],
  'timestamp-reply': [14, 0],
  'address-mask-request': [17, 0],
  'address-mask-reply': [18, 0],
};

/** ICMPv6 type/code names as `ipset save` prints them (ipset's lib/icmpv6.c table). */
const ICMPV6_NAMES: Readonly<Record<string, readonly [number, number]>> = {
  'no-route': [1, 0],
  'communication-prohibited': [1, 1],
  'address-unreachable': [1, 3],
  'port-unreachable': [1, 4],
  'packet-too-big': [2, 0],
  'ttl-zero-during-transit': [3, 0],
  'ttl-zero-during-reassembly': [3, 1],
  'bad-header': [4, 0],
  'unknown-header-type': [4, 1],
  'unknown-option': [4, 2],
  'echo-request': [128, 0],
  ping: [128, 0],
  'echo-reply': [129, 0],
  pong: [129, 0],
  'router-solicitation': [133, 0],
  'router-advertisement': [134, 0],
  'neighbour-solicitation': [135, 0],
  'neighbor-solicitation': [135, 0],
  'neighbour-advertisement': [136, 0],
  'neighbor-advertisement': [136, 0],
  redirect: [137, 0],
};

function isSupportedType(type: string): type is SupportedIpsetType {
  return (SUPPORTED_IPSET_TYPES as readonly string[]).includes(type);
}

/** Splits a line on blanks, keeping `"…"` (ipset comments, which cannot contain `"`) as one token. */
function tokenize(text: string, line: number): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new NetstackParseError(FIELD, 'unterminated quoted string', line);
      tokens.push(text.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < text.length && text[j] !== ' ' && text[j] !== '\t') j++;
    tokens.push(text.slice(i, j));
    i = j;
  }
  return tokens;
}

/**
 * Reads `ipset save` output (Dump field `ipsets`): `create NAME TYPE [options]` and
 * `add NAME ELEMENT [options]` lines. Unknown set types are kept and listed in `unsupportedSets`.
 *
 * @remarks The kernel dumps `list:set` sets after all others so that a restore can resolve the
 * member names (ip_set_core.c, `ip_set_dump_start`); members are resolved after the whole text is
 * read, and a `list:set` cannot contain another `list:set` (ipset refuses it).
 */
export function parseIpsetSave(text: string): IpsetState {
  const sets = new Map<string, { set: Ipset; entries: IpsetEntry[] }>();
  const unsupportedSets: UnsupportedIpset[] = [];
  const lines = text.split('\n');
  for (let idx = 0; idx < lines.length; idx++) {
    const lineNo = idx + 1;
    const raw = (lines[idx] ?? '').trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const tokens = tokenize(raw, lineNo);
    const [verb, name] = tokens;
    if (verb === 'create') {
      const type = tokens[2];
      if (name === undefined || type === undefined)
        throw new NetstackParseError(FIELD, 'create line needs a set name and a type', lineNo);
      if (sets.has(name)) throw new NetstackParseError(FIELD, `set ${name} is created twice`, lineNo);
      const set = parseCreate(name, type, tokens.slice(3), lineNo);
      if (!set.supported)
        unsupportedSets.push({ name, type, reason: `set type ${type} is not simulated by skoop` });
      const entries: IpsetEntry[] = [];
      sets.set(name, { set: { ...set, entries }, entries });
    } else if (verb === 'add') {
      const element = tokens[2];
      if (name === undefined || element === undefined)
        throw new NetstackParseError(FIELD, 'add line needs a set name and an element', lineNo);
      const target = sets.get(name);
      if (target === undefined)
        throw new NetstackParseError(FIELD, `add to set ${name} before its create line`, lineNo);
      target.entries.push(parseAdd(target.set, element, tokens.slice(3), lineNo));
    } else {
      throw new NetstackParseError(FIELD, `expected a create or add line, got "${verb ?? ''}"`, lineNo);
    }
  }
  const result = new Map<string, Ipset>();
  for (const [name, { set }] of sets) result.set(name, set);
  for (const set of result.values()) {
    if (set.type !== 'list:set') continue;
    for (const entry of set.entries) {
      const member = result.get(entry.element);
      if (member === undefined)
        throw new NetstackParseError(
          FIELD,
          `list:set ${set.name} names unknown set ${entry.element}`,
          entry.line,
        );
      if (member.type === 'list:set')
        throw new NetstackParseError(
          FIELD,
          `list:set ${set.name} cannot contain list:set ${entry.element}`,
          entry.line,
        );
    }
  }
  return { sets: result, unsupportedSets };
}

function parseCreate(
  name: string,
  type: string,
  rest: readonly string[],
  line: number,
): Omit<Ipset, 'entries'> {
  const options: Record<string, string | true> = {};
  for (let i = 0; i < rest.length; i++) {
    const key = rest[i] as string;
    if (CREATE_VALUE_OPTIONS.has(key)) {
      const value = rest[i + 1];
      if (value === undefined)
        throw new NetstackParseError(FIELD, `create option ${key} needs a value`, line);
      options[key] = value;
      i++;
    } else {
      options[key] = true;
    }
  }
  const supported = isSupportedType(type);
  let family: Family | undefined;
  if (type.startsWith('hash:') && type !== 'hash:mac') {
    const fam = options['family'] ?? 'inet';
    if (fam !== 'inet' && fam !== 'inet6')
      throw new NetstackParseError(FIELD, `unknown family ${String(fam)}`, line);
    family = fam === 'inet' ? 4 : 6;
  } else if (type === 'bitmap:ip') {
    family = 4;
  }
  return { name, type, supported, family, dimensions: supported ? DIMENSIONS[type] : [], options, line };
}

function parseAdd(
  set: Omit<Ipset, 'entries'>,
  element: string,
  rest: readonly string[],
  line: number,
): IpsetEntry {
  let nomatch = false;
  let wildcard = false;
  let comment: string | undefined;
  let timeout: number | undefined;
  for (let i = 0; i < rest.length; i++) {
    const key = rest[i] as string;
    if (ADD_FLAG_OPTIONS.has(key)) {
      if (key === 'nomatch') nomatch = true;
      else wildcard = true;
    } else if (ADD_VALUE_OPTIONS.has(key)) {
      const value = rest[i + 1];
      if (value === undefined) throw new NetstackParseError(FIELD, `add option ${key} needs a value`, line);
      if (key === 'comment') comment = value;
      if (key === 'timeout') {
        timeout = Number(value);
        if (!Number.isInteger(timeout)) throw new NetstackParseError(FIELD, `bad timeout ${value}`, line);
      }
      i++;
    } else {
      throw new NetstackParseError(FIELD, `unknown add option "${key}" for set ${set.name}`, line);
    }
  }
  const entry: IpsetEntry = {
    element,
    line,
    nomatch,
    wildcard,
    ...(comment !== undefined ? { comment } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
  };
  if (set.supported) decodeElement(set, entry);
  return entry;
}

/** A decoded dimension value of one element. */
type DimValue =
  | { readonly kind: 'ip'; readonly lo: bigint; readonly hi: bigint }
  | { readonly kind: 'net'; readonly addr: bigint; readonly len: number }
  | { readonly kind: 'port'; readonly proto: number | string; readonly from: number; readonly to: number }
  | { readonly kind: 'iface'; readonly name: string; readonly physdev: boolean }
  | { readonly kind: 'mac'; readonly mac: string }
  | { readonly kind: 'setname'; readonly name: string };

/** One decoded element: an ip/net dimension may expand to several CIDRs (ranges). */
interface Decoded {
  readonly entry: IpsetEntry;
  readonly dims: readonly DimValue[];
}

function maxBits(family: Family): number {
  return family === 4 ? 32 : 128;
}

function parseAddress(
  text: string,
  family: Family | undefined,
  line: number,
): { value: bigint; family: Family } {
  if (!isIp(text)) throw new NetstackParseError(FIELD, `bad address ${text}`, line);
  const fam = familyOf(text);
  if (family !== undefined && fam !== family)
    throw new NetstackParseError(FIELD, `address ${text} does not match the set family`, line);
  return { value: ipToBigInt(text), family: fam };
}

function maskOf(len: number, family: Family): bigint {
  const bits = BigInt(maxBits(family));
  const host = (1n << (bits - BigInt(len))) - 1n;
  return ((1n << bits) - 1n) ^ host;
}

/** Splits an inclusive address range into the CIDRs ipset would store (as `ipset add` does). */
function rangeToCidrs(lo: bigint, hi: bigint, family: Family): { addr: bigint; len: number }[] {
  const bits = maxBits(family);
  const out: { addr: bigint; len: number }[] = [];
  let cur = lo;
  while (cur <= hi) {
    let size = 0;
    while (size < bits) {
      const block = 1n << BigInt(size + 1);
      if (cur % block !== 0n || cur + block - 1n > hi) break;
      size++;
    }
    out.push({ addr: cur, len: bits - size });
    cur += 1n << BigInt(size);
  }
  return out;
}

function parseIpDim(text: string, family: Family | undefined, line: number): DimValue {
  const dash = text.indexOf('-');
  if (dash > 0) {
    const lo = parseAddress(text.slice(0, dash), family, line);
    const hi = parseAddress(text.slice(dash + 1), family, line);
    if (hi.value < lo.value) throw new NetstackParseError(FIELD, `empty range ${text}`, line);
    return { kind: 'ip', lo: lo.value, hi: hi.value };
  }
  const slash = text.indexOf('/');
  if (slash > 0) {
    const base = parseAddress(text.slice(0, slash), family, line);
    const len = Number(text.slice(slash + 1));
    if (!Number.isInteger(len) || len < 0 || len > maxBits(base.family))
      throw new NetstackParseError(FIELD, `bad prefix length in ${text}`, line);
    const mask = maskOf(len, base.family);
    const lo = base.value & mask;
    return { kind: 'ip', lo, hi: lo | (mask ^ ((1n << BigInt(maxBits(base.family))) - 1n)) };
  }
  const a = parseAddress(text, family, line);
  return { kind: 'ip', lo: a.value, hi: a.value };
}

function parseNetDim(text: string, family: Family | undefined, line: number): DimValue[] {
  const dash = text.indexOf('-');
  if (dash > 0) {
    const lo = parseAddress(text.slice(0, dash), family, line);
    const hi = parseAddress(text.slice(dash + 1), family, line);
    if (hi.value < lo.value) throw new NetstackParseError(FIELD, `empty range ${text}`, line);
    return rangeToCidrs(lo.value, hi.value, lo.family).map((c) => ({
      kind: 'net',
      addr: c.addr,
      len: c.len,
    }));
  }
  const slash = text.indexOf('/');
  const base = parseAddress(slash > 0 ? text.slice(0, slash) : text, family, line);
  const len = slash > 0 ? Number(text.slice(slash + 1)) : maxBits(base.family);
  if (!Number.isInteger(len) || len < 0 || len > maxBits(base.family))
    throw new NetstackParseError(FIELD, `bad prefix length in ${text}`, line);
  return [{ kind: 'net', addr: base.value & maskOf(len, base.family), len }];
}

function parsePortNumber(text: string, line: number): number {
  const n = Number(text);
  if (text === '' || !Number.isInteger(n) || n < 0 || n > 65535)
    throw new NetstackParseError(FIELD, `bad port ${text}`, line);
  return n;
}

function parseIcmp(
  text: string,
  names: Readonly<Record<string, readonly [number, number]>>,
  line: number,
): number {
  const named = names[text];
  if (named !== undefined) return (named[0] << 8) | named[1];
  const slash = text.indexOf('/');
  if (slash < 0) throw new NetstackParseError(FIELD, `bad ICMP type/code ${text}`, line);
  const type = Number(text.slice(0, slash));
  const code = Number(text.slice(slash + 1));
  if (!Number.isInteger(type) || !Number.isInteger(code) || type < 0 || type > 255 || code < 0 || code > 255)
    throw new NetstackParseError(FIELD, `bad ICMP type/code ${text}`, line);
  return (type << 8) | code;
}

function parsePortDim(text: string, line: number): DimValue {
  const colon = text.indexOf(':');
  const protoText = colon < 0 ? 'tcp' : text.slice(0, colon);
  const portText = colon < 0 ? text : text.slice(colon + 1);
  const numeric = Number(protoText);
  const proto: number | string =
    Number.isInteger(numeric) && protoText !== '' ? numeric : (PROTO_NUMBERS[protoText] ?? protoText);
  if (proto === 1 || proto === 58) {
    const value = parseIcmp(portText, proto === 1 ? ICMP_NAMES : ICMPV6_NAMES, line);
    return { kind: 'port', proto, from: value, to: value };
  }
  const dash = portText.indexOf('-');
  const from = parsePortNumber(dash < 0 ? portText : portText.slice(0, dash), line);
  const to = dash < 0 ? from : parsePortNumber(portText.slice(dash + 1), line);
  if (to < from) throw new NetstackParseError(FIELD, `empty port range ${portText}`, line);
  return { kind: 'port', proto, from, to };
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Decodes an element into its dimensions, throwing on malformed input; results are cached per entry. */
const decodedCache = new WeakMap<IpsetEntry, readonly Decoded[]>();

function decodeElement(set: Omit<Ipset, 'entries'>, entry: IpsetEntry): readonly Decoded[] {
  const cached = decodedCache.get(entry);
  if (cached !== undefined) return cached;
  const { line } = entry;
  const dims = set.dimensions;
  const parts = dims.length === 1 ? [entry.element] : entry.element.split(',');
  if (parts.length !== dims.length)
    throw new NetstackParseError(FIELD, `element ${entry.element} does not fit type ${set.type}`, line);
  let combos: DimValue[][] = [[]];
  dims.forEach((dim, i) => {
    const text = parts[i] as string;
    let values: DimValue[];
    switch (dim) {
      case 'ip':
        values = [parseIpDim(text, set.family, line)];
        break;
      case 'net':
        values = parseNetDim(text, set.family, line);
        break;
      case 'port':
        values = [parsePortDim(text, line)];
        break;
      case 'iface': {
        const physdev = text.startsWith('physdev:');
        const name = physdev ? text.slice('physdev:'.length) : text;
        if (name === '') throw new NetstackParseError(FIELD, `empty interface in ${entry.element}`, line);
        values = [{ kind: 'iface', name, physdev }];
        break;
      }
      case 'mac':
        if (!MAC_RE.test(text)) throw new NetstackParseError(FIELD, `bad MAC address ${text}`, line);
        values = [{ kind: 'mac', mac: text.toLowerCase() }];
        break;
      case 'setname':
        values = [{ kind: 'setname', name: text }];
        break;
    }
    combos = combos.flatMap((c) => values.map((v) => [...c, v]));
  });
  const decoded = combos.map((d) => ({ entry, dims: d }));
  decodedCache.set(entry, decoded);
  return decoded;
}

/** Per-set lookup index, built once per set. */
interface HashIndex {
  readonly kind: 'hash';
  /** Net-dimension prefix lengths present, longest first; `[-1]` for types without a net dimension. */
  readonly lengths: readonly number[];
  /** By net length: exact keys → candidates, plus entries with ranges that need a scan. */
  readonly buckets: ReadonlyMap<
    number,
    { readonly exact: Map<string, Decoded[]>; readonly ranged: Decoded[] }
  >;
  /** Mask applied to the first ip dimension (create option `netmask` or `bitmask`). */
  readonly ipMask: bigint | undefined;
}

interface PortIndex {
  readonly kind: 'ports';
  readonly ports: ReadonlyMap<number, IpsetEntry>;
}

interface ListIndex {
  readonly kind: 'list';
}

interface NoIndex {
  readonly kind: 'none';
}

type SetIndex = HashIndex | PortIndex | ListIndex | NoIndex;

const indexCache = new WeakMap<Ipset, SetIndex>();

function setMask(set: Ipset): bigint | undefined {
  const fam = set.family;
  if (fam === undefined) return undefined;
  const netmask = set.options['netmask'];
  if (typeof netmask === 'string') {
    const len = Number(netmask);
    if (Number.isInteger(len) && len >= 0 && len <= maxBits(fam)) return maskOf(len, fam);
  }
  const bitmask = set.options['bitmask'];
  if (typeof bitmask === 'string' && isIp(bitmask)) return ipToBigInt(bitmask);
  return undefined;
}

function keyPart(v: DimValue): string {
  switch (v.kind) {
    case 'ip':
      return v.lo.toString(16);
    case 'net':
      return v.addr.toString(16);
    case 'port':
      return `${String(v.proto)}:${v.from}`;
    case 'mac':
      return v.mac;
    case 'iface':
    case 'setname':
      return '';
  }
}

function isExact(d: Decoded): boolean {
  return d.dims.every((v) => (v.kind === 'ip' ? v.lo === v.hi : v.kind === 'port' ? v.from === v.to : true));
}

function buildIndex(set: Ipset): SetIndex {
  const cached = indexCache.get(set);
  if (cached !== undefined) return cached;
  let index: SetIndex;
  if (!set.supported) index = { kind: 'none' };
  else if (set.type === 'list:set') index = { kind: 'list' };
  else if (set.type === 'bitmap:port') {
    const ports = new Map<number, IpsetEntry>();
    for (const entry of set.entries) {
      for (const d of decodeElement(set, entry)) {
        const p = d.dims[0];
        if (p?.kind !== 'port') continue;
        for (let n = p.from; n <= p.to; n++) if (!ports.has(n)) ports.set(n, entry);
      }
    }
    index = { kind: 'ports', ports };
  } else {
    const netDim = set.dimensions.indexOf('net');
    const buckets = new Map<number, { exact: Map<string, Decoded[]>; ranged: Decoded[] }>();
    for (const entry of set.entries) {
      for (const d of decodeElement(set, entry)) {
        const nd = netDim >= 0 ? d.dims[netDim] : undefined;
        const len = nd?.kind === 'net' ? nd.len : -1;
        let bucket = buckets.get(len);
        if (bucket === undefined) {
          bucket = { exact: new Map(), ranged: [] };
          buckets.set(len, bucket);
        }
        if (isExact(d)) {
          const key = d.dims.map(keyPart).join('|');
          const list = bucket.exact.get(key);
          if (list === undefined) bucket.exact.set(key, [d]);
          else list.push(d);
        } else {
          bucket.ranged.push(d);
        }
      }
    }
    const lengths = [...buckets.keys()].sort((a, b) => b - a);
    index = { kind: 'hash', lengths, buckets, ipMask: setMask(set) };
  }
  indexCache.set(set, index);
  return index;
}

function protoNumber(protocol: Protocol, family: Family | undefined): number {
  return protocolNumberOf(protocol, family ?? 4);
}

/** The query value of one dimension, or `undefined` when the part cannot fill it. */
type QueryValue =
  | { readonly kind: 'ip'; readonly value: bigint }
  | { readonly kind: 'port'; readonly proto: number; readonly port: number }
  | { readonly kind: 'iface'; readonly name: string };

function queryFamily(parts: readonly IpsetPart[]): Family | undefined {
  for (const p of parts) if (p.kind === 'ip') return familyOf(p.ip);
  return undefined;
}

function dimMatches(stored: DimValue, q: QueryValue): boolean {
  switch (stored.kind) {
    case 'ip':
      return q.kind === 'ip' && q.value >= stored.lo && q.value <= stored.hi;
    case 'net':
      return q.kind === 'ip';
    case 'port':
      return q.kind === 'port' && stored.proto === q.proto && q.port >= stored.from && q.port <= stored.to;
    case 'iface':
      return q.kind === 'iface';
    case 'mac':
    case 'setname':
      return false;
  }
}

function ifaceMatches(d: Decoded, q: QueryValue | undefined): boolean {
  const stored = d.dims.find((v) => v.kind === 'iface');
  if (stored === undefined || stored.kind !== 'iface') return true;
  if (q === undefined || q.kind !== 'iface' || stored.physdev) return false;
  return d.entry.wildcard ? q.name.startsWith(stored.name) : q.name === stored.name;
}

function lookupHash(set: Ipset, index: HashIndex, values: readonly QueryValue[]): IpsetLookup {
  const fam = set.family ?? 4;
  const netDim = set.dimensions.indexOf('net');
  const ifaceDim = set.dimensions.indexOf('iface');
  const firstIp = set.dimensions.indexOf('ip');
  const q = values.map((v, i) =>
    i === firstIp && v.kind === 'ip' && index.ipMask !== undefined
      ? { kind: 'ip' as const, value: v.value & index.ipMask }
      : v,
  );
  const ifaceQuery = ifaceDim >= 0 ? q[ifaceDim] : undefined;
  for (const len of index.lengths) {
    const bucket = index.buckets.get(len);
    if (bucket === undefined) continue;
    const keyParts = q.map((v, i) => {
      if (i === netDim && v.kind === 'ip') return (len === 0 ? 0n : v.value & maskOf(len, fam)).toString(16);
      if (v.kind === 'ip') return v.value.toString(16);
      if (v.kind === 'port') return `${v.proto}:${v.port}`;
      return '';
    });
    const candidates = bucket.exact.get(keyParts.join('|')) ?? [];
    let sameNet = candidates.length > 0;
    for (const d of candidates) {
      if (ifaceMatches(d, ifaceQuery)) return { result: !d.entry.nomatch, set: set.name, entry: d.entry };
    }
    for (const d of bucket.ranged) {
      const hit = d.dims.every((stored, i) => {
        const v = q[i];
        if (v === undefined) return false;
        if (stored.kind === 'net')
          return v.kind === 'ip' && (v.value & maskOf(stored.len, fam)) === stored.addr;
        if (stored.kind === 'iface') return true;
        return dimMatches(stored, v);
      });
      if (!hit) continue;
      sameNet = true;
      if (ifaceMatches(d, ifaceQuery)) return { result: !d.entry.nomatch, set: set.name, entry: d.entry };
    }
    if (ifaceDim >= 0 && sameNet) break;
  }
  return { result: false, set: set.name };
}

function toQueryValues(
  set: Ipset,
  parts: readonly IpsetPart[],
  family: Family | undefined,
): QueryValue[] | undefined {
  const out: QueryValue[] = [];
  for (let i = 0; i < set.dimensions.length; i++) {
    const dim = set.dimensions[i];
    const part = parts[i];
    if (part === undefined) return undefined;
    if (dim === 'ip' || dim === 'net') {
      if (part.kind !== 'ip') return undefined;
      out.push({ kind: 'ip', value: ipToBigInt(part.ip) });
    } else if (dim === 'port') {
      if (part.kind !== 'port') return undefined;
      out.push({ kind: 'port', proto: protoNumber(part.protocol, family), port: part.port });
    } else if (dim === 'iface') {
      if (part.kind !== 'iface') return undefined;
      out.push({ kind: 'iface', name: part.name });
    } else {
      return undefined;
    }
  }
  return out;
}

function lookupSet(state: IpsetState, set: Ipset, query: IpsetQuery): IpsetLookup {
  const index = buildIndex(set);
  if (index.kind === 'none')
    return { result: undefined, set: set.name, reason: `set type ${set.type} is not simulated by skoop` };
  if (index.kind === 'list') {
    let unknown: IpsetLookup | undefined;
    for (const entry of set.entries) {
      const member = state.sets.get(entry.element);
      if (member === undefined) continue;
      const r = lookupSet(state, member, query);
      if (r.result === true) return r;
      if (r.result === undefined && unknown === undefined) unknown = r;
    }
    return unknown ?? { result: false, set: set.name };
  }
  if (query.parts.length < set.dimensions.length) return { result: false, set: set.name };
  const fam = queryFamily(query.parts);
  if (set.family !== undefined && fam !== undefined && fam !== set.family)
    return { result: false, set: set.name };
  if (index.kind === 'ports') {
    const part = query.parts[0];
    if (part?.kind !== 'port' || (part.protocol !== 'tcp' && part.protocol !== 'udp'))
      return { result: false, set: set.name };
    const entry = index.ports.get(part.port);
    return entry === undefined ? { result: false, set: set.name } : { result: true, set: set.name, entry };
  }
  const values = toQueryValues(set, query.parts, fam ?? set.family);
  if (values === undefined) return { result: false, set: set.name };
  return lookupHash(set, index, values);
}

/**
 * Answers one `--match-set` question against `state`, with the entry that decided it.
 *
 * @remarks Mirrors the kernel's `ip_set_test` (net/netfilter/ipset/ip_set_core.c): a query with fewer
 * parts than the set has dimensions, or of another address family, does not match. Net dimensions are
 * tried from the longest prefix present to the shortest and the first entry found decides, so a more
 * specific `nomatch` entry excludes its addresses (`mtype_test_cidrs` in ip_set_hash_gen.h). For
 * `hash:net,iface`, finding the network with any interface stops the descent to shorter prefixes
 * (the `multi` flag of `hash_netiface4_data_equal`); `physdev:` entries never match an `iface` part
 * because skoop does not model bridge ports. `bitmap:port` only matches TCP and UDP packets
 * (`ip_set_get_ip_port`). For ICMP, the port part must be `(type << 8) | code`, as
 * `ip_set_get_ip4_port` builds it. A `list:set` matches if any member set matches, in order.
 */
export function lookupIpset(state: IpsetState, query: IpsetQuery): IpsetLookup {
  const set = state.sets.get(query.name);
  if (set === undefined) return { result: undefined, reason: `set ${query.name} does not exist` };
  return lookupSet(state, set, query);
}

/** An {@link IpsetMatcher} over `state`, for the iptables `set` match; indexes are built on first use of each set. */
export function createIpsetMatcher(state: IpsetState): IpsetMatcher {
  return (query) => lookupIpset(state, query).result;
}

/** A one-line description of set `name` for evidence (`hash:net family inet, 4 entries (1 nomatch)`), or `undefined` if absent. */
export function describeIpset(state: IpsetState, name: string): string | undefined {
  const set = state.sets.get(name);
  if (set === undefined) return undefined;
  if (!set.supported)
    return `${set.type}: set type not simulated by skoop (${set.entries.length} entries kept as text)`;
  const nomatch = set.entries.filter((e) => e.nomatch).length;
  const family = set.family === undefined ? '' : ` family ${set.family === 4 ? 'inet' : 'inet6'}`;
  const noun = set.type === 'list:set' ? 'member sets' : 'entries';
  return `${set.type}${family}, ${set.entries.length} ${noun}${nomatch > 0 ? ` (${nomatch} nomatch)` : ''}`;
}
