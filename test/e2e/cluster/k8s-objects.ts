import { createHash } from 'node:crypto';
import type {
  ConfigMap,
  Container,
  ContainerPort,
  DaemonSet,
  EndpointSlice,
  IPPool,
  KubeProtocol,
  Namespace,
  Node,
  Pod,
  Service,
  ServicePort,
  SliceEndpoint,
} from '../../../src/k8s/objects.js';

/**
 * Builders of Kubernetes API objects shaped as `kubectl get -o json` serves them (the fields the API
 * server fills in: uid, creationTimestamp, defaulted protocols, conditions with their times), for the
 * clusters the e2e bench builds out of network namespaces.
 */

/** The creation time of every object the bench builds (objects are not time-dependent). */
const CREATED = '2026-11-20T08:00:00Z';

/** A stable UUID-shaped id for `kind/namespace/name`, so that snapshots of one topology are identical. */
export function uidOf(kind: string, namespace: string, name: string): string {
  const h = createHash('sha256').update(`${kind}/${namespace}/${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A node as the bench builds it. */
export interface NodeObjectOptions {
  readonly name: string;
  readonly internalIP: string;
  /** Absent with Calico IPAM (no per-node CIDR from the controller manager). */
  readonly podCIDR?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly controlPlane?: boolean;
}

/** A `v1/Node` that is Ready. */
export function nodeObject(o: NodeObjectOptions): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: o.name,
      uid: uidOf('Node', '', o.name),
      creationTimestamp: CREATED,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': o.name,
        'kubernetes.io/os': 'linux',
        ...(o.controlPlane === true ? { 'node-role.kubernetes.io/control-plane': '' } : {}),
      },
      annotations: {
        'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///var/run/containerd/containerd.sock',
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
        ...o.annotations,
      },
    },
    spec: o.podCIDR !== undefined ? { podCIDR: o.podCIDR, podCIDRs: [o.podCIDR] } : {},
    status: {
      addresses: [
        { type: 'InternalIP', address: o.internalIP },
        { type: 'Hostname', address: o.name },
      ],
      conditions: [
        {
          type: 'MemoryPressure',
          status: 'False',
          reason: 'KubeletHasSufficientMemory',
          lastTransitionTime: CREATED,
        },
        {
          type: 'DiskPressure',
          status: 'False',
          reason: 'KubeletHasNoDiskPressure',
          lastTransitionTime: CREATED,
        },
        {
          type: 'PIDPressure',
          status: 'False',
          reason: 'KubeletHasSufficientPID',
          lastTransitionTime: CREATED,
        },
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'kubelet is posting ready status',
          lastTransitionTime: CREATED,
        },
      ],
      nodeInfo: {
        kubeletVersion: 'v1.31.2',
        kubeProxyVersion: 'v1.31.2',
        containerRuntimeVersion: 'containerd://1.7.22',
        osImage: 'Ubuntu 24.04.1 LTS',
        kernelVersion: '6.8.0-48-generic',
      },
    },
  };
}

/** A `v1/Namespace`, Active. */
export function namespaceObject(name: string): Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      uid: uidOf('Namespace', '', name),
      creationTimestamp: CREATED,
      labels: { 'kubernetes.io/metadata.name': name },
    },
  };
}

/** A container port of a pod the bench builds. */
export interface PortSpec {
  readonly name?: string;
  readonly port: number;
  /** TCP by default. */
  readonly protocol?: KubeProtocol;
}

/** A pod as the bench builds it. */
export interface PodObjectOptions {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName: string;
  readonly ip: string;
  readonly hostIP: string;
  readonly hostNetwork?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  readonly ports?: readonly PortSpec[];
  readonly image?: string;
  readonly owner?: { readonly kind: string; readonly name: string };
}

/** A running, Ready `v1/Pod`. */
export function podObject(o: PodObjectOptions): Pod {
  const ports: ContainerPort[] = (o.ports ?? []).map((p) => ({
    ...(p.name !== undefined ? { name: p.name } : {}),
    containerPort: p.port,
    protocol: p.protocol ?? 'TCP',
  }));
  const container: Container = {
    name: 'app',
    image: o.image ?? 'registry.k8s.io/e2e-test-images/agnhost:2.52',
    ...(ports.length > 0 ? { ports } : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      uid: uidOf('Pod', o.namespace, o.name),
      creationTimestamp: CREATED,
      ...(o.labels !== undefined ? { labels: o.labels } : {}),
      ...(o.owner !== undefined
        ? {
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: o.owner.kind,
                name: o.owner.name,
                uid: uidOf(o.owner.kind, o.namespace, o.owner.name),
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      nodeName: o.nodeName,
      ...(o.hostNetwork === true ? { hostNetwork: true } : {}),
      containers: [container],
      restartPolicy: 'Always',
    },
    status: {
      phase: 'Running',
      podIP: o.ip,
      podIPs: [{ ip: o.ip }],
      hostIP: o.hostIP,
      hostIPs: [{ ip: o.hostIP }],
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: CREATED },
        { type: 'Initialized', status: 'True', lastTransitionTime: CREATED },
        { type: 'Ready', status: 'True', lastTransitionTime: CREATED },
        { type: 'ContainersReady', status: 'True', lastTransitionTime: CREATED },
        { type: 'PodScheduled', status: 'True', lastTransitionTime: CREATED },
      ],
      containerStatuses: [{ name: 'app', ready: true, restartCount: 0, started: true }],
    },
  };
}

/** A Service port as the bench declares it. */
export interface ServicePortSpec {
  readonly name?: string;
  readonly port: number;
  /** A number or a container port name; `port` by default. */
  readonly targetPort?: number | string;
  /** TCP by default. */
  readonly protocol?: KubeProtocol;
  /** NodePort Services only. */
  readonly nodePort?: number;
}

/** A Service as the bench declares it. */
export interface ServiceObjectOptions {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIP: string;
  readonly type?: 'ClusterIP' | 'NodePort';
  readonly selector?: Readonly<Record<string, string>>;
  readonly ports: readonly ServicePortSpec[];
}

/** A `v1/Service` with the defaults the API server fills in. */
export function serviceObject(o: ServiceObjectOptions): Service {
  const ports: ServicePort[] = o.ports.map((p) => ({
    ...(p.name !== undefined ? { name: p.name } : {}),
    port: p.port,
    targetPort: p.targetPort ?? p.port,
    protocol: p.protocol ?? 'TCP',
    ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
  }));
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      uid: uidOf('Service', o.namespace, o.name),
      creationTimestamp: CREATED,
    },
    spec: {
      type: o.type ?? 'ClusterIP',
      clusterIP: o.clusterIP,
      clusterIPs: [o.clusterIP],
      ipFamilies: ['IPv4'],
      ports,
      ...(o.selector !== undefined ? { selector: o.selector } : {}),
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ...(o.type === 'NodePort' ? { externalTrafficPolicy: 'Cluster' as const } : {}),
    },
    status: { loadBalancer: {} },
  };
}

/** Whether every label of `selector` is on `labels` (a Service's equality-based selector). */
export function selects(
  selector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** The container port a Service port's targetPort names, for one pod; undefined when the pod lacks it. */
export function resolveTargetPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? [])
      if (p.name === target && (p.protocol ?? 'TCP') === (sp.protocol ?? 'TCP')) return p.containerPort;
  }
  return undefined;
}

/**
 * The EndpointSlice the EndpointSlice controller writes for a Service: one per Service (the bench's
 * Services are small), with every selected Running pod as a ready endpoint, and `endpoints: null`
 * when there are none (how the API serialises an empty list).
 */
export function endpointSliceFor(svc: Service, pods: readonly Pod[]): EndpointSlice {
  const ns = svc.metadata.namespace ?? 'default';
  const selected = pods.filter(
    (p) => p.metadata.namespace === ns && selects(svc.spec?.selector, p.metadata.labels),
  );
  const first = svc.spec?.ports?.[0];
  const endpoints: SliceEndpoint[] = selected
    .filter((p) => first === undefined || resolveTargetPort(p, first) !== undefined)
    .map((p) => ({
      addresses: [p.status?.podIP ?? ''],
      conditions: { ready: true, serving: true, terminating: false },
      ...(p.spec?.nodeName !== undefined ? { nodeName: p.spec.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid ?? '' },
    }));
  const port = (sp: ServicePort): number | undefined => {
    const pod = selected[0];
    if (pod !== undefined) return resolveTargetPort(pod, sp);
    return typeof sp.targetPort === 'number' ? sp.targetPort : undefined;
  };
  const name = `${svc.metadata.name}-${createHash('sha256').update(`${ns}/${svc.metadata.name}`).digest('hex').slice(0, 5)}`;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      namespace: ns,
      uid: uidOf('EndpointSlice', ns, name),
      creationTimestamp: CREATED,
      labels: {
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        'kubernetes.io/service-name': svc.metadata.name,
      },
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          name: svc.metadata.name,
          uid: svc.metadata.uid ?? '',
          controller: true,
        },
      ],
    },
    addressType: 'IPv4',
    endpoints: endpoints.length > 0 ? endpoints : null,
    ports: (svc.spec?.ports ?? []).map((sp) => {
      const p = port(sp);
      return { name: sp.name ?? '', protocol: sp.protocol ?? 'TCP', ...(p !== undefined ? { port: p } : {}) };
    }),
  };
}

/** A DaemonSet running `image`, scheduled on `nodes` nodes. */
export function daemonSetObject(namespace: string, name: string, image: string, nodes: number): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {
      name,
      namespace,
      uid: uidOf('DaemonSet', namespace, name),
      creationTimestamp: CREATED,
      labels: { 'k8s-app': name },
    },
    spec: {
      selector: { matchLabels: { 'k8s-app': name } },
      template: {
        metadata: { labels: { 'k8s-app': name } },
        spec: { hostNetwork: true, containers: [{ name, image }] },
      },
    },
    status: { desiredNumberScheduled: nodes, numberReady: nodes },
  };
}

/** A `v1/ConfigMap`. */
export function configMapObject(
  namespace: string,
  name: string,
  data: Readonly<Record<string, string>>,
): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, uid: uidOf('ConfigMap', namespace, name), creationTimestamp: CREATED },
    data,
  };
}

/** kubeadm's `kube-system/kube-proxy` ConfigMap with a KubeProxyConfiguration in `config.conf`. */
export function kubeProxyConfigMap(mode: 'iptables' | 'ipvs' | 'nftables', clusterCIDR: string): ConfigMap {
  const conf = [
    'apiVersion: kubeproxy.config.k8s.io/v1alpha1',
    'bindAddress: 0.0.0.0',
    'clientConnection:',
    '  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf',
    `clusterCIDR: ${clusterCIDR}`,
    'conntrack:',
    '  maxPerCore: null',
    'iptables:',
    '  masqueradeAll: false',
    '  masqueradeBit: null',
    '  minSyncPeriod: 0s',
    '  syncPeriod: 0s',
    'ipvs:',
    '  scheduler: ""',
    '  strictARP: false',
    'kind: KubeProxyConfiguration',
    `mode: ${mode}`,
    'nodePortAddresses: null',
    '',
  ].join('\n');
  return configMapObject('kube-system', 'kube-proxy', {
    'config.conf': conf,
    'kubeconfig.conf': 'apiVersion: v1\nkind: Config\n',
  });
}

/** A Calico `IPPool` (crd.projectcalico.org/v1, as `kubectl get ippools.crd.projectcalico.org -o json` serves it). */
export function ipPoolObject(
  name: string,
  cidr: string,
  mode: { ipip: 'Always' | 'CrossSubnet' | 'Never'; vxlan: 'Always' | 'CrossSubnet' | 'Never' },
): IPPool {
  return {
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'IPPool',
    metadata: { name, uid: uidOf('IPPool', '', name), creationTimestamp: CREATED },
    spec: {
      cidr,
      ipipMode: mode.ipip,
      vxlanMode: mode.vxlan,
      natOutgoing: true,
      blockSize: 26,
      nodeSelector: 'all()',
    },
  };
}
