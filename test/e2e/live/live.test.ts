// skoop against a live cluster, through the API server double: a 3-node flannel vxlan cluster on the
// namespace bench is read over the REST API and collected with collector pods whose exec runs inside
// the node's namespace. The live diagnosis must agree with the snapshot one and the kernel; every
// failure (collector never starts, exec fails, 403, unreachable, expired credentials, Ctrl-C) gives
// its message and exit code 3, and no collector pod is left behind.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCapture } from '../../../src/commands/capture.js';
import { SkoopError } from '../../../src/errors.js';
import type { CliIo } from '../../../src/io.js';
import { collectLiveSnapshot } from '../../../src/source/live-snapshot.js';
import type { LiveOptions } from '../../../src/source/live-snapshot.js';
import type { Snapshot } from '../../../src/source/snapshot.js';
import { destroyAllLabs } from '../lib/lab.js';
import { buildCluster } from '../cluster/cluster.js';
import type { Cluster } from '../cluster/cluster.js';
import { diagnose, diagnoseArgv, expectAgreement, runSkoop } from '../cluster/skoop-run.js';
import type { DiagnoseArgs, Diagnosis } from '../cluster/skoop-run.js';
import { startBenchDouble } from './bench-double.js';
import type { BenchDouble } from './bench-double.js';

const HTTP = [{ name: 'http', port: 8080 }] as const;

let cluster: Cluster;
let bench: BenchDouble;
let stderr = '';

const io: CliIo = { stdout: () => undefined, stderr: (t) => (stderr += t), env: { NO_COLOR: '1' }, stdoutIsTTY: false, stderrIsTTY: false };

beforeAll(async () => {
  cluster = await buildCluster({
    name: 'live',
    cni: { plugin: 'flannel', backend: 'vxlan' },
    nodes: 3,
    pods: [
      { name: 'client', node: 1 },
      { name: 'web-a', node: 2, labels: { app: 'web' }, ports: HTTP },
      { name: 'web-b', node: 3, labels: { app: 'web' }, ports: HTTP },
      { name: 'idle', node: 3, ports: HTTP, listen: false },
    ],
    services: [{ name: 'web', clusterIP: '10.96.0.10', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] }],
  });
  bench = await startBenchDouble(cluster);
}, 120_000);

afterAll(async () => {
  await bench?.close();
  cluster?.destroy();
  destroyAllLabs();
});

const live = (extra: Partial<LiveOptions> = {}): LiveOptions => ({
  kubeconfig: bench.kubeconfig,
  collectorTimeout: '20s',
  signal: new AbortController().signal,
  ...extra,
});

/** The comparable part of a diagnosis: verdict, exit code, suspicions and path hops. */
const gist = (d: Diagnosis): unknown => ({
  verdict: d.result.verdict,
  code: d.code,
  suspicions: d.result.suspicions.map((s) => `${s.level} ${s.code} on ${s.on}`).sort(),
  path: d.result.path.nodes.map((n) => n.id).sort(),
});

async function failure(p: Promise<unknown>): Promise<SkoopError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SkoopError) return e;
    throw e;
  }
  throw new Error('expected a failure');
}

