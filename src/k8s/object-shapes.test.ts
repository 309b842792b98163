import { describe, expect, it } from 'vitest';
import { loadFixture } from '../../test/fixtures/k8s/builders.js';
import { checkObject, checkShape, childPath, OBJECT_FIELDS, OBJECT_SHAPES, pruneFields, pruneObject, type Keep, type Shape } from './object-shapes.js';
import { OBJECT_LISTS } from './objects.js';

describe('childPath', () => {
  it.each([
    { name: 'identifier', key: 'node1', want: 'netstack.node1' },
    { name: 'dashes stay readable', key: 'worker-1', want: 'netstack.worker-1' },
    { name: 'dots are quoted', key: 'ip-10-0-0-1.ec2.internal', want: 'netstack["ip-10-0-0-1.ec2.internal"]' },
    { name: 'slashes are quoted', key: 'app.kubernetes.io/name', want: 'netstack["app.kubernetes.io/name"]' },
  ])('$name', ({ key, want }) => {
    expect(childPath('netstack', key)).toBe(want);
  });
});

describe('checkObject', () => {
  it('every object of both fixtures conforms', () => {
    for (const file of ['flannel-cluster.json', 'calico-cluster.json']) {
      const objects = loadFixture(file);
      for (const list of OBJECT_LISTS) {
        objects[list].forEach((item, i) => expect(checkObject(list, item, `${list}[${i}]`)).toBeUndefined());
      }
    }
  });

  it.each([
    { name: 'cluster-scoped objects need no namespace', list: 'nodes' as const, value: { metadata: { name: 'n1' } }, want: undefined },
    { name: 'namespaced objects do', list: 'pods' as const, value: { metadata: { name: 'p' } }, want: 'x: missing metadata.namespace (p)' },
    { name: 'empty name', list: 'nodes' as const, value: { metadata: { name: '' } }, want: 'x: missing metadata.name' },
    { name: 'EndpointSlice needs addressType', list: 'endpointSlices' as const, value: { metadata: { name: 's', namespace: 'd' } }, want: 'x: missing addressType' },
    {
      name: 'endpoints need addresses',
      list: 'endpointSlices' as const,
      value: { metadata: { name: 's', namespace: 'd' }, addressType: 'IPv4', endpoints: [{ conditions: {} }] },
      want: 'x.endpoints[0]: missing addresses',
    },
    {
      name: 'targetPort may be a number or a name',
      list: 'services' as const,
      value: { metadata: { name: 's', namespace: 'd' }, spec: { ports: [{ port: 80, targetPort: 'http' }, { port: 81, targetPort: 8081 }] } },
      want: undefined,
    },
    {
      name: 'targetPort may not be a float',
      list: 'services' as const,
      value: { metadata: { name: 's', namespace: 'd' }, spec: { ports: [{ port: 80, targetPort: 80.5 }] } },
      want: 'x.spec.ports[0].targetPort: expected an integer or a string',
    },
  ])('$name', ({ list, value, want }) => {
    expect(checkObject(list, value, 'x')).toBe(want);
  });

  it('null is absent unless required', () => {
    expect(checkShape({ metadata: { name: 'a', labels: null } }, OBJECT_SHAPES.nodes, 'n')).toBeUndefined();
    expect(checkShape({ metadata: { name: 'a' }, spec: null }, OBJECT_SHAPES.ipPools, 'p')).toBe('p: missing spec');
  });
});

/** Every field path a shape declares, arrays unwrapped (`spec.ports.port`). */
function shapePaths(shape: Shape, prefix: string): string[] {
  if (shape.k === 'array') return shapePaths(shape.of, prefix);
  if (shape.k !== 'object') return [];
  return Object.entries(shape.fields).flatMap(([key, sub]) => [`${prefix}${key}`, ...shapePaths(sub, `${prefix}${key}.`)]);
}

/** Whether `keep` keeps the value at `path` (a `true` on the way keeps everything below). */
function kept(keep: Keep<unknown>, path: string): boolean {
  let k: Keep<unknown> = keep;
  for (const key of path.split('.')) {
    if (k === true) return true;
    const sub = (k as Readonly<Record<string, Keep<unknown>>>)[key];
    if (sub === undefined) return false;
    k = sub;
  }
  return true;
}

