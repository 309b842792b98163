import type { Dump } from './dump.js';
import type { Packet, CtState } from './packet.js';
import { cidrContains, familyOf, normalizeIp } from './ip.js';
import { buildNetns, type Netns } from './netns.js';
import type { Link } from './links.js';
import { lookupRoute, isLocalAddress, checkRpFilter, type RouteDecision } from './route-lookup.js';
import { lookupNeighbor } from './neighbors.js';
import { lookupFdb } from './fdb.js';
import {
  rpFilter,
  ipv4Forwarding,
  ipv6Forwarding,
  proxyArp,
  bridgeNfCallIptables,
  srcValidMark,
  acceptLocal,
} from './sysctls.js';
import { lookupIpvs, schedulableRealServers, formatIpvsService } from './ipvs.js';
import { hostPort } from './conntrack.js';
import {
  type World,
  type State,
  type Flight,
  type Terminal,
  type Crossing,
  type Attachment,
  MAX_HOPS,
  step,
  dropped,
  hostOf,
  withPacket,
  confirm,
  attachCt,
  unNat,
  attachKey,
} from './world-state.js';
import { runHook, type HookIo } from './world-hooks.js';

/** How the hosts of a world are grouped: veth pairs only join hosts of one group (a node and its pods). */
export interface WorldOptions {
  /** Group of each host; hosts without one share a single default group. */
  readonly groups?: Readonly<Record<string, string>>;
}

/** Builds a World from named dumps: parses each namespace and wires veth peers and address owners. */
export function buildWorld(dumps: Readonly<Record<string, Dump>>, options: WorldOptions = {}): World {
  const hosts = new Map<string, Netns>();
  for (const [name, dump] of Object.entries(dumps)) hosts.set(name, buildNetns(name, dump));
  const owners = new Map<string, Attachment[]>();
  for (const ns of hosts.values()) {
    for (const link of ns.links) {
      for (const a of link.addresses) {
        const key = normalizeIp(a.local);
        const list = owners.get(key) ?? [];
        list.push({ host: ns.name, link });
        owners.set(key, list);
      }
    }
  }
  const { peers, warnings } = pairVeths(hosts, (h) => options.groups?.[h] ?? '');
  return { hosts, owners, warnings, vethPeers: peers };
}

/**
 * Pairs veth ends across namespaces: each end names its peer's ifindex (`link_index`), so two ends
 * pair when each names the other. Ifindexes are per namespace and repeat, so where several
 * candidates remain the one sharing an IP subnet wins and the ambiguity is reported.
 */
function pairVeths(
  hosts: ReadonlyMap<string, Netns>,
  groupOf: (host: string) => string,
): { peers: Map<string, Attachment>; warnings: string[] } {
  const peers = new Map<string, Attachment>();
  const warnings: string[] = [];
  const byIndex = new Map<number, Attachment[]>();
  const veths: Attachment[] = [];
  for (const ns of hosts.values()) {
    for (const link of ns.links) {
      if (link.kind !== 'veth') continue;
      veths.push({ host: ns.name, link });
      const list = byIndex.get(link.ifindex) ?? [];
      list.push({ host: ns.name, link });
      byIndex.set(link.ifindex, list);
    }
  }
  for (const end of veths) {
    const key = attachKey(end.host, end.link.name);
    if (peers.has(key) || end.link.peerIfindex === undefined) continue;
    const candidates = (byIndex.get(end.link.peerIfindex) ?? []).filter(
      (c) =>
        c.host !== end.host &&
        groupOf(c.host) === groupOf(end.host) &&
        c.link.peerIfindex === end.link.ifindex &&
        !peers.has(attachKey(c.host, c.link.name)),
    );
    if (candidates.length === 0) continue;
    let chosen = candidates[0];
    if (candidates.length > 1) {
      const sharing = candidates.filter((c) => sharesSubnet(end.link, c.link));
      chosen = sharing[0] ?? chosen;
      if (sharing.length !== 1) {
        warnings.push(
          `veth ${end.host}/${end.link.name} has ${candidates.length} possible peers; chose ${chosen?.host}/${chosen?.link.name}`,
        );
      }
    }
    if (chosen === undefined) continue;
    peers.set(key, chosen);
    peers.set(attachKey(chosen.host, chosen.link.name), end);
  }
  return { peers, warnings };
}

function sharesSubnet(a: Link, b: Link): boolean {
  for (const x of a.addresses) {
    for (const y of b.addresses) {
      if (x.family !== y.family || x.scope === 'link' || y.scope === 'link') continue;
      const len = Math.min(x.prefixlen, y.prefixlen);
      if (sameNetwork(x.local, y.local, len)) return true;
    }
  }
  return false;
}

function sameNetwork(a: string, b: string, len: number): boolean {
  return familyOf(a) === familyOf(b) && cidrContains(`${b}/${len}`, a);
}

