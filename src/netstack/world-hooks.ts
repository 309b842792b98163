import type { Packet, Protocol, CtState } from './packet.js';
import type { Netns } from './netns.js';
import { lookupRoute, addrType, isLocalAddress } from './route-lookup.js';
import { traverseHook, type Hook, type NfOutcome } from './netfilter.js';
import type { NfConntrack } from './netfilter-context.js';
import { traverseNftHook, type NftHook } from './nftables.js';
import {
  type World,
  type State,
  type Flight,
  type AttachedCt,
  type Terminal,
  type Outcome,
  step,
  dropped,
  hostOf,
  withPacket,
} from './world-state.js';

export interface HookIo {
  readonly inIf?: string;
  readonly outIf?: string;
  readonly physdev?: { readonly in?: string; readonly out?: string; readonly isBridged: boolean };
}

interface HookPass {
  readonly state: State;
  readonly flight: Flight;
}

/**
 * Runs one netfilter hook in `host` over every rule set loaded there (iptables-nft, then legacy),
 * forking where a `statistic` match forks. Returns the passing branches and the terminals of the
 * branches the hook dropped or rejected.
 */
export function runHook(
  w: World,
  s: State,
  host: string,
  f: Flight,
  hook: Hook,
  io: HookIo,
  ctState: CtState,
): { passed: HookPass[]; ended: Terminal[] } {
  const ns = hostOf(w, host);
  const rulesets = f.packet.family === 4 ? ns.iptables4 : ns.iptables6;
  const field = f.packet.family === 4 ? 'iptables' : 'ip6tables';
  if (ns.missing.has(field)) {
    s = step(s, {
      host,
      kind: 'hook',
      detail: `${hook}: ${field} not collected, rules not checked`,
      packet: f.packet,
    });
  }
  let passes: HookPass[] = [{ state: s, flight: f }];
  const ended: Terminal[] = [];
  const natHook =
    hook === 'PREROUTING' || hook === 'OUTPUT'
      ? 'dnat'
      : hook === 'POSTROUTING' || hook === 'INPUT'
        ? 'snat'
        : undefined;
  for (const rules of rulesets) {
    const next: HookPass[] = [];
    for (const pass of passes) {
      const ct = pass.flight.ct;
      const natDone =
        natHook === undefined || ct === undefined || (natHook === 'dnat' ? ct.dnatDone : ct.snatDone);
      const outcomes: NfOutcome[] = traverseHook(rules, hook, {
        packet: pass.flight.packet,
        ...(io.inIf !== undefined ? { inIf: io.inIf } : {}),
        ...(io.outIf !== undefined ? { outIf: io.outIf } : {}),
        ctState,
        skipNat: natDone,
        ctMark: ct?.mark ?? 0,
        ...(ct !== undefined ? { ct: nfConntrackOf(ct, pass.flight) } : {}),
        ...(ns.ipset !== undefined ? { ipset: ns.ipset, ipsetType: ns.ipsetType } : {}),
        addrType: (ip: string) => addrType(ns.routing, ip),
        masqueradeSource: (outIf: string) => masqueradeSource(ns, pass.flight.packet, outIf),
        redirectAddress: (inIf: string | undefined) => redirectAddress(ns, inIf, pass.flight.packet.family),
        ...(io.physdev !== undefined ? { physdev: io.physdev } : {}),
      });
      for (const o of outcomes) {
        let st: State = { ...pass.state, probability: pass.state.probability * o.probability };
        if (o.unsupported.length > 0) {
          st = {
            ...st,
            unsupported: [
              ...st.unsupported,
              ...o.unsupported.map((u) => `${host}: ${u.rule.text} (${u.reason})`),
            ],
          };
        }
        const evidence = o.decidedBy === undefined ? [] : [describeDecider(o)];
        if (o.verdict !== 'accept') {
          const code = o.verdict === 'reject' ? 'IPTABLES_REJECT' : 'IPTABLES_DROP';
          const d = o.decidedBy;
          const ev: Record<string, unknown> =
            d === undefined
              ? { hook }
              : d.kind === 'policy'
                ? { hook, table: d.table, chain: d.chain, policy: d.policy, field, line: d.line }
                : { hook, table: d.table, chain: d.chain, index: d.index, rule: d.text, field, line: d.line };
          if (o.rejectWith !== undefined) ev['rejectWith'] = o.rejectWith;
          ended.push(
            dropped(
              st,
              host,
              pass.flight.packet,
              code,
              `${hook}: ${o.verdict} by ${evidence[0] ?? 'a rule'}`,
              rejectNotify(o, hook, pass.flight.packet.protocol),
              ev,
            ),
          );
          continue;
        }
        let flight = withPacket(pass.flight, o.packet);
        if (flight.ct !== undefined) {
          flight = {
            ...flight,
            ct: {
              ...flight.ct,
              mark: o.ctMark ?? flight.ct.mark,
              ...(natHook === 'dnat' && flight.dir === 'orig' ? { dnatDone: true } : {}),
              ...(natHook === 'snat' && flight.dir === 'orig' ? { snatDone: true } : {}),
            },
          };
        }
        if (o.nat !== undefined) {
          st = step(st, {
            host,
            kind: 'nat',
            detail: `${hook} ${o.nat.kind} ${o.nat.from} -> ${o.nat.to}`,
            packet: o.packet,
            evidence,
            nat: { kind: o.nat.kind, before: pass.flight.packet },
          });
        }
        next.push({ state: st, flight });
      }
    }
    passes = next;
  }
  if (ns.nftables !== undefined) {
    const ct0 = f.ct;
    const natDoneBefore =
      ct0 !== undefined && (natHook === 'dnat' ? ct0.dnatDone : natHook === 'snat' ? ct0.snatDone : false);
    passes = runNftHook(ns, host, hook, io, ctState, passes, ended, natDoneBefore);
  }
  return { passed: passes, ended };
}

