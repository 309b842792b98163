// skoop's text, JSON and DOT output for three representative scenarios, as golden files
// (test/golden/scenarios/), with what differs between runs normalised; and the SVG rendering of one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAllLabs } from '../lib/lab.js';
import type { Result } from '../../../src/model/result.js';
import type { Snapshot } from '../../../src/source/snapshot.js';
import { applyBreaks } from './scenario.js';
import type { Break } from './scenario.js';
import { buildCluster } from './cluster.js';
import type { Cluster, ClusterSpec } from './cluster.js';
import { normalizeRunDependent, svgTitles, xmlProblems } from './normalize.js';
import { diagnoseArgv, runSkoop, writeTempSnapshot } from './skoop-run.js';
import type { DiagnoseArgs, SnapshotFile } from './skoop-run.js';

const web = (cni: ClusterSpec['cni'], name: string): ClusterSpec => ({
  name,
  cni,
  nodes: 2,
  pods: [
    { name: 'client', node: 1 },
    { name: 'web-a', node: 1, labels: { app: 'web' }, ports: [{ name: 'http', port: 8080 }] },
    { name: 'web-b', node: 2, labels: { app: 'web' }, ports: [{ name: 'http', port: 8080 }] },
  ],
  services: [
    {
      name: 'web',
      clusterIP: '10.96.0.10',
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
    },
  ],
});

interface Golden {
  readonly name: string;
  readonly cluster: () => Cluster;
  readonly breaks: (c: Cluster) => readonly Break[];
  readonly args: DiagnoseArgs;
  readonly verdict: Result['verdict'];
}

let flannel: Cluster;
let calico: Cluster;

beforeAll(async () => {
  [flannel, calico] = await Promise.all([
    buildCluster(web({ plugin: 'flannel', backend: 'vxlan' }, 'golden-flannel')),
    buildCluster(web({ plugin: 'calico', encap: 'bgp' }, 'golden-calico')),
  ]);
});

afterAll(() => {
  flannel?.destroy();
  calico?.destroy();
  destroyAllLabs();
});

const goldens: Golden[] = [
  {
    name: 'flannel-vxlan-service-reachable',
    cluster: () => flannel,
    breaks: () => [],
    args: { source: 'pod/client', destination: 'svc/web', port: 'http' },
    verdict: 'reachable',
  },
  {
    name: 'flannel-vxlan-service-backend-dropped',
    cluster: () => flannel,
    breaks: () => [
      {
        on: 'default/web-b',
        script: 'iptables -A INPUT -p tcp --dport 8080 -j DROP',
        undo: 'iptables -F INPUT',
      },
    ],
    args: { source: 'pod/client', destination: 'svc/web', port: 80 },
    verdict: 'partial',
  },
  {
    name: 'calico-bgp-pod-route-deleted',
    cluster: () => calico,
    breaks: (c) => {
      const p = c.pod('web-b');
      return [
        {
          on: 'node-2',
          script: `ip route del ${p.ip}/32 dev ${p.hostVeth}`,
          undo: `ip route replace ${p.ip}/32 dev ${p.hostVeth} scope link`,
        },
      ];
    },
    args: { source: 'pod/client', destination: 'pod/web-b', port: 8080 },
    verdict: 'unreachable',
  },
];

/** Captures the cluster with the scenario's breaks applied (and undone afterwards). */
async function capture(g: Golden): Promise<Snapshot> {
  const c = g.cluster();
  const undo = applyBreaks(c, g.breaks(c));
  try {
    return await c.snapshot();
  } finally {
    undo();
  }
}

describe('golden scenarios', () => {
  it.each(goldens)('$name: text, json and dot', async (g) => {
    const file = await writeTempSnapshot(await capture(g));
    try {
      const json = await runSkoop(diagnoseArgv(file.path, g.args, 'json'));
      expect((JSON.parse(json.stdout) as Result).verdict, json.stdout).toBe(g.verdict);
      for (const [format, ext] of [
        ['text', 'txt'],
        ['json', 'json'],
        ['dot', 'dot'],
      ] as const) {
        const run = format === 'json' ? json : await runSkoop(diagnoseArgv(file.path, g.args, format));
        expect(run.stderr).toBe('');
        await expect(normalizeRunDependent(run.stdout)).toMatchFileSnapshot(
          `../../golden/scenarios/${g.name}.${ext}`,
        );
      }
    } finally {
      file.remove();
    }
  });

  it('renders an SVG that is well-formed and names every node of the path', async () => {
    const g = goldens[1] as Golden;
    let file: SnapshotFile | undefined;
    try {
      file = await writeTempSnapshot(await capture(g));
      const json = JSON.parse((await runSkoop(diagnoseArgv(file.path, g.args, 'json'))).stdout) as Result;
      const svg = await runSkoop(diagnoseArgv(file.path, g.args, 'svg'));
      expect(svg.stderr).toBe('');
      expect(svg.stdout).toMatch(/<svg[\s>]/);
      expect(xmlProblems(svg.stdout)).toEqual([]);
      expect(json.path.nodes.length).toBeGreaterThan(3);
      const titles = svgTitles(svg.stdout);
      for (const n of json.path.nodes) expect(titles, n.id).toContain(n.id);
    } finally {
      file?.remove();
    }
  });
});
