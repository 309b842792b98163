import type {
  ClusterObjects,
  Condition,
  Container,
  LabelSelector,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  ObjectListName,
  ObjectMeta,
  OwnerReference,
  PodSpec,
} from './objects.js';

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
 * @remarks Conforming values (the common case) are checked without building any path string.
 */
export function checkShape(value: unknown, shape: Shape, path: string): string | undefined {
  return conforms(value, shape) ? undefined : firstProblem(value, shape, path);
}

/** Whether `value` has `shape`: {@link firstProblem} without the messages, for the common case. */
function conforms(value: unknown, shape: Shape): boolean {
  switch (shape.k) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'intOrString':
      return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value));
    case 'enum':
      return typeof value === 'string' && shape.values.includes(value);
    case 'stringMap': {
      if (!isRecord(value)) return false;
      for (const k in value) if (Object.hasOwn(value, k) && typeof value[k] !== 'string') return false;
      return true;
    }
    case 'array': {
      if (!Array.isArray(value)) return false;
      for (let i = 0; i < value.length; i++) if (!conforms(value[i], shape.of)) return false;
      return true;
    }
    case 'object': {
      if (!isRecord(value)) return false;
      for (const key of shape.required) if (value[key] === undefined || value[key] === null) return false;
      const fields = shape.fields;
      for (const key in fields) {
        const v = value[key];
        if (v === undefined || v === null || !Object.hasOwn(value, key)) continue;
        if (!conforms(v, fields[key] as Shape)) return false;
      }
      return true;
    }
  }
}

