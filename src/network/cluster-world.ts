import type { Dump } from '../netstack/dump.js';
import { buildWorld, type World } from '../netstack/world.js';
import { objectId, type Pod } from '../k8s/objects.js';
import type { Snapshot } from '../source/snapshot.js';

/**
 * The captured namespaces of a cluster as one simulated world: each node's host namespace is a
 * host named after the node, each pod namespace a host named `ns/pod`, and a pod's veth can only
 * pair with its own node.
 */
export interface ClusterWorld {
  readonly world: World;
  /** The world host a pod's packets start from: its own namespace, or its node's for hostNetwork pods. */
  hostOfPod(pod: Pod): string | undefined;
  /** The world host of a node's host namespace. */
  hostOfNode(name: string): string | undefined;
  /** The node a world host belongs to. */
  nodeOfHost(host: string): string | undefined;
}

/** Builds the world of a snapshot's netstack section. */
export function buildClusterWorld(snapshot: Snapshot): ClusterWorld {
  const dumps: Record<string, Dump> = {};
  const groups: Record<string, string> = {};
  for (const [node, ns] of Object.entries(snapshot.netstack)) {
    if (ns.host !== undefined) {
      dumps[node] = ns.host;
      groups[node] = node;
    }
    for (const [podId, dump] of Object.entries(ns.pods)) {
      dumps[podId] = dump;
      groups[podId] = node;
    }
  }
  const world = buildWorld(dumps, { groups });
  return {
    world,
    hostOfPod(pod: Pod): string | undefined {
      if (pod.spec?.hostNetwork === true)
        return pod.spec.nodeName !== undefined && world.hosts.has(pod.spec.nodeName)
          ? pod.spec.nodeName
          : undefined;
      const id = objectId(pod);
      return world.hosts.has(id) ? id : undefined;
    },
    hostOfNode(name: string): string | undefined {
      return world.hosts.has(name) ? name : undefined;
    },
    nodeOfHost(host: string): string | undefined {
      return groups[host];
    },
  };
}
