import { isIp, normalizeIp } from './ip.js';
import { NetstackParseError } from './parse-error.js';

const FIELD = 'neighbors';

/** A neighbour-cache (NUD) state as `ip neigh` prints it. */
export type NeighborState =
  'REACHABLE' | 'STALE' | 'DELAY' | 'PROBE' | 'FAILED' | 'INCOMPLETE' | 'PERMANENT' | 'NOARP' | 'NONE';

const STATES: ReadonlySet<string> = new Set<NeighborState>([
  'REACHABLE',
  'STALE',
  'DELAY',
  'PROBE',
  'FAILED',
  'INCOMPLETE',
  'PERMANENT',
  'NOARP',
  'NONE',
]);

/** One ARP (IPv4) or NDP (IPv6) neighbour entry. */
export interface Neighbor {
  readonly dst: string;
  readonly dev: string;
  /** Link-layer address; absent for FAILED/INCOMPLETE entries. */
  readonly lladdr?: string;
  readonly state: readonly NeighborState[];
  /** The IPv6 neighbour advertised itself as a router. */
  readonly router: boolean;
  /** A proxy entry (`ip neigh add proxy …`). */
  readonly proxy: boolean;
}

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses `ip -j neigh show` (Dump field `neighbors`).
 *
 * @remarks Flags such as `router` are printed as JSON `null` values, so presence of the key is what
 * counts.
 */
export function parseNeighbors(raw: unknown): Neighbor[] {
  if (!Array.isArray(raw))
    throw new NetstackParseError(FIELD, 'expected the JSON array printed by `ip -j neigh show`');
  return raw.map((n, i): Neighbor => {
    const where = `entry ${i}`;
    if (!isObj(n)) throw new NetstackParseError(FIELD, `${where}: not an object`);
    const dst = n['dst'];
    if (typeof dst !== 'string' || !isIp(dst))
      throw new NetstackParseError(FIELD, `${where}: bad "dst" ${JSON.stringify(dst)}`);
    const dev = n['dev'];
    if (typeof dev !== 'string') throw new NetstackParseError(FIELD, `${where}: missing "dev"`);
    const state = n['state'] ?? [];
    if (!Array.isArray(state) || state.some((s) => typeof s !== 'string' || !STATES.has(s))) {
      throw new NetstackParseError(FIELD, `${where}: bad "state" ${JSON.stringify(state)}`);
    }
    const lladdr = n['lladdr'];
    if (lladdr !== undefined && typeof lladdr !== 'string')
      throw new NetstackParseError(FIELD, `${where}: bad "lladdr"`);
    const out: Neighbor = {
      dst: normalizeIp(dst),
      dev,
      state: state as NeighborState[],
      router: 'router' in n,
      proxy: 'proxy' in n,
    };
    return lladdr === undefined ? out : { ...out, lladdr: lladdr.toLowerCase() };
  });
}

/** Neighbour entries by (device, address). */
export type NeighborIndex = ReadonlyMap<string, Neighbor>;

function key(ip: string, dev: string): string {
  return `${dev}\u0000${normalizeIp(ip)}`;
}

/** Indexes `neighbors` by device and address for {@link lookupNeighbor}. */
export function indexNeighbors(neighbors: readonly Neighbor[]): NeighborIndex {
  const m = new Map<string, Neighbor>();
  for (const n of neighbors) {
    if (!n.proxy) m.set(key(n.dst, n.dev), n);
  }
  return m;
}

/** The neighbour entry for `ip` on `dev`, or `undefined` when the cache has none. */
export function lookupNeighbor(index: NeighborIndex, ip: string, dev: string): Neighbor | undefined {
  return index.get(key(ip, dev));
}

/**
 * Whether the entry gives a usable link-layer address: it has one and is not FAILED/INCOMPLETE.
 *
 * @remarks STALE/DELAY/PROBE entries still transmit (neigh_resolve_output sends and re-validates);
 * NOARP and PERMANENT never expire.
 */
export function neighborUsable(n: Neighbor): boolean {
  return n.lladdr !== undefined && !n.state.includes('FAILED') && !n.state.includes('INCOMPLETE');
}
