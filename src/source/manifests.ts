import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { usageError } from '../errors.js';
import { completeObjects, groupObjectsByKind, type ClusterObjects, type KubeObject, type Pod, type PodSpec, type StringMap } from '../k8s/objects.js';

/** A Deployment as far as `-f` manifests need it: its pod template and replica count. */
interface DeploymentLike extends KubeObject {
  readonly spec?: {
    readonly replicas?: number;
    readonly template?: { readonly metadata?: { readonly labels?: StringMap }; readonly spec?: PodSpec };
  };
}

const EXTENSIONS = ['.yaml', '.yml', '.json'];

/** The first address of the range manifest pods without an IP are given (RFC 2544 benchmarking range, never routed). */
export const SYNTHETIC_POD_RANGE = '198.18.0.0/15';

async function listFiles(path: string): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const out: string[] = [];
  for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else if (EXTENSIONS.some((e) => entry.name.endsWith(e))) out.push(full);
  }
  return out;
}

/**
 * Turns manifest documents into snapshot object lists: `List` items are flattened, each Deployment
 * stands for `spec.replicas` (default 1) pods named `<deployment>-<n>` with its template's labels and
 * containers, and every pod without `status.podIP` gets a synthetic one.
 *
 * @remarks
 * Synthetic IPs come from {@link SYNTHETIC_POD_RANGE} (198.18.0.1, 198.18.0.2, … in document order)
 * so that `ipBlock` rules can be judged against an address no real cluster uses; policies written
 * with `ipBlock`s for the real pod CIDR will therefore not match these pods. Pods with an IP in
 * the manifests keep it.
 */
export function manifestObjects(documents: readonly unknown[]): ClusterObjects {
  const items: KubeObject[] = [];
  const flatten = (doc: unknown): void => {
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return;
    const obj = doc as KubeObject & { items?: unknown[] };
    if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items)) {
      obj.items.forEach(flatten);
      return;
    }
    if (obj.metadata === undefined || typeof obj.metadata.name !== 'string') return;
    items.push(obj);
  };
  documents.forEach(flatten);
  const pods: Pod[] = [];
  const rest: KubeObject[] = [];
  for (const item of items) {
    if (item.kind === 'Deployment') {
      const d = item as DeploymentLike;
      const replicas = typeof d.spec?.replicas === 'number' ? Math.max(0, d.spec.replicas) : 1;
      for (let n = 0; n < replicas; n++) {
        pods.push({
          kind: 'Pod',
          metadata: { name: `${d.metadata.name}-${n}`, namespace: d.metadata.namespace ?? 'default', labels: d.spec?.template?.metadata?.labels ?? {} },
          spec: d.spec?.template?.spec ?? {},
        });
      }
    } else if (item.kind === 'Pod') {
      const p = item as Pod;
      pods.push({ ...p, metadata: { ...p.metadata, namespace: p.metadata.namespace ?? 'default' } });
    } else {
      const ns = item.metadata.namespace;
      rest.push(ns === undefined && (item.kind === 'NetworkPolicy' || item.kind === 'Service') ? { ...item, metadata: { ...item.metadata, namespace: 'default' } } : item);
    }
  }
  let next = 1;
  const withIps = pods.map((p): Pod => {
    if (p.status?.podIP !== undefined) return p;
    const ip = `198.${18 + Math.floor(next / 65536)}.${Math.floor(next / 256) % 256}.${next % 256}`;
    next++;
    return { ...p, status: { ...(p.status ?? {}), phase: p.status?.phase ?? 'Running', podIP: ip, podIPs: [{ ip }] } };
  });
  const { objects } = groupObjectsByKind(rest);
  return completeObjects({ ...objects, pods: withIps });
}

/** Reads every `.yaml`, `.yml` and `.json` file under `path` (a file or a directory, recursively) as manifests. */
export async function readManifests(path: string): Promise<ClusterObjects> {
  let files: string[];
  try {
    files = await listFiles(path);
  } catch (cause) {
    throw usageError('MANIFESTS_UNREADABLE', `cannot read ${path}`, 'pass -f a directory or file of YAML/JSON manifests', cause);
  }
  // Loaded here, not with the module: the diagnosis of a snapshot needs no YAML parser.
  const { parseAllDocuments } = await import('yaml');
  const documents: unknown[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) {
        throw usageError('MANIFEST_INVALID', `${file}: ${doc.errors[0]?.message ?? 'invalid YAML'}`, 'fix the manifest (it must be valid YAML or JSON)');
      }
      documents.push(doc.toJS());
    }
  }
  return manifestObjects(documents);
}
