import { describe, expect, it } from 'vitest';
import { formatSelector, matchesSelector, matchesServiceSelector } from './label-selector.js';
import type { LabelSelector } from './objects.js';

const web = { app: 'web', tier: 'front', env: 'prod' };

describe('matchesSelector', () => {
  it.each<{ name: string; labels: Record<string, string> | undefined; selector: LabelSelector | null | undefined; want: boolean }>([
    { name: 'empty selector matches everything', labels: web, selector: {}, want: true },
    { name: 'empty selector matches a pod without labels', labels: undefined, selector: {}, want: true },
    { name: 'null selector matches nothing', labels: web, selector: null, want: false },
    { name: 'absent selector matches nothing', labels: web, selector: undefined, want: false },
    { name: 'matchLabels equal', labels: web, selector: { matchLabels: { app: 'web' } }, want: true },
    { name: 'matchLabels different value', labels: web, selector: { matchLabels: { app: 'api' } }, want: false },
    { name: 'matchLabels missing key', labels: web, selector: { matchLabels: { team: 'a' } }, want: false },
    { name: 'matchLabels all must hold', labels: web, selector: { matchLabels: { app: 'web', env: 'dev' } }, want: false },
    { name: 'matchLabels empty value needs the key', labels: { 'node-role': '' }, selector: { matchLabels: { 'node-role': '' } }, want: true },
    { name: 'In holds', labels: web, selector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'staging'] }] }, want: true },
    { name: 'In other value', labels: web, selector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['dev'] }] }, want: false },
    { name: 'In without the key', labels: web, selector: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, want: false },
    { name: 'In with no values matches nothing', labels: web, selector: { matchExpressions: [{ key: 'env', operator: 'In', values: [] }] }, want: false },
    { name: 'NotIn other value', labels: web, selector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] }, want: true },
    { name: 'NotIn listed value', labels: web, selector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, want: false },
    { name: 'NotIn without the key matches', labels: web, selector: { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, want: true },
    { name: 'Exists', labels: web, selector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, want: true },
    { name: 'Exists absent', labels: web, selector: { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, want: false },
    { name: 'DoesNotExist absent', labels: web, selector: { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, want: true },
    { name: 'DoesNotExist present', labels: web, selector: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, want: false },
    {
      name: 'matchLabels AND matchExpressions',
      labels: web,
      selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] },
      want: false,
    },
    {
      name: 'unknown operator is an invalid selector',
      labels: web,
      selector: { matchExpressions: [{ key: 'app', operator: 'Gt' as 'In', values: ['1'] }] },
      want: false,
    },
    { name: 'inherited keys are not labels', labels: {}, selector: { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, want: false },
  ])('$name', ({ labels, selector, want }) => {
    expect(matchesSelector(labels, selector)).toBe(want);
  });
});

describe('matchesServiceSelector', () => {
  it.each([
    { name: 'all pairs hold', selector: { app: 'web' }, want: true },
    { name: 'one pair differs', selector: { app: 'web', env: 'dev' }, want: false },
    { name: 'no selector selects nothing', selector: undefined, want: false },
    { name: 'empty selector selects nothing', selector: {}, want: false },
  ])('$name', ({ selector, want }) => {
    expect(matchesServiceSelector(web, selector)).toBe(want);
  });
});

describe('formatSelector', () => {
  it.each<{ name: string; selector: LabelSelector | null | undefined; want: string }>([
    { name: 'null', selector: null, want: '<none>' },
    { name: 'empty', selector: {}, want: '<everything>' },
    {
      name: 'every operator',
      selector: {
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['a', 'b'] },
          { key: 'x', operator: 'NotIn', values: ['c'] },
          { key: 'y', operator: 'Exists' },
          { key: 'z', operator: 'DoesNotExist' },
        ],
      },
      want: 'app=web,env in (a,b),x notin (c),y,!z',
    },
  ])('$name', ({ selector, want }) => {
    expect(formatSelector(selector)).toBe(want);
  });
});
