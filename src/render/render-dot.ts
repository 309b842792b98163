import {
  Digraph,
  toDot,
  type Color,
  type NodeAttributesObject,
  type NodeModel,
  type RootGraphModel,
} from 'ts-graphviz';
import type { BranchOutcome, PathLink, PathNodeType, Result } from '../model/result.js';
import type { SuspicionLevel } from '../model/suspicion.js';
import { describeNat, formatDestination, formatHostPort } from './packet-text.js';
import { formatProbability, viewPath, type BranchView } from './path-view.js';
import { groupSuspicions } from './suspicion-groups.js';

/** The shape of each kind of hop, so pods, nodes, Services and outside addresses read apart. */
export const NODE_SHAPES = {
  pod: 'ellipse',
  node: 'box3d',
  service: 'hexagon',
  external: 'note',
} as const satisfies Readonly<Record<PathNodeType, string>>;

/** The textual badge of each suspicion level, so a hop's worst finding reads without colour. */
export const LEVEL_BADGES = {
  fatal: '✖ fatal',
  critical: '◆ critical',
  warning: '▲ warning',
  info: '● info',
} as const satisfies Readonly<Record<SuspicionLevel, string>>;

const LEVEL_COLORS: Readonly<Record<SuspicionLevel, { readonly color: Color; readonly fillcolor: Color }>> = {
  fatal: { color: 'red3', fillcolor: '#fadbd8' },
  critical: { color: 'red', fillcolor: '#fdedec' },
  warning: { color: 'orange3', fillcolor: '#fef5e7' },
  info: { color: 'steelblue', fillcolor: '#eaf2f8' },
};

const OUTCOME_EDGE: Readonly<
  Record<Exclude<BranchOutcome, 'delivered'>, { readonly label: string; readonly color: Color }>
> = {
  dropped: { label: '✖ dropped', color: 'red' },
  refused: { label: '✖ refused', color: 'red' },
  unknown: { label: '? unknown', color: 'magenta3' },
};

/** The DOT id of the terminal node of branch `index` (0-based); `#` cannot occur in a path node id. */
export const branchEndId = (index: number): string => `end#${index + 1}`;

/**
 * The packet path as a Graphviz graph: one node per hop (shaped by kind, badged by its worst
 * suspicion), one edge per link (interfaces, NAT and packet in its label, the backend where a
 * Service forks), and a dashed edge to a small end point for every branch that did not deliver.
 */
