import { type CtState, type Packet, protocolNumberOf } from './packet.js';
import { familyOf, ipToBigInt, isIp, normalizeIp } from './ip.js';
import { NetstackParseError } from './parse-error.js';

/** An nftables address family. */
export type NftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

/** A netfilter hook a base chain can attach to. */
export type NftHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';

/** Why a table is considered iptables-nft's. */
export type NftManagedReason = 'xt-expressions' | 'xtables-layout';

/** A table of `nft -j list ruleset`. */
export interface NftTable {
  readonly family: NftFamily;
  readonly name: string;
  readonly handle: number;
  readonly comment?: string;
  readonly flags: readonly string[];
  /**
   * Whether iptables-nft (or ebtables-nft/arptables-nft) owns this table; such tables are read from
   * the `iptables`/`ip6tables` Dump fields instead and must not be evaluated twice (CONTRACTS.md §2).
   */
  readonly managedByIptables: boolean;
  readonly managedReason?: NftManagedReason;
}

/** A chain; base chains have a type, hook, priority and policy. */
export interface NftChain {
  readonly family: NftFamily;
  readonly table: string;
  readonly name: string;
  readonly handle: number;
  readonly type?: 'filter' | 'nat' | 'route';
  readonly hook?: NftHook;
  readonly prio?: number;
  readonly policy?: 'accept' | 'drop';
  /** Devices of a netdev/ingress chain (nft ≥ 1.0.7 prints them; 1.0.6 omits them). */
  readonly devices: readonly string[];
  readonly comment?: string;
}

/** A rule, with its expressions kept exactly as nft printed them. */
export interface NftRule {
  readonly family: NftFamily;
  readonly table: string;
  readonly chain: string;
  readonly handle: number;
  readonly expr: readonly unknown[];
  readonly comment?: string;
}

/** A named set or map (`set`/`map` objects), with its elements as printed. */
export interface NftSet {
  readonly family: NftFamily;
  readonly table: string;
  readonly name: string;
  readonly handle: number;
  readonly kind: 'set' | 'map';
  /** Key type: one name, or the components of a concatenation. */
  readonly type: string | readonly string[];
  /** Value type of a map (`verdict` for a vmap). */
  readonly map?: string | readonly string[];
  readonly flags: readonly string[];
  readonly comment?: string;
  /** Elements as printed: values, `{prefix}`, `{range}`, `{concat}`, `{elem}`, or `[key, value]` pairs for maps. */
  readonly elements: readonly unknown[];
}

/** The whole `nft -j list ruleset` output (Dump field `nftables`), with indexes by name. */
export interface NftRuleset {
  /** nft version that printed it, when present. */
  readonly version?: string;
  readonly tables: readonly NftTable[];
  readonly chains: readonly NftChain[];
  readonly rules: readonly NftRule[];
  readonly sets: readonly NftSet[];
  /** Tables by {@link nftKey}(family, name). */
  readonly tableIndex: ReadonlyMap<string, NftTable>;
  /** Chains by {@link nftKey}(family, table, name). */
  readonly chainIndex: ReadonlyMap<string, NftChain>;
  /** Rules of each chain in evaluation order, by {@link nftKey}(family, table, chain). */
  readonly chainRules: ReadonlyMap<string, readonly NftRule[]>;
  /** Sets and maps by {@link nftKey}(family, table, name). */
  readonly setIndex: ReadonlyMap<string, NftSet>;
}

const FIELD = 'nftables';
const FAMILIES = new Set<NftFamily>(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);
const HOOKS = new Set<NftHook>([
  'prerouting',
  'input',
  'forward',
  'output',
  'postrouting',
  'ingress',
  'egress',
]);

