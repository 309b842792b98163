import type { Family } from './packet.js';
import type { Match } from './netfilter-match.js';
import type { Target } from './netfilter-target.js';

/** The iptables tables the kernel registers on netfilter hooks. */
export const NF_TABLES = ['raw', 'mangle', 'nat', 'filter', 'security'] as const;

/** One of {@link NF_TABLES}. */
export type NfTableName = (typeof NF_TABLES)[number];

/** The built-in chains of each table, as `iptables -t TABLE -L` lists them. */
export const BUILTIN_CHAINS: Readonly<Record<NfTableName, readonly string[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** Where one rule sits, for evidence: `iptables -t TABLE -L CHAIN --line-numbers` position and source line. */
export interface RuleRef {
  readonly kind: 'rule';
  readonly table: string;
  readonly chain: string;
  /** 1-based position in the chain, as `--line-numbers` prints it. */
  readonly index: number;
  /** 1-based line in the Dump field. */
  readonly line: number;
  /** The rule exactly as written in the dump (`-A CHAIN …`, without a `[p:b]` counter prefix). */
  readonly text: string;
}

/** A built-in chain's policy, when it decided a packet's fate. */
export interface PolicyRef {
  readonly kind: 'policy';
  readonly table: string;
  readonly chain: string;
  readonly policy: 'ACCEPT' | 'DROP';
  /** 1-based line of the `:CHAIN POLICY` declaration. */
  readonly line: number;
}

/** One compiled rule: where it is, what it matches, and what it does. */
export interface Rule extends RuleRef {
  readonly family: Family;
  /** Header matches (`-s`, `-d`, `-i`, `-o`, `-p`, `-f`) first, then `-m` matches in load order. */
  readonly matches: readonly Match[];
  readonly target: Target;
}

/**
 * A per-chain lookup that skips rules which cannot match a packet: rules keyed by the exact host
 * address (`-d a.b.c.d/32`) or the single destination port they require, plus the rules without
 * such a key, all as positions in rule order.
 */
export interface ChainIndex {
  readonly key: 'dst' | 'dport';
  readonly byKey: ReadonlyMap<number | string, readonly number[]>;
  readonly others: readonly number[];
}

/** One chain of one table. */
export interface Chain {
  readonly name: string;
  readonly table: string;
  /** Built-in chains have a policy; user chains (`-` in the dump) have none. */
  readonly builtin: boolean;
  readonly policy: 'ACCEPT' | 'DROP' | undefined;
  /** The policy as evidence, for built-in chains. */
  readonly policyRef: PolicyRef | undefined;
  /** 1-based line of the `:CHAIN` declaration. */
  readonly line: number;
  readonly packets: number;
  readonly bytes: number;
  /** Read from the dump when first asked for. */
  readonly rules: readonly Rule[];
  /** Present on long chains where indexing pays off; built when first asked for. */
  readonly index: ChainIndex | undefined;
}

/** One `*table … COMMIT` block. */
export interface NfTable {
  readonly name: string;
  /** 1-based line of the `*table` header. */
  readonly line: number;
  /** Chains in declaration order. */
  readonly chains: ReadonlyMap<string, Chain>;
}

/** A parsed `iptables-save` / `ip6tables-save` dump. */
export interface RuleSet {
  readonly family: Family;
  /** The Dump field it came from (`iptables`, `ip6tables`, `iptablesLegacy`). */
  readonly field: string;
  readonly tables: ReadonlyMap<string, NfTable>;
  readonly ruleCount: number;
}
