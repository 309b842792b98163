import type { Family } from './packet.js';
import { familyOf, isIp, normalizeIp } from './ip.js';
import { NetstackParseError } from './parse-error.js';

const FIELD = 'listeners';

/** A listening TCP socket or an unconnected UDP socket, from `ss -H -l -n -t -u`. */
export interface Listener {
  readonly protocol: 'tcp' | 'udp';
  /** `LISTEN` (tcp) or `UNCONN` (udp). */
  readonly state: string;
  /** Socket family: 6 for an AF_INET6 socket, even one bound to `::ffff:a.b.c.d`. */
  readonly family: Family;
  /** Bound address, canonical: `0.0.0.0` / `::` for wildcards, IPv4-mapped addresses as IPv4. */
  readonly address: string;
  readonly port: number;
  readonly wildcard: boolean;
  /**
   * For an IPv6 wildcard: whether it refuses IPv4 (IPV6_V6ONLY). `false` for ss's `*`, `true` for
   * ss's `[::]`, `undefined` when the ss version does not say (old `:::port`); undefined is treated as
   * dual-stack, the Linux default (`net.ipv6.bindv6only = 0`).
   */
  readonly v6only?: boolean;
  /** Device the socket is bound to (SO_BINDTODEVICE), the `%dev` suffix. */
  readonly device?: string;
  /** The local address column as printed. */
  readonly local: string;
}

const LOCAL_RE = /^(\[[^\]]+\]|[^%\s]*?)(?:%([^\s:]+))?:(\d+)$/;

function parseLocal(text: string, protocol: 'tcp' | 'udp', state: string, line: number): Listener {
  const m = LOCAL_RE.exec(text);
  if (m === null || m[1] === undefined || m[3] === undefined) {
    throw new NetstackParseError(FIELD, `bad local address ${JSON.stringify(text)}`, line);
  }
  const addrText = m[1];
  const port = Number(m[3]);
  if (port > 65535) throw new NetstackParseError(FIELD, `bad port in ${JSON.stringify(text)}`, line);
  const base = { protocol, state, port, local: text };
  const dev = m[2] === undefined ? {} : { device: m[2] };
  if (addrText === '*') {
    return { ...base, ...dev, family: 6, address: '::', wildcard: true, v6only: false };
  }
  const bracketed = addrText.startsWith('[');
  const bare = bracketed ? addrText.slice(1, -1) : addrText;
  if (!isIp(bare)) throw new NetstackParseError(FIELD, `bad address in ${JSON.stringify(text)}`, line);
  const isV6Text = bare.includes(':');
  const address = normalizeIp(bare);
  if (!isV6Text) return { ...base, ...dev, family: 4, address, wildcard: address === '0.0.0.0' };
  if (address === '::') {
    return bracketed
      ? { ...base, ...dev, family: 6, address, wildcard: true, v6only: true }
      : { ...base, ...dev, family: 6, address, wildcard: true };
  }
  return { ...base, ...dev, family: 6, address, wildcard: false };
}

/**
 * Parses `ss -H -l -n -t -u` (Dump field `listeners`): `Netid State Recv-Q Send-Q Local:Port
 * Peer:Port [Process]`; the Netid column may be missing when a single protocol was asked for.
 *
 * @remarks ss (iproute2 ≥ 4.16) prints an IPv6 wildcard socket as `*` unless it is IPV6_V6ONLY, in
 * which case it prints `[::]` (inet_addr_print, from INET_DIAG_SKV6ONLY). Verified on this machine:
 * a node `listen(8080, '::')` shows as `*:8080` and accepts 127.0.0.1, while
 * `listen({ port: 8443, host: '::', ipv6Only: true })` shows as `[::]:8443` and refuses it.
 */
export function parseListeners(text: string): Listener[] {
  const out: Listener[] = [];
  text.split('\n').forEach((raw, i) => {
    const lineNo = i + 1;
    if (raw.trim() === '') return;
    const cols = raw.trim().split(/\s+/);
    let protocol: 'tcp' | 'udp';
    let rest: string[];
    const first = cols[0]?.toLowerCase();
    if (first === 'tcp' || first === 'udp') {
      protocol = first;
      rest = cols.slice(1);
    } else if (first === 'listen') {
      protocol = 'tcp';
      rest = cols;
    } else if (first === 'unconn') {
      protocol = 'udp';
      rest = cols;
    } else {
      throw new NetstackParseError(FIELD, `unexpected Netid/State ${JSON.stringify(cols[0])}`, lineNo);
    }
    const [state, recvQ, sendQ, local] = rest;
    if (
      state === undefined ||
      local === undefined ||
      !/^\d+$/.test(recvQ ?? '') ||
      !/^\d+$/.test(sendQ ?? '')
    ) {
      throw new NetstackParseError(FIELD, 'expected "State Recv-Q Send-Q Local:Port Peer:Port"', lineNo);
    }
    out.push(parseLocal(local, protocol, state, lineNo));
  });
  return out;
}

function deviceOk(l: Listener, dev: string | undefined): boolean {
  return l.device === undefined || dev === undefined || l.device === dev;
}

function acceptsFamily(l: Listener, family: Family): boolean {
  if (family === 6) return l.family === 6;
  return l.family === 4 || (l.wildcard && l.v6only !== true) || (!l.wildcard && familyOf(l.address) === 4);
}

function score(l: Listener, dev: string | undefined, family: Family): number {
  return (l.device !== undefined && dev !== undefined ? 2 : 0) + (l.family === family ? 1 : 0);
}

/**
 * The socket that would receive a packet for `ip`:`port`/`protocol` (arriving on `dev`, when known),
 * or `undefined` when nothing listens.
 *
 * @remarks Follows __inet_lookup_listener / udp4_lib_lookup2: sockets bound to exactly `ip` first
 * (including an AF_INET6 socket bound to `::ffff:ip`), then wildcards (`0.0.0.0`, and for IPv4 an
 * IPv6 wildcard that is not v6only); among equals a socket bound to the arrival device beats an
 * unbound one, then an AF_INET socket beats an AF_INET6 one (compute_score). A socket bound to a
 * device only receives packets from that device; when `dev` is not given it is assumed to match.
 * Connected or non-listening sockets are ignored.
 */
export function lookupListener(
  listeners: readonly Listener[],
  protocol: 'tcp' | 'udp',
  ip: string,
  port: number,
  dev?: string,
): Listener | undefined {
  const dst = normalizeIp(ip);
  const family = familyOf(dst);
  let exact: Listener | undefined;
  let wild: Listener | undefined;
  for (const l of listeners) {
    if (l.protocol !== protocol || l.port !== port) continue;
    if (l.state !== 'LISTEN' && l.state !== 'UNCONN') continue;
    if (!deviceOk(l, dev) || !acceptsFamily(l, family)) continue;
    if (l.wildcard) {
      if (wild === undefined || score(l, dev, family) > score(wild, dev, family)) wild = l;
    } else if (l.address === dst) {
      if (exact === undefined || score(l, dev, family) > score(exact, dev, family)) exact = l;
    }
  }
  return exact ?? wild;
}