// ---------------------------------------------------------------------------------------------
// The walk

function routeQuery(p: Packet, iif?: string) {
  return {
    family: p.family,
    dst: p.dst,
    ...(p.src !== '' ? { src: p.src } : {}),
    ...(iif !== undefined ? { iif } : {}),
    mark: p.mark,
    protocol: p.protocol,
    sport: p.sport,
    dport: p.dport,
  } as const;
}

/** Forks a routing decision over its next hops (ECMP), with their weights as probabilities. */
function forkNexthops(
  s: State,
  d: RouteDecision,
): { state: State; dev: string; gateway: string | undefined }[] {
  const total = d.nexthops.reduce((n, h) => n + (h.weight > 0 ? h.weight : 1), 0);
  return d.nexthops.map((h) => ({
    state:
      d.nexthops.length > 1
        ? { ...s, probability: (s.probability * (h.weight > 0 ? h.weight : 1)) / total }
        : s,
    dev: h.dev,
    gateway: h.gateway,
  }));
}

function routeFailure(s: State, host: string, p: Packet, d: RouteDecision, local: boolean): Terminal {
  const ev = d.evidence.length > 0 ? { route: d.evidence } : undefined;
  switch (d.kind) {
    case 'blackhole':
      return dropped(
        s,
        host,
        p,
        'ROUTE_BLACKHOLE',
        `blackhole route to ${p.dst}`,
        local ? 'error' : 'timeout',
        ev,
      );
    case 'unreachable':
      return dropped(s, host, p, 'ROUTE_BLACKHOLE', `unreachable route to ${p.dst}`, 'unreachable', ev);
    case 'prohibit':
      return dropped(
        s,
        host,
        p,
        'ROUTE_BLACKHOLE',
        `prohibit route to ${p.dst}`,
        local ? 'error' : 'unreachable',
        ev,
      );
    case 'invalid':
      return dropped(
        s,
        host,
        p,
        d.reason === 'rp-filter' ? 'RP_FILTER_DROP' : 'ROUTE_MISSING',
        `the kernel refuses this packet (${d.reason ?? 'invalid'})`,
        local ? 'error' : 'timeout',
        ev,
      );
    case 'broadcast':
    case 'multicast':
      return dropped(s, host, p, 'ROUTE_WRONG', `${p.dst} is a ${d.kind} destination here`, 'timeout', ev);
    default:
      return dropped(s, host, p, 'ROUTE_MISSING', `no route to ${p.dst}`, 'unreachable', ev);
  }
}

/** A locally generated packet leaving `host`: route, OUTPUT, re-route, POSTROUTING, transmit. */
function localOut(w: World, s: State, host: string, f0: Flight): Terminal[] {
  // The source address is chosen by the first route lookup when the socket has none bound.
  const ns = hostOf(w, host);
  const d0 = lookupRoute(ns.routing, routeQuery(f0.packet));
  if (f0.packet.src === '') {
    if (d0.source === undefined) return [routeFailure(s, host, f0.packet, d0, true)];
    f0 = withPacket(f0, { ...f0.packet, src: d0.source });
  }
  const { flight: f1, ctState } = attachCt(s, host, f0);
  const f = unNat(f1, 'dst');
  const d = f.packet.dst === f0.packet.dst ? d0 : lookupRoute(ns.routing, routeQuery(f.packet));
  s = step(s, {
    host,
    kind: 'route',
    detail: `output route: ${d.kind}`,
    packet: f.packet,
    evidence: d.evidence,
  });
  if (d.kind !== 'unicast' && d.kind !== 'local') return [routeFailure(s, host, f.packet, d, true)];
  const results: Terminal[] = [];
  for (const nh of d.kind === 'local' ? [{ state: s, dev: 'lo', gateway: undefined }] : forkNexthops(s, d)) {
    const hook = runHook(w, nh.state, host, f, 'OUTPUT', { outIf: nh.dev }, ctState);
    results.push(...hook.ended);
    for (const pass of hook.passed) {
      const before = f.packet;
      const after = pass.flight.packet;
      if (after.dst !== before.dst || after.mark !== before.mark) {
        // ip_route_me_harder: the packet is routed again after OUTPUT changed its destination or mark.
        const d2 = lookupRoute(ns.routing, routeQuery(after));
        const st = step(pass.state, {
          host,
          kind: 'route',
          detail: `re-route after OUTPUT: ${d2.kind}`,
          packet: after,
          evidence: d2.evidence,
        });
        if (d2.kind !== 'unicast' && d2.kind !== 'local') {
          results.push(routeFailure(st, host, after, d2, true));
          continue;
        }
        const hops =
          d2.kind === 'local' ? [{ state: st, dev: 'lo', gateway: undefined }] : forkNexthops(st, d2);
        for (const h of hops)
          results.push(...postrouting(w, h.state, host, pass.flight, h.dev, h.gateway ?? after.dst, ctState));
      } else {
        results.push(
          ...postrouting(w, pass.state, host, pass.flight, nh.dev, nh.gateway ?? after.dst, ctState),
        );
      }
    }
  }
  return results;
}

