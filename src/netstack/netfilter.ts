import type { CtState, Packet } from './packet.js';
import { addrKeyOf, formatV4, lookupKey } from './netfilter-addr.js';
import type { Hook, NfContext } from './netfilter-context.js';
import {
  beforeConntrack,
  evalMatch,
  hasCt,
  hasPorts,
  NO,
  UNSUPPORTED,
  YES,
  type Env,
  type PathState,
} from './netfilter-eval.js';
import type { StatisticMatch } from './netfilter-match.js';
import type { Chain, NfTable, NfTableName, PolicyRef, Rule, RuleRef, RuleSet } from './netfilter-ruleset.js';
import type { NatKind, NatTarget } from './netfilter-target.js';

export type { Hook, NfContext } from './netfilter-context.js';

/** The final verdict of a hook for one packet path. */
export type NfVerdict = 'accept' | 'drop' | 'reject';

/** One address translation done by the nat table, with endpoints printed `ip:port` (`[ip6]:port`). */
export interface NfNat {
  readonly kind: Exclude<NatKind, 'netmap'> | 'netmap';
  readonly from: string;
  readonly to: string;
  readonly rule: RuleRef;
  /** Which element of a range was assumed, when the rule gave one. */
  readonly note?: string;
}

/** A rule the packet reached that skoop could not evaluate, and what the simulation assumed instead. */
export interface NfUnsupported {
  readonly rule: RuleRef;
  readonly reason: string;
  readonly assumption: string;
}

/** How one table of the hook ended for a path: its verdict and the rule or policy behind it. */
export interface NfTableDecision {
  readonly table: string;
  readonly verdict: NfVerdict;
  readonly decidedBy: RuleRef | PolicyRef;
}

/** One way the packet leaves the hook, with the probability of that way (statistic matches fork). */
export interface NfOutcome {
  readonly probability: number;
  readonly verdict: NfVerdict;
  /** The packet after MARK/CONNMARK restore and NAT rewrites. */
  readonly packet: Packet;
  readonly nat?: NfNat;
  /**
   * For drop/reject the rule or policy that decided; for accept the decision of the last table
   * traversed other than nat (which only translates), or of nat when it was the only one.
   */
  readonly decidedBy?: RuleRef | PolicyRef;
  readonly decisions: readonly NfTableDecision[];
  /** Every rule whose matches matched, in order (jumps and returns included), and policies applied. */
  readonly trace: readonly (RuleRef | PolicyRef)[];
  readonly unsupported: readonly NfUnsupported[];
  readonly rejectWith?: string;
  /** The conntrack state after the hook (UNTRACKED after NOTRACK). */
  readonly ctState: CtState;
  readonly ctMark: number;
  readonly notrack: boolean;
}

/**
 * The tables registered on each hook, in the order the kernel runs them (NF_IP_PRI_*): raw -300,
 * [conntrack -200], mangle -150, nat DNAT -100, filter 0, security 50, nat SNAT 100.
 */
export const HOOK_TABLES: Readonly<Record<Hook, readonly NfTableName[]>> = {
  PREROUTING: ['raw', 'mangle', 'nat'],
  INPUT: ['mangle', 'filter', 'security', 'nat'],
  FORWARD: ['mangle', 'filter', 'security'],
  OUTPUT: ['raw', 'mangle', 'nat', 'filter', 'security'],
  POSTROUTING: ['mangle', 'nat'],
};

const DEFAULT_MAX_OUTCOMES = 4096;

interface End {
  readonly st: PathState;
  readonly verdict: NfVerdict | 'return';
  readonly by: RuleRef | undefined;
  readonly rejectWith?: string;
}

interface Fork {
  readonly st: PathState;
  readonly matched: boolean;
}

function hasInput(hook: Hook): boolean {
  return hook === 'PREROUTING' || hook === 'INPUT' || hook === 'FORWARD';
}

