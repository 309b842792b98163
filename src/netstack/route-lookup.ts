import { type Family, type Protocol, protocolNumberOf } from './packet.js';
import type { Link, LinkAddress } from './links.js';
import type { Route } from './routes.js';
import type { Rule } from './rules.js';
import type { Sysctls } from './sysctls.js';
import { familyOf, ipToBigInt, normalizeIp } from './ip.js';
import { formatRoute } from './routes.js';
import { formatRule } from './rules.js';
import {
  acceptLocal,
  ipv4Forwarding,
  ipv6Forwarding,
  num,
  routeLocalnet,
  rpFilter,
  srcValidMark,
  sysctlDevName,
} from './sysctls.js';

/** What the routing decision is about: a packet's flow keys as fib_lookup sees them. */
export interface RouteQuery {
  /** Defaults to the family of `dst`. */
  readonly family?: Family;
  readonly dst: string;
  /** Source address; for locally generated packets the kernel requires it to be local. */
  readonly src?: string;
  /**
   * Input interface for a received/forwarded packet. Absent for a locally generated packet, which
   * the kernel looks up with `iif lo` (ip_route_output_key_hash sets flowi4_iif = LOOPBACK_IFINDEX).
   */
  readonly iif?: string;
  /** Output interface a local socket is bound to (SO_BINDTODEVICE / `ip route get … oif`). */
  readonly oif?: string;
  /** skb->mark, 0 when absent. */
  readonly mark?: number;
  readonly protocol?: Protocol | number;
  readonly sport?: number;
  readonly dport?: number;
  /** TOS byte (DSCP << 2), 0 when absent. */
  readonly tos?: number;
  /** Socket owner uid for `uidrange` rules; 0 when absent (forwarded packets always use 0). */
  readonly uid?: number;
}

/** One way out chosen by a routing decision. */
export interface DecisionNexthop {
  readonly gateway?: string;
  readonly dev: string;
  readonly weight: number;
  readonly onlink: boolean;
  /** The next hop's device has no carrier (`linkdown`): the kernel still uses it by default. */
  readonly linkdown: boolean;
}

/** The outcome kinds of a routing decision. */
export type RouteDecisionKind =
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'multicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'none'
  | 'invalid';

/** Why the kernel refuses a packet before or after the FIB lookup (kind `invalid` or `unreachable`). */
export type RouteDropReason =
  | 'martian-source'
  | 'martian-destination'
  | 'rp-filter'
  | 'local-source'
  | 'invalid-source'
  | 'forwarding-disabled'
  | 'source-not-local'
  | 'oif-missing'
  | 'oif-down'
  | 'iif-missing';

/** The result of {@link lookupRoute}: where the packet goes and why, with `ip`-style evidence. */
export interface RouteDecision {
  readonly kind: RouteDecisionKind;
  readonly table?: string;
  readonly route?: Route;
  /** The rule that decided (its lookup returned the route, or its action rejected the packet). */
  readonly rule?: Rule;
  /** Every usable next hop; several for a multipath route (the kernel hashes, the caller forks). */
  readonly nexthops: readonly DecisionNexthop[];
  /** Source address a locally generated packet gets (the query's `src` when given). */
  readonly source?: string;
  /** The errno `ip route get` would report for a rejected lookup (`ENETUNREACH`, `EACCES`, …). */
  readonly errno?: string;
  readonly reason?: RouteDropReason;
  /** Human lines: the rules and routes involved, as `ip rule` / `ip route` print them. */
  readonly evidence: readonly string[];
  /** Rules whose selectors matched, in evaluation order. */
  readonly rulesTried: readonly Rule[];
}

interface TableIndex {
  readonly byLen: ReadonlyMap<number, ReadonlyMap<bigint, readonly Route[]>>;
  /** Prefix lengths present, longest first. */
  readonly lens: readonly number[];
}

interface PreparedRule {
  readonly rule: Rule;
  readonly src?: { readonly net: bigint; readonly mask: bigint };
  readonly dst?: { readonly net: bigint; readonly mask: bigint };
}

/** Indexes built by {@link createRoutingState}; internal to route lookups. */
export interface RoutingIndex {
  readonly linkByName: ReadonlyMap<string, Link>;
  /** Links in ifindex order (the order for_each_netdev walks them). */
  readonly linksInOrder: readonly Link[];
  readonly tables: ReadonlyMap<string, TableIndex>;
  readonly rules4: readonly PreparedRule[];
  readonly rules6: readonly PreparedRule[];
  readonly gotoTarget: ReadonlyMap<string, number>;
  /** IPv4 addresses configured on interfaces (inet_lookup_ifaddr_rcu). */
  readonly ifaddrs4: ReadonlySet<string>;
  readonly customRules4: boolean;
  readonly customLocalRoutes4: boolean;
  /** Families for which no rules were given, so the kernel's default rules stand in. */
  readonly defaultRules: ReadonlySet<Family>;
}

/** A namespace's routing configuration, indexed once for fast repeated lookups. */
export interface RoutingState {
  readonly links: readonly Link[];
  /** Routes of both families, all tables. */
  readonly routes: readonly Route[];
  /** Rules of both families. */
  readonly rules: readonly Rule[];
  /** When given, input lookups also apply route_localnet, forwarding, rp_filter and accept_local. */
  readonly sysctls?: Sysctls;
  readonly index: RoutingIndex;
}

const MASKS: Record<Family, bigint[]> = { 4: [], 6: [] };
for (const fam of [4, 6] as const) {
  const bits = fam === 4 ? 32 : 128;
  const all = (1n << BigInt(bits)) - 1n;
  for (let len = 0; len <= bits; len++)
    MASKS[fam].push(len === 0 ? 0n : (all >> BigInt(bits - len)) << BigInt(bits - len));
}

function maskOf(family: Family, len: number): bigint {
  return MASKS[family][len] ?? 0n;
}

function tableKey(family: Family, table: string): string {
  return `${family}|${table}`;
}

const DEFAULT_RULES: Record<Family, readonly Rule[]> = {
  4: [
    { family: 4, priority: 0, not: false, l3mdev: false, action: 'lookup', table: 'local' },
    { family: 4, priority: 32766, not: false, l3mdev: false, action: 'lookup', table: 'main' },
    { family: 4, priority: 32767, not: false, l3mdev: false, action: 'lookup', table: 'default' },
  ],
  6: [
    { family: 6, priority: 0, not: false, l3mdev: false, action: 'lookup', table: 'local' },
    { family: 6, priority: 32766, not: false, l3mdev: false, action: 'lookup', table: 'main' },
  ],
};

function isDefaultRule(r: Rule): boolean {
  return (
    !r.not &&
    r.src === undefined &&
    r.dst === undefined &&
    r.iif === undefined &&
    r.oif === undefined &&
    r.fwmark === undefined &&
    r.tos === undefined &&
    r.ipproto === undefined &&
    r.sport === undefined &&
    r.dport === undefined &&
    r.uidrange === undefined &&
    r.action === 'lookup' &&
    ((r.priority === 0 && r.table === 'local') ||
      (r.priority === 32766 && r.table === 'main') ||
      (r.priority === 32767 && r.table === 'default'))
  );
}