/**
 * Native nftables tables (not iptables-nft's) at the same hook, after the iptables tables.
 * @remarks kube-proxy's nftables mode lives in `table ip kube-proxy`; `numgen` forks like statistic.
 */
function runNftHook(
  ns: Netns,
  host: string,
  hook: Hook,
  io: HookIo,
  ctState: CtState,
  passes: HookPass[],
  ended: Terminal[],
  natDone: boolean,
): HookPass[] {
  const rules = ns.nftables;
  if (rules === undefined) return passes;
  const next: HookPass[] = [];
  for (const pass of passes) {
    const p = pass.flight.packet;
    const src = io.outIf === undefined ? undefined : masqueradeSource(ns, p, io.outIf);
    const outcomes = traverseNftHook(rules, hook.toLowerCase() as NftHook, {
      packet: p,
      // nat chains of both iptables and nftables run in one NAT pass: skip them once it translated.
      ctState: natDone && ctState === 'NEW' ? 'ESTABLISHED' : ctState,
      ...(io.inIf !== undefined ? { iif: io.inIf } : {}),
      ...(io.outIf !== undefined ? { oif: io.outIf } : {}),
      isLocalAddress: (ip: string) => isLocalAddress(ns.routing, ip),
      ...(src !== undefined ? { masqueradeAddress: src } : {}),
    });
    for (const o of outcomes) {
      let st: State = { ...pass.state, probability: pass.state.probability * o.probability };
      const ev = { hook, nftables: o.evidence.map((e) => `${e.family} ${e.table} ${e.chain}: ${e.rule}`) };
      if (o.verdict === 'unsupported') {
        ended.push(
          dropped(
            st,
            host,
            p,
            'NETFILTER_UNSUPPORTED',
            `${hook}: nftables rule not evaluated: ${o.reason ?? 'unsupported expression'}`,
            'unknown',
            ev,
          ),
        );
        continue;
      }
      if (o.verdict !== 'accept') {
        ended.push(
          dropped(
            st,
            host,
            p,
            'NFTABLES_DROP',
            `${hook}: nftables ${o.verdict} by ${ev.nftables.at(-1) ?? 'policy'}`,
            o.verdict === 'reject' ? 'refused' : 'timeout',
            ev,
          ),
        );
        continue;
      }
      let flight = withPacket(pass.flight, o.packet);
      if (o.nat.length > 0) {
        const kind = o.nat[0]?.kind === 'snat' || o.nat[0]?.kind === 'masquerade' ? 'snat' : 'dnat';
        st = step(st, {
          host,
          kind: 'nat',
          detail: `${hook} nftables ${o.nat.map((n) => n.kind).join(', ')}`,
          packet: o.packet,
          evidence: ev.nftables,
          nat: { kind, before: p },
        });
        if (flight.ct !== undefined && flight.dir === 'orig')
          flight = {
            ...flight,
            ct: { ...flight.ct, ...(kind === 'dnat' ? { dnatDone: true } : { snatDone: true }) },
          };
      }
      next.push({ state: st, flight });
    }
  }
  return next;
}

/** What conntrack knows of the packet's connection in this host, for `-m conntrack` beyond `--ctstate`. */
function nfConntrackOf(ct: AttachedCt, f: Flight): NfConntrack {
  const o = ct.orig;
  if (ct.entry !== undefined) {
    const r = ct.entry.reply;
    return {
      orig: o,
      reply: r,
      dir: f.dir === 'reply' ? 'REPLY' : 'ORIGINAL',
      status: ['SEEN_REPLY', 'CONFIRMED'],
      dnat: r.src !== o.dst || r.sport !== o.dport,
      snat: r.dst !== o.src || r.dport !== o.sport,
    };
  }
  const p = f.packet;
  return {
    orig: o,
    dir: 'ORIGINAL',
    status: [],
    dnat: p.dst !== o.dst || p.dport !== o.dport,
    snat: p.src !== o.src || p.sport !== o.sport,
  };
}

function describeDecider(o: NfOutcome): string {
  const d = o.decidedBy;
  if (d === undefined) return '';
  return d.kind === 'policy'
    ? `policy ${d.policy} of ${d.table}/${d.chain}`
    : `${d.table}/${d.chain} rule ${d.index}: ${d.text}`;
}

/** What the sending socket learns from a REJECT (the ICMP error or RST the rule sends back). */
function rejectNotify(o: NfOutcome, hook: Hook, protocol: Protocol): Outcome {
  if (o.verdict === 'drop') return hook === 'OUTPUT' && protocol !== 'tcp' ? 'error' : 'timeout';
  const how = o.rejectWith ?? 'icmp-port-unreachable';
  if (how.includes('port-unreach') || how === 'tcp-reset') return 'refused';
  return 'unreachable';
}

export function masqueradeSource(ns: Netns, p: Packet, outIf: string): string | undefined {
  const d = lookupRoute(ns.routing, { family: p.family, dst: p.dst, oif: outIf, mark: p.mark });
  return d.source;
}

function redirectAddress(ns: Netns, inIf: string | undefined, family: 4 | 6): string | undefined {
  if (inIf === undefined) return family === 4 ? '127.0.0.1' : '::1';
  const link = ns.linkByName.get(inIf);
  return link?.addresses.find((a) => a.family === family && a.scope !== 'link')?.local;
}
