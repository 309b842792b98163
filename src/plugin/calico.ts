import { objectId, type IPPool, type Node, type Pod } from '../k8s/objects.js';
import type { Suspicion } from '../model/suspicion.js';
import { cidrContains, familyOf, normalizeIp, parsePrefix } from '../netstack/ip.js';
import type { Netns } from '../netstack/netns.js';
import { proxyArp } from '../netstack/sysctls.js';
import type { TraceStep } from '../netstack/world.js';
import { nodeAction, podAction } from './base-actions.js';
import { linkWithAddress, routeExpectationCheck } from './hop-checks.js';
import type { Plugin, PluginContext } from './plugin.js';

/** How calico carries a packet between two nodes. */
export type CalicoEncap = 'bgp' | 'ipip' | 'vxlan';

const IPIP_DEVICE = 'tunl0';
const VXLAN_DEVICE = 'vxlan.calico';
const VXLAN_ADDR_ANNOTATION = 'projectcalico.org/IPv4VXLANTunnelAddr';
const BGP_ADDR_ANNOTATION = 'projectcalico.org/IPv4Address';

/**
 * calico: a `cali*` veth per pod (proxy ARP answers the pod's 169.254.1.1 gateway), a /32 route per
 * local pod, and per remote IPAM block a route via the peer: plain (BGP), over `tunl0` (IPIP) or
 * over `vxlan.calico` (VXLAN), chosen by the IP pool's ipipMode / vxlanMode (Always, CrossSubnet,
 * Never).
 * @remarks https://docs.tigera.io/calico/latest/networking/configuring/vxlan-ipip
 */
export const calicoPlugin: Plugin = {
  name: 'calico',
  description:
    'Calico with BGP, IPIP or VXLAN (Always / CrossSubnet) per IP pool, cali* veths with proxy ARP',
  modes: ['bgp', 'ipip', 'vxlan', 'crosssubnet'],
  enforcesNetworkPolicy: true,
  options: [
    {
      flag: 'calico-encap',
      description: 'encapsulation to model when the IP pools do not say: bgp | ipip | vxlan',
      fallback: 'bgp',
    },
    { flag: 'calico-ipip-pod-mtu', description: "the pods' MTU with IPIP (default: tunl0's MTU)" },
    { flag: 'calico-vxlan-pod-mtu', description: "the pods' MTU with VXLAN (default: vxlan.calico's MTU)" },
  ],
  createPod(ctx: PluginContext, pod: Pod, host: string) {
    return podAction(ctx, pod, host, {
      expect: (at) => {
        const ip = pod.status?.podIP;
        const mtu = at === undefined || ip === undefined ? undefined : podMtu(ctx, at.ns, ip);
        return mtu !== undefined ? { mtu } : {};
      },
      extra: () => proxyArpCheck(ctx, host, pod),
    });
  },
  createNode(ctx: PluginContext, node: Node, host: string) {
    const name = node.metadata.name;
    return nodeAction(ctx, node, host, {
      static: (ns) => tunnelDeviceChecks(ctx, ns, name),
      packet: (ns, p) => nodePacketChecks(ctx, ns, node, p),
    });
  },
};

function poolFor(ctx: PluginContext, ip: string): IPPool | undefined {
  return ctx.index.ipPoolForIp(ip);
}

/** The encapsulation the pool of `dstIp` asks for between `from` and `to`. */
function encapBetween(ctx: PluginContext, dstIp: string, from: Node, to: Node): CalicoEncap {
  const pool = poolFor(ctx, dstIp);
  const fallback = ctx.options['calico-encap'];
  if (pool === undefined) return fallback === 'ipip' || fallback === 'vxlan' ? fallback : 'bgp';
  const crossesSubnet = !sameSubnet(ctx, from, to);
  const mode = (m: string | undefined): boolean => m === 'Always' || (m === 'CrossSubnet' && crossesSubnet);
  if (mode(pool.spec?.vxlanMode)) return 'vxlan';
  if (mode(pool.spec?.ipipMode)) return 'ipip';
  return 'bgp';
}

