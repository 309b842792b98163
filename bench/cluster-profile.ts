import { readFileSync } from 'node:fs';

/** A V8 `.cpuprofile` (the parts read here). */
interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
    readonly children?: readonly number[];
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Time spent in one function, in milliseconds. */
export interface ProfileEntry {
  readonly name: string;
  /** `file:line` (file relative to the project, or the node: module). */
  readonly where: string;
  readonly selfMs: number;
  readonly totalMs: number;
}

/** A summarised CPU profile. */
export interface ProfileSummary {
  readonly totalMs: number;
  /** Highest self time first. */
  readonly bySelf: readonly ProfileEntry[];
  /** Inclusive time of every function, by `name@where`. */
  readonly byKey: ReadonlyMap<string, ProfileEntry>;
}

function shortUrl(url: string): string {
  const i = url.indexOf('/dist/');
  if (i >= 0) return url.slice(i + 1);
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + 14);
  return url.replace(/^file:\/\//, '');
}

/** Self and inclusive time per function of a `--cpu-prof` file (recursion counted once). */
export function summariseProfile(file: string): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = new Map<number, { key: string; name: string; where: string }>();
  for (const n of p.nodes) {
    const cf = n.callFrame;
    const name = cf.functionName === '' ? '(anonymous)' : cf.functionName;
    const where = cf.url === '' ? '' : `${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
    keyOf.set(n.id, { key: `${name}@${where}`, name, where });
  }
  const ticks = new Map<number, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    ticks.set(id, (ticks.get(id) ?? 0) + dt);
    total += dt;
  });
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, us] of ticks) {
    const k = keyOf.get(id);
    if (k === undefined) continue;
    self.set(k.key, (self.get(k.key) ?? 0) + us);
    const seen = new Set<string>();
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const kk = keyOf.get(x);
      if (kk === undefined || seen.has(kk.key)) continue;
      seen.add(kk.key);
      incl.set(kk.key, (incl.get(kk.key) ?? 0) + us);
    }
  }
  const byKey = new Map<string, ProfileEntry>();
  for (const n of p.nodes) {
    const k = keyOf.get(n.id);
    if (k === undefined || byKey.has(k.key) || byId.get(n.id) === undefined) continue;
    byKey.set(k.key, {
      name: k.name,
      where: k.where,
      selfMs: (self.get(k.key) ?? 0) / 1000,
      totalMs: (incl.get(k.key) ?? 0) / 1000,
    });
  }
  const bySelf = [...byKey.values()].filter((e) => e.selfMs > 0).sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs: total / 1000, bySelf, byKey };
}

/** The inclusive time of the first function called `name` (any file), or 0. */
export function inclusiveMs(s: ProfileSummary, name: string): number {
  let best = 0;
  for (const e of s.byKey.values()) if (e.name === name && e.totalMs > best) best = e.totalMs;
  return best;
}
