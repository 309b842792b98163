import { describe, expect, it } from 'vitest';
import {
  EXAMPLES,
  partialServiceBlackhole,
  pod,
  reachablePodToPod,
  unreachableIptablesDrop,
} from '../../test/fixtures/results/examples.js';
import type { Result } from '../model/result.js';
import { SUSPICION_CODES } from '../model/suspicion.js';
import { escapeHtml } from './html-escape.js';
import { embedSvg, renderHtml, renderHtmlPage, REPORT_CSP } from './render-html.js';
import { renderJson } from './render-json.js';
import { renderSvg } from './render-svg.js';
import { SUSPICION_HINTS } from './suspicion-hints.js';

/** The markup of the hop panel of `hop`, from its opening tag to its closing one. */
function panelOf(html: string, hop: string): string {
  const start = html.indexOf(`class="card hop-panel" id="`);
  const open = html.indexOf(`data-hop="${escapeHtml(hop)}" data-label=`, start);
  if (start < 0 || open < 0) throw new Error(`no panel for ${hop}`);
  return html.slice(html.lastIndexOf('<section', open), html.indexOf('</section>', open));
}

/** A Result whose names, messages and evidence try to break out of the page. */
function hostile(): Result {
  const base = unreachableIptablesDrop();
  const evil = `x"><img src=x onerror=alert(1)></script><script>alert(2)</script>`;
  return {
    ...base,
    source: { ...base.source, id: `default/${evil}` },
    suspicions: [
      {
        level: 'fatal',
        code: 'IPTABLES_DROP',
        on: 'default/db-0',
        message: `dropped by ${evil}`,
        evidence: { rule: `-A INPUT -m comment --comment "${evil}" -j DROP`, [evil]: evil },
      },
    ],
    path: { ...base.path, nodes: [pod(`default/${evil}`), ...base.path.nodes.slice(1)] },
    request: { from: `snapshot ${evil}.json` },
  };
}

