import type {
  Branch,
  BranchOutcome,
  LinkType,
  PacketPath,
  PathLink,
  PathNode,
  PacketSummary,
  Verdict,
} from '../model/result.js';
import type { Suspicion, SuspicionCode, SuspicionLevel } from '../model/suspicion.js';
import { SUSPICION_CODES } from '../model/suspicion.js';
import type { Packet } from '../netstack/packet.js';
import { hostPort } from '../netstack/conntrack.js';
import {
  emptyState,
  type Crossing,
  type Drop,
  type Terminal,
  type TraceStep,
  type World,
} from '../netstack/world.js';
import { settle, type ConnectionBranch } from '../netstack/connection.js';
import { interpretKubeProxyRule, ruleComment, serviceOfComment } from '../service/kube-proxy-rules.js';
import type { NetNodeAction } from '../plugin/net-node-action.js';

/** What the diagnostor needs to know about the cluster around the world it walks. */
export interface DiagnoseInput {
  readonly world: World;
  /** The world host the packet starts from (a pod's netns, or a node's host netns). */
  readonly sourceHost: string;
  /** The first packet (its `src` may be empty: the route lookup picks it). */
  readonly packet: Packet;
  /** The action (plugin model) of each host of the world. */
  readonly actionFor: (host: string) => NetNodeAction;
  /** The path node a world host stands for. */
  readonly nodeOfHost: (host: string) => PathNode;
  /** The path node for an address the packet left the captured hosts towards, if it is known. */
  readonly nodeOfIp: (ip: string) => PathNode;
  /**
   * The source address the destination should see (a pod talking inside the cluster is not
   * masqueraded); when set, a delivered branch whose server saw another address is UNEXPECTED_SNAT.
   */
  readonly keepsSource?: string;
  /** The Service id (`ns/name`) an address:port/protocol belongs to, for drawing the Service hop. */
  readonly serviceAt: (ip: string, port: number, protocol: string) => string | undefined;
}

/** The path, branches and suspicions of one walk, before the cluster-level checks are added. */
export interface Diagnosis {
  readonly path: PacketPath;
  readonly branches: readonly Branch[];
  readonly suspicions: readonly Suspicion[];
}

/** The most hop actions one diagnosis runs (a guard: each branch is already capped in hops). */
const MAX_ACTION_STEPS = 10_000;

/**
 * Walks the packet from its source through each hop's action, following every crossing and every
 * fork (Service backends, ECMP), then the reply path of each delivered branch; builds the path
 * graph and the branches, and turns every drop into a suspicion on the hop where it happened.
 */
export function diagnosePath(input: DiagnoseInput): Diagnosis {
  const suspicions = new SuspicionSet();
  const first = input.packet;
  const start = input.actionFor(input.sourceHost).send(emptyState(), { packet: first, dir: 'orig' });
  suspicions.addAll(start.suspicions);
  const queue: Terminal[] = [...start.next];
  const ends: Exclude<Terminal, Crossing>[] = [];
  let steps = 0;
  while (queue.length > 0) {
    const t = queue.shift() as Terminal;
    if (t.kind !== 'cross') {
      ends.push(t);
      continue;
    }
    if (++steps > MAX_ACTION_STEPS) break;
    const r = input.actionFor(t.to.host).receive(t);
    suspicions.addAll(r.suspicions);
    queue.push(...r.next);
  }
  const graph = new PathBuilder(input);
  graph.node(input.nodeOfHost(input.sourceHost));
  const branches: Branch[] = [];
  for (const end of ends) {
    if (end.kind === 'left' && input.nodeOfIp(end.flight.packet.dst).type === 'external') {
      branches.push(leftTheCluster(input, end, graph));
      for (const u of end.state.unsupported) suspicions.add(unsupportedSuspicion(input, u));
      continue;
    }
    for (const cb of settle(input.world, input.sourceHost, first, end)) {
      const links = graph.addBranch(cb.steps);
      branches.push(toBranch(input, cb, links, graph));
      for (const sus of branchSuspicions(input, cb, end)) suspicions.add(sus);
    }
  }
  return { path: graph.path(), branches: mergeBranches(branches), suspicions: suspicions.list() };
}

