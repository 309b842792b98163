import type { Node, Pod } from '../k8s/objects.js';
import { nodePodCidrs } from '../k8s/pod-cidr.js';
import type { Suspicion } from '../model/suspicion.js';
import { cidrContains, familyOf, ipToBigInt, normalizeIp, parsePrefix } from '../netstack/ip.js';
import type { Netns } from '../netstack/netns.js';
import { lookupNeighbor } from '../netstack/neighbors.js';
import { lookupFdb } from '../netstack/fdb.js';
import type { TraceStep } from '../netstack/world.js';
import { nodeAction, podAction } from './base-actions.js';
import {
  bridgeChecks,
  bridgeNfCheck,
  linkWithAddress,
  routeExpectationCheck,
  type ExpectedRoute,
} from './hop-checks.js';
import type { Plugin, PluginContext } from './plugin.js';

/** Flannel's backends that skoop models. */
export type FlannelBackend = 'vxlan' | 'host-gw';

const PUBLIC_IP = 'flannel.alpha.coreos.com/public-ip';
const BACKEND_TYPE = 'flannel.alpha.coreos.com/backend-type';
const BACKEND_DATA = 'flannel.alpha.coreos.com/backend-data';

/**
 * flannel: pods on the `cni0` bridge; other nodes' pod CIDRs routed `via <peer public-ip>` (host-gw)
 * or `via <peer CIDR network address> dev flannel.<VNI> onlink` with a permanent neighbour and FDB
 * entry per peer (vxlan).
 * @remarks https://github.com/flannel-io/flannel/blob/master/Documentation/backends.md
 */
export const flannelPlugin: Plugin = {
  name: 'flannel',
  description: 'flannel with the host-gw or vxlan backend (pods on a bridge, one pod CIDR per node)',
  modes: ['vxlan', 'host-gw'],
  enforcesNetworkPolicy: false,
  options: [
    {
      flag: 'flannel-backend',
      description: 'backend to model: vxlan | host-gw (default: net-conf.json, else node annotations)',
    },
    {
      flag: 'flannel-bridge',
      description: "the pods' bridge (default: the bridge holding the node's pod gateway address)",
      fallback: 'cni0',
    },
    {
      flag: 'flannel-vxlan-device',
      description: 'the VXLAN device (default: flannel.<VNI> from net-conf.json)',
      fallback: 'flannel.1',
    },
  ],
  createPod(ctx: PluginContext, pod: Pod, host: string) {
    return podAction(ctx, pod, host, {
      expect: (at) => {
        if (at === undefined) return {};
        const mtu = expectedPodMtu(ctx, at.ns, at.node);
        return { bridge: bridgeName(ctx, at.ns, at.node), ...(mtu !== undefined ? { mtu } : {}) };
      },
    });
  },
  createNode(ctx: PluginContext, node: Node, host: string) {
    const name = node.metadata.name;
    return nodeAction(ctx, node, host, {
      static: (ns) => {
        const hasPods = ctx.index.podsOnNode(name).some((p) => p.spec?.hostNetwork !== true);
        const out = [
          ...bridgeChecks(ns, name, bridgeName(ctx, ns, node), hasPods),
          ...bridgeNfCheck(ns, name, 4),
        ];
        if (backendOf(ctx, node) !== 'vxlan') return out;
        const dev = vxlanDevice(ctx);
        const l = ns.linkByName.get(dev);
        if (l === undefined) {
          out.push({
            level: 'fatal',
            code: 'VXLAN_DEVICE_MISSING',
            on: name,
            message: `flannel's VXLAN device ${dev} does not exist on node ${name}`,
          });
        } else if (!l.adminUp) {
          out.push({
            level: 'fatal',
            code: 'LINK_DOWN',
            on: name,
            message: `flannel's VXLAN device ${dev} on node ${name} is down`,
          });
        }
        return out;
      },
      packet: (ns, p) => nodePacketChecks(ctx, ns, node, p),
    });
  },
};

function backendOf(ctx: PluginContext, node: Node): FlannelBackend | undefined {
  const flag = ctx.options['flannel-backend'];
  if (flag === 'vxlan' || flag === 'host-gw') return flag;
  const conf = ctx.detection?.flannel?.backendType ?? ctx.detection?.backend;
  if (conf === 'vxlan' || conf === 'host-gw') return conf;
  const ann = node.metadata.annotations?.[BACKEND_TYPE];
  return ann === 'vxlan' || ann === 'host-gw' ? ann : undefined;
}

