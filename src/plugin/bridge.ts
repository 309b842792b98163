import type { Node, Pod } from '../k8s/objects.js';
import { nodePodCidrs } from '../k8s/pod-cidr.js';
import type { Suspicion } from '../model/suspicion.js';
import { cidrContains, familyOf, parsePrefix } from '../netstack/ip.js';
import type { Netns } from '../netstack/netns.js';
import type { TraceStep } from '../netstack/world.js';
import { nodeAction, podAction } from './base-actions.js';
import { bridgeChecks, bridgeNfCheck, linkWithAddress, routeExpectationCheck } from './hop-checks.js';
import type { Plugin, PluginContext } from './plugin.js';

/**
 * The plain CNIs: the reference `bridge` plugin (pods on a bridge) and `ptp` / kindnet (a veth per
 * pod with a host route to it), with other nodes' pod CIDRs routed via their InternalIP.
 * @remarks https://www.cni.dev/plugins/current/main/bridge/ and https://github.com/kubernetes-sigs/kind
 * (kindnetd programs `podCIDR via nodeIP` routes and uses ptp veths).
 */
export const bridgePlugin: Plugin = {
  name: 'bridge',
  description:
    "plain bridge / ptp CNIs and kindnet (kind's default): per-node pod CIDR routed via the node IP",
  modes: ['bridge', 'ptp'],
  enforcesNetworkPolicy: false,
  options: [
    {
      flag: 'bridge-name',
      description: "the pods' bridge, for the bridge plugin (default: found from the data; none means ptp)",
    },
  ],
  createPod(ctx: PluginContext, pod: Pod, host: string) {
    return podAction(ctx, pod, host, {
      expect: (at) => {
        const bridge = at === undefined ? undefined : bridgeOf(ctx, at.ns, at.node);
        const mtu = at === undefined ? undefined : hostMtu(ctx, at.ns, at.node);
        return { ...(bridge !== undefined ? { bridge } : {}), ...(mtu !== undefined ? { mtu } : {}) };
      },
    });
  },
  createNode(ctx: PluginContext, node: Node, host: string) {
    const name = node.metadata.name;
    return nodeAction(ctx, node, host, {
      static: (ns) => {
        const bridge = bridgeOf(ctx, ns, node);
        return bridge === undefined
          ? []
          : [...bridgeChecks(ns, name, bridge, true), ...bridgeNfCheck(ns, name, 4)];
      },
      packet: (ns, p) => remoteRouteCheck(ctx, ns, node, p),
    });
  },
};

/** The pods' bridge on a node: the flag, else the bridge holding the node's pod gateway; undefined for ptp. */
function bridgeOf(ctx: PluginContext, ns: Netns, node: Node): string | undefined {
  const flag = ctx.options['bridge-name'];
  if (flag !== undefined) return flag;
  for (const cidr of nodePodCidrs(node)) {
    const holder = ns.links.find(
      (l) =>
        l.kind === 'bridge' &&
        l.addresses.some((a) => a.family === parsePrefix(cidr).family && cidrContains(cidr, a.local)),
    );
    if (holder !== undefined) return holder.name;
  }
  return undefined;
}

function hostMtu(ctx: PluginContext, ns: Netns, node: Node): { value: number; why: string } | undefined {
  const ip = ctx.index.nodeInternalIP(node.metadata.name).v4;
  const l = ip === undefined ? undefined : linkWithAddress(ns, ip);
  return l === undefined
    ? undefined
    : { value: l.mtu, why: `the MTU of ${l.name}, ${node.metadata.name}'s interface` };
}

/** Another node's pod CIDR must be routed via that node's InternalIP over this node's interface. */
function remoteRouteCheck(ctx: PluginContext, ns: Netns, node: Node, p: TraceStep['packet']): Suspicion[] {
  const name = node.metadata.name;
  const local = localPodRouteCheck(ctx, ns, node, p);
  if (local !== undefined) return local;
  for (const peer of ctx.index.objects.nodes) {
    if (peer.metadata.name === name) continue;
    for (const cidr of nodePodCidrs(peer)) {
      if (familyOf(p.dst) !== parsePrefix(cidr).family || !cidrContains(cidr, p.dst)) continue;
      const ips = ctx.index.nodeInternalIP(peer.metadata.name);
      const gw = p.family === 4 ? ips.v4 : ips.v6;
      const own = ctx.index.nodeInternalIP(name);
      const ownIp = p.family === 4 ? own.v4 : own.v6;
      const dev = ownIp === undefined ? undefined : linkWithAddress(ns, ownIp)?.name;
      if (gw === undefined || dev === undefined) return [];
      return routeExpectationCheck(ns, name, p, {
        dst: cidr,
        gateway: gw,
        dev,
        why: `pod CIDR of ${peer.metadata.name}`,
      });
    }
  }
  return [];
}

/**
 * A pod on this node: with a bridge, the node's pod CIDR is on the bridge; with ptp (kindnet), each
 * pod has a host route `<podIP> dev <its host-side veth>`. Undefined when `p` is not for a local pod.
 */
function localPodRouteCheck(
  ctx: PluginContext,
  ns: Netns,
  node: Node,
  p: TraceStep['packet'],
): Suspicion[] | undefined {
  const name = node.metadata.name;
  const pod = ctx.index.ownersOf(p.dst).find((o) => o.kind === 'pod')?.pod;
  if (pod === undefined || pod.spec?.nodeName !== name || pod.spec.hostNetwork === true) return undefined;
  const bridge = bridgeOf(ctx, ns, node);
  if (bridge !== undefined) {
    const cidr = nodePodCidrs(node).find(
      (c) => familyOf(p.dst) === parsePrefix(c).family && cidrContains(c, p.dst),
    );
    return cidr === undefined
      ? []
      : routeExpectationCheck(ns, name, p, {
          dst: cidr,
          dev: bridge,
          why: `pods of ${name} are on ${bridge}`,
        });
  }
  const podHost = ctx.cluster.hostOfPod(pod);
  const podNs = podHost === undefined ? undefined : ctx.cluster.world.hosts.get(podHost);
  const eth = podNs === undefined ? undefined : linkWithAddress(podNs, p.dst);
  const peer =
    podHost === undefined || eth === undefined
      ? undefined
      : ctx.cluster.world.vethPeers.get(`${podHost}\u0000${eth.name}`);
  if (peer === undefined) return [];
  const hostRoute = `${p.dst}/${familyOf(p.dst) === 4 ? 32 : 128}`;
  return routeExpectationCheck(ns, name, p, {
    dst: hostRoute,
    dev: peer.link.name,
    why: `ptp: pod ${podHost} behind ${peer.link.name}`,
  });
}
