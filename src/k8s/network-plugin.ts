import type { ClusterObjects, ConfigMap, DaemonSet } from './objects.js';

/** The CNIs skoop can name. */
export type NetworkPluginName = 'flannel' | 'calico' | 'bridge' | 'cilium' | 'contiv' | 'antrea' | 'weave' | 'kube-router' | 'unknown';

/** flannel's `net-conf.json` (keys matched case-insensitively, as Go's encoding/json does). */
export interface FlannelNetConf {
  readonly network?: string;
  readonly ipv6Network?: string;
  /** As configured; flannel enables IPv4 unless this is `false`. */
  readonly enableIPv4?: boolean;
  readonly enableIPv6?: boolean;
  /** `Backend.Type` in lower case; `udp` when there is no `Backend`, `""` for a `Backend` without `Type`. */
  readonly backendType: string;
  /** `Backend.VNI` (vxlan; flannel defaults to 1). */
  readonly vni?: number;
  /** `Backend.Port` (vxlan; 0 or absent means the kernel default 8472). */
  readonly port?: number;
  /** `Backend.DirectRouting` (vxlan: host-gw routes between nodes of one subnet). */
  readonly directRouting?: boolean;
  readonly mtu?: number;
}

/** Which CNI the cluster runs, and why skoop thinks so. */
export interface NetworkPluginDetection {
  readonly plugin: NetworkPluginName;
  /** What the decision rests on (DaemonSets, ConfigMap, node annotations), for messages. */
  readonly evidence: string;
  /** The data-plane backend, when known (flannel: `vxlan`, `host-gw`, `wireguard`, `udp`, …). */
  readonly backend?: string;
  /** flannel's parsed `net-conf.json`. */
  readonly flannel?: FlannelNetConf;
  /** A second component that enforces NetworkPolicy: Canal is flannel's data plane plus Calico's policy. */
  readonly policyEngine?: 'calico';
  /** Other CNIs whose DaemonSets were seen too (leftovers, chaining). */
  readonly others?: readonly NetworkPluginName[];
}

interface Rule {
  readonly plugin: Exclude<NetworkPluginName, 'unknown'>;
  readonly names: readonly string[];
  readonly images: readonly string[];
}

/** Highest priority first: a CNI that owns the data plane and policy wins over a leftover simple one. */
const RULES: readonly Rule[] = [
  { plugin: 'cilium', names: ['cilium'], images: ['cilium/cilium'] },
  { plugin: 'calico', names: ['calico-node'], images: ['calico/node'] },
  { plugin: 'antrea', names: ['antrea-agent'], images: ['antrea/antrea-agent', 'antrea/antrea-ubuntu'] },
  { plugin: 'weave', names: ['weave-net'], images: ['weaveworks/weave-kube', 'weave-kube'] },
  { plugin: 'kube-router', names: ['kube-router'], images: ['kube-router'] },
  { plugin: 'contiv', names: ['contiv-vswitch'], images: ['contiv/vswitch', 'contivvpp/vswitch'] },
  { plugin: 'flannel', names: ['flannel'], images: ['flannel'] },
  { plugin: 'bridge', names: ['kindnet'], images: ['kindnetd'] },
];

function images(ds: DaemonSet): string[] {
  const spec = ds.spec?.template?.spec;
  return [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].map((c) => c.image ?? '').filter((i) => i !== '');
}

/** The image repository without registry host and tag: `docker.io/flannel/flannel:v0.25` → `flannel/flannel`. */
function imageRepo(image: string): string {
  const noDigest = image.split('@')[0] as string;
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.indexOf(':', lastSlash + 1);
  const repo = colon < 0 ? noDigest : noDigest.slice(0, colon);
  const parts = repo.split('/');
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0] as string)) parts.shift();
  return parts.join('/').toLowerCase();
}