function postrouting(
  w: World,
  s: State,
  host: string,
  f: Flight,
  outIf: string,
  nexthop: string,
  ctState: CtState,
  physdev?: HookIo['physdev'],
): Terminal[] {
  const hook = runHook(w, s, host, f, 'POSTROUTING', { outIf, ...(physdev ? { physdev } : {}) }, ctState);
  const out: Terminal[] = [...hook.ended];
  for (const pass of hook.passed) {
    const fl = unNat(pass.flight, 'src');
    const st = confirm(pass.state, fl);
    out.push(...xmit(w, st, host, fl, outIf, nexthop));
  }
  return out;
}

/** A packet arriving on `inIf` of `host` at layer 3: PREROUTING, routing, then INPUT or FORWARD. */
function receive(w: World, s: State, host: string, f0: Flight, inIf: string, physIn?: string): Terminal[] {
  const ns = hostOf(w, host);
  if (s.hops >= MAX_HOPS)
    return [
      dropped(s, host, f0.packet, 'ROUTING_LOOP', `more than ${MAX_HOPS} hops: routing loop`, 'timeout'),
    ];
  s = { ...s, hops: s.hops + 1 };
  const link = ns.linkByName.get(inIf);
  if (link === undefined)
    return [dropped(s, host, f0.packet, 'LINK_MISSING', `no interface ${inIf}`, 'timeout')];
  if (!link.adminUp) return [dropped(s, host, f0.packet, 'LINK_DOWN', `${inIf} is down`, 'timeout')];
  s = step(s, { host, kind: 'recv', detail: `in ${inIf}`, packet: f0.packet });
  const { flight: f1, ctState } = attachCt(s, host, f0);
  const physdev = physIn === undefined ? undefined : { in: physIn, isBridged: false };
  const pre = runHook(w, s, host, f1, 'PREROUTING', { inIf, ...(physdev ? { physdev } : {}) }, ctState);
  const out: Terminal[] = [...pre.ended];
  for (const pass of pre.passed)
    out.push(...routeInput(w, pass.state, host, unNat(pass.flight, 'dst'), inIf, ctState));
  return out;
}

function routeInput(w: World, s: State, host: string, f: Flight, inIf: string, ctState: CtState): Terminal[] {
  const ns = hostOf(w, host);
  const p = f.packet;
  const d = lookupRoute(ns.routing, routeQuery(p, inIf));
  s = step(s, { host, kind: 'route', detail: `input route: ${d.kind}`, packet: p, evidence: d.evidence });
  if (ns.sysctls !== undefined && inIf !== 'lo' && (d.kind === 'local' || d.kind === 'unicast')) {
    const mode = rpFilter(ns.sysctls, inIf) ?? 0;
    const oif = d.kind === 'unicast' ? d.nexthops[0]?.dev : undefined;
    const rp = checkRpFilter(
      ns.routing,
      mode,
      { src: p.src, dst: p.dst, mark: p.mark, family: p.family },
      inIf,
      {
        ...(oif !== undefined ? { oif } : {}),
        acceptLocal: acceptLocal(ns.sysctls, inIf) ?? false,
        srcValidMark: srcValidMark(ns.sysctls, inIf) ?? false,
      },
    );
    if (!rp.ok) {
      const why =
        rp.reason === 'rp-filter'
          ? `rp_filter=${mode} on ${inIf} drops packets from ${p.src}: ${mode === 1 ? 'the route back to it leaves by another interface' : 'there is no route back to it'}`
          : `packets from ${p.src} arriving on ${inIf} are martians (${rp.reason ?? 'invalid source'})`;
      return [
        dropped(s, host, p, 'RP_FILTER_DROP', why, 'timeout', {
          sysctl: `net.ipv4.conf.${inIf}.rp_filter`,
          value: mode,
          reverseRoute: rp.evidence,
        }),
      ];
    }
  }
  if (d.kind === 'local') return input(w, s, host, f, inIf, ctState);
  if (d.kind !== 'unicast') return [routeFailure(s, host, p, d, false)];
  if (ns.sysctls === undefined) {
    s = step(s, { host, kind: 'route', detail: 'sysctls not collected: forwarding not checked', packet: p });
  } else {
    const fwd = p.family === 4 ? ipv4Forwarding(ns.sysctls, inIf) : ipv6Forwarding(ns.sysctls, inIf);
    if (fwd === false) {
      const key = p.family === 4 ? `net.ipv4.conf.${inIf}.forwarding` : 'net.ipv6.conf.all.forwarding';
      // ip_error sends no ICMP error when the input device does not forward: the sender times out.
      return [
        dropped(
          s,
          host,
          p,
          'IP_FORWARD_DISABLED',
          `forwarding is off for packets entering ${inIf} (${key})`,
          'timeout',
          { sysctl: key, value: 0 },
        ),
      ];
    }
  }
  const out: Terminal[] = [];
  for (const nh of forkNexthops(s, d)) {
    const hook = runHook(w, nh.state, host, f, 'FORWARD', { inIf, outIf: nh.dev }, ctState);
    out.push(...hook.ended);
    for (const pass of hook.passed)
      out.push(...postrouting(w, pass.state, host, pass.flight, nh.dev, nh.gateway ?? p.dst, ctState));
  }
  return out;
}

