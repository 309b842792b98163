import { createHash } from 'node:crypto';
import type { ClusterObjects, EndpointSlice, IPPool, Pod, Service } from '../../../src/k8s/objects.js';
import { completeObjects } from '../../../src/k8s/objects.js';
import type { Dump } from '../../../src/netstack/dump.js';
import type { NodeNetstack, Snapshot } from '../../../src/source/snapshot.js';
import { createLab, ExecError } from '../lib/lab.js';
import type { Attempt, ConnectOptions, Lab } from '../lib/lab.js';
import { calicoIpsets, calicoRules, flannelRules, kindnetRules, renderNodeRules } from './cni-rules.js';
import {
  configMapObject,
  daemonSetObject,
  endpointSliceFor,
  ipPoolObject,
  kubeProxyConfigMap,
  namespaceObject,
  nodeObject,
  podObject,
  serviceObject,
  uidOf,
} from './k8s-objects.js';
import type { PortSpec, ServiceObjectOptions } from './k8s-objects.js';
import { kubeProxyRules } from './kube-proxy-rules.js';
import type { NodeRules } from './kube-proxy-rules.js';

/** The CNI data plane a cluster is built with. */
export type CniSpec =
  | { readonly plugin: 'flannel'; readonly backend: 'vxlan' | 'host-gw' }
  | { readonly plugin: 'calico'; readonly encap: 'bgp' | 'vxlan' }
  | { readonly plugin: 'kindnet' };

/** A pod to create. */
export interface PodSpec {
  /** `default` unless given. */
  readonly namespace?: string;
  readonly name: string;
  /** The node it runs on, 1-based (`node-1`…). */
  readonly node: number;
  readonly labels?: Readonly<Record<string, string>>;
  /** Container ports; a real server listens on each unless `listen` is false. */
  readonly ports?: readonly PortSpec[];
  readonly listen?: boolean;
  /** The controller that owns it (`ReplicaSet` `cart-7d9f8b6c5`), for realistic objects. */
  readonly owner?: { readonly kind: string; readonly name: string };
}

/** A Service to create; its EndpointSlice lists the Running pods its selector matches. */
export type ServiceSpec = Omit<ServiceObjectOptions, 'namespace'> & { readonly namespace?: string };

/** What to build. */
export interface ClusterSpec {
  /** The lab's name (for messages). */
  readonly name: string;
  readonly cni: CniSpec;
  /** How many nodes (`node-1`…`node-N`, 192.168.50.11…). */
  readonly nodes: number;
  readonly pods: readonly PodSpec[];
  readonly services?: readonly ServiceSpec[];
  /** TCP ports a server listens on in every node's host namespace (like the kubelet's 10250). */
  readonly nodePorts?: readonly number[];
  /** A second underlay (192.168.60.0/24 on each node's `eth1`, through switch `sw2`). */
  readonly secondUnderlay?: boolean;
}

/** A node of a built cluster. */
export interface ClusterNode {
  readonly index: number;
  readonly name: string;
  /** The lab host (namespace) of its host network namespace. */
  readonly host: string;
  readonly ip: string;
  /** The node's address on the second underlay, when there is one. */
  readonly ip2?: string;
  /** flannel / kindnet: the node's pod CIDR; calico: its IPAM block. */
  readonly podCIDR: string;
  /** The pods' gateway on this node (flannel: cni0's address; kindnet: the host veths' address). */
  readonly gateway: string;
  /** The VXLAN device's MAC (flannel vxlan, calico vxlan). */
  readonly vtepMac?: string;
  /** The VXLAN device's address (flannel: the pod CIDR's network address; calico: the tunnel address). */
  readonly vtepIp?: string;
}

/** A pod of a built cluster. */
export interface ClusterPod {
  readonly namespace: string;
  readonly name: string;
  /** `namespace/name`, the key of its Dump in the snapshot. */
  readonly id: string;
  readonly host: string;
  readonly node: ClusterNode;
  readonly ip: string;
  /** The node-side end of its veth. */
  readonly hostVeth: string;
  readonly ports: readonly PortSpec[];
}