function toBranch(
  input: DiagnoseInput,
  cb: ConnectionBranch,
  links: readonly number[],
  graph: PathBuilder,
): Branch {
  const outcome: BranchOutcome =
    cb.outcome === 'connected'
      ? 'delivered'
      : cb.outcome === 'refused'
        ? 'refused'
        : cb.outcome === 'unknown'
          ? 'unknown'
          : 'dropped';
  const backend = backendOf(input, cb);
  const endedAt = cb.drop === undefined ? undefined : graph.idOfHost(cb.drop.host);
  return {
    probability: cb.probability,
    outcome,
    links,
    ...(backend !== undefined ? { backend } : {}),
    ...(endedAt !== undefined && outcome !== 'delivered' ? { endedAt } : {}),
    ...(cb.drop !== undefined ? { codes: [cb.drop.code] } : {}),
  };
}

/**
 * A branch that left the captured hosts towards an address outside the cluster: as far as skoop can
 * follow, it is delivered (the reply from outside is not simulated).
 */
function leftTheCluster(
  input: DiagnoseInput,
  end: Extract<Terminal, { kind: 'left' }>,
  graph: PathBuilder,
): Branch {
  const links = graph.addBranch(end.state.steps);
  const ext = graph.node(input.nodeOfIp(end.flight.packet.dst));
  const last = [...end.state.steps].reverse().find((s) => s.kind === 'xmit' && s.host === end.host);
  const outIf = last?.detail.split(' ')[1];
  links.push(
    graph.addLink({
      from: graph.idOfHost(end.host),
      to: ext,
      type: 'external',
      ...(outIf !== undefined ? { outIf } : {}),
      packet: summary(end.flight.packet),
      action: 'forward',
    }),
  );
  return { probability: end.state.probability, outcome: 'delivered', links };
}

/**
 * The server saw another source than the client's own address, though the traffic stays inside the
 * cluster (a hairpin to the client itself is masqueraded on purpose, and is not reported).
 */
function unexpectedSnat(input: DiagnoseInput, cb: ConnectionBranch): Suspicion | undefined {
  const keep = input.keepsSource;
  if (
    keep === undefined ||
    cb.outcome !== 'connected' ||
    cb.server === undefined ||
    cb.server.host === input.sourceHost
  )
    return undefined;
  const seen = cb.server.peer.replace(/^\[?(.*?)\]?:\d+$/, '$1');
  if (seen === keep) return undefined;
  const at = cb.steps.find(
    (s) => s.kind === 'nat' && s.nat !== undefined && s.nat.kind !== 'dnat' && s.nat.kind !== 'redirect',
  );
  return {
    level: 'warning',
    code: 'UNEXPECTED_SNAT',
    on: input.nodeOfHost(at?.host ?? cb.server.host).id,
    message: `${input.nodeOfHost(cb.server.host).id} sees the connection from ${seen}, not from ${keep}: it was source-NATed${at !== undefined ? ` on ${input.nodeOfHost(at.host).id}` : ''} inside the cluster (policies and logs keyed on the client's address will not match)`,
    ...(at?.evidence !== undefined ? { evidence: { rule: at.evidence } } : {}),
  };
}

function unsupportedSuspicion(input: DiagnoseInput, u: string): Suspicion {
  return {
    level: 'warning',
    code: 'NETFILTER_UNSUPPORTED',
    on: input.nodeOfHost(u.split(':')[0] ?? '').id,
    message: `rule not evaluated (assumed not to match): ${u}`,
  };
}

/**
 * The backend a branch goes to: where the last destination NAT (a Service's DNAT or IPVS) sent it,
 * named by the pod or node that owns that address.
 */
function backendOf(input: DiagnoseInput, cb: ConnectionBranch): string | undefined {
  let to: Packet | undefined;
  for (const st of cb.steps) {
    if (st.kind === 'deliver') break;
    if (
      st.kind === 'nat' &&
      st.nat?.kind === 'dnat' &&
      input.serviceAt(st.nat.before.dst, st.nat.before.dport, st.nat.before.protocol) !== undefined
    )
      to = st.packet;
  }
  if (to === undefined) return undefined;
  return `${input.nodeOfIp(to.dst).id} ${hostPort(to.dst, to.dport)}`;
}

