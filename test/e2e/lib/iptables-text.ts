/** The built-in chains of each iptables table, in `iptables-save` order. */
const BUILTIN: Readonly<Record<IptablesTable, readonly string[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** An iptables table name. */
export type IptablesTable = 'raw' | 'mangle' | 'nat' | 'filter';

/** Options of {@link table}. */
export interface TableOptions {
  /** Policies of built-in chains (ACCEPT by default): `{ FORWARD: 'DROP' }`. */
  readonly policies?: Readonly<Record<string, 'ACCEPT' | 'DROP'>>;
  /** User chains to declare even if no `-A` line appends to them (an empty chain that is jumped to). */
  readonly chains?: readonly string[];
}

/**
 * One table in `iptables-save` format, for `iptables-restore`: chains are declared from the `-A` lines (plus
 * `opts.chains`), built-in policies default to ACCEPT.
 */
export function table(name: IptablesTable, rules: readonly string[], opts: TableOptions = {}): string {
  const builtin = BUILTIN[name];
  const user = new Set(opts.chains ?? []);
  for (const r of rules) {
    const chain = /^-A (\S+)/.exec(r)?.[1];
    if (chain !== undefined && !builtin.includes(chain)) user.add(chain);
  }
  return [
    `*${name}`,
    ...builtin.map((c) => `:${c} ${opts.policies?.[c] ?? 'ACCEPT'} [0:0]`),
    ...[...user].map((c) => `:${c} - [0:0]`),
    ...rules,
    'COMMIT',
    '',
  ].join('\n');
}
