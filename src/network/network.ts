import { pickIp } from '../k8s/addresses.js';
import type { ClusterIndex } from '../k8s/cluster-index.js';
import type { ResolvedEndpoint } from '../k8s/endpoint-ref.js';
import { objectId, type Pod, type Service, type ServicePort } from '../k8s/objects.js';
import { isNodeReady, isPodReady, unreadyContainers } from '../k8s/readiness.js';
import type { Branch, Endpoint, PathNode, RequestInfo, Result } from '../model/result.js';
import type { Suspicion } from '../model/suspicion.js';
import { familyOf, normalizeIp } from '../netstack/ip.js';
import { firstPacket } from '../netstack/connection.js';
import { hostPort } from '../netstack/conntrack.js';
import type { NetNodeAction } from '../plugin/net-node-action.js';
import type { Plugin, PluginContext } from '../plugin/plugin.js';
import { kernelAction } from '../plugin/base-actions.js';
import { evaluatePolicies } from '../policy/evaluate-policies.js';
import { podId, policyEndpointForIp, policyEndpointOf } from '../policy/policy-endpoint.js';
import { policySuspicions } from '../policy/policy-suspicions.js';
import type { ClusterWorld } from './cluster-world.js';
import { diagnosePath, verdictOf } from './diagnostor.js';

/** One diagnosis request, with its endpoints already resolved against the objects. */
export interface DiagnoseRequest {
  readonly source: ResolvedEndpoint;
  readonly destination: ResolvedEndpoint;
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  /** The destination port (the Service port for a Service), 0 for ICMP. */
  readonly port: number;
  /** The Service port, when the destination is a Service. */
  readonly servicePort?: ServicePort;
}

/** A cluster's network: answers diagnosis requests over its captured state. */
export interface Network {
  diagnose(request: DiagnoseRequest): Result;
}

/** The parts a Network is built from. */
export interface NetworkParts {
  readonly cluster: ClusterWorld;
  readonly index: ClusterIndex;
  /** The CNI plugin model; undefined when the CNI is unsupported (only cluster-level checks run). */
  readonly plugin: Plugin | undefined;
  readonly pluginContext: PluginContext;
  /** Findings about the cluster as a whole (e.g. CNI_UNSUPPORTED), added to every result. */
  readonly clusterSuspicions: readonly Suspicion[];
  readonly request: RequestInfo;
}

/** Builds the Network of a cluster from its world, objects and plugin. */
export function createNetwork(parts: NetworkParts): Network {
  return { diagnose: (request) => diagnose(parts, request) };
}

function endpointOf(r: ResolvedEndpoint, port?: number, protocol?: 'tcp' | 'udp' | 'icmp'): Endpoint {
  return {
    ip: r.ip,
    type: r.type,
    id: r.id,
    ...(port !== undefined ? { port } : {}),
    ...(protocol !== undefined ? { protocol } : {}),
  };
}