describe('live diagnosis through the API double', () => {
  it.each([
    { name: 'pod to Service with two backends', args: { source: 'pod/client', destination: 'svc/web', port: 80 }, nodes: ['node-1', 'node-2', 'node-3'] },
    { name: 'pod to pod without a listener', args: { source: 'pod/client', destination: 'pod/idle', port: 8080 }, nodes: ['node-1', 'node-3'] },
  ])('$name agrees with the snapshot run and the kernel', async ({ args, nodes }) => {
    const a: DiagnoseArgs = args;
    const snap = await collectLiveSnapshot(live({ endpoints: [a.source, a.destination] }), io);
    expect(Object.keys(snap.netstack).sort()).toEqual(nodes);
    const liveRun = await diagnose(snap, a);
    const offline = await diagnose(await cluster.snapshot(), a);
    expect(gist(liveRun)).toEqual(gist(offline));
    const target = a.destination === 'svc/web' ? '10.96.0.10' : cluster.pod('idle').ip;
    expectAgreement(await cluster.connect('client', { protocol: 'tcp', dst: target, port: Number(a.port), count: 4 }), liveRun);
    expect(bench.double.collectorPods()).toEqual([]);
  });

  it('collects 3 nodes in parallel in about the time of 1', async () => {
    const time = async (selection: NonNullable<LiveOptions['selection']>): Promise<number> => {
      const t0 = performance.now();
      await collectLiveSnapshot(live({ selection }), io);
      return performance.now() - t0;
    };
    await time({ nodes: ['node-1'] });
    const singles = [await time({ nodes: ['node-1'] }), await time({ nodes: ['node-2'] }), await time({ nodes: ['node-3'] })];
    const three = await time({ allNodes: true });
    const one = Math.max(...singles);
    const serial = singles.reduce((a, b) => a + b, 0);
    const ratio = three / one;
    console.log(`collection: 1 node ${one.toFixed(0)} ms, 3 nodes ${three.toFixed(0)} ms (one after the other: ${serial.toFixed(0)} ms), ratio ${ratio.toFixed(2)}`);
    // The collector script is CPU-bound and the bench has 2 cores, so 3 nodes cost more CPU than 1
    // (ratio ~1.6-2); one after the other they would cost the sum. The node-level proof is that the
    // three host collections overlapped in time.
    expect(three).toBeLessThan(serial);
    const last = bench.double.execs.filter((e) => e.command.at(-1) === 'skoop-collect').slice(-3);
    expect(new Set(last.map((e) => e.node))).toEqual(new Set(['node-1', 'node-2', 'node-3']));
    expect(Math.max(...last.map((e) => e.start))).toBeLessThan(Math.min(...last.map((e) => e.end ?? Infinity)));
    expect(bench.double.collectorPods()).toEqual([]);
  });
});

