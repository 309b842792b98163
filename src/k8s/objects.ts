/**
 * Minimal types of the Kubernetes API objects skoop reads, shaped exactly as the API serves them
 * (`kubectl get -o json`). Only the fields skoop reads are declared; everything the API may omit is
 * optional. Values that the API serialises as `null` (e.g. an EndpointSlice's `endpoints`) are typed so.
 */

/** A string-to-string map such as `metadata.labels`. */
export type StringMap = Readonly<Record<string, string>>;

/** An L4 protocol as Kubernetes spells it. */
export type KubeProtocol = 'TCP' | 'UDP' | 'SCTP';

/** A reference from an object to its controller (`metadata.ownerReferences[]`). */
export interface OwnerReference {
  readonly apiVersion?: string;
  readonly kind: string;
  readonly name: string;
  readonly uid?: string;
  readonly controller?: boolean;
}

/** `metadata` of any object. */
export interface ObjectMeta {
  readonly name: string;
  /** Absent on cluster-scoped objects (Node, Namespace, IPPool). */
  readonly namespace?: string;
  readonly uid?: string;
  readonly labels?: StringMap;
  readonly annotations?: StringMap;
  readonly ownerReferences?: readonly OwnerReference[];
  readonly creationTimestamp?: string;
  /** Set while the object is being deleted (a terminating pod). */
  readonly deletionTimestamp?: string;
}

/** Fields every API object has. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
}

/** A `status.conditions[]` entry (Ready, MemoryPressure, …). */
export interface Condition {
  readonly type: string;
  /** `"True"`, `"False"` or `"Unknown"`. */
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
}

/** A label selector (`matchLabels` AND `matchExpressions`). */
export interface LabelSelector {
  readonly matchLabels?: StringMap;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

/** One `matchExpressions` entry. */
export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values?: readonly string[];
}

/** A node address (`status.addresses[]`). */
export interface NodeAddress {
  readonly type: 'InternalIP' | 'ExternalIP' | 'Hostname' | 'InternalDNS' | 'ExternalDNS';
  readonly address: string;
}

/** A node taint. */
export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** A `v1/Node`. */
export interface Node extends KubeObject {
  readonly spec?: {
    readonly podCIDR?: string;
    readonly podCIDRs?: readonly string[];
    readonly taints?: readonly Taint[];
    readonly unschedulable?: boolean;
    readonly providerID?: string;
  };
  readonly status?: {
    readonly addresses?: readonly NodeAddress[];
    readonly conditions?: readonly Condition[];
    readonly nodeInfo?: {
      readonly kubeletVersion?: string;
      readonly kubeProxyVersion?: string;
      readonly containerRuntimeVersion?: string;
      readonly osImage?: string;
      readonly kernelVersion?: string;
    };
  };
}

/** A `v1/Namespace`. */
export type Namespace = KubeObject;

/** A container port (`spec.containers[].ports[]`). */
export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  /** Defaults to TCP (the API server fills it in). */
  readonly protocol?: KubeProtocol;
  readonly hostPort?: number;
  readonly hostIP?: string;
}

/** An environment variable with a literal value. */
export interface EnvVar {
  readonly name: string;
  readonly value?: string;
}

/** A container of a pod or pod template. */
export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly ports?: readonly ContainerPort[];
  /** `Always` on an init container makes it a sidecar, whose ports count like a container's. */
  readonly restartPolicy?: string;
}

/** A pod's `spec`. */
export interface PodSpec {
  readonly nodeName?: string;
  readonly hostNetwork?: boolean;
  readonly containers?: readonly Container[];
  readonly initContainers?: readonly Container[];
  readonly restartPolicy?: string;
}

/** One `status.containerStatuses[]` entry. */
export interface ContainerStatus {
  readonly name: string;
  readonly ready: boolean;
  readonly restartCount?: number;
  readonly started?: boolean;
}

/** A pod's lifecycle phase. */
export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

/** A `v1/Pod`. */
export interface Pod extends KubeObject {
  readonly spec?: PodSpec;
  readonly status?: {
    readonly phase?: PodPhase;
    readonly podIP?: string;
    readonly podIPs?: readonly { readonly ip: string }[];
    readonly hostIP?: string;
    readonly hostIPs?: readonly { readonly ip: string }[];
    readonly conditions?: readonly Condition[];
    readonly containerStatuses?: readonly ContainerStatus[];
    readonly reason?: string;
  };
}

/** A Service port (`spec.ports[]`). */
export interface ServicePort {
  /** Optional when the Service has a single port; then it is `""` for EndpointSlice matching. */
  readonly name?: string;
  readonly port: number;
  /** A number, or the name of a container port; defaults to `port`. */
  readonly targetPort?: number | string;
  /** Defaults to TCP. */
  readonly protocol?: KubeProtocol;
  readonly nodePort?: number;
  readonly appProtocol?: string;
}

