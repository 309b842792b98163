import type { Result } from '../model/result.js';
import { SUSPICION_LEVELS, worstLevel, type Suspicion, type SuspicionLevel } from '../model/suspicion.js';

/** The suspicions raised on one hop (`on`), most severe first. */
export interface SuspicionGroup {
  readonly on: string;
  readonly worst: SuspicionLevel;
  readonly suspicions: readonly Suspicion[];
}

const severity = (level: SuspicionLevel): number => SUSPICION_LEVELS.indexOf(level);

/**
 * The suspicions of `result` grouped by hop: groups with the most severe finding first, ties in path
 * order (hops not on the path, such as `cluster`, after those on it); within a group, most severe first
 * and otherwise in the order they were raised.
 */
export function groupSuspicions(result: Result): SuspicionGroup[] {
  const pathOrder = new Map(result.path.nodes.map((n, i) => [n.id, i]));
  const byHop = new Map<string, Suspicion[]>();
  for (const s of result.suspicions) {
    const list = byHop.get(s.on);
    if (list === undefined) byHop.set(s.on, [s]);
    else list.push(s);
  }
  const firstSeen = [...byHop.keys()];
  const rank = (on: string): number => pathOrder.get(on) ?? pathOrder.size + firstSeen.indexOf(on);
  return [...byHop.entries()]
    .map(([on, list]) => {
      const suspicions = [...list].sort((a, b) => severity(b.level) - severity(a.level));
      const worst = suspicions.reduce<SuspicionLevel | undefined>(
        (w, s) => worstLevel(w, s.level),
        undefined,
      );
      return { on, worst: worst ?? 'info', suspicions };
    })
    .sort((a, b) => severity(b.worst) - severity(a.worst) || rank(a.on) - rank(b.on));
}
