// Live collection is parallel: collecting 3 nodes should take about as long as 1, not 3 times as
// long. Builds a 3-node flannel vxlan cluster on the namespace bench (needs root), serves it through
// the API-server double (test/api-double), and times skoop's own live collection — collector pods
// created, exec'd over the WebSocket protocol inside each node's namespace, deleted — for 1 node, for
// the 3 nodes at once, and for the 3 one after the other. Run: `npm run bench:collect`.
import { performance } from 'node:perf_hooks';
import type { CliIo } from '../src/io.js';
import { collectLiveSnapshot, type LiveOptions } from '../src/source/live-snapshot.js';
import { buildCluster } from '../test/e2e/cluster/cluster.js';
import { destroyAllLabs } from '../test/e2e/lib/lab.js';
import { startBenchDouble } from '../test/e2e/live/bench-double.js';

const ROUNDS = Number(process.env['ROUNDS'] ?? 5);
const io: CliIo = { stdout: () => undefined, stderr: () => undefined, env: { NO_COLOR: '1' }, stdoutIsTTY: false, stderrIsTTY: false };

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

const cluster = await buildCluster({
  name: 'bcol',
  cni: { plugin: 'flannel', backend: 'vxlan' },
  nodes: 3,
  pods: [
    { name: 'client', node: 1 },
    { name: 'web-a', node: 2, labels: { app: 'web' }, ports: [{ name: 'http', port: 8080 }] },
  ],
  services: [],
});
const bench = await startBenchDouble(cluster);
try {
  const live = (selection: NonNullable<LiveOptions['selection']>): LiveOptions => ({
    kubeconfig: bench.kubeconfig,
    namespace: 'default',
    collectorTimeout: 60,
    selection,
  });
  const time = async (selection: NonNullable<LiveOptions['selection']>): Promise<number> => {
    const t0 = performance.now();
    await collectLiveSnapshot(live(selection), io);
    return performance.now() - t0;
  };
  await time({ nodes: ['node-1'] }); // warm-up: module loading, first pod creation
  const one: number[] = [];
  const three: number[] = [];
  const serial: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const singles = [await time({ nodes: ['node-1'] }), await time({ nodes: ['node-2'] }), await time({ nodes: ['node-3'] })];
    one.push(median(singles));
    serial.push(singles.reduce((a, b) => a + b, 0));
    three.push(await time({ allNodes: true }));
  }
  const m1 = median(one);
  const m3 = median(three);
  const ms = median(serial);
  console.log(`live collection through the API double, ${ROUNDS} rounds (median):`);
  console.log('');
  console.log('| collected | wall (ms) |');
  console.log('|---|---:|');
  console.log(`| 1 node | ${m1.toFixed(0)} |`);
  console.log(`| 3 nodes, as skoop does it (in parallel) | ${m3.toFixed(0)} |`);
  console.log(`| 3 nodes one after the other | ${ms.toFixed(0)} |`);
  console.log('');
  console.log(`ratio 3 nodes / 1 node: ${(m3 / m1).toFixed(2)} (one after the other would be ${(ms / m1).toFixed(2)})`);
  if (bench.double.collectorPods().length > 0) throw new Error('collector pods were left behind');
} finally {
  await bench.close();
  cluster.destroy();
  destroyAllLabs();
}