function prepareRule(rule: Rule): PreparedRule {
  const out: { rule: Rule; src?: { net: bigint; mask: bigint }; dst?: { net: bigint; mask: bigint } } = {
    rule,
  };
  if (rule.src !== undefined && rule.src.length > 0) {
    const mask = maskOf(rule.family, rule.src.length);
    out.src = { net: ipToBigInt(rule.src.address) & mask, mask };
  }
  if (rule.dst !== undefined && rule.dst.length > 0) {
    const mask = maskOf(rule.family, rule.dst.length);
    out.dst = { net: ipToBigInt(rule.dst.address) & mask, mask };
  }
  return out;
}

/**
 * Indexes links, routes (any family, any table) and rules for {@link lookupRoute}: each table becomes
 * a map per prefix length, so a lookup costs one map probe per distinct prefix length.
 *
 * @remarks Routes with the same prefix are kept in fib_alias order: TOS-specific routes first, then
 * by ascending metric, then dump order. Without rules of a family the kernel's default rules are
 * assumed (`0 local`, `32766 main`, `32767 default` for IPv4).
 */
export function createRoutingState(
  links: readonly Link[],
  routes: readonly Route[],
  rules: readonly Rule[],
  sysctls?: Sysctls,
): RoutingState {
  const linkByName = new Map<string, Link>();
  const ifaddrs4 = new Set<string>();
  for (const l of links) {
    linkByName.set(l.name, l);
    for (const a of l.addresses) if (a.family === 4) ifaddrs4.add(a.local);
  }
  const building = new Map<string, Map<number, Map<bigint, Route[]>>>();
  let customLocalRoutes4 = false;
  for (const r of routes) {
    const k = tableKey(r.family, r.table);
    let byLen = building.get(k);
    if (byLen === undefined) building.set(k, (byLen = new Map()));
    let byNet = byLen.get(r.dst.length);
    if (byNet === undefined) byLen.set(r.dst.length, (byNet = new Map()));
    const net = ipToBigInt(r.dst.address) & maskOf(r.family, r.dst.length);
    const list = byNet.get(net);
    if (list === undefined) byNet.set(net, [r]);
    else list.push(r);
    if (r.family === 4 && r.table === 'local' && r.protocol !== 'kernel') customLocalRoutes4 = true;
  }
  const tables = new Map<string, TableIndex>();
  for (const [k, byLen] of building) {
    for (const byNet of byLen.values()) {
      for (const [net, list] of byNet) {
        byNet.set(
          net,
          list
            .map((route, i) => ({ route, i }))
            .sort((a, b) => b.route.tos - a.route.tos || a.route.metric - b.route.metric || a.i - b.i)
            .map((x) => x.route),
        );
      }
    }
    tables.set(k, { byLen, lens: [...byLen.keys()].sort((a, b) => b - a) });
  }
  const byFamily = (fam: Family): Rule[] => {
    const own = rules.filter((r) => r.family === fam);
    return (own.length > 0 ? own : [...DEFAULT_RULES[fam]])
      .map((rule, i) => ({ rule, i }))
      .sort((a, b) => a.rule.priority - b.rule.priority || a.i - b.i)
      .map((x) => x.rule);
  };
  const r4 = byFamily(4);
  const r6 = byFamily(6);
  const gotoTarget = new Map<string, number>();
  for (const [fam, list] of [
    [4, r4],
    [6, r6],
  ] as const) {
    list.forEach((r, i) => {
      const k = `${fam}|${r.priority}`;
      if (!gotoTarget.has(k)) gotoTarget.set(k, i);
    });
  }
  const index: RoutingIndex = {
    linkByName,
    linksInOrder: [...links].sort((x, y) => x.ifindex - y.ifindex),
    tables,
    rules4: r4.map(prepareRule),
    rules6: r6.map(prepareRule),
    gotoTarget,
    ifaddrs4,
    customRules4: r4.some((r) => !isDefaultRule(r)),
    customLocalRoutes4,
    defaultRules: new Set(([4, 6] as const).filter((fam) => !rules.some((r) => r.family === fam))),
  };
  const state = { links, routes, rules, index };
  return sysctls === undefined ? state : { ...state, sysctls };
}

/** The flow keys of one FIB lookup (struct flowi4/flowi6). */
interface Flow {
  readonly family: Family;
  readonly dst: bigint;
  readonly dstText: string;
  /** 0n when unspecified. */
  readonly src: bigint;
  readonly hasSrc: boolean;
  readonly iif: string;
  readonly oif?: string;
  readonly mark: number;
  readonly proto: number;
  readonly sport: number;
  readonly dport: number;
  readonly tos: number;
  readonly uid: number;
}

function protoNumber(p: Protocol | number | undefined, family: Family): number {
  if (p === undefined) return 0;
  return typeof p === 'number' ? p : protocolNumberOf(p, family);
}

function ruleMatches(pr: PreparedRule, f: Flow): boolean {
  const r = pr.rule;
  let ok = true;
  if (r.iif !== undefined && (r.iifDetached === true || r.iif !== f.iif)) ok = false;
  else if (r.oif !== undefined && (r.oifDetached === true || r.oif !== f.oif)) ok = false;
  else if (r.fwmark !== undefined && ((r.fwmark ^ f.mark) & (r.fwmask ?? 0xffffffff)) >>> 0 !== 0) ok = false;
  else if (r.l3mdev) ok = false;
  else if (r.uidrange !== undefined && (f.uid < r.uidrange.start || f.uid > r.uidrange.end)) ok = false;
  else if (pr.src !== undefined && ((f.family === 6 && !f.hasSrc) || (f.src & pr.src.mask) !== pr.src.net))
    ok = false;
  else if (pr.dst !== undefined && (f.dst & pr.dst.mask) !== pr.dst.net) ok = false;
  else if (r.tos !== undefined && r.tos !== 0 && r.tos !== (f.tos & 0xfc)) ok = false;
  else if (r.ipproto !== undefined && r.ipproto !== 0 && r.ipproto !== f.proto) ok = false;
  else if (r.sport !== undefined && (f.sport < r.sport.start || f.sport > r.sport.end)) ok = false;
  else if (r.dport !== undefined && (f.dport < r.dport.start || f.dport > r.dport.end)) ok = false;
  return r.not ? !ok : ok;
}

type TableResult =
  | { readonly kind: 'route'; readonly route: Route; readonly nexthops: readonly DecisionNexthop[] }
  | { readonly kind: 'reject'; readonly route: Route };

const REJECT_TYPES: ReadonlySet<string> = new Set(['blackhole', 'unreachable', 'prohibit', 'throw', 'nat']);

function ignoreLinkdown(state: RoutingState, family: Family, dev: string): boolean {
  const s = state.sysctls;
  if (s === undefined) return false;
  const fam = family === 4 ? 'ipv4' : 'ipv6';
  const all = num(s.get(`net.${fam}.conf.all.ignore_routes_with_linkdown`)) ?? 0;
  const own = num(s.get(`net.${fam}.conf.${sysctlDevName(dev)}.ignore_routes_with_linkdown`)) ?? 0;
  return all !== 0 || own !== 0;
}

