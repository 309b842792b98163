import type { Family } from './packet.js';
import type { Prefix } from './ip.js';
import { parsePrefix } from './ip.js';
import { NetstackParseError } from './parse-error.js';
import { formatDsfield, normalizeTable, parseDsfield } from './routes.js';

/** What a policy-routing rule does when it matches (`fib_rule.action`). */
export type RuleAction = 'lookup' | 'goto' | 'blackhole' | 'unreachable' | 'prohibit' | 'nop';

/** An inclusive port or uid range. */
export interface NumberRange {
  readonly start: number;
  readonly end: number;
}

/** One `ip rule`, as `ip -j rule show` prints it. */
export interface Rule {
  readonly family: Family;
  readonly priority: number;
  /** `not`: the whole selector is inverted (fib_rule_match negates the conjunction). */
  readonly not: boolean;
  /** `from` prefix; absent for `from all`. */
  readonly src?: Prefix;
  /** `to` prefix; absent when not given. */
  readonly dst?: Prefix;
  /** TOS/DSCP selector. */
  readonly tos?: number;
  readonly fwmark?: number;
  /** Mask applied to the packet mark; 0xffffffff when `fwmark` is given without one. */
  readonly fwmask?: number;
  readonly iif?: string;
  /** The `iif` device does not exist: the rule never matches (`[detached]`). */
  readonly iifDetached?: boolean;
  readonly oif?: string;
  readonly oifDetached?: boolean;
  /** `l3mdev`: look up the VRF table of the packet's l3 master device. */
  readonly l3mdev: boolean;
  readonly uidrange?: NumberRange;
  /** IP protocol number (`ipproto tcp` is 6). */
  readonly ipproto?: number;
  readonly sport?: NumberRange;
  readonly dport?: NumberRange;
  readonly action: RuleAction;
  /** Table looked up by a `lookup` rule (normalised like route tables); absent for `l3mdev`. */
  readonly table?: string;
  /** Target priority of a `goto` rule. */
  readonly gotoPriority?: number;
  /** A `goto` whose target priority has no rule: the kernel skips it (`[unresolved]`). */
  readonly unresolved?: boolean;
  /** Reject lookup results whose prefix length is <= this (`suppress_prefixlength`). */
  readonly suppressPrefixlength?: number;
  /** Reject lookup results whose output device is in this interface group (`suppress_ifgroup`). */
  readonly suppressIfgroup?: string;
  readonly realms?: string;
  /** Who installed the rule (`proto`), when `ip` printed it. */
  readonly protocol?: string;
}

/** IP protocol names as iproute2 prints them (getprotobynumber over a stock /etc/protocols). */
const PROTOCOLS: ReadonlyMap<string, number> = new Map([
  ['ip', 0],
  ['hopopt', 0],
  ['icmp', 1],
  ['igmp', 2],
  ['ggp', 3],
  ['ipencap', 4],
  ['st', 5],
  ['tcp', 6],
  ['egp', 8],
  ['igp', 9],
  ['pup', 12],
  ['udp', 17],
  ['hmp', 20],
  ['xns-idp', 22],
  ['rdp', 27],
  ['iso-tp4', 29],
  ['dccp', 33],
  ['xtp', 36],
  ['ddp', 37],
  ['idpr-cmtp', 38],
  ['ipv6', 41],
  ['ipv6-route', 43],
  ['ipv6-frag', 44],
  ['idrp', 45],
  ['rsvp', 46],
  ['gre', 47],
  ['esp', 50],
  ['ah', 51],
  ['skip', 57],
  ['ipv6-icmp', 58],
  ['ipv6-nonxt', 59],
  ['ipv6-opts', 60],
  ['rspf', 73],
  ['vmtp', 81],
  ['eigrp', 88],
  ['ospf', 89],
  ['ax.25', 93],
  ['ipip', 94],
  ['etherip', 97],
  ['encap', 98],
  ['pim', 103],
  ['ipcomp', 108],
  ['vrrp', 112],
  ['l2tp', 115],
  ['isis', 124],
  ['sctp', 132],
  ['fc', 133],
  ['mobility-header', 135],
  ['udplite', 136],
  ['mpls-in-ip', 137],
  ['manet', 138],
  ['hip', 139],
  ['shim6', 140],
  ['wesp', 141],
  ['rohc', 142],
  ['ethernet', 143],
]);
const PROTOCOL_NAMES: ReadonlyMap<number, string> = new Map(
  [...PROTOCOLS].reverse().map(([name, n]) => [n, name] as const),
);

