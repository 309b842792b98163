// The snapshots shipped in examples/ (written by scripts/make-examples.ts) stay valid: skoop reads
// them and gives the verdict and the key finding examples/README.md promises. Needs no root.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Result } from '../../../src/model/result.js';
import { describeDiagnosis, runSkoop } from './skoop-run.js';

const example = (file: string): string =>
  fileURLToPath(new URL(`../../../examples/${file}`, import.meta.url));

/** The command of examples/README.md, with JSON output. */
async function diagnoseExample(file: string): Promise<{ code: number; result: Result }> {
  const run = await runSkoop([
    '-s',
    'pod/shop/frontend',
    '-d',
    'svc/shop/cart',
    '-p',
    '8080',
    '--snapshot',
    example(file),
    '--format',
    'json',
  ]);
  expect(run.stderr).toBe('');
  return { code: run.code, result: JSON.parse(run.stdout) as Result };
}

const backendsBy = (r: Result, outcome: string): string[] =>
  (r.branches ?? [])
    .filter((b) => b.outcome === outcome)
    .map((b) => b.backend?.split(' ')[0] ?? '?')
    .sort();

describe('shipped examples', () => {
  it('flannel-vxlan-broken.json.gz: partial, the branch to the cart on node-3 lost at node-1 for want of a route', async () => {
    const d = await diagnoseExample('flannel-vxlan-broken.json.gz');
    const why = describeDiagnosis({ ...d, stderr: '' });
    expect(d.result.verdict, why).toBe('partial');
    expect(d.code).toBe(1);
    expect(backendsBy(d.result, 'delivered'), why).toEqual(['shop/cart-7d9f8b6c5-x2k4p']);
    expect(backendsBy(d.result, 'dropped'), why).toEqual(['shop/cart-7d9f8b6c5-q8m3z']);
    const dropped = (d.result.branches ?? []).find((b) => b.outcome === 'dropped');
    expect(dropped?.endedAt, why).toBe('node-1');
    expect(
      d.result.suspicions.some((s) => s.code === 'ROUTE_MISSING' && s.on === 'node-1' && s.level === 'fatal'),
      why,
    ).toBe(true);
  });

  it('calico-healthy.json.gz: reachable through both cart backends, no finding', async () => {
    const d = await diagnoseExample('calico-healthy.json.gz');
    const why = describeDiagnosis({ ...d, stderr: '' });
    expect(d.result.verdict, why).toBe('reachable');
    expect(d.code).toBe(0);
    expect(backendsBy(d.result, 'delivered'), why).toEqual([
      'shop/cart-7d9f8b6c5-q8m3z',
      'shop/cart-7d9f8b6c5-x2k4p',
    ]);
    expect(d.result.suspicions, why).toEqual([]);
  });
});
