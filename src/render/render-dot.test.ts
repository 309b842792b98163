import { describe, expect, it } from 'vitest';
import {
  EXAMPLES,
  partialServiceBlackhole,
  reachablePodToPod,
  unknownNotCollected,
  unreachableIptablesDrop,
} from '../../test/fixtures/results/examples.js';
import type { Result } from '../model/result.js';
import { branchEndId, buildGraph, LEVEL_BADGES, NODE_SHAPES, renderDot } from './render-dot.js';

describe('renderDot golden files', () => {
  it.each(EXAMPLES)('$name', async ({ name, result }) => {
    await expect(renderDot(result)).toMatchFileSnapshot(`../../test/golden/render/${name}.dot`);
  });
});

const nodeAttr = (result: Result, id: string, key: 'shape' | 'label' | 'color' | 'xlabel'): unknown =>
  buildGraph(result).getNode(id)?.attributes.get(key);

describe('buildGraph', () => {
  it.each(EXAMPLES)(
    '$name: one node per path node, shaped by its kind, labelled type and id',
    ({ result }) => {
      for (const n of result.path.nodes) {
        expect(nodeAttr(result, n.id, 'shape')).toBe(NODE_SHAPES[n.type]);
        expect(
          String(nodeAttr(result, n.id, 'label'))
            .split('\n')
            .slice(0, 2),
        ).toEqual([n.type, n.id]);
      }
    },
  );

  it.each(EXAMPLES)('$name: one edge per link, then one per branch that did not deliver', ({ result }) => {
    const undelivered = (result.branches ?? []).filter((b) => b.outcome !== 'delivered').length;
    expect(buildGraph(result).edges).toHaveLength(result.path.links.length + undelivered);
  });

  it('gives pods, nodes, Services and externals distinct shapes', () => {
    expect(new Set(Object.values(NODE_SHAPES)).size).toBe(4);
  });

  it.each([
    {
      name: 'fatal blackhole on node-2',
      result: partialServiceBlackhole(),
      id: 'node-2',
      level: 'fatal' as const,
      code: 'ROUTE_BLACKHOLE',
    },
    {
      name: 'warning MTU on node-1',
      result: partialServiceBlackhole(),
      id: 'node-1',
      level: 'warning' as const,
      code: 'MTU_MISMATCH',
    },
    {
      name: 'fatal drop on the pod',
      result: unreachableIptablesDrop(),
      id: 'default/db-0',
      level: 'fatal' as const,
      code: 'IPTABLES_DROP',
    },
    {
      name: 'critical beats info',
      result: unknownNotCollected(),
      id: 'node-1',
      level: 'critical' as const,
      code: 'NETSTACK_NOT_COLLECTED',
    },
  ])('badges a hop with its worst level: $name', ({ result, id, level, code }) => {
    const label = String(nodeAttr(result, id, 'label')).split('\n');
    expect(label[2]).toBe(LEVEL_BADGES[level]);
    expect(label).toContain(code);
    expect(nodeAttr(result, id, 'color')).toBeDefined();
  });

  it('leaves hops without suspicion unbadged and uncoloured', () => {
    const r = reachablePodToPod();
    expect(String(nodeAttr(r, 'node-1', 'label'))).toBe('node\nnode-1');
    expect(nodeAttr(r, 'node-1', 'color')).toBeUndefined();
  });

  it('ends a dropped branch in a dashed red edge to a point labelled with its code', () => {
    const g = buildGraph(partialServiceBlackhole());
    const end = g.getNode(branchEndId(2));
    expect(end?.attributes.get('shape')).toBe('point');
    expect(end?.attributes.get('xlabel')).toBe('ROUTE_BLACKHOLE');
    const edge = g.edges.find((e) => e.targets.some((t) => 'id' in t && t.id === branchEndId(2)));
    expect(edge?.attributes.get('style')).toBe('dashed');
    expect(edge?.attributes.get('color')).toBe('red');
    expect(edge?.targets.map((t) => ('id' in t ? t.id : undefined))).toEqual(['node-2', branchEndId(2)]);
  });

  it('labels each Service fork with its backend and the DNAT', () => {
    const labels = buildGraph(partialServiceBlackhole()).edges.map((e) => String(e.attributes.get('label')));
    expect(labels.filter((l) => l.includes('(33%)') && l.includes('→ shop/cart-'))).toHaveLength(3);
    expect(labels).toContain(
      'vxlan flannel.1→flannel.1\nDNAT 10.96.0.10:80→10.244.2.14:8080\n10.244.1.5→10.244.2.14:8080\n→ shop/cart-2c4e1-z9x8c 10.244.2.14:8080 (33%)',
    );
  });

  it('labels a link with its interfaces and packet', () => {
    const labels = buildGraph(reachablePodToPod()).edges.map((e) => e.attributes.get('label'));
    expect(labels[0]).toBe('veth eth0→veth3f2a9c1e\n10.244.1.5→10.244.2.7:8080');
  });

  it('draws a hop named only by a suspicion as a dashed box', () => {
    const r: Result = {
      ...reachablePodToPod(),
      suspicions: [{ level: 'warning', code: 'NETWORK_POLICY_NOT_ENFORCED', on: 'cluster', message: 'm' }],
    };
    expect(nodeAttr(r, 'cluster', 'shape')).toBe('box');
    expect(String(nodeAttr(r, 'cluster', 'label'))).toContain(LEVEL_BADGES.warning);
  });

  it('is deterministic', () => {
    expect(renderDot(partialServiceBlackhole())).toBe(renderDot(partialServiceBlackhole()));
  });
});
