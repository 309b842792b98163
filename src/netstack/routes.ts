import type { Family } from './packet.js';
import type { Prefix } from './ip.js';
import { familyOf, isIp, normalizeIp, parsePrefix } from './ip.js';
import { NetstackParseError } from './parse-error.js';

/** A route's type (`rtm_type`) as iproute2 names it. */
export type RouteType =
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'anycast'
  | 'multicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'throw'
  | 'nat';

const ROUTE_TYPES: ReadonlySet<string> = new Set<RouteType>([
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
]);

/** One next hop of a multipath route. */
export interface RouteNexthop {
  readonly gateway?: string;
  readonly dev?: string;
  /** ECMP weight, 1 when not given. */
  readonly weight: number;
  /** `onlink`, `linkdown`, `dead`, … */
  readonly flags: readonly string[];
}

/** One route of one routing table, as `ip -j -d route show table all` prints it. */
export interface Route {
  readonly family: Family;
  /** `main`, `local`, `default`, a name from rt_tables, or the table number as a string. */
  readonly table: string;
  readonly type: RouteType;
  readonly dst: Prefix;
  /** Source prefix of an IPv6 source-specific route (`from`). */
  readonly from?: Prefix;
  /** TOS/DSCP selector (0 = any). */
  readonly tos: number;
  readonly dev?: string;
  readonly gateway?: string;
  readonly metric: number;
  /** `global` (universe), `link`, `host`, `site`, `nowhere` or a number. */
  readonly scope: string;
  /** `kernel`, `boot`, `static`, `bird`, … */
  readonly protocol: string;
  readonly prefsrc?: string;
  /** `onlink`, `linkdown`, `dead`, `pervasive`, `offload`, … */
  readonly flags: readonly string[];
  /** Next hops of a multipath route; `dev`/`gateway` are then absent. */
  readonly nexthops?: readonly RouteNexthop[];
  /** IPv6 router preference (`low`, `medium`, `high`). */
  readonly pref?: string;
}

/**
 * DSCP names of iproute2's default `/etc/iproute2/rt_dsfield`; `ip` prints these instead of the
 * number.
 */
const DSFIELD_NAMES: ReadonlyMap<number, string> = new Map([
  [0x28, 'AF11'],
  [0x30, 'AF12'],
  [0x38, 'AF13'],
  [0x48, 'AF21'],
  [0x50, 'AF22'],
  [0x58, 'AF23'],
  [0x68, 'AF31'],
  [0x70, 'AF32'],
  [0x78, 'AF33'],
  [0x88, 'AF41'],
  [0x90, 'AF42'],
  [0x98, 'AF43'],
  [0x20, 'CS1'],
  [0x40, 'CS2'],
  [0x60, 'CS3'],
  [0x80, 'CS4'],
  [0xa0, 'CS5'],
  [0xc0, 'CS6'],
  [0xe0, 'CS7'],
  [0xb8, 'EF'],
]);
const DSFIELD_VALUES: ReadonlyMap<string, number> = new Map(
  [...DSFIELD_NAMES].map(([v, n]) => [n.toLowerCase(), v] as const),
);

/**
 * Reads a TOS/DSCP value as iproute2 prints it (`0x10`, a decimal, or an rt_dsfield name like `AF11`);
 * `undefined` when it is none of those.
 */
export function parseDsfield(text: string): number | undefined {
  const named = DSFIELD_VALUES.get(text.toLowerCase());
  if (named !== undefined) return named;
  if (text === 'default') return 0;
  const n = /^0x[0-9a-f]+$/i.test(text)
    ? parseInt(text.slice(2), 16)
    : /^\d+$/.test(text)
      ? Number(text)
      : NaN;
  return Number.isInteger(n) && n >= 0 && n <= 255 ? n : undefined;
}

/** A TOS/DSCP value as iproute2 prints it (rtnl_dsfield_n2a): an rt_dsfield name or `0x%02x`. */
export function formatDsfield(tos: number): string {
  return DSFIELD_NAMES.get(tos) ?? `0x${tos.toString(16).padStart(2, '0')}`;
}

const TABLE_NUMBERS: ReadonlyMap<string, string> = new Map([
  ['0', 'unspec'],
  ['253', 'default'],
  ['254', 'main'],
  ['255', 'local'],
]);