/** The underlay's gateway to the outside world (the `inet` host). */
export const INTERNET_GATEWAY = '192.168.50.1';
/** An address outside the cluster, on the `inet` host, with a TCP server on port 80. */
export const EXTERNAL_IP = '203.0.113.10';
/** The Service CIDR of every bench cluster. */
export const SERVICE_CIDR = '10.96.0.0/12';
/** flannel's and kindnet's cluster CIDR. */
export const FLANNEL_NETWORK = '10.244.0.0/16';
/** Calico's IP pool. */
export const CALICO_POOL = '10.10.0.0/16';

const hex = (text: string): string => createHash('sha1').update(text).digest('hex');

/**
 * A Kubernetes cluster's data plane built in network namespaces (nodes joined by a switch, pods
 * wired the way the CNI does it, kube-proxy's rules from the Services) and the API objects that
 * describe it; {@link Cluster.snapshot} captures it with the real collector.
 */
export class Cluster {
  readonly nodes: readonly ClusterNode[];
  readonly pods: readonly ClusterPod[];
  readonly objects: ClusterObjects;

  constructor(
    readonly lab: Lab,
    readonly spec: ClusterSpec,
    nodes: readonly ClusterNode[],
    pods: readonly ClusterPod[],
    objects: ClusterObjects,
  ) {
    this.nodes = nodes;
    this.pods = pods;
    this.objects = objects;
  }

  /** The node named `name` (`node-1`) or with 1-based index `name`. */
  node(name: string | number): ClusterNode {
    const n = this.nodes.find((x) => x.name === name || x.index === name);
    if (n === undefined) throw new Error(`no node ${name} in cluster ${this.spec.name}`);
    return n;
  }

  /** The pod `namespace/name` (or `name` in `default`). */
  pod(id: string): ClusterPod {
    const full = id.includes('/') ? id : `default/${id}`;
    const p = this.pods.find((x) => x.id === full);
    if (p === undefined) throw new Error(`no pod ${id} in cluster ${this.spec.name}`);
    return p;
  }

  /** The lab host of a node name or pod id, or a lab host name itself (`inet`). */
  hostOf(target: string): string {
    if (this.nodes.some((n) => n.name === target)) return this.node(target).host;
    if (target.includes('/') || this.pods.some((p) => p.id === `default/${target}`))
      return this.pod(target).host;
    return target;
  }

  /** Runs a `sh -e` script in a node's host namespace or a pod's namespace. */
  exec(target: string, script: string): string {
    return this.lab.exec(this.hostOf(target), script);
  }

  /** Real connection attempts from a node or pod (the kernel's truth). */
  connect(from: string, opts: ConnectOptions): Promise<Attempt[]> {
    return this.lab.connect(this.hostOf(from), opts);
  }

  /**
   * Whether one ICMP echo of `size` payload bytes with the don't-fragment bit set gets its reply
   * (`ping -M do -s SIZE`): what a full-size packet does where the TCP probes' small ones pass.
   */
  async pingFits(from: string, dst: string, size: number): Promise<boolean> {
    try {
      await this.lab.execAsync(this.hostOf(from), [
        'ping',
        '-n',
        '-c1',
        '-W1',
        '-M',
        'do',
        '-s',
        String(size),
        dst,
      ]);
      return true;
    } catch (e) {
      if (e instanceof ExecError) return false;
      throw e;
    }
  }

  /**
   * Captures every node's host namespace and every pod's namespace with the collector, and
   * assembles the snapshot (CONTRACTS.md §2) with the cluster's API objects.
   */
  async snapshot(): Promise<Snapshot> {
    const nodeDumps = await Promise.all(this.nodes.map((n) => this.lab.capture(n.host)));
    const podDumps = await Promise.all(this.pods.map((p) => this.lab.capture(p.host)));
    const netstack: Record<string, { host: Dump; pods: Record<string, Dump> }> = {};
    this.nodes.forEach((n, i) => {
      netstack[n.name] = { host: nodeDumps[i] as Dump, pods: {} };
    });
    this.pods.forEach((p, i) => {
      const entry = netstack[p.node.name];
      if (entry !== undefined) entry.pods[p.id] = podDumps[i] as Dump;
    });
    return {
      apiVersion: 'skoop/v1',
      kind: 'Snapshot',
      capturedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      objects: this.objects,
      netstack: netstack as Record<string, NodeNetstack>,
    };
  }

