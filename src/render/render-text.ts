import { Chalk, type ChalkInstance } from 'chalk';
import type { BranchOutcome, Endpoint, PacketSummary, PathLink, Result, Verdict } from '../model/result.js';
import type { SuspicionLevel } from '../model/suspicion.js';
import { formatEvidence } from './evidence-text.js';
import { describeNat, formatDestination, formatPacket } from './packet-text.js';
import { formatProbability, viewPath, type BranchView } from './path-view.js';
import { groupSuspicions } from './suspicion-groups.js';
import { wrapText } from './wrap-text.js';

/** How to render the text report. */
export interface TextOptions {
  /** Emit ANSI colour codes; the caller decides (NO_COLOR, TTY), the renderer never looks. */
  readonly color: boolean;
  /** The line width to wrap messages and evidence at; 100 when absent. */
  readonly width?: number;
}

/** The default line width of the text report. */
export const DEFAULT_TEXT_WIDTH = 100;

const VERDICT_STYLE: Readonly<Record<Verdict, (c: ChalkInstance) => ChalkInstance>> = {
  reachable: (c) => c.green.bold,
  partial: (c) => c.yellow.bold,
  unreachable: (c) => c.red.bold,
  unknown: (c) => c.magenta.bold,
};

const LEVEL_STYLE: Readonly<Record<SuspicionLevel, (c: ChalkInstance) => ChalkInstance>> = {
  fatal: (c) => c.red.bold,
  critical: (c) => c.red,
  warning: (c) => c.yellow,
  info: (c) => c.dim,
};

const OUTCOME_MARK: Readonly<Record<BranchOutcome, string>> = {
  delivered: '✔',
  refused: '✖',
  dropped: '✖',
  unknown: '?',
};

const OUTCOME_STYLE: Readonly<Record<BranchOutcome, (c: ChalkInstance) => ChalkInstance>> = {
  delivered: (c) => c.green,
  refused: (c) => c.red,
  dropped: (c) => c.red,
  unknown: (c) => c.magenta,
};

const OUTCOME_ORDER: readonly BranchOutcome[] = ['delivered', 'refused', 'dropped', 'unknown'];

/** `[CRITICAL]` is the widest level tag; the others are padded to it so codes line up. */
const TAG_WIDTH = '[CRITICAL]'.length + 1;

/**
 * The human report of a diagnosis: the verdict and endpoints, the path hop by hop and branch by
 * branch (with the packet on every link and the NAT between them), then the suspicions by hop.
 */
export function renderText(result: Result, options: TextOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const width = options.width ?? DEFAULT_TEXT_WIDTH;
  const lines = [
    ...header(result, c, width),
    '',
    ...pathSection(result, c),
    '',
    ...suspicionSection(result, c, width),
  ];
  return `${lines.join('\n')}\n`;
}

function header(result: Result, c: ChalkInstance, width: number): string[] {
  const word = result.verdict.toUpperCase();
  const route = `${endpoint(result.source, false)} → ${endpoint(result.destination, true)}`;
  const indent = word.length + 2;
  const lines = hanging(`${VERDICT_STYLE[result.verdict](c)(word)}  `, indent, route, width);
  for (const fact of [branchSummary(result), requestFacts(result).join(' · ')]) {
    if (fact !== '') lines.push(...hanging(' '.repeat(indent), indent, fact, width).map((l) => c.dim(l)));
  }
  return lines;
}

function endpoint(e: Endpoint, withPort: boolean): string {
  const address = withPort ? formatDestination(e) : e.ip;
  return e.id === e.ip ? `${e.type} ${address}` : `${e.type} ${e.id} ${address}`;
}

function branchSummary(result: Result): string {
  const view = viewPath(result);
  const counts = new Map<BranchOutcome, number>();
  for (const b of view.branches) counts.set(b.branch.outcome, (counts.get(b.branch.outcome) ?? 0) + 1);
  const parts = OUTCOME_ORDER.filter((o) => counts.has(o)).map((o) => `${counts.get(o)} ${o}`);
  const n = view.branches.length;
  return `${n} ${n === 1 ? 'branch' : 'branches'}: ${parts.join(', ')}`;
}

function requestFacts(result: Result): string[] {
  const r = result.request;
  if (r === undefined) return [];
  return [
    r.from,
    ...(r.capturedAt === undefined ? [] : [`captured ${r.capturedAt}`]),
    ...(r.networkPlugin === undefined ? [] : [`plugin ${r.networkPlugin}`]),
    ...(r.proxyMode === undefined ? [] : [`proxy ${r.proxyMode}`]),
  ];
}

