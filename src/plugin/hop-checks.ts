import type { ClusterIndex } from '../k8s/cluster-index.js';
import type { Node, Pod } from '../k8s/objects.js';
import type { PluginContext } from './plugin.js';
import { isNodeReady } from '../k8s/readiness.js';
import type { Suspicion } from '../model/suspicion.js';
import { normalizeIp, parsePrefix } from '../netstack/ip.js';
import type { Link } from '../netstack/links.js';
import type { Netns } from '../netstack/netns.js';
import { lookupRoute, type RouteDecision } from '../netstack/route-lookup.js';
import { formatRoute } from '../netstack/routes.js';
import { formatRule, type Rule } from '../netstack/rules.js';
import { lookupNeighbor } from '../netstack/neighbors.js';
import { bridgeNfOn, type World } from '../netstack/world.js';
import type { Packet } from '../netstack/packet.js';

/** The interface of `ns` that holds `ip`. */
export function linkWithAddress(ns: Netns, ip: string): Link | undefined {
  const want = normalizeIp(ip);
  return ns.links.find((l) => l.addresses.some((a) => normalizeIp(a.local) === want));
}

/** What a pod's network namespace should look like, as the plugin expects it. */
export interface PodExpectations {
  /** The bridge the pod's host-side veth should be a port of (flannel's cni0); undefined for routed CNIs. */
  readonly bridge?: string;
  /** The MTU the CNI configures on the pod's interface, when the data tells it. */
  readonly mtu?: { readonly value: number; readonly why: string };
}

/**
 * Checks of a pod's own namespace: its interface holding the pod IP, `lo`, its veth peer on the
 * node (present, up, on the expected bridge) and its MTU.
 */
export function podStaticChecks(world: World, host: string, pod: Pod, expect: PodExpectations): Suspicion[] {
  const ns = world.hosts.get(host);
  const out: Suspicion[] = [];
  if (ns === undefined) return out;
  const ip = pod.status?.podIP;
  const eth = ip === undefined ? undefined : linkWithAddress(ns, ip);
  if (eth === undefined) {
    out.push({
      level: 'fatal',
      code: 'LINK_MISSING',
      on: host,
      message: `no interface in pod ${host} holds its IP ${ip ?? '(none)'}`,
    });
    return out;
  }
  if (!eth.adminUp)
    out.push({
      level: 'fatal',
      code: 'LINK_DOWN',
      on: host,
      message: `${eth.name} of pod ${host} is down`,
      evidence: { link: eth.name, flags: eth.flags },
    });
  const lo = ns.linkByName.get('lo');
  if (lo !== undefined && !lo.adminUp) {
    out.push({
      level: 'warning',
      code: 'LINK_DOWN',
      on: host,
      message: `lo of pod ${host} is down: connections from the pod to itself fail`,
    });
  }
  if (expect.mtu !== undefined && eth.mtu !== expect.mtu.value) {
    out.push({
      level: 'critical',
      code: 'MTU_MISMATCH',
      on: host,
      message: `${eth.name} of pod ${host} has MTU ${eth.mtu}, expected ${expect.mtu.value} (${expect.mtu.why}): large packets will be dropped or fragmented`,
      evidence: { link: eth.name, mtu: eth.mtu, expected: expect.mtu.value },
    });
  }
  if (eth.kind !== 'veth') return out;
  const peer = world.vethPeers.get(`${host}\u0000${eth.name}`);
  if (peer === undefined) {
    out.push({
      level: 'fatal',
      code: 'VETH_PEER_MISSING',
      on: host,
      message: `the node-side peer of ${host}'s ${eth.name} (ifindex ${eth.peerIfindex ?? '?'}) does not exist on its node`,
    });
    return out;
  }
  if (!peer.link.adminUp) {
    out.push({
      level: 'fatal',
      code: 'VETH_PEER_DOWN',
      on: peer.host,
      message: `${peer.link.name}, the node-side veth of pod ${host}, is down`,
      evidence: { link: peer.link.name, flags: peer.link.flags },
    });
  }
  if (expect.bridge !== undefined && peer.link.master !== expect.bridge) {
    out.push({
      level: 'fatal',
      code: 'VETH_NOT_ON_BRIDGE',
      on: peer.host,
      message: `${peer.link.name}, the node-side veth of pod ${host}, is ${peer.link.master === undefined ? 'on no bridge' : `on ${peer.link.master}`}, expected on ${expect.bridge}`,
    });
  }
  return out;
}

