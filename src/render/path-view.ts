import type { Branch, BranchOutcome, Result, Verdict } from '../model/result.js';

/** One branch of the path as rendered: its position, and the links it does not share with every other branch. */
export interface BranchView {
  /** 0-based position among the branches. */
  readonly index: number;
  readonly branch: Branch;
  /** Indexes into `path.links` after the prefix all branches share. */
  readonly own: readonly number[];
  /** The path node where the branch ends: its `endedAt`, else the last link's target, else the source. */
  readonly end: string;
}

/** The packet path arranged for rendering: the shared prefix once, then each branch's own links. */
export interface PathView {
  /** Indexes into `path.links` that every branch starts with (empty for a single branch). */
  readonly shared: readonly number[];
  readonly branches: readonly BranchView[];
  /** True when the result carried no `branches` and one was inferred from the links and verdict. */
  readonly implicit: boolean;
}

const OUTCOME_OF_VERDICT: Readonly<Record<Verdict, BranchOutcome>> = {
  reachable: 'delivered',
  unreachable: 'dropped',
  partial: 'unknown',
  unknown: 'unknown',
};

/**
 * Arranges `result.path` by branch; a result without branches is read as one branch over every link,
 * in order, ending as its verdict says.
 */
export function viewPath(result: Result): PathView {
  const given = result.branches ?? [];
  const implicit = given.length === 0;
  const branches: readonly Branch[] = implicit
    ? [
        {
          probability: 1,
          outcome: OUTCOME_OF_VERDICT[result.verdict],
          links: result.path.links.map((_, i) => i),
        },
      ]
    : given;
  const shared = branches.length > 1 ? commonPrefix(branches.map((b) => b.links)) : [];
  return {
    shared,
    implicit,
    branches: branches.map((branch, index) => ({
      index,
      branch,
      own: branch.links.slice(shared.length),
      end: branch.endedAt ?? lastTarget(result, branch.links) ?? result.source.id,
    })),
  };
}

function commonPrefix(lists: readonly (readonly number[])[]): number[] {
  const [first, ...rest] = lists;
  if (first === undefined) return [];
  const prefix: number[] = [];
  for (let i = 0; i < first.length; i++) {
    const link = first[i];
    if (link === undefined || rest.some((l) => l[i] !== link)) break;
    prefix.push(link);
  }
  return prefix;
}

function lastTarget(result: Result, links: readonly number[]): string | undefined {
  const last = links[links.length - 1];
  return last === undefined ? undefined : result.path.links[last]?.to;
}

/** A probability as a percentage for people: `33%`, `50%`, `0.5%`. */
export function formatProbability(probability: number): string {
  const percent = probability * 100;
  if (percent === 0 || percent >= 1) return `${Math.round(percent)}%`;
  return `${Number(percent.toPrecision(1))}%`;
}