function routeNexthops(route: Route): DecisionNexthop[] {
  if (route.nexthops !== undefined && route.nexthops.length > 0) {
    return route.nexthops.map((nh) => {
      const hop = {
        dev: nh.dev ?? '',
        weight: nh.weight,
        onlink: nh.flags.includes('onlink') || route.flags.includes('onlink'),
        linkdown: nh.flags.includes('linkdown'),
      };
      return nh.gateway === undefined ? hop : { ...hop, gateway: nh.gateway };
    });
  }
  const hop = {
    dev: route.dev ?? '',
    weight: 1,
    onlink: route.flags.includes('onlink'),
    linkdown: route.flags.includes('linkdown'),
  };
  return [route.gateway === undefined ? hop : { ...hop, gateway: route.gateway }];
}

function nexthopDead(state: RoutingState, route: Route, nh: DecisionNexthop, index: number): boolean {
  const raw = route.nexthops?.[index];
  if (raw?.flags.includes('dead') === true || (route.nexthops === undefined && route.flags.includes('dead')))
    return true;
  // NETDEV_DOWN marks every next hop on the device dead except host-scoped ones (fib_sync_down_dev
  // skips nh_scope RT_SCOPE_NOWHERE), so the local routes of a down device's addresses survive.
  const link = state.index.linkByName.get(nh.dev);
  return link !== undefined && !link.adminUp && route.scope !== 'host';
}

/**
 * Longest-prefix match in one table, as fib_table_lookup (IPv4) / fib6_table_lookup (IPv6): at each
 * prefix length, aliases in order; reject types end the lookup; a route is usable when one of its
 * next hops is alive, honours the flow's oif, and is not linkdown-ignored.
 */
function lookupTable(state: RoutingState, f: Flow, table: string): TableResult | undefined {
  const t = state.index.tables.get(tableKey(f.family, table));
  if (t === undefined) return undefined;
  for (const len of t.lens) {
    const list = t.byLen.get(len)?.get(f.dst & maskOf(f.family, len));
    if (list === undefined) continue;
    for (const route of list) {
      if (route.tos !== 0 && route.tos !== (f.tos & 0xfc)) continue;
      if (route.from !== undefined) {
        const m = maskOf(f.family, route.from.length);
        if (!f.hasSrc || (f.src & m) !== (ipToBigInt(route.from.address) & m)) continue;
      }
      if (REJECT_TYPES.has(route.type)) {
        // IPv6 reject routes hang off `lo` and are subject to the oif match like any other route.
        if (f.family === 6 && f.oif !== undefined && route.dev !== undefined && route.dev !== f.oif) continue;
        return { kind: 'reject', route };
      }
      const all = routeNexthops(route);
      const good = all.filter(
        (nh, i) =>
          !nexthopDead(state, route, nh, i) &&
          !(nh.linkdown && ignoreLinkdown(state, f.family, nh.dev)) &&
          (f.oif === undefined || nh.dev === f.oif),
      );
      if (good.length === 0) continue;
      const first = good[0];
      return { kind: 'route', route, nexthops: f.oif !== undefined && first !== undefined ? [first] : good };
    }
  }
  return undefined;
}

function groupOf(state: RoutingState, dev: string): string | undefined {
  const g = state.index.linkByName.get(dev)?.group;
  return g === 'default' ? '0' : g;
}

function suppressed(state: RoutingState, rule: Rule, res: TableResult & { kind: 'route' }): boolean {
  if (rule.suppressPrefixlength !== undefined && res.route.dst.length <= rule.suppressPrefixlength)
    return true;
  if (rule.suppressIfgroup !== undefined) {
    const dev = res.nexthops[0]?.dev;
    const want = rule.suppressIfgroup === 'default' ? '0' : rule.suppressIfgroup;
    if (dev !== undefined && groupOf(state, dev) === want) return true;
  }
  return false;
}

type FibResult =
  | {
      readonly kind: 'route';
      readonly rule?: Rule;
      readonly table: string;
      readonly route: Route;
      readonly nexthops: readonly DecisionNexthop[];
    }
  | {
      readonly kind: 'reject';
      readonly rule?: Rule;
      readonly type: 'blackhole' | 'unreachable' | 'prohibit';
      readonly errno: string;
      readonly table?: string;
      readonly route?: Route;
    }
  | { readonly kind: 'none' };

interface FibOutcome {
  readonly result: FibResult;
  readonly tried: readonly Rule[];
  readonly notes: readonly string[];
}

const ROUTE_ERRNO: Record<string, string> = {
  blackhole: 'EINVAL',
  nat: 'EINVAL',
  unreachable: 'EHOSTUNREACH',
  prohibit: 'EACCES',
};
const RULE_ERRNO: Record<string, string> = {
  blackhole: 'EINVAL',
  unreachable: 'ENETUNREACH',
  prohibit: 'EACCES',
};

/**
 * The policy-routing walk of fib_rules_lookup: rules in priority order; `goto` jumps to the first
 * rule whose priority equals the target (the kernel's `ctarget`; unresolved gotos are skipped) and
 * re-checks its selectors; `nop` continues; a `lookup` whose table has no route, or yields a
 * `throw` route, or a route rejected by `suppress_prefixlength`/`suppress_ifgroup`, continues
 * (-EAGAIN); any other result ends the walk.
 */
/**
 * fib_lookup's fast path without custom IPv4 rules: the local table is an alias of main's trie
 * (fib_new_table), so both are searched as one longest-prefix match, then the `default` table when
 * main fails; the result is reported as table main.
 */
function mergedLookup(state: RoutingState, f: Flow, notes: string[]): FibOutcome {
  notes.push('no custom IPv4 rules: local and main are one table (fib_lookup fast path)');
  const local = lookupTable(state, f, 'local');
  const main = lookupTable(state, f, 'main');
  const res =
    main !== undefined && (local === undefined || main.route.dst.length > local.route.dst.length)
      ? main
      : local;
  if (res?.kind === 'route')
    return {
      result: { kind: 'route', table: 'main', route: res.route, nexthops: res.nexthops },
      tried: [],
      notes,
    };
  if (res?.kind === 'reject' && res.route.type === 'throw')
    notes.push(`throw route: ${formatRoute(res.route)}`);
  const reject = (r: Route, table: string): FibOutcome => ({
    result: {
      kind: 'reject',
      type: r.type === 'nat' ? 'blackhole' : (r.type as 'blackhole' | 'unreachable' | 'prohibit'),
      errno: ROUTE_ERRNO[r.type] ?? 'EINVAL',
      table,
      route: r,
    },
    tried: [],
    notes,
  });
  if (state.index.tables.has(tableKey(4, 'default'))) {
    const d = lookupTable(state, f, 'default');
    if (d?.kind === 'route')
      return {
        result: { kind: 'route', table: 'default', route: d.route, nexthops: d.nexthops },
        tried: [],
        notes,
      };
    if (d?.kind === 'reject' && d.route.type !== 'throw') return reject(d.route, 'default');
    return { result: { kind: 'none' }, tried: [], notes };
  }
  if (res?.kind === 'reject' && res.route.type !== 'throw') return reject(res.route, 'main');
  return { result: { kind: 'none' }, tried: [], notes };
}

