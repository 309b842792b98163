import { usageError } from '../errors.js';
import { familyOf, isIp, normalizeIp } from '../netstack/ip.js';
import type { Family } from '../netstack/packet.js';
import { nodeIps, podIps, pickIp, serviceIps } from './addresses.js';
import type { ClusterIndex, IpOwner } from './cluster-index.js';
import type { Node, Pod, Service } from './objects.js';

/** An endpoint as written on the command line (`-s`, `-d`), before it is looked up. */
export type EndpointRef =
  | { readonly kind: 'ip'; readonly ip: string; readonly text: string }
  | {
      readonly kind: 'pod' | 'service';
      readonly namespace: string;
      readonly name: string;
      /** Whether the namespace was written (`pod/NS/NAME`) rather than taken from `-n`. */
      readonly namespaceExplicit: boolean;
      readonly text: string;
    }
  | { readonly kind: 'node'; readonly name: string; readonly text: string };

/** An endpoint resolved against the cluster: its IP and what holds it. */
export type ResolvedEndpoint =
  | {
      readonly type: 'pod';
      readonly ip: string;
      /** `namespace/name`. */
      readonly id: string;
      readonly pod: Pod;
      /** Every IP of the pod, primary first. */
      readonly ips: readonly string[];
      /** A hostNetwork pod lives in its node's network namespace and has the node's IP. */
      readonly hostNetwork: boolean;
      readonly nodeName?: string;
    }
  | { readonly type: 'service'; readonly ip: string; readonly id: string; readonly service: Service; readonly ips: readonly string[] }
  | { readonly type: 'node'; readonly ip: string; readonly id: string; readonly node: Node; readonly ips: readonly string[] }
  | { readonly type: 'external'; readonly ip: string; readonly id: string };

const FORMS = 'an IP address, pod/NAME, pod/NAMESPACE/NAME, svc/NAME, svc/NAMESPACE/NAME or node/NAME';

const KINDS: Readonly<Record<string, 'pod' | 'service' | 'node'>> = {
  pod: 'pod',
  pods: 'pod',
  po: 'pod',
  svc: 'service',
  service: 'service',
  services: 'service',
  node: 'node',
  nodes: 'node',
  no: 'node',
};

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/i;

function invalid(text: string, why: string): Error {
  return usageError('ENDPOINT_INVALID', `invalid endpoint "${text}": ${why}`, `write ${FORMS}`);
}

/**
 * Parses `-s`/`-d` kubectl-style: an IPv4/IPv6 address (IPv6 optionally in brackets), `pod/NAME`,
 * `pod/NAMESPACE/NAME`, `svc/…` or `service/…`, `node/NAME` (kubectl's `po`, `pods`, `services`,
 * `no`, `nodes` too); a name without namespace is looked up in `defaultNamespace`.
 */
export function parseEndpointRef(text: string, defaultNamespace: string): EndpointRef {
  const t = text.trim();
  const bare = t.startsWith('[') && t.endsWith(']') ? t.slice(1, -1) : t;
  if (isIp(bare)) return { kind: 'ip', ip: normalizeIp(bare), text };
  const parts = t.split('/');
  if (parts.length < 2) {
    if (/^[\d.]+$/.test(t) || t.includes(':')) throw invalid(text, 'not a valid IP address');
    throw invalid(text, `a name needs a kind, e.g. pod/${t} or svc/${t}`);
  }
  const kind = KINDS[(parts[0] as string).toLowerCase()];
  if (kind === undefined) {
    if (isIp(parts[0] as string)) throw invalid(text, 'a CIDR is not an endpoint; give one address');
    throw invalid(text, `unknown kind "${parts[0]}"`);
  }
  if (parts.some((p) => p === '')) throw invalid(text, 'empty name');
  if (kind === 'node') {
    if (parts.length !== 2) throw invalid(text, 'nodes have no namespace: write node/NAME');
    return { kind, name: parts[1] as string, text };
  }
  if (parts.length > 3) throw invalid(text, `too many "/" (write ${kind === 'pod' ? 'pod' : 'svc'}/NAMESPACE/NAME)`);
  const name = parts[parts.length - 1] as string;
  const namespace = parts.length === 3 ? (parts[1] as string) : defaultNamespace;
  if (!NAME.test(name)) throw invalid(text, `"${name}" is not a valid ${kind} name`);
  if (!NAME.test(namespace)) throw invalid(text, `"${namespace}" is not a valid namespace name`);
  return { kind, namespace, name, namespaceExplicit: parts.length === 3, text };
}

