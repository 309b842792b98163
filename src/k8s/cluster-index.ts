import { parsePrefix, prefixContains, type Prefix } from '../netstack/ip.js';
import { canonicalIp, nodeInternalIps, nodeIps, podIps, serviceIps, type NodeInternalIps, type ServiceIpRole } from './addresses.js';
import { matchesServiceSelector } from './label-selector.js';
import {
  completeObjects,
  type ClusterObjects,
  type EndpointSlice,
  type IPPool,
  type Namespace,
  type Node,
  type Pod,
  type Service,
  type ServicePort,
} from './objects.js';
import { ipPoolForIp, nodePodCidrs, podIpInNodeCidr } from './pod-cidr.js';
import { isPodTerminal } from './readiness.js';
import { lookupServicePort, servicePortProtocol } from './service-ports.js';

/** Who holds an IP address in the cluster. */
export type IpOwner =
  | { readonly kind: 'pod'; readonly id: string; readonly pod: Pod }
  | {
      readonly kind: 'node';
      readonly id: string;
      readonly node: Node;
      /** The node address type, or `hostNetworkPod` when only a hostNetwork pod on it reports the IP. */
      readonly via: 'InternalIP' | 'ExternalIP' | 'hostNetworkPod';
    }
  | { readonly kind: 'service'; readonly id: string; readonly service: Service; readonly role: ServiceIpRole };

/** One address claimed by more than one pod, node or ClusterIP. */
export interface DuplicateIp {
  readonly ip: string;
  readonly owners: readonly IpOwner[];
}

/** One backend of a Service port, from an EndpointSlice. */
export interface Backend {
  readonly ip: string;
  /** The resolved port number from the EndpointSlice port. */
  readonly port: number;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName?: string;
  /** The pod behind the endpoint (`targetRef`), when it is among the objects. */
  readonly pod?: Pod;
  /** The EndpointSlice it comes from. */
  readonly slice: string;
}

/** The backends of one Service port. */
export interface ServiceEndpoints {
  readonly servicePort: ServicePort;
  /** False when no EndpointSlice names the Service: data missing, or a Service nobody populates. */
  readonly haveSlices: boolean;
  readonly backends: readonly Backend[];
}

