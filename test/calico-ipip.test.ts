// Calico IPIP cannot run on this kernel (no ipip module), so its scenarios are golden tests on state
// derived from a real capture: the calico BGP cluster of test/fixtures/snapshots/calico-bgp.json.gz
// (built in namespaces and captured with the collector), turned into the state calico programs in
// IPIP mode: a `tunl0` device (ipip, remote any, MTU 1480, the node's tunnel address), the other
// nodes' blocks routed `via <node IP> dev tunl0 onlink`, pods with MTU 1480, and the pool's
// ipipMode Always. The JSON shapes are those of iproute2 6.1 (see test/fixtures/ip/handmade-addresses.json).
import { gunzipSync } from 'node:zlib';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'skoop-ipip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Json = Record<string, unknown>;
interface Snap {
  objects: { ipPools: { spec: Json }[]; nodes: { metadata: { name: string } }[] };
  netstack: Record<
    string,
    { host: Json & { addresses: Json[]; routes: Json[] }; pods: Record<string, Json & { addresses: Json[] }> }
  >;
}

const base = JSON.parse(
  gunzipSync(readFileSync(new URL('./fixtures/snapshots/calico-bgp.json.gz', import.meta.url))).toString(),
) as Snap;
const NODE_INDEX: Record<string, number> = { 'node-1': 1, 'node-2': 2, 'node-3': 3 };

function tunl0(ifindex: number, node: string): Json {
  return {
    ifindex,
    ifname: 'tunl0',
    flags: ['NOARP', 'UP', 'LOWER_UP'],
    mtu: 1480,
    operstate: 'UNKNOWN',
    link_type: 'ipip',
    address: '0.0.0.0',
    broadcast: '0.0.0.0',
    linkinfo: {
      info_kind: 'ipip',
      info_data: { proto: 'ipip', remote: 'any', local: 'any', ttl: 0, pmtudisc: true },
    },
    addr_info: [
      {
        family: 'inet',
        local: `10.10.${NODE_INDEX[node]}.1`,
        prefixlen: 32,
        scope: 'global',
        label: 'tunl0',
        valid_life_time: 4294967295,
        preferred_life_time: 4294967295,
      },
    ],
  };
}

/** The capture, as calico would have programmed it in IPIP mode; `breakIt` then breaks it. */
function ipipSnapshot(breakIt: (s: Snap) => void = () => {}): string {
  const s = structuredClone(base);
  for (const pool of s.objects.ipPools) pool.spec['ipipMode'] = 'Always';
  for (const [node, ns] of Object.entries(s.netstack)) {
    const maxIndex = Math.max(...ns.host.addresses.map((l) => Number(l['ifindex'])));
    ns.host.addresses.push(tunl0(maxIndex + 1, node));
    ns.host.routes = ns.host.routes.map((r) =>
      r['protocol'] === 'bird' && r['gateway'] !== undefined ? { ...r, dev: 'tunl0', flags: ['onlink'] } : r,
    );
    for (const pod of Object.values(ns.pods)) {
      pod.addresses = pod.addresses.map((l) => (l['ifname'] === 'eth0' ? { ...l, mtu: 1480 } : l));
    }
  }
  breakIt(s);
  const file = join(dir, `ipip-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(s));
  return file;
}

async function skoop(file: string, format: string): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(
    ['-s', 'pod/shop/frontend', '-d', 'svc/shop/cart', '-p', 'http', '--snapshot', file, '--format', format],
    {
      stdout: (t) => void (out += t),
      stderr: (t) => void (out += t),
      env: { NO_COLOR: '1' },
      stdoutIsTTY: false,
      stderrIsTTY: false,
    },
  );
  // The file name is random: keep golden files stable.
  if (format === 'json') {
    const r = JSON.parse(out) as {
      suspicions: { code: string; on: string }[];
      path: { nodes: { id: string }[] };
    };
    // CONTRACTS §3: every finding sits on a path node, or on the cluster.
    const hops = new Set(['cluster', ...r.path.nodes.map((n) => n.id)]);
    for (const s of r.suspicions) expect(hops, `${s.code} on ${s.on}`).toContain(s.on);
  }
  return { code, out: out.replaceAll(file, 'calico-ipip.json') };
}

interface Out {
  verdict: string;
  suspicions: { code: string; on: string; level: string }[];
  path: { links: { type: string; from: string; to: string; outIf?: string; inIf?: string }[] };
  branches: { outcome: string; backend?: string }[];
}

describe('calico IPIP (captured-looking state)', () => {
  it('healthy: both backends over tunl0, reachable, exit 0', async () => {
    const file = ipipSnapshot();
    const json = await skoop(file, 'json');
    const r = JSON.parse(json.out) as Out;
    expect(json.code).toBe(0);
    expect(r.verdict).toBe('reachable');
    expect(r.suspicions).toEqual([]);
    const tunnels = r.path.links.filter((l) => l.type === 'ipip');
    expect(tunnels.map((l) => [l.to, l.outIf, l.inIf]).sort()).toEqual([
      ['node-2', 'tunl0', 'tunl0'],
      ['node-3', 'tunl0', 'tunl0'],
    ]);
    await expect(json.out).toMatchFileSnapshot('./golden/ipip/healthy.json');
    await expect((await skoop(file, 'text')).out).toMatchFileSnapshot('./golden/ipip/healthy.txt');
    await expect((await skoop(file, 'dot')).out).toMatchFileSnapshot('./golden/ipip/healthy.dot');
  });

  it.each([
    {
      name: 'tunl0 missing on node-2: the branch to node-2 is lost there',
      breakIt: (s: Snap) => {
        const host = s.netstack['node-2']?.host;
        if (host) host.addresses = host.addresses.filter((l) => l['ifname'] !== 'tunl0');
      },
      verdict: 'partial',
      exit: 1,
      codes: [{ code: 'IPIP_DEVICE_MISSING', on: 'node-2', level: 'fatal' }],
    },
    {
      name: 'a block route on node-1 left on eth0 (BGP route in IPIP mode)',
      breakIt: (s: Snap) => {
        const host = s.netstack['node-1']?.host;
        if (host)
          host.routes = host.routes.map((r) =>
            r['dst'] === '10.10.3.0/26' ? { ...r, dev: 'eth0', flags: [] } : r,
          );
      },
      // The kernel still delivers over the underlay (both nodes share a subnet), so the path works:
      // a warning that the route is not what calico programs in IPIP mode, and exit 0.
      verdict: 'reachable',
      exit: 0,
      codes: [{ code: 'ROUTE_WRONG', on: 'node-1', level: 'warning' }],
    },
    {
      name: 'pod MTU 1500 over a 1480 tunnel',
      breakIt: (s: Snap) => {
        const pod = s.netstack['node-1']?.pods['shop/frontend'];
        if (pod) pod.addresses = pod.addresses.map((l) => (l['ifname'] === 'eth0' ? { ...l, mtu: 1500 } : l));
      },
      verdict: 'partial',
      exit: 1,
      codes: [{ code: 'MTU_MISMATCH', on: 'shop/frontend', level: 'critical' }],
    },
  ])('$name', async ({ breakIt, verdict, exit, codes }) => {
    const { code, out } = await skoop(ipipSnapshot(breakIt), 'json');
    const r = JSON.parse(out) as Out;
    expect(code).toBe(exit);
    expect(r.verdict).toBe(verdict);
    for (const c of codes) expect(r.suspicions).toContainEqual(expect.objectContaining(c));
  });
});
