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

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface ChainBuild extends Mutable<Omit<Chain, 'rules'>> {
  rules: SavedRule[];
  inserted: boolean;
}

/** What the rules of one table share: where they came from, the chains they may jump to, and caches. */
interface TableContext {
  readonly field: string;
  readonly family: Family;
  readonly name: string;
  readonly line: number;
  readonly chains: Map<string, ChainBuild>;
  /** Compiled matches and targets by text; they are immutable, so identical ones are shared. */
  readonly matches: Map<string, Match>;
  readonly targets: Map<string, Target>;
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

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
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

/** Throws unless the quotes of `line` balance the way the iptables-restore tokenizer reads them. */
function checkQuotes(line: string, field: string, lineNo: number): void {
  let inQuote = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 34) inQuote = !inQuote;
    else if (c === 92 && inQuote) i++;
  }
  if (inQuote) throw new NetstackParseError(field, 'unbalanced quotes', lineNo);
}

/**
 * Parses `iptables-save` / `ip6tables-save` output (also `iptables-restore` input in the form
 * kube-proxy writes it) into tables, chains and rules.
 * @remarks The structure is checked at once: a rule before a `*table` line, `-A` to an undeclared
 * chain, a missing `COMMIT`, unbalanced quotes or a bad chain declaration throw
 * {@link NetstackParseError}. Each rule's matches and target are compiled when first read. Match
 * options are assigned to extensions as iptables' getopt table does: the most recently loaded
 * extension that defines the option, else the protocol's implicit module (`-p tcp --dport 80`).
 * Modules, options and targets skoop does not simulate, and rule bodies it cannot read, become
 * explicit `unsupported` markers on the rule; nothing is dropped. See iptables-save(8),
 * iptables-restore(8).
 */
export function parseIptablesSave(text: string, field: string): RuleSet {
  const family: Family = field.includes('6') || /^# Generated by ip6tables-save/.test(text) ? 6 : 4;
  const tables = new Map<string, NfTable>();
  let cur: TableContext | undefined;
  let ruleCount = 0;
  let lineNo = 0;
  let pos = 0;
  const len = text.length;
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
      cur = { field, family, name, line: lineNo, chains: new Map(), matches: new Map(), targets: new Map() };
      continue;
    }
    const line = text.slice(start, end);
    if (line === 'COMMIT') {
      if (cur === undefined) throw new NetstackParseError(field, 'COMMIT outside a table', lineNo);
      tables.set(cur.name, finishTable(cur));
      cur = undefined;
      continue;
    }
    if (cur === undefined)
      throw new NetstackParseError(field, `"${line.slice(0, 40)}" before a *table line`, lineNo);
    if (c === 58) {
      declareChain(cur, line, lineNo);
      continue;
    }
    let body = line;
    if (c === 91) {
      const close = line.indexOf(']');
      const counters = close < 0 ? undefined : parseCounters(line.slice(0, close + 1));
      if (counters === undefined)
        throw new NetstackParseError(field, 'malformed [packets:bytes] prefix', lineNo);
      body = line.slice(close + 1).trimStart();
    }
    if (body.charCodeAt(0) !== 45)
      throw new NetstackParseError(field, `unexpected line "${line.slice(0, 40)}"`, lineNo);
    if (body.indexOf('"') >= 0) checkQuotes(body, field, lineNo);
    if (command(cur, body, lineNo)) ruleCount++;
  }
  if (cur !== undefined) throw new NetstackParseError(field, `table ${cur.name} has no COMMIT`, lineNo);
  return { family, field, tables, ruleCount };
}

function declareChain(t: TableContext, line: string, lineNo: number): void {
  const sp1 = line.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
  const name = sp1 < 0 ? '' : line.slice(1, sp1);
  const policy = sp1 < 0 ? undefined : line.slice(sp1 + 1, sp2 < 0 ? line.length : sp2);
  const rest = sp2 < 0 ? undefined : line.slice(sp2 + 1);
  if (name === '' || policy === undefined || policy === '' || line.indexOf('\t') >= 0)
    throw new NetstackParseError(t.field, `malformed chain declaration "${line}"`, lineNo);
  if (t.chains.has(name))
    throw new NetstackParseError(t.field, `chain ${name} declared twice in table ${t.name}`, lineNo);
  const counters = rest === undefined ? { packets: 0, bytes: 0 } : parseCounters(rest);
  if (counters === undefined)
    throw new NetstackParseError(t.field, `malformed counters in "${line}"`, lineNo);
  let builtin = false;
  let pol: 'ACCEPT' | 'DROP' | undefined;
  if (policy === 'ACCEPT' || policy === 'DROP') {
    if (isTableName(t.name) && !BUILTIN_CHAINS[t.name].includes(name)) {
      throw new NetstackParseError(
        t.field,
        `${name} is not a built-in chain of table ${t.name} but has policy ${policy}`,
        lineNo,
      );
    }
    builtin = true;
    pol = policy;
  } else if (policy !== '-') throw new NetstackParseError(t.field, `unknown chain policy ${policy}`, lineNo);
  addChain(t, name, builtin, pol, lineNo, counters.packets, counters.bytes);
}