function diagnose(parts: NetworkParts, req: DiagnoseRequest): Result {
  const { cluster, index } = parts;
  const suspicions: Suspicion[] = [...parts.clusterSuspicions, ...endpointChecks(index, req)];
  const source = endpointOf(req.source);
  const destination = endpointOf(req.destination, req.port, req.protocol);
  const base = { source, destination, request: parts.request } as const;
  const srcHost = sourceHost(cluster, req.source);
  if (parts.plugin === undefined) {
    const sourceHop =
      req.source.type === 'pod' && req.source.hostNetwork
        ? (req.source.nodeName ?? req.source.id)
        : req.source.id;
    suspicions.push(...kubernetesOnlyChecks(parts, req, sourceHop, suspicions));
    const sorted = dedupe(suspicions);
    return {
      verdict: 'unknown',
      ...base,
      suspicions: sorted,
      path: withSuspectHops({ nodes: [], links: [] }, sorted, index),
    };
  }
  if (srcHost === undefined) {
    const on =
      req.source.type === 'pod' && req.source.hostNetwork
        ? (req.source.nodeName ?? req.source.id)
        : req.source.id;
    suspicions.push({
      level: 'warning',
      code: 'NETSTACK_NOT_COLLECTED',
      on,
      message: `the network namespace of ${req.source.type} ${req.source.id} was not collected: the path cannot be simulated`,
    });
    return {
      verdict: 'unknown',
      ...base,
      suspicions,
      path: { nodes: [{ id: on, type: req.source.type === 'node' ? 'node' : 'pod' }], links: [] },
    };
  }
  const actions = new Map<string, NetNodeAction>();
  const actionFor = (host: string): NetNodeAction => {
    let a = actions.get(host);
    if (a === undefined) {
      a = createAction(parts, host);
      actions.set(host, a);
    }
    return a;
  };
  const srcIp =
    req.source.type === 'pod' && !req.source.hostNetwork
      ? pickIp(req.source.ips, familyOf(req.destination.ip))
      : undefined;
  const packet = firstPacket({
    from: srcHost,
    protocol: req.protocol,
    dst: req.destination.ip,
    dport: req.port,
    ...(srcIp !== undefined ? { src: srcIp } : {}),
  });
  const d = diagnosePath({
    world: cluster.world,
    sourceHost: srcHost,
    packet,
    actionFor,
    nodeOfHost: (host) => pathNodeOfHost(cluster, host),
    nodeOfIp: (ip) => pathNodeOfIp(index, ip),
    serviceAt: (ip, port, protocol) => serviceIdAt(parts, ip, port, protocol),
    ...(srcIp !== undefined && req.destination.type !== 'external' ? { keepsSource: srcIp } : {}),
  });
  suspicions.push(...d.suspicions);
  for (const host of endpointHosts(parts, req)) suspicions.push(...actionFor(host).inspect());
  const policed = applyPolicies(parts, req, d.branches, pathNodeOfHost(cluster, srcHost).id);
  suspicions.push(...policed.suspicions);
  if (req.destination.type === 'service' && req.servicePort !== undefined) {
    suspicions.push(
      ...serviceChecks(
        parts,
        req.destination.service,
        req.servicePort,
        d.branches,
        firstNodeOnPath(d.path.links, cluster) ?? srcHost,
        suspicions,
      ),
    );
  }
  const uncollected = proxyStateMissing(parts, req, d.path.nodes);
  suspicions.push(...uncollected);
  const sorted = dedupe(softenUnprovenExpectations(suspicions, d.branches));
  return {
    verdict: uncollected.length > 0 ? 'unknown' : verdictOf(policed.branches, sorted),
    ...base,
    suspicions: sorted,
    path: withSuspectHops(d.path, sorted, index),
    branches: policed.branches,
  };
}

/**
 * In IPVS mode a Service is translated by IPVS: a node on the path whose `ipvs` state was not
 * collected cannot be judged (its ClusterIPs would look like plain local addresses).
 */
function proxyStateMissing(
  parts: NetworkParts,
  req: DiagnoseRequest,
  nodes: readonly PathNode[],
): Suspicion[] {
  if (parts.request.proxyMode !== 'ipvs' || req.destination.type !== 'service') return [];
  const out: Suspicion[] = [];
  for (const n of nodes) {
    if (n.type !== 'node') continue;
    const ns = parts.cluster.world.hosts.get(n.id);
    if (ns === undefined || !ns.missing.has('ipvs')) continue;
    const why = ns.dump.errors?.['ipvs'];
    out.push({
      level: 'warning',
      code: 'NETSTACK_NOT_COLLECTED',
      on: n.id,
      message: `kube-proxy runs in IPVS mode but the IPVS state of ${n.id} was not collected${why !== undefined ? ` (${why})` : ''}: service ${req.destination.id} cannot be checked there`,
    });
  }
  return out;
}

function sourceHost(cluster: ClusterWorld, r: ResolvedEndpoint): string | undefined {
  if (r.type === 'pod') return cluster.hostOfPod(r.pod);
  if (r.type === 'node') return cluster.hostOfNode(r.node.metadata.name);
  return undefined;
}