function isCanal(ds: DaemonSet): boolean {
  if (ds.metadata.name.includes('canal')) return true;
  const repos = images(ds).map(imageRepo);
  return repos.some((r) => r.includes('calico/node')) && repos.some((r) => r.includes('flannel'));
}

function matchRule(ds: DaemonSet): { rule: Rule; by: string } | undefined {
  const name = ds.metadata.name.toLowerCase();
  for (const rule of RULES) if (rule.names.some((n) => name.includes(n))) return { rule, by: 'name' };
  const repos = images(ds).map(imageRepo);
  for (const rule of RULES) {
    const image = repos.find((r) => rule.images.some((i) => r.includes(i)));
    if (image !== undefined) return { rule, by: `image ${image}` };
  }
  return undefined;
}

const dsId = (ds: DaemonSet): string => `DaemonSet ${ds.metadata.namespace ?? ''}/${ds.metadata.name}`;

/**
 * Which CNI the cluster runs, from its DaemonSets (by name, then by container image), then node
 * annotations (flannel built into k3s has no DaemonSet), then Calico IP pools.
 *
 * @remarks
 * Canal (a `canal`/`rke2-canal` DaemonSet, or one running both calico-node and flannel) is reported
 * as flannel — it routes pods — with `policyEngine: 'calico'`, which enforces NetworkPolicy. kind's
 * `kindnet` is reported as `bridge`: the plain model of pod veths plus routes between nodes. flannel's
 * backend comes from the `net-conf.json` key of its ConfigMap (`kube-flannel-cfg`), else from the
 * node annotation `flannel.alpha.coreos.com/backend-type`.
 */
export function detectNetworkPlugin(objects: Pick<ClusterObjects, 'daemonSets' | 'configMaps' | 'nodes' | 'ipPools'>): NetworkPluginDetection {
  const found: { plugin: Rule['plugin']; ds: DaemonSet; by: string; canal: boolean }[] = [];
  for (const ds of objects.daemonSets) {
    if (isCanal(ds)) {
      found.push({ plugin: 'flannel', ds, by: 'canal', canal: true });
      continue;
    }
    const m = matchRule(ds);
    if (m !== undefined) found.push({ plugin: m.rule.plugin, ds, by: m.by, canal: false });
  }
  if (found.length > 0) {
    const rank = (p: Rule['plugin']): number => (p === 'flannel' && found.some((f) => f.canal) ? -1 : RULES.findIndex((r) => r.plugin === p));
    const sorted = [...found].sort((a, b) => rank(a.plugin) - rank(b.plugin));
    const best = sorted[0] as (typeof found)[number];
    const others = [...new Set(sorted.map((f) => f.plugin).filter((p) => p !== best.plugin))];
    const seen = sorted.map((f) => `${dsId(f.ds)}${f.by === 'name' ? '' : ` (${f.by})`}`).join(', ');
    let evidence = `${best.canal ? 'canal (flannel routing, calico policy)' : best.plugin}: ${seen}`;
    let backend: string | undefined;
    let flannel: FlannelNetConf | undefined;
    if (best.plugin === 'flannel') {
      const conf = flannelConfig(objects.configMaps, best.ds.metadata.namespace);
      if (conf !== undefined) {
        evidence = `${evidence}; ${conf.evidence}`;
        flannel = conf.netConf;
        if (conf.netConf !== undefined && conf.netConf.backendType !== '') backend = conf.netConf.backendType;
      }
      const annotated = backend === undefined ? flannelBackendFromNodes(objects) : undefined;
      if (annotated !== undefined) {
        backend = annotated.backend;
        evidence = `${evidence}; ${annotated.evidence}`;
      }
    }
    return {
      plugin: best.plugin,
      evidence,
      ...(backend !== undefined ? { backend } : {}),
      ...(flannel !== undefined ? { flannel } : {}),
      ...(best.canal ? { policyEngine: 'calico' as const } : {}),
      ...(others.length > 0 ? { others } : {}),
    };
  }
  const annotated = flannelBackendFromNodes(objects);
  if (annotated !== undefined) return { plugin: 'flannel', backend: annotated.backend, evidence: `flannel without a DaemonSet (k3s?): ${annotated.evidence}` };
  const calicoNode = objects.nodes.find((n) => Object.keys(n.metadata.annotations ?? {}).some((k) => k.startsWith('projectcalico.org/')));
  if (calicoNode !== undefined) return { plugin: 'calico', evidence: `calico: node ${calicoNode.metadata.name} has projectcalico.org/ annotations` };
  if (objects.ipPools.length > 0) return { plugin: 'calico', evidence: `calico: ${objects.ipPools.length} IPPool object(s)` };
  return { plugin: 'unknown', evidence: `no known CNI DaemonSet among ${objects.daemonSets.length} DaemonSet(s)` };
}