/** Branches that took the same links to the same end are one branch with their probabilities added. */
function mergeBranches(branches: readonly Branch[]): Branch[] {
  const byKey = new Map<string, Branch>();
  for (const b of branches) {
    const key = JSON.stringify([b.outcome, b.links, b.backend, b.endedAt, b.codes]);
    const prev = byKey.get(key);
    byKey.set(key, prev === undefined ? b : { ...prev, probability: prev.probability + b.probability });
  }
  return [...byKey.values()];
}

const LEVEL_OF: Partial<Record<SuspicionCode, SuspicionLevel>> = {
  NETSTACK_NOT_COLLECTED: 'warning',
  NETFILTER_UNSUPPORTED: 'warning',
  POLICY_ROUTING: 'info',
};

function asCode(code: string): SuspicionCode {
  return (SUSPICION_CODES as readonly string[]).includes(code) ? (code as SuspicionCode) : 'ROUTE_WRONG';
}

/** The suspicions one finished branch raises: where it was dropped, and rules it could not read. */
function branchSuspicions(
  input: DiagnoseInput,
  cb: ConnectionBranch,
  end: Exclude<Terminal, Crossing>,
): Suspicion[] {
  const out: Suspicion[] = [];
  const reply =
    end.kind === 'delivered' && cb.server !== undefined && cb.drop !== undefined && cb.outcome !== 'refused';
  if (cb.drop !== undefined) {
    const on =
      cb.drop.code === 'NETSTACK_NOT_COLLECTED' && end.kind === 'left'
        ? input.nodeOfIp(end.flight.packet.dst).id
        : input.nodeOfHost(cb.drop.host).id;
    const { code, reason, evidence } = explainDrop(cb.drop);
    out.push({
      level: LEVEL_OF[code] ?? 'fatal',
      code,
      on,
      message: reply ? `reply path: ${reason}` : reason,
      ...(evidence !== undefined ? { evidence } : {}),
    });
  }
  if (cb.outcome === 'refused' && cb.server !== undefined && cb.drop === undefined) {
    out.push({
      level: 'fatal',
      code: 'NO_LISTENER',
      on: input.nodeOfHost(cb.server.host).id,
      message: `nothing listens on ${cb.server.local} (${input.packet.protocol}): the connection is refused`,
    });
  }
  for (const u of cb.unsupported) out.push(unsupportedSuspicion(input, u));
  const snat = unexpectedSnat(input, cb);
  if (snat !== undefined) out.push(snat);
  return out;
}

/**
 * A drop as a finding: a kube-proxy rule that rejects or drops for a Service reason becomes that
 * Service finding, and any rule whose kube-proxy comment names a Service says which one.
 */
function explainDrop(drop: Drop): {
  code: SuspicionCode;
  reason: string;
  evidence?: Readonly<Record<string, unknown>>;
} {
  const ev = drop.evidence;
  const rule = typeof ev?.['rule'] === 'string' ? ev['rule'] : undefined;
  const chain = typeof ev?.['chain'] === 'string' ? ev['chain'] : '';
  if (rule === undefined || (drop.code !== 'IPTABLES_DROP' && drop.code !== 'IPTABLES_REJECT')) {
    return { code: asCode(drop.code), reason: drop.reason, ...(ev !== undefined ? { evidence: ev } : {}) };
  }
  const meaning = interpretKubeProxyRule(rule, chain);
  const named = serviceOfComment(ruleComment(rule) ?? '');
  const evidence =
    named === undefined
      ? ev
      : { ...ev, service: named.service, ...(named.port !== undefined ? { servicePort: named.port } : {}) };
  if (meaning === undefined)
    return { code: asCode(drop.code), reason: drop.reason, ...(evidence !== undefined ? { evidence } : {}) };
  return {
    code: meaning.code,
    reason: `service ${meaning.service}${meaning.port !== undefined ? ` port ${meaning.port}` : ''}: ${meaning.why} (${drop.reason})`,
    ...(evidence !== undefined ? { evidence } : {}),
  };
}

/** Suspicions without repeats (same code, hop and message). */
class SuspicionSet {
  private readonly items = new Map<string, Suspicion>();
  add(s: Suspicion): void {
    const key = `${s.code}\u0000${s.on}\u0000${s.message}`;
    if (!this.items.has(key)) this.items.set(key, s);
  }
  addAll(list: readonly Suspicion[]): void {
    for (const s of list) this.add(s);
  }
  list(): Suspicion[] {
    return [...this.items.values()];
  }
}

