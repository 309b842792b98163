/**
 * One network namespace as captured by the collector: each field is exactly what the named command
 * printed inside the namespace (CONTRACTS.md §2). An absent field means "not collected".
 */
export interface Dump {
  /** `ip -j -d address show` */
  readonly addresses?: unknown;
  /** `ip -j -d route show table all` */
  readonly routes?: unknown;
  /** `ip -6 -j -d route show table all` */
  readonly routes6?: unknown;
  /** `ip -j rule show` */
  readonly rules?: unknown;
  /** `ip -6 -j rule show` */
  readonly rules6?: unknown;
  /** `ip -j neigh show` */
  readonly neighbors?: unknown;
  /** `bridge -j fdb show` */
  readonly fdb?: unknown;
  /** `sysctl -a` restricted to `net.*` (text) */
  readonly sysctls?: string;
  /** `iptables-save` (text) */
  readonly iptables?: string;
  /** `iptables-legacy-save` (text) */
  readonly iptablesLegacy?: string;
  /** `ip6tables-save` (text) */
  readonly ip6tables?: string;
  /** `ipset save` (text) */
  readonly ipsets?: string;
  /** `ipvsadm -S -n` (text) */
  readonly ipvs?: string;
  /** `nft -j list ruleset` */
  readonly nftables?: unknown;
  /** `ss -H -l -n -t -u` (text) */
  readonly listeners?: string;
  /** Why a field is absent, by field name (e.g. `{ "ipvs": "ipvsadm: not found" }`). */
  readonly errors?: Readonly<Record<string, string>>;
}

/** The names of the Dump fields that hold command output. */
export const DUMP_FIELDS = [
  'addresses',
  'routes',
  'routes6',
  'rules',
  'rules6',
  'neighbors',
  'fdb',
  'sysctls',
  'iptables',
  'iptablesLegacy',
  'ip6tables',
  'ipsets',
  'ipvs',
  'nftables',
  'listeners',
] as const;

/** One field of a Dump. */
export type DumpField = (typeof DUMP_FIELDS)[number];