function fibLookup(state: RoutingState, f: Flow): FibOutcome {
  const rules = f.family === 4 ? state.index.rules4 : state.index.rules6;
  const tried: Rule[] = [];
  const notes: string[] = [];
  if (state.index.defaultRules.has(f.family))
    notes.push(`no IPv${f.family} rules given: assuming the kernel's default rules`);
  if (f.family === 4 && !state.index.customRules4) return mergedLookup(state, f, notes);
  let i = 0;
  let guard = 0;
  while (i < rules.length && guard++ < rules.length * 4) {
    const pr = rules[i];
    if (pr === undefined) break;
    const rule = pr.rule;
    if (!ruleMatches(pr, f)) {
      i++;
      continue;
    }
    tried.push(rule);
    if (rule.action === 'goto') {
      const target =
        rule.unresolved === true ? undefined : state.index.gotoTarget.get(`${f.family}|${rule.gotoPriority}`);
      if (target === undefined || target <= i) {
        notes.push(`rule ${rule.priority}: goto ${rule.gotoPriority} is unresolved, skipped`);
        i++;
      } else {
        i = target;
      }
      continue;
    }
    if (rule.action === 'nop') {
      i++;
      continue;
    }
    if (rule.action !== 'lookup') {
      return {
        result: { kind: 'reject', rule, type: rule.action, errno: RULE_ERRNO[rule.action] ?? 'EINVAL' },
        tried,
        notes,
      };
    }
    const table = rule.table;
    const res = table === undefined ? undefined : lookupTable(state, f, table);
    if (res === undefined || table === undefined) {
      i++;
      continue;
    }
    if (res.kind === 'reject') {
      if (res.route.type === 'throw') {
        notes.push(`throw route in table ${table}: ${formatRoute(res.route)}`);
        i++;
        continue;
      }
      const type =
        res.route.type === 'nat' ? 'blackhole' : (res.route.type as 'blackhole' | 'unreachable' | 'prohibit');
      return {
        result: {
          kind: 'reject',
          rule,
          type,
          errno: ROUTE_ERRNO[res.route.type] ?? 'EINVAL',
          table,
          route: res.route,
        },
        tried,
        notes,
      };
    }
    if (suppressed(state, rule, res)) {
      notes.push(`rule ${rule.priority} suppressed ${formatRoute(res.route)}`);
      i++;
      continue;
    }
    return { result: { kind: 'route', rule, table, route: res.route, nexthops: res.nexthops }, tried, notes };
  }
  return { result: { kind: 'none' }, tried, notes };
}

const SCOPES: Record<string, number> = {
  global: 0,
  universe: 0,
  site: 200,
  link: 253,
  host: 254,
  nowhere: 255,
};

function scopeNum(scope: string): number {
  return SCOPES[scope] ?? (Number.isInteger(Number(scope)) ? Number(scope) : 0);
}

function inSubnet(ip: string, a: LinkAddress): boolean {
  const m = maskOf(a.family, a.prefixlen);
  return (ipToBigInt(ip) & m) === (ipToBigInt(a.local) & m);
}

/**
 * IPv4 source selection of inet_select_addr(dev, dst, scope): the first primary address of `dev`
 * with scope <= `scope`, preferring one whose subnet holds `dst`; failing that, the first primary
 * address of another device (in ifindex order) that is neither link- nor host-scoped.
 */
function selectSource4(
  state: RoutingState,
  dev: string | undefined,
  dst: string | undefined,
  scope: number,
): string | undefined {
  const link = dev === undefined ? undefined : state.index.linkByName.get(dev);
  let first: string | undefined;
  for (const a of link?.addresses ?? []) {
    if (a.family !== 4 || a.secondary || scopeNum(a.scope) > scope) continue;
    if (dst === undefined || inSubnet(dst, a)) return a.local;
    first ??= a.local;
  }
  if (first !== undefined) return first;
  const ordered = state.index.linksInOrder;
  for (const l of ordered) {
    for (const a of l.addresses) {
      if (a.family !== 4 || a.secondary) continue;
      const s = scopeNum(a.scope);
      if (s !== 253 && s <= scope) return a.local;
    }
  }
  return undefined;
}

/** IPv6 address scope as ipv6_addr_scope numbers it (1 node, 2 link, 5 site, 14 global). */
function scope6(ip: string): number {
  const v = ipToBigInt(ip);
  if (v === 1n) return 1;
  const top16 = Number(v >> 112n);
  if ((top16 & 0xff00) === 0xff00) return top16 & 0x0f;
  if ((top16 & 0xffc0) === 0xfe80) return 2;
  if ((top16 & 0xffc0) === 0xfec0) return 5;
  return 14;
}

const LABELS: readonly { readonly net: bigint; readonly len: number; readonly label: number }[] = [
  ['::1', 128, 0],
  ['::', 96, 3],
  ['::ffff:0:0', 96, 4],
  ['2001:10::', 28, 7],
  ['2001::', 32, 6],
  ['2002::', 16, 2],
  ['3ffe::', 16, 12],
  ['fec0::', 10, 11],
  ['fc00::', 7, 5],
  ['::', 0, 1],
].map(([a, len, label]) => ({ net: ipv6Big(a as string), len: len as number, label: label as number }));

/** An IPv6 address as a bigint; unlike ipToBigInt it keeps `::ffff:0:0` as IPv6 (the label table needs it). */
function ipv6Big(a: string): bigint {
  let n = 0n;
  const [head = '', tail = ''] = a.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16));
  return n;
}

function label6(v: bigint): number {
  for (const l of LABELS) if ((v & maskOf(6, l.len)) === l.net) return l.label;
  return 1;
}

function commonPrefix6(a: bigint, b: bigint): number {
  let x = a ^ b;
  let len = 128;
  while (x > 0n) {
    x >>= 1n;
    len--;
  }
  return len;
}

/**
 * IPv6 source selection, a simplified ipv6_dev_get_saddr (RFC 6724 §5): candidates are addresses
 * that are neither tentative nor dadfailed — only those of `dev` for a link-local or multicast
 * destination, otherwise every device's — ranked by: equal to the destination; appropriate scope;
 * not deprecated; on the outgoing device; matching policy label; longest matching prefix (capped
 * at the address's prefix length). Rules 4 (home address) and 7 (temporary) are not modelled.
 */
