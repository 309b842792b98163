import type { ClusterIndex } from '../k8s/cluster-index.js';
import type { Node, Pod } from '../k8s/objects.js';
import type { NetworkPluginDetection } from '../k8s/network-plugin.js';
import type { ClusterWorld } from '../network/cluster-world.js';
import type { NetNodeAction } from './net-node-action.js';

/** A command-line option a plugin understands (`--flannel-bridge cni0`). */
export interface PluginOptionSpec {
  /** The flag without dashes, e.g. `flannel-bridge`. */
  readonly flag: string;
  readonly description: string;
  /** What the plugin uses when the flag is absent and the data does not say. */
  readonly fallback?: string;
}

/** Everything a plugin's actions read: the wired world, the object index and the user's options. */
export interface PluginContext {
  readonly cluster: ClusterWorld;
  readonly index: ClusterIndex;
  /** Values of the plugin's flags, by flag name. */
  readonly options: Readonly<Record<string, string>>;
  readonly detection: NetworkPluginDetection | undefined;
}

/**
 * A CNI plugin's model of the data plane: how its pods and nodes handle packets, and what it
 * expects to find there (bridge, tunnel device, routes, MTUs, sysctls).
 */
export interface Plugin {
  readonly name: string;
  readonly description: string;
  /** The data-plane modes it models (e.g. flannel: vxlan, host-gw). */
  readonly modes: readonly string[];
  readonly options: readonly PluginOptionSpec[];
  /** Whether the CNI enforces NetworkPolicies. */
  readonly enforcesNetworkPolicy: boolean;
  createPod(ctx: PluginContext, pod: Pod, host: string): NetNodeAction;
  createNode(ctx: PluginContext, node: Node, host: string): NetNodeAction;
}