/** An IP protocol number from the name iproute2 prints (`tcp`, `ipv6-icmp`, `ipproto-200`, `47`). */
export function parseIpProto(text: string): number | undefined {
  const named = PROTOCOLS.get(text.toLowerCase());
  if (named !== undefined) return named;
  const m = /^(?:ipproto-)?(\d+)$/.exec(text);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return n <= 255 ? n : undefined;
}

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseMark(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v !== 'string') return undefined;
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v.slice(2), 16) : /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : undefined;
}

function parseRule(r: unknown, i: number, family: Family, field: string): Rule {
  const where = `entry ${i}`;
  const bad = (what: string): NetstackParseError => new NetstackParseError(field, `${where}: bad ${what}`);
  if (!isObj(r)) throw new NetstackParseError(field, `${where}: not an object`);
  const priority = r['priority'];
  if (typeof priority !== 'number' || !Number.isInteger(priority)) throw bad('"priority"');
  const out: Record<string, unknown> = {
    family,
    priority,
    not: 'not' in r,
    l3mdev: 'l3mdev' in r,
  };
  const prefix = (key: 'src' | 'dst'): void => {
    const text = r[key];
    if (text === undefined || text === 'all') return;
    if (typeof text !== 'string') throw bad(`"${key}"`);
    const len = r[`${key}len`];
    if (len !== undefined && typeof len !== 'number') throw bad(`"${key}len"`);
    try {
      const p = parsePrefix(len === undefined ? text : `${text}/${len}`, family);
      if (p.family !== family) throw bad(`"${key}" family`);
      out[key] = p;
    } catch (e) {
      if (e instanceof NetstackParseError) throw e;
      throw bad(`"${key}" ${JSON.stringify(text)}`);
    }
  };
  prefix('src');
  prefix('dst');
  if (r['tos'] !== undefined) {
    const tos = typeof r['tos'] === 'string' ? parseDsfield(r['tos']) : undefined;
    if (tos === undefined) throw bad('"tos"');
    out['tos'] = tos;
  }
  if (r['fwmark'] !== undefined || r['fwmask'] !== undefined) {
    const mark = r['fwmark'] === undefined ? 0 : parseMark(r['fwmark']);
    const mask = r['fwmask'] === undefined ? 0xffffffff : parseMark(r['fwmask']);
    if (mark === undefined) throw bad('"fwmark"');
    if (mask === undefined) throw bad('"fwmask"');
    out['fwmark'] = mark;
    out['fwmask'] = mask;
  }
  for (const dir of ['iif', 'oif'] as const) {
    const dev = r[dir];
    if (dev === undefined) continue;
    if (typeof dev !== 'string') throw bad(`"${dir}"`);
    out[dir] = dev;
    if (`${dir}_detached` in r) out[`${dir}Detached`] = true;
  }
  if (r['uid_start'] !== undefined || r['uid_end'] !== undefined) {
    const start = r['uid_start'];
    const end = r['uid_end'];
    if (typeof start !== 'number' || typeof end !== 'number') throw bad('uid range');
    out['uidrange'] = { start, end };
  }
  if (r['ipproto'] !== undefined) {
    const p = r['ipproto'];
    const n = typeof p === 'number' ? p : typeof p === 'string' ? parseIpProto(p) : undefined;
    if (n === undefined) throw bad(`"ipproto" ${JSON.stringify(p)}`);
    out['ipproto'] = n;
  }
  for (const dir of ['sport', 'dport'] as const) {
    const single = r[dir];
    const start = r[`${dir}_start`];
    const end = r[`${dir}_end`];
    if (single !== undefined) {
      if (typeof single !== 'number') throw bad(`"${dir}"`);
      out[dir] = { start: single, end: single };
    } else if (start !== undefined || end !== undefined) {
      if (typeof start !== 'number' || typeof end !== 'number') throw bad(`"${dir}" range`);
      out[dir] = { start, end };
    }
  }
  const table = r['table'];
  if (table !== undefined && typeof table !== 'string' && typeof table !== 'number') throw bad('"table"');
  const action = r['action'];
  if (r['goto'] !== undefined) {
    if (typeof r['goto'] !== 'number') throw bad('"goto"');
    out['action'] = 'goto';
    out['gotoPriority'] = r['goto'];
    if ('unresolved' in r) out['unresolved'] = true;
  } else if ('nop' in r) {
    out['action'] = 'nop';
  } else if (action === 'blackhole' || action === 'unreachable' || action === 'prohibit') {
    out['action'] = action;
  } else if (action !== undefined && action !== 'lookup' && action !== 'to_tbl') {
    throw bad(`"action" ${JSON.stringify(action)}`);
  } else {
    out['action'] = 'lookup';
    if (table !== undefined) out['table'] = normalizeTable(table);
    else if (!('l3mdev' in r)) throw bad('rule: lookup without "table"');
  }
  const sp = r['suppress_prefixlen'];
  if (sp !== undefined) {
    if (typeof sp !== 'number') throw bad('"suppress_prefixlen"');
    out['suppressPrefixlength'] = sp;
  }
  const sg = r['suppress_ifgroup'];
  if (sg !== undefined) {
    if (typeof sg !== 'string' && typeof sg !== 'number') throw bad('"suppress_ifgroup"');
    out['suppressIfgroup'] = String(sg);
  }
  const flowTo = r['flow_to'];
  const flowFrom = r['flow_from'];
  if (flowTo !== undefined) {
    out['realms'] = flowFrom !== undefined ? `${String(flowFrom)}/${String(flowTo)}` : String(flowTo);
  }
  if (typeof r['protocol'] === 'string') out['protocol'] = r['protocol'];
  return out as unknown as Rule;
}