/** A Service's type. */
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

/** A `v1/Service`. */
export interface Service extends KubeObject {
  readonly spec?: {
    readonly type?: ServiceType;
    /** `"None"` for a headless Service. */
    readonly clusterIP?: string;
    readonly clusterIPs?: readonly string[];
    readonly externalIPs?: readonly string[];
    readonly externalName?: string;
    readonly ports?: readonly ServicePort[];
    /** Absent: the Service has no selector and its EndpointSlices are managed by someone else. */
    readonly selector?: StringMap;
    readonly externalTrafficPolicy?: 'Cluster' | 'Local';
    readonly internalTrafficPolicy?: 'Cluster' | 'Local';
    readonly loadBalancerSourceRanges?: readonly string[];
    readonly sessionAffinity?: 'None' | 'ClientIP';
    readonly ipFamilies?: readonly ('IPv4' | 'IPv6')[];
    readonly healthCheckNodePort?: number;
    readonly publishNotReadyAddresses?: boolean;
  };
  readonly status?: {
    readonly loadBalancer?: {
      readonly ingress?: readonly { readonly ip?: string; readonly hostname?: string }[];
    };
  };
}

/** A reference to the object behind an endpoint (`targetRef`). */
export interface ObjectReference {
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly uid?: string;
}

/** One endpoint of an EndpointSlice. */
export interface SliceEndpoint {
  /** Consumers use only the first address (kube-proxy does). */
  readonly addresses: readonly string[];
  readonly conditions?: {
    /** `null`/absent means unknown, which consumers read as ready. */
    readonly ready?: boolean | null;
    readonly serving?: boolean | null;
    readonly terminating?: boolean | null;
  };
  readonly nodeName?: string;
  readonly zone?: string;
  readonly targetRef?: ObjectReference;
}

/** One port of an EndpointSlice. */
export interface SlicePort {
  /** The API defaults it to `""`; it equals the name of the Service port it serves. */
  readonly name?: string;
  /** Absent means "all ports" and kube-proxy ignores such a port. */
  readonly port?: number;
  readonly protocol?: KubeProtocol;
  readonly appProtocol?: string;
}

/** A `discovery.k8s.io/v1` EndpointSlice. */
export interface EndpointSlice extends KubeObject {
  readonly addressType: 'IPv4' | 'IPv6' | 'FQDN';
  /** The API serialises an empty list as `null`. */
  readonly endpoints?: readonly SliceEndpoint[] | null;
  readonly ports?: readonly SlicePort[] | null;
}

/** A NetworkPolicy port (`ports[]` of a rule). */
export interface NetworkPolicyPort {
  /** Defaults to TCP. */
  readonly protocol?: KubeProtocol;
  /** A number or a named container port; absent means all ports. */
  readonly port?: number | string;
  /** With a numeric `port`, the end of the range `port..endPort`. */
  readonly endPort?: number;
}

/** An `ipBlock` peer. */
export interface IPBlock {
  readonly cidr: string;
  readonly except?: readonly string[];
}

/** One peer of a NetworkPolicy rule. */
export interface NetworkPolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: IPBlock;
}

/** One ingress rule. */
export interface NetworkPolicyIngressRule {
  readonly from?: readonly NetworkPolicyPeer[];
  readonly ports?: readonly NetworkPolicyPort[];
}

/** One egress rule. */
export interface NetworkPolicyEgressRule {
  readonly to?: readonly NetworkPolicyPeer[];
  readonly ports?: readonly NetworkPolicyPort[];
}

/** A `networking.k8s.io/v1` NetworkPolicy. */
export interface NetworkPolicy extends KubeObject {
  readonly spec?: {
    /** `{}` selects every pod of the namespace. */
    readonly podSelector?: LabelSelector;
    readonly policyTypes?: readonly ('Ingress' | 'Egress')[];
    readonly ingress?: readonly NetworkPolicyIngressRule[];
    readonly egress?: readonly NetworkPolicyEgressRule[];
  };
}

/** A DaemonSet (only what identifies the CNI it runs). */
export interface DaemonSet extends KubeObject {
  readonly spec?: {
    readonly selector?: LabelSelector;
    readonly template?: {
      readonly metadata?: { readonly labels?: StringMap };
      readonly spec?: PodSpec;
    };
  };
  readonly status?: {
    readonly desiredNumberScheduled?: number;
    readonly numberReady?: number;
  };
}

/** A `v1/ConfigMap`. */
export interface ConfigMap extends KubeObject {
  readonly data?: StringMap;
}