/** An index over a cluster's API objects, built once and then read by every hop of a diagnosis. */
export interface ClusterIndex {
  readonly objects: ClusterObjects;
  /** Addresses claimed by more than one pod, node or ClusterIP (for `DUPLICATE_IP`). */
  readonly duplicates: readonly DuplicateIp[];
  /** Everything that holds `ip` (any textual form), pods and nodes first, then Services. */
  ownersOf(ip: string): readonly IpOwner[];
  pod(namespace: string, name: string): Pod | undefined;
  service(namespace: string, name: string): Service | undefined;
  node(name: string): Node | undefined;
  namespace(name: string): Namespace | undefined;
  /** Every namespace that exists or holds a pod or Service, sorted. */
  namespaceNames(): readonly string[];
  /** Pods scheduled on the node (any phase). */
  podsOnNode(nodeName: string): readonly Pod[];
  /** Pods of a namespace (any phase), in object order. */
  podsInNamespace(namespace: string): readonly Pod[];
  /** Services of a namespace, in object order. */
  servicesInNamespace(namespace: string): readonly Service[];
  /** The node's first InternalIP of each family (`{}` for an unknown node). */
  nodeInternalIP(nodeName: string): NodeInternalIps;
  /**
   * The node `ip` lives on: the node holding it as an address, the node of the pod holding it, else
   * the node whose pod CIDR contains it.
   */
  nodeForIp(ip: string): Node | undefined;
  /** The EndpointSlices of a Service (label `kubernetes.io/service-name`, same namespace), by name. */
  serviceSlices(service: Service): readonly EndpointSlice[];
  /**
   * The backends of one port of `service` (a ServicePort, or a port number or name resolved without
   * throwing); `undefined` when the Service has no such port.
   */
  serviceEndpoints(service: Service, port: ServicePort | number | string, protocol?: string): ServiceEndpoints | undefined;
  /** The non-terminal pods of the Service's namespace that its `spec.selector` selects; none without a selector. */
  servicePods(service: Service): readonly Pod[];
  /**
   * Whether every IP of the pod lies in its node's pod CIDRs; `undefined` when that cannot be told
   * (hostNetwork pod, unknown node, node without pod CIDR — Calico IPAM: use {@link ClusterIndex.ipPoolForIp}).
   */
  podIpInNodeCidr(pod: Pod): boolean | undefined;
  /** The Calico IP pool holding `ip`, if any. */
  ipPoolForIp(ip: string): IPPool | undefined;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const key = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

function push<K, V>(map: Map<K, V[]>, k: K, v: V): void {
  const list = map.get(k);
  if (list === undefined) map.set(k, [v]);
  else list.push(v);
}

const isPrimary = (o: IpOwner): boolean => o.kind !== 'service' || o.role === 'clusterIP';

/**
 * Indexes `objects` (missing lists count as empty): by IP, by name, pods by node and namespace,
 * EndpointSlices by Service.
 *
 * @remarks
 * IP ownership: a pod owns its `podIPs` unless it is `hostNetwork` (its IP is its node's) or has
 * finished (Succeeded/Failed: the IP may already belong to another pod); a node owns each
 * InternalIP/ExternalIP; a Service owns its ClusterIPs, externalIPs and LoadBalancer ingress IPs.
 * Duplicates are counted among pods, nodes and ClusterIPs only: an externalIP or LoadBalancer IP
 * that is also a node's address (k3s ServiceLB, MetalLB IP sharing) is a normal setup.
 */
export function buildClusterIndex(input: Partial<ClusterObjects>): ClusterIndex {
  const objects = completeObjects(input);
  // Owners are added nodes, then pods, then Services, which is the order ownersOf promises.
  const owners = new Map<string, IpOwner[]>();
  const addOwner = (ip: string, owner: IpOwner): void => {
    const list = owners.get(ip);
    if (list === undefined) owners.set(ip, [owner]);
    else if (!list.some((o) => o.kind === owner.kind && o.id === owner.id)) list.push(owner);
  };

  const nodes = new Map<string, Node>();
  for (const node of objects.nodes) {
    if (nodes.has(node.metadata.name)) continue;
    nodes.set(node.metadata.name, node);
    for (const { ip, type } of nodeIps(node)) addOwner(ip, { kind: 'node', id: node.metadata.name, node, via: type });
  }

  const namespaces = new Map<string, Namespace>();
  for (const ns of objects.namespaces) if (!namespaces.has(ns.metadata.name)) namespaces.set(ns.metadata.name, ns);

  const pods = new Map<string, Pod>();
  const podsByNode = new Map<string, Pod[]>();
  const podsByNs = new Map<string, Pod[]>();
  for (const pod of objects.pods) {
    const id = key(pod.metadata.namespace, pod.metadata.name);
    if (pods.has(id)) continue;
    pods.set(id, pod);
    push(podsByNs, pod.metadata.namespace ?? '', pod);
    const nodeName = pod.spec?.nodeName;
    if (nodeName !== undefined) push(podsByNode, nodeName, pod);
    if (isPodTerminal(pod)) continue;
    if (pod.spec?.hostNetwork === true) {
      const node = nodeName !== undefined ? nodes.get(nodeName) : undefined;
      if (node === undefined) continue;
      for (const ip of podIps(pod)) addOwner(ip, { kind: 'node', id: node.metadata.name, node, via: 'hostNetworkPod' });
      continue;
    }
    for (const ip of podIps(pod)) addOwner(ip, { kind: 'pod', id, pod });
  }

  const services = new Map<string, Service>();
  const servicesByNs = new Map<string, Service[]>();
  for (const svc of objects.services) {
    const id = key(svc.metadata.namespace, svc.metadata.name);
    if (services.has(id)) continue;
    services.set(id, svc);
    push(servicesByNs, svc.metadata.namespace ?? '', svc);
    for (const { ip, role } of serviceIps(svc)) addOwner(ip, { kind: 'service', id, service: svc, role });
  }

  const slicesByService = new Map<string, EndpointSlice[]>();
  for (const slice of objects.endpointSlices) {
    const svcName = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (svcName === undefined || svcName === '') continue;
    push(slicesByService, key(slice.metadata.namespace, svcName), slice);
  }
  for (const list of slicesByService.values()) list.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));

  const duplicates: DuplicateIp[] = [];
  for (const [ip, list] of owners) {
    const primary = list.filter(isPrimary);
    if (primary.length > 1) duplicates.push({ ip, owners: primary });
  }

  const nodeCidrs: { readonly prefix: Prefix; readonly node: Node }[] = [];
  for (const node of nodes.values()) for (const cidr of nodePodCidrs(node)) nodeCidrs.push({ prefix: parsePrefix(cidr), node });

  const servicePodsCache = new WeakMap<Service, readonly Pod[]>();
  let byLabel: Map<string, Pod[]> | undefined;
  /** Non-terminal pods by `namespace NUL key NUL value`, built on first use. */
  const podsWithLabel = (namespace: string, k: string, v: string): readonly Pod[] => {
    if (byLabel === undefined) {
      byLabel = new Map();
      for (const pod of pods.values()) {
        if (isPodTerminal(pod)) continue;
        const labels = pod.metadata.labels ?? {};
        for (const lk of Object.keys(labels)) push(byLabel, `${pod.metadata.namespace ?? ''}\0${lk}\0${labels[lk]}`, pod);
      }
    }
    return byLabel.get(`${namespace}\0${k}\0${v}`) ?? [];
  };

  const index: ClusterIndex = {
    objects,
    duplicates,
    ownersOf(ip) {
      const c = canonicalIp(ip);
      if (c === undefined) return [];
      return owners.get(c) ?? [];
    },
    pod: (namespace, name) => pods.get(key(namespace, name)),
    service: (namespace, name) => services.get(key(namespace, name)),
    node: (name) => nodes.get(name),
    namespace: (name) => namespaces.get(name),
    namespaceNames() {
      const names = new Set<string>([...namespaces.keys(), ...podsByNs.keys(), ...servicesByNs.keys()]);
      names.delete('');
      return [...names].sort();
    },
    podsOnNode: (nodeName) => podsByNode.get(nodeName) ?? [],
    podsInNamespace: (namespace) => podsByNs.get(namespace) ?? [],
    servicesInNamespace: (namespace) => servicesByNs.get(namespace) ?? [],
    nodeInternalIP(nodeName) {
      const node = nodes.get(nodeName);
      return node === undefined ? {} : nodeInternalIps(node);
    },
    nodeForIp(ip) {
      const c = canonicalIp(ip);
      if (c === undefined) return undefined;
      const list = owners.get(c) ?? [];
      for (const o of list) if (o.kind === 'node') return o.node;
      for (const o of list) {
        if (o.kind !== 'pod') continue;
        const nodeName = o.pod.spec?.nodeName;
        const node = nodeName !== undefined ? nodes.get(nodeName) : undefined;
        if (node !== undefined) return node;
      }
      return nodeCidrs.find((n) => prefixContains(n.prefix, c))?.node;
    },
    serviceSlices: (service) => slicesByService.get(key(service.metadata.namespace, service.metadata.name)) ?? [],
    serviceEndpoints(service, port, protocol) {
      const servicePort = typeof port === 'object' ? port : lookupServicePort(service, port, protocol);
      if (servicePort === undefined) return undefined;
      const slices = index.serviceSlices(service);
      return { servicePort, haveSlices: slices.length > 0, backends: sliceBackends(slices, servicePort, pods) };
    },
    servicePods(service) {
      let cached = servicePodsCache.get(service);
      if (cached === undefined) {
        const selector = service.spec?.selector ?? {};
        let smallest: readonly Pod[] | undefined;
        for (const k of Object.keys(selector)) {
          const list = podsWithLabel(service.metadata.namespace ?? '', k, selector[k] as string);
          if (smallest === undefined || list.length < smallest.length) smallest = list;
        }
        cached = (smallest ?? []).filter((p) => matchesServiceSelector(p.metadata.labels, selector));
        servicePodsCache.set(service, cached);
      }
      return cached;
    },
    podIpInNodeCidr(pod) {
      if (pod.spec?.hostNetwork === true) return undefined;
      const nodeName = pod.spec?.nodeName;
      const node = nodeName !== undefined ? nodes.get(nodeName) : undefined;
      if (node === undefined) return undefined;
      const results = podIps(pod).map((ip) => podIpInNodeCidr(ip, node));
      if (results.every((r) => r === undefined)) return undefined;
      return !results.includes(false);
    },
    ipPoolForIp: (ip) => ipPoolForIp(ip, objects.ipPools),
  };
  return index;
}