function flannelConfig(
  configMaps: readonly ConfigMap[],
  namespace: string | undefined,
): { netConf: FlannelNetConf | undefined; evidence: string } | undefined {
  const candidates = configMaps.filter((c) => c.data?.['net-conf.json'] !== undefined);
  const score = (c: ConfigMap): number => (c.metadata.namespace === namespace ? 0 : 2) + (c.metadata.name === 'kube-flannel-cfg' ? 0 : 1);
  const cm = [...candidates].sort((a, b) => score(a) - score(b))[0];
  if (cm === undefined) return undefined;
  const where = `ConfigMap ${cm.metadata.namespace ?? ''}/${cm.metadata.name} net-conf.json`;
  const netConf = parseFlannelNetConf(cm.data?.['net-conf.json'] as string);
  if (netConf === undefined) return { netConf, evidence: `${where} is not a JSON object` };
  return { netConf, evidence: `${where}: Network ${netConf.network ?? '(none)'}, Backend ${netConf.backendType}` };
}

function flannelBackendFromNodes(objects: Pick<ClusterObjects, 'nodes'>): { backend: string; evidence: string } | undefined {
  for (const node of objects.nodes) {
    const backend = node.metadata.annotations?.['flannel.alpha.coreos.com/backend-type'];
    if (backend !== undefined && backend !== '') {
      return { backend: backend.toLowerCase(), evidence: `node ${node.metadata.name} annotation flannel.alpha.coreos.com/backend-type=${backend}` };
    }
  }
  return undefined;
}

function field(obj: Readonly<Record<string, unknown>>, name: string): unknown {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

const isRecord = (v: unknown): v is Readonly<Record<string, unknown>> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Parses flannel's `net-conf.json`; `undefined` when it is not a JSON object.
 *
 * @remarks
 * flannel decodes it with Go's encoding/json, whose key matching is case-insensitive, and uses the
 * `udp` backend when there is no `Backend` at all; a `Backend` without `Type` gives `""`, which
 * flanneld refuses to start with (flannel `pkg/subnet/config.go`, `parseBackendType`).
 */
export function parseFlannelNetConf(text: string): FlannelNetConf | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(raw)) return undefined;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
  const backend = field(raw, 'Backend');
  const b = isRecord(backend) ? backend : {};
  const entries: [keyof FlannelNetConf, unknown][] = [
    ['network', str(field(raw, 'Network'))],
    ['ipv6Network', str(field(raw, 'IPv6Network'))],
    ['enableIPv4', bool(field(raw, 'EnableIPv4'))],
    ['enableIPv6', bool(field(raw, 'EnableIPv6'))],
    ['backendType', backend === undefined || backend === null ? 'udp' : (str(field(b, 'Type')) ?? '').toLowerCase()],
    ['vni', num(field(b, 'VNI'))],
    ['port', num(field(b, 'Port'))],
    ['directRouting', bool(field(b, 'DirectRouting'))],
    ['mtu', num(field(b, 'MTU'))],
  ];
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as unknown as FlannelNetConf;
}