/** The message of {@link checkShape} for a value that does not conform. */
function firstProblem(value: unknown, shape: Shape, path: string): string | undefined {
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
        if (conforms(value[i], shape.of)) continue;
        return firstProblem(value[i], shape.of, `${path}[${i}]`);
      }
      return undefined;
    }
    case 'object': {
      if (!isRecord(value)) return `${path}: expected ${expected(shape)}`;
      for (const key of shape.required) if (value[key] === undefined || value[key] === null) return `${path}: missing ${key}`;
      for (const [key, sub] of Object.entries(shape.fields)) {
        if (!Object.hasOwn(value, key)) continue;
        const v = value[key];
        if (v === undefined || v === null || conforms(v, sub)) continue;
        return firstProblem(v, sub, childPath(path, key));
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

/**
 * The fields kept of a value of type `T`: `true` keeps it whole; an object names the kept fields of
 * an object, or of each object of an array. Every field `T` declares must be listed, so that a field
 * added to the types in objects.ts fails to compile here until it is kept.
 */
export type Keep<T> = true | KeepFields<T>;

type Elem<T> = T extends readonly (infer E)[] ? E : T;

/** The per-field {@link Keep} of an object type (or of an array's element type). */
export type KeepFields<T> = { readonly [K in keyof Elem<NonNullable<T>>]-?: Keep<Elem<NonNullable<T>>[K]> };

const condition_: Keep<Condition> = { type: true, status: true, reason: true, message: true, lastTransitionTime: true };
const selector_: Keep<LabelSelector> = { matchLabels: true, matchExpressions: true };
const ownerRef_: Keep<OwnerReference> = { apiVersion: true, kind: true, name: true, uid: true, controller: true };
const metadata_: Keep<ObjectMeta> = {
  name: true,
  namespace: true,
  uid: true,
  labels: true,
  annotations: true,
  ownerReferences: ownerRef_,
  creationTimestamp: true,
  deletionTimestamp: true,
};
const container_: Keep<Container> = {
  name: true,
  image: true,
  command: true,
  args: true,
  env: { name: true, value: true },
  ports: { name: true, containerPort: true, protocol: true, hostPort: true, hostIP: true },
  restartPolicy: true,
};
const podSpec_: Keep<PodSpec> = { nodeName: true, hostNetwork: true, containers: container_, initContainers: container_, restartPolicy: true };
const peer_: Keep<NetworkPolicyPeer> = { podSelector: selector_, namespaceSelector: selector_, ipBlock: { cidr: true, except: true } };
const policyPort_: Keep<NetworkPolicyPort> = { protocol: true, port: true, endPort: true };

/** The fields of each object list skoop reads (objects.ts); the snapshot reader drops the rest. */
export const OBJECT_FIELDS: { readonly [L in ObjectListName]: Keep<ClusterObjects[L]> } = {
  nodes: {
    apiVersion: true,
    kind: true,
    metadata: metadata_,
    spec: { podCIDR: true, podCIDRs: true, taints: { key: true, value: true, effect: true }, unschedulable: true, providerID: true },
    status: {
      addresses: { type: true, address: true },
      conditions: condition_,
      nodeInfo: { kubeletVersion: true, kubeProxyVersion: true, containerRuntimeVersion: true, osImage: true, kernelVersion: true },
    },
  },
  namespaces: { apiVersion: true, kind: true, metadata: metadata_ },
  pods: {
    apiVersion: true,
    kind: true,
    metadata: metadata_,
    spec: podSpec_,
    status: {
      phase: true,
      podIP: true,
      podIPs: { ip: true },
      hostIP: true,
      hostIPs: { ip: true },
      conditions: condition_,
      containerStatuses: { name: true, ready: true, restartCount: true, started: true },
      reason: true,
    },
  },
  services: {
    apiVersion: true,
    kind: true,
    metadata: metadata_,
    spec: {
      type: true,
      clusterIP: true,
      clusterIPs: true,
      externalIPs: true,
      externalName: true,
      ports: { name: true, port: true, targetPort: true, protocol: true, nodePort: true, appProtocol: true },
      selector: true,
      externalTrafficPolicy: true,
      internalTrafficPolicy: true,
      loadBalancerSourceRanges: true,
      sessionAffinity: true,
      ipFamilies: true,
      healthCheckNodePort: true,
      publishNotReadyAddresses: true,
    },
    status: { loadBalancer: { ingress: { ip: true, hostname: true } } },
  },
  endpointSlices: {
    apiVersion: true,
    kind: true,
    metadata: metadata_,
    addressType: true,
    endpoints: {
      addresses: true,
      conditions: { ready: true, serving: true, terminating: true },
      nodeName: true,
      zone: true,
      targetRef: { kind: true, namespace: true, name: true, uid: true },
    },
    ports: { name: true, port: true, protocol: true, appProtocol: true },
  },
  networkPolicies: {
    apiVersion: true,
    kind: true,
    metadata: metadata_,
    spec: {
      podSelector: selector_,
      policyTypes: true,
      ingress: { from: peer_, ports: policyPort_ },
      egress: { to: peer_, ports: policyPort_ },
    },
  },
  daemonSets: {
    apiVersion: true,
    kind: true,
    metadata: metadata_,
    spec: { selector: selector_, template: { metadata: { labels: true }, spec: podSpec_ } },
    status: { desiredNumberScheduled: true, numberReady: true },
  },
  configMaps: { apiVersion: true, kind: true, metadata: metadata_, data: true },
  adminNetworkPolicies: { apiVersion: true, kind: true, metadata: metadata_, spec: true },
  baselineAdminNetworkPolicies: { apiVersion: true, kind: true, metadata: metadata_, spec: true },
  clusterNetworkPolicies: { apiVersion: true, kind: true, metadata: metadata_, spec: true },
  ipPools: {
    apiVersion: true,
    kind: true,
    metadata: metadata_,
    spec: { cidr: true, ipipMode: true, vxlanMode: true, natOutgoing: true, blockSize: true, disabled: true, nodeSelector: true },
  },
};

/**
 * `value` with only the fields `keep` names, in their original order (new objects and arrays;
 * `value` is not changed). Values of an unexpected JSON type are returned as they are, so that
 * {@link checkObject} reports them exactly as it would have.
 */
export function pruneFields(value: unknown, keep: Keep<unknown>): unknown {
  if (keep === true) return value;
  if (Array.isArray(value)) return value.map((v: unknown) => pruneFields(v, keep));
  if (!isRecord(value)) return value;
  const fields = keep as Readonly<Record<string, Keep<unknown>>>;
  const out: Record<string, unknown> = {};
  for (const key in value) {
    if (!Object.hasOwn(fields, key) || !Object.hasOwn(value, key)) continue;
    out[key] = pruneFields(value[key], fields[key] as Keep<unknown>);
  }
  return out;
}

/** What {@link pruneObject} does at one value: the shape it must have and the fields it keeps. */
type Plan =
  | { readonly k: 'whole'; readonly shape: Shape | undefined }
  | { readonly k: 'array'; readonly shape: Shape; readonly elem: Plan }
  | { readonly k: 'fields'; readonly shape: Shape | undefined; readonly fields: ReadonlyMap<string, Plan> };

function planOf(keep: Keep<unknown>, shape: Shape | undefined): Plan {
  if (shape?.k === 'array') return { k: 'array', shape, elem: planOf(keep, shape.of) };
  if (keep === true) return { k: 'whole', shape };
  const fields = new Map<string, Plan>();
  for (const [key, sub] of Object.entries(keep as Readonly<Record<string, Keep<unknown>>>)) {
    fields.set(key, planOf(sub, shape?.k === 'object' && Object.hasOwn(shape.fields, key) ? shape.fields[key] : undefined));
  }
  return { k: 'fields', shape, fields };
}

const PLANS = new Map<ObjectListName, Plan>(
  (Object.keys(OBJECT_FIELDS) as ObjectListName[]).map((list) => [list, planOf(OBJECT_FIELDS[list], OBJECT_SHAPES[list])]),
);

/** Set by {@link prunePlan} when the value does not have its shape. */
let misshapen = false;

function prunePlan(value: unknown, plan: Plan): unknown {
  switch (plan.k) {
    case 'whole':
      if (plan.shape !== undefined && !conforms(value, plan.shape)) misshapen = true;
      return value;
    case 'array':
      if (!Array.isArray(value)) {
        misshapen = true;
        return value;
      }
      return pruneEach(value, plan.elem);
    case 'fields': {
      if (!isRecord(value)) {
        if (plan.shape !== undefined) misshapen = true;
        else if (Array.isArray(value)) return pruneEach(value, plan);
        return value;
      }
      if (plan.shape?.k === 'object') {
        for (const key of plan.shape.required) if (value[key] === undefined || value[key] === null) misshapen = true;
      } else if (plan.shape !== undefined && !conforms(value, plan.shape)) misshapen = true;
      const out: Record<string, unknown> = {};
      for (const key in value) {
        const sub = plan.fields.get(key);
        if (sub === undefined || !Object.hasOwn(value, key)) continue;
        const v = value[key];
        out[key] = v === undefined || v === null ? v : prunePlan(v, sub);
      }
      return out;
    }
  }
}

function pruneEach(values: readonly unknown[], plan: Plan): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < values.length; i++) out.push(prunePlan(values[i], plan));
  return out;
}

/**
 * {@link pruneFields} of an item of `list` by {@link OBJECT_FIELDS}, and whether {@link checkObject}
 * finds it valid, in one walk: the snapshot reader's path for each API object.
 * @remarks The kept fields include every field {@link checkObject} looks at, so a value found invalid
 * gets the same message from `checkObject` after pruning as before.
 */
export function pruneObject(list: ObjectListName, value: unknown): { readonly value: unknown; readonly valid: boolean } {
  misshapen = false;
  const out = prunePlan(value, PLANS.get(list) as Plan);
  let valid = !misshapen && isRecord(value);
  if (valid) {
    const meta = (value as Record<string, unknown>)['metadata'];
    valid =
      isRecord(meta) &&
      typeof meta['name'] === 'string' &&
      meta['name'] !== '' &&
      (!NAMESPACED_LISTS.has(list) || (typeof meta['namespace'] === 'string' && meta['namespace'] !== ''));
  }
  return { value: out, valid };
}