function hasOutput(hook: Hook): boolean {
  return hook === 'FORWARD' || hook === 'OUTPUT' || hook === 'POSTROUTING';
}

function clone(st: PathState, probability: number): PathState {
  return {
    ...st,
    probability,
    trace: [...st.trace],
    unsupported: [...st.unsupported],
    decisions: [...st.decisions],
  };
}

/**
 * Simulates one netfilter hook for a packet: every table registered on the hook in priority
 * order, each from its built-in chain, with jumps, gotos, returns and policies as ipt_do_table
 * runs them. Returns one outcome per path (statistic matches fork; probabilities multiply).
 * @remarks An ACCEPT ends only its table; DROP and REJECT end the hook. The nat table runs only for
 * a connection's first packet (ctState NEW, not NOTRACKed, `skipNat` unset), as nf_nat_inet_fn
 * does, and a NAT target ends it. A match that cannot be evaluated counts as not matching and is
 * listed in `unsupported`; so is an unknown target, which is skipped. Rules in the raw table see
 * no conntrack entry yet (ctstate INVALID, or UNTRACKED after NOTRACK), as conntrack runs after raw.
 * See net/ipv4/netfilter/ip_tables.c (ipt_do_table) and include/uapi/linux/netfilter_ipv4.h.
 */
export function traverseHook(rules: RuleSet, hook: Hook, ctx: NfContext): NfOutcome[] {
  const p = ctx.packet;
  if (p.family !== rules.family)
    throw new Error(`traverseHook: IPv${p.family} packet against ${rules.field} (IPv${rules.family}) rules`);
  const src = addrKeyOf(p.src, p.family);
  const dst = addrKeyOf(p.dst, p.family);
  if (src === undefined || dst === undefined)
    throw new Error(`traverseHook: bad packet addresses ${p.src} -> ${p.dst}`);
  const env: Env = {
    ctx,
    hook,
    table: '',
    inName: hasInput(hook) ? ctx.inIf : '',
    outName: hasOutput(hook) ? ctx.outIf : '',
    entry: p,
    branches: 1,
    maxOutcomes: ctx.maxOutcomes ?? DEFAULT_MAX_OUTCOMES,
    active: new Set(),
    reason: '',
  };
  let states: PathState[] = [
    {
      probability: 1,
      packet: p,
      src,
      dst,
      ctMark: ctx.ctMark ?? 0,
      notrack: ctx.ctState === 'UNTRACKED',
      nat: undefined,
      snatDone: false,
      dnatDone: false,
      trace: [],
      unsupported: [],
      decisions: [],
    },
  ];
  const done: NfOutcome[] = [];
  for (const name of HOOK_TABLES[hook]) {
    const table = rules.tables.get(name);
    const chain = table?.chains.get(hook);
    if (table === undefined || chain === undefined || !chain.builtin) continue;
    env.table = name;
    const next: PathState[] = [];
    for (const st of states) {
      if (name === 'nat' && (ctx.ctState !== 'NEW' || st.notrack || ctx.skipNat === true)) {
        next.push(st);
        continue;
      }
      const ends: End[] = [];
      env.active.clear();
      walk(table, chain, 0, st, env, ends);
      for (const e of ends) {
        let verdict: NfVerdict;
        let by: RuleRef | PolicyRef;
        if (e.verdict === 'return') {
          const policy = chain.policyRef as PolicyRef;
          verdict = policy.policy === 'DROP' ? 'drop' : 'accept';
          by = policy;
          e.st.trace.push(policy);
        } else {
          verdict = e.verdict;
          by = e.by as RuleRef;
        }
        e.st.decisions.push({ table: name, verdict, decidedBy: by });
        if (verdict === 'accept') next.push(e.st);
        else done.push(outcome(e.st, verdict, by, e.rejectWith, ctx));
      }
    }
    states = next;
  }
  for (const st of states) {
    const filtering = st.decisions.filter((d) => d.table !== 'nat');
    const last = filtering[filtering.length - 1] ?? st.decisions[st.decisions.length - 1];
    done.push(outcome(st, 'accept', last?.decidedBy, undefined, ctx));
  }
  return done;
}

