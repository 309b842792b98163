import { kubeProxyServices, type GeneratedService, type KubeProxyShape } from './gen-kube-proxy.js';
import { hex, ipv4, k8sSuffix, mac } from './cluster-util.js';

/** The size and shape of a generated cluster. */
export interface ClusterShape {
  readonly nodes: number;
  /** App pods; the first `services × endpoints` back one Service each, the rest back none. */
  readonly pods: number;
  readonly services: number;
  readonly endpoints: number;
  /** flannel's backend. */
  readonly backend: 'vxlan' | 'host-gw';
  /** Index of the Service the diagnosis is aimed at (a TCP one). */
  readonly target: number;
  /** Pod namespaces captured: only the source and the target's backends, or every pod of the captured nodes. */
  readonly podNetstack: 'involved' | 'node';
}

/** One node of the layout. */
export interface NodeInfo {
  readonly index: number;
  readonly name: string;
  readonly ip: string;
  /** Network address of its pod CIDR (`10.244.3.0`); also the flannel.1 address (vxlan). */
  readonly podNet: string;
  readonly podCidr: string;
  /** cni0's address, the pods' gateway. */
  readonly gateway: string;
  readonly ethMac: string;
  readonly vtepMac: string;
  readonly cniMac: string;
  /** Pods scheduled here, in slot order. */
  readonly pods: PodInfo[];
}

/** One app pod of the layout. */
export interface PodInfo {
  readonly index: number;
  readonly namespace: string;
  readonly name: string;
  readonly app: string;
  readonly rsHash: string;
  readonly node: number;
  /** Position among the node's pods: its IP is `.slot+2`, its host veth's ifindex follows from it. */
  readonly slot: number;
  readonly ip: string;
  /** The Service it backs, if any. */
  readonly service: number | undefined;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
  readonly portName: string;
  readonly mac: string;
  readonly hostVeth: string;
  readonly hostVethMac: string;
}

/** One Service of the layout: kube-proxy's generated service plus the pods behind it. */
export interface ServiceInfo {
  readonly index: number;
  readonly namespace: string;
  readonly name: string;
  readonly portName: string;
  readonly gen: GeneratedService;
  /** The endpoint port (container port) of its pods. */
  readonly targetPort: number;
  readonly pods: readonly PodInfo[];
}

/** Everything the objects and netstack generators share: who is where, with which address. */
export interface Layout {
  readonly shape: ClusterShape;
  readonly clusterCidr: string;
  readonly serviceCidr: string;
  readonly nodes: readonly NodeInfo[];
  readonly pods: readonly PodInfo[];
  readonly services: readonly ServiceInfo[];
  readonly kubeProxyShape: KubeProxyShape;
  /** The client pod, on the node of the target's first backend. */
  readonly source: PodInfo;
  readonly target: ServiceInfo;
  /** Nodes whose netstack is captured: the source's, then the other backends', without repeats. */
  readonly captured: readonly NodeInfo[];
}

/** Every `NODE_PORT_EVERY`-th Service is a NodePort (kube-proxy generator's `nodePortEvery`). */
const NODE_PORT_EVERY = 20;

/** Node `n`'s underlay address: 192.168.1.1 … 192.168.4.250 for 1,000 nodes. */
function nodeIp(n: number): string {
  return `192.168.${1 + Math.floor(n / 250)}.${1 + (n % 250)}`;
}

/** Node `n`'s pod CIDR network address: `10.(244 + n/256).(n%256).0` inside 10.244.0.0/14. */
function podNet(n: number): number {
  return ((10 << 24) | ((244 + (n >> 8)) << 16) | ((n & 255) << 8)) >>> 0;
}

/**
 * Lays out a cluster: nodes `node-0000…` on 192.168.0.0/16, one /24 pod CIDR each from
 * 10.244.0.0/14, pod `p` on node `p % nodes`, Service `i` backed by pods `i·E … i·E+E-1` (so its
 * backends sit on consecutive nodes), kube-proxy's generated Services as the Service objects.
 */
