import type { BranchOutcome, LinkType, PacketSummary, PathNodeType, Result } from '../model/result.js';
import type { Suspicion, SuspicionLevel } from '../model/suspicion.js';
import { describeNat } from './packet-text.js';
import { viewPath } from './path-view.js';
import { groupSuspicions } from './suspicion-groups.js';

/** One interface a hop uses on the path: where the link goes or comes from, and over what. */
export interface HopInterface {
  readonly direction: 'in' | 'out';
  /** The hop at the other end of the link. */
  readonly peer: string;
  readonly link: LinkType;
  /** The interface on this hop (`inIf` for an incoming link, `outIf` for an outgoing one), when known. */
  readonly name?: string;
}

/** The packet as it arrived at a hop and as it left it on one or more branches. */
export interface HopCrossing {
  /** Absent when the packet starts at this hop. */
  readonly before?: PacketSummary;
  /** Absent when the packet ends at this hop (delivered, or the branch ended here). */
  readonly after?: PacketSummary;
  /** The address translations between `before` and `after` (`DNAT a → b`, `SNAT a → b`). */
  readonly nat: readonly string[];
  /** The peer the packet left for, when it left. */
  readonly next?: string;
  /** 0-based indexes of the branches that cross the hop this way. */
  readonly branches: readonly number[];
}

/** A branch that ends at a hop. */
export interface HopEnd {
  readonly branch: number;
  readonly outcome: BranchOutcome;
  readonly probability: number;
  readonly backend?: string;
  readonly codes: readonly string[];
}

/** Everything the HTML report shows about one hop (a node of the graph); incoming interfaces first. */
export interface HopView {
  readonly id: string;
  /** Absent for a hop that is only named by a link or a suspicion (e.g. `cluster`). */
  readonly type?: PathNodeType;
  readonly worst?: SuspicionLevel;
  /** Most severe first. */
  readonly suspicions: readonly Suspicion[];
  readonly interfaces: readonly HopInterface[];
  readonly crossings: readonly HopCrossing[];
  readonly ends: readonly HopEnd[];
}

/**
 * Every hop of the graph in path order (path nodes, then hops only links name, then hops only
 * suspicions name), with its interfaces, the packet before and after it on every branch, the
 * branches that end there, and its suspicions.
 */
export function viewHops(result: Result): HopView[] {
  const types = new Map<string, PathNodeType | undefined>();
  for (const n of result.path.nodes) if (!types.has(n.id)) types.set(n.id, n.type);
  for (const l of result.path.links) {
    if (!types.has(l.from)) types.set(l.from, undefined);
    if (!types.has(l.to)) types.set(l.to, undefined);
  }
  const groups = new Map(groupSuspicions(result).map((g) => [g.on, g]));
  for (const on of groups.keys()) if (!types.has(on)) types.set(on, undefined);

  const interfaces = new Map<string, HopInterface[]>();
  const addInterface = (hop: string, i: HopInterface): void => {
    const list = interfaces.get(hop) ?? [];
    const same = list.some(
      (o) => o.direction === i.direction && o.peer === i.peer && o.link === i.link && o.name === i.name,
    );
    if (!same) list.push(i);
    interfaces.set(hop, list);
  };
  for (const l of result.path.links) {
    addInterface(l.from, { direction: 'out', peer: l.to, link: l.type, ...opt('name', l.outIf) });
    addInterface(l.to, { direction: 'in', peer: l.from, link: l.type, ...opt('name', l.inIf) });
  }

  const crossings = new Map<string, Map<string, MutableCrossing>>();
  const ends = new Map<string, HopEnd[]>();
  const view = viewPath(result);
  for (const b of view.branches) {
    const seq = b.branch.links;
    const addCrossing = (hop: string, c: Omit<MutableCrossing, 'branches'>): void => {
      const key = JSON.stringify([c.before, c.after, c.next]);
      const byKey = crossings.get(hop) ?? new Map<string, MutableCrossing>();
      const existing = byKey.get(key);
      if (existing === undefined) byKey.set(key, { ...c, branches: [b.index] });
      else if (!existing.branches.includes(b.index)) existing.branches.push(b.index);
      crossings.set(hop, byKey);
    };
    const first = result.path.links[seq[0] ?? -1];
    if (first !== undefined) addCrossing(first.from, { after: first.packet, nat: [], next: first.to });
    for (let k = 0; k < seq.length; k++) {
      const link = result.path.links[seq[k] ?? -1];
      if (link === undefined) continue;
      const next = result.path.links[seq[k + 1] ?? -1];
      if (next !== undefined && next.from === link.to) {
        addCrossing(link.to, {
          before: link.packet,
          after: next.packet,
          nat: describeNat(link.packet, next.packet),
          next: next.to,
        });
      } else {
        addCrossing(link.to, { before: link.packet, nat: [] });
      }
    }
    const list = ends.get(b.end) ?? [];
    list.push({
      branch: b.index,
      outcome: b.branch.outcome,
      probability: b.branch.probability,
      ...opt('backend', b.branch.backend),
      codes: b.branch.codes ?? [],
    });
    ends.set(b.end, list);
  }

  return [...types.entries()].map(([id, type]) => {
    const group = groups.get(id);
    return {
      id,
      ...opt('type', type),
      ...opt('worst', group?.worst),
      suspicions: group?.suspicions ?? [],
      interfaces: [...(interfaces.get(id) ?? [])].sort(
        (a, b) => Number(a.direction === 'out') - Number(b.direction === 'out'),
      ),
      crossings: [...(crossings.get(id)?.values() ?? [])],
      ends: ends.get(id) ?? [],
    };
  });
}

interface MutableCrossing {
  readonly before?: PacketSummary;
  readonly after?: PacketSummary;
  readonly nat: readonly string[];
  readonly next?: string;
  readonly branches: number[];
}

/** `{ [key]: value }` when value is defined, else `{}` (for `exactOptionalPropertyTypes`). */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
