import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { KubeConfig, V1Status } from '@kubernetes/client-node';
import { cannotRunError, SkoopError } from '../errors.js';
import type { Dump } from '../netstack/dump.js';
import type { KubeApi } from './live-api.js';
import { ApiStatusError, translateApiError, type ApiAction } from './live-errors.js';
import type { PlannedNode } from './live-plan.js';

/** The default collector image: pinned, with iproute2, iptables (nft and legacy), ipset, ipvsadm, nft, ss and nsenter. */
export const DEFAULT_COLLECTOR_IMAGE = 'nicolaka/netshoot:v0.13';

/** The label every collector pod carries, so that skoop's pods can be found (and removed) by hand. */
export const COLLECTOR_LABEL = 'app.kubernetes.io/name';
/** Value of {@link COLLECTOR_LABEL}. */
export const COLLECTOR_LABEL_VALUE = 'skoop-collector';

/** How collector pods are made and how long one node may take. */
export interface CollectorOptions {
  readonly namespace: string;
  readonly image: string;
  readonly pullPolicy: 'IfNotPresent' | 'Always' | 'Never';
  /** Per node: pod start plus every exec. */
  readonly timeoutMs: number;
  readonly keep: boolean;
  /** Identifies this run in pod names and labels. */
  readonly runId: string;
}

/** A node's collected state, or why it could not be collected. */
export type NodeCollection =
  | { readonly node: string; readonly ok: true; readonly host: Dump; readonly pods: Readonly<Record<string, Dump>>; readonly missingPods: readonly string[] }
  | { readonly node: string; readonly ok: false; readonly why: string };

/** Called as a node's collection goes through its steps. */
export type StepListener = (node: string, what: string) => void;

const POLL_MS = 200;

let script: string | undefined;

/** The collector script (collector/skoop-collect.sh) shipped with skoop. */
export function collectorScript(): string {
  if (script !== undefined) return script;
  for (const rel of ['../../collector/skoop-collect.sh', '../../../collector/skoop-collect.sh']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return (script = readFileSync(path, 'utf8'));
  }
  throw cannotRunError('COLLECTOR_SCRIPT_MISSING', 'collector/skoop-collect.sh is not installed next to skoop', 'reinstall skoop');
}

/** The name of the collector pod of `node` in run `runId` (a DNS-1123 label). */
export function collectorPodName(runId: string, node: string): string {
  const clean = node.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const full = `skoop-${runId}-${clean}`;
  if (full.length <= 63) return full;
  return `${full.slice(0, 55).replace(/-+$/, '')}-${createHash('sha1').update(node).digest('hex').slice(0, 7)}`;
}

/**
 * The collector pod of one node: pinned to it, in the host network and PID namespaces, privileged
 * (nsenter into pod namespaces, iptables-save), tolerating every taint, with no service account
 * token; it sleeps and ends by itself (activeDeadlineSeconds) should skoop die before deleting it.
 */
export function collectorPod(node: string, opts: CollectorOptions): Record<string, unknown> {
  const lifetime = Math.max(60, Math.ceil(opts.timeoutMs / 1000) * 2);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: collectorPodName(opts.runId, node),
      namespace: opts.namespace,
      labels: { [COLLECTOR_LABEL]: COLLECTOR_LABEL_VALUE, 'app.kubernetes.io/managed-by': 'skoop', 'skoop.dev/run': opts.runId },
      annotations: { 'skoop.dev/node': node },
    },
    spec: {
      nodeName: node,
      hostNetwork: true,
      hostPID: true,
      dnsPolicy: 'ClusterFirstWithHostNet',
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 0,
      activeDeadlineSeconds: lifetime,
      tolerations: [{ operator: 'Exists' }],
      containers: [
        {
          name: 'collector',
          image: opts.image,
          imagePullPolicy: opts.pullPolicy,
          command: ['sleep', String(lifetime)],
          securityContext: { privileged: true },
          resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '256Mi' } },
        },
      ],
    },
  };
}

interface PodView {
  readonly spec?: { readonly nodeName?: string };
  readonly status?: {
    readonly phase?: string;
    readonly reason?: string;
    readonly message?: string;
    readonly conditions?: readonly { readonly type: string; readonly status: string; readonly reason?: string; readonly message?: string }[];
    readonly containerStatuses?: readonly {
      readonly state?: { readonly waiting?: { readonly reason?: string; readonly message?: string }; readonly terminated?: { readonly reason?: string; readonly exitCode?: number } };
    }[];
  };
}