function selectSource6(state: RoutingState, dst: string, dev: string | undefined): string | undefined {
  const d = ipToBigInt(dst);
  const dScope = scope6(dst);
  const dLabel = label6(d);
  const oifOnly = dScope <= 2 || (Number(d >> 112n) & 0xff00) === 0xff00;
  interface Cand {
    readonly a: LinkAddress;
    readonly v: bigint;
    readonly scope: number;
    readonly onDev: boolean;
  }
  let best: Cand | undefined;
  const better = (c: Cand, b: Cand): boolean => {
    if ((c.v === d) !== (b.v === d)) return c.v === d;
    if (c.scope !== b.scope) return c.scope < b.scope ? c.scope >= dScope : b.scope < dScope;
    if (c.a.deprecated !== b.a.deprecated) return !c.a.deprecated;
    if (c.onDev !== b.onDev) return c.onDev;
    const cl = label6(c.v) === dLabel;
    if (cl !== (label6(b.v) === dLabel)) return cl;
    const cp = Math.min(commonPrefix6(c.v, d), c.a.prefixlen);
    const bp = Math.min(commonPrefix6(b.v, d), b.a.prefixlen);
    return cp > bp;
  };
  const links = oifOnly
    ? [dev === undefined ? undefined : state.index.linkByName.get(dev)].filter(
        (l): l is Link => l !== undefined,
      )
    : state.index.linksInOrder;
  for (const l of links) {
    for (const a of l.addresses) {
      if (a.family !== 6 || a.tentative || a.dadfailed) continue;
      const c: Cand = { a, v: ipToBigInt(a.local), scope: scope6(a.local), onDev: l.name === dev };
      if (best === undefined || better(c, best)) best = c;
    }
  }
  return best?.a.local;
}

function flowOf(q: RouteQuery, family: Family): Flow {
  const hasSrc = q.src !== undefined;
  const flow = {
    family,
    dst: ipToBigInt(q.dst),
    dstText: normalizeIp(q.dst),
    src: hasSrc ? ipToBigInt(q.src) : 0n,
    hasSrc,
    iif: q.iif ?? 'lo',
    mark: (q.mark ?? 0) >>> 0,
    proto: protoNumber(q.protocol, family),
    sport: q.sport ?? 0,
    dport: q.dport ?? 0,
    tos: q.tos ?? 0,
    uid: q.iif === undefined ? (q.uid ?? 0) : 0,
  };
  return q.oif === undefined ? flow : { ...flow, oif: q.oif };
}

interface DecisionParts {
  kind: RouteDecisionKind;
  nexthops?: readonly DecisionNexthop[];
  table?: string | undefined;
  route?: Route | undefined;
  rule?: Rule | undefined;
  source?: string | undefined;
  errno?: string | undefined;
  reason?: RouteDropReason | undefined;
}

function decision(parts: DecisionParts, evidence: readonly string[], tried: readonly Rule[]): RouteDecision {
  const out: Record<string, unknown> = {
    kind: parts.kind,
    nexthops: parts.nexthops ?? [],
    evidence,
    rulesTried: tried,
  };
  for (const k of ['table', 'route', 'rule', 'source', 'errno', 'reason'] as const) {
    if (parts[k] !== undefined) out[k] = parts[k];
  }
  return out as unknown as RouteDecision;
}

function fibEvidence(o: FibOutcome): string[] {
  const ev = [...o.notes];
  const r = o.result;
  if (r.kind === 'none') {
    ev.push('no rule produced a route (ENETUNREACH)');
    return ev;
  }
  if (r.rule !== undefined) ev.push(`rule: ${formatRule(r.rule)}`);
  if (r.kind === 'route' || r.route !== undefined) {
    const route = r.kind === 'route' ? r.route : r.route;
    if (route !== undefined) ev.push(`route: ${formatRoute(route)}`);
  }
  return ev;
}

function rejectDecision(o: FibOutcome, ev: string[]): RouteDecision {
  const r = o.result;
  if (r.kind === 'reject') {
    return decision(
      {
        kind: r.type,
        rule: r.rule,
        ...(r.table === undefined ? {} : { table: r.table }),
        ...(r.route === undefined ? {} : { route: r.route }),
        errno: r.errno,
      },
      ev,
      o.tried,
    );
  }
  return decision({ kind: 'none', errno: 'ENETUNREACH' }, ev, o.tried);
}

const LO: DecisionNexthop = { dev: 'lo', weight: 1, onlink: false, linkdown: false };

function isV4Multicast(ip: string): boolean {
  return ipToBigInt(ip) >> 28n === 0xen;
}

function isV4Loopback(ip: string): boolean {
  return ipToBigInt(ip) >> 24n === 127n;
}

function gatewayNote(state: RoutingState, table: string, nh: DecisionNexthop): string | undefined {
  if (nh.gateway === undefined || nh.onlink || familyOf(nh.gateway) !== 4) return undefined;
  const f = flowOf({ dst: nh.gateway }, 4);
  for (const t of [table, 'main']) {
    const r = lookupTable(state, f, t);
    if (
      r?.kind === 'route' &&
      (r.route.scope === 'link' || r.route.scope === 'host' || r.route.type === 'local')
    ) {
      if (r.nexthops.some((x) => x.dev === nh.dev)) return undefined;
    }
  }
  return `gateway ${nh.gateway} is not reachable through a link-scope route on ${nh.dev} (the kernel only accepts such a route with onlink)`;
}

