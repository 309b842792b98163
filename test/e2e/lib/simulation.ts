import { expect } from 'vitest';
import {
  simulateConnection,
  type ConnectionBranch,
  type ConnectionRequest,
  type ConnectionVerdict,
} from '../../../src/netstack/connection.js';
import type { Attempt } from './lab.js';

export type { ConnectionRequest, ConnectionVerdict };

/** One simulated way the connection can go, with its probability. */
export type SimulatedBranch = ConnectionBranch;

/** The simulator's entry point. */
export type SimulateConnection = typeof simulateConnection;

/** The simulator, ready to compare against the kernel. */
export type SimulatorLoad = { readonly state: 'ready'; readonly simulate: SimulateConnection };

/** The simulator of src/netstack/world.ts. */
export async function loadSimulator(): Promise<SimulatorLoad> {
  return { state: 'ready', simulate: simulateConnection };
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