  /** Kills every process and deletes every namespace of the cluster. */
  destroy(): void {
    this.lab.destroy();
  }
}

function nodeIp(i: number): string {
  return `192.168.50.${10 + i}`;
}

function podCidrOf(cni: CniSpec, i: number): string {
  return cni.plugin === 'calico' ? `10.10.${i}.0/26` : `10.244.${i}.0/24`;
}

function clusterCidrOf(cni: CniSpec): string {
  return cni.plugin === 'calico' ? CALICO_POOL : FLANNEL_NETWORK;
}

/** The host-side veth name each CNI gives a pod. */
function hostVethName(cni: CniSpec, namespace: string, name: string): string {
  // calico: "cali" + the first 11 hex digits of sha1("<namespace>.<pod>") (felix/cni-plugin naming);
  // flannel (the bridge plugin) and kindnet (ptp) use "veth" + 8 random hex digits: here from the pod's name.
  return cni.plugin === 'calico'
    ? `cali${hex(`${namespace}.${name}`).slice(0, 11)}`
    : `veth${hex(`${namespace}/${name}`).slice(0, 8)}`;
}

/** A five-character pod-name suffix, like a ReplicaSet's or DaemonSet's, derived from `seed`. */
function suffix(seed: string): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const h = createHash('sha256').update(seed).digest();
  return Array.from(h.subarray(0, 5), (b) => alphabet[b % alphabet.length]).join('');
}

function podMtu(cni: CniSpec): number {
  if (cni.plugin === 'flannel') return cni.backend === 'vxlan' ? 1450 : 1500;
  if (cni.plugin === 'calico') return cni.encap === 'vxlan' ? 1450 : 1500;
  return 1500;
}

function macOf(lab: Lab, host: string, dev: string): string {
  const links = JSON.parse(lab.exec(host, ['ip', '-j', 'link', 'show', 'dev', dev])) as { address: string }[];
  const mac = links[0]?.address;
  if (mac === undefined) throw new Error(`no MAC on ${host}/${dev}`);
  return mac;
}

/**
 * Builds `spec` in fresh namespaces: the underlay (switch `sw`, the `inet` gateway with an external
 * server), each node's CNI devices and routes, the pods, kube-proxy's and the CNI's iptables rules,
 * and the listening servers; returns the cluster with its API objects. On failure everything built
 * so far is destroyed.
 */
export async function buildCluster(spec: ClusterSpec): Promise<Cluster> {
  const lab = createLab(spec.name);
  try {
    return await build(lab, spec);
  } catch (e) {
    lab.destroy();
    throw e;
  }
}

