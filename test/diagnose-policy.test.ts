// The diagnosis names the policy and the rule on the hop that enforces it. The clusters are real
// captures (calico BGP: enforces policies; flannel vxlan: does not) with NetworkPolicies added to
// their objects — policies live in the API, so adding them is exactly what a capture would contain.
import { gunzipSync } from 'node:zlib';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'skoop-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Snap = { objects: Record<string, unknown[]> };
const load = (name: string): Snap =>
  JSON.parse(
    gunzipSync(readFileSync(new URL(`./fixtures/snapshots/${name}`, import.meta.url))).toString(),
  ) as Snap;

const netpol = (name: string, spec: unknown) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: 'shop' },
  spec,
});
const DENY_ALL_INGRESS_TO_CART = netpol('cart-deny-all', {
  podSelector: { matchLabels: { app: 'cart' } },
  policyTypes: ['Ingress'],
});
const ALLOW_FRONTEND_8080 = netpol('cart-from-frontend', {
  podSelector: { matchLabels: { app: 'cart' } },
  policyTypes: ['Ingress'],
  ingress: [
    {
      from: [{ podSelector: { matchLabels: { app: 'frontend' } } }],
      ports: [{ port: 8080, protocol: 'TCP' }],
    },
  ],
});
const DENY_FRONTEND_EGRESS = netpol('frontend-no-egress', {
  podSelector: { matchLabels: { app: 'frontend' } },
  policyTypes: ['Egress'],
  egress: [],
});

function withPolicies(name: string, policies: unknown[]): string {
  const s = load(name);
  s.objects['networkPolicies'] = policies;
  const file = join(dir, `${name}-${policies.length}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(s));
  return file;
}

interface Out {
  verdict: string;
  suspicions: { code: string; on: string; level: string; evidence?: Record<string, unknown> }[];
  branches: { outcome: string; endedAt?: string; codes?: string[] }[];
}

async function diagnose(file: string): Promise<{ code: number; r: Out }> {
  let out = '';
  const code = await runCli(
    ['-s', 'pod/shop/frontend', '-d', 'svc/shop/cart', '-p', '8080', '--snapshot', file, '--format', 'json'],
    {
      stdout: (t) => void (out += t),
      stderr: () => {},
      env: {},
      stdoutIsTTY: false,
      stderrIsTTY: false,
    },
  );
  const r = JSON.parse(out) as Out & { path: { nodes: { id: string }[] } };
  // CONTRACTS §3: every finding sits on a path node, or on the cluster.
  const hops = new Set(['cluster', ...r.path.nodes.map((n) => n.id)]);
  for (const s of r.suspicions) expect(hops, `${s.code} on ${s.on}`).toContain(s.on);
  return { code, r };
}

describe('NetworkPolicy in the diagnosis (calico enforces)', () => {
  it('an ingress deny on the backends drops every branch on the backend pod that enforces it', async () => {
    const { code, r } = await diagnose(withPolicies('calico-bgp.json.gz', [DENY_ALL_INGRESS_TO_CART]));
    expect(code).toBe(1);
    expect(r.verdict).toBe('unreachable');
    const denies = r.suspicions.filter((s) => s.code === 'NETWORK_POLICY_DENY');
    expect(denies.map((s) => s.on).sort()).toEqual([
      'shop/cart-7d9f8b6c5-q8m3z',
      'shop/cart-7d9f8b6c5-x2k4p',
    ]);
    expect(JSON.stringify(denies[0]?.evidence)).toContain('cart-deny-all');
    for (const b of r.branches)
      expect(b).toMatchObject({ outcome: 'dropped', codes: ['NETWORK_POLICY_DENY'] });
  });

  it('an allow rule for the frontend on 8080 makes the union allow it', async () => {
    const { code, r } = await diagnose(
      withPolicies('calico-bgp.json.gz', [DENY_ALL_INGRESS_TO_CART, ALLOW_FRONTEND_8080]),
    );
    expect(code).toBe(0);
    expect(r.verdict).toBe('reachable');
    expect(r.suspicions.filter((s) => s.code.startsWith('NETWORK_POLICY'))).toEqual([]);
  });

  it('an egress deny is raised on the source pod', async () => {
    const { r } = await diagnose(withPolicies('calico-bgp.json.gz', [DENY_FRONTEND_EGRESS]));
    expect(r.verdict).toBe('unreachable');
    expect(r.suspicions).toContainEqual(
      expect.objectContaining({ code: 'NETWORK_POLICY_DENY', on: 'shop/frontend' }),
    );
  });
});

describe('NetworkPolicy in the diagnosis (flannel does not enforce)', () => {
  it('a denying policy is a warning, not a drop', async () => {
    const { r } = await diagnose(withPolicies('flannel-vxlan-broken.json.gz', [DENY_ALL_INGRESS_TO_CART]));
    const notEnforced = r.suspicions.filter((s) => s.code === 'NETWORK_POLICY_NOT_ENFORCED');
    expect(notEnforced.length).toBeGreaterThan(0);
    expect(notEnforced.every((s) => s.level === 'warning')).toBe(true);
    expect(r.suspicions.some((s) => s.code === 'NETWORK_POLICY_DENY')).toBe(false);
    // The branch the kernel delivers is still delivered.
    expect(r.branches.some((b) => b.outcome === 'delivered')).toBe(true);
  });
});
