import {
  comment,
  hash16,
  KUBE_PROXY_FILTER_BASE_RULES,
  KUBE_PROXY_FILTER_CHAINS,
  probability,
} from '../test/support/kube-proxy-names.js';

/** Size of a generated kube-proxy rule set. */
export interface KubeProxyShape {
  /** Number of ClusterIP services. */
  readonly services: number;
  /** Endpoints per service. */
  readonly endpoints: number;
  /** Every `nodePortEvery`-th service also gets a NodePort (0: none). */
  readonly nodePortEvery?: number;
  /** Every `noEndpointsEvery`-th service has no endpoints and gets a REJECT rule instead (0: none). */
  readonly noEndpointsEvery?: number;
}

/** One generated service, so a benchmark can aim a packet at it. */
export interface GeneratedService {
  readonly name: string;
  readonly clusterIP: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
  readonly endpoints: readonly string[];
  readonly nodePort: number | undefined;
}

function ipv4(base: number, n: number): string {
  const v = base + n;
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** The services a shape generates, in order. */
export function kubeProxyServices(shape: KubeProxyShape): GeneratedService[] {
  const out: GeneratedService[] = [];
  const clusterBase = (10 << 24) | (96 << 16);
  const podBase = (10 << 24) | (128 << 16);
  let ep = 0;
  for (let i = 0; i < shape.services; i++) {
    const protocol = i % 10 === 9 ? 'udp' : 'tcp';
    const port = protocol === 'udp' ? 53 : ([80, 443, 8080][i % 3] ?? 80);
    const none =
      shape.noEndpointsEvery !== undefined &&
      shape.noEndpointsEvery > 0 &&
      i % shape.noEndpointsEvery === shape.noEndpointsEvery - 1;
    const endpoints: string[] = [];
    if (!none)
      for (let e = 0; e < shape.endpoints; e++)
        endpoints.push(`${ipv4(podBase, 2 + ep++)}:${8000 + (i % 100)}`);
    const np =
      shape.nodePortEvery !== undefined && shape.nodePortEvery > 0 && i % shape.nodePortEvery === 0
        ? 30000 + (i % 2768)
        : undefined;
    out.push({
      name: `ns${i % 97}/svc-${i}:p${port}`,
      clusterIP: ipv4(clusterBase, 1 + i),
      port,
      protocol,
      endpoints,
      nodePort: np,
    });
  }
  return out;
}

/**
 * A deterministic `iptables-restore` input shaped like kube-proxy's (iptables mode, 1.28+): the
 * filter and nat tables with KUBE-SERVICES → KUBE-SVC-* (statistic per endpoint) → KUBE-SEP-*
 * (KUBE-MARK-MASQ + DNAT), KUBE-NODEPORTS/KUBE-EXT-*, KUBE-POSTROUTING, KUBE-FORWARD and
 * KUBE-FIREWALL, written in kube-proxy's own option order. 10,000 services × 3 endpoints give
 * about 110,000 rules.
 */
export function generateKubeProxySave(shape: KubeProxyShape): string {
  const services = kubeProxyServices(shape);
  const f: string[] = [];
  const fr: string[] = [];
  f.push('*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]');
  for (const c of KUBE_PROXY_FILTER_CHAINS) {
    f.push(`:${c} - [0:0]`);
  }
  fr.push(...KUBE_PROXY_FILTER_BASE_RULES);
  for (const s of services) {
    if (s.endpoints.length > 0) continue;
    fr.push(
      `-A KUBE-SERVICES -m comment --comment "${s.name} has no endpoints" -m ${s.protocol} -p ${s.protocol} -d ${s.clusterIP}/32 --dport ${s.port} -j REJECT`,
    );
    if (s.nodePort !== undefined) {
      fr.push(
        `-A KUBE-EXTERNAL-SERVICES -m comment --comment "${s.name} has no endpoints" -m addrtype --dst-type LOCAL -m ${s.protocol} -p ${s.protocol} --dport ${s.nodePort} -j REJECT`,
      );
    }
  }
  f.push(...fr, 'COMMIT');

  const n: string[] = [];
  const nr: string[] = [];
  n.push(
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
  );
  for (const c of [
    'KUBE-KUBELET-CANARY',
    'KUBE-MARK-MASQ',
    'KUBE-NODEPORTS',
    'KUBE-POSTROUTING',
    'KUBE-PROXY-CANARY',
    'KUBE-SERVICES',
  ])
    n.push(`:${c} - [0:0]`);
  nr.push(
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  );
  const svcRules: string[] = [];
  const rest: string[] = [];
  for (const s of services) {
    if (s.endpoints.length === 0) continue;
    const h = hash16(s.name + s.protocol);
    const svc = `KUBE-SVC-${h}`;
    n.push(`:${svc} - [0:0]`);
    const match = `-m ${s.protocol} -p ${s.protocol} -d ${s.clusterIP}/32 --dport ${s.port}`;
    svcRules.push(`-A KUBE-SERVICES -m comment --comment "${s.name} cluster IP" ${match} -j ${svc}`);
    rest.push(
      `-A ${svc} -m comment --comment "${s.name} cluster IP" ${match} ! -s 10.128.0.0/9 -j KUBE-MARK-MASQ`,
    );
    s.endpoints.forEach((ep, i) => {
      const sep = `KUBE-SEP-${hash16(s.name + s.protocol + ep)}`;
      n.push(`:${sep} - [0:0]`);
      const last = i === s.endpoints.length - 1;
      rest.push(
        `-A ${svc} -m comment --comment "${s.name} -> ${ep}"${last ? '' : ` -m statistic --mode random --probability ${probability(i, s.endpoints.length)}`} -j ${sep}`,
      );
      const ip = ep.slice(0, ep.indexOf(':'));
      rest.push(`-A ${sep} -m comment --comment ${comment(s.name)} -s ${ip}/32 -j KUBE-MARK-MASQ`);
      rest.push(
        `-A ${sep} -m comment --comment ${comment(s.name)} -m ${s.protocol} -p ${s.protocol} -j DNAT --to-destination ${ep}`,
      );
    });
    if (s.nodePort !== undefined) {
      const ext = `KUBE-EXT-${h}`;
      n.push(`:${ext} - [0:0]`);
      rest.push(
        `-A KUBE-NODEPORTS -m comment --comment ${comment(s.name)} -m ${s.protocol} -p ${s.protocol} --dport ${s.nodePort} -j ${ext}`,
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
  n.push(...nr, ...svcRules, ...rest, 'COMMIT');
  return `${f.join('\n')}\n${n.join('\n')}\n`;
}