function input(w: World, s: State, host: string, f: Flight, inIf: string, ctState: CtState): Terminal[] {
  const hook = runHook(w, s, host, f, 'INPUT', { inIf }, ctState);
  const out: Terminal[] = [...hook.ended];
  for (const pass of hook.passed) {
    const viaIpvs = ipvsIntercept(w, pass.state, host, pass.flight);
    if (viaIpvs !== undefined) {
      out.push(...viaIpvs);
      continue;
    }
    const fl = unNat(pass.flight, 'src');
    const st = confirm(pass.state, fl);
    out.push(...deliver(w, st, host, fl, inIf));
  }
  return out;
}

/**
 * IPVS takes a connection's first packet for a virtual service at LOCAL_IN and sends it to a real
 * server: every schedulable real server is a branch, weighted. Masquerading rewrites the destination
 * (conntrack remembers it, so replies are un-NATed); direct routing and tunnelling are reported as
 * not simulated.
 * @remarks ip_vs_remote_request4 / ip_vs_nat_xmit; kube-proxy's ClusterIPs are local addresses on
 * the `kube-ipvs0` dummy device, which is why the packet reaches LOCAL_IN at all.
 */
function ipvsIntercept(w: World, s: State, host: string, f: Flight): Terminal[] | undefined {
  const ns = hostOf(w, host);
  const p = f.packet;
  if (ns.ipvs === undefined || f.dir !== 'orig' || p.protocol === 'icmp') return undefined;
  const svc = lookupIpvs(ns.ipvs, {
    protocol: p.protocol,
    dst: p.dst,
    dport: p.dport,
    mark: p.mark,
    family: p.family,
  });
  if (svc === undefined) return undefined;
  const evidence = [formatIpvsService(svc)];
  const servers = schedulableRealServers(svc);
  if (servers.length === 0) {
    return [
      dropped(
        s,
        host,
        p,
        'SERVICE_NO_ENDPOINTS',
        `IPVS virtual service ${hostPort(p.dst, p.dport)} has no real server with weight > 0`,
        'timeout',
        { ipvs: evidence },
      ),
    ];
  }
  const total = servers.reduce((n, r) => n + r.weight, 0);
  const out: Terminal[] = [];
  for (const rs of servers) {
    const st0: State = { ...s, probability: (s.probability * rs.weight) / total };
    if (rs.method !== 'masq') {
      out.push(
        dropped(
          st0,
          host,
          p,
          'NETFILTER_UNSUPPORTED',
          `IPVS ${rs.method} forwarding to ${rs.address} is not simulated`,
          'unknown',
          { ipvs: evidence },
        ),
      );
      continue;
    }
    const to: Packet = { ...p, dst: normalizeIp(rs.address), dport: rs.port === 0 ? p.dport : rs.port };
    const st = step(st0, {
      host,
      kind: 'nat',
      detail: `IPVS ${hostPort(p.dst, p.dport)} -> ${hostPort(to.dst, to.dport)}`,
      packet: to,
      evidence,
      nat: { kind: 'dnat', before: p },
    });
    // IPVS runs at LOCAL_IN before the nat table's SNAT point (priority NF_IP_PRI_NAT_SRC - 2), so
    // the source NAT of this connection is still to be decided, in POSTROUTING.
    const fl: Flight =
      f.ct === undefined ? withPacket(f, to) : { ...withPacket(f, to), ct: { ...f.ct, snatDone: false } };
    out.push(...localOut(w, st, host, fl));
  }
  return out;
}

