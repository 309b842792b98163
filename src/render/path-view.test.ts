import { describe, expect, it } from 'vitest';
import {
  partialServiceBlackhole,
  reachablePodToPod,
  unreachableIptablesDrop,
} from '../../test/fixtures/results/examples.js';
import type { Result } from '../model/result.js';
import { formatProbability, viewPath } from './path-view.js';

describe('viewPath', () => {
  it('shares the prefix every Service branch starts with', () => {
    const view = viewPath(partialServiceBlackhole());
    expect(view.shared).toEqual([0, 1]);
    expect(view.branches.map((b) => b.own)).toEqual([[2], [3, 4], [5]]);
    expect(view.branches.map((b) => b.end)).toEqual([
      'shop/cart-5b6d9-k8j2p',
      'shop/cart-7f9c8-q4w5e',
      'node-2',
    ]);
    expect(view.implicit).toBe(false);
  });

  it('shares nothing with a single branch', () => {
    const view = viewPath(reachablePodToPod());
    expect(view.shared).toEqual([]);
    expect(view.branches[0]?.own).toEqual([0, 1, 2]);
  });

  it.each([
    { name: 'reachable delivers', verdict: 'reachable' as const, outcome: 'delivered' },
    { name: 'unreachable drops', verdict: 'unreachable' as const, outcome: 'dropped' },
    { name: 'unknown stays unknown', verdict: 'unknown' as const, outcome: 'unknown' },
  ])('infers one branch over every link when none is given: $name', ({ verdict, outcome }) => {
    const { branches: _, ...rest } = unreachableIptablesDrop();
    const view = viewPath({ ...rest, verdict });
    expect(view.implicit).toBe(true);
    expect(view.branches).toHaveLength(1);
    expect(view.branches[0]?.branch).toEqual({ probability: 1, outcome, links: [0, 1, 2] });
    expect(view.branches[0]?.end).toBe('default/db-0');
  });

  it('ends a branch without links at the source', () => {
    const r: Result = {
      ...reachablePodToPod(),
      branches: [{ probability: 1, outcome: 'dropped', links: [] }],
    };
    expect(viewPath(r).branches[0]?.end).toBe('default/client');
  });
});

describe('formatProbability', () => {
  it.each([
    { name: 'one third', p: 1 / 3, text: '33%' },
    { name: 'certain', p: 1, text: '100%' },
    { name: 'half', p: 0.5, text: '50%' },
    { name: 'under one percent', p: 0.004, text: '0.4%' },
    { name: 'zero', p: 0, text: '0%' },
  ])('$name', ({ p, text }) => {
    expect(formatProbability(p)).toBe(text);
  });
});