describe('failures: message, exit code 3, no collector pod left', () => {
  it('a collector that never starts (Pending: unschedulable)', async () => {
    bench.double.podFate = () => 'Pending';
    try {
      const e = await failure(collectLiveSnapshot(live({ endpoints: ['pod/client', 'pod/idle'], collectorTimeout: '1.5s' }), io));
      expect(e.exitCode).toBe(3);
      expect(e.code).toBe('COLLECTOR_FAILED');
      expect(e.message).toMatch(/^no node could be collected: node-1: timed out after 1.5 s: collector pod skoop-[0-9a-f]+-node-1 never ran: Pending: unschedulable: 0\/3 nodes are available/);
    } finally {
      bench.double.podFate = () => 'Running';
    }
    expect(bench.double.collectorPods()).toEqual([]);
  });

  it('a collector stuck in ImagePullBackOff on one node: the other node is still collected', async () => {
    bench.double.podFate = (node) => (node === 'node-3' ? 'ImagePullBackOff' : 'Running');
    stderr = '';
    try {
      const snap = await collectLiveSnapshot(live({ endpoints: ['pod/client', 'pod/idle'], collectorTimeout: '3s' }), io);
      expect(Object.keys(snap.netstack)).toEqual(['node-1']);
      expect(stderr).toMatch(/node-3: not collected: timed out after 3 s: collector pod \S+ never ran: ImagePullBackOff: Back-off pulling image/);
      const d = await diagnose(snap, { source: 'pod/client', destination: 'pod/idle', port: 8080 });
      expect(d.result.suspicions.some((s) => s.code === 'NETSTACK_NOT_COLLECTED')).toBe(true);
    } finally {
      bench.double.podFate = () => 'Running';
    }
    expect(bench.double.collectorPods()).toEqual([]);
  });

  it('an exec that fails', async () => {
    const runner = bench.double.runner;
    bench.double.runner = (node) => runner(node, ['sh', '-c', 'echo "nsenter: cannot open /proc/1/ns/net: Permission denied" >&2; exit 1']);
    try {
      const e = await failure(collectLiveSnapshot(live({ endpoints: ['pod/client', 'pod/idle'] }), io));
      expect(e.exitCode).toBe(3);
      expect(e.message).toContain('node-1: exec failed: command terminated with non-zero exit code');
      expect(e.message).toContain('(nsenter: cannot open /proc/1/ns/net: Permission denied)');
    } finally {
      bench.double.runner = runner;
    }
    expect(bench.double.collectorPods()).toEqual([]);
  });

  it('a 403 on networkpolicies names the missing permission', async () => {
    bench.double.setDeny([{ verb: 'list', resource: 'networkpolicies' }]);
    try {
      const e = await failure(collectLiveSnapshot(live({ endpoints: ['pod/client', 'pod/idle'] }), io));
      expect(e.exitCode).toBe(3);
      expect(e.message).toBe('cannot list networkpolicies at cluster scope: add "list" on networking.k8s.io/networkpolicies');
    } finally {
      bench.double.setDeny([]);
    }
    expect(bench.double.collectorPods()).toEqual([]);
  });

  it('a 403 on pods/exec in the collector namespace', async () => {
    bench.double.setDeny([{ verb: 'exec', resource: 'pods', namespace: 'skoop' }]);
    try {
      const e = await failure(collectLiveSnapshot(live({ endpoints: ['pod/client', 'pod/idle'] }), io));
      expect(e.exitCode).toBe(3);
      expect(e.message).toBe('cannot create pods/exec in namespace skoop: add "create" on pods/exec in namespace skoop');
    } finally {
      bench.double.setDeny([]);
    }
    expect(bench.double.collectorPods()).toEqual([]);
  });

  it('an unreachable server', async () => {
    const path = join(bench.dir, 'unreachable');
    bench.double.writeKubeconfig(path, { server: 'http://127.0.0.1:1' });
    const e = await failure(collectLiveSnapshot(live({ kubeconfig: path, endpoints: ['pod/client', 'pod/idle'] }), io));
    expect(e.exitCode).toBe(3);
    expect(e.code).toBe('CLUSTER_UNREACHABLE');
    expect(e.message).toMatch(/^cannot reach the API server at http:\/\/127\.0\.0\.1:1 \(context "double"\): ECONNREFUSED/);
  });

  it('expired credentials', async () => {
    const path = join(bench.dir, 'expired');
    bench.double.writeKubeconfig(path, { token: 'expired-token' });
    const e = await failure(collectLiveSnapshot(live({ kubeconfig: path, endpoints: ['pod/client', 'pod/idle'] }), io));
    expect(e.exitCode).toBe(3);
    expect(e.message).toBe(`the API server at ${bench.double.url} rejected the credentials of context "double" (401 Unauthorized): they are expired or invalid`);
  });

  it('Ctrl-C during collection leaves no collector pod', async () => {
    const ac = new AbortController();
    const before = bench.double.execs.length;
    const runner = bench.double.runner;
    bench.double.runner = (node) => runner(node, ['sh', '-c', 'sleep 30']);
    const watch = setInterval(() => {
      if (bench.double.execs.length > before) ac.abort();
    }, 20);
    try {
      const e = await failure(collectLiveSnapshot(live({ endpoints: ['pod/client', 'svc/web'], signal: ac.signal }), io));
      expect(e.exitCode).toBe(3);
      expect(e.code).toBe('INTERRUPTED');
      expect(e.message).toBe('interrupted during collection; collector pods were deleted');
    } finally {
      clearInterval(watch);
      bench.double.runner = runner;
    }
    expect(bench.double.created.length).toBeGreaterThan(0);
    expect(bench.double.collectorPods()).toEqual([]);
  });
});

describe('skoop capture', () => {
  it('capture then --snapshot gives the same result as the live run', async () => {
    const out = join(bench.dir, 'cluster.json.gz');
    const code = await runCapture({ output: out, allNodes: true, kubeconfig: bench.kubeconfig, signal: new AbortController().signal }, io);
    expect(code).toBe(0);
    expect(existsSync(out)).toBe(true);
    const a: DiagnoseArgs = { source: 'pod/client', destination: 'svc/web', port: 80 };
    const fromFile = await runSkoop(diagnoseArgv(out, a, 'json'));
    const liveSnap: Snapshot = await collectLiveSnapshot(live({ endpoints: [a.source, a.destination] }), io);
    const liveRun = await diagnose(liveSnap, a);
    expect(gist({ code: fromFile.code, result: JSON.parse(fromFile.stdout) as Diagnosis['result'], stderr: '' })).toEqual(gist(liveRun));
    expect(bench.double.collectorPods()).toEqual([]);
  });

  it('never writes environment values', async () => {
    const out = join(bench.dir, 'pods.json');
    await runCapture({ output: out, pods: 'default/client', kubeconfig: bench.kubeconfig, signal: new AbortController().signal }, io);
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(out, 'utf8');
    expect(text).not.toMatch(/"env":\s*\[\s*\{[^\]]*"value"/);
    expect(Object.keys((JSON.parse(text) as Snapshot).netstack)).toEqual(['node-1']);
  });
});