function outcome(
  st: PathState,
  verdict: NfVerdict,
  by: RuleRef | PolicyRef | undefined,
  rejectWith: string | undefined,
  ctx: NfContext,
): NfOutcome {
  return {
    probability: st.probability,
    verdict,
    packet: st.packet,
    ...(st.nat !== undefined ? { nat: st.nat } : {}),
    ...(by !== undefined ? { decidedBy: by } : {}),
    decisions: st.decisions,
    trace: st.trace,
    unsupported: st.unsupported,
    ...(rejectWith !== undefined ? { rejectWith } : {}),
    ctState: st.notrack ? 'UNTRACKED' : ctx.ctState,
    ctMark: st.ctMark,
    notrack: st.notrack,
  };
}

/** Positions of the rules of `chain` that can match `st` (all, when the chain has no index). */
function candidates(chain: Chain, st: PathState): readonly number[] | undefined {
  const ix = chain.index;
  if (ix === undefined) return undefined;
  const hit = ix.byKey.get(ix.key === 'dst' ? lookupKey(st.dst) : st.packet.dport);
  if (hit === undefined) return ix.others;
  const others = ix.others;
  if (others.length === 0) return hit;
  const out: number[] = [];
  let a = 0;
  let b = 0;
  while (a < hit.length || b < others.length) {
    const x = hit[a];
    const y = others[b];
    if (y === undefined || (x !== undefined && x < y)) {
      out.push(x as number);
      a++;
    } else {
      out.push(y);
      b++;
    }
  }
  return out;
}

/** Evaluates the matches of `rule` from `k`; 0/1, or the paths a statistic match split `st` into. */
function evalRule(rule: Rule, k0: number, st: PathState, env: Env): 0 | 1 | Fork[] {
  const ms = rule.matches;
  for (let k = k0; k < ms.length; k++) {
    const m = ms[k];
    if (m === undefined) break;
    const r = evalMatch(m, st, env);
    if (r === YES) continue;
    if (r === NO) return 0;
    if (r === UNSUPPORTED) {
      st.unsupported.push({ rule, reason: env.reason, assumption: 'treated as not matching' });
      return 0;
    }
    const s = m as StatisticMatch;
    const pm = s.negated ? 1 - s.probability : s.probability;
    if (pm >= 1) continue;
    if (pm <= 0) return 0;
    if (env.branches >= env.maxOutcomes) {
      const follow = pm >= 0.5;
      st.unsupported.push({
        rule,
        reason: `outcome cap of ${env.maxOutcomes} reached`,
        assumption: `only the ${follow ? 'matching' : 'non-matching'} branch was followed; the other (probability ${(st.probability * (follow ? 1 - pm : pm)).toPrecision(3)}) was not explored`,
      });
      st.probability *= follow ? pm : 1 - pm;
      if (follow) continue;
      return 0;
    }
    env.branches++;
    const yes = clone(st, st.probability * pm);
    st.probability *= 1 - pm;
    const rest = evalRule(rule, k + 1, yes, env);
    const forks: Fork[] = rest === 0 || rest === 1 ? [{ st: yes, matched: rest === 1 }] : rest;
    forks.push({ st, matched: false });
    return forks;
  }
  return 1;
}