export function buildGraph(result: Result): RootGraphModel {
  const g = new Digraph('skoop', {
    rankdir: 'LR',
    labelloc: 't',
    label: `${result.verdict.toUpperCase()}\n${result.source.id} → ${result.destination.id} ${formatDestination(result.destination)}`,
    fontname: 'Helvetica',
  });
  g.attributes.node.apply({ fontname: 'Helvetica', fontsize: 11 });
  g.attributes.edge.apply({ fontname: 'Helvetica', fontsize: 9 });

  const groups = new Map(groupSuspicions(result).map((s) => [s.on, s]));
  const nodes = new Map<string, NodeModel>();
  const addNode = (id: string, type: PathNodeType | undefined): NodeModel => {
    const existing = nodes.get(id);
    if (existing !== undefined) return existing;
    const group = groups.get(id);
    const attrs: NodeAttributesObject = {
      shape: type === undefined ? 'box' : NODE_SHAPES[type],
      label: [
        type ?? 'hop',
        id,
        ...(group === undefined ? [] : [LEVEL_BADGES[group.worst], ...codesOf(group.suspicions)]),
      ].join('\n'),
      ...(type === undefined ? { style: 'dashed' } : {}),
      ...(group === undefined
        ? {}
        : {
            ...LEVEL_COLORS[group.worst],
            style: type === undefined ? 'dashed,filled' : 'filled',
            penwidth: 2,
          }),
    };
    const model = g.createNode(id, attrs);
    nodes.set(id, model);
    return model;
  };

  for (const n of result.path.nodes) addNode(n.id, n.type);
  for (const l of result.path.links) {
    addNode(l.from, undefined);
    addNode(l.to, undefined);
  }

  const view = viewPath(result);
  const nat = natByLink(result, view.shared, view.branches);
  const forks = forkLabels(view.branches, view.branches.length);
  result.path.links.forEach((l, i) => {
    const label = [interfaces(l), ...(nat.get(i) ?? []), packetLabel(l), ...(forks.get(i) ?? [])].join('\n');
    const from = nodes.get(l.from);
    const to = nodes.get(l.to);
    if (from === undefined || to === undefined) return;
    g.createEdge([from, to], { label, ...(l.action === 'drop' ? { color: 'red', fontcolor: 'red' } : {}) });
  });

  for (const b of view.branches) {
    if (b.branch.outcome === 'delivered') continue;
    const style = OUTCOME_EDGE[b.branch.outcome];
    const codes = b.branch.codes ?? [];
    const end = g.createNode(branchEndId(b.index), {
      shape: 'point',
      width: 0.15,
      color: style.color,
      xlabel: codes.length === 0 ? b.branch.outcome : codes.join('\n'),
      fontcolor: style.color,
    });
    const at = addNode(b.end, undefined);
    const probability = view.branches.length > 1 ? ` (${formatProbability(b.branch.probability)})` : '';
    g.createEdge([at, end], {
      label: `${style.label}${probability}`,
      style: 'dashed',
      color: style.color,
      fontcolor: style.color,
    });
  }

  for (const group of groups.values()) addNode(group.on, undefined);
  return g;
}

/** The packet path as DOT text (see {@link buildGraph}); deterministic for a given Result. */
export function renderDot(result: Result): string {
  return `${toDot(buildGraph(result))}\n`;
}

function codesOf(suspicions: readonly { readonly code: string; readonly level: SuspicionLevel }[]): string[] {
  return [...new Set(suspicions.map((s) => s.code))];
}

function interfaces(l: PathLink): string {
  if (l.outIf === undefined && l.inIf === undefined) return l.type;
  return `${l.type} ${l.outIf ?? '?'}→${l.inIf ?? '?'}`;
}

/** `10.244.1.5→10.96.0.10:80` (the destination port is what the hop acts on; ICMP has none). */
function packetLabel(l: PathLink): string {
  const p = l.packet;
  return `${p.src}→${formatHostPort(p.dst, p.protocol === 'icmp' ? undefined : p.dport)}`;
}

/** The translations each link's packet went through since the previous link of any branch. */
function natByLink(
  result: Result,
  shared: readonly number[],
  branches: readonly BranchView[],
): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const seq of branches.map((b) => [...shared, ...b.own])) {
    for (let i = 1; i < seq.length; i++) {
      const before = result.path.links[seq[i - 1] ?? -1];
      const index = seq[i] ?? -1;
      const after = result.path.links[index];
      if (before === undefined || after === undefined) continue;
      const list = out.get(index) ?? [];
      for (const n of describeNat(before.packet, after.packet).map((t) => t.replace(' → ', '→'))) {
        if (!list.includes(n)) list.push(n);
      }
      if (list.length > 0) out.set(index, list);
    }
  }
  return out;
}

/** For each forked branch with a backend, its label on the first link no other branch takes. */
function forkLabels(branches: readonly BranchView[], total: number): Map<number, string[]> {
  const uses = new Map<number, number>();
  for (const b of branches) for (const i of new Set(b.branch.links)) uses.set(i, (uses.get(i) ?? 0) + 1);
  const out = new Map<number, string[]>();
  if (total < 2) return out;
  for (const b of branches) {
    const first = b.own.find((i) => uses.get(i) === 1);
    if (first === undefined || b.branch.backend === undefined) continue;
    out.set(first, [
      ...(out.get(first) ?? []),
      `→ ${b.branch.backend} (${formatProbability(b.branch.probability)})`,
    ]);
  }
  return out;
}