/**
 * Parses `ip -j rule show` (Dump field `rules`) or `ip -6 -j rule show` (`rules6`), in priority
 * order.
 *
 * @remarks Rules with equal priority keep their dump order, which is the kernel's evaluation order
 * (fib_nl_newrule inserts a rule after the existing ones of the same priority).
 */
export function parseRules(raw: unknown, family: Family): Rule[] {
  const field = family === 4 ? 'rules' : 'rules6';
  if (!Array.isArray(raw))
    throw new NetstackParseError(field, 'expected the JSON array printed by `ip -j rule show`');
  const rules = raw.map((r, i) => parseRule(r, i, family, field));
  return rules
    .map((rule, i) => ({ rule, i }))
    .sort((a, b) => a.rule.priority - b.rule.priority || a.i - b.i)
    .map((x) => x.rule);
}

function formatSelectorPrefix(p: Prefix): string {
  return p.length === (p.family === 4 ? 32 : 128) ? p.address : `${p.address}/${p.length}`;
}

function formatRange(r: NumberRange): string {
  return r.start === r.end ? String(r.start) : `${r.start}-${r.end}`;
}

/**
 * `rule` as one line of `ip rule show` (`100:\tfrom all fwmark 0x4000/0x4000 lookup 100`), used as
 * evidence.
 *
 * @remarks Follows iproute2's print_rule order: selectors, then the action, then
 * suppress_*, realms and proto.
 */
export function formatRule(rule: Rule): string {
  const parts: string[] = [];
  if (rule.not) parts.push('not');
  parts.push('from', rule.src === undefined ? 'all' : formatSelectorPrefix(rule.src));
  if (rule.dst !== undefined) parts.push('to', formatSelectorPrefix(rule.dst));
  if (rule.tos !== undefined) parts.push('tos', formatDsfield(rule.tos));
  if (rule.fwmark !== undefined) {
    const mark = `0x${rule.fwmark.toString(16)}`;
    parts.push(
      'fwmark',
      rule.fwmask === undefined || rule.fwmask === 0xffffffff
        ? mark
        : `${mark}/0x${rule.fwmask.toString(16)}`,
    );
  }
  if (rule.iif !== undefined)
    parts.push('iif', rule.iif, ...(rule.iifDetached === true ? ['[detached]'] : []));
  if (rule.oif !== undefined)
    parts.push('oif', rule.oif, ...(rule.oifDetached === true ? ['[detached]'] : []));
  if (rule.uidrange !== undefined) parts.push('uidrange', `${rule.uidrange.start}-${rule.uidrange.end}`);
  if (rule.ipproto !== undefined)
    parts.push('ipproto', PROTOCOL_NAMES.get(rule.ipproto) ?? `ipproto-${rule.ipproto}`);
  if (rule.sport !== undefined) parts.push('sport', formatRange(rule.sport));
  if (rule.dport !== undefined) parts.push('dport', formatRange(rule.dport));
  if (rule.action === 'lookup') {
    parts.push('lookup', rule.l3mdev ? '[l3mdev-table]' : (rule.table ?? 'unspec'));
    if (rule.suppressPrefixlength !== undefined)
      parts.push('suppress_prefixlength', String(rule.suppressPrefixlength));
    if (rule.suppressIfgroup !== undefined) parts.push('suppress_ifgroup', rule.suppressIfgroup);
  }
  if (rule.realms !== undefined) parts.push('realms', rule.realms);
  if (rule.action === 'goto') {
    parts.push('goto', String(rule.gotoPriority));
    if (rule.unresolved === true) parts.push('[unresolved]');
  } else if (rule.action !== 'lookup') {
    parts.push(rule.action);
  }
  if (rule.protocol !== undefined) parts.push('proto', rule.protocol);
  return `${rule.priority}:\t${parts.join(' ')}`;
}
