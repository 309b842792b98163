import type { ObjectListName } from './objects.js';

/**
 * The JSON shape of the fields skoop reads from an API object: used at the snapshot boundary so that
 * the index can trust what it reads. Fields not declared are not checked (forward compatible).
 */
export type Shape =
  | { readonly k: 'string' | 'integer' | 'boolean' | 'intOrString' | 'stringMap' }
  | { readonly k: 'enum'; readonly values: readonly string[] }
  | { readonly k: 'array'; readonly of: Shape }
  | { readonly k: 'object'; readonly fields: Readonly<Record<string, Shape>>; readonly required: readonly string[] };

const str: Shape = { k: 'string' };
const int: Shape = { k: 'integer' };
const bool: Shape = { k: 'boolean' };
const intOrStr: Shape = { k: 'intOrString' };
const strMap: Shape = { k: 'stringMap' };
const oneOf = (...values: string[]): Shape => ({ k: 'enum', values });
const arr = (of: Shape): Shape => ({ k: 'array', of });
const obj = (fields: Readonly<Record<string, Shape>>, required: readonly string[] = []): Shape => ({ k: 'object', fields, required });

const protocol = oneOf('TCP', 'UDP', 'SCTP');
const condition = obj({ type: str, status: str, reason: str, message: str }, ['type', 'status']);
const labelSelector = obj({
  matchLabels: strMap,
  matchExpressions: arr(obj({ key: str, operator: oneOf('In', 'NotIn', 'Exists', 'DoesNotExist'), values: arr(str) }, ['key', 'operator'])),
});
const container = obj({
  name: str,
  image: str,
  command: arr(str),
  args: arr(str),
  env: arr(obj({ name: str, value: str }, ['name'])),
  ports: arr(obj({ name: str, containerPort: int, protocol, hostPort: int, hostIP: str }, ['containerPort'])),
  restartPolicy: str,
});
const podSpec = obj({ nodeName: str, hostNetwork: bool, containers: arr(container), initContainers: arr(container), restartPolicy: str });
const metadata = obj({
  name: str,
  namespace: str,
  uid: str,
  labels: strMap,
  annotations: strMap,
  ownerReferences: arr(obj({ kind: str, name: str, controller: bool }, ['kind', 'name'])),
  deletionTimestamp: str,
});
const peer = obj({ podSelector: labelSelector, namespaceSelector: labelSelector, ipBlock: obj({ cidr: str, except: arr(str) }, ['cidr']) });
const policyPort = obj({ protocol, port: intOrStr, endPort: int });

/** The shape of each object list's items (metadata.name and namespace are checked separately). */
export const OBJECT_SHAPES: Readonly<Record<ObjectListName, Shape>> = {
  nodes: obj({
    metadata,
    spec: obj({ podCIDR: str, podCIDRs: arr(str), taints: arr(obj({ key: str, value: str, effect: str })), unschedulable: bool }),
    status: obj({ addresses: arr(obj({ type: str, address: str }, ['type', 'address'])), conditions: arr(condition) }),
  }),
  namespaces: obj({ metadata }),
  pods: obj({
    metadata,
    spec: podSpec,
    status: obj({
      phase: str,
      podIP: str,
      podIPs: arr(obj({ ip: str }, ['ip'])),
      hostIP: str,
      hostIPs: arr(obj({ ip: str }, ['ip'])),
      conditions: arr(condition),
      containerStatuses: arr(obj({ name: str, ready: bool }, ['name'])),
    }),
  }),
  services: obj({
    metadata,
    spec: obj({
      type: str,
      clusterIP: str,
      clusterIPs: arr(str),
      externalIPs: arr(str),
      externalName: str,
      ports: arr(obj({ name: str, port: int, targetPort: intOrStr, protocol, nodePort: int }, ['port'])),
      selector: strMap,
      externalTrafficPolicy: str,
      internalTrafficPolicy: str,
      loadBalancerSourceRanges: arr(str),
      sessionAffinity: str,
      healthCheckNodePort: int,
    }),
    status: obj({ loadBalancer: obj({ ingress: arr(obj({ ip: str, hostname: str })) }) }),
  }),
  endpointSlices: obj(
    {
      metadata,
      addressType: oneOf('IPv4', 'IPv6', 'FQDN'),
      endpoints: arr(
        obj(
          {
            addresses: arr(str),
            conditions: obj({ ready: bool, serving: bool, terminating: bool }),
            nodeName: str,
            zone: str,
            targetRef: obj({ kind: str, namespace: str, name: str }),
          },
          ['addresses'],
        ),
      ),
      ports: arr(obj({ name: str, port: int, protocol })),
    },
    ['addressType'],
  ),
  networkPolicies: obj({
    metadata,
    spec: obj({
      podSelector: labelSelector,
      policyTypes: arr(oneOf('Ingress', 'Egress')),
      ingress: arr(obj({ from: arr(peer), ports: arr(policyPort) })),
      egress: arr(obj({ to: arr(peer), ports: arr(policyPort) })),
    }),
  }),
  daemonSets: obj({
    metadata,
    spec: obj({ selector: labelSelector, template: obj({ metadata: obj({ labels: strMap }), spec: podSpec }) }),
  }),
  configMaps: obj({ metadata, data: strMap }),
  adminNetworkPolicies: obj({ metadata, spec: obj({}) }),
  baselineAdminNetworkPolicies: obj({ metadata, spec: obj({}) }),
  clusterNetworkPolicies: obj({ metadata, spec: obj({}) }),
  ipPools: obj(
    {
      metadata,
      spec: obj(
        { cidr: str, ipipMode: str, vxlanMode: str, natOutgoing: bool, blockSize: int, disabled: bool, nodeSelector: str },
        ['cidr'],
      ),
    },
    ['spec'],
  ),
};