/** The index key of a table, chain or set: its family and names joined by a tab. */
export function nftKey(family: NftFamily, ...names: readonly string[]): string {
  return [family, ...names].join('\t');
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function fail(message: string): never {
  throw new NetstackParseError(FIELD, message);
}

function str(o: Record<string, unknown>, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') fail(`${where}: "${key}" must be a string`);
  return v;
}

function num(o: Record<string, unknown>, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${where}: "${key}" must be a number`);
  return v;
}

function family(o: Record<string, unknown>, where: string): NftFamily {
  const f = str(o, 'family', where);
  if (!FAMILIES.has(f as NftFamily)) fail(`${where}: unknown family "${f}"`);
  return f as NftFamily;
}

function optString(o: Record<string, unknown>, key: string): { readonly [k: string]: string } {
  const v = o[key];
  return typeof v === 'string' ? { [key]: v } : {};
}

function stringList(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

/** Hook, type and priorities of one built-in xtables chain as iptables-nft creates it. */
interface XtChain {
  readonly hook: NftHook;
  readonly type: 'filter' | 'nat' | 'route';
  readonly prio: readonly number[];
}

const xc = (hook: NftHook, type: XtChain['type'], ...prio: number[]): XtChain => ({ hook, type, prio });

const xtFilter = (prio: number): Readonly<Record<string, XtChain>> => ({
  INPUT: xc('input', 'filter', prio),
  FORWARD: xc('forward', 'filter', prio),
  OUTPUT: xc('output', 'filter', prio),
});

const XT_INET: Readonly<Record<string, Readonly<Record<string, XtChain>>>> = {
  filter: xtFilter(0),
  nat: {
    PREROUTING: xc('prerouting', 'nat', -100),
    INPUT: xc('input', 'nat', 100),
    OUTPUT: xc('output', 'nat', -100),
    POSTROUTING: xc('postrouting', 'nat', 100),
  },
  mangle: {
    PREROUTING: xc('prerouting', 'filter', -150),
    INPUT: xc('input', 'filter', -150),
    FORWARD: xc('forward', 'filter', -150),
    OUTPUT: xc('output', 'route', -150),
    POSTROUTING: xc('postrouting', 'filter', -150),
  },
  raw: { PREROUTING: xc('prerouting', 'filter', -300), OUTPUT: xc('output', 'filter', -300) },
  security: {
    INPUT: xc('input', 'filter', 150, 50),
    FORWARD: xc('forward', 'filter', 150, 50),
    OUTPUT: xc('output', 'filter', 150, 50),
  },
};

/**
 * Built-in chains of the tables iptables-nft, ebtables-nft and arptables-nft create, by family and
 * table (as listed by nft 1.0.6 after iptables 1.8.9 created them; iptables-nft puts the security
 * table at 150, not NF_IP_PRI_SECURITY's 50, which is accepted too).
 */
const XTABLES: Partial<Record<NftFamily, Readonly<Record<string, Readonly<Record<string, XtChain>>>>>> = {
  ip: XT_INET,
  ip6: XT_INET,
  arp: { filter: xtFilter(0) },
  bridge: {
    filter: xtFilter(-200),
    nat: {
      PREROUTING: xc('prerouting', 'filter', -300),
      OUTPUT: xc('output', 'filter', 100),
      POSTROUTING: xc('postrouting', 'filter', 300),
    },
  },
};

function hasXt(x: unknown): boolean {
  if (Array.isArray(x)) return x.some(hasXt);
  if (!isObject(x)) return false;
  if ('xt' in x) return true;
  return Object.values(x).some(hasXt);
}

/**
 * Reads `nft -j list ruleset` (Dump field `nftables`; a JSON string is parsed first) into tables,
 * chains, rules and sets, and marks the tables iptables-nft manages.
 *
 * @remarks nft's JSON output does not say which tables belong to iptables-nft (its text output
 * prints "# Warning: table ip filter is managed by iptables-nft, do not touch!" to stderr, only
 * for tables holding `xt` compat expressions). Verified with iptables 1.8.9/nft 1.0.6: a table is
 * iptables-nft's when a rule holds an `xt` expression, or when it carries an xtables table name for
 * its family (`ip`/`ip6` filter, nat, mangle, raw, security; `arp` filter; `bridge` filter, nat) and every base chain has the built-in name, hook, type and priority iptables-nft gives it
 * (a translated-only `ip6 filter` has no `xt` expression at all). Native look-alikes such as
 * `table ip filter { chain input { … } }` keep lower-case chain names or other priorities.
 */
export function parseNftables(raw: unknown): NftRuleset {
  let doc = raw;
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc) as unknown;
    } catch {
      fail('not JSON: expected the output of nft -j list ruleset');
    }
  }
  if (!isObject(doc) || !Array.isArray(doc['nftables'])) fail('expected an object with an "nftables" array');
  const items = doc['nftables'] as unknown[];
  let version: string | undefined;
  const tables: { family: NftFamily; name: string; handle: number; comment?: string; flags: string[] }[] = [];
  const chains: NftChain[] = [];
  const rules: NftRule[] = [];
  const sets: NftSet[] = [];
  const tableKeys = new Set<string>();
  const chainRules = new Map<string, NftRule[]>();
  items.forEach((item, i) => {
    const where = `item ${i}`;
    if (!isObject(item)) fail(`${where}: expected an object`);
    const [kind] = Object.keys(item);
    const body = kind === undefined ? undefined : item[kind];
    if (kind === 'metainfo') {
      if (isObject(body) && typeof body['version'] === 'string') version = body['version'];
      return;
    }
    if (kind !== 'table' && kind !== 'chain' && kind !== 'rule' && kind !== 'set' && kind !== 'map') return;
    if (!isObject(body)) fail(`${where}: ${kind} must be an object`);
    const fam = family(body, `${where} (${kind})`);
    if (kind === 'table') {
      const name = str(body, 'name', where);
      tables.push({
        family: fam,
        name,
        handle: num(body, 'handle', where),
        ...optString(body, 'comment'),
        flags: stringList(body['flags']),
      });
      tableKeys.add(nftKey(fam, name));
      return;
    }
    const table = str(body, 'table', where);
    if (!tableKeys.has(nftKey(fam, table))) fail(`${where}: ${kind} in unknown table ${fam} ${table}`);
    if (kind === 'chain') {
      const name = str(body, 'name', where);
      const hook = body['hook'];
      if (hook !== undefined && !HOOKS.has(hook as NftHook)) fail(`${where}: unknown hook "${String(hook)}"`);
      const type = body['type'];
      if (type !== undefined && type !== 'filter' && type !== 'nat' && type !== 'route')
        fail(`${where}: unknown chain type "${String(type)}"`);
      const policy = body['policy'];
      if (policy !== undefined && policy !== 'accept' && policy !== 'drop')
        fail(`${where}: unknown policy "${String(policy)}"`);
      const prio = body['prio'];
      if (hook !== undefined && typeof prio !== 'number') fail(`${where}: base chain needs a numeric "prio"`);
      chains.push({
        family: fam,
        table,
        name,
        handle: num(body, 'handle', where),
        ...(type !== undefined ? { type: type as 'filter' | 'nat' | 'route' } : {}),
        ...(hook !== undefined ? { hook: hook as NftHook } : {}),
        ...(typeof prio === 'number' ? { prio } : {}),
        ...(policy !== undefined ? { policy: policy as 'accept' | 'drop' } : {}),
        devices: stringList(body['dev'] ?? body['devices']),
        ...optString(body, 'comment'),
      });
      chainRules.set(nftKey(fam, table, name), []);
      return;
    }
    if (kind === 'rule') {
      const chain = str(body, 'chain', where);
      const list = chainRules.get(nftKey(fam, table, chain));
      if (list === undefined) fail(`${where}: rule in unknown chain ${fam} ${table} ${chain}`);
      const expr = body['expr'];
      if (!Array.isArray(expr)) fail(`${where}: rule needs an "expr" array`);
      const rule: NftRule = {
        family: fam,
        table,
        chain,
        handle: num(body, 'handle', where),
        expr,
        ...optString(body, 'comment'),
      };
      rules.push(rule);
      list.push(rule);
      return;
    }
    const type = body['type'];
    if (typeof type !== 'string' && !Array.isArray(type)) fail(`${where}: ${kind} needs a "type"`);
    const map = body['map'];
    const elem = body['elem'];
    if (elem !== undefined && !Array.isArray(elem)) fail(`${where}: "elem" must be an array`);
    sets.push({
      family: fam,
      table,
      name: str(body, 'name', where),
      handle: num(body, 'handle', where),
      kind,
      type: typeof type === 'string' ? type : stringList(type),
      ...(typeof map === 'string' || Array.isArray(map)
        ? { map: typeof map === 'string' ? map : stringList(map) }
        : {}),
      flags: stringList(body['flags']),
      ...optString(body, 'comment'),
      elements: elem ?? [],
    });
  });

  const reasons = managedReasons(tables, chains, rules);
  const finalTables: NftTable[] = tables.map((t) => {
    const reason = reasons.get(nftKey(t.family, t.name));
    return {
      ...t,
      managedByIptables: reason !== undefined,
      ...(reason !== undefined ? { managedReason: reason } : {}),
    };
  });
  return {
    ...(version !== undefined ? { version } : {}),
    tables: finalTables,
    chains,
    rules,
    sets,
    tableIndex: new Map(finalTables.map((t) => [nftKey(t.family, t.name), t])),
    chainIndex: new Map(chains.map((c) => [nftKey(c.family, c.table, c.name), c])),
    chainRules,
    setIndex: new Map(sets.map((s) => [nftKey(s.family, s.table, s.name), s])),
  };
}

function managedReasons(
  tables: readonly { family: NftFamily; name: string }[],
  chains: readonly NftChain[],
  rules: readonly NftRule[],
): Map<string, NftManagedReason> {
  const withXt = new Set<string>();
  for (const r of rules) {
    const key = nftKey(r.family, r.table);
    if (!withXt.has(key) && hasXt(r.expr)) withXt.add(key);
  }
  const misfit = new Set<string>();
  for (const c of chains) {
    if (c.hook === undefined) continue;
    const want = XTABLES[c.family]?.[c.table]?.[c.name];
    const fits =
      want !== undefined &&
      want.hook === c.hook &&
      want.type === c.type &&
      c.prio !== undefined &&
      want.prio.includes(c.prio);
    if (!fits) misfit.add(nftKey(c.family, c.table));
  }
  const out = new Map<string, NftManagedReason>();
  for (const t of tables) {
    const key = nftKey(t.family, t.name);
    if (withXt.has(key)) out.set(key, 'xt-expressions');
    else if (XTABLES[t.family]?.[t.name] !== undefined && !misfit.has(key)) out.set(key, 'xtables-layout');
  }
  return out;
}

/** The tables not managed by iptables-nft: the only ones skoop evaluates from the `nftables` field. */
export function nativeTables(ruleset: NftRuleset): readonly NftTable[] {
  return ruleset.tables.filter((t) => !t.managedByIptables);
}

// ---------------------------------------------------------------------------------------------
// Rendering rules as text, for evidence.
// ---------------------------------------------------------------------------------------------

function renderValue(x: unknown): string {
  if (typeof x === 'string') return x;
  if (typeof x === 'number' || typeof x === 'boolean') return String(x);
  if (x === null || x === undefined) return '';
  if (Array.isArray(x)) return x.map(renderValue).join(',');
  if (!isObject(x)) return JSON.stringify(x);
  const [k] = Object.keys(x);
  const v = k === undefined ? undefined : x[k];
  switch (k) {
    case 'payload':
      return isObject(v) ? `${renderValue(v['protocol'])} ${renderValue(v['field'])}` : JSON.stringify(x);
    case 'meta': {
      const key = isObject(v) ? renderValue(v['key']) : '';
      return ['iifname', 'oifname', 'iif', 'oif'].includes(key) ? key : `meta ${key}`;
    }
    case 'ct':
      return isObject(v) ? `ct ${renderValue(v['key'])}` : JSON.stringify(x);
    case 'fib':
      return isObject(v)
        ? `fib ${stringList(v['flags']).join(' . ')} ${renderValue(v['result'])}`
        : JSON.stringify(x);
    case 'numgen':
      return isObject(v)
        ? `numgen ${renderValue(v['mode'])} mod ${renderValue(v['mod'])}${v['offset'] ? ` offset ${renderValue(v['offset'])}` : ''}`
        : '';
    case 'concat':
      return Array.isArray(v) ? v.map(renderValue).join(' . ') : '';
    case 'prefix':
      return isObject(v) ? `${renderValue(v['addr'])}/${renderValue(v['len'])}` : '';
    case 'range':
      return Array.isArray(v) ? `${renderValue(v[0])}-${renderValue(v[1])}` : '';
    case 'set':
      return Array.isArray(v) ? `{ ${v.map(renderSetElem).join(', ')} }` : '';
    case 'elem':
      return isObject(v) ? renderValue(v['val']) : '';
    case '&':
    case '|':
    case '^':
    case '<<':
    case '>>':
      return Array.isArray(v) ? v.map(renderValue).join(` ${k} `) : '';
    default:
      return JSON.stringify(x);
  }
}

function renderSetElem(e: unknown): string {
  if (Array.isArray(e) && e.length === 2) return `${renderValue(e[0])} : ${renderStatement(e[1])}`;
  return renderValue(e);
}

function renderStatement(s: unknown): string {
  if (!isObject(s)) return renderValue(s);
  const [k] = Object.keys(s);
  const v = k === undefined ? undefined : s[k];
  switch (k) {
    case 'match': {
      if (!isObject(v)) return '';
      const op = renderValue(v['op']);
      const left = v['left'];
      const bitwise = isObject(left) && ['&', '|', '^', '<<', '>>'].some((b) => b in left);
      const shown = (op === '==' && !bitwise) || op === 'in' ? '' : `${op} `;
      return `${renderValue(left)} ${shown}${renderValue(v['right'])}`;
    }
    case 'accept':
    case 'drop':
    case 'return':
    case 'continue':
    case 'counter':
    case 'notrack':
      return k;
    case 'jump':
    case 'goto':
      return isObject(v) ? `${k} ${renderValue(v['target'])}` : k;
    case 'reject':
      return isObject(v) && v['expr'] !== undefined
        ? `reject with ${renderValue(v['type'])} ${renderValue(v['expr'])}`
        : 'reject';
    case 'dnat':
    case 'snat': {
      if (!isObject(v)) return k;
      const addr = v['addr'] === undefined ? '' : renderValue(v['addr']);
      const port = v['port'] === undefined ? '' : `:${renderValue(v['port'])}`;
      return `${k} to ${addr}${port}`;
    }
    case 'masquerade':
    case 'redirect': {
      if (!isObject(v)) return k;
      const port = v['port'] === undefined ? '' : ` to :${renderValue(v['port'])}`;
      const flags = v['flags'] === undefined ? '' : ` ${stringList(v['flags']).join(',')}`;
      return `${k}${port}${flags}`;
    }
    case 'mangle':
      return isObject(v) ? `${renderValue(v['key'])} set ${renderValue(v['value'])}` : '';
    case 'vmap':
      return isObject(v) ? `${renderValue(v['key'])} vmap ${renderValue(v['data'])}` : '';
    case 'set':
      return isObject(v)
        ? `${renderValue(v['op'])} ${renderValue(v['set'])} { ${renderValue(v['elem'])} }`
        : '';
    case 'log':
      return 'log';
    case 'limit':
      return isObject(v) ? `limit rate ${renderValue(v['rate'])}/${renderValue(v['per'])}` : 'limit';
    case 'xt':
      return isObject(v) ? `xt ${renderValue(v['type'])} ${renderValue(v['name'])}` : 'xt';
    default:
      return JSON.stringify(s);
  }
}

/** `rule` as nft-like text (`ip daddr 10.96.0.1 tcp dport 443 jump x`) for evidence; unknown parts fall back to JSON. */
export function formatNftRule(rule: NftRule): string {
  const text = rule.expr
    .map(renderStatement)
    .filter((t) => t !== '')
    .join(' ');
  return rule.comment === undefined ? text : `${text} comment "${rule.comment}"`;
}

// ---------------------------------------------------------------------------------------------
// Evaluation of native tables (the subset kube-proxy's nftables mode uses, and common filters).
// ---------------------------------------------------------------------------------------------

/** What the evaluator knows about the packet and its surroundings at the hook. */
export interface NftTraverseContext {
  readonly packet: Packet;
  /** Conntrack state; NAT chains only see `NEW` packets. */
  readonly ctState: CtState;
  /** Input interface name (none at output/postrouting). */
  readonly iif?: string;
  /** Output interface name (none at prerouting/input). */
  readonly oif?: string;
  /** Whether an address is local to the namespace, for `fib … type local`. */
  readonly isLocalAddress?: (ip: string) => boolean;
  /** Source address `masquerade` would pick (the output interface's address), when known. */
  readonly masqueradeAddress?: string;
  /** Tables to evaluate; default {@link nativeTables}. */
  readonly tables?: readonly NftTable[];
}

/** The end of one explored branch. */
export type NftVerdict = 'accept' | 'drop' | 'reject' | 'queue' | 'unsupported';

/** A NAT a branch performed. */
export interface NftNat {
  readonly kind: 'dnat' | 'snat' | 'masquerade' | 'redirect';
  readonly addr?: string;
  readonly port?: number;
}

/** One rule that matched the packet and ran a statement (or a chain policy that dropped it), for evidence. */
export interface NftEvidence {
  readonly family: NftFamily;
  readonly table: string;
  readonly chain: string;
  /** Rule handle; absent for a chain policy. */
  readonly handle?: number;
  /** The rule as nft-like text, or `policy drop`. */
  readonly rule: string;
}

/** One branch of a hook traversal: how likely it is, how it ended, and the packet after it. */
export interface NftOutcome {
  /** Share of new connections taking this branch (`numgen random mod N` splits evenly). */
  readonly probability: number;
  readonly verdict: NftVerdict;
  /** The packet after NAT and mark changes. */
  readonly packet: Packet;
  readonly nat: readonly NftNat[];
  readonly evidence: readonly NftEvidence[];
  /** For `unsupported`: what could not be evaluated. */
  readonly reason?: string;
}

type Dtype =
  | 'ipv4'
  | 'ipv6'
  | 'proto'
  | 'port'
  | 'int'
  | 'ifname'
  | 'ctstate'
  | 'nfproto'
  | 'ethertype'
  | 'fibtype'
  | 'icmp'
  | 'icmpv6'
  | 'tcpflags';

/** An evaluated value: its type, a canonical key, and a number for numeric types. */
interface Val {
  readonly t: Dtype;
  readonly k: string;
  readonly n?: bigint;
}

type Eval =
  | { readonly ok: true; readonly v: Val | readonly Val[] }
  | { readonly ok: false; readonly absent: true }
  | { readonly ok: false; readonly absent: false; readonly why: string };

const ABSENT: Eval = { ok: false, absent: true };
const unsupported = (why: string): Eval => ({ ok: false, absent: false, why });

const PROTO_NUMBERS: Readonly<Record<string, number>> = {
  icmp: 1,
  igmp: 2,
  ipip: 4,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  'ipv6-icmp': 58,
  icmpv6: 58,
  sctp: 132,
  udplite: 136,
};

const ICMP_TYPES: Readonly<Record<string, number>> = {
  'echo-reply': 0,
  'destination-unreachable': 3,
  'source-quench': 4,
  redirect: 5,
  'echo-request': 8,
  'router-advertisement': 9,
  'router-solicitation': 10,
  'time-exceeded': 11,
  'parameter-problem': 12,
  'timestamp-request': 13,
  'timestamp-reply': 14,
  'info-request': 15,
  'info-reply': 16,
  'address-mask-request': 17,
  'address-mask-reply': 18,
};

const ICMPV6_TYPES: Readonly<Record<string, number>> = {
  'destination-unreachable': 1,
  'packet-too-big': 2,
  'time-exceeded': 3,
  'parameter-problem': 4,
  'echo-request': 128,
  'echo-reply': 129,
  'mld-listener-query': 130,
  'mld-listener-report': 131,
  'mld-listener-done': 132,
  'nd-router-solicit': 133,
  'nd-router-advert': 134,
  'nd-neighbor-solicit': 135,
  'nd-neighbor-advert': 136,
  'nd-redirect': 137,
};

const TCP_FLAGS: Readonly<Record<string, number>> = {
  fin: 1,
  syn: 2,
  rst: 4,
  psh: 8,
  ack: 16,
  urg: 32,
  ecn: 64,
  cwr: 128,
};

const numVal = (t: Dtype, n: bigint): Val => ({ t, k: n.toString(), n });
const strVal = (t: Dtype, s: string): Val => ({ t, k: s });

function protoNumber(p: Packet): number {
  return protocolNumberOf(p.protocol, p.family);
}

/** Mutable traversal state of one branch. */
interface Branch {
  packet: Packet;
  probability: number;
  nat: NftNat[];
  evidence: NftEvidence[];
  /** Values of numgen expressions for this branch, by expression object. */
  numgen: Map<object, number>;
}

interface Env {
  readonly ruleset: NftRuleset;
  readonly ctx: NftTraverseContext;
  readonly hook: NftHook;
  readonly ctState: string | undefined;
}

function ctStateName(s: CtState): string | undefined {
  switch (s) {
    case 'NEW':
      return 'new';
    case 'ESTABLISHED':
      return 'established';
    case 'RELATED':
      return 'related';
    case 'INVALID':
      return 'invalid';
    case 'UNTRACKED':
      return 'untracked';
    default:
      return undefined;
  }
}

const HAS_IIF = new Set<NftHook>(['prerouting', 'input', 'forward', 'ingress']);
const HAS_OIF = new Set<NftHook>(['forward', 'output', 'postrouting', 'egress']);

function ipVal(ip: string): Val {
  const fam = familyOf(ip);
  return numVal(fam === 4 ? 'ipv4' : 'ipv6', ipToBigInt(ip));
}

function evalPayload(o: Record<string, unknown>, b: Branch): Eval {
  const proto = o['protocol'];
  const field = o['field'];
  const p = b.packet;
  if (proto === 'ip' || proto === 'ip6') {
    if ((proto === 'ip' ? 4 : 6) !== p.family) return ABSENT;
    if (field === 'saddr') return { ok: true, v: ipVal(p.src) };
    if (field === 'daddr') return { ok: true, v: ipVal(p.dst) };
    if (field === 'protocol' || field === 'nexthdr')
      return { ok: true, v: numVal('proto', BigInt(protoNumber(p))) };
    return unsupported(`payload ${String(proto)} ${String(field)}`);
  }
  if (proto === 'tcp' || proto === 'udp' || proto === 'sctp' || proto === 'th') {
    if (proto === 'th' ? p.protocol === 'icmp' || p.protocol === 'ipip' : p.protocol !== proto) return ABSENT;
    if (field === 'sport') return { ok: true, v: numVal('port', BigInt(p.sport)) };
    if (field === 'dport') return { ok: true, v: numVal('port', BigInt(p.dport)) };
    if (field === 'flags' && proto === 'tcp') {
      let bits = 0;
      for (const f of p.tcpFlags) bits |= TCP_FLAGS[f.toLowerCase()] ?? 0;
      return { ok: true, v: numVal('tcpflags', BigInt(bits)) };
    }
    return unsupported(`payload ${String(proto)} ${String(field)}`);
  }
  if (proto === 'icmp' || proto === 'icmpv6') {
    if (p.protocol !== 'icmp' || p.family !== (proto === 'icmp' ? 4 : 6)) return ABSENT;
    const t: Dtype = proto === 'icmp' ? 'icmp' : 'icmpv6';
    if (field === 'type' && p.icmpType !== undefined) return { ok: true, v: numVal(t, BigInt(p.icmpType)) };
    if (field === 'code' && p.icmpCode !== undefined)
      return { ok: true, v: numVal('int', BigInt(p.icmpCode)) };
    return unsupported(`payload ${String(proto)} ${String(field)} without the ICMP type/code`);
  }
  return unsupported(`payload ${JSON.stringify(o)}`);
}

function evalMeta(key: unknown, env: Env, b: Branch): Eval {
  const p = b.packet;
  switch (key) {
    case 'l4proto':
      return { ok: true, v: numVal('proto', BigInt(protoNumber(p))) };
    case 'nfproto':
      return { ok: true, v: strVal('nfproto', p.family === 4 ? 'ipv4' : 'ipv6') };
    case 'protocol':
      return { ok: true, v: strVal('ethertype', p.family === 4 ? 'ip' : 'ip6') };
    case 'mark':
      return { ok: true, v: numVal('int', BigInt(p.mark >>> 0)) };
    case 'iifname':
    case 'iif':
      if (!HAS_IIF.has(env.hook)) return ABSENT;
      return env.ctx.iif === undefined
        ? unsupported('meta iifname without an input interface')
        : { ok: true, v: strVal('ifname', env.ctx.iif) };
    case 'oifname':
    case 'oif':
      if (!HAS_OIF.has(env.hook)) return ABSENT;
      return env.ctx.oif === undefined
        ? unsupported('meta oifname without an output interface')
        : { ok: true, v: strVal('ifname', env.ctx.oif) };
    default:
      return unsupported(`meta ${String(key)}`);
  }
}

function fibType(ip: string, ctx: NftTraverseContext): string | undefined {
  const n = ipToBigInt(ip);
  if (familyOf(ip) === 4) {
    if (n >> 28n === 0xen) return 'multicast';
    if (n === 0xffffffffn) return 'broadcast';
  } else if (n >> 120n === 0xffn) return 'multicast';
  if (ctx.isLocalAddress === undefined) return undefined;
  return ctx.isLocalAddress(normalizeIp(ip)) ? 'local' : 'unicast';
}

function evalExpr(x: unknown, env: Env, b: Branch): Eval {
  if (!isObject(x)) return unsupported(`expression ${JSON.stringify(x)}`);
  const [k] = Object.keys(x);
  const v = k === undefined ? undefined : x[k];
  switch (k) {
    case 'payload':
      return isObject(v) ? evalPayload(v, b) : unsupported('payload');
    case 'meta':
      return isObject(v) ? evalMeta(v['key'], env, b) : unsupported('meta');
    case 'ct': {
      if (!isObject(v) || v['key'] !== 'state')
        return unsupported(`ct ${isObject(v) ? String(v['key']) : ''}`);
      return env.ctState === undefined
        ? unsupported(`ct state of a ${env.ctx.ctState} packet`)
        : { ok: true, v: strVal('ctstate', env.ctState) };
    }
    case 'fib': {
      if (!isObject(v) || v['result'] !== 'type') return unsupported(`fib ${JSON.stringify(v)}`);
      const flags = stringList(v['flags']);
      const addr = flags.includes('saddr')
        ? b.packet.src
        : flags.includes('daddr')
          ? b.packet.dst
          : undefined;
      if (addr === undefined) return unsupported(`fib ${flags.join(' . ')} type`);
      const t = fibType(addr, env.ctx);
      return t === undefined
        ? unsupported('fib type local without the local addresses')
        : { ok: true, v: strVal('fibtype', t) };
    }
    case 'numgen': {
      const n = b.numgen.get(v as object);
      return n === undefined ? unsupported('numgen') : { ok: true, v: numVal('int', BigInt(n)) };
    }
    case 'concat': {
      if (!Array.isArray(v)) return unsupported('concat');
      const parts: Val[] = [];
      for (const part of v) {
        const r = evalExpr(part, env, b);
        if (!r.ok) return r;
        if (Array.isArray(r.v)) return unsupported('nested concat');
        parts.push(r.v as Val);
      }
      return { ok: true, v: parts };
    }
    case '&':
    case '|':
    case '^':
    case '<<':
    case '>>': {
      if (!Array.isArray(v) || v.length !== 2) return unsupported(k);
      const left = evalExpr(v[0], env, b);
      if (!left.ok) return left;
      const lv = left.v as Val;
      if (Array.isArray(left.v) || lv.n === undefined) return unsupported(`${k} on a non-numeric value`);
      const right = literal(v[1], lv.t);
      if (right === undefined || right.kind !== 'exact' || right.val.n === undefined)
        return unsupported(`${k} with ${JSON.stringify(v[1])}`);
      const a = lv.n;
      const c = right.val.n;
      const out =
        k === '&'
          ? a & c
          : k === '|'
            ? a | c
            : k === '^'
              ? a ^ c
              : k === '<<'
                ? (a << c) & 0xffffffffn
                : a >> c;
      return { ok: true, v: numVal(lv.t, out) };
    }
    default:
      return unsupported(`expression ${k ?? ''}`);
  }
}

/** A right-hand side in canonical form: one value, or an interval. */
type Lit =
  | { readonly kind: 'exact'; readonly val: Val }
  | { readonly kind: 'interval'; readonly t: Dtype; readonly lo: bigint; readonly hi: bigint };

function parseScalar(x: unknown, t: Dtype): Val | undefined {
  if (t === 'ipv4' || t === 'ipv6') {
    if (typeof x !== 'string' || !isIp(x)) return undefined;
    return numVal(familyOf(x) === 4 ? 'ipv4' : 'ipv6', ipToBigInt(x));
  }
  if (t === 'ifname' || t === 'ctstate' || t === 'nfproto' || t === 'ethertype' || t === 'fibtype') {
    return typeof x === 'string' ? strVal(t, x) : undefined;
  }
  if (typeof x === 'number') return numVal(t, BigInt(x));
  if (typeof x === 'string') {
    if (/^(0x[0-9a-f]+|\d+)$/i.test(x)) return numVal(t, BigInt(x));
    const named =
      t === 'proto'
        ? PROTO_NUMBERS[x]
        : t === 'icmp'
          ? ICMP_TYPES[x]
          : t === 'icmpv6'
            ? ICMPV6_TYPES[x]
            : t === 'tcpflags'
              ? TCP_FLAGS[x]
              : undefined;
    return named === undefined ? undefined : numVal(t, BigInt(named));
  }
  if (Array.isArray(x) && t === 'tcpflags') {
    let bits = 0n;
    for (const f of x) {
      const one = parseScalar(f, t);
      if (one?.n === undefined) return undefined;
      bits |= one.n;
    }
    return numVal(t, bits);
  }
  return undefined;
}

function literal(x: unknown, t: Dtype): Lit | undefined {
  if (isObject(x)) {
    if (isObject(x['prefix'])) {
      const p = x['prefix'];
      const base = parseScalar(p['addr'], t);
      const len = p['len'];
      if (base?.n === undefined || typeof len !== 'number') return undefined;
      const bits = BigInt(base.t === 'ipv4' ? 32 : 128);
      const host = (1n << (bits - BigInt(len))) - 1n;
      const lo = base.n & ~host;
      return { kind: 'interval', t: base.t, lo, hi: lo | host };
    }
    if (Array.isArray(x['range'])) {
      const [a, c] = x['range'] as unknown[];
      const lo = parseScalar(a, t);
      const hi = parseScalar(c, t);
      if (lo?.n === undefined || hi?.n === undefined) return undefined;
      return { kind: 'interval', t: lo.t, lo: lo.n, hi: hi.n };
    }
    if (isObject(x['elem'])) return literal(x['elem']['val'], t);
    return undefined;
  }
  const v = parseScalar(x, t);
  return v === undefined ? undefined : { kind: 'exact', val: v };
}

function litMatches(l: Lit, v: Val): boolean {
  if (l.kind === 'exact') {
    if (v.t === 'ifname' && l.val.k.endsWith('*')) return v.k.startsWith(l.val.k.slice(0, -1));
    return l.val.t === v.t && l.val.k === v.k;
  }
  return l.t === v.t && v.n !== undefined && v.n >= l.lo && v.n <= l.hi;
}

/** A set's elements indexed for one key type signature. */
interface SetLookup {
  readonly exact: Map<string, unknown>;
  readonly scan: { readonly parts: readonly Lit[]; readonly value: unknown }[];
}

const setCache = new WeakMap<readonly unknown[], Map<string, SetLookup | undefined>>();

function keyOf(v: Val | readonly Val[]): string {
  return Array.isArray(v) ? (v as readonly Val[]).map((p) => p.k).join('|') : (v as Val).k;
}

function typesOf(v: Val | readonly Val[]): Dtype[] {
  return Array.isArray(v) ? (v as readonly Val[]).map((p) => p.t) : [(v as Val).t];
}

/** Indexes set/map `elements` for keys of the given types; `undefined` if an element cannot be read. */
function indexElements(elements: readonly unknown[], types: readonly Dtype[]): SetLookup | undefined {
  const sig = types.join(',');
  let byType = setCache.get(elements);
  if (byType === undefined) {
    byType = new Map();
    setCache.set(elements, byType);
  }
  if (byType.has(sig)) return byType.get(sig);
  const exact = new Map<string, unknown>();
  const scan: { parts: Lit[]; value: unknown }[] = [];
  let ok = true;
  for (const raw of elements) {
    const [keyRaw, value] = Array.isArray(raw) && raw.length === 2 ? [raw[0], raw[1]] : [raw, true];
    let key: unknown = keyRaw;
    if (isObject(key) && isObject(key['elem'])) key = key['elem']['val'];
    const comps = isObject(key) && Array.isArray(key['concat']) ? (key['concat'] as unknown[]) : [key];
    if (comps.length !== types.length) {
      ok = false;
      break;
    }
    const parts: Lit[] = [];
    for (let i = 0; i < comps.length; i++) {
      const l = literal(comps[i], types[i] as Dtype);
      if (l === undefined) {
        ok = false;
        break;
      }
      parts.push(l);
    }
    if (!ok) break;
    if (parts.every((p) => p.kind === 'exact')) {
      const k = parts.map((p) => (p.kind === 'exact' ? p.val.k : '')).join('|');
      if (
        !exact.has(k) &&
        !parts.some((p) => p.kind === 'exact' && p.val.t === 'ifname' && p.val.k.endsWith('*'))
      )
        exact.set(k, value);
      else scan.push({ parts, value });
    } else {
      scan.push({ parts, value });
    }
  }
  const result = ok ? { exact, scan } : undefined;
  byType.set(sig, result);
  return result;
}

function lookupElements(
  elements: readonly unknown[],
  v: Val | readonly Val[],
): { found: boolean; value?: unknown } | undefined {
  const idx = indexElements(elements, typesOf(v));
  if (idx === undefined) return undefined;
  const key = keyOf(v);
  if (idx.exact.has(key)) return { found: true, value: idx.exact.get(key) };
  const vals: readonly Val[] = Array.isArray(v) ? (v as readonly Val[]) : [v as Val];
  for (const e of idx.scan) {
    if (e.parts.every((p, i) => litMatches(p, vals[i] as Val))) return { found: true, value: e.value };
  }
  return { found: false };
}

function namedSet(env: Env, rule: NftRule, ref: string): NftSet | undefined {
  return env.ruleset.setIndex.get(nftKey(rule.family, rule.table, ref.slice(1)));
}

/** `true`/`false` for a match, or the reason it cannot be decided. */
function evalMatch(m: Record<string, unknown>, env: Env, b: Branch, rule: NftRule): boolean | string {
  const left = evalExpr(m['left'], env, b);
  if (!left.ok) return left.absent ? false : left.why;
  const op = typeof m['op'] === 'string' ? m['op'] : '==';
  const right = m['right'];
  const lv = left.v;
  let hit: boolean;
  if (typeof right === 'string' && right.startsWith('@')) {
    const set = namedSet(env, rule, right);
    if (set === undefined) return `unknown set ${right}`;
    const r = lookupElements(set.elements, lv);
    if (r === undefined) return `cannot read the elements of set ${right}`;
    hit = r.found;
  } else if (isObject(right) && Array.isArray(right['set'])) {
    const r = lookupElements(right['set'] as unknown[], lv);
    if (r === undefined) return `cannot read ${renderValue(right)}`;
    hit = r.found;
  } else if (Array.isArray(lv)) {
    const parts =
      isObject(right) && Array.isArray(right['concat']) ? (right['concat'] as unknown[]) : undefined;
    if (parts === undefined || parts.length !== lv.length)
      return `cannot compare ${renderValue(m['left'])} with ${renderValue(right)}`;
    hit = parts.every((p, i) => {
      const l = literal(p, (lv[i] as Val).t);
      return l !== undefined && litMatches(l, lv[i] as Val);
    });
  } else {
    const v = lv as Val;
    if (Array.isArray(right) && v.t !== 'tcpflags') {
      const lits = right.map((r) => literal(r, v.t));
      if (lits.some((l) => l === undefined)) return `cannot read ${renderValue(right)}`;
      hit = lits.some((l) => l !== undefined && litMatches(l, v));
    } else {
      const l = literal(right, v.t);
      if (l === undefined) return `cannot read ${renderValue(right)} as ${v.t}`;
      if (
        op === 'in' &&
        v.t === 'tcpflags' &&
        l.kind === 'exact' &&
        l.val.n !== undefined &&
        v.n !== undefined
      )
        hit = (v.n & l.val.n) !== 0n;
      else if (op === '<' || op === '>' || op === '<=' || op === '>=') {
        if (l.kind !== 'exact' || l.val.n === undefined || v.n === undefined)
          return `cannot order ${renderValue(right)}`;
        const a = v.n;
        const c = l.val.n;
        return op === '<' ? a < c : op === '>' ? a > c : op === '<=' ? a <= c : a >= c;
      } else hit = litMatches(l, v);
    }
  }
  if (op === '==' || op === 'in') return hit;
  if (op === '!=') return !hit;
  return `operator ${op}`;
}

type Action =
  | { readonly kind: 'next' }
  | { readonly kind: 'final'; readonly verdict: NftVerdict; readonly reason?: string }
  | { readonly kind: 'accept' }
  | { readonly kind: 'return' }
  | { readonly kind: 'jump' | 'goto'; readonly target: string };

function verdictAction(x: unknown): Action | undefined {
  if (!isObject(x)) return undefined;
  const [k] = Object.keys(x);
  const v = k === undefined ? undefined : x[k];
  switch (k) {
    case 'accept':
      return { kind: 'accept' };
    case 'drop':
      return { kind: 'final', verdict: 'drop' };
    case 'reject':
      return { kind: 'final', verdict: 'reject' };
    case 'queue':
      return { kind: 'final', verdict: 'queue' };
    case 'return':
      return { kind: 'return' };
    case 'continue':
      return { kind: 'next' };
    case 'jump':
    case 'goto':
      return isObject(v) && typeof v['target'] === 'string' ? { kind: k, target: v['target'] } : undefined;
    default:
      return undefined;
  }
}

const NOOP_STATEMENTS = new Set([
  'counter',
  'log',
  'limit',
  'quota',
  'notrack',
  'set',
  'meter',
  'ct helper',
  'ct timeout',
  'ct expectation',
  'synproxy',
]);

function collectNumgens(x: unknown, out: Record<string, unknown>[]): void {
  if (Array.isArray(x)) {
    for (const y of x) collectNumgens(y, out);
    return;
  }
  if (!isObject(x)) return;
  const ng = x['numgen'];
  if (isObject(ng)) out.push(ng);
  for (const v of Object.values(x)) collectNumgens(v, out);
}

function cloneBranch(b: Branch, probability: number): Branch {
  return {
    packet: b.packet,
    probability,
    nat: [...b.nat],
    evidence: [...b.evidence],
    numgen: new Map(b.numgen),
  };
}

function evidenceOf(rule: NftRule): NftEvidence {
  return {
    family: rule.family,
    table: rule.table,
    chain: rule.chain,
    handle: rule.handle,
    rule: formatNftRule(rule),
  };
}

function applyNat(kind: NftNat['kind'], v: Record<string, unknown>, env: Env, b: Branch): string | undefined {
  const addrRaw = v['addr'];
  const portRaw = v['port'];
  if (addrRaw !== undefined && (typeof addrRaw !== 'string' || !isIp(addrRaw)))
    return `${kind} to ${renderValue(addrRaw)}`;
  if (portRaw !== undefined && typeof portRaw !== 'number') return `${kind} to port ${renderValue(portRaw)}`;
  const addr = addrRaw === undefined ? undefined : normalizeIp(addrRaw);
  const port = portRaw;
  const p = b.packet;
  if (kind === 'dnat') b.packet = { ...p, dst: addr ?? p.dst, dport: port ?? p.dport };
  else if (kind === 'snat') b.packet = { ...p, src: addr ?? p.src, sport: port ?? p.sport };
  else if (kind === 'masquerade' && env.ctx.masqueradeAddress !== undefined)
    b.packet = { ...p, src: normalizeIp(env.ctx.masqueradeAddress) };
  else if (kind === 'redirect') b.packet = { ...p, dport: port ?? p.dport };
  const nat: NftNat = {
    kind,
    ...(addr !== undefined ? { addr } : {}),
    ...(port !== undefined ? { port } : {}),
  };
  b.nat.push(
    kind === 'masquerade' && env.ctx.masqueradeAddress !== undefined
      ? { ...nat, addr: normalizeIp(env.ctx.masqueradeAddress) }
      : nat,
  );
  return undefined;
}

/** Runs one rule on one branch: the resulting branches (numgen forks) and what each does next. */
function runRule(rule: NftRule, env: Env, start: Branch): { branch: Branch; action: Action }[] {
  const numgens: Record<string, unknown>[] = [];
  collectNumgens(rule.expr, numgens);
  let branches = [start];
  for (const ng of numgens) {
    const mod = typeof ng['mod'] === 'number' ? ng['mod'] : 0;
    const offset = typeof ng['offset'] === 'number' ? ng['offset'] : 0;
    if (mod <= 0)
      return [
        {
          branch: start,
          action: { kind: 'final', verdict: 'unsupported', reason: 'numgen without modulus' },
        },
      ];
    branches = branches.flatMap((b) =>
      Array.from({ length: mod }, (_, i) => {
        const c = cloneBranch(b, b.probability / mod);
        c.numgen.set(ng, offset + i);
        return c;
      }),
    );
  }
  return branches.map((b) => ({ branch: b, action: runStatements(rule, env, b) }));
}

function runStatements(rule: NftRule, env: Env, b: Branch): Action {
  let recorded = false;
  const record = (): void => {
    if (!recorded) b.evidence.push(evidenceOf(rule));
    recorded = true;
  };
  const unsupportedAction = (why: string): Action => {
    record();
    return { kind: 'final', verdict: 'unsupported', reason: why };
  };
  for (const s of rule.expr) {
    if (!isObject(s)) return unsupportedAction(`statement ${JSON.stringify(s)}`);
    const [k] = Object.keys(s);
    const v = k === undefined ? undefined : s[k];
    if (k === 'match') {
      if (!isObject(v)) return unsupportedAction('match');
      const r = evalMatch(v, env, b, rule);
      if (typeof r === 'string') return unsupportedAction(r);
      if (!r) return { kind: 'next' };
      continue;
    }
    if (k !== 'vmap') record();
    const verdict = verdictAction(s);
    if (verdict !== undefined) {
      record();
      return verdict;
    }
    if (k === 'vmap') {
      if (!isObject(v)) return unsupportedAction('vmap');
      const key = evalExpr(v['key'], env, b);
      if (!key.ok) return key.absent ? { kind: 'next' } : unsupportedAction(key.why);
      const data = v['data'];
      let elements: readonly unknown[] | undefined;
      if (typeof data === 'string' && data.startsWith('@')) elements = namedSet(env, rule, data)?.elements;
      else if (isObject(data) && Array.isArray(data['set'])) elements = data['set'] as unknown[];
      if (elements === undefined) return unsupportedAction(`vmap data ${renderValue(data)}`);
      const r = lookupElements(elements, key.v);
      if (r === undefined) return unsupportedAction(`cannot read vmap ${renderValue(data)}`);
      if (!r.found) return { kind: 'next' };
      const a = verdictAction(r.value);
      if (a === undefined) return unsupportedAction(`vmap verdict ${JSON.stringify(r.value)}`);
      record();
      return a;
    }
    if (k === 'dnat' || k === 'snat' || k === 'masquerade' || k === 'redirect') {
      const why = applyNat(k, isObject(v) ? v : {}, env, b);
      if (why !== undefined) return unsupportedAction(why);
      record();
      return { kind: 'accept' };
    }
    if (k === 'mangle') {
      if (!isObject(v)) return unsupportedAction('mangle');
      const target = v['key'];
      if (!isObject(target) || !isObject(target['meta']) || target['meta']['key'] !== 'mark') {
        if (isObject(target) && isObject(target['ct'])) {
          record();
          continue;
        }
        return unsupportedAction(`mangle ${renderValue(target)}`);
      }
      let value: bigint | undefined;
      if (typeof v['value'] === 'number') value = BigInt(v['value']);
      else {
        const r = evalExpr(v['value'], env, b);
        if (!r.ok) return unsupportedAction(r.absent ? 'meta mark set of an absent value' : r.why);
        value = Array.isArray(r.v) ? undefined : (r.v as Val).n;
      }
      if (value === undefined) return unsupportedAction(`meta mark set ${renderValue(v['value'])}`);
      b.packet = { ...b.packet, mark: Number(value & 0xffffffffn) };
      record();
      continue;
    }
    if (k !== undefined && NOOP_STATEMENTS.has(k)) continue;
    return unsupportedAction(
      k === 'xt' ? `iptables-nft compat expression ${renderStatement(s)}` : `statement ${k ?? ''}`,
    );
  }
  return { kind: 'next' };
}

type ChainEnd =
  | { readonly branch: Branch; readonly end: 'return' | 'accept' }
  | {
      readonly branch: Branch;
      readonly end: 'final';
      readonly verdict: NftVerdict;
      readonly reason?: string;
    };

const MAX_DEPTH = 16;

/** Runs the rules of `chain` on one branch until every fork returns or reaches a verdict. */
function runChain(env: Env, table: NftTable, chain: string, b: Branch, depth: number): ChainEnd[] {
  const rules = env.ruleset.chainRules.get(nftKey(table.family, table.name, chain));
  if (rules === undefined)
    return [{ branch: b, end: 'final', verdict: 'unsupported', reason: `jump to unknown chain ${chain}` }];
  if (depth > MAX_DEPTH)
    return [
      { branch: b, end: 'final', verdict: 'unsupported', reason: `more than ${MAX_DEPTH} nested jumps` },
    ];
  const out: ChainEnd[] = [];
  const work: { branch: Branch; index: number }[] = [{ branch: b, index: 0 }];
  for (let head = 0; head < work.length; head++) {
    const item = work[head] as { branch: Branch; index: number };
    const rule = rules[item.index];
    if (rule === undefined) {
      out.push({ branch: item.branch, end: 'return' });
      continue;
    }
    for (const { branch, action } of runRule(rule, env, item.branch)) {
      switch (action.kind) {
        case 'next':
          work.push({ branch, index: item.index + 1 });
          break;
        case 'accept':
          out.push({ branch, end: 'accept' });
          break;
        case 'final':
          out.push({
            branch,
            end: 'final',
            verdict: action.verdict,
            ...(action.reason !== undefined ? { reason: action.reason } : {}),
          });
          break;
        case 'return':
          out.push({ branch, end: 'return' });
          break;
        case 'jump':
          for (const sub of runChain(env, table, action.target, branch, depth + 1)) {
            if (sub.end === 'return') work.push({ branch: sub.branch, index: item.index + 1 });
            else out.push(sub);
          }
          break;
        case 'goto':
          out.push(...runChain(env, table, action.target, branch, depth + 1));
          break;
      }
    }
  }
  return out;
}

const DNAT_HOOKS = new Set<NftHook>(['prerouting', 'output']);

const baseChainCache = new WeakMap<NftRuleset, readonly NftChain[]>();

function baseChains(ruleset: NftRuleset): readonly NftChain[] {
  let list = baseChainCache.get(ruleset);
  if (list === undefined) {
    list = ruleset.chains.filter((c) => c.hook !== undefined);
    baseChainCache.set(ruleset, list);
  }
  return list;
}

/** Where the NAT core sits on each hook (`nf_nat_ipv4_ops`: NF_IP_PRI_NAT_DST / NF_IP_PRI_NAT_SRC). */
const NAT_CORE_PRIORITY: Partial<Record<NftHook, number>> = {
  prerouting: -100,
  output: -100,
  input: 100,
  postrouting: 100,
};

function familyMatches(
  t: NftTable,
  packet: Packet,
  hook: NftHook,
  ctx: NftTraverseContext,
  chain: NftChain,
): boolean {
  if (t.family === 'inet') return true;
  if (t.family === 'ip') return packet.family === 4;
  if (t.family === 'ip6') return packet.family === 6;
  if (t.family === 'netdev')
    return (
      (hook === 'ingress' || hook === 'egress') &&
      (chain.devices.length === 0 || chain.devices.includes((hook === 'ingress' ? ctx.iif : ctx.oif) ?? ''))
    );
  return false;
}

/**
 * Runs a packet through every base chain registered at `hook` in the evaluated tables (by default
 * the native ones), in priority order, and returns each explored branch with its probability.
 *
 * @remarks Follows nf_tables semantics (nft(8), "VERDICT STATEMENT"; net/netfilter/nf_tables_core.c
 * `nft_do_chain`): `accept` ends only the current base chain and the packet goes on to the next
 * base chain of the hook; `drop`/`reject` end the traversal; `jump` returns, `goto` does not; a
 * base chain ends with its policy. NAT statements accept (`nft_nat_eval` returns `NF_ACCEPT`); `nat`
 * chains only see `NEW` packets and, once one has set up a translation for the hook's manip type,
 * later nat chains are skipped (`nf_nat_inet_fn`); all nat chains of a hook run at the NAT core's
 * priority (-100 for prerouting/output, 100 for input/postrouting, `nf_nat_register_fn`), their own
 * priorities only ordering them among themselves. `numgen random mod N` forks N equally likely
 * branches (kube-proxy's endpoint choice); a vmap lookup miss continues with the next rule. What the
 * evaluator cannot decide (unknown expressions, `xt` compat, missing interface or local-address
 * context) ends that branch as `unsupported` with a reason, never as a guess.
 */
export function traverseNftHook(
  ruleset: NftRuleset,
  hook: NftHook,
  ctx: NftTraverseContext,
): readonly NftOutcome[] {
  const tables = ctx.tables ?? nativeTables(ruleset);
  const tableOrder = new Map(ruleset.tables.map((t, i) => [nftKey(t.family, t.name), i]));
  const chains: { table: NftTable; chain: NftChain }[] = [];
  const wanted = new Set(tables.map((t) => nftKey(t.family, t.name)));
  for (const chain of baseChains(ruleset)) {
    if (chain.hook !== hook || !wanted.has(nftKey(chain.family, chain.table))) continue;
    const table = ruleset.tableIndex.get(nftKey(chain.family, chain.table));
    if (table === undefined || !familyMatches(table, ctx.packet, hook, ctx, chain)) continue;
    chains.push({ table, chain });
  }
  const slot = (c: NftChain): number =>
    c.type === 'nat' ? (NAT_CORE_PRIORITY[hook] ?? c.prio ?? 0) : (c.prio ?? 0);
  chains.sort(
    (a, b) =>
      slot(a.chain) - slot(b.chain) ||
      (a.chain.prio ?? 0) - (b.chain.prio ?? 0) ||
      (tableOrder.get(nftKey(a.table.family, a.table.name)) ?? 0) -
        (tableOrder.get(nftKey(b.table.family, b.table.name)) ?? 0) ||
      a.chain.handle - b.chain.handle,
  );
  const env: Env = { ruleset, ctx, hook, ctState: ctStateName(ctx.ctState) };
  const natKind = DNAT_HOOKS.has(hook) ? 'dnat' : 'snat';
  const done: NftOutcome[] = [];
  let live: Branch[] = [{ packet: ctx.packet, probability: 1, nat: [], evidence: [], numgen: new Map() }];
  for (const { table, chain } of chains) {
    const next: Branch[] = [];
    for (const b of live) {
      const natDone = b.nat.some((n) =>
        natKind === 'dnat'
          ? n.kind === 'dnat' || n.kind === 'redirect'
          : n.kind === 'snat' || n.kind === 'masquerade',
      );
      if (chain.type === 'nat' && (ctx.ctState !== 'NEW' || natDone)) {
        next.push(b);
        continue;
      }
      for (const end of runChain(env, table, chain.name, cloneBranch(b, b.probability), 0)) {
        const br = end.branch;
        if (end.end === 'final') done.push(outcome(br, end.verdict, end.reason));
        else if (end.end === 'accept') next.push(br);
        else if (chain.policy === 'drop') {
          br.evidence.push({
            family: table.family,
            table: table.name,
            chain: chain.name,
            rule: 'policy drop',
          });
          done.push(outcome(br, 'drop'));
        } else next.push(br);
      }
    }
    live = next;
  }
  for (const b of live) done.push(outcome(b, 'accept'));
  return done;
}

function outcome(b: Branch, verdict: NftVerdict, reason?: string): NftOutcome {
  return {
    probability: b.probability,
    verdict,
    packet: b.packet,
    nat: b.nat,
    evidence: b.evidence,
    ...(reason !== undefined ? { reason } : {}),
  };
}