async function build(lab: Lab, spec: ClusterSpec): Promise<Cluster> {
  const cni = spec.cni;
  const mtu = podMtu(cni);
  lab.host('sw');
  lab.host('inet');
  lab.bridge('sw', 'br0');
  if (spec.secondUnderlay === true) {
    lab.host('sw2');
    lab.bridge('sw2', 'br0');
  }
  lab.veth('inet', 'eth0', 'sw', 'vinet');
  lab.exec('sw', 'ip link set vinet master br0');
  lab.exec('inet', `ip addr add ${INTERNET_GATEWAY}/24 dev eth0\nip addr add ${EXTERNAL_IP}/32 dev lo`);

  const nodes: ClusterNode[] = [];
  for (let i = 1; i <= spec.nodes; i++) {
    const host = `n${i}`;
    lab.host(host);
    lab.veth(host, 'eth0', 'sw', `vn${i}`);
    lab.exec('sw', `ip link set vn${i} master br0`);
    const ip = nodeIp(i);
    const ip2 = spec.secondUnderlay === true ? `192.168.60.${10 + i}` : undefined;
    if (ip2 !== undefined) {
      lab.veth(host, 'eth1', 'sw2', `wn${i}`);
      lab.exec('sw2', `ip link set wn${i} master br0`);
    }
    lab.exec(
      host,
      [
        `ip addr add ${ip}/24 dev eth0`,
        ...(ip2 !== undefined ? [`ip addr add ${ip2}/24 dev eth1`] : []),
        `ip route add default via ${INTERNET_GATEWAY} dev eth0`,
        'sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1',
      ].join('\n'),
    );
    const podCIDR = podCidrOf(cni, i);
    const base = podCIDR.split('/')[0] as string;
    const gateway = base.replace(/\.0$/, '.1');
    nodes.push({
      index: i,
      name: `node-${i}`,
      host,
      ip,
      ...(ip2 !== undefined ? { ip2 } : {}),
      podCIDR,
      gateway,
    });
  }

  setupNodeDataPlanes(lab, cni, nodes);
  const withVteps = nodes.map((n) => {
    if (cni.plugin === 'flannel' && cni.backend === 'vxlan')
      return { ...n, vtepMac: macOf(lab, n.host, 'flannel.1'), vtepIp: n.podCIDR.split('/')[0] as string };
    if (cni.plugin === 'calico' && cni.encap === 'vxlan')
      return { ...n, vtepMac: macOf(lab, n.host, 'vxlan.calico'), vtepIp: n.podCIDR.split('/')[0] as string };
    return n;
  });
  setupPeerRoutes(lab, cni, withVteps);

  const pods: ClusterPod[] = [];
  const perNode = new Map<number, number>();
  spec.pods.forEach((ps, k) => {
    const node = withVteps.find((n) => n.index === ps.node);
    if (node === undefined) throw new Error(`pod ${ps.name}: no node ${ps.node}`);
    const namespace = ps.namespace ?? 'default';
    const seq = (perNode.get(ps.node) ?? 0) + 1;
    perNode.set(ps.node, seq);
    const base = node.podCIDR.split('/')[0] as string;
    const prefix = base.slice(0, base.lastIndexOf('.'));
    const ip = cni.plugin === 'calico' ? `${prefix}.${9 + seq}` : `${prefix}.${1 + seq}`;
    const host = `p${k + 1}`;
    lab.host(host);
    const hostVeth = hostVethName(cni, namespace, ps.name);
    attachPod(lab, cni, node, host, hostVeth, ip, mtu);
    pods.push({
      namespace,
      name: ps.name,
      id: `${namespace}/${ps.name}`,
      host,
      node,
      ip,
      hostVeth,
      ports: ps.ports ?? [],
    });
  });

  const objects = clusterObjects(spec, withVteps, pods);
  for (const n of withVteps) {
    const parts: NodeRules[] = [kubeProxyRules(objects.services, objects.endpointSlices, clusterCidrOf(cni))];
    if (cni.plugin === 'flannel') parts.push(flannelRules(FLANNEL_NETWORK, n.podCIDR));
    if (cni.plugin === 'calico') {
      lab.ipsetRestore(n.host, calicoIpsets(CALICO_POOL));
      parts.push(calicoRules());
    }
    if (cni.plugin === 'kindnet') parts.push(kindnetRules(FLANNEL_NETWORK));
    lab.iptablesRestore(n.host, renderNodeRules(parts));
  }

  const listens: Promise<void>[] = [lab.listen('inet', { protocol: 'tcp', port: 80 })];
  for (const n of withVteps)
    for (const port of spec.nodePorts ?? []) listens.push(lab.listen(n.host, { protocol: 'tcp', port }));
  spec.pods.forEach((ps, k) => {
    if (ps.listen === false) return;
    for (const p of ps.ports ?? [])
      listens.push(lab.listen(`p${k + 1}`, { protocol: p.protocol === 'UDP' ? 'udp' : 'tcp', port: p.port }));
  });
  await Promise.all(listens);
  return new Cluster(lab, spec, withVteps, pods, objects);
}

