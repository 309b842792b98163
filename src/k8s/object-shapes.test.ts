import { describe, expect, it } from 'vitest';
import { loadFixture } from '../../test/fixtures/k8s/builders.js';
import { checkObject, checkShape, childPath, OBJECT_SHAPES } from './object-shapes.js';
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
