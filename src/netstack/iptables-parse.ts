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
import { BUILTIN_CHAINS, type Chain, type ChainIndex, type NfTable, type NfTableName, type PolicyRef, type Rule, type RuleSet } from './netfilter-ruleset.js';

export type { RuleSet } from './netfilter-ruleset.js';

/** Chains shorter than this are scanned; longer ones get a {@link ChainIndex} when most rules carry a key. */
const INDEX_MIN_RULES = 32;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface ChainBuild extends Mutable<Omit<Chain, 'rules'>> {
  rules: Mutable<Rule>[];
  inserted: boolean;
}

interface TableBuild {
  readonly name: string;
  readonly line: number;
  readonly chains: Map<string, ChainBuild>;
  readonly pending: { rule: Mutable<Rule>; name: string; goto: boolean }[];
}

/** An extension (match module or target) being collected while a rule is read. */
interface ExtBuild<T> {
  readonly name: string;
  readonly spec: ExtensionSpec<T> | undefined;
  readonly opts: RawOption[];
  readonly parts: string[];
  /** Set for an option no loaded extension claims. */
  readonly orphan: boolean;
}

const LONG_BASIC: Readonly<Record<string, string>> = {
  '--source': '-s',
  '--src': '-s',
  '--destination': '-d',
  '--dst': '-d',
  '--in-interface': '-i',
  '--out-interface': '-o',
  '--protocol': '-p',
  '--fragment': '-f',
  '--match': '-m',
  '--jump': '-j',
  '--goto': '-g',
  '--set-counters': '-c',
  '--ipv4': '-4',
  '--ipv6': '-6',
};

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
      value = '';
      i = start;
      let inQuote = false;
      while (i < len) {
        c = s.charCodeAt(i);
        if (inQuote) {
          if (c === 92 && i + 1 < len) {
            value += s[i + 1];
            i += 2;
          } else if (c === 34) {
            inQuote = false;
            i++;
          } else {
            value += s[i];
            i++;
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
  if (t === '!') return j + 1 < n && !tq[j + 1] && (tv[j + 1] as string).length > 1 && (tv[j + 1] as string).charCodeAt(0) === 45;
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

/**
 * Parses `iptables-save` / `ip6tables-save` output (also `iptables-restore` input in the form
 * kube-proxy writes it) into tables, chains and compiled rules.
 * @remarks Match options are assigned to extensions as iptables' getopt table does: the most
 * recently loaded extension that defines the option, else the protocol's implicit module
 * (`-p tcp --dport 80`). Options and modules skoop does not simulate become explicit
 * `unsupported` markers on the rule; they are never dropped. Structural errors (a rule before a
 * `*table` line, `-A` to an undeclared chain, a missing `COMMIT`, unbalanced quotes) throw
 * {@link NetstackParseError}. See iptables-save(8), iptables-restore(8).
 */
export function parseIptablesSave(text: string, field: string): RuleSet {
  const family: Family = field.includes('6') || /^# Generated by ip6tables-save/.test(text) ? 6 : 4;
  const tables = new Map<string, NfTable>();
  let cur: TableBuild | undefined;
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
    if (start >= end) continue;
    const c = text.charCodeAt(start);
    if (c === 35) continue;
    if (c === 42) {
      if (cur !== undefined) throw new NetstackParseError(field, `table ${cur.name} has no COMMIT before the next *table line`, lineNo);
      const name = text.slice(start + 1, end).trim();
      if (name === '') throw new NetstackParseError(field, 'empty table name', lineNo);
      cur = { name, line: lineNo, chains: new Map(), pending: [] };
      continue;
    }
    const line = text.slice(start, end).trimEnd();
    if (line === 'COMMIT') {
      if (cur === undefined) throw new NetstackParseError(field, 'COMMIT outside a table', lineNo);
      tables.set(cur.name, finishTable(cur));
      cur = undefined;
      continue;
    }
    if (cur === undefined) throw new NetstackParseError(field, `"${line.slice(0, 40)}" before a *table line`, lineNo);
    if (c === 58) {
      declareChain(cur, line, field, lineNo);
      continue;
    }
    let body = line;
    if (c === 91) {
      const close = line.indexOf(']');
      const counters = close < 0 ? undefined : parseCounters(line.slice(0, close + 1));
      if (counters === undefined) throw new NetstackParseError(field, 'malformed [packets:bytes] prefix', lineNo);
      body = line.slice(close + 1).trimStart();
    }
    if (body.charCodeAt(0) !== 45) throw new NetstackParseError(field, `unexpected line "${line.slice(0, 40)}"`, lineNo);
    if (command(cur, body, family, field, lineNo)) ruleCount++;
  }
  if (cur !== undefined) throw new NetstackParseError(field, `table ${cur.name} has no COMMIT`, lineNo);
  return { family, field, tables, ruleCount };
}

function declareChain(t: TableBuild, line: string, field: string, lineNo: number): void {
  const parts = line.slice(1).split(/[ \t]+/);
  const name = parts[0] ?? '';
  const policy = parts[1];
  if (name === '' || policy === undefined) throw new NetstackParseError(field, `malformed chain declaration "${line}"`, lineNo);
  if (t.chains.has(name)) throw new NetstackParseError(field, `chain ${name} declared twice in table ${t.name}`, lineNo);
  const counters = parts[2] === undefined ? { packets: 0, bytes: 0 } : parseCounters(parts[2]);
  if (counters === undefined) throw new NetstackParseError(field, `malformed counters in "${line}"`, lineNo);
  let builtin = false;
  let pol: 'ACCEPT' | 'DROP' | undefined;
  if (policy === 'ACCEPT' || policy === 'DROP') {
    if (isTableName(t.name) && !BUILTIN_CHAINS[t.name].includes(name)) {
      throw new NetstackParseError(field, `${name} is not a built-in chain of table ${t.name} but has policy ${policy}`, lineNo);
    }
    builtin = true;
    pol = policy;
  } else if (policy !== '-') throw new NetstackParseError(field, `unknown chain policy ${policy}`, lineNo);
  addChain(t, name, builtin, pol, lineNo, counters.packets, counters.bytes);
}

function addChain(t: TableBuild, name: string, builtin: boolean, policy: 'ACCEPT' | 'DROP' | undefined, line: number, packets: number, bytes: number): ChainBuild {
  const policyRef: PolicyRef | undefined = policy === undefined ? undefined : { kind: 'policy', table: t.name, chain: name, policy, line };
  const ch: ChainBuild = { name, table: t.name, builtin, policy, policyRef, line, packets, bytes, rules: [], index: undefined, inserted: false };
  t.chains.set(name, ch);
  return ch;
}

/** Runs one command line of a table block; returns whether it added a rule. */
function command(t: TableBuild, body: string, family: Family, field: string, lineNo: number): boolean {
  const n = tokenize(body, 0, field, lineNo);
  const cmd = tv[0] as string;
  const chainName = n > 1 ? (tv[1] as string) : undefined;
  switch (cmd) {
    case '-A':
    case '--append':
    case '-I':
    case '--insert': {
      if (chainName === undefined) throw new NetstackParseError(field, `${cmd} without a chain`, lineNo);
      const chain = t.chains.get(chainName);
      if (chain === undefined) throw new NetstackParseError(field, `${cmd} to undeclared chain ${chainName} in table ${t.name}`, lineNo);
      let first = 2;
      let at = chain.rules.length;
      if (cmd === '-I' || cmd === '--insert') {
        at = 0;
        if (n > 2 && !tq[2] && isDigits(tv[2] as string)) {
          at = Number(tv[2]) - 1;
          first = 3;
          if (at < 0 || at > chain.rules.length) throw new NetstackParseError(field, `insert position ${at + 1} out of range`, lineNo);
        }
        chain.inserted = true;
      }
      const rule = compileRule(t, chain, body, n, first, family, field, lineNo, at + 1);
      if (at === chain.rules.length) chain.rules.push(rule);
      else chain.rules.splice(at, 0, rule);
      return true;
    }
    case '-N':
    case '--new-chain':
      if (chainName === undefined) throw new NetstackParseError(field, '-N without a chain', lineNo);
      if (t.chains.has(chainName)) throw new NetstackParseError(field, `chain ${chainName} declared twice in table ${t.name}`, lineNo);
      addChain(t, chainName, false, undefined, lineNo, 0, 0);
      return false;
    case '-P':
    case '--policy': {
      const chain = chainName === undefined ? undefined : t.chains.get(chainName);
      const policy = tv[2];
      if (chain === undefined || !chain.builtin || (policy !== 'ACCEPT' && policy !== 'DROP')) {
        throw new NetstackParseError(field, `bad policy command "${body}"`, lineNo);
      }
      chain.policy = policy;
      chain.policyRef = { kind: 'policy', table: t.name, chain: chain.name, policy, line: lineNo };
      return false;
    }
    default:
      throw new NetstackParseError(field, `command ${cmd} is not expected in a dump`, lineNo);
  }
}

function compileRule(t: TableBuild, chain: ChainBuild, body: string, n: number, first: number, family: Family, field: string, lineNo: number, index: number): Mutable<Rule> {
  const header: Match[] = [];
  const mods: ExtBuild<Match>[] = [];
  let target: ExtBuild<Target> | undefined;
  let jump: { name: string; goto: boolean; part: string } | undefined;
  let cur: ExtBuild<Match> | ExtBuild<Target> | undefined;
  let proto: number | undefined;
  let neg = false;
  let negStart = 0;
  const err = (msg: string): NetstackParseError => new NetstackParseError(field, msg, lineNo);
  let i = first;
  while (i < n) {
    let tok = tv[i] as string;
    if (tok === '!' && !tq[i]) {
      if (neg) throw err('double "!"');
      neg = true;
      negStart = ts[i] as number;
      i++;
      continue;
    }
    if (tq[i] || tok.length < 2 || tok.charCodeAt(0) !== 45) throw err(`unexpected argument "${tok}"`);
    const segStart = neg ? negStart : (ts[i] as number);
    if (tok.charCodeAt(1) === 45) tok = LONG_BASIC[tok] ?? tok;
    if (tok.charCodeAt(1) !== 45) {
      // A header option or -m/-j/-g/-c.
      let negated = neg;
      neg = false;
      let a = '';
      if (tok === '-s' || tok === '-d' || tok === '-i' || tok === '-o' || tok === '-p' || tok === '-m' || tok === '-j' || tok === '-g') {
        i++;
        if (i < n && tv[i] === '!' && !tq[i]) {
          if (negated) throw err('double "!"');
          negated = true;
          i++;
        }
        if (i >= n) throw err(`${tok} needs an argument`);
        a = tv[i] as string;
      }
      const seg = body.slice(segStart, te[i]);
      switch (tok) {
        case '-s':
        case '-d': {
          const m = compileAddr(tok === '-s' ? 'src' : 'dst', negated, a, family, seg);
          if (m === undefined) throw err(`invalid address "${a}"`);
          header.push(m);
          cur = undefined;
          break;
        }
        case '-i':
        case '-o':
          header.push({ kind: 'iface', dir: tok === '-i' ? 'in' : 'out', negated, iface: parseIface(a), text: seg });
          cur = undefined;
          break;
        case '-p': {
          const p = protocolNumber(a);
          if (p === undefined) header.push(unsupportedMatch('protocol', `protocol ${a} is unknown`, seg));
          else {
            header.push({ kind: 'proto', negated, proto: p, text: seg });
            if (!negated) proto = p;
          }
          cur = undefined;
          break;
        }
        case '-f':
          header.push({ kind: 'fragment', negated, text: seg });
          cur = undefined;
          break;
        case '-m': {
          if (negated) throw err('"!" before -m');
          const m: ExtBuild<Match> = { name: a, spec: matchExtension(a, family), opts: [], parts: [seg], orphan: false };
          mods.push(m);
          cur = m;
          break;
        }
        case '-j':
        case '-g': {
          if (negated) throw err(`"!" before ${tok}`);
          if (target !== undefined || jump !== undefined) throw err('more than one target');
          if (tok === '-g' || verdictTarget(a, seg) !== undefined || t.chains.has(a)) {
            jump = { name: a, goto: tok === '-g', part: seg };
            cur = undefined;
          } else {
            target = { name: a, spec: targetExtension(a), opts: [], parts: [seg], orphan: false };
            cur = target;
          }
          break;
        }
        case '-c':
          i += 2;
          if (i >= n) throw err('-c needs packet and byte counts');
          break;
        case '-4':
        case '-6':
          break;
        default:
          throw err(`unknown option ${tok}`);
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
        if (negated) throw err('double "!"');
        negated = true;
        i++;
      }
    } else {
      let j = i + 1;
      while (j < n && !isOptionToken(j, n)) j++;
      arity = j - i - 1;
    }
    if (i + arity >= n) throw err(`--${name} needs ${arity} argument${arity === 1 ? '' : 's'}`);
    const args = arity === 0 ? [] : tv.slice(i + 1, i + 1 + arity);
    i += arity;
    owner.opts.push({ name: canonical, negated, args });
    owner.parts.push(body.slice(segStart, te[i]));
    if (owner.orphan) mods.push(owner as ExtBuild<Match>);
    else cur = owner;
    i++;
  }
  if (neg) throw err('"!" at the end of the rule');

  const matches: Match[] = header;
  for (const m of mods) {
    const mtext = m.parts.join(' ');
    if (m.orphan) matches.push(unsupportedMatch(m.name, `option --${m.opts[0]?.name ?? '?'} belongs to no loaded match or target`, mtext));
    else if (m.spec === undefined) matches.push(unknownModule(m.name, mtext));
    else matches.push(m.spec.compile(m.opts, { family, text: mtext }));
  }
  const rule: Mutable<Rule> = {
    kind: 'rule',
    table: t.name,
    chain: chain.name,
    index,
    line: lineNo,
    text: body,
    family,
    matches,
    target: { kind: 'none', text: '' },
  };
  if (target !== undefined) {
    const ttext = target.parts.join(' ');
    rule.target =
      target.spec !== undefined
        ? target.spec.compile(target.opts, { family, text: ttext })
        : { kind: 'unsupported', name: target.name, reason: `target ${target.name} is not simulated`, text: ttext };
    if (target.spec === undefined) t.pending.push({ rule, name: target.name, goto: false });
  } else if (jump !== undefined) {
    const v = verdictTarget(jump.name, jump.part);
    if (v !== undefined && !jump.goto) rule.target = v;
    else {
      rule.target = { kind: 'jump', chain: jump.name, goto: jump.goto, text: jump.part };
      if (!t.chains.has(jump.name)) t.pending.push({ rule, name: jump.name, goto: jump.goto });
    }
  }
  return rule;
}

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
      const m: ExtBuild<Match> = { name: implicit, spec, opts: [], parts: [], orphan: false };
      mods.push(m);
      return m;
    }
  }
  for (let k = mods.length - 1; k >= 0; k--) {
    const m = mods[k] as ExtBuild<Match>;
    if (m.spec === undefined) return m;
  }
  if (target !== undefined && target.spec === undefined) return target;
  return { name: `--${name}`, spec: undefined, opts: [], parts: [], orphan: true };
}

function finishTable(t: TableBuild): NfTable {
  for (const p of t.pending) {
    if (t.chains.has(p.name)) p.rule.target = { kind: 'jump', chain: p.name, goto: p.goto, text: p.rule.target.text };
    else if (p.goto || p.rule.target.kind === 'jump') {
      p.rule.target = { kind: 'unsupported', name: p.name, reason: `chain ${p.name} does not exist in table ${t.name}`, text: p.rule.target.text };
    } else {
      p.rule.target = { kind: 'unsupported', name: p.name, reason: `target ${p.name} is neither a chain of table ${t.name} nor a simulated extension`, text: p.rule.target.text };
    }
  }
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
    if (m.kind === 'addr' && m.dir === 'dst' && !m.negated && m.nets.length === 1 && m.nets[0]?.host === true) dst = hostNetKey(m.nets[0]);
    else if (m.kind === 'ports' && m.dport !== undefined && !m.dport.negated && m.dport.value[0] === m.dport.value[1]) dport = m.dport.value[0];
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
