import type { Suspicion } from '../model/suspicion.js';
import {
  arrive,
  sendFrom,
  type Crossing,
  type Flight,
  type State,
  type TraceStep,
  type World,
} from '../netstack/world.js';
import type { Node, Pod } from '../k8s/objects.js';
import type { Netns } from '../netstack/netns.js';
import type { Packet } from '../netstack/packet.js';
import type { HopResult, NetNodeAction } from './net-node-action.js';
import type { PluginContext } from './plugin.js';
import {
  neighborCheck,
  nodeStaticChecks,
  podNode,
  podRouteCheck,
  podStaticChecks,
  type PodExpectations,
} from './hop-checks.js';

/**
 * Checks a plugin runs on a hop: once when the hop is first reached (`static`), and for each packet
 * that arrives or leaves (`packet`), in addition to what the kernel simulation itself reports.
 */
export interface HopChecks {
  /** Checks of the hop itself (links, sysctls, readiness), run once. */
  readonly static?: () => readonly Suspicion[];
  /**
   * Checks of one packet's passage: `hopSteps` holds, for each branch leaving this hop, the steps
   * taken in this hop (routing decisions with the packet as routed, NAT, where it left).
   */
  readonly packet?: (
    hopSteps: readonly (readonly TraceStep[])[],
    arrivedOver: Crossing | undefined,
  ) => readonly Suspicion[];
}

/**
 * An action whose kernel processing is the world walker's (the captured state decides), with a
 * plugin's checks on top. Pods and nodes of every plugin are built from it.
 */
export function kernelAction(
  world: World,
  id: string,
  host: string,
  type: 'pod' | 'node',
  checks: HopChecks,
): NetNodeAction {
  let staticDone = false;
  const staticOnce = (): readonly Suspicion[] => {
    if (staticDone) return [];
    staticDone = true;
    return checks.static?.() ?? [];
  };
  const withChecks = (next: HopResult['next'], over: Crossing | undefined, offset: number): HopResult => {
    const suspicions: Suspicion[] = [...staticOnce()];
    if (checks.packet !== undefined) {
      const hopSteps = next.map((t) => t.state.steps.slice(offset));
      suspicions.push(...checks.packet(hopSteps, over));
    }
    return { next, suspicions };
  };
  return {
    id,
    type,
    send(state: State, flight: Flight): HopResult {
      return withChecks(sendFrom(world, state, host, flight), undefined, state.steps.length);
    },
    receive(crossing: Crossing): HopResult {
      return withChecks(arrive(world, crossing), crossing, crossing.state.steps.length);
    },
    inspect: staticOnce,
  };
}

/** A plugin's own checks of a pod hop (the shared ones are added by {@link podAction}). */
export interface PodModel {
  /** What the plugin expects of the pod's namespace (bridge, MTU), given its node when known. */
  readonly expect: (at: { readonly node: Node; readonly ns: Netns } | undefined) => PodExpectations;
  /** Further static checks of the pod. */
  readonly extra?: () => readonly Suspicion[];
}

/**
 * A pod hop: the kernel walk, the shared pod checks (its interface, lo, veth peer, bridge, MTU) and,
 * for every packet it sends, that its route leaves by its own interface.
 */
export function podAction(ctx: PluginContext, pod: Pod, host: string, model: PodModel): NetNodeAction {
  const world = ctx.cluster.world;
  return kernelAction(world, host, host, 'pod', {
    static: () => [
      ...podStaticChecks(world, host, pod, model.expect(podNode(ctx, pod))),
      ...(model.extra?.() ?? []),
    ],
    packet: (hopSteps) => routedPackets(hopSteps, host).flatMap((p) => podRouteCheck(world, host, pod, p)),
  });
}

/** A plugin's own checks of a node hop (the shared ones are added by {@link nodeAction}). */
export interface NodeModel {
  /** Static checks of the node's host namespace. */
  readonly static: (ns: Netns) => readonly Suspicion[];
  /** Checks of one packet as the node routed it (after PREROUTING). */
  readonly packet: (ns: Netns, packet: Packet) => readonly Suspicion[];
}

/**
 * A node hop: the kernel walk, the shared node checks (readiness, the interface holding its IP,
 * ip rules) and, per routed packet, the neighbour of its next hop, plus the plugin's own.
 */
export function nodeAction(ctx: PluginContext, node: Node, host: string, model: NodeModel): NetNodeAction {
  const world = ctx.cluster.world;
  const ns = world.hosts.get(host);
  const name = node.metadata.name;
  return kernelAction(world, name, host, 'node', {
    static: () => (ns === undefined ? [] : [...nodeStaticChecks(ns, node, ctx.index), ...model.static(ns)]),
    packet: (hopSteps) =>
      ns === undefined
        ? []
        : routedPackets(hopSteps, host).flatMap((p) => [
            ...model.packet(ns, p),
            ...neighborCheck(ns, name, p),
          ]),
  });
}

/** The packets a hop routed (after PREROUTING), one per distinct 4-tuple, from its steps. */
function routedPackets(hopSteps: readonly (readonly TraceStep[])[], host: string): Packet[] {
  const seen = new Set<string>();
  const out: Packet[] = [];
  for (const steps of hopSteps) {
    for (const st of steps) {
      if (st.host !== host || st.kind !== 'route') continue;
      const key = `${st.packet.src}|${st.packet.dst}|${st.packet.dport}|${st.packet.protocol}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(st.packet);
    }
  }
  return out;
}
