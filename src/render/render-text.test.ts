import { describe, expect, it } from 'vitest';
import {
  EXAMPLES,
  partialServiceBlackhole,
  reachablePodToPod,
} from '../../test/fixtures/results/examples.js';
import type { Result } from '../model/result.js';
import { renderText } from './render-text.js';

const ESC = '\u001b[';
// eslint-disable-next-line no-control-regex -- ANSI SGR sequences start with the ESC control character
const SGR = /\u001b\[([0-9;]*)m/g;
const stripAnsi = (s: string): string => s.replace(SGR, '');

/** The SGR codes (`31`, `1`, …) switched on right before `word` in `line`. */
function stylesBefore(line: string | undefined, word: string): string[] {
  const at = line?.indexOf(word) ?? -1;
  const run = new RegExp(`(?:${SGR.source})*$`, 'u').exec(line?.slice(0, Math.max(at, 0)) ?? '')?.[0] ?? '';
  return [...run.matchAll(SGR)].map((m) => m[1] ?? '');
}

describe('renderText golden files', () => {
  it.each(EXAMPLES)('$name without colour', async ({ name, result }) => {
    await expect(renderText(result, { color: false })).toMatchFileSnapshot(
      `../../test/golden/render/${name}.txt`,
    );
  });

  it.each(EXAMPLES)('$name with colour', async ({ name, result }) => {
    await expect(renderText(result, { color: true })).toMatchFileSnapshot(
      `../../test/golden/render/${name}.color.txt`,
    );
  });
});

describe('renderText', () => {
  it.each(EXAMPLES)('$name: no colour code without colour, the same text with it', ({ result }) => {
    const plain = renderText(result, { color: false });
    const coloured = renderText(result, { color: true });
    expect(plain).not.toContain('\u001b');
    expect(coloured).toContain(ESC);
    expect(stripAnsi(coloured)).toBe(plain);
  });

  it.each(EXAMPLES)('$name: the verdict as a word, every code and level', ({ result }) => {
    const text = renderText(result, { color: false });
    expect(text.split('\n')[0]).toMatch(new RegExp(`^${result.verdict.toUpperCase()}\\b`));
    for (const s of result.suspicions) {
      expect(text).toContain(s.code);
      expect(text).toContain(`[${s.level.toUpperCase()}]`);
    }
    for (const n of result.path.nodes) expect(text).toContain(n.id);
  });

  it.each(EXAMPLES)('$name: lines stay within the width', ({ result }) => {
    for (const width of [100, 72]) {
      const long = renderText(result, { color: false, width })
        .split('\n')
        .filter((l) => l.length > width);
      expect(long).toEqual([]);
    }
  });

  it.each([
    { name: 'fatal is red and bold', level: 'fatal' as const, sgr: ['31', '1'] },
    { name: 'critical is red', level: 'critical' as const, sgr: ['31'] },
    { name: 'warning is yellow', level: 'warning' as const, sgr: ['33'] },
    { name: 'info is dim', level: 'info' as const, sgr: ['2'] },
  ])('$name', ({ level, sgr }) => {
    const result: Result = {
      ...reachablePodToPod(),
      suspicions: [{ level, code: 'MTU_MISMATCH', on: 'node-1', message: 'm' }],
    };
    const line = renderText(result, { color: true })
      .split('\n')
      .find((l) => l.includes('MTU_MISMATCH'));
    expect(stylesBefore(line, `[${level.toUpperCase()}]`).sort()).toEqual([...sgr].sort());
  });

  it.each([
    { name: 'reachable is green', verdict: 'reachable' as const, sgr: '32' },
    { name: 'partial is yellow', verdict: 'partial' as const, sgr: '33' },
    { name: 'unreachable is red', verdict: 'unreachable' as const, sgr: '31' },
    { name: 'unknown is magenta', verdict: 'unknown' as const, sgr: '35' },
  ])('verdict: $name', ({ verdict, sgr }) => {
    const first = renderText({ ...reachablePodToPod(), verdict }, { color: true }).split('\n')[0];
    expect(stylesBefore(first, verdict.toUpperCase())).toEqual([sgr, '1']);
  });

  it('labels each Service branch with its backend and probability and shows the DNAT', () => {
    const text = renderText(partialServiceBlackhole(), { color: false });
    expect(text).toContain('branch 1/3 (33%) → shop/cart-5b6d9-k8j2p 10.244.1.8:8080');
    expect(text).toContain('branch 3/3 (33%) → shop/cart-2c4e1-z9x8c 10.244.2.14:8080');
    expect(text).toContain('DNAT 10.96.0.10:80 → 10.244.2.14:8080 at shop/cart');
    expect(text).toContain('shop/cart --vxlan flannel.1→flannel.1--> node-2');
    expect(text).toContain('dropped at node-2: ROUTE_BLACKHOLE');
  });

  it('lists the most severe hop first', () => {
    const text = renderText(partialServiceBlackhole(), { color: false });
    expect(text.indexOf('ROUTE_BLACKHOLE  ')).toBeLessThan(text.indexOf('MTU_MISMATCH  '));
  });

  it('reads a result without branches as one branch over every link', () => {
    const { branches: _, ...rest } = reachablePodToPod();
    const text = renderText(rest, { color: false });
    expect(text).toContain('1 branch: 1 delivered');
    expect(text).toContain('delivered to default/web-5d8f7c9b4-x2x7q');
  });

  it('says when no link was simulated', () => {
    const result: Result = {
      ...reachablePodToPod(),
      verdict: 'unknown',
      path: { nodes: [], links: [] },
      branches: [],
    };
    const text = renderText(result, { color: false });
    expect(text).toContain('no link was simulated');
    expect(text).toContain('unknown at default/client');
  });
});
