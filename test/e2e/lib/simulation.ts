import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'vitest';
import type { Dump } from '../../../src/netstack/dump.js';
import type { Attempt } from './lab.js';

// Local copies of the simulator's entry point types (src/netstack/world.ts), so that this bench compiles and
// runs its kernel side before that module exists.

/** A connection to simulate: from host `from` (a key of the dumps) to `dst`:`dport`. */
export interface ConnectionRequest {
  readonly from: string;
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  readonly dst: string;
  readonly dport: number;
  readonly src?: string;
  readonly sport?: number;
}

/** One simulated way the connection can go, with its probability. */
export interface SimulatedBranch {
  readonly probability: number;
  readonly outcome: 'connected' | 'refused' | 'unreachable' | 'timeout' | 'error' | 'unknown';
  readonly server?: { readonly host: string; readonly local: string; readonly peer: string };
  readonly clientSaw?: string;
  readonly drop?: { readonly host: string; readonly reason: string };
}

/** What the simulator predicts for a connection. */
export interface ConnectionVerdict {
  readonly branches: readonly SimulatedBranch[];
}

/** The simulator's entry point. */
export type SimulateConnection = (
  dumps: Readonly<Record<string, Dump>>,
  req: ConnectionRequest,
) => ConnectionVerdict;

/** Where the simulator lives. */
export const WORLD_MODULE = fileURLToPath(new URL('../../../src/netstack/world.ts', import.meta.url));

/** The simulator, or why it cannot be used: absent (world.ts not written yet) or broken (it exists but fails to load). */
export type SimulatorLoad =
  | { readonly state: 'ready'; readonly simulate: SimulateConnection }
  | { readonly state: 'absent' }
  | { readonly state: 'broken'; readonly error: Error };

/**
 * Loads `simulateConnection` from src/netstack/world.ts.
 * @remarks Only a missing file makes the comparison skippable; once the file exists, a failure to load it (or a
 * missing export) is reported as `broken` so that the comparison tests fail instead of silently skipping, while
 * the kernel side still runs.
 */
export async function loadSimulator(): Promise<SimulatorLoad> {
  if (!existsSync(WORLD_MODULE)) return { state: 'absent' };
  try {
    const mod = (await import(pathToFileURL(WORLD_MODULE).href)) as { simulateConnection?: unknown };
    if (typeof mod.simulateConnection !== 'function') {
      return {
        state: 'broken',
        error: new Error(`${WORLD_MODULE} does not export a function simulateConnection`),
      };
    }
    return { state: 'ready', simulate: mod.simulateConnection as SimulateConnection };
  } catch (e) {
    return { state: 'broken', error: e instanceof Error ? e : new Error(String(e)) };
  }
}

/** Splits `ip:port` or `[ip]:port` into its address and port. */
export function splitHostPort(s: string): { readonly ip: string; readonly port: number } {
  const m = /^\[(.+)\]:(\d+)$/.exec(s) ?? /^(.+):(\d+)$/.exec(s);
  if (m?.[1] === undefined || m[2] === undefined) throw new Error(`not an ip:port: ${s}`);
  const ip = m[1].startsWith('::ffff:') && m[1].includes('.') ? m[1].slice(7) : m[1];
  return { ip, port: Number(m[2]) };
}

/** Options of {@link expectSimulationAgrees}. */
export interface AgreementOptions {
  /** The client bound this source port: then the port the server saw is compared too. */
  readonly sport?: number;
  /** Prefix of every assertion message (e.g. the probe). */
  readonly label?: string;
}

function serverKey(
  s: { readonly host: string; readonly local: string; readonly peer: string },
  withPeerPort: boolean,
): string {
  const peer = splitHostPort(s.peer);
  const local = splitHostPort(s.local);
  return `${s.host} local=${local.ip}:${local.port} peer=${peer.ip}${withPeerPort ? `:${peer.port}` : ''}`;
}

function sorted<T>(xs: Iterable<T>): T[] {
  return [...new Set(xs)].sort();
}

/**
 * Asserts the simulator's verdict matches what the kernel did: the same set of outcomes; for connections that
 * were answered, the same set of (server host, address the server was reached at, peer address it saw) — every
 * branch the kernel took is simulated and every simulated branch was taken; and, where the simulator says it,
 * the address the client saw. Ephemeral client ports are ignored.
 */
export function expectSimulationAgrees(
  kernel: readonly Attempt[],
  verdict: ConnectionVerdict,
  opts: AgreementOptions = {},
): void {
  const at = (what: string): string => (opts.label !== undefined ? `${opts.label}: ${what}` : what);
  const branches = verdict.branches.filter((b) => b.probability > 0);
  expect(branches.length, at('the verdict has no branch with a positive probability')).toBeGreaterThan(0);
  const total = branches.reduce((sum, b) => sum + b.probability, 0);
  expect(total, at('branch probabilities sum to 1')).toBeCloseTo(1, 6);

  const simulated = branches
    .map((b) => `${b.outcome}${b.drop !== undefined ? ` (dropped at ${b.drop.host}: ${b.drop.reason})` : ''}`)
    .join('; ');
  const observed = sorted(
    kernel.map((a) => `${a.outcome}${a.errno !== undefined ? ` (${a.errno})` : ''}`),
  ).join('; ');
  expect(
    sorted(branches.map((b) => b.outcome)),
    at(`outcomes — simulated: ${simulated} — kernel: ${observed}`),
  ).toEqual(sorted(kernel.map((a) => a.outcome)));

  const connected = kernel.filter((a) => a.outcome === 'connected' && a.server !== undefined);
  if (connected.length > 0) {
    const withPeerPort =
      opts.sport !== undefined && connected.every((a) => splitHostPort(a.server!.peer).port === opts.sport);
    const simServers = branches.filter((b) => b.outcome === 'connected');
    for (const b of simServers) expect(b.server, at('a connected branch names the server')).toBeDefined();
    expect(sorted(simServers.map((b) => serverKey(b.server!, withPeerPort))), at('servers reached')).toEqual(
      sorted(connected.map((a) => serverKey(a.server!, withPeerPort))),
    );
    const saw = simServers.flatMap((b) => (b.clientSaw !== undefined ? [b.clientSaw] : []));
    if (saw.length > 0) {
      const norm = (s: string): string => {
        const { ip, port } = splitHostPort(s);
        return `${ip}:${port}`;
      };
      expect(sorted(saw.map(norm)), at('addresses the client saw')).toEqual(
        sorted(connected.flatMap((a) => (a.clientSaw !== undefined ? [norm(a.clientSaw)] : []))),
      );
    }
  }
}
