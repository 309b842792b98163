import type { ClusterObjects } from './objects.js';

/** kube-proxy's data-plane mode. */
export type KubeProxyMode = 'iptables' | 'ipvs' | 'nftables' | 'kernelspace' | 'unknown';

/** What skoop reads from a KubeProxyConfiguration. */
export interface KubeProxyConfig {
  /** The effective mode: `""`/absent is `iptables` on Linux; a value kube-proxy rejects is `unknown`. */
  readonly mode: KubeProxyMode;
  /** `mode` exactly as configured (`""` when absent). */
  readonly configuredMode: string;
  /** `clusterCIDR` (comma-separated for dual stack), when set. */
  readonly clusterCIDR?: string;
  readonly ipvsScheduler?: string;
  readonly ipvsStrictARP?: boolean;
  readonly masqueradeAll?: boolean;
  /** Every scalar read, by dotted path (`ipvs.scheduler`). */
  readonly values: ReadonlyMap<string, string>;
  /** Where it came from and what it says, for messages. */
  readonly evidence: string;
}

const MODES: readonly string[] = ['iptables', 'ipvs', 'nftables', 'kernelspace'];

/**
 * Reads ConfigMap `kube-system/kube-proxy` key `config.conf` (kubeadm's layout); `undefined` when
 * the ConfigMap or key is absent (kube-proxy configured by flags, k3s, managed clouds).
 */
export function readKubeProxyConfig(objects: Pick<ClusterObjects, 'configMaps'>): KubeProxyConfig | undefined {
  const cm = objects.configMaps.find((c) => c.metadata.namespace === 'kube-system' && c.metadata.name === 'kube-proxy');
  const text = cm?.data?.['config.conf'];
  if (text === undefined) return undefined;
  return parseKubeProxyConfig(text, 'ConfigMap kube-system/kube-proxy config.conf');
}

/**
 * Parses a KubeProxyConfiguration (YAML, or JSON) far enough to read `mode`, `clusterCIDR` and a
 * few nested keys, without a YAML library: `key: value` lines nested by indentation, quoted or
 * plain scalars; lists, block scalars and flow collections are skipped.
 *
 * @remarks
 * An empty `mode` selects iptables on Linux (`pkg/proxy/apis/config`, `ProxyMode`); kube-proxy
 * refuses to start with any other value than iptables, ipvs, nftables (Linux) or kernelspace (Windows).
 */
export function parseKubeProxyConfig(text: string, origin = 'KubeProxyConfiguration'): KubeProxyConfig {
  const values = text.trimStart().startsWith('{') ? flattenJson(text) : parseSimpleYaml(text);
  const configuredMode = values.get('mode') ?? '';
  const mode: KubeProxyMode = configuredMode === '' ? 'iptables' : MODES.includes(configuredMode) ? (configuredMode as KubeProxyMode) : 'unknown';
  const clusterCIDR = values.get('clusterCIDR');
  const ipvsScheduler = values.get('ipvs.scheduler');
  const strictARP = values.get('ipvs.strictARP');
  const masqueradeAll = values.get('iptables.masqueradeAll');
  const modeText = configuredMode === '' ? 'mode "" (iptables)' : `mode "${configuredMode}"`;
  return {
    mode,
    configuredMode,
    ...(clusterCIDR !== undefined && clusterCIDR !== '' ? { clusterCIDR } : {}),
    ...(ipvsScheduler !== undefined && ipvsScheduler !== '' ? { ipvsScheduler } : {}),
    ...(strictARP !== undefined ? { ipvsStrictARP: strictARP === 'true' } : {}),
    ...(masqueradeAll !== undefined ? { masqueradeAll: masqueradeAll === 'true' } : {}),
    values,
    evidence: `${origin}: ${modeText}${clusterCIDR ? `, clusterCIDR ${clusterCIDR}` : ''}`,
  };
}

function flattenJson(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return out;
  }
  const walk = (value: unknown, path: string): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, path === '' ? k : `${path}.${k}`);
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      out.set(path, String(value));
    }
  };
  walk(parsed, '');
  return out;
}

/** Removes a trailing `# comment` that is not inside quotes. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote !== undefined) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '#' && (i === 0 || line[i - 1] === ' ' || line[i - 1] === '\t')) {
      return line.slice(0, i);
    }
  }
  return line;
}

function unquote(raw: string): string {
  const v = raw.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    try {
      return JSON.parse(v) as string;
    } catch {
      return v.slice(1, -1);
    }
  }
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1).replaceAll("''", "'");
  return v;
}

/** Scalars of a simple YAML mapping by dotted path. */
function parseSimpleYaml(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const stack: { indent: number; path: string }[] = [];
  let skipDeeperThan: number | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    if (rawLine.trim() === '' || rawLine.trimStart().startsWith('#')) continue;
    if (rawLine.startsWith('---') || rawLine.startsWith('...')) {
      stack.length = 0;
      continue;
    }
    const indent = rawLine.length - rawLine.trimStart().length;
    const line = stripComment(rawLine).trimEnd();
    const body = line.trimStart();
    if (skipDeeperThan !== undefined) {
      if (indent > skipDeeperThan || (indent === skipDeeperThan && body.startsWith('- '))) continue;
      skipDeeperThan = undefined;
    }
    if (body.startsWith('- ') || body === '-') {
      skipDeeperThan = indent;
      continue;
    }
    const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:]+?)\s*:(?:\s+(.*))?$/.exec(body);
    if (m === null) continue;
    const k = unquote(m[1] as string);
    const rest = (m[2] ?? '').trim();
    while (stack.length > 0 && (stack[stack.length - 1] as { indent: number }).indent >= indent) stack.pop();
    const parent = stack[stack.length - 1];
    const path = parent === undefined ? k : `${parent.path}.${k}`;
    if (rest === '') {
      stack.push({ indent, path });
    } else if (/^[|>][+-]?\d*$/.test(rest)) {
      skipDeeperThan = indent;
    } else {
      out.set(path, unquote(rest));
    }
  }
  return out;
}
