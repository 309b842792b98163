import { describe, expect, it } from 'vitest';
import { EXAMPLES } from '../../test/fixtures/results/examples.js';
import { buildGraph, LEVEL_BADGES } from './render-dot.js';
import { renderSvg } from './render-svg.js';

/** Text as Graphviz writes it into SVG (it also escapes `-` as `&#45;`). */
const svgText = (s: string): string =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/-/g, '&#45;');

describe('renderSvg', () => {
  it.each(EXAMPLES)('$name: a whole SVG document', async ({ result }) => {
    const svg = await renderSvg(result);
    expect(svg.startsWith('<?xml') || svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('<svg');
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });

  it.each(EXAMPLES)('$name: every path node and every line of every link label', async ({ result }) => {
    const svg = await renderSvg(result);
    for (const n of result.path.nodes) {
      expect(svg).toContain(`<title>${svgText(n.id)}</title>`);
      expect(svg).toContain(`>${svgText(n.id)}</text>`);
    }
    const labels = buildGraph(result).edges.map((e) => String(e.attributes.get('label')));
    expect(labels.length).toBeGreaterThanOrEqual(result.path.links.length);
    for (const line of labels.flatMap((l) => l.split('\n')))
      expect(svg).toContain(`>${svgText(line)}</text>`);
  });

  it.each(EXAMPLES)('$name: every suspicion code and the badge of each level', async ({ result }) => {
    const svg = await renderSvg(result);
    for (const s of result.suspicions) expect(svg).toContain(`>${svgText(s.code)}</text>`);
    for (const b of result.branches ?? [])
      for (const code of b.codes ?? []) expect(svg).toContain(svgText(code));
    const worst = result.suspicions.find((s) => s.level === 'fatal' || s.level === 'critical');
    if (worst !== undefined) expect(svg).toContain(`>${LEVEL_BADGES[worst.level]}</text>`);
  });
});
