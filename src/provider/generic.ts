import { usageError } from '../errors.js';
import { buildClusterIndex } from '../k8s/cluster-index.js';
import { detectNetworkPlugin, type NetworkPluginDetection } from '../k8s/network-plugin.js';
import { readKubeProxyConfig } from '../k8s/kube-proxy-config.js';
import type { RequestInfo } from '../model/result.js';
import type { Suspicion } from '../model/suspicion.js';
import { buildClusterWorld } from '../network/cluster-world.js';
import { createNetwork, type Network } from '../network/network.js';
import { bridgePlugin } from '../plugin/bridge.js';
import { calicoPlugin } from '../plugin/calico.js';
import { flannelPlugin } from '../plugin/flannel.js';
import type { Plugin } from '../plugin/plugin.js';
import type { Snapshot } from '../source/snapshot.js';

/** The CNI plugins the generic provider models. */
export const PLUGINS: readonly Plugin[] = [flannelPlugin, calicoPlugin, bridgePlugin];

/** kube-proxy's modes. */
export const PROXY_MODES = ['iptables', 'ipvs', 'nftables'] as const;

/** A kube-proxy mode. */
export type ProxyMode = (typeof PROXY_MODES)[number];

/** What the user chose on the command line. */
export interface ProviderOptions {
  readonly networkPlugin?: string;
  readonly proxyMode?: string;
  /** Plugin flags by name (`flannel-bridge` → `cni0`). */
  readonly pluginOptions: Readonly<Record<string, string>>;
  /** Where the state came from, for the result's request info. */
  readonly from: string;
}

/** A Network built for a snapshot, with what was decided about it. */
export interface ProvidedNetwork {
  readonly network: Network;
  readonly index: ReturnType<typeof buildClusterIndex>;
  readonly plugin: string;
  readonly proxyMode: string;
}

/** The plugin named `name` (aliases: kindnet → bridge, canal → flannel). */
export function findPlugin(name: string): Plugin | undefined {
  const n = name.toLowerCase();
  const alias = n === 'kindnet' || n === 'ptp' ? 'bridge' : n === 'canal' ? 'flannel' : n;
  return PLUGINS.find((p) => p.name === alias);
}

/**
 * The generic provider: picks the CNI plugin (the `--network-plugin` flag, else the snapshot's
 * hints, else detection from DaemonSets and ConfigMaps) and kube-proxy's mode, and builds the
 * Network. An unsupported CNI is a `CNI_UNSUPPORTED` finding, not an error: the Kubernetes-level
 * checks still run.
 */
export function createGenericNetwork(snapshot: Snapshot, options: ProviderOptions): ProvidedNetwork {
  const index = buildClusterIndex(snapshot.objects);
  const detection: NetworkPluginDetection = detectNetworkPlugin(snapshot.objects);
  const chosen = options.networkPlugin ?? snapshot.hints?.networkPlugin;
  const clusterSuspicions: Suspicion[] = [];
  let plugin: Plugin | undefined;
  if (chosen !== undefined) {
    plugin = findPlugin(chosen);
    if (plugin === undefined && options.networkPlugin !== undefined) {
      throw usageError(
        'PLUGIN_UNKNOWN',
        `unknown network plugin "${chosen}"`,
        `supported: ${PLUGINS.map((p) => p.name).join(', ')} (see skoop plugins)`,
      );
    }
  } else {
    plugin = findPlugin(detection.plugin);
  }
  const pluginName = plugin?.name ?? chosen ?? detection.plugin;
  if (plugin === undefined) {
    clusterSuspicions.push({
      level: 'critical',
      code: 'CNI_UNSUPPORTED',
      on: 'cluster',
      message: `the CNI ${chosen !== undefined ? `"${chosen}" (from the snapshot hints)` : `found (${detection.plugin}: ${detection.evidence})`} is not supported; supported: ${PLUGINS.map((p) => p.name).join(', ')}. Only the Kubernetes-level checks ran`,
      evidence: { detected: detection.plugin, evidence: detection.evidence },
    });
  }
  const proxyMode =
    options.proxyMode ??
    snapshot.hints?.proxyMode ??
    proxyModeOf(readKubeProxyConfig(snapshot.objects)?.mode);
  if (options.proxyMode !== undefined && !(PROXY_MODES as readonly string[]).includes(options.proxyMode)) {
    throw usageError(
      'PROXY_MODE_UNKNOWN',
      `unknown proxy mode "${options.proxyMode}"`,
      `use one of: ${PROXY_MODES.join(', ')}`,
    );
  }
  const request: RequestInfo = {
    from: options.from,
    ...(snapshot.capturedAt !== undefined ? { capturedAt: snapshot.capturedAt } : {}),
    networkPlugin: pluginName,
    proxyMode,
  };
  const cluster = buildClusterWorld(snapshot);
  const network = createNetwork({
    cluster,
    index,
    plugin,
    pluginContext: { cluster, index, options: options.pluginOptions, detection },
    clusterSuspicions,
    request,
  });
  return { network, index, plugin: pluginName, proxyMode };
}

function proxyModeOf(mode: string | undefined): string {
  return mode === 'ipvs' || mode === 'nftables' ? mode : 'iptables';
}