/** The devices each node needs before pods and peers: the bridge, the VXLAN device, calico's blackhole. */
function setupNodeDataPlanes(lab: Lab, cni: CniSpec, nodes: readonly ClusterNode[]): void {
  for (const n of nodes) {
    const cmds: string[] = [];
    if (cni.plugin === 'flannel') {
      cmds.push(
        'ip link add cni0 type bridge',
        `ip addr add ${n.gateway}/24 dev cni0`,
        'ip link set cni0 up',
      );
      if (cni.backend === 'vxlan') {
        cmds.push(
          `ip link add flannel.1 type vxlan id 1 local ${n.ip} dev eth0 dstport 8472 nolearning`,
          'ip link set flannel.1 mtu 1450',
          `ip addr add ${n.podCIDR.split('/')[0]}/32 dev flannel.1`,
          'ip link set flannel.1 up',
        );
      }
    }
    if (cni.plugin === 'calico') {
      cmds.push(`ip route add blackhole ${n.podCIDR} proto bird`);
      if (cni.encap === 'vxlan') {
        cmds.push(
          `ip link add vxlan.calico type vxlan id 4096 local ${n.ip} dev eth0 dstport 4789 nolearning`,
          'ip link set vxlan.calico mtu 1450',
          `ip addr add ${n.podCIDR.split('/')[0]}/32 dev vxlan.calico`,
          'ip link set vxlan.calico up',
        );
      }
    }
    if (cmds.length > 0) lab.exec(n.host, cmds.join('\n'));
  }
}

/** Each node's routes (and VXLAN neighbour and FDB entries) towards every other node's pods. */
function setupPeerRoutes(lab: Lab, cni: CniSpec, nodes: readonly ClusterNode[]): void {
  for (const n of nodes) {
    const cmds: string[] = [];
    for (const m of nodes) {
      if (m === n) continue;
      if (
        (cni.plugin === 'flannel' && cni.backend === 'vxlan') ||
        (cni.plugin === 'calico' && cni.encap === 'vxlan')
      ) {
        const dev = cni.plugin === 'flannel' ? 'flannel.1' : 'vxlan.calico';
        cmds.push(
          `ip route add ${m.podCIDR} via ${m.vtepIp} dev ${dev} onlink${cni.plugin === 'calico' ? ' proto 80' : ''}`,
          `ip neigh replace ${m.vtepIp} lladdr ${m.vtepMac} dev ${dev} nud permanent`,
          `bridge fdb append ${m.vtepMac} dev ${dev} dst ${m.ip} self permanent`,
        );
      } else if (cni.plugin === 'calico') {
        cmds.push(`ip route add ${m.podCIDR} via ${m.ip} dev eth0 proto bird`);
      } else {
        cmds.push(`ip route add ${m.podCIDR} via ${m.ip} dev eth0`);
      }
    }
    if (cmds.length > 0) lab.exec(n.host, cmds.join('\n'));
  }
}