/** Why a pod is not running yet, in words (`Pending: unschedulable: 0/3 nodes…`, `ImagePullBackOff: …`). */
export function podWaitReason(pod: PodView): string {
  const st = pod.status;
  const waiting = st?.containerStatuses?.map((c) => c.state?.waiting).find((w) => w?.reason !== undefined);
  if (waiting !== undefined) return `${waiting.reason ?? 'Waiting'}${waiting.message !== undefined ? `: ${waiting.message}` : ''}`;
  const terminated = st?.containerStatuses?.map((c) => c.state?.terminated).find((t) => t !== undefined);
  if (terminated !== undefined) return `container terminated: ${terminated.reason ?? `exit code ${terminated.exitCode ?? '?'}`}`;
  const sched = st?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (sched !== undefined) return `Pending: ${sched.reason === 'Unschedulable' ? 'unschedulable' : (sched.reason ?? 'not scheduled')}${sched.message !== undefined ? `: ${sched.message}` : ''}`;
  return `${st?.phase ?? 'Pending'}${st?.reason !== undefined ? `: ${st.reason}` : ''}${st?.message !== undefined ? `: ${st.message}` : ''}`;
}

/** A node's collection failed (the run goes on without it). */
class NodeFailure extends Error {
  override readonly name = 'NodeFailure';
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * Runs collector pods: one per node, all nodes in parallel; deletes every pod it created on
 * success, failure, timeout and abort (unless `keep`).
 */
export class CollectorRunner {
  private readonly created = new Set<string>();

  constructor(
    private readonly api: KubeApi,
    private readonly kc: KubeConfig,
    private readonly opts: CollectorOptions,
  ) {}

  private action(verb: ApiAction['verb'], resource = 'pods'): ApiAction {
    return { verb, resource, group: '', namespace: this.opts.namespace };
  }