/** The node a pod runs on, with its host namespace in the world, when both are known. */
export function podNode(
  ctx: PluginContext,
  pod: Pod,
): { readonly node: Node; readonly ns: Netns } | undefined {
  const name = pod.spec?.nodeName;
  const node = name === undefined ? undefined : ctx.index.node(name);
  const ns = name === undefined ? undefined : ctx.cluster.world.hosts.get(name);
  return node === undefined || ns === undefined ? undefined : { node, ns };
}

/** Checks of a node's host namespace common to every plugin: readiness and the interface holding its InternalIP. */
export function nodeStaticChecks(ns: Netns, node: Node, index: ClusterIndex): Suspicion[] {
  const out: Suspicion[] = [];
  const name = node.metadata.name;
  const internalIps = Object.values(index.nodeInternalIP(name)).filter((x): x is string => x !== undefined);
  out.push(...ruleChecks(ns, name));
  if (!isNodeReady(node))
    out.push({ level: 'fatal', code: 'NODE_NOT_READY', on: name, message: `node ${name} is not Ready` });
  for (const ip of internalIps) {
    const l = linkWithAddress(ns, ip);
    if (l === undefined) {
      out.push({
        level: 'fatal',
        code: 'LINK_MISSING',
        on: name,
        message: `no interface of node ${name} holds its InternalIP ${ip}`,
      });
    } else if (!l.adminUp) {
      out.push({
        level: 'fatal',
        code: 'LINK_DOWN',
        on: name,
        message: `${l.name}, holding node ${name}'s InternalIP ${ip}, is down`,
      });
    }
  }
  return out;
}

/** A bridge the plugin needs on a node: present and up. */
export function bridgeChecks(ns: Netns, nodeName: string, bridge: string, needed: boolean): Suspicion[] {
  const l = ns.linkByName.get(bridge);
  if (l === undefined) {
    return needed
      ? [
          {
            level: 'fatal',
            code: 'BRIDGE_MISSING',
            on: nodeName,
            message: `bridge ${bridge} does not exist on node ${nodeName}`,
          },
        ]
      : [];
  }
  if (l.kind !== 'bridge')
    return [
      {
        level: 'fatal',
        code: 'BRIDGE_MISSING',
        on: nodeName,
        message: `${bridge} on node ${nodeName} is a ${l.kind} device, not a bridge`,
      },
    ];
  if (!l.adminUp)
    return [
      {
        level: 'fatal',
        code: 'BRIDGE_DOWN',
        on: nodeName,
        message: `bridge ${bridge} on node ${nodeName} is down`,
        evidence: { link: bridge, flags: l.flags },
      },
    ];
  return [];
}

/**
 * `bridge-nf-call-iptables` must be on where pods sit on a bridge: without it, a pod's traffic to a
 * Service whose backend is on the same bridge is bridged past kube-proxy's rules and the reply is
 * not un-NATed.
 */