function pathSection(result: Result, c: ChalkInstance): string[] {
  const view = viewPath(result);
  const lines = [c.bold('Path')];
  if (result.path.links.length === 0) lines.push(c.dim('  no link was simulated'));
  let previous: PacketSummary | undefined;
  for (const index of view.shared) {
    lines.push(...linkLines(result, index, previous, 2, c));
    previous = result.path.links[index]?.packet;
  }
  const sharedEnd = previous;
  const single = view.branches.length === 1 && view.branches[0]?.branch.backend === undefined;
  for (const b of view.branches) {
    const indent = single ? 2 : 4;
    if (!single) lines.push('', `  ${c.bold(branchTitle(b, view.branches.length))}`);
    previous = sharedEnd;
    for (const index of b.own) {
      lines.push(...linkLines(result, index, previous, indent, c));
      previous = result.path.links[index]?.packet;
    }
    lines.push(`${' '.repeat(indent)}${branchEnd(b, c)}`);
  }
  return lines;
}

function branchTitle(b: BranchView, total: number): string {
  const title = `branch ${b.index + 1}/${total} (${formatProbability(b.branch.probability)})`;
  return b.branch.backend === undefined ? title : `${title} → ${b.branch.backend}`;
}

function branchEnd(b: BranchView, c: ChalkInstance): string {
  const { outcome, codes = [] } = b.branch;
  const where = outcome === 'delivered' ? `to ${b.end}` : `at ${b.end}`;
  const why = codes.length === 0 ? '' : `: ${codes.join(', ')}`;
  return OUTCOME_STYLE[outcome](c)(`${OUTCOME_MARK[outcome]} ${outcome} ${where}${why}`);
}

function linkLines(
  result: Result,
  index: number,
  previous: PacketSummary | undefined,
  indent: number,
  c: ChalkInstance,
): string[] {
  const link = result.path.links[index];
  if (link === undefined) return [];
  const pad = ' '.repeat(indent);
  const nat = previous === undefined ? [] : describeNat(previous, link.packet);
  const action = link.action === 'drop' ? c.red(`(${link.action})`) : c.dim(`(${link.action})`);
  return [
    ...nat.map((n) => `${pad}${c.cyan(n)} at ${link.from}`),
    `${pad}${linkText(link)}`,
    `${pad}  ${formatPacket(link.packet)} ${action}`,
  ];
}

/** `node-1 --vxlan flannel.1→flannel.1--> node-2`. */
function linkText(link: PathLink): string {
  const ifs =
    link.outIf === undefined && link.inIf === undefined ? '' : ` ${link.outIf ?? '?'}→${link.inIf ?? '?'}`;
  return `${link.from} --${link.type}${ifs}--> ${link.to}`;
}

function suspicionSection(result: Result, c: ChalkInstance, width: number): string[] {
  const groups = groupSuspicions(result);
  if (groups.length === 0) return [`${c.bold('Suspicions')}: none`];
  const types = new Map(result.path.nodes.map((n) => [n.id, n.type]));
  const lines = [c.bold('Suspicions')];
  const codeIndent = 4 + TAG_WIDTH;
  for (const group of groups) {
    const type = types.get(group.on);
    lines.push(`  ${c.bold(type === undefined ? group.on : `${type} ${group.on}`)}`);
    for (const s of group.suspicions) {
      const style = LEVEL_STYLE[s.level](c);
      const tag = `[${s.level.toUpperCase()}]`;
      const lead = `    ${style(tag)}${' '.repeat(TAG_WIDTH - tag.length)}${style(s.code)}  `;
      lines.push(...hanging(lead, codeIndent, s.message, width, codeIndent + s.code.length + 2));
      if (s.evidence !== undefined) {
        const evidenceIndent = ' '.repeat(codeIndent + 2);
        lines.push(
          ...formatEvidence(s.evidence, width - codeIndent - 2).map((l) => c.dim(`${evidenceIndent}${l}`)),
        );
      }
    }
  }
  return lines;
}

/**
 * `lead` then `text` wrapped to `width`, continuation lines indented by `indent`; `leadWidth` is the
 * visible width of `lead` (which may hold colour codes).
 */
function hanging(lead: string, indent: number, text: string, width: number, leadWidth = indent): string[] {
  const [first = '', ...rest] = wrapText(text, width - indent, width - leadWidth);
  return [`${lead}${first}`, ...rest.map((l) => `${' '.repeat(indent)}${l}`)];
}