/** Whether two nodes share an IPv4 subnet (calico's BGP address annotation carries the prefix length). */
function sameSubnet(ctx: PluginContext, a: Node, b: Node): boolean {
  const cidrA = a.metadata.annotations?.[BGP_ADDR_ANNOTATION];
  const ipB = ctx.index.nodeInternalIP(b.metadata.name).v4;
  if (cidrA === undefined || ipB === undefined || !cidrA.includes('/')) return true;
  return cidrContains(cidrA, ipB);
}

function podMtu(
  ctx: PluginContext,
  nodeNs: Netns,
  podIp: string,
): { value: number; why: string } | undefined {
  const pool = poolFor(ctx, podIp);
  if (pool?.spec?.vxlanMode === 'Always' || pool?.spec?.vxlanMode === 'CrossSubnet') {
    const flag = ctx.options['calico-vxlan-pod-mtu'];
    if (flag !== undefined) return { value: Number(flag), why: '--calico-vxlan-pod-mtu' };
    const dev = nodeNs.linkByName.get(VXLAN_DEVICE);
    return dev === undefined ? undefined : { value: dev.mtu, why: `the MTU of ${VXLAN_DEVICE}` };
  }
  if (pool?.spec?.ipipMode === 'Always' || pool?.spec?.ipipMode === 'CrossSubnet') {
    const flag = ctx.options['calico-ipip-pod-mtu'];
    if (flag !== undefined) return { value: Number(flag), why: '--calico-ipip-pod-mtu' };
    const dev = nodeNs.linkByName.get(IPIP_DEVICE);
    return dev === undefined ? undefined : { value: dev.mtu, why: `the MTU of ${IPIP_DEVICE}` };
  }
  return undefined;
}

/** The host side of a calico veth must answer ARP for the pod's 169.254.1.1 gateway (proxy_arp=1). */
function proxyArpCheck(ctx: PluginContext, host: string, pod: Pod): Suspicion[] {
  const world = ctx.cluster.world;
  const ns = world.hosts.get(host);
  const ip = pod.status?.podIP;
  if (ns === undefined || ip === undefined || familyOf(ip) !== 4) return [];
  const eth = linkWithAddress(ns, ip);
  const peer = eth === undefined ? undefined : world.vethPeers.get(`${host}\u0000${eth.name}`);
  const nodeNs = peer === undefined ? undefined : world.hosts.get(peer.host);
  if (peer === undefined || nodeNs?.sysctls === undefined) return [];
  if (proxyArp(nodeNs.sysctls, peer.link.name) === true) return [];
  return [
    {
      level: 'fatal',
      code: 'SYSCTL_MISMATCH',
      on: peer.host,
      message: `proxy_arp is off on ${peer.link.name}, the node-side veth of ${host}: the pod's gateway 169.254.1.1 gets no ARP answer`,
      evidence: { sysctl: `net.ipv4.conf.${peer.link.name}.proxy_arp`, expected: '1' },
    },
  ];
}

function podOnIp(ctx: PluginContext, ip: string): Pod | undefined {
  for (const o of ctx.index.ownersOf(ip)) if (o.kind === 'pod') return o.pod;
  return undefined;
}