/** An AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy: read by `src/policy/`. */
export interface PolicyApiObject extends KubeObject {
  readonly spec?: Readonly<Record<string, unknown>>;
}

/** Calico's encapsulation mode for a pool. */
export type CalicoEncapMode = 'Always' | 'CrossSubnet' | 'Never';

/** A Calico `IPPool` (crd.projectcalico.org/v1 or projectcalico.org/v3). */
export interface IPPool extends KubeObject {
  readonly spec: {
    readonly cidr: string;
    readonly ipipMode?: CalicoEncapMode;
    readonly vxlanMode?: CalicoEncapMode;
    readonly natOutgoing?: boolean;
    readonly blockSize?: number;
    readonly disabled?: boolean;
    readonly nodeSelector?: string;
  };
}

/** Every list of API objects of a snapshot (CONTRACTS.md §2, `objects`). */
export interface ClusterObjects {
  readonly nodes: readonly Node[];
  readonly namespaces: readonly Namespace[];
  readonly pods: readonly Pod[];
  readonly services: readonly Service[];
  readonly endpointSlices: readonly EndpointSlice[];
  readonly networkPolicies: readonly NetworkPolicy[];
  readonly daemonSets: readonly DaemonSet[];
  readonly configMaps: readonly ConfigMap[];
  readonly adminNetworkPolicies: readonly PolicyApiObject[];
  readonly baselineAdminNetworkPolicies: readonly PolicyApiObject[];
  readonly clusterNetworkPolicies: readonly PolicyApiObject[];
  readonly ipPools: readonly IPPool[];
}

/** The keys of {@link ClusterObjects}, in snapshot order. */
export const OBJECT_LISTS = [
  'nodes',
  'namespaces',
  'pods',
  'services',
  'endpointSlices',
  'networkPolicies',
  'daemonSets',
  'configMaps',
  'adminNetworkPolicies',
  'baselineAdminNetworkPolicies',
  'clusterNetworkPolicies',
  'ipPools',
] as const satisfies readonly (keyof ClusterObjects)[];

/** One list of {@link ClusterObjects}. */
export type ObjectListName = (typeof OBJECT_LISTS)[number];

/** `namespace/name` of a namespaced object (an object without a namespace is in `default`, as kubectl has it). */
export function objectId(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`;
}

/** Fills every list `objects` lacks with `[]`. */
export function completeObjects(objects: Partial<ClusterObjects>): ClusterObjects {
  return {
    nodes: objects.nodes ?? [],
    namespaces: objects.namespaces ?? [],
    pods: objects.pods ?? [],
    services: objects.services ?? [],
    endpointSlices: objects.endpointSlices ?? [],
    networkPolicies: objects.networkPolicies ?? [],
    daemonSets: objects.daemonSets ?? [],
    configMaps: objects.configMaps ?? [],
    adminNetworkPolicies: objects.adminNetworkPolicies ?? [],
    baselineAdminNetworkPolicies: objects.baselineAdminNetworkPolicies ?? [],
    clusterNetworkPolicies: objects.clusterNetworkPolicies ?? [],
    ipPools: objects.ipPools ?? [],
  };
}

/** The object list each API `kind` belongs to. */
export const LIST_OF_KIND: Readonly<Record<string, ObjectListName>> = {
  Node: 'nodes',
  Namespace: 'namespaces',
  Pod: 'pods',
  Service: 'services',
  EndpointSlice: 'endpointSlices',
  NetworkPolicy: 'networkPolicies',
  DaemonSet: 'daemonSets',
  ConfigMap: 'configMaps',
  AdminNetworkPolicy: 'adminNetworkPolicies',
  BaselineAdminNetworkPolicy: 'baselineAdminNetworkPolicies',
  ClusterNetworkPolicy: 'clusterNetworkPolicies',
  IPPool: 'ipPools',
};

/**
 * Sorts the items of a `kubectl get a,b,c -o json` List into snapshot lists by their `kind`; items
 * of other kinds are returned in `ignored`.
 */
export function groupObjectsByKind(items: readonly KubeObject[]): {
  objects: Partial<ClusterObjects>;
  ignored: readonly KubeObject[];
} {
  const lists = new Map<ObjectListName, KubeObject[]>();
  const ignored: KubeObject[] = [];
  for (const item of items) {
    const list = item.kind !== undefined ? LIST_OF_KIND[item.kind] : undefined;
    if (list === undefined) {
      ignored.push(item);
      continue;
    }
    const existing = lists.get(list);
    if (existing === undefined) lists.set(list, [item]);
    else existing.push(item);
  }
  return { objects: Object.fromEntries(lists) as Partial<ClusterObjects>, ignored };
}