/** Creates the pod's veth and configures both ends the way the CNI plugin does. */
function attachPod(
  lab: Lab,
  cni: CniSpec,
  node: ClusterNode,
  host: string,
  veth: string,
  ip: string,
  mtu: number,
): void {
  lab.veth(host, 'eth0', node.host, veth);
  const len = node.podCIDR.split('/')[1] as string;
  if (cni.plugin === 'flannel') {
    // The bridge CNI plugin (flannel's delegate): pod on cni0, hairpin on so a pod reaches itself through a Service.
    lab.exec(
      host,
      `ip link set eth0 mtu ${mtu}\nip addr add ${ip}/${len} dev eth0\nip route add default via ${node.gateway} dev eth0`,
    );
    lab.exec(
      node.host,
      `ip link set ${veth} mtu ${mtu}\nip link set ${veth} master cni0\nbridge link set dev ${veth} hairpin on`,
    );
  } else if (cni.plugin === 'calico') {
    // calico's CNI plugin: a /32, a link route to the fake gateway 169.254.1.1 and a default via it;
    // felix answers the ARP for it with proxy_arp on the host side (MAC ee:ee:ee:ee:ee:ee, no address).
    lab.exec(
      host,
      `ip link set eth0 mtu ${mtu}\nip addr add ${ip}/32 dev eth0\nip route add 169.254.1.1 dev eth0 scope link\nip route add default via 169.254.1.1 dev eth0`,
    );
    lab.exec(
      node.host,
      [
        `ip link set ${veth} down`,
        `ip link set ${veth} address ee:ee:ee:ee:ee:ee mtu ${mtu}`,
        `ip link set ${veth} up`,
        `sysctl -qw net.ipv4.conf.${veth}.proxy_arp=1 net.ipv4.neigh.${veth}.proxy_delay=0 net.ipv4.conf.${veth}.forwarding=1`,
        `ip route add ${ip}/32 dev ${veth} scope link`,
      ].join('\n'),
    );
  } else {
    // The ptp CNI plugin (kindnet): the pod's subnet route replaced by a route via the gateway, which
    // is the address of the host-side veth (/32, on every pod's veth); a scope-host route to the pod.
    lab.exec(
      host,
      [
        `ip link set eth0 mtu ${mtu}`,
        `ip addr add ${ip}/${len} dev eth0`,
        `ip route del ${node.podCIDR} dev eth0`,
        `ip route add ${node.gateway} dev eth0 scope link src ${ip}`,
        `ip route add ${node.podCIDR} via ${node.gateway} dev eth0 src ${ip}`,
        `ip route add default via ${node.gateway} dev eth0`,
      ].join('\n'),
    );
    lab.exec(
      node.host,
      `ip link set ${veth} mtu ${mtu}\nip addr add ${node.gateway}/32 dev ${veth}\nip route add ${ip}/32 dev ${veth} scope host`,
    );
  }
}

