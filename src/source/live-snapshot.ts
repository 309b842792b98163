import { randomBytes } from 'node:crypto';
import { cannotRunError, usageError } from '../errors.js';
import type { CliIo } from '../io.js';
import type { ClusterObjects } from '../k8s/objects.js';
import { SNAPSHOT_API_VERSION, parseSnapshot, type NodeNetstack, type Snapshot } from './snapshot.js';
import { KubeApi } from './live-api.js';
import { CollectorRunner, DEFAULT_COLLECTOR_IMAGE, type CollectorOptions } from './live-collector.js';
import { loadKubeconfig } from './live-kubeconfig.js';
import { listClusterObjects } from './live-list.js';
import {
  planForEndpoints,
  planForSelection,
  type CaptureSelection,
  type CollectionPlan,
} from './live-plan.js';
import { createNodeProgress } from './live-progress.js';
import { interruptSignal } from '../interrupt.js';

/** The default per-node collector timeout. */
export const DEFAULT_COLLECTOR_TIMEOUT_MS = 60_000;

/** How to reach the cluster and run the collectors (the live flags of CONTRACTS.md §1). */
export interface LiveOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  /** `-n`: default namespace for endpoint references (default: the context's). */
  readonly namespace?: string;
  /** Default `skoop`; created when missing. */
  readonly collectorNamespace?: string;
  readonly collectorImage?: string;
  readonly collectorPullPolicy?: string;
  /** Per node, in seconds (a number or text such as `90` or `90s`). */
  readonly collectorTimeout?: string | number;
  readonly keepCollectors?: boolean;
  /** What to collect: the endpoints of a diagnosis (`-s`, `-d`), or a capture selection. */
  readonly endpoints?: readonly string[];
  readonly selection?: CaptureSelection;
  /** Aborts collection (Ctrl-C); default: SIGINT and SIGTERM of this process. */
  readonly signal?: AbortSignal;
}

const PULL_POLICIES = ['IfNotPresent', 'Always', 'Never'] as const;

function parseTimeout(value: string | number | undefined): number {
  if (value === undefined) return DEFAULT_COLLECTOR_TIMEOUT_MS;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(value).trim());
  const n = m?.[1] !== undefined ? Number(m[1]) : NaN;
  if (m === null || !(n > 0))
    throw usageError(
      'TIMEOUT_INVALID',
      `--collector-timeout "${value}" is not a duration`,
      'give seconds, e.g. 60 or 90s or 2m',
    );
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

/** The default namespace for endpoint references: `-n`, else the kubeconfig context's. */
export function liveNamespace(options: LiveOptions, io: CliIo): string {
  return options.namespace ?? loadKubeconfig({ ...pick(options), env: io.env }).namespace;
}

const pick = (o: LiveOptions): { kubeconfig?: string; context?: string } => ({
  ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}),
  ...(o.context !== undefined ? { context: o.context } : {}),
});

/**
 * Reads the live cluster of the kubeconfig, plans which nodes and pods the packet can touch (or the
 * capture selection), collects them with collector pods in parallel, and returns the snapshot that
 * `--snapshot` would read. Nodes that could not be collected are absent from `netstack` (their hops
 * become `NETSTACK_NOT_COLLECTED`); when none could be, it fails (exit 3).
 */
export async function collectLiveSnapshot(options: LiveOptions, io: CliIo): Promise<Snapshot> {
  const pullPolicy = options.collectorPullPolicy ?? 'IfNotPresent';
  if (!(PULL_POLICIES as readonly string[]).includes(pullPolicy)) {
    throw usageError(
      'PULL_POLICY_INVALID',
      `--collector-pull-policy "${pullPolicy}" is not a pull policy`,
      `use one of: ${PULL_POLICIES.join(', ')}`,
    );
  }
  const timeoutMs = parseTimeout(options.collectorTimeout);
  const loaded = loadKubeconfig({ ...pick(options), env: io.env });
  const api = new KubeApi(loaded.kc, loaded.context);
  const objects: ClusterObjects = await listClusterObjects(api);
  const plan: CollectionPlan =
    options.selection !== undefined
      ? planForSelection(objects, options.selection)
      : planForEndpoints(objects, options.endpoints ?? [], options.namespace ?? loaded.namespace);
  const collector: CollectorOptions = {
    namespace: options.collectorNamespace ?? 'skoop',
    image: options.collectorImage ?? DEFAULT_COLLECTOR_IMAGE,
    pullPolicy: pullPolicy as CollectorOptions['pullPolicy'],
    timeoutMs,
    keep: options.keepCollectors === true,
    runId: randomBytes(3).toString('hex'),
  };
  const netstack: Record<string, NodeNetstack> = {};
  if (plan.nodes.length > 0) {
    const runner = new CollectorRunner(api, loaded.kc, collector);
    const progress = createNodeProgress(io);
    const own = options.signal === undefined ? interruptSignal() : undefined;
    const signal = options.signal ?? (own as { signal: AbortSignal }).signal;
    try {
      if (signal.aborted)
        throw cannotRunError('INTERRUPTED', 'interrupted before collection', 'run skoop again');
      await runner.ensureNamespace();
      for (const n of plan.nodes) progress.start(n.name);
      const results = await runner.collect(plan.nodes, signal, (node, what) => progress.step(node, what));
      for (const r of results) {
        if (r.ok) {
          netstack[r.node] = { host: r.host, pods: r.pods };
          progress.done(
            r.node,
            [
              `${Object.keys(r.pods).length} pods`,
              ...(r.missingPods.length > 0 ? [`no namespace found for ${r.missingPods.join(', ')}`] : []),
            ].join('; '),
          );
        } else progress.failed(r.node, r.why);
      }
      progress.stop();
      const failed = results.filter((r) => !r.ok);
      if (failed.length === results.length) {
        throw cannotRunError(
          'COLLECTOR_FAILED',
          `no node could be collected: ${failed.map((r) => `${r.node}: ${r.ok ? '' : r.why}`).join('; ')}`,
          `check the collector pods in namespace ${collector.namespace} (kubectl -n ${collector.namespace} describe pod -l app.kubernetes.io/name=skoop-collector with --keep-collectors), the image ${collector.image} (air-gapped: push it to a reachable registry and pass --collector-image), or raise --collector-timeout`,
        );
      }
    } finally {
      progress.stop();
      own?.dispose();
      await runner.cleanup();
      const left = runner.leftovers();
      if (left.length > 0 && !collector.keep) {
        io.stderr(
          `warning: could not delete collector pods ${left.join(', ')} in namespace ${collector.namespace}: delete them with kubectl -n ${collector.namespace} delete pod ${left.join(' ')}\n`,
        );
      } else if (collector.keep) {
        io.stderr(
          `collector pods kept (--keep-collectors): kubectl -n ${collector.namespace} delete pod -l skoop.dev/run=${collector.runId}\n`,
        );
      }
    }
  }
  return parseSnapshot(
    {
      apiVersion: SNAPSHOT_API_VERSION,
      kind: 'Snapshot',
      capturedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      objects,
      netstack,
    },
    `cluster ${loaded.server}`,
  );
}
