import type { Dump, DumpField } from './dump.js';
import { parseLinks, type Link } from './links.js';
import { parseRoutes, type Route } from './routes.js';
import { parseRules, type Rule } from './rules.js';
import { createRoutingState, type RoutingState } from './route-lookup.js';
import { indexNeighbors, parseNeighbors, type NeighborIndex } from './neighbors.js';
import { indexFdb, parseFdb, type FdbIndex } from './fdb.js';
import { parseSysctls, type Sysctls } from './sysctls.js';
import { parseListeners, type Listener } from './listeners.js';
import { parseIptablesSave, type RuleSet } from './iptables-parse.js';
import { parseIpsetSave, createIpsetMatcher } from './ipset.js';
import { parseIpvs, type IpvsState } from './ipvs.js';
import type { IpsetMatcher } from './ipset-query.js';
import { nativeTables, parseNftables, type NftRuleset } from './nftables.js';

/**
 * One network namespace, parsed and indexed from its Dump: everything the simulators need to
 * decide what the kernel does with a packet there. Fields whose command was not collected are
 * `undefined` and named in `missing`.
 */
export interface Netns {
  readonly name: string;
  readonly dump: Dump;
  readonly links: readonly Link[];
  readonly linkByName: ReadonlyMap<string, Link>;
  readonly linkByIndex: ReadonlyMap<number, Link>;
  /** Ports of each bridge, by bridge name. */
  readonly bridgePorts: ReadonlyMap<string, readonly Link[]>;
  readonly routing: RoutingState;
  readonly sysctls: Sysctls | undefined;
  readonly neighbors: NeighborIndex | undefined;
  readonly fdb: FdbIndex | undefined;
  /** iptables-nft rules (`iptables`), then legacy rules when the legacy backend holds any. */
  readonly iptables4: readonly RuleSet[];
  readonly iptables6: readonly RuleSet[];
  readonly ipset: IpsetMatcher | undefined;
  /** The type of each ipset (`hash:ip,port`), for netfilter's `set` match. */
  readonly ipsetType: (name: string) => string | undefined;
  readonly listeners: readonly Listener[] | undefined;
  readonly ipvs: IpvsState | undefined;
  /** The native nftables ruleset (kube-proxy's nftables mode), when it has tables iptables-nft does not manage. */
  readonly nftables: NftRuleset | undefined;
  /** Dump fields that were not collected. */
  readonly missing: ReadonlySet<DumpField>;
}

const isPresent = (dump: Dump, field: DumpField): boolean => dump[field] !== undefined && dump[field] !== null;

/** Parses and indexes every collected field of `dump`; throws NetstackParseError on malformed output. */
export function buildNetns(name: string, dump: Dump): Netns {
  const missing = new Set<DumpField>();
  const field = <T>(f: DumpField, parse: () => T): T | undefined => {
    if (!isPresent(dump, f)) {
      missing.add(f);
      return undefined;
    }
    return parse();
  };
  const links = field('addresses', () => parseLinks(dump.addresses)) ?? [];
  const routes: Route[] = [
    ...(field('routes', () => parseRoutes(dump.routes, 4)) ?? []),
    ...(field('routes6', () => parseRoutes(dump.routes6, 6)) ?? []),
  ];
  const rules: Rule[] = [
    ...(field('rules', () => parseRules(dump.rules, 4)) ?? []),
    ...(field('rules6', () => parseRules(dump.rules6, 6)) ?? []),
  ];
  const linkByName = new Map(links.map((l) => [l.name, l]));
  const linkByIndex = new Map(links.map((l) => [l.ifindex, l]));
  const bridgePorts = new Map<string, Link[]>();
  for (const l of links) {
    if (l.master === undefined) continue;
    const list = bridgePorts.get(l.master) ?? [];
    list.push(l);
    bridgePorts.set(l.master, list);
  }
  const v4 = field('iptables', () => parseIptablesSave(dump.iptables ?? '', 'iptables'));
  const legacy = field('iptablesLegacy', () => parseIptablesSave(dump.iptablesLegacy ?? '', 'iptablesLegacy'));
  const v6 = field('ip6tables', () => parseIptablesSave(dump.ip6tables ?? '', 'ip6tables'));
  const ipsetState = field('ipsets', () => parseIpsetSave(dump.ipsets ?? ''));
  const nft = field('nftables', () => parseNftables(dump.nftables));
  return {
    name,
    dump,
    links,
    linkByName,
    linkByIndex,
    bridgePorts,
    routing: createRoutingState(links, routes, rules),
    sysctls: field('sysctls', () => parseSysctls(dump.sysctls ?? '')),
    neighbors: field('neighbors', () => indexNeighbors(parseNeighbors(dump.neighbors))),
    fdb: field('fdb', () => indexFdb(parseFdb(dump.fdb))),
    iptables4: [v4, legacy].filter((r): r is RuleSet => r !== undefined),
    iptables6: v6 === undefined ? [] : [v6],
    ipset: ipsetState === undefined ? undefined : createIpsetMatcher(ipsetState),
    ipsetType: (name: string) => ipsetState?.sets.get(name)?.type,
    listeners: field('listeners', () => parseListeners(dump.listeners ?? '')),
    ipvs: field('ipvs', () => parseIpvs(dump.ipvs ?? '')),
    nftables: nft !== undefined && nativeTables(nft).length > 0 ? nft : undefined,
    missing,
  };
}