function createAction(parts: NetworkParts, host: string): NetNodeAction {
  const { cluster, index, plugin, pluginContext } = parts;
  const nodeName = cluster.nodeOfHost(host) ?? host;
  if (plugin === undefined)
    return kernelAction(cluster.world, host, host, host.includes('/') ? 'pod' : 'node', {});
  if (host.includes('/')) {
    const [ns, name] = host.split('/') as [string, string];
    const pod = index.pod(ns, name);
    if (pod !== undefined) return plugin.createPod(pluginContext, pod, host);
    return kernelAction(cluster.world, host, host, 'pod', {});
  }
  const node = index.node(nodeName);
  if (node !== undefined) return plugin.createNode(pluginContext, node, host);
  return kernelAction(cluster.world, host, host, 'node', {});
}

function pathNodeOfHost(cluster: ClusterWorld, host: string): PathNode {
  return host.includes('/')
    ? { id: host, type: 'pod' }
    : { id: cluster.nodeOfHost(host) ?? host, type: 'node' };
}

function pathNodeOfIp(index: ClusterIndex, ip: string): PathNode {
  for (const o of index.ownersOf(ip)) {
    if (o.kind === 'pod') return { id: objectId(o.pod), type: 'pod' };
    if (o.kind === 'node') return { id: o.node.metadata.name, type: 'node' };
  }
  return { id: normalizeIp(ip), type: 'external' };
}

/**
 * The Service an address:port belongs to: one of its IPs (ClusterIP, externalIP, LoadBalancer), or a
 * NodePort on an address of a node.
 */
function serviceIdAt(parts: NetworkParts, ip: string, port: number, protocol: string): string | undefined {
  for (const o of parts.index.ownersOf(ip)) if (o.kind === 'service') return objectId(o.service);
  const onNode =
    parts.index.nodeForIp(ip) !== undefined ||
    (parts.cluster.world.owners.get(normalizeIp(ip)) ?? []).some((a) => !a.host.includes('/'));
  if (!onNode) return undefined;
  const proto = protocol.toUpperCase();
  const svc = parts.index.objects.services.find((s) =>
    (s.spec?.ports ?? []).some((p) => p.nodePort === port && (p.protocol ?? 'TCP') === proto),
  );
  return svc === undefined ? undefined : objectId(svc);
}

/**
 * NetworkPolicies (and Admin/Baseline policies) for every branch that reaches a backend, judged on
 * the backend after DNAT. With a CNI that enforces them a denial ends the branch on the enforcing
 * hop (the source pod for egress, the backend pod for ingress); otherwise it is a warning.
 */
function applyPolicies(
  parts: NetworkParts,
  req: DiagnoseRequest,
  branches: readonly Branch[],
  sourceHop: string,
): { branches: Branch[]; suspicions: Suspicion[] } {
  const enforced = parts.plugin?.enforcesNetworkPolicy ?? false;
  const suspicions: Suspicion[] = [];
  const out = branches.map((b): Branch => {
    if (b.outcome !== 'delivered' && b.outcome !== 'refused') return b;
    const target = branchTarget(req, b);
    if (target === undefined) return b;
    const found = policyFindings(parts, req, target, sourceHop, enforced);
    suspicions.push(...found);
    if (!enforced || found.length === 0) return b;
    const first = found[0];
    return {
      ...b,
      outcome: 'dropped',
      ...(first !== undefined ? { endedAt: first.on } : {}),
      codes: found.map((s) => s.code),
    };
  });
  return { branches: out, suspicions };
}