describe('OBJECT_FIELDS', () => {
  it.each(OBJECT_LISTS.map((list) => ({ list })))('keeps every field the shape of $list checks', ({ list }) => {
    const missing = shapePaths(OBJECT_SHAPES[list], '').filter((p) => !kept(OBJECT_FIELDS[list], p));
    expect(missing).toEqual([]);
  });
});

describe('pruneFields', () => {
  it('keeps the declared fields in their order, drops the others, and keeps whole what is kept whole', () => {
    const pod = {
      kind: 'Pod',
      metadata: { uid: 'u', name: 'p', resourceVersion: '7', labels: { b: '1', a: '2' } },
      spec: { tolerations: [{ key: 'k' }], containers: [{ name: 'c', resources: { limits: {} }, ports: [{ containerPort: 80, extra: 1 }] }] },
      status: { qosClass: 'Burstable', conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null }] },
    };
    expect(pruneFields(pod, OBJECT_FIELDS.pods)).toEqual({
      kind: 'Pod',
      metadata: { uid: 'u', name: 'p', labels: { b: '1', a: '2' } },
      spec: { containers: [{ name: 'c', ports: [{ containerPort: 80 }] }] },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
    expect(Object.keys((pruneFields(pod, OBJECT_FIELDS.pods) as typeof pod).metadata)).toEqual(['uid', 'name', 'labels']);
  });

  it.each([
    { name: 'a string where an object is expected', value: { metadata: 'x' } },
    { name: 'null', value: null },
    { name: 'an array item', value: [1, { metadata: { name: 'n', x: 1 } }] },
  ])('leaves values of an unexpected type as they are: $name', ({ value }) => {
    expect(JSON.stringify(pruneFields(value, OBJECT_FIELDS.nodes))).toBe(
      JSON.stringify(value).replace(',"x":1', ''),
    );
  });

  it('keeps a policy spec whole', () => {
    const anp = { metadata: { name: 'a' }, spec: { priority: 3, subject: { namespaces: {} } } };
    expect(pruneFields(anp, OBJECT_FIELDS.adminNetworkPolicies)).toEqual(anp);
  });
});

describe('pruneObject', () => {
  const objects = [loadFixture('flannel-cluster.json'), loadFixture('calico-cluster.json')];
  it('prunes as pruneFields does and finds every fixture object valid', () => {
    for (const o of objects) {
      for (const list of OBJECT_LISTS) {
        for (const item of o[list]) {
          const r = pruneObject(list, item);
          expect(r.valid).toBe(true);
          expect(r.value).toEqual(pruneFields(item, OBJECT_FIELDS[list]));
        }
      }
    }
  });

  it.each([
    { name: 'not an object', list: 'pods' as const, value: 'p' },
    { name: 'no metadata', list: 'nodes' as const, value: { spec: {} } },
    { name: 'empty name', list: 'nodes' as const, value: { metadata: { name: '' } } },
    { name: 'no namespace', list: 'pods' as const, value: { metadata: { name: 'p' } } },
    { name: 'a required key missing', list: 'endpointSlices' as const, value: { metadata: { name: 's', namespace: 'd' } } },
    { name: 'a required key null', list: 'ipPools' as const, value: { metadata: { name: 'p' }, spec: { cidr: null } } },
    { name: 'a bad enum', list: 'services' as const, value: { metadata: { name: 's', namespace: 'd' }, spec: { ports: [{ port: 1, protocol: 'tcp' }] } } },
    { name: 'an item of the wrong type', list: 'nodes' as const, value: { metadata: { name: 'n' }, status: { conditions: [{ type: 'Ready', status: 'True' }, 3] } } },
    { name: 'an array expected', list: 'pods' as const, value: { metadata: { name: 'p', namespace: 'd' }, status: { podIPs: '10.0.0.1' } } },
    { name: 'a label not a string', list: 'pods' as const, value: { metadata: { name: 'p', namespace: 'd', labels: { a: 1 } } } },
    { name: 'a float port', list: 'services' as const, value: { metadata: { name: 's', namespace: 'd' }, spec: { ports: [{ port: 80, targetPort: 80.5 }] } } },
  ])('finds what checkObject finds, and leaves it the same message: $name', ({ list, value }) => {
    const r = pruneObject(list, value);
    expect(r.valid).toBe(false);
    expect(checkObject(list, r.value, 'x')).toBe(checkObject(list, value, 'x'));
    expect(checkObject(list, value, 'x')).toBeDefined();
  });
});