/** A routing table id in canonical form: the reserved numbers 253/254/255 become their names. */
export function normalizeTable(table: string | number | undefined): string {
  if (table === undefined) return 'main';
  const t = String(table);
  return TABLE_NUMBERS.get(t) ?? t;
}

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function familyHint(r: Json): Family | undefined {
  for (const key of ['gateway', 'prefsrc']) {
    const v = r[key];
    if (typeof v === 'string' && isIp(v)) return familyOf(v);
  }
  const nhs = r['nexthops'];
  if (Array.isArray(nhs)) {
    for (const nh of nhs) {
      if (isObj(nh) && typeof nh['gateway'] === 'string' && isIp(nh['gateway']))
        return familyOf(nh['gateway']);
    }
  }
  // The kernel attaches RTA_PREF to every IPv6 route and never to an IPv4 one.
  if (r['pref'] !== undefined) return 6;
  return undefined;
}

function entryFamily(r: Json, dst: string, fallback: Family): Family {
  if (dst !== 'default') {
    const addr = dst.includes('/') ? dst.slice(0, dst.indexOf('/')) : dst;
    if (isIp(addr)) return familyOf(addr);
  }
  return familyHint(r) ?? fallback;
}

function gatewayOf(o: Json, where: string, field: string): string | undefined {
  const gw = o['gateway'];
  if (gw !== undefined) {
    if (typeof gw !== 'string' || !isIp(gw))
      throw new NetstackParseError(field, `${where}: bad gateway ${JSON.stringify(gw)}`);
    return normalizeIp(gw);
  }
  const via = o['via'];
  if (isObj(via) && typeof via['host'] === 'string' && isIp(via['host'])) return normalizeIp(via['host']);
  return undefined;
}

function flagsOf(o: Json, where: string, field: string): string[] {
  const f = o['flags'];
  if (f === undefined) return [];
  if (!Array.isArray(f) || f.some((x) => typeof x !== 'string')) {
    throw new NetstackParseError(field, `${where}: "flags" is not a list of strings`);
  }
  return f as string[];
}

function set<V>(o: Record<string, unknown>, key: string, v: V | undefined): void {
  if (v !== undefined) o[key] = v;
}

function parsePrefixOrThrow(text: string, family: Family, field: string, where: string): Prefix {
  try {
    const p = parsePrefix(text, family);
    if (p.family !== family) throw new Error('family mismatch');
    return p;
  } catch {
    throw new NetstackParseError(field, `${where}: bad prefix "${text}"`);
  }
}

function parseRoute(r: unknown, i: number, family: Family, field: string): Route | undefined {
  const where = `entry ${i}`;
  if (!isObj(r)) throw new NetstackParseError(field, `${where}: not an object`);
  const dstText = r['dst'];
  if (typeof dstText !== 'string' || dstText === '')
    throw new NetstackParseError(field, `${where}: missing "dst"`);
  if (entryFamily(r, dstText, family) !== family) return undefined;
  const type = r['type'] ?? 'unicast';
  if (typeof type !== 'string' || !ROUTE_TYPES.has(type)) {
    throw new NetstackParseError(field, `${where}: unknown route type ${JSON.stringify(type)}`);
  }
  const table = r['table'];
  if (table !== undefined && typeof table !== 'string' && typeof table !== 'number') {
    throw new NetstackParseError(field, `${where}: bad "table"`);
  }
  const metric = r['metric'] ?? 0;
  if (typeof metric !== 'number') throw new NetstackParseError(field, `${where}: bad "metric"`);
  const tosText = r['tos'];
  let tos = 0;
  if (tosText !== undefined) {
    const t =
      typeof tosText === 'number' ? tosText : typeof tosText === 'string' ? parseDsfield(tosText) : undefined;
    if (t === undefined)
      throw new NetstackParseError(field, `${where}: bad "tos" ${JSON.stringify(tosText)}`);
    tos = t;
  }
  const out: Record<string, unknown> = {
    family,
    table: normalizeTable(table),
    type,
    dst: parsePrefixOrThrow(dstText, family, field, where),
    tos,
    metric,
    scope: typeof r['scope'] === 'string' ? r['scope'] : 'global',
    protocol: typeof r['protocol'] === 'string' ? r['protocol'] : 'boot',
    flags: flagsOf(r, where, field),
  };
  const from = r['from'];
  if (typeof from === 'string' && from !== 'default' && from !== '::/0') {
    out['from'] = parsePrefixOrThrow(from, family, field, where);
  }
  set(out, 'dev', typeof r['dev'] === 'string' ? r['dev'] : undefined);
  set(out, 'gateway', gatewayOf(r, where, field));
  const prefsrc = r['prefsrc'];
  if (prefsrc !== undefined) {
    if (typeof prefsrc !== 'string' || !isIp(prefsrc))
      throw new NetstackParseError(field, `${where}: bad "prefsrc"`);
    out['prefsrc'] = normalizeIp(prefsrc);
  }
  set(out, 'pref', typeof r['pref'] === 'string' ? r['pref'] : undefined);
  const nhs = r['nexthops'];
  if (nhs !== undefined) {
    if (!Array.isArray(nhs)) throw new NetstackParseError(field, `${where}: "nexthops" is not a list`);
    out['nexthops'] = nhs.map((nh, j): RouteNexthop => {
      const w = `${where} nexthop ${j}`;
      if (!isObj(nh)) throw new NetstackParseError(field, `${w}: not an object`);
      const weight = nh['weight'] ?? 1;
      if (typeof weight !== 'number') throw new NetstackParseError(field, `${w}: bad "weight"`);
      const hop: Record<string, unknown> = { weight, flags: flagsOf(nh, w, field) };
      set(hop, 'gateway', gatewayOf(nh, w, field));
      set(hop, 'dev', typeof nh['dev'] === 'string' ? nh['dev'] : undefined);
      return hop as unknown as RouteNexthop;
    });
  }
  return out as unknown as Route;
}