/** The policy findings for the source reaching one target address:port (a backend after DNAT). */
function policyFindings(
  parts: NetworkParts,
  req: DiagnoseRequest,
  target: { readonly ip: string; readonly port: number },
  sourceHop: string,
  enforced: boolean,
): Suspicion[] {
  const source = policyEndpointOf(parts.index, req.source);
  if (source === undefined) return [];
  const destination = policyEndpointForIp(parts.index, target.ip);
  if (destination.kind === 'external' && req.destination.type !== 'external') return [];
  const verdict = evaluatePolicies({
    cluster: parts.index,
    source,
    destination,
    port: target.port,
    protocol: req.protocol,
  });
  if (verdict.allowed) return [];
  const destinationHop = destination.kind === 'pod' ? podId(destination.pod) : target.ip;
  return policySuspicions(verdict, { sourceHop, destinationHop, enforced });
}

/**
 * The Kubernetes-level checks that need no data-plane model, for a CNI skoop cannot simulate: the
 * Service's endpoints, and the policies for each ready backend (or the destination itself).
 * Whether the CNI enforces policies is not known, so a denial is reported as it would be enforced.
 */
function kubernetesOnlyChecks(
  parts: NetworkParts,
  req: DiagnoseRequest,
  sourceHop: string,
  already: readonly Suspicion[],
): Suspicion[] {
  const out: Suspicion[] = [];
  let targets: { ip: string; port: number }[] = [{ ip: req.destination.ip, port: req.port }];
  if (req.destination.type === 'service' && req.servicePort !== undefined) {
    out.push(...serviceChecks(parts, req.destination.service, req.servicePort, [], 'cluster', already));
    const eps = parts.index.serviceEndpoints(req.destination.service, req.servicePort);
    targets = (eps?.backends ?? []).filter((b) => b.ready).map((b) => ({ ip: b.ip, port: b.port }));
  }
  for (const t of targets) out.push(...policyFindings(parts, req, t, sourceHop, true));
  return out;
}

/** The address and port a branch's packet is delivered to: its backend, else the destination itself. */
function branchTarget(req: DiagnoseRequest, b: Branch): { ip: string; port: number } | undefined {
  if (b.backend !== undefined) {
    const hp = b.backend.split(' ').at(-1) ?? '';
    const m = /^\[?(.*?)\]?:(\d+)$/.exec(hp);
    return m?.[1] !== undefined && m[2] !== undefined ? { ip: m[1], port: Number(m[2]) } : undefined;
  }
  if (req.destination.type === 'service') return undefined;
  return { ip: req.destination.ip, port: req.port };
}

/**
 * Every suspicion's `on` is a path node (CONTRACTS §3): hops named by a finding that the packet never
 * reached (a backend pod whose interface is down, a destination whose state was not collected) are
 * added to the path, without links.
 */
function withSuspectHops(
  path: Result['path'],
  suspicions: readonly Suspicion[],
  index: ClusterIndex,
): Result['path'] {
  const known = new Set(path.nodes.map((n) => n.id));
  const extra: PathNode[] = [];
  for (const s of suspicions) {
    if (s.on === 'cluster' || known.has(s.on)) continue;
    known.add(s.on);
    const type: PathNode['type'] = s.on.includes('/')
      ? 'pod'
      : index.node(s.on) !== undefined
        ? 'node'
        : 'external';
    extra.push({ id: s.on, type });
  }
  return extra.length === 0 ? path : { nodes: [...path.nodes, ...extra], links: path.links };
}

/**
 * The hops whose own state matters whether or not the packet reaches them: the destination pod and
 * a Service's backend pods (a pod whose interface is down is never reached, and that is the finding).
 */
function endpointHosts(parts: NetworkParts, req: DiagnoseRequest): string[] {
  const hosts: string[] = [];
  if (req.destination.type === 'pod') {
    const h = parts.cluster.hostOfPod(req.destination.pod);
    if (h !== undefined) hosts.push(h);
  }
  if (req.destination.type === 'service' && req.servicePort !== undefined) {
    for (const b of parts.index.serviceEndpoints(req.destination.service, req.servicePort)?.backends ?? []) {
      const h = b.pod === undefined ? undefined : parts.cluster.hostOfPod(b.pod);
      if (h !== undefined && h.includes('/')) hosts.push(h);
    }
  }
  return hosts;
}