function addChain(
  t: TableContext,
  name: string,
  builtin: boolean,
  policy: 'ACCEPT' | 'DROP' | undefined,
  line: number,
  packets: number,
  bytes: number,
): ChainBuild {
  const policyRef: PolicyRef | undefined =
    policy === undefined ? undefined : { kind: 'policy', table: t.name, chain: name, policy, line };
  const ch: ChainBuild = {
    name,
    table: t.name,
    builtin,
    policy,
    policyRef,
    line,
    packets,
    bytes,
    rules: [],
    index: undefined,
    inserted: false,
  };
  t.chains.set(name, ch);
  return ch;
}

/** Runs one command line of a table block; returns whether it added a rule. */
function command(t: TableContext, body: string, lineNo: number): boolean {
  if (body.startsWith('-A ') && body.charCodeAt(3) !== 32 && body.charCodeAt(3) !== 9) {
    let sp = body.indexOf(' ', 3);
    if (sp < 0) sp = body.length;
    const tab = body.indexOf('\t', 3);
    if (tab < 0 || tab > sp) {
      const name = body.slice(3, sp);
      const chain = t.chains.get(name);
      if (chain === undefined)
        throw new NetstackParseError(t.field, `-A to undeclared chain ${name} in table ${t.name}`, lineNo);
      chain.rules.push(new SavedRule(t, chain.name, chain.rules.length + 1, lineNo, body, 2));
      return true;
    }
  }
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
      let first = 2;
      let at = chain.rules.length;
      if (cmd === '-I' || cmd === '--insert') {
        at = 0;
        if (n > 2 && !tq[2] && isDigits(tv[2] as string)) {
          at = Number(tv[2]) - 1;
          first = 3;
          if (at < 0 || at > chain.rules.length)
            throw new NetstackParseError(t.field, `insert position ${at + 1} out of range`, lineNo);
        }
        chain.inserted = true;
      }
      const rule = new SavedRule(t, chain.name, at + 1, lineNo, body, first);
      if (at === chain.rules.length) chain.rules.push(rule);
      else chain.rules.splice(at, 0, rule);
      return true;
    }
    case '-N':
    case '--new-chain':
      if (chainName === undefined) throw new NetstackParseError(t.field, '-N without a chain', lineNo);
      if (t.chains.has(chainName))
        throw new NetstackParseError(t.field, `chain ${chainName} declared twice in table ${t.name}`, lineNo);
      addChain(t, chainName, false, undefined, lineNo, 0, 0);
      return false;
    case '-P':
    case '--policy': {
      const chain = chainName === undefined ? undefined : t.chains.get(chainName);
      const policy = tv[2];
      if (chain === undefined || !chain.builtin || (policy !== 'ACCEPT' && policy !== 'DROP')) {
        throw new NetstackParseError(t.field, `bad policy command "${body}"`, lineNo);
      }
      chain.policy = policy;
      chain.policyRef = { kind: 'policy', table: t.name, chain: chain.name, policy, line: lineNo };
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
    try {
      const c = compileRule(this.#ctx, this.text, this.#first);
      this.#matches = c.matches;
      this.#target = c.target;
    } catch (e) {
      if (!(e instanceof RuleError)) throw e;
      const reason = `${this.#ctx.field}, line ${this.line}: ${e.message}`;
      this.#matches = [unsupportedMatch('rule', reason, this.text)];
      this.#target = { kind: 'unsupported', name: 'rule', reason, text: '' };
    }
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

function finishTable(t: TableContext): NfTable {
  const chains = new Map<string, Chain>();
  for (const ch of t.chains.values()) {
    if (ch.inserted) ch.rules.forEach((r, k) => (r.index = k + 1));
    const { inserted: _inserted, ...chain } = ch;
    chain.index = ch.rules.length >= INDEX_MIN_RULES ? buildIndex(ch.rules) : undefined;
    chains.set(ch.name, chain);
  }
  return { name: t.name, line: t.line, chains };
}

/** The index key a rule offers: its exact destination host, or its single destination port. */
function ruleKeys(r: Rule): { dst: number | string | undefined; dport: number | undefined } {
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