export function bridgeNfCheck(ns: Netns, nodeName: string, family: 4 | 6): Suspicion[] {
  if (ns.sysctls === undefined || bridgeNfOn(ns, family)) return [];
  const key = family === 4 ? 'net.bridge.bridge-nf-call-iptables' : 'net.bridge.bridge-nf-call-ip6tables';
  const on = ns.sysctls.get(key) === undefined ? undefined : false;
  return [
    {
      level: 'critical',
      code: 'BRIDGE_NF_CALL_IPTABLES_DISABLED',
      on: nodeName,
      message: `${key} is ${on === false ? '0' : 'absent (br_netfilter not loaded)'} on node ${nodeName}: Service traffic between pods on one bridge escapes kube-proxy's rules`,
      evidence: { sysctl: key, value: on === false ? '0' : null },
    },
  ];
}

/** The route a plugin expects a node to use for a destination. */
export interface ExpectedRoute {
  readonly dst: string;
  readonly dev: string;
  readonly gateway?: string;
  readonly onlink?: boolean;
  /** Why (e.g. "flannel vxlan: pod CIDR of node-2"). */
  readonly why: string;
}

/**
 * Compares the route the kernel picks in `ns` for `packet` with what the plugin would install:
 * `ROUTE_MISSING` when there is none, `ROUTE_WRONG` when the device or gateway differ.
 */
export function routeExpectationCheck(
  ns: Netns,
  nodeName: string,
  packet: Packet,
  expected: ExpectedRoute,
): Suspicion[] {
  const d: RouteDecision = lookupRoute(ns.routing, {
    family: packet.family,
    dst: packet.dst,
    mark: packet.mark,
  });
  const want = `${expected.dst}${expected.gateway ? ` via ${expected.gateway}` : ''} dev ${expected.dev}${expected.onlink ? ' onlink' : ''}`;
  if (d.kind === 'none') {
    return [
      {
        level: 'fatal',
        code: 'ROUTE_MISSING',
        on: nodeName,
        message: `no route to ${packet.dst} on node ${nodeName}; expected ${want} (${expected.why})`,
        evidence: { expected: want },
      },
    ];
  }
  if (d.kind !== 'unicast') return [];
  const wanted = parsePrefix(expected.dst);
  if (d.route !== undefined && d.route.dst.length < wanted.length) {
    const actual = formatRoute(d.route);
    return [
      {
        level: 'fatal',
        code: 'ROUTE_MISSING',
        on: nodeName,
        message: `node ${nodeName} has no route for ${expected.dst}: ${packet.dst} falls to "${actual}"; expected "${want}" (${expected.why})`,
        evidence: { route: actual, expected: want },
      },
    ];
  }
  const hops = d.nexthops;
  const ok = hops.some(
    (h) =>
      h.dev === expected.dev &&
      (expected.gateway === undefined ||
        (h.gateway !== undefined && normalizeIp(h.gateway) === normalizeIp(expected.gateway))),
  );
  if (ok) return [];
  const actual =
    d.route !== undefined
      ? formatRoute(d.route)
      : hops.map((h) => `via ${h.gateway ?? '-'} dev ${h.dev}`).join(', ');
  return [
    {
      level: 'fatal',
      code: 'ROUTE_WRONG',
      on: nodeName,
      message: `node ${nodeName} routes ${packet.dst} by "${actual}", expected "${want}" (${expected.why})`,
      evidence: { route: actual, expected: want },
    },
  ];
}

/**
 * A pod's own route for a packet must leave by the interface holding the pod's IP (its veth): a
 * route out of `lo` or any other device keeps the packet from ever reaching the node.
 */
export function podRouteCheck(world: World, host: string, pod: Pod, packet: Packet): Suspicion[] {
  const ns = world.hosts.get(host);
  const ip = pod.status?.podIP;
  if (ns === undefined || ip === undefined) return [];
  const eth = linkWithAddress(ns, ip);
  if (eth === undefined) return [];
  const d = lookupRoute(ns.routing, { family: packet.family, dst: packet.dst, mark: packet.mark });
  if (d.kind !== 'unicast' || d.nexthops.some((h) => h.dev === eth.name)) return [];
  const actual =
    d.route !== undefined ? formatRoute(d.route) : d.nexthops.map((h) => `dev ${h.dev}`).join(', ');
  return [
    {
      level: 'fatal',
      code: 'ROUTE_WRONG',
      on: host,
      message: `pod ${host} routes ${packet.dst} by "${actual}", not out of ${eth.name} (the interface holding ${ip})`,
      evidence: { route: actual, expected: `a route via ${eth.name}` },
    },
  ];
}