function firstNodeOnPath(links: Result['path']['links'], cluster: ClusterWorld): string | undefined {
  for (const l of links) {
    if (cluster.world.hosts.has(l.to) && !l.to.includes('/')) return l.to;
  }
  return undefined;
}

/** Checks of the endpoints themselves: readiness of pods and their nodes, duplicate addresses. */
function endpointChecks(index: ClusterIndex, req: DiagnoseRequest): Suspicion[] {
  const out: Suspicion[] = [];
  for (const r of [req.source, req.destination]) {
    if (r.type === 'pod') out.push(...podChecks(index, r.pod));
    if (r.type === 'node' && !isNodeReady(r.node)) {
      out.push({
        level: 'fatal',
        code: 'NODE_NOT_READY',
        on: r.node.metadata.name,
        message: `node ${r.node.metadata.name} is not Ready`,
      });
    }
  }
  const involved = new Set([req.source.ip, req.destination.ip].map(normalizeIp));
  for (const d of index.duplicates) {
    if (!involved.has(normalizeIp(d.ip))) continue;
    out.push({
      level: 'critical',
      code: 'DUPLICATE_IP',
      on: 'cluster',
      message: `${d.ip} is claimed by ${d.owners.map((o) => describeOwner(o)).join(', ')}`,
    });
  }
  return out;
}

function describeOwner(o: ClusterIndex['duplicates'][number]['owners'][number]): string {
  if (o.kind === 'pod') return `pod ${o.pod.metadata.namespace}/${o.pod.metadata.name}`;
  if (o.kind === 'node') return `node ${o.node.metadata.name}`;
  return `service ${o.service.metadata.namespace}/${o.service.metadata.name}`;
}

function podChecks(index: ClusterIndex, pod: Pod): Suspicion[] {
  const id = objectId(pod);
  const out: Suspicion[] = [];
  if (!isPodReady(pod)) {
    const containers = unreadyContainers(pod);
    out.push({
      level: 'warning',
      code: 'POD_NOT_READY',
      on: id,
      message: `pod ${id} is not Ready${containers.length > 0 ? ` (containers not ready: ${containers.join(', ')})` : ''}`,
    });
  }
  const nodeName = pod.spec?.nodeName;
  const node = nodeName === undefined ? undefined : index.node(nodeName);
  if (node !== undefined && !isNodeReady(node)) {
    out.push({
      level: 'fatal',
      code: 'NODE_NOT_READY',
      on: node.metadata.name,
      message: `node ${node.metadata.name} (hosting ${id}) is not Ready`,
    });
  }
  if (index.podIpInNodeCidr(pod) === false) {
    out.push({
      level: 'critical',
      code: 'POD_IP_OUTSIDE_NODE_CIDR',
      on: id,
      message: `pod IP ${pod.status?.podIP} is outside node ${nodeName}'s pod CIDR ${node?.spec?.podCIDR ?? ''}`,
      evidence: { podIP: pod.status?.podIP, podCIDRs: node?.spec?.podCIDRs ?? node?.spec?.podCIDR },
    });
  }
  return out;
}

/**
 * The Service as the node's kube-proxy state implements it, compared with its EndpointSlices:
 * no endpoints, endpoints not ready, and backends the rules lead to that the slices do not list
 * (or the reverse).
 */
