import { completeObjects, type ClusterObjects, type ConfigMap, type KubeObject } from '../k8s/objects.js';
import type { KubeApi } from './live-api.js';
import type { ApiAction } from './live-errors.js';

/** One list the diagnosis reads: where it is served and which snapshot list it fills. */
interface ListSource {
  readonly list: keyof ClusterObjects;
  readonly path: string;
  readonly action: ApiAction;
  /** An API group that may not exist (CRDs, alpha APIs): 404 is an empty list. */
  readonly optional?: boolean;
}

const LISTS: readonly ListSource[] = [
  { list: 'nodes', path: '/api/v1/nodes', action: { verb: 'list', resource: 'nodes', group: '' } },
  { list: 'namespaces', path: '/api/v1/namespaces', action: { verb: 'list', resource: 'namespaces', group: '' } },
  { list: 'pods', path: '/api/v1/pods', action: { verb: 'list', resource: 'pods', group: '' } },
  { list: 'services', path: '/api/v1/services', action: { verb: 'list', resource: 'services', group: '' } },
  { list: 'endpointSlices', path: '/apis/discovery.k8s.io/v1/endpointslices', action: { verb: 'list', resource: 'endpointslices', group: 'discovery.k8s.io' } },
  { list: 'networkPolicies', path: '/apis/networking.k8s.io/v1/networkpolicies', action: { verb: 'list', resource: 'networkpolicies', group: 'networking.k8s.io' } },
  { list: 'daemonSets', path: '/apis/apps/v1/daemonsets', action: { verb: 'list', resource: 'daemonsets', group: 'apps' } },
  { list: 'ipPools', path: '/apis/crd.projectcalico.org/v1/ippools', action: { verb: 'list', resource: 'ippools', group: 'crd.projectcalico.org' }, optional: true },
  {
    list: 'adminNetworkPolicies',
    path: '/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies',
    action: { verb: 'list', resource: 'adminnetworkpolicies', group: 'policy.networking.k8s.io' },
    optional: true,
  },
    {
    list: 'baselineAdminNetworkPolicies',
    path: '/apis/policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies',
    action: { verb: 'list', resource: 'baselineadminnetworkpolicies', group: 'policy.networking.k8s.io' },
    optional: true,
  },
  {
    list: 'clusterNetworkPolicies',
    path: '/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies',
    action: { verb: 'list', resource: 'clusternetworkpolicies', group: 'policy.networking.k8s.io' },
    optional: true,
  },
];

/** The CNI and kube-proxy ConfigMaps the detection reads (namespace, name); no other ConfigMap is read. */
export const CONFIG_MAPS: readonly (readonly [string, string])[] = [
  ['kube-system', 'kube-proxy'],
  ['kube-flannel', 'kube-flannel-cfg'],
  ['kube-system', 'kube-flannel-cfg'],
  ['kube-system', 'calico-config'],
  ['calico-system', 'cni-config'],
];

/** Every request {@link listClusterObjects} makes, for RBAC (deploy/rbac.yaml must grant them all). */
export function listActions(): ApiAction[] {
  return [
    ...LISTS.map((s) => s.action),
    ...CONFIG_MAPS.map(([namespace]) => ({ verb: 'get' as const, resource: 'configmaps', group: '', namespace })),
  ];
}

/**
 * Reads every object list the diagnosis needs, concurrently: nodes, namespaces, pods, Services,
 * EndpointSlices, NetworkPolicies, DaemonSets, the CNI/kube-proxy ConfigMaps, Calico IP pools and
 * admin network policies when their API exists. A missing API group is an empty list; any other
 * failure is translated (RBAC: the exact permission to add).
 */
export async function listClusterObjects(api: KubeApi): Promise<ClusterObjects> {
  const lists = LISTS.map(async (s) => {
    const body = await api.get<{ items?: KubeObject[] | null }>(s.path, s.action, s.optional === true);
    return [s.list, body?.items ?? []] as const;
  });
  const maps = CONFIG_MAPS.map(([namespace, name]) =>
    api.get<ConfigMap>(`/api/v1/namespaces/${namespace}/configmaps/${name}`, { verb: 'get', resource: 'configmaps', group: '', namespace }, true),
  );
  const [done, configMaps] = await Promise.all([Promise.all(lists), Promise.all(maps)]);
  const out: Record<string, unknown> = Object.fromEntries(done);
  out['configMaps'] = configMaps.filter((c): c is ConfigMap => c !== undefined);
  return completeObjects(out as Partial<ClusterObjects>);
}
