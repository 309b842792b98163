import type { EndpointSlice, Service, ServicePort } from '../../../src/k8s/objects.js';
import {
  comment,
  hash16,
  KUBE_PROXY_FILTER_BASE_RULES,
  KUBE_PROXY_FILTER_CHAINS,
  probability,
} from '../../support/kube-proxy-names.js';

/**
 * An emulator of kube-proxy's iptables mode (1.28+): from Services and EndpointSlices, the filter
 * and nat rules kube-proxy's `syncProxyRules` writes on every node, in its own option order (see
 * `bench/gen-kube-proxy.ts`, and kubernetes `pkg/proxy/iptables/proxier.go`).
 */

/** Rules for one iptables table: user chains to declare, and `-A` lines in order. */
export interface TableRules {
  readonly chains: readonly string[];
  readonly rules: readonly string[];
}

/** The filter and nat tables a component contributes to a node. */
export interface NodeRules {
  readonly filter: TableRules;
  readonly nat: TableRules;
}

/** One Service port with the ready endpoints kube-proxy programs for it. */
interface ServicePortInfo {
  /** `ns/name:port` (kube-proxy's ServicePortName; `ns/name` for an unnamed port). */
  readonly name: string;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  readonly clusterIP: string;
  readonly port: number;
  readonly nodePort?: number;
  /** `ip:port`, ordered as kube-proxy orders them (by string). */
  readonly endpoints: readonly string[];
}

function portsOf(services: readonly Service[], slices: readonly EndpointSlice[]): ServicePortInfo[] {
  const out: ServicePortInfo[] = [];
  for (const svc of services) {
    const clusterIP = svc.spec?.clusterIP;
    if (clusterIP === undefined || clusterIP === 'None') continue;
    const ns = svc.metadata.namespace ?? 'default';
    const mine = slices.filter(
      (s) =>
        s.metadata.namespace === ns &&
        s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name,
    );
    for (const sp of svc.spec?.ports ?? []) out.push(portInfo(ns, svc.metadata.name, clusterIP, sp, mine));
  }
  return out;
}

function portInfo(
  ns: string,
  name: string,
  clusterIP: string,
  sp: ServicePort,
  slices: readonly EndpointSlice[],
): ServicePortInfo {
  const protocol = (sp.protocol ?? 'TCP').toLowerCase() as ServicePortInfo['protocol'];
  const endpoints = new Set<string>();
  for (const slice of slices) {
    const port = (slice.ports ?? []).find(
      (p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP') === (sp.protocol ?? 'TCP'),
    );
    if (port?.port === undefined) continue;
    for (const ep of slice.endpoints ?? []) {
      if (ep.conditions?.ready === false) continue;
      const ip = ep.addresses[0];
      if (ip !== undefined) endpoints.add(`${ip}:${port.port}`);
    }
  }
  return {
    name: `${ns}/${name}${sp.name !== undefined && sp.name !== '' ? `:${sp.name}` : ''}`,
    protocol,
    clusterIP,
    port: sp.port,
    ...(sp.nodePort !== undefined ? { nodePort: sp.nodePort } : {}),
    endpoints: [...endpoints].sort(),
  };
}

/**
 * The rules kube-proxy (iptables mode) writes on a node for `services`: KUBE-SERVICES → KUBE-SVC-*
 * (a `statistic` rule per endpoint but the last) → KUBE-SEP-* (hairpin KUBE-MARK-MASQ, DNAT),
 * KUBE-NODEPORTS → KUBE-EXT-*, masquerade of marked packets in KUBE-POSTROUTING, and for a Service
 * port without endpoints a REJECT in filter KUBE-SERVICES (and KUBE-EXTERNAL-SERVICES for its NodePort).
 */
export function kubeProxyRules(
  services: readonly Service[],
  slices: readonly EndpointSlice[],
  clusterCIDR: string,
): NodeRules {
  const ports = portsOf(services, slices);
  const filterChains = KUBE_PROXY_FILTER_CHAINS;
  const f: string[] = [...KUBE_PROXY_FILTER_BASE_RULES];
  for (const s of ports) {
    if (s.endpoints.length > 0) continue;
    f.push(
      `-A KUBE-SERVICES -d ${s.clusterIP}/32 -p ${s.protocol} -m comment --comment "${s.name} has no endpoints" -m ${s.protocol} --dport ${s.port} -j REJECT --reject-with icmp-port-unreachable`,
    );
    if (s.nodePort !== undefined) {
      f.push(
        `-A KUBE-EXTERNAL-SERVICES -p ${s.protocol} -m comment --comment "${s.name} has no endpoints" -m addrtype --dst-type LOCAL -m ${s.protocol} --dport ${s.nodePort} -j REJECT --reject-with icmp-port-unreachable`,
      );
    }
  }

  const natChains = [
    'KUBE-KUBELET-CANARY',
    'KUBE-MARK-MASQ',
    'KUBE-NODEPORTS',
    'KUBE-POSTROUTING',
    'KUBE-PROXY-CANARY',
    'KUBE-SERVICES',
  ];
  const head = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  ];
  const svcRules: string[] = [];
  const rest: string[] = [];
  for (const s of ports) {
    if (s.endpoints.length === 0) continue;
    const h = hash16(s.name + s.protocol);
    const svc = `KUBE-SVC-${h}`;
    natChains.push(svc);
    svcRules.push(
      `-A KUBE-SERVICES -d ${s.clusterIP}/32 -p ${s.protocol} -m comment --comment "${s.name} cluster IP" -m ${s.protocol} --dport ${s.port} -j ${svc}`,
    );
    rest.push(
      `-A ${svc} ! -s ${clusterCIDR} -d ${s.clusterIP}/32 -p ${s.protocol} -m comment --comment "${s.name} cluster IP" -m ${s.protocol} --dport ${s.port} -j KUBE-MARK-MASQ`,
    );
    s.endpoints.forEach((ep, i) => {
      const sep = `KUBE-SEP-${hash16(s.name + s.protocol + ep)}`;
      natChains.push(sep);
      const last = i === s.endpoints.length - 1;
      rest.push(
        `-A ${svc} -m comment --comment "${s.name} -> ${ep}"${last ? '' : ` -m statistic --mode random --probability ${probability(i, s.endpoints.length)}`} -j ${sep}`,
      );
      const ip = ep.slice(0, ep.indexOf(':'));
      rest.push(`-A ${sep} -s ${ip}/32 -m comment --comment ${comment(s.name)} -j KUBE-MARK-MASQ`);
      rest.push(
        `-A ${sep} -p ${s.protocol} -m comment --comment ${comment(s.name)} -m ${s.protocol} -j DNAT --to-destination ${ep}`,
      );
    });
    if (s.nodePort !== undefined) {
      const ext = `KUBE-EXT-${h}`;
      natChains.push(ext);
      rest.push(
        `-A KUBE-NODEPORTS -p ${s.protocol} -m comment --comment ${comment(s.name)} -m ${s.protocol} --dport ${s.nodePort} -j ${ext}`,
      );
      rest.push(
        `-A ${ext} -m comment --comment "masquerade traffic for ${s.name} external destinations" -j KUBE-MARK-MASQ`,
      );
      rest.push(`-A ${ext} -j ${svc}`);
    }
  }
  svcRules.push(
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
  );
  return {
    filter: { chains: filterChains, rules: f },
    nat: { chains: natChains, rules: [...head, ...svcRules, ...rest] },
  };
}