/** Object lists whose items live in a namespace (and must say which). */
export const NAMESPACED_LISTS: ReadonlySet<ObjectListName> = new Set<ObjectListName>([
  'pods',
  'services',
  'endpointSlices',
  'networkPolicies',
  'daemonSets',
  'configMaps',
]);

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function expected(shape: Shape): string {
  switch (shape.k) {
    case 'string':
      return 'a string';
    case 'integer':
      return 'an integer';
    case 'boolean':
      return 'a boolean';
    case 'intOrString':
      return 'an integer or a string';
    case 'stringMap':
      return 'an object of strings';
    case 'enum':
      return `one of ${shape.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'array':
      return 'an array';
    case 'object':
      return 'an object';
  }
}

/** `path` extended by a property name, as `a.b` or `a["x.y"]` when the name needs quoting. */
export function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * The first place where `value` does not have `shape`, as `path: expected …` or `path: missing key`;
 * `undefined` when it conforms. `null` counts as absent (Go serialises nil slices as `null`).
 */
export function checkShape(value: unknown, shape: Shape, path: string): string | undefined {
  switch (shape.k) {
    case 'string':
      return typeof value === 'string' ? undefined : `${path}: expected ${expected(shape)}`;
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) ? undefined : `${path}: expected ${expected(shape)}`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${path}: expected ${expected(shape)}`;
    case 'intOrString':
      return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)) ? undefined : `${path}: expected ${expected(shape)}`;
    case 'enum':
      return typeof value === 'string' && shape.values.includes(value) ? undefined : `${path}: expected ${expected(shape)}, got ${JSON.stringify(value)}`;
    case 'stringMap': {
      if (!isRecord(value)) return `${path}: expected ${expected(shape)}`;
      for (const [k, v] of Object.entries(value)) if (typeof v !== 'string') return `${childPath(path, k)}: expected a string`;
      return undefined;
    }
    case 'array': {
      if (!Array.isArray(value)) return `${path}: expected ${expected(shape)}`;
      for (let i = 0; i < value.length; i++) {
        const error = checkShape(value[i], shape.of, `${path}[${i}]`);
        if (error !== undefined) return error;
      }
      return undefined;
    }
    case 'object': {
      if (!isRecord(value)) return `${path}: expected ${expected(shape)}`;
      for (const key of shape.required) if (value[key] === undefined || value[key] === null) return `${path}: missing ${key}`;
      for (const [key, sub] of Object.entries(shape.fields)) {
        if (!Object.hasOwn(value, key)) continue;
        const v = value[key];
        if (v === undefined || v === null) continue;
        const error = checkShape(v, sub, childPath(path, key));
        if (error !== undefined) return error;
      }
      return undefined;
    }
  }
}

/**
 * The first problem with item `value` of list `list` at `path`: not an object, no
 * `metadata.name`, no `metadata.namespace` on a namespaced kind, or a field of the wrong type.
 */
export function checkObject(list: ObjectListName, value: unknown, path: string): string | undefined {
  if (!isRecord(value)) return `${path}: expected an API object`;
  const meta = value['metadata'];
  if (!isRecord(meta)) return `${path}: missing metadata.name`;
  if (typeof meta['name'] !== 'string' || meta['name'] === '') return `${path}: missing metadata.name`;
  if (NAMESPACED_LISTS.has(list) && (typeof meta['namespace'] !== 'string' || meta['namespace'] === '')) {
    return `${path}: missing metadata.namespace (${meta['name']})`;
  }
  return checkShape(value, OBJECT_SHAPES[list], path);
}