const summary = (p: Packet): PacketSummary => ({
  src: p.src,
  dst: p.dst,
  sport: p.sport,
  dport: p.dport,
  protocol: p.protocol,
});

/** Builds the path graph: one node per hop, one link per distinct transmission between hops. */
class PathBuilder {
  private readonly nodes = new Map<string, PathNode>();
  private readonly links: PathLink[] = [];
  private readonly linkIndex = new Map<string, number>();

  constructor(private readonly input: DiagnoseInput) {}

  node(n: PathNode): string {
    if (!this.nodes.has(n.id)) this.nodes.set(n.id, n);
    return n.id;
  }

  idOfHost(host: string): string {
    return this.node(this.input.nodeOfHost(host));
  }

  private link(l: PathLink): number {
    const key = JSON.stringify(l);
    let i = this.linkIndex.get(key);
    if (i === undefined) {
      i = this.links.length;
      this.links.push(l);
      this.linkIndex.set(key, i);
    }
    return i;
  }

  /** Adds the links of one branch from its steps (forward path only: up to the first delivery). */
  addBranch(steps: readonly TraceStep[]): number[] {
    const out: number[] = [];
    let cursor = this.idOfHost(this.input.sourceHost);
    let first = true;
    let pendingAction: PathLink['action'] | undefined;
    for (const [i, st] of steps.entries()) {
      if (st.kind === 'deliver') break;
      if (st.kind === 'nat' && st.nat !== undefined && st.nat.kind === 'dnat') {
        const before = st.nat.before;
        const svc = this.input.serviceAt(before.dst, before.dport, before.protocol);
        if (svc !== undefined) {
          const svcId = this.node({ id: svc, type: 'service' });
          out.push(
            this.link({ from: cursor, to: svcId, type: 'local', packet: summary(before), action: 'service' }),
          );
          cursor = svcId;
          pendingAction = 'forward';
        }
        continue;
      }
      if (st.kind !== 'cross' || st.crossing === undefined) continue;
      const c = st.crossing;
      const to = this.idOfHost(c.toHost);
      const type: LinkType = c.tunnel ?? (c.via === 'veth' ? 'veth' : 'underlay');
      const packet = summary(c.inner ?? st.packet);
      const action: PathLink['action'] = first ? 'send' : (pendingAction ?? 'forward');
      // A tunnel's link is named by its tunnel devices, not by the underlay interfaces it rides on.
      const decap =
        c.tunnel === undefined
          ? undefined
          : steps.slice(i + 1).find((x) => x.kind === 'decap' && x.host === c.toHost);
      const outIf = c.tunnelDev ?? c.outIf;
      const inIf = decap?.decapDev ?? c.inIf;
      out.push(this.link({ from: cursor, to, type, outIf, inIf, packet, action }));
      cursor = to;
      first = false;
      pendingAction = undefined;
    }
    return out;
  }

  /** Adds a link that no step recorded (the last hop out of the cluster), returning its index. */
  addLink(l: PathLink): number {
    return this.link(l);
  }

  path(): PacketPath {
    return { nodes: [...this.nodes.values()], links: this.links };
  }
}

/**
 * The verdict of CONTRACTS §3 from the branches and suspicions: reachable when every branch
 * delivers with no critical or fatal suspicion, partial when some do, unknown when missing data
 * prevented a decision, unreachable otherwise.
 */
export function verdictOf(branches: readonly Branch[], suspicions: readonly Suspicion[]): Verdict {
  if (branches.length === 0) return 'unknown';
  const blocking = suspicions.some((s) => s.level === 'fatal' || s.level === 'critical');
  const delivered = branches.filter((b) => b.outcome === 'delivered').length;
  const unknown = branches.filter((b) => b.outcome === 'unknown').length;
  const failed = branches.length - delivered - unknown;
  if (delivered === branches.length) return blocking ? 'partial' : 'reachable';
  if (delivered > 0 && failed > 0) return 'partial';
  if (unknown > 0) return 'unknown';
  return 'unreachable';
}
