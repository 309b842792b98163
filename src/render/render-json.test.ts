import { describe, expect, it } from 'vitest';
import { EXAMPLES, partialServiceBlackhole } from '../../test/fixtures/results/examples.js';
import type { Result } from '../model/result.js';
import { renderJson } from './render-json.js';

describe('renderJson golden files', () => {
  it.each(EXAMPLES)('$name', async ({ name, result }) => {
    await expect(renderJson(result)).toMatchFileSnapshot(`../../test/golden/render/${name}.json`);
  });
});

describe('renderJson', () => {
  it.each(EXAMPLES)('$name: parses back to the same Result', ({ result }) => {
    const text = renderJson(result);
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual(result);
  });

  it('orders keys as the contract does whatever the build order', () => {
    const r = partialServiceBlackhole();
    const shuffled = {
      request: r.request,
      branches: r.branches?.map((b) => ({
        codes: b.codes,
        links: b.links,
        outcome: b.outcome,
        probability: b.probability,
      })),
      path: {
        links: r.path.links.map((l) => ({
          action: l.action,
          packet: { protocol: 'tcp', dport: 80, sport: 1, dst: 'b', src: 'a' },
          to: l.to,
          from: l.from,
          type: l.type,
        })),
        nodes: r.path.nodes.map((n) => ({ type: n.type, id: n.id })),
      },
      suspicions: r.suspicions.map((s) => ({ message: s.message, on: s.on, code: s.code, level: s.level })),
      destination: { protocol: 'tcp', port: 80, id: 'shop/cart', type: 'service', ip: '10.96.0.10' },
      source: { id: 'default/client', type: 'pod', ip: '10.244.1.5' },
      verdict: r.verdict,
    } as unknown as Result;
    const doc = JSON.parse(renderJson(shuffled)) as Record<
      string,
      Record<string, unknown> & { links?: unknown }
    >;
    expect(Object.keys(doc)).toEqual([
      'verdict',
      'source',
      'destination',
      'suspicions',
      'path',
      'branches',
      'request',
    ]);
    expect(Object.keys(doc.destination ?? {})).toEqual(['ip', 'type', 'id', 'port', 'protocol']);
    const path = doc.path as { nodes: object[]; links: { packet: object }[] };
    expect(Object.keys(path)).toEqual(['nodes', 'links']);
    expect(Object.keys(path.nodes[0] ?? {})).toEqual(['id', 'type']);
    expect(Object.keys(path.links[0] ?? {})).toEqual(['from', 'to', 'type', 'packet', 'action']);
    expect(Object.keys(path.links[0]?.packet ?? {})).toEqual(['src', 'dst', 'sport', 'dport', 'protocol']);
    const suspicions = doc.suspicions as unknown as object[];
    expect(Object.keys(suspicions[0] ?? {})).toEqual(['level', 'code', 'on', 'message']);
    const branches = doc.branches as unknown as object[];
    expect(Object.keys(branches[2] ?? {})).toEqual(['probability', 'outcome', 'links', 'codes']);
  });

  it('keeps fields it does not know, after the known ones', () => {
    const r = { extra: 1, ...partialServiceBlackhole() } as unknown as Result;
    expect(Object.keys(JSON.parse(renderJson(r)) as object).at(-1)).toBe('extra');
  });

  it('leaves out absent optional parts', () => {
    const { branches: _b, request: _r, ...rest } = partialServiceBlackhole();
    expect(Object.keys(JSON.parse(renderJson(rest)) as object)).toEqual([
      'verdict',
      'source',
      'destination',
      'suspicions',
      'path',
    ]);
  });
});
