import type { Dump } from './dump.js';
import type { Packet, Protocol } from './packet.js';
import { familyOf, normalizeIp } from './ip.js';
import { icmpEchoIgnoreAll } from './sysctls.js';
import { lookupListener } from './listeners.js';
import { hostPort, invertTuple, tupleOf, type Tuple } from './conntrack.js';
import {
  type World,
  type State,
  type Flight,
  type Terminal,
  type Crossing,
  type TraceStep,
  type Outcome,
  type Drop,
  hostOf,
  emptyState,
} from './world-state.js';
import { buildWorld, drive, sendFrom } from './world.js';

/** One way a connection can go (Service backends and ECMP fork the path), with its probability. */
export interface ConnectionBranch {
  readonly probability: number;
  readonly outcome: Outcome;
  /** The server that got the connection: host, the address it was reached at, the peer it saw. */
  readonly server?: { readonly host: string; readonly local: string; readonly peer: string };
  /** The address the client believes it talks to, from the reply it got (after un-NAT). */
  readonly clientSaw?: string;
  readonly drop?: Drop;
  /** The forward path then, when there was a reply, the reply path. */
  readonly steps: readonly TraceStep[];
  /** Rules the packet reached that the simulator could not evaluate (assumed not to match). */
  readonly unsupported: readonly string[];
}

/** A connection attempt from one host of the world. */
export interface ConnectionRequest {
  readonly from: string;
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  readonly dst: string;
  readonly dport: number;
  readonly src?: string;
  readonly sport?: number;
}

/** Every branch of a simulated connection attempt. */
export interface ConnectionVerdict {
  readonly branches: readonly ConnectionBranch[];
  readonly warnings: readonly string[];
}

const EPHEMERAL_PORT = 40000;

/** The packet a client in `host` sends first for `req`. */
export function firstPacket(req: ConnectionRequest): Packet {
  const family = familyOf(req.dst);
  const protocol: Protocol = req.protocol;
  const icmp = protocol === 'icmp';
  return {
    family,
    protocol,
    src: req.src ?? '',
    dst: normalizeIp(req.dst),
    sport: icmp ? 0 : (req.sport ?? EPHEMERAL_PORT),
    dport: icmp ? 0 : req.dport,
    mark: 0,
    tcpFlags: protocol === 'tcp' ? ['SYN'] : [],
    ...(icmp ? { icmpType: family === 4 ? 8 : 128, icmpCode: 0 } : {}),
  };
}

/**
 * Simulates a connection attempt from `req.from`: the first packet to wherever the kernel takes it
 * (forking over Service backends and ECMP), whether a socket accepts it, and the reply's way back
 * through every conntrack un-NAT, as the client's socket would see it.
 */
export function simulateConnection(
  dumps: Readonly<Record<string, Dump>> | World,
  req: ConnectionRequest,
): ConnectionVerdict {
  const w = isWorld(dumps) ? dumps : buildWorld(dumps);
  const branches: ConnectionBranch[] = [];
  const first = firstPacket(req);
  for (const t of drive(w, sendFrom(w, emptyState(), req.from, { packet: first, dir: 'orig' }))) {
    branches.push(...settle(w, req.from, first, t));
  }
  return { branches, warnings: w.warnings };
}

function isWorld(x: unknown): x is World {
  return typeof x === 'object' && x !== null && (x as World).hosts instanceof Map;
}

function branchOf(t: Terminal, outcome: Outcome, extra: Partial<ConnectionBranch> = {}): ConnectionBranch {
  return {
    probability: t.state.probability,
    outcome,
    steps: t.state.steps,
    unsupported: t.state.unsupported,
    ...extra,
  };
}

/**
 * Turns where a first packet ended into what the client's socket sees: a server's answer (SYN-ACK,
 * RST, echo, ICMP port unreachable) travels the reply path back through every conntrack un-NAT.
 */