/** Walks `chain` from rule position `from`, collecting how each path leaves it into `ends`. */
function walk(table: NfTable, chain: Chain, from: number, st: PathState, env: Env, ends: End[]): void {
  const rules = chain.rules;
  const cand = candidates(chain, st);
  let ci = 0;
  let pos = from;
  for (;;) {
    if (cand !== undefined) {
      while (ci < cand.length && (cand[ci] as number) < pos) ci++;
      if (ci >= cand.length) break;
      pos = cand[ci] as number;
    } else if (pos >= rules.length) break;
    const rule = rules[pos] as Rule;
    const r = evalRule(rule, 0, st, env);
    if (r === 0) {
      pos++;
      continue;
    }
    let cont: PathState | undefined;
    if (r === 1) cont = fire(table, chain, pos, rule, st, env, ends);
    else {
      for (let f = 0; f < r.length - 1; f++) {
        const fk = r[f] as Fork;
        if (!fk.matched) walk(table, chain, pos + 1, fk.st, env, ends);
        else {
          const c = fire(table, chain, pos, rule, fk.st, env, ends);
          if (c !== undefined) walk(table, chain, pos + 1, c, env, ends);
        }
      }
      const last = r[r.length - 1] as Fork;
      cont = last.matched ? fire(table, chain, pos, rule, last.st, env, ends) : last.st;
    }
    if (cont === undefined) return;
    st = cont;
    pos++;
  }
  ends.push({ st, verdict: 'return', by: undefined });
}

/** Applies the target of a matched rule; returns the path to continue with, or `undefined` when it ended here. */
function fire(
  table: NfTable,
  chain: Chain,
  pos: number,
  rule: Rule,
  st: PathState,
  env: Env,
  ends: End[],
): PathState | undefined {
  st.trace.push(rule);
  const t = rule.target;
  switch (t.kind) {
    case 'none':
    case 'noop':
      return st;
    case 'accept':
    case 'drop':
      ends.push({ st, verdict: t.kind, by: rule });
      return undefined;
    case 'reject':
      ends.push({ st, verdict: 'reject', by: rule, rejectWith: t.with });
      return undefined;
    case 'return':
      ends.push({ st, verdict: 'return', by: rule });
      return undefined;
    case 'jump': {
      const target = table.chains.get(t.chain);
      if (target === undefined) {
        st.unsupported.push({
          rule,
          reason: `chain ${t.chain} does not exist`,
          assumption: 'target ignored; continued with the next rule',
        });
        return st;
      }
      if (env.active.has(t.chain) || target.builtin) {
        st.unsupported.push({
          rule,
          reason: `jump to ${t.chain} loops (the kernel refuses such a rule set)`,
          assumption: 'the packet is dropped',
        });
        ends.push({ st, verdict: 'drop', by: rule });
        return undefined;
      }
      env.active.add(t.chain);
      const sub: End[] = [];
      walk(table, target, 0, st, env, sub);
      env.active.delete(t.chain);
      if (t.goto) {
        for (const e of sub) ends.push(e);
        return undefined;
      }
      let cont: PathState | undefined;
      for (const e of sub) {
        if (e.verdict !== 'return') ends.push(e);
        else if (cont === undefined) cont = e.st;
        else walk(table, chain, pos + 1, e.st, env, ends);
      }
      return cont;
    }
    case 'mark':
      st.packet = { ...st.packet, mark: ((st.packet.mark & ~t.mask) ^ t.value) >>> 0 };
      return st;
    case 'connmark':
      if (!hasCt(env, st)) return st;
      if (t.mode === 'set') st.ctMark = ((st.ctMark & ~t.ctmask) ^ t.value) >>> 0;
      else if (t.mode === 'save') st.ctMark = ((st.ctMark & ~t.ctmask) ^ (st.packet.mark & t.nfmask)) >>> 0;
      else st.packet = { ...st.packet, mark: ((st.packet.mark & ~t.nfmask) ^ (st.ctMark & t.ctmask)) >>> 0 };
      return st;
    case 'notrack':
      // xt_CT: a packet that already carries a conntrack entry (looped back on lo) stays tracked.
      if (beforeConntrack(env)) st.notrack = true;
      return st;
    case 'nat':
      if (env.table !== 'nat') {
        st.unsupported.push({
          rule,
          reason: `${t.nat.toUpperCase()} outside the nat table`,
          assumption: 'target ignored; continued with the next rule',
        });
        return st;
      }
      nat(t, rule, st, env, ends);
      return undefined;
    case 'unsupported':
      st.unsupported.push({
        rule,
        reason: t.reason,
        assumption: 'target ignored; continued with the next rule',
      });
      return st;
  }
}

