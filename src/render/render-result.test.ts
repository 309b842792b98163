import { describe, expect, it } from 'vitest';
import { unreachableIptablesDrop } from '../../test/fixtures/results/examples.js';
import { renderDot } from './render-dot.js';
import { renderJson } from './render-json.js';
import { RENDER_FORMATS, renderResult } from './render-result.js';
import { renderText } from './render-text.js';
import { renderHtml } from './render-html.js';

describe('renderResult', () => {
  const result = unreachableIptablesDrop();

  it.each([
    { name: 'text', format: 'text' as const, expected: renderText(result, { color: true, width: 80 }) },
    { name: 'json', format: 'json' as const, expected: renderJson(result) },
    { name: 'dot', format: 'dot' as const, expected: renderDot(result) },
  ])('$name dispatches to its renderer', async ({ format, expected }) => {
    expect(await renderResult(result, format, { color: true, width: 80 })).toBe(expected);
  });

  it('html is the self-contained report', async () => {
    expect(await renderResult(result, 'html', { color: false })).toBe(await renderHtml(result));
  });

  it('svg renders through WebAssembly Graphviz', async () => {
    const svg = await renderResult(result, 'svg', { color: false });
    expect(svg).toContain('</svg>');
    expect(svg).toContain('IPTABLES_DROP');
  });

  it('knows exactly the formats of --format', () => {
    expect(RENDER_FORMATS).toEqual(['text', 'json', 'dot', 'svg', 'html']);
  });
});