export function settle(
  w: World,
  from: string,
  first: Packet,
  t: Exclude<Terminal, Crossing>,
): ConnectionBranch[] {
  if (t.kind === 'dropped') return [branchOf(t, t.notify, { drop: t.drop })];
  if (t.kind === 'left') {
    return [
      branchOf(t, 'unknown', {
        drop: {
          host: t.host,
          code: 'NETSTACK_NOT_COLLECTED',
          reason: `the packet left the captured hosts towards ${t.flight.packet.dst}`,
        },
      }),
    ];
  }
  const ns = hostOf(w, t.host);
  const p = t.flight.packet;
  const server = { host: t.host, local: hostPort(p.dst, p.dport), peer: hostPort(p.src, p.sport) };
  let replyPacket: Packet;
  let answered: Outcome;
  if (p.protocol === 'icmp') {
    if (ns.sysctls !== undefined && p.family === 4 && icmpEchoIgnoreAll(ns.sysctls) === true) {
      return [
        branchOf(t, 'timeout', {
          drop: { host: t.host, code: 'SYSCTL_MISMATCH', reason: 'icmp_echo_ignore_all is set' },
        }),
      ];
    }
    replyPacket = { ...p, src: p.dst, dst: p.src, icmpType: p.family === 4 ? 0 : 129 };
    answered = 'connected';
  } else {
    if (ns.listeners === undefined) {
      return [
        branchOf(t, 'unknown', {
          server,
          drop: {
            host: t.host,
            code: 'NETSTACK_NOT_COLLECTED',
            reason: `listening sockets of ${t.host} were not collected`,
          },
        }),
      ];
    }
    const l = lookupListener(ns.listeners, p.protocol === 'udp' ? 'udp' : 'tcp', p.dst, p.dport);
    answered = l === undefined ? 'refused' : 'connected';
    // No socket: TCP answers with a RST, UDP with ICMP port unreachable; both travel the reply path.
    replyPacket = {
      ...p,
      src: p.dst,
      dst: p.src,
      sport: p.dport,
      dport: p.sport,
      tcpFlags: p.protocol === 'tcp' ? (l ? ['SYN', 'ACK'] : ['RST', 'ACK']) : [],
    };
  }
  const replyFlight: Flight = { packet: replyPacket, dir: 'reply' };
  const out: ConnectionBranch[] = [];
  for (const r of drive(w, sendFrom(w, t.state, t.host, replyFlight))) {
    if (r.kind === 'delivered') {
      const rp = r.flight.packet;
      const expected = invertTuple(originalTuple(t.state, from, first));
      const back = tupleOf(rp);
      const okHost = r.host === from;
      const okTuple =
        back.dst === expected.dst &&
        back.src === expected.src &&
        back.sport === expected.sport &&
        back.dport === expected.dport;
      if (okHost && okTuple) {
        out.push(branchOf(r, answered, { server, clientSaw: hostPort(rp.src, rp.sport) }));
      } else {
        out.push(
          branchOf(r, 'timeout', {
            server,
            drop: {
              host: r.host,
              code: 'UNEXPECTED_SNAT',
              reason: `the reply reached ${r.host} as ${hostPort(rp.src, rp.sport)} -> ${hostPort(rp.dst, rp.dport)}, which is not the client's connection`,
            },
          }),
        );
      }
    } else if (r.kind === 'dropped') {
      out.push(branchOf(r, 'timeout', { server, drop: r.drop }));
    } else {
      out.push(
        branchOf(r, 'unknown', {
          server,
          drop: {
            host: r.host,
            code: 'NETSTACK_NOT_COLLECTED',
            reason: `the reply left the captured hosts towards ${r.flight.packet.dst}`,
          },
        }),
      );
    }
  }
  return out;
}

/** The tuple of the client's socket: its first packet as it left OUTPUT's routing (before NAT). */
function originalTuple(s: State, from: string, first: Packet): Tuple {
  const entries = s.ct.get(from) ?? [];
  const match = entries.find(
    (e) =>
      e.orig.dst === first.dst &&
      e.orig.dport === first.dport &&
      e.orig.protocol === first.protocol &&
      (first.src === '' || e.orig.src === first.src),
  );
  return match?.orig ?? tupleOf(first);
}