describe('renderHtml', () => {
  it.each(EXAMPLES)('$name: one self-contained document that fetches nothing', async ({ result }) => {
    const html = await renderHtml(result);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${escapeHtml(REPORT_CSP)}">`);
    expect(html).toContain('<svg role="group"');
    expect(html).not.toMatch(/<(link|img|iframe|object|embed|base)\b/i);
    expect(html).not.toMatch(/\s(src|srcset|action)=/i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).not.toMatch(/<!DOCTYPE svg|<\?xml/);
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<)]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));
  });

  it.each(EXAMPLES)('$name: banner with the verdict and the request', async ({ result }) => {
    const html = await renderHtml(result);
    expect(html).toContain(`<header class="card banner" id="banner" data-verdict="${result.verdict}">`);
    expect(html).toContain(`<h1>${result.verdict.toUpperCase()}</h1>`);
    expect(html).toContain(
      `<strong>${escapeHtml(result.source.id)}</strong> <code>${result.source.ip}</code>`,
    );
    expect(html).toContain(
      result.destination.type === 'external'
        ? `external <strong>${result.destination.ip}</strong></dd>`
        : `<strong>${escapeHtml(result.destination.id)}</strong> <code>${result.destination.ip}</code>`,
    );
    expect(html).toContain(`<dt>Port</dt><dd>${String(result.destination.port)}</dd>`);
    expect(html).toContain(`<dt>Protocol</dt><dd>tcp</dd>`);
    expect(html).toContain(`<dt>Diagnosed from</dt><dd>${escapeHtml(result.request?.from ?? '')}</dd>`);
    expect(html).toContain(`<dt>State captured</dt><dd>2026-11-21T10:00:00Z</dd>`);
  });

  it.each(EXAMPLES)(
    '$name: a panel per hop with each of its suspicions, evidence and hint',
    async ({ result }) => {
      const html = await renderHtml(result);
      for (const n of result.path.nodes) expect(html).toContain(`data-hop="${escapeHtml(n.id)}" data-label=`);
      for (const s of result.suspicions) {
        const panel = panelOf(html, s.on);
        expect(panel).toContain(`<article class="suspicion" data-level="${s.level}" data-code="${s.code}">`);
        expect(panel).toContain(escapeHtml(s.message));
        expect(panel).toContain(escapeHtml(SUSPICION_HINTS[s.code]).split('`')[0] ?? '');
      }
    },
  );

  it.each([
    {
      name: 'iptables rule and chain',
      result: unreachableIptablesDrop(),
      hop: 'default/db-0',
      texts: ['chain: filter/INPUT #1', 'rule:  -A INPUT -j DROP', '✖ dropped', 'IPTABLES_DROP'],
    },
    {
      name: 'the blackhole route',
      result: partialServiceBlackhole(),
      hop: 'node-2',
      texts: [
        'type:     blackhole',
        'dst:      10.244.2.14',
        'service: shop/cart',
        'branch 3 to shop/cart-2c4e1-z9x8c 10.244.2.14:8080 (33%)',
      ],
    },
    {
      name: 'NAT at the Service hop, per backend',
      result: partialServiceBlackhole(),
      hop: 'shop/cart',
      texts: [
        '<span class="nat">DNAT 10.96.0.10:80 → 10.244.1.8:8080</span>',
        '<span class="nat">DNAT 10.96.0.10:80 → 10.244.2.14:8080</span>',
        '<code>10.244.1.5:40000 → 10.96.0.10:80 tcp</code>',
        '<code>10.244.1.5:40000 → 10.244.2.9:8080 tcp</code>',
      ],
    },
    {
      name: 'interfaces of a node',
      result: reachablePodToPod(),
      hop: 'node-1',
      texts: [
        '<code>veth3f2a9c1e</code>',
        '<code>flannel.1</code>',
        'from <a href="#hop=default%2Fclient">default/client</a>',
      ],
    },
  ])('hop panel: $name', async ({ result, hop, texts }) => {
    const panel = panelOf(await renderHtml(result), hop);
    for (const t of texts) expect(panel).toContain(t);
  });

  it.each([
    {
      name: 'the hop where the first failed branch ended',
      result: partialServiceBlackhole(),
      initial: 'node-2',
    },
    { name: 'nothing when all is well', result: reachablePodToPod(), initial: undefined },
  ])('opens on $name', async ({ result, initial }) => {
    const html = await renderHtml(result);
    const m = /data-initial="([^"]*)"/.exec(html);
    expect(m?.[1]).toBe(initial);
  });

  it('ends of failed branches point at their hop for the script', async () => {
    const html = await renderHtml(partialServiceBlackhole());
    expect(html).toContain(`data-ends="${escapeHtml(JSON.stringify({ 'end#3': 'node-2' }))}"`);
  });

  it('cluster-level findings get their own panel', async () => {
    const result: Result = {
      ...reachablePodToPod(),
      suspicions: [
        {
          level: 'warning',
          code: 'DUPLICATE_IP',
          on: 'cluster',
          message: 'pods a and b both have 10.244.2.7',
          evidence: { ip: '10.244.2.7' },
        },
      ],
    };
    const html = await renderHtml(result);
    const section = html.slice(
      html.indexOf('id="cluster-findings"'),
      html.indexOf('</section>', html.indexOf('id="cluster-findings"')),
    );
    expect(section).toContain('data-code="DUPLICATE_IP"');
    expect(section).toContain('ip: 10.244.2.7');
    expect(html).not.toContain('No cluster-level findings');
  });

  it('the raw JSON is the --format json document, escaped', async () => {
    const result = partialServiceBlackhole();
    expect(await renderHtml(result)).toContain(`<pre><code>${escapeHtml(renderJson(result))}</code></pre>`);
  });

  it('escapes every string of the Result, in the page and in the graph', async () => {
    const html = await renderHtml(hostile());
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script>alert');
    expect(html.match(/<script>/g)).toHaveLength(2);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;');
    expect(html).toContain('x&quot;&gt;');
  });

  it.each(EXAMPLES)('$name: the page is a function of the Result and its SVG', async ({ result }) => {
    const svg = await renderSvg(result);
    expect(renderHtmlPage(result, svg)).toBe(await renderHtml(result));
  });
});

describe('embedSvg', () => {
  it('drops the prolog and the graph title, crops the title band, keeps every node', async () => {
    const result = partialServiceBlackhole();
    const svg = await renderSvg(result);
    const inline = embedSvg(svg);
    expect(
      inline.startsWith(
        '<svg role="group" aria-label="packet path graph" style="--natural:1800px;max-width:1800px" viewBox="0 ',
      ),
    ).toBe(true);
    expect(inline).not.toContain('<title>skoop</title>');
    expect(inline).not.toContain('>PARTIAL</text>');
    const [, y, h] = /viewBox="0 ([\d.]+) [\d.]+ ([\d.]+)"/.exec(inline) ?? [];
    expect(Number(y)).toBeGreaterThan(20);
    expect(Number(y) + Number(h)).toBeCloseTo(249, 0);
    expect(inline.match(/<g id="node\d+" class="node">/g)?.length).toBe(svg.match(/class="node"/g)?.length);
  });
});

describe('SUSPICION_HINTS', () => {
  it.each(SUSPICION_CODES.map((code) => ({ code })))('$code has a hint', ({ code }) => {
    expect(SUSPICION_HINTS[code].length).toBeGreaterThan(30);
  });
});

describe('escapeHtml', () => {
  it.each([
    { name: 'markup', text: '<a href="x">&</a>', out: '&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;' },
    { name: 'single quote', text: "it's", out: 'it&#39;s' },
    { name: 'plain', text: 'node-1', out: 'node-1' },
  ])('$name', ({ text, out }) => {
    expect(escapeHtml(text)).toBe(out);
  });
});