function outputDecision(state: RoutingState, q: RouteQuery, family: Family): RouteDecision {
  const f = flowOf(q, family);
  const ev: string[] = [];
  if (q.src !== undefined && family === 4) {
    const s = normalizeIp(q.src);
    if (isV4Multicast(s) || s === '255.255.255.255' || s === '0.0.0.0') {
      return decision(
        { kind: 'invalid', errno: 'EINVAL', reason: 'invalid-source' },
        [`source ${s} is not a unicast address`],
        [],
      );
    }
    if (!isLocalAddress(state, s)) {
      return decision(
        { kind: 'invalid', errno: 'ENETUNREACH', reason: 'source-not-local' },
        [`source ${s} is not a local address (ip_route_output_key_hash: -ENETUNREACH)`],
        [],
      );
    }
  }
  if (q.oif !== undefined && state.links.length > 0) {
    const link = state.index.linkByName.get(q.oif);
    if (link === undefined)
      return decision(
        { kind: 'invalid', errno: 'ENODEV', reason: 'oif-missing' },
        [`no device ${q.oif}`],
        [],
      );
    if (!link.adminUp)
      return decision(
        { kind: 'invalid', errno: 'ENETUNREACH', reason: 'oif-down' },
        [`device ${q.oif} is down`],
        [],
      );
  }
  if (family === 4 && q.oif !== undefined && (f.dstText === '255.255.255.255' || f.dst >> 8n === 0xe00000n)) {
    const kind = f.dstText === '255.255.255.255' ? 'broadcast' : 'multicast';
    const source = q.src ?? selectSource4(state, q.oif, undefined, SCOPES['link'] ?? 253);
    return decision(
      { kind, nexthops: [{ ...LO, dev: q.oif }], ...(source === undefined ? {} : { source }) },
      [`${kind} to ${f.dstText} sent on ${q.oif} without a route lookup`],
      [],
    );
  }
  const o = fibLookup(state, f);
  ev.push(...fibEvidence(o));
  const r = o.result;
  if (r.kind !== 'route') {
    if (family === 4 && q.oif !== undefined) {
      const source = q.src ?? selectSource4(state, q.oif, undefined, SCOPES['link'] ?? 253);
      ev.push(`no usable route; with oif ${q.oif} the kernel assumes ${f.dstText} is on-link`);
      return decision(
        {
          kind: isV4Multicast(f.dstText) ? 'multicast' : 'unicast',
          nexthops: [{ ...LO, dev: q.oif }],
          ...(source === undefined ? {} : { source }),
        },
        ev,
        o.tried,
      );
    }
    return rejectDecision(o, ev);
  }
  const base = { table: r.table, route: r.route, rule: r.rule };
  if (r.route.type === 'local' || r.route.type === 'anycast') {
    const source =
      q.src ??
      (family === 4
        ? (r.route.prefsrc ?? f.dstText)
        : r.route.type === 'local'
          ? f.dstText
          : selectSource6(state, f.dstText, r.route.dev));
    return decision(
      { ...base, kind: 'local', nexthops: [LO], ...(source === undefined ? {} : { source }) },
      ev,
      o.tried,
    );
  }
  const first = r.nexthops[0];
  let kind: RouteDecisionKind =
    r.route.type === 'broadcast' ? 'broadcast' : r.route.type === 'multicast' ? 'multicast' : 'unicast';
  if (family === 4 && f.dstText === '255.255.255.255') kind = 'broadcast';
  else if (family === 4 && isV4Multicast(f.dstText)) kind = 'multicast';
  const source =
    q.src ??
    r.route.prefsrc ??
    (family === 4
      ? selectSource4(state, first?.dev, first?.gateway, scopeNum(r.route.scope))
      : selectSource6(state, f.dstText, first?.dev));
  for (const nh of r.nexthops) {
    const note = gatewayNote(state, r.table, nh);
    if (note !== undefined) ev.push(note);
  }
  // rt_set_nexthop: a broadcast never uses the gateway; a multicast only when the route is
  // more specific than /4 ("use default one, but do not gateway in this case").
  const dropGateway =
    family === 4 && (kind === 'broadcast' || (kind === 'multicast' && r.route.dst.length < 4));
  const nexthops = dropGateway
    ? r.nexthops.map(({ dev, weight, onlink, linkdown }) => ({ dev, weight, onlink, linkdown }))
    : r.nexthops;
  return decision({ ...base, kind, nexthops, ...(source === undefined ? {} : { source }) }, ev, o.tried);
}

/** Options for {@link checkRpFilter}, mirroring the per-device sysctls fib_validate_source reads. */
export interface RpFilterOptions {
  /** Output device of the forward route (FIB_RES_OIF); absent for local delivery (then `lo`). */
  readonly oif?: string;
  /** `accept_local` of the input device (IN_DEV_ACCEPT_LOCAL); default false. */
  readonly acceptLocal?: boolean;
  /** `src_valid_mark` of the input device: the reverse lookup uses the packet mark; default false. */
  readonly srcValidMark?: boolean;
  /** `send_redirects` of the input device (IN_DEV_TX_REDIRECTS); default true, the kernel default. */
  readonly sendRedirects?: boolean;
}

/** The verdict of {@link checkRpFilter}. */
export interface RpFilterResult {
  readonly ok: boolean;
  readonly reason?: 'rp-filter' | 'local-source' | 'invalid-source';
  /** EXDEV for a reverse-path failure, EINVAL for a local or non-unicast source. */
  readonly errno?: 'EXDEV' | 'EINVAL';
  readonly evidence: readonly string[];
}

/**
 * Source validation of a received IPv4 packet as fib_validate_source does it: mode 1 (strict) needs
 * the route back to `src` to leave through `iif`; mode 2 (loose) needs any unicast route back; a
 * local source is refused unless accept_local.
 *
 * @remarks The reverse lookup swaps the addresses, uses the forward route's output device as its
 * input interface (`lo` for local delivery), and the mark only with src_valid_mark. With mode 0
 * and no custom rules/local routes the kernel only checks that `src` is not an interface address;
 * otherwise a reverse lookup that fails is accepted in mode 0 and refused (EXDEV) in modes 1/2,
 * one that yields a non-unicast route is refused (EINVAL), and an input device without IPv4
 * addresses skips the device check. IPv6 has no rp_filter (always ok).
 * A boolean `options` is shorthand for `{ acceptLocal }`.
 * <https://github.com/torvalds/linux/blob/master/net/ipv4/fib_frontend.c>
 */
export function checkRpFilter(
  state: RoutingState,
  rpFilterMode: 0 | 1 | 2,
  packet: {
    readonly src: string;
    readonly dst: string;
    readonly mark?: number;
    readonly tos?: number;
    readonly family?: Family;
  },
  iif: string,
  options: RpFilterOptions | boolean = {},
): RpFilterResult {
  const opts: RpFilterOptions = typeof options === 'boolean' ? { acceptLocal: options } : options;
  const family = familyOf(packet.src);
  if (family === 6) return { ok: true, evidence: ['IPv6 has no rp_filter'] };
  const src = normalizeIp(packet.src);
  const accept = opts.acceptLocal ?? false;
  const ix = state.index;
  if (rpFilterMode === 0 && !(opts.oif === iif && (opts.sendRedirects ?? true))) {
    if (accept) return { ok: true, evidence: [`accept_local on ${iif}`] };
    if (!ix.customLocalRoutes4 && !ix.customRules4) {
      if (ix.ifaddrs4.has(src)) {
        return {
          ok: false,
          reason: 'local-source',
          errno: 'EINVAL',
          evidence: [`source ${src} is an address of this host`],
        };
      }
      return { ok: true, evidence: ['rp_filter off'] };
    }
  }
  const rev: RouteQuery = {
    dst: src,
    src: normalizeIp(packet.dst),
    iif: opts.oif ?? 'lo',
    mark: opts.srcValidMark === true ? (packet.mark ?? 0) : 0,
    tos: packet.tos ?? 0,
  };
  const o = fibLookup(state, flowOf(rev, 4));
  const ev = [
    `reverse lookup of ${src} (iif ${rev.iif}${rev.mark === 0 ? '' : `, mark 0x${rev.mark?.toString(16)}`})`,
    ...fibEvidence(o),
  ];
  const mode = ['off', 'strict', 'loose'][rpFilterMode] ?? 'off';
  const lastResort = (): RpFilterResult =>
    rpFilterMode === 0
      ? { ok: true, evidence: ev }
      : {
          ok: false,
          reason: 'rp-filter',
          errno: 'EXDEV',
          evidence: [...ev, `rp_filter ${mode}: no usable route back to ${src}`],
        };
  const r = o.result;
  if (r.kind !== 'route') return lastResort();
  if (r.route.type !== 'unicast') {
    if (r.route.type !== 'local') {
      return {
        ok: false,
        reason: 'invalid-source',
        errno: 'EINVAL',
        evidence: [...ev, `source ${src} routes as ${r.route.type}`],
      };
    }
    if (!accept)
      return {
        ok: false,
        reason: 'local-source',
        errno: 'EINVAL',
        evidence: [...ev, `source ${src} is local and accept_local is off`],
      };
  }
  const devMatch =
    routeNexthops(r.route).some((nh) => nh.dev === iif) || (r.route.type === 'local' && iif === 'lo');
  if (devMatch) return { ok: true, evidence: ev };
  const inLink = ix.linkByName.get(iif);
  if (inLink !== undefined && !inLink.addresses.some((a) => a.family === 4)) return lastResort();
  if (rpFilterMode === 1) {
    return {
      ok: false,
      reason: 'rp-filter',
      errno: 'EXDEV',
      evidence: [...ev, `rp_filter strict: the route back to ${src} does not leave through ${iif}`],
    };
  }
  return { ok: true, evidence: ev };
}