  /** Creates the collector namespace when it does not exist. */
  async ensureNamespace(): Promise<void> {
    const ns = this.opts.namespace;
    const found = await this.api.get(`/api/v1/namespaces/${ns}`, { verb: 'get', resource: 'namespaces', group: '' }, true);
    if (found !== undefined) return;
    await this.api.create(
      '/api/v1/namespaces',
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'app.kubernetes.io/managed-by': 'skoop' } } },
      { verb: 'create', resource: 'namespaces', group: '' },
      true,
    );
  }

  /**
   * Collects every planned node in parallel. Failures that concern the whole run (RBAC, credentials,
   * unreachable server, abort) are thrown; a node that cannot be collected is returned as such.
   */
  async collect(plan: readonly PlannedNode[], signal: AbortSignal, onStep: StepListener): Promise<NodeCollection[]> {
    try {
      const settled = await Promise.allSettled(plan.map((n) => this.collectNode(n, signal, onStep)));
      const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure !== undefined) throw failure.reason;
      return settled.map((r) => (r as PromiseFulfilledResult<NodeCollection>).value);
    } finally {
      await this.cleanup();
    }
  }

  /** Deletes every collector pod this runner created and has not deleted yet (unless `keep`). */
  async cleanup(): Promise<void> {
    if (this.opts.keep) return;
    const names = [...this.created];
    await Promise.all(
      names.map(async (name) => {
        try {
          await this.api.delete(`/api/v1/namespaces/${this.opts.namespace}/pods/${name}`, this.action('delete'));
          this.created.delete(name);
        } catch {
          // reported below by the caller's leftover check
        }
      }),
    );
  }

  /** Collector pods created and not deleted (after {@link cleanup}: those whose deletion failed, or kept). */
  leftovers(): readonly string[] {
    return [...this.created];
  }

  private async collectNode(node: PlannedNode, signal: AbortSignal, onStep: StepListener): Promise<NodeCollection> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.opts.timeoutMs);
    const both = AbortSignal.any([signal, deadline.signal]);
    let stage = 'creating the collector pod';
    const step = (what: string): void => {
      stage = what;
      onStep(node.name, what);
    };
    const name = collectorPodName(this.opts.runId, node.name);
    try {
      step('creating collector pod');
      await this.api.create(`/api/v1/namespaces/${this.opts.namespace}/pods`, collectorPod(node.name, this.opts), this.action('create'));
      this.created.add(name);
      step('waiting for collector pod');
      await this.waitRunning(name, both);
      step('collecting host');
      const host = JSON.parse(await this.exec(name, [], both)) as Dump;
      const pods: Record<string, Dump> = {};
      const missingPods: string[] = [];
      if (node.pods.length > 0) {
        step('finding pod namespaces');
        const found = await this.exec(name, ['--find-pod-netns', [...new Set(node.pods.flatMap((p) => p.ips))].join(',')], both);
        const pidOf = new Map<string, number>();
        for (const line of found.split('\n')) {
          if (line.trim() === '') continue;
          const m = JSON.parse(line) as { ip: string; pid: number };
          if (!pidOf.has(m.ip)) pidOf.set(m.ip, m.pid);
        }
        step(`collecting ${node.pods.length} pod${node.pods.length === 1 ? '' : 's'}`);
        await Promise.all(
          node.pods.map(async (p) => {
            const pid = p.ips.map((ip) => pidOf.get(ip)).find((x) => x !== undefined);
            if (pid === undefined) {
              missingPods.push(p.id);
              return;
            }
            pods[p.id] = JSON.parse(await this.exec(name, ['--netns-pid', String(pid)], both)) as Dump;
          }),
        );
      }
      return { node: node.name, ok: true, host, pods, missingPods: missingPods.sort() };
    } catch (err) {
      if (signal.aborted) throw cannotRunError('INTERRUPTED', 'interrupted during collection; collector pods were deleted', 'run skoop again', err);
      if (err instanceof SkoopError) throw err;
      if (deadline.signal.aborted) {
        const why = err instanceof NodeFailure ? err.message : `${stage} did not finish`;
        return { node: node.name, ok: false, why: `timed out after ${this.opts.timeoutMs / 1000} s: ${why}` };
      }
      return { node: node.name, ok: false, why: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
      if (!this.opts.keep && this.created.has(name)) {
        try {
          await this.api.delete(`/api/v1/namespaces/${this.opts.namespace}/pods/${name}`, this.action('delete'));
          this.created.delete(name);
        } catch {
          // retried by cleanup()
        }
      }
    }
  }

  /** Polls the pod until it runs; throws a {@link NodeFailure} saying why it does not when the signal fires or it fails. */
  private async waitRunning(name: string, signal: AbortSignal): Promise<void> {
    let last = 'Pending';
    for (;;) {
      const pod = await this.api.get<PodView>(`/api/v1/namespaces/${this.opts.namespace}/pods/${name}`, this.action('get'));
      const phase = pod?.status?.phase;
      if (phase === 'Running') return;
      last = pod !== undefined ? podWaitReason(pod) : 'deleted';
      if (phase === 'Failed' || phase === 'Succeeded') throw new NodeFailure(`collector pod ${phase}: ${last}`);
      if (signal.aborted) throw new NodeFailure(`collector pod ${name} never ran: ${last}`);
      await sleep(POLL_MS, signal);
      if (signal.aborted) throw new NodeFailure(`collector pod ${name} never ran: ${last}`);
    }
  }

  /** Runs the collector script with `args` in the collector pod over the exec subresource; returns its stdout. */
  private exec(pod: string, args: readonly string[], signal: AbortSignal): Promise<string> {
    const command = ['sh', '-c', collectorScript(), 'skoop-collect', ...args];
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const sink = (into: Buffer[]): Writable =>
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          into.push(chunk);
          cb();
        },
      });
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      let socket: { close: () => void } | undefined;
      const finish = (e: Error | undefined, value?: string): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        socket?.close();
        if (e !== undefined) reject(e);
        else resolve(value ?? '');
      };
      const onAbort = (): void => finish(new NodeFailure(`exec ${args[0] ?? 'host'} did not finish`));
      signal.addEventListener('abort', onAbort, { once: true });
      const onStatus = (st: V1Status): void => {
        if (st.status === 'Success') return finish(undefined, Buffer.concat(out).toString('utf8'));
        const stderr = Buffer.concat(err).toString('utf8').trim().split('\n')[0] ?? '';
        finish(new NodeFailure(`exec failed: ${st.message ?? st.reason ?? 'unknown'}${stderr !== '' ? ` (${stderr})` : ''}`));
      };
      // The client is imported when first used, so that loading this module (for its constants) stays cheap.
      import('@kubernetes/client-node')
        .then(({ Exec }) =>
          new Exec(this.kc).exec(this.opts.namespace, pod, 'collector', command, sink(out), sink(err), null, false, onStatus),
        )
        .then((ws) => {
          socket = ws;
          if (settled) ws.close();
          ws.on('close', () => finish(new NodeFailure('exec failed: the connection closed before the command finished')));
        })
        .catch((e: unknown) => finish(this.execError(e)));
    });
  }

  /** An exec that could not start: RBAC and credentials are the run's failures, the rest the node's. */
  private execError(e: unknown): Error {
    const text = e instanceof Error ? e.message : String((e as { message?: unknown })?.message ?? e);
    const code = /Unexpected server response: (\d+)/.exec(text)?.[1];
    if (code === '401' || code === '403') {
      return translateApiError(new ApiStatusError(Number(code), undefined, text), this.action('create', 'pods/exec'), this.api.target);
    }
    if (code === undefined) {
      const err = e as { code?: unknown };
      if (typeof err.code === 'string') return translateApiError(e, this.action('create', 'pods/exec'), this.api.target);
    }
    return new NodeFailure(`exec failed: ${text}`);
  }
}