/** The API objects of the built cluster, as `kubectl get -o json` would list them. */
function clusterObjects(
  spec: ClusterSpec,
  nodes: readonly ClusterNode[],
  pods: readonly ClusterPod[],
): ClusterObjects {
  const cni = spec.cni;
  const nodeObjects = nodes.map((n) => {
    let annotations: Record<string, string> = {};
    if (cni.plugin === 'flannel') {
      annotations = {
        'flannel.alpha.coreos.com/backend-data':
          cni.backend === 'vxlan' ? JSON.stringify({ VNI: 1, VtepMAC: n.vtepMac }) : 'null',
        'flannel.alpha.coreos.com/backend-type': cni.backend,
        'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
        'flannel.alpha.coreos.com/public-ip': n.ip,
      };
    } else if (cni.plugin === 'calico') {
      annotations = {
        'projectcalico.org/IPv4Address': `${n.ip}/24`,
        ...(cni.encap === 'vxlan' && n.vtepIp !== undefined
          ? { 'projectcalico.org/IPv4VXLANTunnelAddr': n.vtepIp }
          : {}),
      };
    }
    return nodeObject({
      name: n.name,
      internalIP: n.ip,
      ...(cni.plugin !== 'calico' ? { podCIDR: n.podCIDR } : {}),
      annotations,
      controlPlane: n.index === 1,
    });
  });

  const podObjects: Pod[] = pods.map((p) => {
    const ps = spec.pods.find((x) => (x.namespace ?? 'default') === p.namespace && x.name === p.name);
    return podObject({
      namespace: p.namespace,
      name: p.name,
      nodeName: p.node.name,
      ip: p.ip,
      hostIP: p.node.ip,
      ...(ps?.labels !== undefined ? { labels: ps.labels } : {}),
      ...(ps?.owner !== undefined ? { owner: ps.owner } : {}),
      ports: p.ports,
    });
  });
  const systemNs = cni.plugin === 'calico' ? 'calico-system' : 'kube-system';
  const cniDs =
    cni.plugin === 'flannel' ? 'kube-flannel-ds' : cni.plugin === 'calico' ? 'calico-node' : 'kindnet';
  const cniImage =
    cni.plugin === 'flannel'
      ? 'docker.io/flannel/flannel:v0.26.1'
      : cni.plugin === 'calico'
        ? 'docker.io/calico/node:v3.29.0'
        : 'docker.io/kindest/kindnetd:v20241108-5c6d2daf';
  for (const n of nodes) {
    for (const [ns, ds, image] of [
      ['kube-system', 'kube-proxy', 'registry.k8s.io/kube-proxy:v1.31.2'],
      [systemNs, cniDs, cniImage],
    ] as const) {
      const name = `${ds}-${suffix(`${ds}/${n.name}`)}`;
      podObjects.push(
        podObject({
          namespace: ns,
          name,
          nodeName: n.name,
          ip: n.ip,
          hostIP: n.ip,
          hostNetwork: true,
          labels: { 'k8s-app': ds },
          image,
          owner: { kind: 'DaemonSet', name: ds },
        }),
      );
    }
  }

  const first = nodes[0];
  const apiServer = serviceObject({
    namespace: 'default',
    name: 'kubernetes',
    clusterIP: '10.96.0.1',
    ports: [{ name: 'https', port: 443, targetPort: 6443 }],
  });
  const services: Service[] = [
    {
      ...apiServer,
      metadata: { ...apiServer.metadata, labels: { component: 'apiserver', provider: 'kubernetes' } },
    },
    ...(spec.services ?? []).map((s) => serviceObject({ ...s, namespace: s.namespace ?? 'default' })),
  ];
  const slices: EndpointSlice[] = services.map((s) => {
    if (s.metadata.name === 'kubernetes' && s.metadata.namespace === 'default' && first !== undefined) {
      return {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: 'kubernetes',
          namespace: 'default',
          uid: uidOf('EndpointSlice', 'default', 'kubernetes'),
          labels: { 'kubernetes.io/service-name': 'kubernetes' },
        },
        addressType: 'IPv4',
        endpoints: [{ addresses: [first.ip], conditions: { ready: true } }],
        ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
      };
    }
    return endpointSliceFor(s, podObjects);
  });

  const namespaces = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease', systemNs]);
  for (const p of pods) namespaces.add(p.namespace);
  for (const s of services) namespaces.add(s.metadata.namespace ?? 'default');
  if (cni.plugin === 'flannel') namespaces.add('kube-flannel');

  const configMaps = [kubeProxyConfigMap('iptables', clusterCidrOf(cni))];
  if (cni.plugin === 'flannel') {
    configMaps.push(
      configMapObject('kube-flannel', 'kube-flannel-cfg', {
        'cni-conf.json': JSON.stringify(
          {
            name: 'cbr0',
            cniVersion: '0.3.1',
            plugins: [
              { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
              { type: 'portmap', capabilities: { portMappings: true } },
            ],
          },
          null,
          2,
        ),
        'net-conf.json': JSON.stringify(
          { Network: FLANNEL_NETWORK, EnableNFTables: false, Backend: { Type: cni.backend } },
          null,
          2,
        ),
      }),
    );
  }
  const ipPools: IPPool[] =
    cni.plugin === 'calico'
      ? [
          ipPoolObject('default-ipv4-ippool', CALICO_POOL, {
            ipip: 'Never',
            vxlan: cni.encap === 'vxlan' ? 'Always' : 'Never',
          }),
        ]
      : [];

  return completeObjects({
    nodes: nodeObjects,
    namespaces: [...namespaces].sort().map(namespaceObject),
    pods: podObjects,
    services,
    endpointSlices: slices,
    networkPolicies: [],
    daemonSets: [
      daemonSetObject('kube-system', 'kube-proxy', 'registry.k8s.io/kube-proxy:v1.31.2', nodes.length),
      daemonSetObject(systemNs, cniDs, cniImage, nodes.length),
    ],
    configMaps,
    ipPools,
  });
}