function endpoint(ip: string, port: number, p: Packet): string {
  if (!hasPorts(p)) return ip;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function netmapped(ip: string, t: NatTarget, p: Packet): string | undefined {
  const net = t.netmap;
  const k = addrKeyOf(ip, p.family);
  if (net === undefined || k === undefined || p.family !== 4) return undefined;
  return formatV4((k.w0 & ~net.m0) | net.a0);
}

/** Applies a NAT target: rewrites the packet and ends the nat table (accept), or drops when the kernel would. */
function nat(t: NatTarget, rule: Rule, st: PathState, env: Env, ends: End[]): void {
  const p = st.packet;
  const ctx = env.ctx;
  const dstSide =
    t.nat === 'dnat' ||
    t.nat === 'redirect' ||
    (t.nat === 'netmap' && (env.hook === 'PREROUTING' || env.hook === 'OUTPUT'));
  const oldIp = dstSide ? p.dst : p.src;
  const oldPort = dstSide ? p.dport : p.sport;
  let ip: string | undefined;
  switch (t.nat) {
    case 'dnat':
    case 'snat':
      ip = t.addr ?? oldIp;
      break;
    case 'netmap':
      ip = netmapped(oldIp, t, p);
      if (ip === undefined) {
        st.unsupported.push({
          rule,
          reason: 'NETMAP is simulated for IPv4 only',
          assumption: 'address not rewritten; nat table accepted',
        });
        ends.push({ st, verdict: 'accept', by: rule });
        return;
      }
      break;
    case 'masquerade': {
      const out = env.outName;
      if (ctx.masqueradeSource === undefined || out === undefined || out === '') {
        st.unsupported.push({
          rule,
          reason: 'MASQUERADE needs the output interface and its address (context masqueradeSource)',
          assumption: 'source not rewritten; nat table accepted',
        });
        ends.push({ st, verdict: 'accept', by: rule });
        return;
      }
      ip = ctx.masqueradeSource(out);
      if (ip === undefined) {
        ends.push({ st, verdict: 'drop', by: rule });
        return;
      }
      break;
    }
    case 'redirect':
      if (env.hook === 'OUTPUT') ip = p.family === 4 ? '127.0.0.1' : '::1';
      else if (ctx.redirectAddress === undefined) {
        st.unsupported.push({
          rule,
          reason: 'REDIRECT needs the input interface address (context redirectAddress)',
          assumption: 'destination not rewritten; nat table accepted',
        });
        ends.push({ st, verdict: 'accept', by: rule });
        return;
      } else {
        ip = ctx.redirectAddress(env.inName);
        if (ip === undefined) {
          ends.push({ st, verdict: 'drop', by: rule });
          return;
        }
      }
      break;
  }
  const port = t.ports !== undefined && hasPorts(p) ? t.ports[0] : oldPort;
  const np: Packet = dstSide ? { ...p, dst: ip, dport: port } : { ...p, src: ip, sport: port };
  const key = addrKeyOf(ip, p.family);
  if (key === undefined) {
    st.unsupported.push({
      rule,
      reason: `NAT address ${ip} is not an IPv${p.family} address`,
      assumption: 'address not rewritten; nat table accepted',
    });
    ends.push({ st, verdict: 'accept', by: rule });
    return;
  }
  const changed = ip !== oldIp || port !== oldPort;
  st.packet = np;
  if (dstSide) {
    st.dst = key;
    st.dnatDone ||= changed;
  } else {
    st.src = key;
    st.snatDone ||= changed;
  }
  st.nat = {
    kind: t.nat,
    from: endpoint(oldIp, oldPort, p),
    to: endpoint(ip, port, p),
    rule,
    ...(t.note !== undefined ? { note: t.note } : {}),
  };
  ends.push({ st, verdict: 'accept', by: rule });
}