/** Local delivery: a tunnel's outer packet is decapsulated, anything else ends here. */
function deliver(w: World, s: State, host: string, f: Flight, inIf: string): Terminal[] {
  const inner = f.inner;
  if (inner === undefined) {
    return [
      {
        kind: 'delivered',
        state: step(s, { host, kind: 'deliver', detail: `local delivery (in ${inIf})`, packet: f.packet }),
        host,
        flight: f,
        inIf,
      },
    ];
  }
  const ns = hostOf(w, host);
  if (inner.kind === 'ipip') {
    // ipip_rcv: the tunnel matching the outer addresses, else the fallback device tunl0 (remote any).
    const tun = ns.links.find(
      (l) =>
        l.kind === 'ipip' &&
        l.adminUp &&
        (l.tunnel?.remote === undefined || l.tunnel.remote === f.packet.src),
    );
    if (tun === undefined) {
      return [
        dropped(
          s,
          host,
          inner.flight.packet,
          'IPIP_DEVICE_MISSING',
          `an IP-in-IP packet from ${f.packet.src} arrived, but ${host} has no ipip device that is up to take it`,
          'timeout',
        ),
      ];
    }
    const st = step(s, {
      host,
      kind: 'decap',
      detail: `ipip ${tun.name}`,
      packet: inner.flight.packet,
      decapDev: tun.name,
    });
    return receive(w, st, host, { packet: inner.flight.packet, dir: inner.flight.dir }, tun.name);
  }
  const dev = ns.links.find(
    (l) =>
      l.kind === 'vxlan' &&
      l.vxlan !== undefined &&
      l.vxlan.id === inner.vni &&
      (l.vxlan.port ?? 4789) === f.packet.dport,
  );
  if (dev === undefined) {
    return [
      dropped(
        s,
        host,
        inner.flight.packet,
        'VXLAN_DEVICE_MISSING',
        `no vxlan device with VNI ${inner.vni} on UDP port ${f.packet.dport}`,
        'timeout',
      ),
    ];
  }
  const st = step(s, {
    host,
    kind: 'decap',
    detail: `vxlan ${dev.name} (VNI ${inner.vni})`,
    packet: inner.flight.packet,
    decapDev: dev.name,
  });
  const innerFlight: Flight = { packet: inner.flight.packet, dir: inner.flight.dir };
  return receive(w, st, host, innerFlight, dev.name);
}

/** Transmits on `outIf` towards `nexthop`: loopback, veth, bridge, vxlan, or the underlay. */
function xmit(w: World, s: State, host: string, f0: Flight, outIf: string, nexthop: string): Terminal[] {
  const ns = hostOf(w, host);
  const p = f0.packet;
  const link = ns.linkByName.get(outIf);
  if (link === undefined) return [dropped(s, host, p, 'LINK_MISSING', `no interface ${outIf}`, 'timeout')];
  if (!link.adminUp) return [dropped(s, host, p, 'LINK_DOWN', `${outIf} is down`, 'timeout')];
  s = step(s, { host, kind: 'xmit', detail: `out ${outIf} to ${nexthop}`, packet: p });
  if (link.kind === 'loopback') return receive(w, s, host, f0, 'lo');
  // The skb's conntrack is dropped when it crosses into another namespace (skb_scrub_packet).
  const f: Flight =
    f0.inner === undefined ? { packet: p, dir: f0.dir } : { packet: p, dir: f0.dir, inner: f0.inner };
  if (link.kind === 'vxlan') return vxlanXmit(w, s, host, f, link, nexthop);
  if (link.kind === 'ipip') return ipipXmit(w, s, host, f, link, nexthop);
  if (link.kind === 'dummy')
    return [
      dropped(
        s,
        host,
        p,
        'ROUTE_WRONG',
        `${outIf} is a dummy device: packets sent to it are discarded`,
        'timeout',
      ),
    ];
  if (link.kind === 'bridge') return bridgeOut(w, s, host, f, link, nexthop, undefined);
  return wireOut(w, s, host, f, link, nexthop);
}