function serviceChecks(
  parts: NetworkParts,
  svc: Service,
  port: ServicePort,
  branches: readonly Branch[],
  on: string,
  already: readonly Suspicion[],
): Suspicion[] {
  const id = objectId(svc);
  const eps = parts.index.serviceEndpoints(svc, port);
  const out: Suspicion[] = [];
  const backends = eps?.backends ?? [];
  const ready = backends.filter((b) => b.ready);
  const portText = `${port.name ? `${port.name} ` : ''}${port.port}/${port.protocol ?? 'TCP'}`;
  if (ready.length === 0 && !already.some((s) => s.code === 'SERVICE_NO_ENDPOINTS')) {
    out.push({
      level: 'fatal',
      code: 'SERVICE_NO_ENDPOINTS',
      on,
      message: `service ${id} port ${portText} has no ready endpoints${backends.length > 0 ? ` (${backends.length} not ready)` : ''}`,
      evidence: {
        service: id,
        endpoints: backends.map((b) => `${hostPort(b.ip, b.port)}${b.ready ? '' : ' (not ready)'}`),
      },
    });
  }
  for (const b of backends) {
    if (b.ready) continue;
    out.push({
      level: 'warning',
      code: 'ENDPOINT_NOT_READY',
      on,
      message: `endpoint ${hostPort(b.ip, b.port)} of service ${id}${b.pod ? ` (pod ${objectId(b.pod)})` : ''} is not ready: it receives no new connections`,
    });
  }
  const reached = new Set(
    branches.map((b) => b.backend?.split(' ')[1]).filter((x): x is string => x !== undefined),
  );
  const expected = new Set(ready.map((b) => hostPort(normalizeIp(b.ip), b.port)));
  const translated = branches.some((b) => b.backend !== undefined);
  if (
    !translated &&
    ready.length > 0 &&
    branches.length > 0 &&
    branches.every((b) => b.outcome !== 'unknown')
  ) {
    out.push({
      level: 'fatal',
      code: 'SERVICE_RULES_MISSING',
      on,
      message: `no rule on ${on} translates ${hostPort(svc.spec?.clusterIP ?? '', port.port)} (service ${id}) to its ${ready.length} endpoint(s): kube-proxy's rules are missing`,
    });
  } else if (reached.size > 0) {
    const missing = [...expected].filter((e) => !reached.has(e));
    const extra = [...reached].filter((e) => !expected.has(e));
    if (missing.length > 0 || extra.length > 0) {
      out.push({
        level: missing.length > 0 ? 'critical' : 'warning',
        code: 'SERVICE_BACKEND_MISMATCH',
        on,
        message: `kube-proxy's rules for service ${id} do not match its EndpointSlices${missing.length ? `; not in the rules: ${missing.join(', ')}` : ''}${extra.length ? `; in the rules but not ready endpoints: ${extra.join(', ')}` : ''}`,
        evidence: { rules: [...reached], endpointSlices: [...expected] },
      });
    }
  }
  return out;
}

/**
 * A plugin's route expectation that the kernel walk does not bear out (every branch is delivered
 * anyway) is a warning, not a fatal finding: the path works, it is just not the path the CNI programs.
 */
function softenUnprovenExpectations(list: readonly Suspicion[], branches: readonly Branch[]): Suspicion[] {
  if (branches.length === 0 || branches.some((b) => b.outcome !== 'delivered')) return [...list];
  return list.map((s) =>
    (s.code === 'ROUTE_WRONG' || s.code === 'ROUTE_MISSING') &&
    s.evidence?.['expected'] !== undefined &&
    s.level === 'fatal'
      ? { ...s, level: 'warning', message: `${s.message}; the kernel still delivers the packet` }
      : s,
  );
}

/**
 * Suspicions without repeats. Where a plugin's expectation and the kernel walk both report a route
 * problem on one hop, the plugin's (it names the route it expected) stands for both.
 */
function dedupe(list: readonly Suspicion[]): Suspicion[] {
  const routeCodes = new Set(['ROUTE_MISSING', 'ROUTE_WRONG']);
  const explained = new Set(
    list.filter((s) => routeCodes.has(s.code) && s.evidence?.['expected'] !== undefined).map((s) => s.on),
  );
  const seen = new Set<string>();
  const out: Suspicion[] = [];
  for (const s of list) {
    if (routeCodes.has(s.code) && s.evidence?.['expected'] === undefined && explained.has(s.on)) continue;
    const k = `${s.code}\u0000${s.on}\u0000${s.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(s);
  }
  return out;
}
