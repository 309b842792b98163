import type { Family } from './packet.js';
import { NetstackParseError } from './parse-error.js';
import { hostNetKey } from './netfilter-addr.js';
import {
  compileAddr,
  implicitModule,
  matchExtension,
  parseIface,
  protocolNumber,
  unknownModule,
  unsupportedMatch,
  type ExtensionSpec,
  type Match,
  isDigits,
  type RawOption,
} from './netfilter-match.js';
import { targetExtension, verdictTarget, type Target } from './netfilter-target.js';
import {
  BUILTIN_CHAINS,
  type Chain,
  type ChainIndex,
  type NfTable,
  type NfTableName,
  type PolicyRef,
  type Rule,
  type RuleRef,
  type RuleSet,
} from './netfilter-ruleset.js';

export type { RuleSet } from './netfilter-ruleset.js';

/** Chains shorter than this are scanned; longer ones get a {@link ChainIndex} when most rules carry a key. */
const INDEX_MIN_RULES = 32;

/** What the rules of one table share: where they came from, the chains they may jump to, and caches. */
interface TableContext {
  readonly field: string;
  readonly family: Family;
  readonly name: string;
  readonly line: number;
  /** The whole dump: rule texts are cut from it when a chain is first read. */
  readonly text: string;
  readonly lines: RuleLines;
  readonly chains: Map<string, LazyChain>;
  readonly store: ChainStore;
  /** Compiled matches and targets by text; they are immutable, so identical ones are shared. */
  readonly matches: Map<string, Match>;
  readonly targets: Map<string, Target>;
}

/**
 * Where each rule of a dump is: the span of its text (without a `[p:b]` prefix), its line, the
 * token its options start at, and the next rule of its chain (-1 at the end).
 */
class RuleLines {
  start = new Int32Array(1024);
  end = new Int32Array(1024);
  line = new Int32Array(1024);
  next = new Int32Array(1024);
  first = new Uint8Array(1024);
  size = 0;

  add(start: number, end: number, line: number, first: number): number {
    const id = this.size++;
    if (id === this.start.length) {
      const grow = <A extends Int32Array | Uint8Array>(a: A): A => {
        const b = new (a.constructor as new (n: number) => A)(a.length * 2);
        b.set(a);
        return b;
      };
      this.start = grow(this.start);
      this.end = grow(this.end);
      this.line = grow(this.line);
      this.next = grow(this.next);
      this.first = grow(this.first);
    }
    this.start[id] = start;
    this.end[id] = end;
    this.line[id] = line;
    this.next[id] = -1;
    this.first[id] = first;
    return id;
  }
}

/**
 * What is known of each chain of a table while the dump is read, by chain number: its declaration
 * line and counters, and its rules (a list linked through {@link RuleLines.next}, or an array once
 * `-I` reordered it).
 */
class ChainStore {
  readonly line: number[] = [];
  readonly packets: number[] = [];
  readonly bytes: number[] = [];
  readonly head: number[] = [];
  readonly tail: number[] = [];
  readonly count: number[] = [];
  readonly orders = new Map<number, number[]>();

  add(line: number, packets: number, bytes: number): number {
    const id = this.line.length;
    this.line.push(line);
    this.packets.push(packets);
    this.bytes.push(bytes);
    this.head.push(-1);
    this.tail.push(-1);
    this.count.push(0);
    return id;
  }
}

/**
 * A chain whose rules are known by position only until they are read: the first read of `rules`
 * cuts their texts out of the dump, and the first read of `index` compiles them to build it, so a
 * trace pays only for the chains it enters.
 */
class LazyChain implements Chain {
  readonly name: string;
  readonly builtin: boolean;
  policyRef: PolicyRef | undefined;
  readonly #t: TableContext;
  readonly #id: number;
  #rules: readonly Rule[] | undefined;
  #index: ChainIndex | undefined | null = null;

  constructor(t: TableContext, name: string, id: number, policyRef: PolicyRef | undefined) {
    this.#t = t;
    this.name = name;
    this.#id = id;
    this.builtin = policyRef !== undefined;
    this.policyRef = policyRef;
  }

  get table(): string {
    return this.#t.name;
  }

  get policy(): 'ACCEPT' | 'DROP' | undefined {
    return this.policyRef?.policy;
  }

  get line(): number {
    return this.#t.store.line[this.#id] as number;
  }

  get packets(): number {
    return this.#t.store.packets[this.#id] as number;
  }

  get bytes(): number {
    return this.#t.store.bytes[this.#id] as number;
  }

  /** How many rules the chain has. */
  get count(): number {
    return this.#t.store.count[this.#id] as number;
  }