/**
 * Parses `ip -j -d route show table all` (Dump field `routes`) or `ip -6 -j -d route show table all`
 * (`routes6`), keeping the routes of `family`.
 *
 * @remarks Without `-4`, `ip route show table all` dumps every family (iproute2 only narrows to
 * AF_INET when a single table is asked for), so `routes` may hold IPv6 routes too: entries of the
 * other family are dropped, which keeps `routes` + `routes6` free of duplicates. Without `-d`, `ip`
 * omits the defaults (`type unicast`, `table main`, `proto boot`, `scope global`); they are
 * restored here.
 */
export function parseRoutes(raw: unknown, family: Family): Route[] {
  const field = family === 4 ? 'routes' : 'routes6';
  if (!Array.isArray(raw)) {
    throw new NetstackParseError(field, 'expected the JSON array printed by `ip -j -d route show table all`');
  }
  const out: Route[] = [];
  raw.forEach((r, i) => {
    const route = parseRoute(r, i, family, field);
    if (route !== undefined) out.push(route);
  });
  return out;
}

function formatDst(p: Prefix): string {
  if (p.length === 0) return 'default';
  return p.length === (p.family === 4 ? 32 : 128) ? p.address : `${p.address}/${p.length}`;
}

/**
 * `route` as one line of `ip route show` (multipath next hops inline), used as evidence.
 *
 * @remarks Follows iproute2's print_route: defaults (`unicast`, `table main`, `proto boot`,
 * `scope global`, an IPv4 metric of 0) are left out, as `ip route` does without `-d`.
 */
export function formatRoute(route: Route): string {
  const parts: string[] = [];
  if (route.type !== 'unicast') parts.push(route.type);
  parts.push(formatDst(route.dst));
  if (route.from !== undefined) parts.push('from', formatDst(route.from));
  if (route.tos !== 0) parts.push('tos', formatDsfield(route.tos));
  if (route.gateway !== undefined) parts.push('via', route.gateway);
  if (route.dev !== undefined) parts.push('dev', route.dev);
  if (route.table !== 'main') parts.push('table', route.table);
  if (route.protocol !== 'boot') parts.push('proto', route.protocol);
  if (route.scope !== 'global') parts.push('scope', route.scope);
  if (route.prefsrc !== undefined) parts.push('src', route.prefsrc);
  if (route.metric !== 0 || route.family === 6) parts.push('metric', String(route.metric));
  parts.push(...route.flags);
  if (route.pref !== undefined) parts.push('pref', route.pref);
  for (const nh of route.nexthops ?? []) {
    parts.push('nexthop');
    if (nh.gateway !== undefined) parts.push('via', nh.gateway);
    if (nh.dev !== undefined) parts.push('dev', nh.dev);
    parts.push('weight', String(nh.weight), ...nh.flags);
  }
  return parts.join(' ');
}