function validateWithSysctls(
  state: RoutingState,
  s: Sysctls,
  q: RouteQuery,
  iif: string,
  oif: string | undefined,
  dst: string,
): RpFilterResult | undefined {
  const mode = rpFilter(s, iif);
  if (mode === undefined) return undefined;
  const sr = num(s.get(`net.ipv4.conf.${sysctlDevName(iif)}.send_redirects`));
  const srAll = num(s.get('net.ipv4.conf.all.send_redirects'));
  const opts: RpFilterOptions = {
    acceptLocal: acceptLocal(s, iif) ?? false,
    srcValidMark: srcValidMark(s, iif) ?? false,
    sendRedirects: sr === undefined || srAll === undefined ? true : sr !== 0 || srAll !== 0,
    ...(oif === undefined ? {} : { oif }),
  };
  const packet = {
    src: q.src ?? '0.0.0.0',
    dst,
    ...(q.mark === undefined ? {} : { mark: q.mark }),
    ...(q.tos === undefined ? {} : { tos: q.tos }),
  };
  return checkRpFilter(state, mode, packet, iif, opts);
}

function inputDecision(state: RoutingState, q: RouteQuery, family: Family, iif: string): RouteDecision {
  const s = state.sysctls;
  const f = flowOf(q, family);
  if (state.links.length > 0 && !state.index.linkByName.has(iif)) {
    return decision(
      { kind: 'invalid', errno: 'ENODEV', reason: 'iif-missing' },
      [`no input device ${iif}`],
      [],
    );
  }
  if (family === 6) {
    if ((Number(f.dst >> 112n) & 0xff00) === 0xff00) {
      return decision(
        { kind: 'multicast' },
        ['multicast input: delivery depends on group membership (not simulated)'],
        [],
      );
    }
    const o = fibLookup(state, f);
    const ev = fibEvidence(o);
    const r = o.result;
    if (r.kind !== 'route') return rejectDecision(o, ev);
    const base = { table: r.table, route: r.route, rule: r.rule };
    if (r.route.type === 'local' || r.route.type === 'anycast')
      return decision({ ...base, kind: 'local', nexthops: [LO] }, ev, o.tried);
    if (s !== undefined && ipv6Forwarding(s, iif) === false) {
      return decision(
        { ...base, kind: 'unreachable', errno: 'EHOSTUNREACH', reason: 'forwarding-disabled' },
        [...ev, 'net.ipv6.conf.all.forwarding = 0'],
        o.tried,
      );
    }
    return decision(
      { ...base, kind: r.route.type === 'multicast' ? 'multicast' : 'unicast', nexthops: r.nexthops },
      ev,
      o.tried,
    );
  }
  const src = q.src === undefined ? '0.0.0.0' : normalizeIp(q.src);
  const dst = f.dstText;
  const localnet = s === undefined ? undefined : routeLocalnet(s, iif);
  const martian = (reason: RouteDropReason, why: string): RouteDecision =>
    decision({ kind: 'invalid', errno: 'EINVAL', reason }, [why], []);
  if (isV4Multicast(src) || src === '255.255.255.255')
    return martian('martian-source', `martian source ${src}`);
  const brd = (
    ev: string[],
    extra: DecisionParts = { kind: 'broadcast' },
    tried: readonly Rule[] = [],
  ): RouteDecision => {
    if (src !== '0.0.0.0' && s !== undefined) {
      const v = validateWithSysctls(state, s, { ...q, src }, iif, undefined, '0.0.0.0');
      if (v !== undefined && !v.ok) {
        return decision(
          { kind: 'invalid', errno: 'EINVAL', reason: v.reason ?? 'rp-filter' },
          [...ev, ...v.evidence],
          tried,
        );
      }
    }
    return decision({ ...extra, kind: 'broadcast', nexthops: [LO] }, ev, tried);
  };
  if (dst === '255.255.255.255' || (src === '0.0.0.0' && dst === '0.0.0.0'))
    return brd([`limited broadcast ${dst}`]);
  if (isV4Multicast(dst)) {
    return decision(
      { kind: 'multicast' },
      ['multicast input: delivery depends on group membership (not simulated)'],
      [],
    );
  }
  if (src === '0.0.0.0') return martian('martian-source', 'martian source 0.0.0.0');
  if (dst === '0.0.0.0') return martian('martian-destination', 'martian destination 0.0.0.0');
  if (localnet === false && isV4Loopback(dst))
    return martian('martian-destination', `martian destination ${dst} (route_localnet is off on ${iif})`);
  if (localnet === false && isV4Loopback(src))
    return martian('martian-source', `martian source ${src} (route_localnet is off on ${iif})`);
  const o = fibLookup(state, f);
  const ev = fibEvidence(o);
  const r = o.result;
  const forwarding = s === undefined ? undefined : ipv4Forwarding(s, iif);
  if (r.kind !== 'route') {
    if (forwarding === false) {
      return decision(
        { kind: 'unreachable', errno: 'EHOSTUNREACH', reason: 'forwarding-disabled' },
        [...ev, `forwarding is off on ${iif}`],
        o.tried,
      );
    }
    return rejectDecision(o, ev);
  }
  const base = { table: r.table, route: r.route, rule: r.rule };
  if (r.route.type === 'broadcast') return brd(ev, { ...base, kind: 'broadcast' }, o.tried);
  if (r.route.type === 'local') {
    if (s !== undefined) {
      const v = validateWithSysctls(state, s, { ...q, src }, iif, undefined, dst);
      if (v !== undefined && !v.ok) {
        return decision(
          { ...base, kind: 'invalid', errno: 'EINVAL', reason: v.reason ?? 'rp-filter' },
          [...ev, ...v.evidence],
          o.tried,
        );
      }
    }
    return decision({ ...base, kind: 'local', nexthops: [LO] }, ev, o.tried);
  }
  if (forwarding === false) {
    return decision(
      { ...base, kind: 'unreachable', errno: 'EHOSTUNREACH', reason: 'forwarding-disabled' },
      [...ev, `forwarding is off on ${iif}`],
      o.tried,
    );
  }
  if (r.route.type !== 'unicast') return martian('martian-destination', `${dst} routes as ${r.route.type}`);
  if (s !== undefined) {
    const v = validateWithSysctls(state, s, { ...q, src }, iif, r.nexthops[0]?.dev, dst);
    if (v !== undefined && !v.ok) {
      return decision(
        { ...base, kind: 'invalid', errno: v.errno ?? 'EINVAL', reason: v.reason ?? 'rp-filter' },
        [...ev, ...v.evidence],
        o.tried,
      );
    }
  } else {
    ev.push('sysctls not collected: forwarding and rp_filter not checked');
  }
  for (const nh of r.nexthops) {
    const note = gatewayNote(state, r.table, nh);
    if (note !== undefined) ev.push(note);
  }
  return decision({ ...base, kind: 'unicast', nexthops: r.nexthops }, ev, o.tried);
}