/** Sends a frame out of a non-bridge device: to its veth peer, else across the underlay. */
function wireOut(w: World, s: State, host: string, f: Flight, link: Link, nexthop: string): Terminal[] {
  const p = f.packet;
  if (link.kind === 'veth') {
    const peer = w.vethPeers.get(attachKey(host, link.name));
    if (peer !== undefined) {
      if (!link.lowerUp || !peer.link.adminUp) {
        // No carrier: neighbour resolution fails at once and the sender gets EHOSTUNREACH.
        return [
          dropped(
            s,
            host,
            p,
            'VETH_PEER_DOWN',
            `${link.name}'s peer ${peer.host}/${peer.link.name} is down (no carrier)`,
            'unreachable',
          ),
        ];
      }
      return [cross(s, { host, link }, peer, f, nexthop, 'veth')];
    }
  }
  if (!link.lowerUp) return [dropped(s, host, p, 'LINK_DOWN', `${link.name} has no carrier`, 'unreachable')];
  // ARP/ND only reaches interfaces on this link's network: never the far end of another veth pair
  // (a pod's eth0 is on its veth, not on the underlay); one sharing a subnet with this link first.
  const reachable = (w.owners.get(normalizeIp(nexthop)) ?? []).filter(
    (o) =>
      o.host !== host &&
      o.link.kind !== 'loopback' &&
      !(o.link.kind === 'veth' && w.vethPeers.has(attachKey(o.host, o.link.name))),
  );
  const owner = reachable.find((o) => sharesSubnet(link, o.link)) ?? reachable[0];
  if (owner === undefined) {
    const dstOwners = (w.owners.get(normalizeIp(p.dst)) ?? []).filter((o) => o.host !== host);
    if (dstOwners.length === 0) return [{ kind: 'left', state: s, host, flight: f }];
    if (normalizeIp(nexthop) !== normalizeIp(p.dst)) {
      // A gateway outside the captured hosts, for a destination that is one of them: a misroute.
      const d = lookupRoute(hostOf(w, host).routing, { family: p.family, dst: p.dst, mark: p.mark });
      const viaDefault = d.route !== undefined && d.route.dst.length === 0;
      const where = dstOwners.map((o) => o.host).join(', ');
      const what = viaDefault ? `no route to ${p.dst} but the default route` : `the route to ${p.dst}`;
      return [
        dropped(
          s,
          host,
          p,
          viaDefault ? 'ROUTE_MISSING' : 'ROUTE_WRONG',
          `${what} sends it to ${nexthop} on ${link.name}, which is not a captured host, instead of towards ${where}`,
          'timeout',
          { route: d.evidence },
        ),
      ];
    }
    return [
      dropped(
        s,
        host,
        p,
        'NEIGH_FAILED',
        `nothing on ${link.name}'s network answers for ${nexthop}`,
        'unreachable',
      ),
    ];
  }
  return [cross(s, { host, link }, owner, f, nexthop, 'underlay')];
}

/** Whether `at` answers ARP/ND for `ip` arriving on its interface (owns it, or proxies for it). */
function answersFor(w: World, at: Attachment, ip: string): boolean {
  const ns = hostOf(w, at.host);
  if (at.link.addresses.some((a) => normalizeIp(a.local) === normalizeIp(ip))) return true;
  if (isLocalAddress(ns.routing, ip)) {
    const arpIgnore = ns.sysctls?.get(`net.ipv4.conf.${at.link.name}.arp_ignore`);
    return arpIgnore === undefined || arpIgnore === '0' || familyOf(ip) === 6;
  }
  return familyOf(ip) === 4 && ns.sysctls !== undefined && proxyArp(ns.sysctls, at.link.name) === true;
}

function cross(
  s: State,
  from: Attachment,
  to: Attachment,
  f: Flight,
  nexthop: string,
  via: 'veth' | 'underlay',
): Crossing {
  const inner = f.inner;
  const st = step(s, {
    host: from.host,
    kind: 'cross',
    detail: `${from.link.name} -> ${to.host}/${to.link.name} (${via})`,
    packet: f.packet,
    crossing: {
      outIf: from.link.name,
      toHost: to.host,
      inIf: to.link.name,
      via,
      ...(inner !== undefined
        ? { inner: inner.flight.packet, tunnel: inner.kind, tunnelDev: inner.dev }
        : {}),
    },
  });
  return { kind: 'cross', state: st, from, to, flight: f, nexthop, via };
}

/** Continues a crossing in the host it arrives at: the frame is bridged, or received at layer 3. */
export function arrive(w: World, c: Crossing): Terminal[] {
  return frameIn(w, c.state, c.to, c.flight, c.nexthop, c.from.host, c.from.link);
}

/** A frame arriving at interface `at` for `nexthop`: bridged, or received at layer 3. */
function frameIn(
  w: World,
  s: State,
  at: Attachment,
  f: Flight,
  nexthop: string,
  fromHost: string,
  fromLink: Link,
): Terminal[] {
  const ns = hostOf(w, at.host);
  if (!at.link.adminUp)
    return [dropped(s, at.host, f.packet, 'LINK_DOWN', `${at.link.name} is down`, 'timeout')];
  if (at.link.master !== undefined) {
    const bridge = ns.linkByName.get(at.link.master);
    if (bridge !== undefined && bridge.kind === 'bridge') {
      if (!bridge.adminUp)
        return [dropped(s, at.host, f.packet, 'BRIDGE_DOWN', `bridge ${bridge.name} is down`, 'timeout')];
      if (answersFor(w, { host: at.host, link: bridge }, nexthop)) {
        const st = step(s, {
          host: at.host,
          kind: 'bridge',
          detail: `${at.link.name} -> ${bridge.name} (to the host)`,
          packet: f.packet,
        });
        return receive(w, st, at.host, f, bridge.name, at.link.name);
      }
      return bridgeOut(w, s, at.host, f, bridge, nexthop, at.link);
    }
  }
  if (!answersFor(w, at, nexthop)) {
    const neigh = hostOf(w, fromHost).neighbors;
    const permanent = neigh === undefined ? undefined : lookupNeighbor(neigh, nexthop, fromLink.name);
    if (permanent === undefined || !permanent.state.some((x) => x === 'PERMANENT' || x === 'NOARP')) {
      return [
        dropped(
          s,
          fromHost,
          f.packet,
          'NEIGH_FAILED',
          `${at.host}/${at.link.name} does not answer ARP/ND for ${nexthop}`,
          'unreachable',
        ),
      ];
    }
  }
  return receive(w, s, at.host, f, at.link.name);
}

