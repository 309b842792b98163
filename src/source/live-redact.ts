import type { Snapshot } from './snapshot.js';

/** Namespaces every cluster has: their names say nothing about the user and detection relies on them. */
const WELL_KNOWN_NAMESPACES: ReadonlySet<string> = new Set([
  'default',
  'kube-system',
  'kube-public',
  'kube-node-lease',
  'kube-flannel',
  'calico-system',
  'calico-apiserver',
  'tigera-operator',
]);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Replaces namespace and pod names consistently (`ns-1`, `pod-1`, … in order of first appearance)
 * for sharing a snapshot: in object metadata, EndpointSlice `targetRef`s, owner references, the
 * `kubernetes.io/metadata.name` label, NetworkPolicy namespace selectors on that label, the netstack
 * pod keys, and `namespace/` prefixes in rule comments. Well-known system namespaces are kept.
 */
export function redactSnapshot(snapshot: Snapshot): Snapshot {
  const namespaces = new Map<string, string>();
  const pods = new Map<string, string>();
  const ns = (name: string): string => {
    if (WELL_KNOWN_NAMESPACES.has(name)) return name;
    let v = namespaces.get(name);
    if (v === undefined) namespaces.set(name, (v = `ns-${namespaces.size + 1}`));
    return v;
  };
  const pod = (namespace: string, name: string): string => {
    const k = `${namespace}/${name}`;
    let v = pods.get(k);
    if (v === undefined) pods.set(k, (v = `pod-${pods.size + 1}`));
    return v;
  };
  const objects = JSON.parse(JSON.stringify(snapshot.objects)) as Record<string, { [k: string]: Json }[]>;
  for (const p of objects['pods'] ?? []) {
    const meta = p['metadata'] as { name: string; namespace?: string; ownerReferences?: unknown };
    const original = meta.namespace ?? 'default';
    meta.name = pod(original, meta.name);
    meta.namespace = ns(original);
  }
  for (const [list, items] of Object.entries(objects)) {
    for (const o of items) {
      const meta = o['metadata'] as { name: string; namespace?: string; labels?: Record<string, string> };
      if (list === 'namespaces') {
        meta.name = ns(meta.name);
        if (meta.labels?.['kubernetes.io/metadata.name'] !== undefined) meta.labels['kubernetes.io/metadata.name'] = meta.name;
      } else if (list !== 'pods' && meta.namespace !== undefined) meta.namespace = ns(meta.namespace);
      if (list === 'endpointSlices') {
        for (const ep of (o['endpoints'] ?? []) as { targetRef?: { kind?: string; name?: string; namespace?: string } }[]) {
          const ref = ep.targetRef;
          if (ref?.kind === 'Pod' && ref.name !== undefined) {
            const sliceNs = meta.namespace ?? 'default';
            const originalNs = ref.namespace ?? [...namespaces.entries()].find(([, v]) => v === sliceNs)?.[0] ?? sliceNs;
            ref.name = pod(originalNs, ref.name);
            ref.namespace = ns(originalNs);
          }
        }
      }
    }
  }
  let text = JSON.stringify(objects);
  text = text.replace(/"kubernetes\.io\/metadata\.name":\["([^"]*)"\]/g, (_m, v: string) => `"kubernetes.io/metadata.name":["${ns(v)}"]`);
  const netstack: Record<string, { host?: unknown; pods: Record<string, unknown> }> = {};
  for (const [node, entry] of Object.entries(snapshot.netstack)) {
    const renamed: Record<string, unknown> = {};
    for (const [key, dump] of Object.entries(entry.pods)) {
      const [n = '', name = ''] = key.split('/');
      renamed[`${ns(n)}/${pod(n, name)}`] = dump;
    }
    netstack[node] = { ...(entry.host !== undefined ? { host: entry.host } : {}), pods: renamed };
  }
  let stack = JSON.stringify(netstack);
  for (const [from, to] of namespaces) stack = stack.replace(new RegExp(`(?<=[\\s"'=])${escapeRe(from)}/`, 'g'), `${to}/`);
  return { ...snapshot, objects: JSON.parse(text) as Snapshot['objects'], netstack: JSON.parse(stack) as Snapshot['netstack'] };
}

/**
 * Removes what a snapshot must never carry: environment variable values of pods (DaemonSets keep
 * only the CNI's own settings, CALICO_*, FELIX_*, FLANNELD_*, IP*, CLUSTER_TYPE, which detection reads).
 */
export function scrubSnapshot(snapshot: Snapshot): Snapshot {
  const keep = /^(CALICO_|FELIX_|FLANNELD_|IP$|IP6$|IP_AUTODETECTION|IP6_AUTODETECTION|CLUSTER_TYPE$)/;
  const scrub = (o: unknown, isPod: boolean): unknown =>
    JSON.parse(JSON.stringify(o), (k, v: unknown) => {
      if (k !== 'env' || !Array.isArray(v)) return v;
      return (v as { name?: string; value?: string }[]).map((e) => (isPod || e.name === undefined || !keep.test(e.name) ? { name: e.name } : e));
    });
  return {
    ...snapshot,
    objects: {
      ...snapshot.objects,
      pods: scrub(snapshot.objects.pods, true) as Snapshot['objects']['pods'],
      daemonSets: scrub(snapshot.objects.daemonSets, false) as Snapshot['objects']['daemonSets'],
    },
  };
}