function vxlanDevice(ctx: PluginContext): string {
  const flag = ctx.options['flannel-vxlan-device'];
  if (flag !== undefined) return flag;
  const vni = ctx.detection?.flannel?.vni;
  return `flannel.${vni ?? 1}`;
}

/** The pods' bridge: the flag, else the bridge holding the node's pod gateway (first address of its pod CIDR), else cni0. */
function bridgeName(ctx: PluginContext, ns: Netns, node: Node): string {
  const flag = ctx.options['flannel-bridge'];
  if (flag !== undefined) return flag;
  for (const cidr of nodePodCidrs(node)) {
    const p = parsePrefix(cidr);
    const holder = ns.links.find(
      (l) =>
        l.kind === 'bridge' && l.addresses.some((a) => a.family === p.family && cidrContains(cidr, a.local)),
    );
    if (holder !== undefined) return holder.name;
  }
  return 'cni0';
}

/** The MTU flannel gives pods: the VXLAN device's MTU (vxlan), else the node interface's (host-gw). */
function expectedPodMtu(
  ctx: PluginContext,
  ns: Netns,
  node: Node,
): { value: number; why: string } | undefined {
  if (backendOf(ctx, node) === 'vxlan') {
    const dev = ns.linkByName.get(vxlanDevice(ctx));
    return dev === undefined
      ? undefined
      : { value: dev.mtu, why: `the MTU of ${dev.name} on ${node.metadata.name}` };
  }
  const ip = ctx.index.nodeInternalIP(node.metadata.name).v4;
  const l = ip === undefined ? undefined : linkWithAddress(ns, ip);
  return l === undefined
    ? undefined
    : { value: l.mtu, why: `the MTU of ${l.name}, ${node.metadata.name}'s interface` };
}

/** One node's pod CIDR, with its position among all nodes' CIDRs (the first listed wins). */
interface PodCidrOwner {
  readonly node: Node;
  readonly cidr: string;
  readonly order: number;
}

/** Nodes' pod CIDRs of one family and prefix length, by network (the address shifted right by `shift`). */
interface PodCidrTable {
  readonly family: 4 | 6;
  readonly shift: bigint;
  readonly byNetwork: Map<bigint, PodCidrOwner>;
}

const podCidrTables = new WeakMap<readonly Node[], readonly PodCidrTable[]>();

/** The pod CIDRs of `nodes` indexed by network, built once per node list. */
function podCidrIndex(nodes: readonly Node[]): readonly PodCidrTable[] {
  const cached = podCidrTables.get(nodes);
  if (cached !== undefined) return cached;
  const tables = new Map<string, PodCidrTable>();
  let order = 0;
  for (const node of nodes) {
    for (const cidr of nodePodCidrs(node)) {
      const p = parsePrefix(cidr);
      const key = `${p.family}/${p.length}`;
      let t = tables.get(key);
      if (t === undefined) {
        t = { family: p.family, shift: BigInt((p.family === 4 ? 32 : 128) - p.length), byNetwork: new Map() };
        tables.set(key, t);
      }
      const net = ipToBigInt(p.address) >> t.shift;
      if (!t.byNetwork.has(net)) t.byNetwork.set(net, { node, cidr, order });
      order++;
    }
  }
  const index = [...tables.values()];
  podCidrTables.set(nodes, index);
  return index;
}

/** The node whose pod CIDR holds `ip` (the first in list order, should CIDRs overlap). */
function nodeOwningPodIp(ctx: PluginContext, ip: string): { node: Node; cidr: string } | undefined {
  const family = familyOf(ip);
  const addr = ipToBigInt(ip);
  let best: PodCidrOwner | undefined;
  for (const t of podCidrIndex(ctx.index.objects.nodes)) {
    if (t.family !== family) continue;
    const hit = t.byNetwork.get(addr >> t.shift);
    if (hit !== undefined && (best === undefined || hit.order < best.order)) best = hit;
  }
  return best === undefined ? undefined : { node: best.node, cidr: best.cidr };
}

