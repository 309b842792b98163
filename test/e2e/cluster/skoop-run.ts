import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli } from '../../../src/cli.js';
import type { Result } from '../../../src/model/result.js';
import { writeSnapshotFile } from '../../../src/source/snapshot.js';
import type { Snapshot } from '../../../src/source/snapshot.js';
import type { Attempt } from '../lib/lab.js';

/** What one in-process run of skoop printed and returned. */
export interface SkoopRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A diagnosis request on the command line's terms. */
export interface DiagnoseArgs {
  readonly source: string;
  readonly destination: string;
  readonly port?: number | string;
  readonly protocol?: 'tcp' | 'udp' | 'icmp';
}

/** Runs `skoop ARGV` in-process (no TTY, no colour) and collects its output. */
export async function runSkoop(argv: readonly string[]): Promise<SkoopRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: { NO_COLOR: '1' },
    stdoutIsTTY: false,
    stderrIsTTY: false,
  });
  return { code, stdout, stderr };
}

/** The command-line arguments of a diagnosis of `file`. */
export function diagnoseArgv(
  file: string,
  a: DiagnoseArgs,
  format: 'text' | 'json' | 'dot' | 'svg',
): string[] {
  return [
    '-s',
    a.source,
    '-d',
    a.destination,
    ...(a.port !== undefined ? ['-p', String(a.port)] : []),
    ...(a.protocol !== undefined ? ['--protocol', a.protocol] : []),
    '--snapshot',
    file,
    '--format',
    format,
  ];
}

/** A snapshot written to a temporary file, removed by {@link SnapshotFile.remove}. */
export interface SnapshotFile {
  readonly path: string;
  remove(): void;
}

/** Writes `snapshot` to a fresh temporary directory as `snapshot.json`. */
export async function writeTempSnapshot(snapshot: Snapshot): Promise<SnapshotFile> {
  const dir = mkdtempSync(join(tmpdir(), 'skoop-e2e-'));
  const path = join(dir, 'snapshot.json');
  await writeSnapshotFile(path, snapshot);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** skoop's JSON result of a diagnosis, with the exit code. */
export interface Diagnosis {
  readonly code: number;
  readonly result: Result;
  readonly stderr: string;
}

/** Writes the snapshot, runs `skoop … --format json` on it in-process and parses the result. */
export async function diagnose(snapshot: Snapshot, a: DiagnoseArgs): Promise<Diagnosis> {
  const file = await writeTempSnapshot(snapshot);
  try {
    const run = await runSkoop(diagnoseArgv(file.path, a, 'json'));
    if (run.code !== 0 && run.code !== 1) throw new Error(`skoop exited ${run.code}: ${run.stderr}`);
    const result = JSON.parse(run.stdout) as Result;
    // CONTRACTS §3: every finding sits on a path node, or on the cluster.
    const hops = new Set(['cluster', ...result.path.nodes.map((n) => n.id)]);
    for (const s of result.suspicions) {
      if (!hops.has(s.on)) throw new Error(`${s.code} is on ${s.on}, which is not a node of the path`);
    }
    return { code: run.code, result, stderr: run.stderr };
  } finally {
    file.remove();
  }
}

/** What the kernel did over all attempts: every one connected, none did, or some did. */
export type KernelVerdict = 'reachable' | 'unreachable' | 'partial';

/** The verdict the kernel's attempts amount to. */
export function kernelVerdict(attempts: readonly Attempt[]): KernelVerdict {
  const ok = attempts.filter((a) => a.outcome === 'connected').length;
  if (ok === attempts.length) return 'reachable';
  return ok === 0 ? 'unreachable' : 'partial';
}

/** A compact description of a diagnosis for assertion messages. */
export function describeDiagnosis(d: Diagnosis): string {
  const sus = d.result.suspicions.map((s) => `${s.level} ${s.code} on ${s.on}: ${s.message}`).join('\n  ');
  const branches = (d.result.branches ?? []).map(
    (b) =>
      `${b.outcome} p=${b.probability.toFixed(2)}${b.backend ? ` ${b.backend}` : ''}${b.endedAt ? ` at ${b.endedAt}` : ''}${b.codes ? ` [${b.codes.join(',')}]` : ''}`,
  );
  return `verdict ${d.result.verdict}, exit ${d.code}\n  ${sus}\n  branches: ${branches.join('; ')}`;
}

/**
 * skoop agrees with the kernel: all attempts connected → reachable (exit 0); none → unreachable
 * (exit 1); some → partial (exit 1). `override` is the kernel's verdict when the attempts are not the
 * whole truth (an MTU problem: small packets pass, full-size ones do not).
 */
export function expectAgreement(attempts: readonly Attempt[], d: Diagnosis, override?: KernelVerdict): void {
  const kernel = override ?? kernelVerdict(attempts);
  const outcomes = attempts.map((a) => a.outcome).join(',');
  expect(d.result.verdict, `kernel: ${outcomes}; skoop: ${describeDiagnosis(d)}`).toBe(kernel);
  expect(d.code, describeDiagnosis(d)).toBe(kernel === 'reachable' ? 0 : 1);
}

/** The suspicion with `code` raised on hop `on` (one of `codes` when several are acceptable). */
export function expectSuspicion(d: Diagnosis, codes: string | readonly string[], on: string): void {
  const want = typeof codes === 'string' ? [codes] : codes;
  const hit = d.result.suspicions.some((s) => want.includes(s.code) && s.on === on);
  expect(hit, `expected ${want.join(' or ')} on ${on}; got ${describeDiagnosis(d)}`).toBe(true);
}

/** No critical or fatal suspicion at all. */
export function expectNoBlockingSuspicion(d: Diagnosis): void {
  const blocking = d.result.suspicions.filter((s) => s.level === 'critical' || s.level === 'fatal');
  expect(blocking, describeDiagnosis(d)).toEqual([]);
}
