import { expect } from 'vitest';
import type { Attempt, Outcome } from '../lib/lab.js';
import type { Cluster } from './cluster.js';
import { diagnose, expectAgreement, expectSuspicion } from './skoop-run.js';
import type { Diagnosis, KernelVerdict } from './skoop-run.js';

/** A change made to a running cluster for one scenario, and how to undo it. */
export interface Break {
  /** A node name or pod id. */
  readonly on: string;
  /** A `sh -e` script run there. */
  readonly script: string;
  /** The script that restores what `script` changed (run even when the scenario fails). */
  readonly undo?: string;
}

/** A suspicion the diagnosis must contain. */
export interface ExpectedSuspicion {
  /** The code, or the codes any one of which is right. */
  readonly code: string | readonly string[];
  /** The path node it must be raised on. */
  readonly on: string;
}

/** One scenario on a built cluster: break it, capture, connect for real, diagnose, compare. */
export interface Scenario {
  readonly name: string;
  /** Where the real client runs: a node name or pod id. */
  readonly from: string;
  /** skoop's `-s` and `-d`. */
  readonly source: string;
  readonly destination: string;
  /** The address the real client connects to. */
  readonly dst: (c: Cluster) => string;
  readonly port: number;
  /** skoop's `-p` when it differs from `port` (a Service port name). */
  readonly skoopPort?: number | string;
  readonly protocol?: 'tcp' | 'udp';
  readonly count?: number;
  readonly timeoutMs?: number;
  /** What to change before capturing (a function when the scripts need the cluster's addresses or MACs). */
  readonly breaks?: readonly Break[] | ((c: Cluster) => readonly Break[]);
  /** The outcomes the kernel must produce (checks the bench itself). */
  readonly kernel: readonly Outcome[];
  readonly expect?: readonly ExpectedSuspicion[];
  /**
   * The kernel's verdict when the attempts alone do not give it (an MTU problem: the small TCP
   * probes connect, full-size packets are dropped, which `check` proves).
   */
  readonly verdict?: KernelVerdict;
  /** Extra checks on the kernel's attempts and skoop's diagnosis. */
  readonly check?: (c: Cluster, attempts: readonly Attempt[], d: Diagnosis) => void | Promise<void>;
}

/** Runs the scripts of `breaks` (in order), returning a function that undoes them (in reverse). */
export function applyBreaks(c: Cluster, breaks: readonly Break[]): () => void {
  const done: Break[] = [];
  try {
    for (const b of breaks) {
      c.exec(b.on, b.script);
      done.push(b);
    }
  } catch (e) {
    undoAll(c, done);
    throw e;
  }
  return () => undoAll(c, done);
}

function undoAll(c: Cluster, done: readonly Break[]): void {
  const errors: unknown[] = [];
  for (const b of [...done].reverse()) {
    if (b.undo === undefined) continue;
    try {
      c.exec(b.on, b.undo);
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length > 0) throw new Error(`undo failed: ${errors.map(String).join('; ')}`);
}

/**
 * Breaks the cluster as the scenario says, captures the snapshot, makes the real connections (the
 * kernel's truth), runs skoop on the snapshot and asserts that both agree, with the expected codes on
 * the expected hops; then undoes the breaks.
 */
export async function runScenario(c: Cluster, s: Scenario): Promise<void> {
  const undo = applyBreaks(c, typeof s.breaks === 'function' ? s.breaks(c) : (s.breaks ?? []));
  try {
    const snapshot = await c.snapshot();
    const attempts = await c.connect(s.from, {
      protocol: s.protocol ?? 'tcp',
      dst: s.dst(c),
      port: s.port,
      count: s.count ?? 1,
      ...(s.timeoutMs !== undefined ? { timeoutMs: s.timeoutMs } : {}),
    });
    const d = await diagnose(snapshot, {
      source: s.source,
      destination: s.destination,
      port: s.skoopPort ?? s.port,
      protocol: s.protocol ?? 'tcp',
    });
    const outcomes = [...new Set(attempts.map((a) => a.outcome))].sort();
    expect(outcomes, `the kernel (bench check): ${JSON.stringify(attempts)}`).toEqual(
      [...new Set(s.kernel)].sort(),
    );
    expectAgreement(attempts, d, s.verdict);
    for (const e of s.expect ?? []) expectSuspicion(d, e.code, e.on);
    await s.check?.(c, attempts, d);
  } finally {
    undo();
  }
}