/** Up to `max` names, then "… and N more". */
function listNames(names: readonly string[], max = 10): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} … and ${names.length - max} more`;
}

function describeOwner(o: IpOwner): string {
  if (o.kind === 'service') return `service ${o.id} (${o.role})`;
  if (o.kind === 'node') return `node ${o.id}`;
  return `pod ${o.id}`;
}

/** The resolved endpoint for the IP literal `ip`: what holds it, else `external`. */
function resolveIp(index: ClusterIndex, ip: string, text: string): ResolvedEndpoint {
  const owners = index.ownersOf(ip);
  const primary = owners.filter((o) => o.kind !== 'service' || o.role === 'clusterIP');
  const candidates = primary.length > 0 ? primary : owners;
  if (candidates.length === 0) return { type: 'external', ip, id: ip };
  if (candidates.length > 1) {
    throw usageError(
      'ENDPOINT_AMBIGUOUS',
      `IP ${ip} (from "${text}") belongs to more than one object: ${candidates.map(describeOwner).join(', ')}`,
      'name the endpoint instead: pod/NAMESPACE/NAME, svc/NAMESPACE/NAME or node/NAME',
    );
  }
  const o = candidates[0] as IpOwner;
  if (o.kind === 'pod') return podEndpoint(o.pod, ip);
  if (o.kind === 'node') return { type: 'node', ip, id: o.id, node: o.node, ips: nodeIps(o.node).map((a) => a.ip) };
  return { type: 'service', ip, id: o.id, service: o.service, ips: serviceIps(o.service).map((a) => a.ip) };
}

function podEndpoint(pod: Pod, ip: string): ResolvedEndpoint {
  const nodeName = pod.spec?.nodeName;
  return {
    type: 'pod',
    ip,
    id: `${pod.metadata.namespace ?? ''}/${pod.metadata.name}`,
    pod,
    ips: podIps(pod),
    hostNetwork: pod.spec?.hostNetwork === true,
    ...(nodeName !== undefined ? { nodeName } : {}),
  };
}

function familyName(family: Family): string {
  return family === 4 ? 'IPv4' : 'IPv6';
}

function noIp(what: string, ips: readonly string[], family: Family | undefined, hint: string): Error {
  const has = ips.length > 0 ? ` (it has ${ips.join(', ')})` : '';
  const fam = family !== undefined ? familyName(family) : 'IP';
  return usageError('ENDPOINT_NO_IP', `${what} has no ${fam} address${has}`, hint);
}

/** Names in `names` that start with `name` followed by `-` (a Deployment's pods for its name). */
function prefixMatches(names: readonly string[], name: string): string[] {
  return names.filter((n) => n.startsWith(`${name}-`)).sort();
}

function notFound(
  index: ClusterIndex,
  ref: Extract<EndpointRef, { kind: 'pod' | 'service' }>,
  list: (namespace: string) => readonly string[],
  exists: (namespace: string) => boolean,
): Error {
  const kind = ref.kind;
  const short = kind === 'pod' ? 'pod' : 'svc';
  const plural = kind === 'pod' ? 'pods' : 'services';
  const names = [...list(ref.namespace)].sort();
  const known = index.namespaceNames();
  let message = `no ${kind} ${ref.namespace}/${ref.name}; `;
  if (names.length > 0) message += `${plural} in ${ref.namespace}: ${listNames(names)}`;
  else if (known.includes(ref.namespace)) message += `namespace ${ref.namespace} has no ${plural}`;
  else message += `there is no namespace ${ref.namespace} (namespaces: ${listNames(known)})`;
  const hints: string[] = [];
  const similar = prefixMatches(names, ref.name);
  if (similar.length > 0) hints.push(`did you mean ${listNames(similar.map((n) => `${short}/${ref.namespace}/${n}`), 3)}?`);
  const elsewhere = known.filter((ns) => ns !== ref.namespace && exists(ns));
  if (elsewhere.length > 0) {
    const first = elsewhere[0] as string;
    const where = elsewhere.length === 1 ? `namespace ${first}` : `namespaces ${listNames(elsewhere)}`;
    hints.push(
      ref.namespaceExplicit
        ? `${kind} ${ref.name} exists in ${where}: write ${short}/${first}/${ref.name}`
        : `${kind} ${ref.name} exists in ${where}: add -n ${first} or write ${short}/${first}/${ref.name}`,
    );
  }
  if (hints.length === 0) hints.push(`list them with: kubectl get ${plural} -n ${ref.namespace}`);
  return usageError('ENDPOINT_NOT_FOUND', message, hints.join('; '));
}

/** Options of {@link resolveEndpoint}. */
export interface ResolveOptions {
  /** Pick the endpoint's address of this family (dual-stack objects); the primary address otherwise. */
  readonly family?: Family;
}

/**
 * Looks `ref` up in the cluster: an IP resolves to the pod, node (also for a hostNetwork pod's IP)
 * or Service holding it, else to an `external` endpoint; a name resolves to its object and primary
 * IP. Unknown names, IPs claimed twice, and objects without an IP are usage errors that say what
 * exists instead.
 */
export function resolveEndpoint(index: ClusterIndex, ref: EndpointRef, options: ResolveOptions = {}): ResolvedEndpoint {
  const family = options.family;
  if (ref.kind === 'ip') {
    if (family !== undefined && familyOf(ref.ip) !== family) {
      throw usageError('ENDPOINT_INVALID', `${ref.ip} is not an ${familyName(family)} address`, 'give both endpoints in the same address family');
    }
    return resolveIp(index, ref.ip, ref.text);
  }
  if (ref.kind === 'node') {
    const node = index.node(ref.name);
    if (node === undefined) {
      const names = index.objects.nodes.map((n) => n.metadata.name).sort();
      const similar = prefixMatches(names, ref.name);
      throw usageError(
        'ENDPOINT_NOT_FOUND',
        names.length > 0 ? `no node ${ref.name}; nodes: ${listNames(names)}` : `no node ${ref.name}; the snapshot has no nodes`,
        similar.length > 0 ? `did you mean ${listNames(similar.map((n) => `node/${n}`), 3)}?` : 'list them with: kubectl get nodes',
      );
    }
    const addrs = nodeIps(node);
    const ordered = [...addrs.filter((a) => a.type === 'InternalIP'), ...addrs.filter((a) => a.type === 'ExternalIP')].map((a) => a.ip);
    const ip = pickIp(ordered, family);
    if (ip === undefined) throw noIp(`node ${ref.name}`, ordered, family, 'the node reports no InternalIP/ExternalIP in status.addresses');
    return { type: 'node', ip, id: ref.name, node, ips: ordered };
  }
  if (ref.kind === 'pod') {
    const pod = index.pod(ref.namespace, ref.name);
    if (pod === undefined) {
      throw notFound(
        index,
        ref,
        (ns) => index.podsInNamespace(ns).map((p) => p.metadata.name),
        (ns) => index.pod(ns, ref.name) !== undefined,
      );
    }
    const id = `${ref.namespace}/${ref.name}`;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      throw usageError('ENDPOINT_NO_IP', `pod ${id} has finished (phase ${phase}) and no longer has an IP`, 'pick a running pod');
    }
    const ips = podIps(pod);
    const ip = pickIp(ips, family);
    if (ip === undefined) {
      throw noIp(
        `pod ${id}${phase !== undefined && phase !== 'Running' ? ` (phase ${phase})` : ''}`,
        ips,
        family,
        `check it with: kubectl get pod -n ${ref.namespace} ${ref.name} -o wide`,
      );
    }
    return podEndpoint(pod, ip);
  }
  const service = index.service(ref.namespace, ref.name);
  if (service === undefined) {
    throw notFound(
      index,
      ref,
      (ns) => index.servicesInNamespace(ns).map((s) => s.metadata.name),
      (ns) => index.service(ns, ref.name) !== undefined,
    );
  }
  const id = `${ref.namespace}/${ref.name}`;
  if (service.spec?.type === 'ExternalName') {
    throw usageError(
      'ENDPOINT_NO_IP',
      `service ${id} is an ExternalName service (a DNS alias for ${service.spec.externalName ?? '?'}) and has no IP`,
      'diagnose the address that name resolves to instead',
    );
  }
  const clusterIps = serviceIps(service)
    .filter((a) => a.role === 'clusterIP')
    .map((a) => a.ip);
  if (clusterIps.length === 0 && service.spec?.clusterIP === 'None') {
    const pods = index.servicePods(service).map((p) => `pod/${id.split('/')[0]}/${p.metadata.name}`);
    throw usageError(
      'ENDPOINT_NO_IP',
      `service ${id} is headless (clusterIP: None) and has no virtual IP`,
      pods.length > 0 ? `diagnose one of its pods instead: ${listNames(pods, 5)}` : 'diagnose one of its pods instead',
    );
  }
  const ip = pickIp(clusterIps, family);
  if (ip === undefined) throw noIp(`service ${id}`, clusterIps, family, `check it with: kubectl get svc -n ${ref.namespace} ${ref.name} -o yaml`);
  return { type: 'service', ip, id, service, ips: serviceIps(service).map((a) => a.ip) };
}