function nodePacketChecks(ctx: PluginContext, ns: Netns, node: Node, p: TraceStep['packet']): Suspicion[] {
  const name = node.metadata.name;
  const pod = podOnIp(ctx, p.dst);
  if (pod === undefined || pod.spec?.nodeName === undefined || pod.spec.hostNetwork === true) return [];
  if (pod.spec.nodeName === name) {
    const podHost = objectId(pod);
    const podNs = ctx.cluster.world.hosts.get(podHost);
    const eth = podNs === undefined ? undefined : linkWithAddress(podNs, p.dst);
    const peer =
      eth === undefined ? undefined : ctx.cluster.world.vethPeers.get(`${podHost}\u0000${eth.name}`);
    if (peer === undefined) return [];
    return routeExpectationCheck(ns, name, p, {
      dst: `${normalizeIp(p.dst)}/32`,
      dev: peer.link.name,
      why: `calico: local pod ${podHost}`,
    });
  }
  const peer = ctx.index.node(pod.spec.nodeName);
  if (peer === undefined) return [];
  const peerName = peer.metadata.name;
  const pool = poolFor(ctx, p.dst);
  const blockSize = pool?.spec?.blockSize ?? 26;
  const block = `${maskTo(p.dst, blockSize)}/${blockSize}`;
  const encap = encapBetween(ctx, p.dst, node, peer);
  const peerIp = ctx.index.nodeInternalIP(peerName).v4;
  const out: Suspicion[] = [];
  if (encap === 'ipip') {
    const tunl = ns.linkByName.get(IPIP_DEVICE);
    if (tunl === undefined || tunl.kind !== 'ipip') {
      out.push({
        level: 'fatal',
        code: 'IPIP_DEVICE_MISSING',
        on: name,
        message: `calico IPIP needs ${IPIP_DEVICE} (an ipip device) on node ${name}${tunl ? `, found a ${tunl.kind} device` : ''}`,
      });
    }
    if (peerIp !== undefined)
      out.push(
        ...routeExpectationCheck(ns, name, p, {
          dst: block,
          gateway: peerIp,
          dev: IPIP_DEVICE,
          onlink: true,
          why: `calico IPIP: block of ${peerName}`,
        }),
      );
  } else if (encap === 'vxlan') {
    if (ns.linkByName.get(VXLAN_DEVICE) === undefined) {
      out.push({
        level: 'fatal',
        code: 'VXLAN_DEVICE_MISSING',
        on: name,
        message: `calico VXLAN needs ${VXLAN_DEVICE} on node ${name}`,
      });
    }
    const gw = peer.metadata.annotations?.[VXLAN_ADDR_ANNOTATION];
    if (gw !== undefined)
      out.push(
        ...routeExpectationCheck(ns, name, p, {
          dst: block,
          gateway: gw,
          dev: VXLAN_DEVICE,
          onlink: true,
          why: `calico VXLAN: block of ${peerName}`,
        }),
      );
  } else if (peerIp !== undefined) {
    const ownIp = ctx.index.nodeInternalIP(name).v4;
    const dev = ownIp === undefined ? undefined : linkWithAddress(ns, ownIp)?.name;
    if (dev !== undefined)
      out.push(
        ...routeExpectationCheck(ns, name, p, {
          dst: block,
          gateway: peerIp,
          dev,
          why: `calico BGP: block of ${peerName}`,
        }),
      );
  }
  return out;
}

function maskTo(ip: string, len: number): string {
  const p = parsePrefix(`${ip}/${len}`);
  if (p.family !== 4) return p.address;
  const n = p.address.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
  const masked = len === 0 ? 0 : (n & (0xffffffff << (32 - len))) >>> 0;
  return [24, 16, 8, 0].map((s) => (masked >>> s) & 255).join('.');
}

/** The tunnel devices the IP pools ask for must exist and be up on every node. */
function tunnelDeviceChecks(ctx: PluginContext, ns: Netns, name: string): Suspicion[] {
  const pools = ctx.index.objects.ipPools;
  const uses = (m: 'ipipMode' | 'vxlanMode'): boolean =>
    pools.some((p) => p.spec?.[m] === 'Always' || p.spec?.[m] === 'CrossSubnet');
  const out: Suspicion[] = [];
  for (const [dev, mode, missing] of [
    [IPIP_DEVICE, 'ipipMode', 'IPIP_DEVICE_MISSING'],
    [VXLAN_DEVICE, 'vxlanMode', 'VXLAN_DEVICE_MISSING'],
  ] as const) {
    if (!uses(mode)) continue;
    const l = ns.linkByName.get(dev);
    if (l === undefined)
      out.push({
        level: 'fatal',
        code: missing,
        on: name,
        message: `calico's ${dev} does not exist on node ${name} (an IP pool sets ${mode})`,
      });
    else if (!l.adminUp)
      out.push({
        level: 'fatal',
        code: 'LINK_DOWN',
        on: name,
        message: `calico's ${dev} on node ${name} is down`,
      });
  }
  return out;
}
