import { describe, expect, it } from 'vitest';
import { readFixtureJson } from '../../test/fixtures/k8s/builders.js';
import { completeObjects, groupObjectsByKind, objectId, type KubeObject } from './objects.js';

describe('groupObjectsByKind', () => {
  it('sorts a kubectl List into snapshot lists', () => {
    const list = readFixtureJson('calico-cluster.json') as { items: KubeObject[] };
    const { objects, ignored } = groupObjectsByKind([...list.items, { kind: 'Deployment', metadata: { name: 'x', namespace: 'd' } }]);
    const counts = Object.fromEntries(Object.entries(objects).map(([k, v]) => [k, v.length]));
    expect(counts).toEqual({ nodes: 2, namespaces: 4, pods: 6, services: 2, endpointSlices: 2, daemonSets: 3, configMaps: 1, ipPools: 3 });
    expect(ignored.map((o) => o.kind)).toEqual(['Deployment']);
  });

  it('completeObjects fills missing lists', () => {
    const all = completeObjects({});
    expect(Object.values(all).every((l) => Array.isArray(l) && l.length === 0)).toBe(true);
    expect(Object.keys(all)).toHaveLength(12);
  });

  it('objectId', () => {
    expect(objectId({ metadata: { name: 'web', namespace: 'shop' } })).toBe('shop/web');
  });
});