function hasSelectors(r: Rule): boolean {
  return (
    r.not ||
    r.src !== undefined ||
    r.dst !== undefined ||
    r.tos !== undefined ||
    r.fwmark !== undefined ||
    r.iif !== undefined ||
    r.oif !== undefined ||
    r.uidrange !== undefined ||
    r.ipproto !== undefined ||
    r.sport !== undefined ||
    r.dport !== undefined ||
    r.l3mdev
  );
}

/**
 * The policy-routing rules of a node: the kernel's default rules (`from all lookup local` and
 * `from all lookup main`) must be there with no selector, or ordinary traffic misses the main table
 * (`DEFAULT_RULE_BROKEN`); other rules that send traffic to other tables are worth knowing
 * (`POLICY_ROUTING`, informational).
 * @remarks fib_default_rules_init installs local (0), main (32766), default (32767).
 */
export function ruleChecks(ns: Netns, nodeName: string): Suspicion[] {
  if (ns.missing.has('rules')) return [];
  const rules = ns.routing.rules.filter((r) => r.family === 4);
  const out: Suspicion[] = [];
  for (const table of ['local', 'main'] as const) {
    const plain = rules.find((r) => r.action === 'lookup' && r.table === table && !hasSelectors(r));
    if (plain === undefined) {
      const withSel = rules.filter((r) => r.action === 'lookup' && r.table === table).map(formatRule);
      out.push({
        level: 'critical',
        code: 'DEFAULT_RULE_BROKEN',
        on: nodeName,
        message: `node ${nodeName} has no plain "from all lookup ${table}" rule${withSel.length > 0 ? ` (only: ${withSel.join('; ')})` : ''}: traffic that no other rule catches misses the ${table} table`,
        evidence: { rules: rules.map(formatRule) },
      });
    }
  }
  const custom = rules.filter(
    (r) =>
      !(
        r.action === 'lookup' &&
        (r.table === 'local' || r.table === 'main' || r.table === 'default') &&
        !hasSelectors(r)
      ),
  );
  if (custom.length > 0) {
    out.push({
      level: 'info',
      code: 'POLICY_ROUTING',
      on: nodeName,
      message: `node ${nodeName} has ${custom.length} policy-routing rule(s) besides the defaults; the path above follows them`,
      evidence: { rules: custom.map(formatRule) },
    });
  }
  return out;
}

/**
 * A neighbour entry the capture shows as FAILED or INCOMPLETE for the next hop a packet uses: the
 * node recently could not resolve it.
 */
export function neighborCheck(ns: Netns, nodeName: string, packet: Packet): Suspicion[] {
  if (ns.neighbors === undefined) return [];
  const d = lookupRoute(ns.routing, { family: packet.family, dst: packet.dst, mark: packet.mark });
  if (d.kind !== 'unicast') return [];
  const out: Suspicion[] = [];
  for (const h of d.nexthops) {
    const ip = h.gateway ?? packet.dst;
    const n = lookupNeighbor(ns.neighbors, ip, h.dev);
    if (n === undefined || !n.state.some((s) => s === 'FAILED' || s === 'INCOMPLETE')) continue;
    out.push({
      level: 'warning',
      code: 'NEIGH_FAILED',
      on: nodeName,
      message: `the neighbour entry of ${ip} on ${h.dev} is ${n.state.join(',')} on node ${nodeName}: it did not answer ARP/ND when last asked`,
      evidence: { neighbor: `${ip} dev ${h.dev} ${n.state.join(',')}` },
    });
  }
  return out;
}