/**
 * The route the kernel picks for `q`, walking `ip rule` priorities like fib_lookup, then applying the
 * checks of ip_route_output_key_hash (locally generated: no `iif`) or ip_route_input_slow (received
 * on `iif`).
 *
 * @remarks Kernel behaviour reproduced, each checked against `ip route get` on Linux 6.18:
 * - rules: `not` inverts the whole selector; fwmark matches `(mark ^ fwmark) & mask == 0`; local
 *   output matches `iif lo`; an IPv4 `from` selector compares an unspecified source as 0.0.0.0 (so
 *   `not from 10.0.0.0/8` catches local output), an IPv6 one never matches without a source.
 * - tables: longest prefix, then TOS-specific before TOS 0, then lowest metric; blackhole /
 *   unreachable / prohibit routes stop the lookup, `throw` continues with the next rule.
 * - without custom IPv4 rules the local and main tables are one trie: a /32 in main beats a /24
 *   local (AnyIP) route, and the result is reported as table main with no rule.
 * - next hops: `dead` ones and those on admin-down devices are skipped (the kernel flushes such
 *   routes, except the host-scoped local routes of the device's addresses); `linkdown` ones are
 *   still used unless ignore_routes_with_linkdown is set; with `oif` only next hops on that device
 *   count, backtracking to shorter prefixes (so `10.244.0.11 oif eth0` takes the default route),
 *   and when that fails — even on a blackhole — IPv4 assumes the destination is on-link (IPv6
 *   answers ENETUNREACH).
 * - output: a source that is not local gives ENETUNREACH; a local destination is delivered via
 *   `lo`; 255.255.255.255 and 224.0.0.0/4 turn a unicast result into broadcast/multicast.
 * - input (with sysctls): martian source/destination (0.0.0.0, broadcast/multicast source,
 *   127.0.0.0/8 without route_localnet; on 6.18 the rest of 0.0.0.0/8 is ordinary unicast),
 *   `forwarding` of the input device (EHOSTUNREACH), then fib_validate_source (see
 *   {@link checkRpFilter}). IPv6 input checks `conf.all.forwarding` as ip6_forward does.
 * - multipath: every alive next hop is returned with its weight (the kernel hashes the flow).
 * Not modelled: VRF/l3mdev rules (never match), multicast routing and group membership, IPv6
 * router reachability scoring (equal-metric IPv6 routes resolve to the first), fib_select_default.
 */
export function lookupRoute(state: RoutingState, q: RouteQuery): RouteDecision {
  const family = q.family ?? familyOf(q.dst);
  return q.iif === undefined ? outputDecision(state, q, family) : inputDecision(state, q, family, q.iif);
}

/** The preferred source address for `dst` leaving through `dev` (via `gateway`), as the kernel picks it. */
export function selectSource(
  state: RoutingState,
  dst: string,
  dev: string,
  gateway?: string,
  scope = 'global',
): string | undefined {
  return familyOf(dst) === 4
    ? selectSource4(state, dev, gateway, scopeNum(scope))
    : selectSource6(state, normalizeIp(dst), dev);
}

/**
 * Whether `ip` is an address of this namespace: the local table holds a `local` route for it, which
 * is how the kernel decides (inet_addr_type / __ip_dev_find fall back to the local table).
 */
export function isLocalAddress(state: RoutingState, ip: string): boolean {
  const family = familyOf(ip);
  const res = lookupTable(state, flowOf({ dst: ip }, family), 'local');
  return res?.kind === 'route' && res.route.type === 'local';
}

/** Address types of netfilter's `addrtype` match. */
export type AddrType =
  | 'LOCAL'
  | 'UNICAST'
  | 'BROADCAST'
  | 'MULTICAST'
  | 'BLACKHOLE'
  | 'UNREACHABLE'
  | 'PROHIBIT'
  | 'ANYCAST'
  | 'UNSPEC';

const TYPE_NAMES: Record<string, AddrType> = {
  local: 'LOCAL',
  unicast: 'UNICAST',
  broadcast: 'BROADCAST',
  multicast: 'MULTICAST',
  anycast: 'ANYCAST',
};

/**
 * The address type netfilter's `addrtype` match sees for `ip` (optionally limited to device `dev`).
 *
 * @remarks IPv4 follows inet_addr_type/__inet_dev_addr_type: 0.0.0.0 and 255.255.255.255 are
 * BROADCAST, 224.0.0.0/4 MULTICAST, otherwise the type of the best route in the local table —
 * together with main while the kernel keeps them merged (no custom rules) — else UNICAST; with
 * `dev`, a route on another device counts as UNICAST. A blackhole/unreachable/prohibit route makes
 * fib_table_lookup fail, so IPv4 answers UNICAST for it (those names never come out for IPv4).
 * IPv6 follows addrtype_mt6: `::` is UNSPEC, ff00::/8 MULTICAST, then the output route: local →
 * LOCAL, anycast → ANYCAST, reject or none → UNREACHABLE, otherwise UNICAST (the kernel's
 * bitmask answers both UNICAST and LOCAL for a local address; LOCAL is returned).
 */
export function addrType(state: RoutingState, ip: string, dev?: string): AddrType {
  const family = familyOf(ip);
  const addr = normalizeIp(ip);
  if (family === 6) {
    if (addr === '::') return 'UNSPEC';
    if ((Number(ipToBigInt(addr) >> 112n) & 0xff00) === 0xff00) return 'MULTICAST';
    const d = lookupRoute(state, dev === undefined ? { dst: addr } : { dst: addr, oif: dev });
    if (d.kind === 'local') return d.route?.type === 'anycast' ? 'ANYCAST' : 'LOCAL';
    if (d.kind === 'unicast') return 'UNICAST';
    return 'UNREACHABLE';
  }
  if (addr === '0.0.0.0' || addr === '255.255.255.255') return 'BROADCAST';
  if (isV4Multicast(addr)) return 'MULTICAST';
  const f = flowOf({ dst: addr }, 4);
  let best: TableResult | undefined;
  for (const t of state.index.customRules4 ? ['local'] : ['local', 'main']) {
    const r = lookupTable(state, f, t);
    if (r !== undefined && (best === undefined || r.route.dst.length > best.route.dst.length)) best = r;
  }
  // fib_table_lookup fails on a reject route, and __inet_dev_addr_type then answers UNICAST.
  if (best === undefined || best.kind === 'reject') return 'UNICAST';
  if (dev !== undefined && best.route.type !== 'local' && !best.nexthops.some((nh) => nh.dev === dev))
    return 'UNICAST';
  if (dev !== undefined && best.route.type === 'local' && best.route.dev !== dev) return 'UNICAST';
  return TYPE_NAMES[best.route.type] ?? 'UNICAST';
}