  /** Sets the policy of a built-in chain (`-P`). */
  setPolicy(policy: 'ACCEPT' | 'DROP', line: number): void {
    this.policyRef = { kind: 'policy', table: this.#t.name, chain: this.name, policy, line };
  }

  /** Appends rule `id` (of {@link RuleLines}). */
  append(id: number): void {
    const s = this.#t.store;
    const c = this.#id;
    s.count[c] = (s.count[c] as number) + 1;
    const order = s.orders.size === 0 ? undefined : s.orders.get(c);
    const tail = s.tail[c] as number;
    if (order !== undefined) order.push(id);
    else if (tail < 0) s.head[c] = s.tail[c] = id;
    else {
      this.#t.lines.next[tail] = id;
      s.tail[c] = id;
    }
  }

  /** Inserts rule `id` at 0-based position `at`, as `-I` does. */
  insert(at: number, id: number): void {
    const s = this.#t.store;
    const order = this.#ids();
    order.splice(at, 0, id);
    s.orders.set(this.#id, order);
    s.count[this.#id] = (s.count[this.#id] as number) + 1;
  }

  #ids(): number[] {
    const s = this.#t.store;
    const order = s.orders.get(this.#id);
    if (order !== undefined) return order;
    const ids: number[] = [];
    const next = this.#t.lines.next;
    for (let id = s.head[this.#id] as number; id >= 0; id = next[id] as number) ids.push(id);
    return ids;
  }

  get rules(): readonly Rule[] {
    if (this.#rules === undefined) {
      const t = this.#t;
      const l = t.lines;
      this.#rules = this.#ids().map(
        (id, k) =>
          new SavedRule(
            t,
            this.name,
            k + 1,
            l.line[id] as number,
            t.text.slice(l.start[id], l.end[id]),
            l.first[id] as number,
          ),
      );
    }
    return this.#rules;
  }

  get index(): ChainIndex | undefined {
    if (this.#index === null)
      this.#index = this.count >= INDEX_MIN_RULES ? buildIndex(this.rules) : undefined;
    return this.#index;
  }
}

/** An extension (match module or target) being collected while a rule is read. */
interface ExtBuild<T> {
  readonly name: string;
  readonly spec: ExtensionSpec<T> | undefined;
  readonly opts: RawOption[];
  /** Span of its text in the rule while its tokens are contiguous; `parts` once they are not. */
  start: number;
  end: number;
  parts: string[] | undefined;
  /** Set for an option no loaded extension claims. */
  readonly orphan: boolean;
}

/** A malformed rule body, found when the rule is compiled. */
class RuleError extends Error {}

function extend(
  x: { start: number; end: number; parts: string[] | undefined },
  body: string,
  start: number,
  end: number,
): void {
  if (x.parts === undefined && start === x.end + 1 && body.charCodeAt(x.end) === 32) x.end = end;
  else {
    if (x.parts === undefined) x.parts = x.end > x.start ? [body.slice(x.start, x.end)] : [];
    x.parts.push(body.slice(start, end));
  }
}

function extText(x: { start: number; end: number; parts: string[] | undefined }, body: string): string {
  return x.parts === undefined ? body.slice(x.start, x.end) : x.parts.join(' ');
}

/** The short form of a long header option (`--source` → `-s`), or the option itself. */
function shortOption(tok: string): string {
  switch (tok) {
    case '--source':
    case '--src':
      return '-s';
    case '--destination':
    case '--dst':
      return '-d';
    case '--in-interface':
      return '-i';
    case '--out-interface':
      return '-o';
    case '--protocol':
      return '-p';
    case '--fragment':
      return '-f';
    case '--match':
      return '-m';
    case '--jump':
      return '-j';
    case '--goto':
      return '-g';
    case '--set-counters':
      return '-c';
    case '--ipv4':
      return '-4';
    case '--ipv6':
      return '-6';
    default:
      return tok;
  }
}

const tv: string[] = [];
const ts: number[] = [];
const te: number[] = [];
const tq: boolean[] = [];

/**
 * Splits `s` from `from` into arguments the way iptables-restore does (xshared.c
 * add_param_to_argv): blanks separate, `"` quotes, and inside quotes `\` escapes the next character.
 * Fills the scratch arrays and returns the count.
 */
function tokenize(s: string, from: number, field: string, line: number): number {
  let n = 0;
  let i = from;
  const len = s.length;
  for (;;) {
    let c = 0;
    while (i < len && ((c = s.charCodeAt(i)) === 32 || c === 9)) i++;
    if (i >= len) break;
    const start = i;
    let plain = true;
    while (i < len) {
      c = s.charCodeAt(i);
      if (c === 32 || c === 9) break;
      if (c === 34) {
        plain = false;
        break;
      }
      i++;
    }
    let value: string;
    let quoted = false;
    if (plain) value = s.slice(start, i);
    else {
      value = i > start ? s.slice(start, i) : '';
      let inQuote = false;
      while (i < len) {
        c = s.charCodeAt(i);
        if (inQuote) {
          const close = s.indexOf('"', i);
          const esc = s.indexOf('\\', i);
          if (close < 0) throw new NetstackParseError(field, 'unbalanced quotes', line);
          if (esc < 0 || esc > close) {
            value += s.slice(i, close);
            i = close + 1;
            inQuote = false;
          } else {
            value += s.slice(i, esc) + (s[esc + 1] ?? '');
            i = esc + 2;
          }
        } else if (c === 34) {
          inQuote = quoted = true;
          i++;
        } else if (c === 32 || c === 9) break;
        else {
          value += s[i];
          i++;
        }
      }
      if (inQuote) throw new NetstackParseError(field, 'unbalanced quotes', line);
    }
    tv[n] = value;
    ts[n] = start;
    te[n] = i;
    tq[n] = quoted;
    n++;
  }
  return n;
}

function isOptionToken(j: number, n: number): boolean {
  if (j >= n || tq[j]) return false;
  const t = tv[j] as string;
  if (t === '!')
    return (
      j + 1 < n &&
      !tq[j + 1] &&
      (tv[j + 1] as string).length > 1 &&
      (tv[j + 1] as string).charCodeAt(0) === 45
    );
  return t.length > 1 && t.charCodeAt(0) === 45;
}

function parseCounters(text: string): { packets: number; bytes: number } | undefined {
  if (!text.startsWith('[') || !text.endsWith(']')) return undefined;
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  const p = text.slice(1, colon);
  const b = text.slice(colon + 1, -1);
  if (!isDigits(p) || !isDigits(b)) return undefined;
  return { packets: Number(p), bytes: Number(b) };
}

function isTableName(name: string): name is NfTableName {
  return Object.prototype.hasOwnProperty.call(BUILTIN_CHAINS, name);
}

/**
 * Parses `iptables-save` / `ip6tables-save` output (also `iptables-restore` input in the form
 * kube-proxy writes it) into tables, chains and rules.
 * @remarks The structure is checked at once, in one pass over the lines: a rule before a `*table`
 * line, `-A` to an undeclared chain, a missing `COMMIT`, unbalanced quotes or a bad chain
 * declaration throw {@link NetstackParseError}. That pass only notes where each chain's rules are;
 * a chain's rules are cut from the text when first read, its index built when first used, and each
 * rule's matches and target compiled when first read (the text is kept once, by reference). Match
 * options are assigned to extensions as iptables' getopt table does: the most recently loaded
 * extension that defines the option, else the protocol's implicit module (`-p tcp --dport 80`).
 * Modules, options and targets skoop does not simulate, and rule bodies it cannot read, become
 * explicit `unsupported` markers on the rule; nothing is dropped. See iptables-save(8),
 * iptables-restore(8).
 */
export function parseIptablesSave(text: string, field: string): RuleSet {
  const family: Family = field.includes('6') || /^# Generated by ip6tables-save/.test(text) ? 6 : 4;
  const tables = new Map<string, NfTable>();
  const lines = new RuleLines();
  let cur: TableContext | undefined;
  let last: LazyChain | undefined;
  let ruleCount = 0;
  let lineNo = 0;
  let pos = 0;
  const len = text.length;
  // The next `"` and `\` at or after a position, found by one indexOf each and reused while ahead.
  let quoteAt = text.indexOf('"');
  let slashAt = text.indexOf('\\');
  const nextQuote = (from: number): number => {
    if (quoteAt >= 0 && quoteAt < from) quoteAt = text.indexOf('"', from);
    return quoteAt;
  };
  let tabAt = text.indexOf('\t');
  const nextTab = (from: number): number => {
    if (tabAt >= 0 && tabAt < from) tabAt = text.indexOf('\t', from);
    return tabAt < 0 ? len : tabAt;
  };
  const nextSlash = (from: number): number => {
    if (slashAt >= 0 && slashAt < from) slashAt = text.indexOf('\\', from);
    return slashAt;
  };
  while (pos < len) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = len;
    const next = end + 1;
    if (end > pos && text.charCodeAt(end - 1) === 13) end--;
    lineNo++;
    let start = pos;
    pos = next;
    while (start < end && (text.charCodeAt(start) === 32 || text.charCodeAt(start) === 9)) start++;
    while (end > start && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
    if (start >= end) continue;
    const c = text.charCodeAt(start);
    if (c === 35) continue;
    if (c === 42) {
      if (cur !== undefined)
        throw new NetstackParseError(
          field,
          `table ${cur.name} has no COMMIT before the next *table line`,
          lineNo,
        );
      const name = text.slice(start + 1, end).trim();
      if (name === '') throw new NetstackParseError(field, 'empty table name', lineNo);
      cur = {
        field,
        family,
        name,
        line: lineNo,
        text,
        lines,
        chains: new Map(),
        store: new ChainStore(),
        matches: new Map(),
        targets: new Map(),
      };
      last = undefined;
      continue;
    }
    if (end - start === 6 && text.startsWith('COMMIT', start)) {
      if (cur === undefined) throw new NetstackParseError(field, 'COMMIT outside a table', lineNo);
      tables.set(cur.name, { name: cur.name, line: cur.line, chains: cur.chains });
      cur = undefined;
      continue;
    }
    if (cur === undefined)
      throw new NetstackParseError(
        field,
        `"${text.slice(start, Math.min(end, start + 40))}" before a *table line`,
        lineNo,
      );
    if (c === 58) {
      declareChain(cur, start, end, nextTab(start) < end, lineNo);
      continue;
    }
    let body = start;
    if (c === 91) {
      const line = text.slice(start, end);
      const close = line.indexOf(']');
      const counters = close < 0 ? undefined : parseCounters(line.slice(0, close + 1));
      if (counters === undefined)
        throw new NetstackParseError(field, 'malformed [packets:bytes] prefix', lineNo);
      body = end - line.slice(close + 1).trimStart().length;
    }
    if (text.charCodeAt(body) !== 45)
      throw new NetstackParseError(
        field,
        `unexpected line "${text.slice(start, Math.min(end, start + 40))}"`,
        lineNo,
      );
    const quote = nextQuote(body);
    if (quote >= 0 && quote < end && !quotesBalanced(quote, end, nextQuote, nextSlash))
      throw new NetstackParseError(field, 'unbalanced quotes', lineNo);
    // The common `-A CHAIN …`: read the chain name in place, without tokenizing the rule.
    const c2 = text.charCodeAt(body + 2);
    if (text.charCodeAt(body + 1) === 65 && (c2 === 32 || c2 === 9)) {
      let cs = body + 3;
      while (cs < end && (text.charCodeAt(cs) === 32 || text.charCodeAt(cs) === 9)) cs++;
      // Rules of a chain mostly come together: try the previous rule's chain before scanning the name.
      let ce = last !== undefined && text.startsWith(last.name, cs) ? cs + last.name.length : cs;
      while (ce < end && text.charCodeAt(ce) !== 32 && text.charCodeAt(ce) !== 9) ce++;
      if (cs < end && (quote < 0 || quote >= ce)) {
        if (last === undefined || last.name.length !== ce - cs || !text.startsWith(last.name, cs)) {
          const name = text.slice(cs, ce);
          last = cur.chains.get(name);
          if (last === undefined)
            throw new NetstackParseError(
              field,
              `-A to undeclared chain ${name} in table ${cur.name}`,
              lineNo,
            );
        }
        last.append(lines.add(body, end, lineNo, 2));
        ruleCount++;
        continue;
      }
    }
    if (command(cur, text.slice(body, end), body, end, lineNo)) ruleCount++;
  }
  if (cur !== undefined) throw new NetstackParseError(field, `table ${cur.name} has no COMMIT`, lineNo);
  return { family, field, tables, ruleCount };
}

/**
 * Whether the quotes of a line balance the way the iptables-restore tokenizer reads them (a `\`
 * inside quotes escapes the next character), given its first quote and its end.
 */
function quotesBalanced(
  first: number,
  end: number,
  nextQuote: (from: number) => number,
  nextSlash: (from: number) => number,
): boolean {
  let i = first + 1;
  for (;;) {
    const close = nextQuote(i);
    if (close < 0 || close >= end) return false;
    const slash = nextSlash(i);
    if (slash >= 0 && slash < close) {
      i = slash + 2;
      continue;
    }
    const open = nextQuote(close + 1);
    if (open < 0 || open >= end) return true;
    i = open + 1;
  }
}

/** Declares the chain of a `:NAME POLICY [packets:bytes]` line (`start`…`end` of the dump). */
function declareChain(t: TableContext, start: number, end: number, hasTab: boolean, lineNo: number): void {
  const text = t.text;
  const malformed = (): NetstackParseError =>
    new NetstackParseError(t.field, `malformed chain declaration "${text.slice(start, end)}"`, lineNo);
  let sp1 = text.indexOf(' ', start);
  if (sp1 >= end) sp1 = -1;
  let sp2 = sp1 < 0 ? -1 : text.indexOf(' ', sp1 + 1);
  if (sp2 >= end) sp2 = -1;
  const policyEnd = sp2 < 0 ? end : sp2;
  if (sp1 < 0 || sp1 === start + 1 || policyEnd === sp1 + 1 || hasTab) throw malformed();
  const name = text.slice(start + 1, sp1);
  if (t.chains.has(name))
    throw new NetstackParseError(t.field, `chain ${name} declared twice in table ${t.name}`, lineNo);
  let packets = 0;
  let bytes = 0;
  if (sp2 >= 0 && !(end - sp2 === 6 && text.startsWith('[0:0]', sp2 + 1))) {
    const counters = parseCounters(text.slice(sp2 + 1, end));
    if (counters === undefined)
      throw new NetstackParseError(t.field, `malformed counters in "${text.slice(start, end)}"`, lineNo);
    ({ packets, bytes } = counters);
  }
  const plen = policyEnd - sp1 - 1;
  if (plen === 1 && text.charCodeAt(sp1 + 1) === 45) {
    addChain(t, name, undefined, lineNo, packets, bytes);
    return;
  }
  const policy = text.slice(sp1 + 1, policyEnd);
  if (policy !== 'ACCEPT' && policy !== 'DROP')
    throw new NetstackParseError(t.field, `unknown chain policy ${policy}`, lineNo);
  if (isTableName(t.name) && !BUILTIN_CHAINS[t.name].includes(name)) {
    throw new NetstackParseError(
      t.field,
      `${name} is not a built-in chain of table ${t.name} but has policy ${policy}`,
      lineNo,
    );
  }
  addChain(t, name, policy, lineNo, packets, bytes);
}

function addChain(
  t: TableContext,
  name: string,
  policy: 'ACCEPT' | 'DROP' | undefined,
  line: number,
  packets: number,
  bytes: number,
): LazyChain {
  const id = t.store.add(line, packets, bytes);
  const policyRef: PolicyRef | undefined =
    policy === undefined ? undefined : { kind: 'policy', table: t.name, chain: name, policy, line };
  const ch = new LazyChain(t, name, id, policyRef);
  t.chains.set(name, ch);
  return ch;
}

/** Runs one command line (`body`, at `start`…`end` of the dump) of a table block; returns whether it added a rule. */
function command(t: TableContext, body: string, start: number, end: number, lineNo: number): boolean {
  const n = tokenize(body, 0, t.field, lineNo);
  const cmd = tv[0] as string;
  const chainName = n > 1 ? (tv[1] as string) : undefined;
  switch (cmd) {
    case '-A':
    case '--append':
    case '-I':
    case '--insert': {
      if (chainName === undefined) throw new NetstackParseError(t.field, `${cmd} without a chain`, lineNo);
      const chain = t.chains.get(chainName);
      if (chain === undefined)
        throw new NetstackParseError(
          t.field,
          `${cmd} to undeclared chain ${chainName} in table ${t.name}`,
          lineNo,
        );
      if (cmd !== '-I' && cmd !== '--insert') {
        chain.append(t.lines.add(start, end, lineNo, 2));
        return true;
      }
      let first = 2;
      let at = 0;
      if (n > 2 && !tq[2] && isDigits(tv[2] as string)) {
        at = Number(tv[2]) - 1;
        first = 3;
        if (at < 0 || at > chain.count)
          throw new NetstackParseError(t.field, `insert position ${at + 1} out of range`, lineNo);
      }
      chain.insert(at, t.lines.add(start, end, lineNo, first));
      return true;
    }
    case '-N':
    case '--new-chain':
      if (chainName === undefined) throw new NetstackParseError(t.field, '-N without a chain', lineNo);
      if (t.chains.has(chainName))
        throw new NetstackParseError(t.field, `chain ${chainName} declared twice in table ${t.name}`, lineNo);
      addChain(t, chainName, undefined, lineNo, 0, 0);
      return false;
    case '-P':
    case '--policy': {
      const chain = chainName === undefined ? undefined : t.chains.get(chainName);
      const policy = tv[2];
      if (chain === undefined || !chain.builtin || (policy !== 'ACCEPT' && policy !== 'DROP')) {
        throw new NetstackParseError(t.field, `bad policy command "${body}"`, lineNo);
      }
      chain.setPolicy(policy, lineNo);
      return false;
    }
    default:
      throw new NetstackParseError(t.field, `command ${cmd} is not expected in a dump`, lineNo);
  }
}

/**
 * A rule as read from the dump. Its place (table, chain, index, line, text) is fixed when the dump
 * is parsed; its matches and target are compiled from the text the first time they are read, so
 * that a node's 100k-rule dump costs only what a trace actually touches.
 */
class SavedRule implements Rule {
  readonly kind = 'rule';
  readonly table: string;
  readonly chain: string;
  index: number;
  readonly line: number;
  readonly text: string;
  readonly family: Family;
  readonly #ctx: TableContext;
  readonly #first: number;
  #matches: readonly Match[] | undefined;
  #target: Target | undefined;

  constructor(ctx: TableContext, chain: string, index: number, line: number, text: string, first: number) {
    this.table = ctx.name;
    this.chain = chain;
    this.index = index;
    this.line = line;
    this.text = text;
    this.family = ctx.family;
    this.#ctx = ctx;
    this.#first = first;
  }

  get matches(): readonly Match[] {
    if (this.#matches === undefined) this.#compile();
    return this.#matches as readonly Match[];
  }

  get target(): Target {
    if (this.#target === undefined) this.#compile();
    return this.#target as Target;
  }

  #compile(): void {
    const t = this.#ctx;
    try {
      const c = compileRule(t, this.text, this.#first);
      this.#matches = c.matches;
      this.#target = c.target;
    } catch (e) {
      if (!(e instanceof RuleError)) throw e;
      const reason = `${t.field}, line ${this.line}: ${e.message}`;
      this.#matches = [unsupportedMatch('rule', reason, this.text)];
      this.#target = { kind: 'unsupported', name: 'rule', reason, text: '' };
    }
  }

  /** Its index keys when it has the form of a kube-proxy Service rule ({@link serviceRuleKeys}). */
  serviceKeys(): RuleKeys | undefined {
    return this.#matches !== undefined ? undefined : serviceRuleKeys(this, this.#ctx, this.#first);
  }

  /** The rule as evidence (without its compiled form). */
  toJSON(): RuleRef {
    return {
      kind: 'rule',
      table: this.table,
      chain: this.chain,
      index: this.index,
      line: this.line,
      text: this.text,
    };
  }
}

function headerMatch(t: TableContext, tok: string, negated: boolean, a: string, seg: string): Match {
  const cached = t.matches.get(seg);
  if (cached !== undefined) return cached;
  let m: Match;
  switch (tok) {
    case '-s':
    case '-d': {
      const am = compileAddr(tok === '-s' ? 'src' : 'dst', negated, a, t.family, seg);
      if (am === undefined) throw new RuleError(`invalid address "${a}"`);
      m = am;
      break;
    }
    case '-i':
    case '-o':
      m = { kind: 'iface', dir: tok === '-i' ? 'in' : 'out', negated, iface: parseIface(a), text: seg };
      break;
    case '-p': {
      const proto = protocolNumber(a);
      m =
        proto === undefined
          ? unsupportedMatch('protocol', `protocol ${a} is unknown`, seg)
          : { kind: 'proto', negated, proto, text: seg };
      break;
    }
    default:
      m = { kind: 'fragment', negated, text: seg };
  }
  t.matches.set(seg, m);
  return m;
}

/** Compiles the options of one rule (tokens from `first` of `body`); throws {@link RuleError} when malformed. */
function compileRule(
  t: TableContext,
  body: string,
  first: number,
): { matches: readonly Match[]; target: Target } {
  const n = tokenize(body, 0, t.field, 0);
  const family = t.family;
  const matches: Match[] = [];
  const mods: ExtBuild<Match>[] = [];
  let target: ExtBuild<Target> | undefined;
  let jumpName: string | undefined;
  let jumpGoto = false;
  let jumpText = '';
  let cur: ExtBuild<Match> | ExtBuild<Target> | undefined;
  let proto: number | undefined;
  let neg = false;
  let negStart = 0;
  let i = first;
  while (i < n) {
    let tok = tv[i] as string;
    if (tok === '!' && !tq[i]) {
      if (neg) throw new RuleError('double "!"');
      neg = true;
      negStart = ts[i] as number;
      i++;
      continue;
    }
    if (tq[i] || tok.length < 2 || tok.charCodeAt(0) !== 45)
      throw new RuleError(`unexpected argument "${tok}"`);
    const segStart = neg ? negStart : (ts[i] as number);
    if (tok.charCodeAt(1) === 45) tok = shortOption(tok);
    if (tok.charCodeAt(1) !== 45) {
      // A header option or -m/-j/-g/-c.
      let negated = neg;
      neg = false;
      let a = '';
      if (
        tok === '-s' ||
        tok === '-d' ||
        tok === '-i' ||
        tok === '-o' ||
        tok === '-p' ||
        tok === '-m' ||
        tok === '-j' ||
        tok === '-g'
      ) {
        i++;
        if (i < n && tv[i] === '!' && !tq[i]) {
          if (negated) throw new RuleError('double "!"');
          negated = true;
          i++;
        }
        if (i >= n) throw new RuleError(`${tok} needs an argument`);
        a = tv[i] as string;
      }
      const segEnd = te[i] as number;
      switch (tok) {
        case '-s':
        case '-d':
        case '-i':
        case '-o':
        case '-p':
        case '-f': {
          const m = headerMatch(t, tok, negated, a, body.slice(segStart, segEnd));
          matches.push(m);
          if (m.kind === 'proto' && !m.negated) proto = m.proto;
          cur = undefined;
          break;
        }
        case '-m': {
          if (negated) throw new RuleError('"!" before -m');
          const m: ExtBuild<Match> = {
            name: a,
            spec: matchExtension(a, family),
            opts: [],
            start: segStart,
            end: segEnd,
            parts: undefined,
            orphan: false,
          };
          mods.push(m);
          cur = m;
          break;
        }
        case '-j':
        case '-g':
          if (negated) throw new RuleError(`"!" before ${tok}`);
          if (target !== undefined || jumpName !== undefined) throw new RuleError('more than one target');
          if (tok === '-g' || a === 'ACCEPT' || a === 'DROP' || a === 'RETURN' || t.chains.has(a)) {
            jumpName = a;
            jumpGoto = tok === '-g';
            jumpText = body.slice(segStart, segEnd);
            cur = undefined;
          } else {
            target = {
              name: a,
              spec: targetExtension(a),
              opts: [],
              start: segStart,
              end: segEnd,
              parts: undefined,
              orphan: false,
            };
            cur = target;
          }
          break;
        case '-c':
          i += 2;
          if (i >= n) throw new RuleError('-c needs packet and byte counts');
          break;
        case '-4':
        case '-6':
          break;
        default:
          throw new RuleError(`unknown option ${tok}`);
      }
      i++;
      continue;
    }
    // An extension option.
    const name = tok.slice(2);
    const owner = ownerOf(name, cur, mods, target, proto, family);
    let negated = neg;
    neg = false;
    let canonical = name;
    let arity: number;
    const spec = owner.spec?.options.get(name);
    if (spec !== undefined) {
      [canonical, arity] = spec;
      if (arity > 0 && i + 1 < n && tv[i + 1] === '!' && !tq[i + 1]) {
        if (negated) throw new RuleError('double "!"');
        negated = true;
        i++;
      }
    } else {
      let j = i + 1;
      while (j < n && !isOptionToken(j, n)) j++;
      arity = j - i - 1;
    }
    if (i + arity >= n) throw new RuleError(`--${name} needs ${arity} argument${arity === 1 ? '' : 's'}`);
    const args = arity === 0 ? [] : tv.slice(i + 1, i + 1 + arity);
    i += arity;
    owner.opts.push({ name: canonical, negated, args });
    if (owner.orphan && owner.opts.length === 1) {
      owner.start = segStart;
      owner.end = te[i] as number;
      mods.push(owner as ExtBuild<Match>);
    } else extend(owner, body, segStart, te[i] as number);
    if (!owner.orphan) cur = owner;
    i++;
  }
  if (neg) throw new RuleError('"!" at the end of the rule');

  for (const m of mods) {
    const mtext = extText(m, body);
    const key = m.parts === undefined ? mtext : `${m.name}\0${mtext}`;
    let compiled = t.matches.get(key);
    if (compiled === undefined) {
      if (m.orphan)
        compiled = unsupportedMatch(m.name, `option ${m.name} belongs to no loaded match or target`, mtext);
      else if (m.spec === undefined) compiled = unknownModule(m.name, mtext);
      else compiled = m.spec.compile(m.opts, { family, text: mtext });
      t.matches.set(key, compiled);
    }
    matches.push(compiled);
  }
  let compiled: Target = NO_TARGET;
  if (target !== undefined) {
    const ttext = extText(target, body);
    const cached = t.targets.get(ttext);
    if (cached !== undefined) compiled = cached;
    else {
      compiled =
        target.spec !== undefined
          ? target.spec.compile(target.opts, { family, text: ttext })
          : {
              kind: 'unsupported',
              name: target.name,
              reason: `target ${target.name} is neither a chain of table ${t.name} nor a simulated extension`,
              text: ttext,
            };
      t.targets.set(ttext, compiled);
    }
  } else if (jumpName !== undefined) {
    const cached = t.targets.get(jumpText);
    if (cached !== undefined) compiled = cached;
    else {
      if (!jumpGoto && verdictTarget(jumpName, jumpText) !== undefined)
        compiled = verdictTarget(jumpName, jumpText) as Target;
      else if (t.chains.has(jumpName))
        compiled = { kind: 'jump', chain: jumpName, goto: jumpGoto, text: jumpText };
      else
        compiled = {
          kind: 'unsupported',
          name: jumpName,
          reason: `chain ${jumpName} does not exist in table ${t.name}`,
          text: jumpText,
        };
      t.targets.set(jumpText, compiled);
    }
  }
  return { matches, target: compiled };
}

const NO_TARGET: Target = { kind: 'none', text: '' };

/** Which loaded extension takes `--name` (see {@link parseIptablesSave}). */
function ownerOf(
  name: string,
  cur: ExtBuild<Match> | ExtBuild<Target> | undefined,
  mods: ExtBuild<Match>[],
  target: ExtBuild<Target> | undefined,
  proto: number | undefined,
  family: Family,
): ExtBuild<Match> | ExtBuild<Target> {
  if (cur !== undefined && (cur.spec === undefined || cur.spec.options.has(name))) return cur;
  for (let k = mods.length - 1; k >= 0; k--) {
    const m = mods[k] as ExtBuild<Match>;
    if (m.spec?.options.has(name)) return m;
  }
  if (target?.spec?.options.has(name)) return target;
  if (proto !== undefined) {
    const implicit = implicitModule(proto, family);
    const spec = implicit === undefined ? undefined : matchExtension(implicit, family);
    if (implicit !== undefined && spec?.options.has(name)) {
      const m: ExtBuild<Match> = {
        name: implicit,
        spec,
        opts: [],
        start: 0,
        end: 0,
        parts: [],
        orphan: false,
      };
      mods.push(m);
      return m;
    }
  }
  for (let k = mods.length - 1; k >= 0; k--) {
    const m = mods[k] as ExtBuild<Match>;
    if (m.spec === undefined && !m.orphan) return m;
  }
  if (target !== undefined && target.spec === undefined) return target;
  return { name: `--${name}`, spec: undefined, opts: [], start: 0, end: 0, parts: undefined, orphan: true };
}

/** The index keys a rule offers: its exact destination host, and its single destination port. */
interface RuleKeys {
  readonly dst: number | string | undefined;
  readonly dport: number | undefined;
}

/**
 * A Service rule as iptables-save prints kube-proxy's (`-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m
 * comment --comment "default/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-SVC-…`), and as
 * kube-proxy writes it to iptables-restore (`-A KUBE-SERVICES -m comment --comment "…" -m tcp -p tcp
 * -d 10.96.0.1/32 --dport 443 -j KUBE-SVC-…`): one token per option, a comment without quotes or
 * escapes inside, the same protocol for `-p` and `-m`.
 */
const SERVICE_RULES: readonly RegExp[] = [
  /^-A [^\s"\\]+ -d (?<addr>[0-9.]+\/32) -p (?<p>tcp|udp|sctp) -m comment --comment "[^"\\]*" -m \k<p> --dport (?<port>[0-9]{1,5}) -j (?<target>[^\s"\\]+)$/,
  /^-A [^\s"\\]+ -m comment --comment "[^"\\]*" -m (?<p>tcp|udp|sctp) -p \k<p> -d (?<addr>[0-9.]+\/32) --dport (?<port>[0-9]{1,5}) -j (?<target>[^\s"\\]+)$/,
];

/**
 * The keys of a rule of a {@link SERVICE_RULES} form, read from its text without compiling it (a
 * chain of 10,000 of them is indexed, and only the one a packet matches is compiled); `undefined`
 * for any other form. Such a rule compiles to `-d` (the same address match), `-p`, a comment and a
 * `ports` match with `--dport` (the `-m` module owns it in both orders); its target is a verdict or
 * a chain of the table, whose compilation cannot fail.
 */
function serviceRuleKeys(r: SavedRule, t: TableContext, first: number): RuleKeys | undefined {
  if (first !== 2 || t.family !== 4) return undefined;
  let g: Record<string, string> | undefined;
  for (const re of SERVICE_RULES) if ((g = re.exec(r.text)?.groups) !== undefined) break;
  if (g === undefined) return undefined;
  const { addr = '', port = '', target = '' } = g;
  if (target !== 'ACCEPT' && target !== 'DROP' && target !== 'RETURN' && !t.chains.has(target))
    return undefined;
  const dport = Number(port);
  const a = dport > 65535 ? undefined : compileAddr('dst', false, addr, 4, `-d ${addr}`);
  const net = a?.nets.length === 1 ? a.nets[0] : undefined;
  if (net?.host !== true) return undefined;
  return { dst: hostNetKey(net), dport };
}

/** The index keys a rule offers: its exact destination host, or its single destination port. */
function ruleKeys(r: Rule): RuleKeys {
  if (r instanceof SavedRule) {
    const k = r.serviceKeys();
    if (k !== undefined) return k;
  }
  let dst: number | string | undefined;
  let dport: number | undefined;
  for (const m of r.matches) {
    if (m.kind === 'addr' && m.dir === 'dst' && !m.negated && m.nets.length === 1 && m.nets[0]?.host === true)
      dst = hostNetKey(m.nets[0]);
    else if (
      m.kind === 'ports' &&
      m.dport !== undefined &&
      !m.dport.negated &&
      m.dport.value[0] === m.dport.value[1]
    )
      dport = m.dport.value[0];
  }
  return { dst, dport };
}

function buildIndex(rules: readonly Rule[]): ChainIndex | undefined {
  const keys = rules.map(ruleKeys);
  const withDst = keys.filter((k) => k.dst !== undefined).length;
  const withPort = keys.filter((k) => k.dport !== undefined).length;
  const key: 'dst' | 'dport' = withDst >= withPort ? 'dst' : 'dport';
  if (Math.max(withDst, withPort) * 2 < rules.length) return undefined;
  const byKey = new Map<number | string, number[]>();
  const others: number[] = [];
  keys.forEach((k, pos) => {
    const v = key === 'dst' ? k.dst : k.dport;
    if (v === undefined) others.push(pos);
    else {
      const list = byKey.get(v);
      if (list === undefined) byKey.set(v, [pos]);
      else list.push(pos);
    }
  });
  return { key, byKey, others };
}