export function layoutCluster(shape: ClusterShape): Layout {
  if (shape.nodes > 1024) throw new Error('at most 1024 nodes fit 10.244.0.0/14 with a /24 each');
  if (shape.pods < shape.services * shape.endpoints)
    throw new Error(
      `need at least ${shape.services * shape.endpoints} pods for ${shape.services} services × ${shape.endpoints} endpoints`,
    );
  if (Math.ceil(shape.pods / shape.nodes) > 250) throw new Error('at most 250 pods per node fit a /24');
  const kubeProxyShape: KubeProxyShape = {
    services: shape.services,
    endpoints: shape.endpoints,
    nodePortEvery: NODE_PORT_EVERY,
    noEndpointsEvery: 0,
  };
  const gen = kubeProxyServices(kubeProxyShape);
  const nodes: NodeInfo[] = [];
  for (let n = 0; n < shape.nodes; n++) {
    const name = `node-${String(n).padStart(4, '0')}`;
    const net = podNet(n);
    nodes.push({
      index: n,
      name,
      ip: nodeIp(n),
      podNet: ipv4(net),
      podCidr: `${ipv4(net)}/24`,
      gateway: ipv4(net + 1),
      ethMac: mac(`${name}/eth0`),
      vtepMac: mac(`${name}/flannel.1`),
      cniMac: mac(`${name}/cni0`),
      pods: [],
    });
  }
  const pods: PodInfo[] = [];
  for (let p = 0; p < shape.pods; p++) {
    const n = p % shape.nodes;
    const slot = Math.floor(p / shape.nodes);
    const node = nodes[n] as NodeInfo;
    const service = p < shape.services * shape.endpoints ? Math.floor(p / shape.endpoints) : undefined;
    const s = service === undefined ? undefined : gen[service];
    const app = service === undefined ? `idle-${Math.floor(p / 10)}` : `svc-${service}`;
    const namespace = `ns${(service ?? Math.floor(p / 10)) % 97}`;
    const rsHash = k8sSuffix(`rs:${app}`, 10);
    const name = `${app}-${rsHash}-${k8sSuffix(`pod:${p}`, 5)}`;
    const port = s === undefined ? 8080 : Number(s.endpoints[p % shape.endpoints]?.split(':')[1] ?? 8080);
    const protocol = s?.protocol ?? 'tcp';
    const info: PodInfo = {
      index: p,
      namespace,
      name,
      app,
      rsHash,
      node: n,
      slot,
      ip: ipv4(podNet(n) + 2 + slot),
      service,
      port,
      protocol,
      portName: protocol === 'udp' ? 'dns' : 'http',
      mac: mac(`${namespace}/${name}/eth0`),
      hostVeth: `veth${hex(`veth:${namespace}/${name}`, 8)}`,
      hostVethMac: mac(`${namespace}/${name}/host`),
    };
    pods.push(info);
    node.pods.push(info);
  }
  const services: ServiceInfo[] = gen.map((g, i) => {
    const m = /^([^/]+)\/([^:]+):(.+)$/.exec(g.name);
    if (m === null) throw new Error(`unexpected generated service name ${g.name}`);
    const backing = pods.slice(i * shape.endpoints, (i + 1) * shape.endpoints);
    return {
      index: i,
      namespace: m[1] as string,
      name: m[2] as string,
      portName: m[3] as string,
      gen: g,
      targetPort: backing[0]?.port ?? 8080,
      pods: backing,
    };
  });
  const target = services[shape.target];
  if (target === undefined) throw new Error(`no service ${shape.target}`);
  if (target.gen.protocol !== 'tcp')
    throw new Error(`service ${shape.target} is ${target.gen.protocol}; pick a TCP one (index % 10 !== 9)`);
  const first = target.pods[0];
  if (first === undefined) throw new Error(`service ${shape.target} has no endpoints`);
  // The client: another pod on the node of the target's first backend, so that one backend is
  // reached across the bridge and the others across nodes.
  const sourceNode = nodes[first.node] as NodeInfo;
  const source = sourceNode.pods.find((p) => p.service !== shape.target);
  if (source === undefined)
    throw new Error(`node ${sourceNode.name} has no pod besides the target's backend`);
  const captured: NodeInfo[] = [sourceNode];
  for (const p of target.pods) {
    const n = nodes[p.node] as NodeInfo;
    if (!captured.includes(n)) captured.push(n);
  }
  return {
    shape,
    clusterCidr: '10.244.0.0/14',
    serviceCidr: '10.96.0.0/12',
    nodes,
    pods,
    services,
    kubeProxyShape,
    source,
    target,
    captured,
  };
}