function nodePacketChecks(ctx: PluginContext, ns: Netns, node: Node, p: TraceStep['packet']): Suspicion[] {
  const name = node.metadata.name;
  const owner = nodeOwningPodIp(ctx, p.dst);
  if (owner === undefined) return [];
  const cidr = parsePrefix(owner.cidr);
  const cidrText = `${cidr.address}/${cidr.length}`;
  if (owner.node.metadata.name === name) {
    const bridge = bridgeName(ctx, ns, node);
    return routeExpectationCheck(ns, name, p, {
      dst: cidrText,
      dev: bridge,
      why: `flannel: this node's pod CIDR is on ${bridge}`,
    });
  }
  const peer = owner.node;
  const peerName = peer.metadata.name;
  const backend = backendOf(ctx, node);
  if (backend === 'host-gw') {
    const peerIp = peer.metadata.annotations?.[PUBLIC_IP] ?? ctx.index.nodeInternalIP(peerName).v4;
    const ownIp = ctx.index.nodeInternalIP(name).v4;
    const dev = ownIp === undefined ? undefined : linkWithAddress(ns, ownIp)?.name;
    if (peerIp === undefined || dev === undefined) return [];
    return routeExpectationCheck(ns, name, p, {
      dst: cidrText,
      gateway: peerIp,
      dev,
      why: `flannel host-gw: pod CIDR of ${peerName}`,
    });
  }
  if (backend !== 'vxlan') return [];
  const dev = vxlanDevice(ctx);
  const expected: ExpectedRoute = {
    dst: cidrText,
    gateway: cidr.address,
    dev,
    onlink: true,
    why: `flannel vxlan: pod CIDR of ${peerName}`,
  };
  const out = routeExpectationCheck(ns, name, p, expected);
  out.push(...vxlanPeerChecks(ns, name, dev, cidr.address, peer, ctx));
  return out;
}

/**
 * flannel vxlan keeps, per peer, a permanent neighbour (peer's CIDR network address → peer's VTEP
 * MAC) and an FDB entry (VTEP MAC → peer's public IP) on the VXLAN device.
 */
function vxlanPeerChecks(
  ns: Netns,
  name: string,
  dev: string,
  gateway: string,
  peer: Node,
  ctx: PluginContext,
): Suspicion[] {
  const peerName = peer.metadata.name;
  let vtepMac: string | undefined;
  try {
    const data = JSON.parse(peer.metadata.annotations?.[BACKEND_DATA] ?? '{}') as { VtepMAC?: string };
    vtepMac = data.VtepMAC?.toLowerCase();
  } catch {
    vtepMac = undefined;
  }
  const publicIp = peer.metadata.annotations?.[PUBLIC_IP] ?? ctx.index.nodeInternalIP(peerName).v4;
  if (ns.neighbors === undefined || ns.fdb === undefined) return [];
  const neigh = lookupNeighbor(ns.neighbors, gateway, dev);
  if (neigh === undefined || neigh.lladdr === undefined) {
    return [
      {
        level: 'fatal',
        code: 'VXLAN_NEIGH_MISSING',
        on: name,
        message: `no neighbour entry for ${gateway} on ${dev} (node ${peerName}'s VTEP${vtepMac ? ` ${vtepMac}` : ''})`,
        evidence: {
          expected: `${gateway} dev ${dev} lladdr ${vtepMac ?? '<VtepMAC of ' + peerName + '>'} PERMANENT`,
        },
      },
    ];
  }
  const out: Suspicion[] = [];
  const mac = neigh.lladdr.toLowerCase();
  if (vtepMac !== undefined && mac !== vtepMac) {
    out.push({
      level: 'fatal',
      code: 'VXLAN_NEIGH_MISSING',
      on: name,
      message: `the neighbour entry for ${gateway} on ${dev} has MAC ${mac}, but node ${peerName}'s VTEP MAC is ${vtepMac}`,
    });
  }
  const hit = lookupFdb(ns.fdb, dev, mac);
  const fdb = hit.kind === 'hit' ? hit.entries.find((e) => e.dst !== undefined) : undefined;
  if (fdb === undefined || fdb.dst === undefined) {
    out.push({
      level: 'fatal',
      code: 'VXLAN_FDB_MISSING',
      on: name,
      message: `no FDB entry for ${mac} on ${dev}: the VXLAN device does not know where node ${peerName}'s VTEP is`,
      evidence: {
        expected: `${mac} dev ${dev} dst ${publicIp ?? '<public-ip of ' + peerName + '>'} self permanent`,
      },
    });
  } else if (publicIp !== undefined && normalizeIp(fdb.dst) !== normalizeIp(publicIp)) {
    out.push({
      level: 'fatal',
      code: 'VXLAN_FDB_WRONG',
      on: name,
      message: `the FDB entry for ${mac} on ${dev} sends to ${fdb.dst}, but node ${peerName}'s public IP is ${publicIp}`,
      evidence: { fdb: `${mac} dev ${dev} dst ${fdb.dst}`, expected: publicIp },
    });
  }
  return out;
}