/**
 * A bridge forwarding a frame to the port behind which `nexthop` answers. Frames entering from a
 * port (`inPort`) and leaving by another are bridged, and pass iptables FORWARD when br_netfilter's
 * `bridge-nf-call-iptables` is on; frames sent by the host on the bridge device are not.
 */
function bridgeOut(
  w: World,
  s: State,
  host: string,
  f: Flight,
  bridge: Link,
  nexthop: string,
  inPort: Link | undefined,
): Terminal[] {
  const ns = hostOf(w, host);
  const p = f.packet;
  if (!bridge.adminUp)
    return [dropped(s, host, p, 'BRIDGE_DOWN', `bridge ${bridge.name} is down`, 'timeout')];
  for (const port of ns.bridgePorts.get(bridge.name) ?? []) {
    if (inPort !== undefined && port.name === inPort.name) continue;
    const far = w.vethPeers.get(attachKey(host, port.name));
    if (far === undefined || !answersFor(w, far, nexthop)) continue;
    if (!port.adminUp) {
      return [dropped(s, host, p, 'LINK_DOWN', `bridge port ${port.name} is down`, 'unreachable')];
    }
    if (!port.lowerUp || !far.link.adminUp) {
      // The port is up but has no carrier: its veth peer, on the far side, is down.
      return [
        dropped(
          s,
          far.host,
          p,
          'LINK_DOWN',
          `${far.link.name} of ${far.host}, behind bridge port ${port.name} of ${host}, is down`,
          'unreachable',
        ),
      ];
    }
    const st = step(s, {
      host,
      kind: 'bridge',
      detail: `${bridge.name}: ${inPort?.name ?? 'host'} -> ${port.name}`,
      packet: p,
    });
    const nfOn = inPort !== undefined && ns.sysctls !== undefined && bridgeNfOn(ns, p.family);
    if (!nfOn) return [cross(st, { host, link: port }, far, f, nexthop, 'veth')];
    // br_netfilter: bridged IP traffic traverses PREROUTING, FORWARD and POSTROUTING of iptables.
    const physdev = { in: inPort.name, out: port.name, isBridged: true };
    const { flight: fc, ctState } = attachCt(st, host, f);
    const out: Terminal[] = [];
    const pre = runHook(w, st, host, fc, 'PREROUTING', { inIf: bridge.name, physdev }, ctState);
    out.push(...pre.ended);
    for (const a of pre.passed) {
      const fw = runHook(
        w,
        a.state,
        host,
        unNat(a.flight, 'dst'),
        'FORWARD',
        { inIf: bridge.name, outIf: bridge.name, physdev },
        ctState,
      );
      out.push(...fw.ended);
      for (const b of fw.passed) {
        const post = runHook(
          w,
          b.state,
          host,
          b.flight,
          'POSTROUTING',
          { outIf: bridge.name, physdev },
          ctState,
        );
        out.push(...post.ended);
        for (const c0 of post.passed) {
          const c = { ...c0, flight: unNat(c0.flight, 'src') };
          const conf = confirm(c.state, c.flight);
          const fl: Flight = {
            packet: c.flight.packet,
            dir: c.flight.dir,
            ...(c.flight.inner ? { inner: c.flight.inner } : {}),
          };
          out.push(cross(conf, { host, link: port }, far, fl, nexthop, 'veth'));
        }
      }
    }
    return out;
  }
  return [
    dropped(
      s,
      host,
      p,
      'NEIGH_FAILED',
      `no port of bridge ${bridge.name} leads to ${nexthop}`,
      'unreachable',
    ),
  ];
}

/**
 * IP-in-IP transmit (Calico's IPIP): the packet is wrapped in an IPv4 packet of protocol 4 to the
 * route's gateway (`via <peer node> dev tunl0 onlink`), sent by the host like its own.
 */
