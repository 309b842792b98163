import { describe, expect, it } from 'vitest';
import type { CliIo } from '../io.js';
import { runPolicy } from './policy.js';

const DIR = 'test/policy/fixtures/shop';

function io(): CliIo & { out: string[] } {
  const out: string[] = [];
  return { out, stdout: (t) => out.push(t), stderr: () => undefined, env: {}, stdoutIsTTY: false, stderrIsTTY: false };
}

describe('runPolicy from manifests', () => {
  it.each([
    { name: 'frontend → cart on the named port is allowed', src: 'pod/frontend-0', dst: 'pod/cart-0', port: 'http', code: 0, text: '[NP] allowed: pod shop/cart-0 is isolated for ingress by shop/default-deny, shop/cart-from-frontend' },
    { name: 'cart → frontend is denied by the default deny', src: 'pod/cart-1', dst: 'pod/frontend-0', port: '80', code: 1, text: '[ANP] pass (tenant-isolation, rule 2 "pass-same-tenant") → [NP] denied: pod shop/frontend-0 is isolated for ingress by shop/default-deny, no rule allows pod shop/cart-1 (198.18.0.3) on TCP 80' },
    { name: 'frontend → cart on another port is denied', src: 'pod/frontend-0', dst: 'pod/cart-0', port: '9090', code: 1, text: 'no rule allows pod shop/frontend-0 (198.18.0.1) on TCP 9090' },
  ])('$name', async ({ src, dst, port, code, text }) => {
    const o = io();
    expect(await runPolicy({ source: src, destination: dst, port, protocol: 'tcp', namespace: 'shop', files: DIR, format: 'text' }, o)).toBe(code);
    expect(o.out.join('')).toContain(text);
  });

  it('prints JSON with the deciding rules', async () => {
    const o = io();
    await runPolicy({ source: 'pod/shop/frontend-0', destination: 'pod/shop/cart-1', port: '8080', protocol: 'tcp', files: DIR, format: 'json' }, o);
    const json = JSON.parse(o.out.join('')) as { allowed: boolean; backends: { verdict: { ingress: { allowedBy: { policy: string; ruleIndex: number }[] } } }[] };
    expect(json.allowed).toBe(true);
    expect(json.backends[0]?.verdict.ingress.allowedBy).toEqual([expect.objectContaining({ policy: 'shop/cart-from-frontend', ruleIndex: 0 })]);
  });
});
