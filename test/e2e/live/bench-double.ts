// The API server double wired to a bench cluster: every node's exec runs inside the node's network
// namespace, in a PID namespace of the cluster's own (like hostPID on a real node: /proc shows this
// cluster's "pod" processes only, so the collector's /proc walk finds them and nothing else on the
// machine), where a pause process holds each pod's network namespace.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterObjects } from '../../../src/k8s/objects.js';
import { startApiDouble } from '../../api-double/api-double.js';
import type { ApiDouble, ApiDoubleOptions, ApiObject } from '../../api-double/api-double.js';
import type { Cluster } from '../cluster/cluster.js';

/** A double serving a bench cluster, with a kubeconfig for it. */
export interface BenchDouble {
  readonly double: ApiDouble;
  readonly kubeconfig: string;
  readonly dir: string;
  /** Stops the double and the cluster's PID namespace (the pause processes die with it). */
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The pid of the first child of `pid` (the init of an `unshare --fork` PID namespace). */
async function childOf(pid: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    try {
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
      if (children !== '') return Number(children.split(' ')[0]);
    } catch {
      // not yet
    }
    await sleep(20);
  }
  throw new Error(`unshare ${pid} started no child`);
}

/** The API objects of a cluster as the double serves them (by resource). */
export function resourcesOf(objects: ClusterObjects): Record<string, ApiObject[]> {
  const as = (l: readonly unknown[]): ApiObject[] => l as ApiObject[];
  return {
    nodes: as(objects.nodes),
    namespaces: as(objects.namespaces),
    pods: as(objects.pods),
    services: as(objects.services),
    endpointslices: as(objects.endpointSlices),
    networkpolicies: as(objects.networkPolicies),
    daemonsets: as(objects.daemonSets),
    configmaps: as(objects.configMaps),
    ippools: as(objects.ipPools),
  };
}

/** Starts a double for `cluster`; `extra` overrides its options. */
export async function startBenchDouble(cluster: Cluster, extra: Partial<ApiDoubleOptions> = {}): Promise<BenchDouble> {
  const init = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--propagation', 'unchanged', 'sleep', '3600'], { stdio: 'ignore' });
  const pid1 = await childOf(init.pid as number);
  const enter = (ns: string, argv: readonly string[]): ChildProcess =>
    spawn('nsenter', ['-t', String(pid1), '--pid', '--mount', 'ip', 'netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
  const pauses = cluster.pods.map((p) => enter(cluster.lab.ns(p.host), ['sleep', '3600']));
  await sleep(200);
  const double = await startApiDouble({
    objects: resourcesOf(cluster.objects),
    runner: (node, command) => enter(cluster.lab.ns(cluster.node(node).host), command),
    calicoCrd: cluster.objects.ipPools.length > 0,
    ...extra,
  });
  if (!double.namespaces.has('default')) double.namespaces.set('default', { metadata: { name: 'default' } });
  const dir = mkdtempSync(join(tmpdir(), 'skoop-live-'));
  const kubeconfig = join(dir, 'config');
  double.writeKubeconfig(kubeconfig);
  return {
    double,
    kubeconfig,
    dir,
    async close() {
      await double.close();
      for (const p of pauses) p.kill('SIGKILL');
      try {
        process.kill(pid1, 'SIGKILL');
      } catch {
        // gone
      }
      init.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