function ipipXmit(w: World, s: State, host: string, f: Flight, link: Link, nexthop: string): Terminal[] {
  const p = f.packet;
  if (p.family !== 4 || familyOf(nexthop) !== 4) {
    return [
      dropped(
        s,
        host,
        p,
        'ROUTE_WRONG',
        `${link.name} is an IPv4-in-IPv4 tunnel, but the next hop is ${nexthop}`,
        'timeout',
      ),
    ];
  }
  const remote = link.tunnel?.remote ?? nexthop;
  const outer: Packet = {
    family: 4,
    protocol: 'ipip',
    src: link.tunnel?.local ?? '',
    dst: remote,
    sport: 0,
    dport: 0,
    mark: p.mark,
    tcpFlags: [],
  };
  const st = step(s, { host, kind: 'encap', detail: `ipip ${link.name} to ${remote}`, packet: outer });
  const outerFlight: Flight = {
    packet: outer,
    dir: 'orig',
    inner: { flight: f, vni: 0, kind: 'ipip', dev: link.name },
  };
  return localOut(w, st, host, outerFlight).map((t) =>
    t.kind === 'dropped' && t.notify === 'error' ? { ...t, notify: 'timeout' } : t,
  );
}

/** Whether br_netfilter hands bridged packets of `family` to iptables (`bridge-nf-call-ip(6)tables`). */
export function bridgeNfOn(ns: Netns, family: 4 | 6): boolean {
  if (ns.sysctls === undefined) return false;
  if (family === 4) return bridgeNfCallIptables(ns.sysctls) === true;
  return ns.sysctls.get('net.bridge.bridge-nf-call-ip6tables') === '1';
}

/** VXLAN transmit: neighbour (MAC of the next hop), FDB (remote VTEP), then UDP encapsulation. */
function vxlanXmit(w: World, s: State, host: string, f: Flight, link: Link, nexthop: string): Terminal[] {
  const ns = hostOf(w, host);
  const p = f.packet;
  const vx = link.vxlan;
  if (vx === undefined)
    return [dropped(s, host, p, 'VXLAN_DEVICE_MISSING', `${link.name} has no vxlan attributes`, 'timeout')];
  const neigh = ns.neighbors === undefined ? undefined : lookupNeighbor(ns.neighbors, nexthop, link.name);
  const mac =
    neigh !== undefined && !neigh.state.some((x) => x === 'FAILED' || x === 'INCOMPLETE')
      ? neigh.lladdr
      : undefined;
  if (ns.neighbors === undefined) {
    return [
      dropped(
        s,
        host,
        p,
        'NETSTACK_NOT_COLLECTED',
        `neighbours of ${host} were not collected: cannot resolve ${nexthop} on ${link.name}`,
        'unknown',
      ),
    ];
  }
  if (mac === undefined) {
    return [
      dropped(
        s,
        host,
        p,
        'VXLAN_NEIGH_MISSING',
        `no neighbour entry for ${nexthop} on ${link.name}`,
        'unreachable',
      ),
    ];
  }
  const fdb = ns.fdb === undefined ? undefined : lookupFdb(ns.fdb, link.name, mac);
  const remote = fdb?.entries.find((e) => e.dst !== undefined)?.dst ?? vx.remote;
  if (remote === undefined) {
    return [dropped(s, host, p, 'VXLAN_FDB_MISSING', `no FDB entry for ${mac} on ${link.name}`, 'timeout')];
  }
  const outer: Packet = {
    family: familyOf(remote),
    protocol: 'udp',
    src: vx.local ?? '',
    dst: remote,
    sport: 0,
    dport: vx.port ?? 4789,
    mark: p.mark,
    tcpFlags: [],
  };
  const st = step(s, {
    host,
    kind: 'encap',
    detail: `vxlan ${link.name} VNI ${vx.id} to ${remote} (inner to ${mac})`,
    packet: outer,
  });
  const outerFlight: Flight = {
    packet: outer,
    dir: 'orig',
    inner: { flight: f, vni: vx.id, kind: 'vxlan', dev: link.name },
  };
  return localOut(w, st, host, outerFlight).map((t) =>
    t.kind === 'dropped' && t.notify === 'error' ? { ...t, notify: 'timeout' } : t,
  );
}

// ---------------------------------------------------------------------------------------------
// Connections

/** Follows every crossing until each branch is delivered, dropped, or leaves the world. */
export function drive(w: World, start: readonly Terminal[]): Exclude<Terminal, Crossing>[] {
  const done: Exclude<Terminal, Crossing>[] = [];
  const queue: Terminal[] = [...start];
  while (queue.length > 0) {
    const t = queue.pop() as Terminal;
    if (t.kind === 'cross') queue.push(...arrive(w, t));
    else done.push(t);
  }
  return done.reverse();
}

/** Starts a packet from a socket in `host` (the first packet of a connection, or a reply). */
export function sendFrom(w: World, s: State, host: string, flight: Flight): Terminal[] {
  return localOut(w, s, host, flight);
}

export type {
  World,
  Attachment,
  TraceStep,
  Outcome,
  Drop,
  State,
  Flight,
  AttachedCt,
  Terminal,
  Crossing,
} from './world-state.js';
export { MAX_HOPS, emptyState } from './world-state.js';