/**
 * The backends EndpointSlices give one Service port, as kube-proxy reads them
 * (`pkg/proxy/endpointslicecache.go`): the slice port whose name and protocol equal the Service
 * port's; the first address of each endpoint; `ready`/`serving` unknown (null) read as true,
 * `terminating` unknown as false; FQDN slices ignored; an endpoint listed by two slices counted once.
 */
function sliceBackends(slices: readonly EndpointSlice[], servicePort: ServicePort, pods: ReadonlyMap<string, Pod>): Backend[] {
  const name = servicePort.name ?? '';
  const proto = servicePortProtocol(servicePort);
  const out: Backend[] = [];
  const seen = new Set<string>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const slicePort = (slice.ports ?? []).find((p) => (p.name ?? '') === name && (p.protocol ?? 'TCP') === proto && typeof p.port === 'number');
    if (slicePort?.port === undefined) continue;
    for (const ep of slice.endpoints ?? []) {
      const ip = canonicalIp(ep.addresses?.[0]);
      if (ip === undefined) continue;
      const dedup = `${ip}|${slicePort.port}`;
      if (seen.has(dedup)) continue;
      seen.add(dedup);
      const ref = ep.targetRef;
      const pod =
        ref !== undefined && ref !== null && ref.kind === 'Pod' && ref.name !== undefined
          ? pods.get(key(ref.namespace ?? slice.metadata.namespace, ref.name))
          : undefined;
      out.push({
        ip,
        port: slicePort.port,
        ready: ep.conditions?.ready !== false,
        serving: ep.conditions?.serving !== false,
        terminating: ep.conditions?.terminating === true,
        ...(typeof ep.nodeName === 'string' ? { nodeName: ep.nodeName } : {}),
        ...(pod !== undefined ? { pod } : {}),
        slice: slice.metadata.name,
      });
    }
  }
  return out;
}
