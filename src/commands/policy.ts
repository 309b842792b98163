import { EXIT, usageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { buildClusterIndex, type ClusterIndex } from '../k8s/cluster-index.js';
import { parseEndpointRef, resolveEndpoint } from '../k8s/endpoint-ref.js';
import type { ClusterObjects } from '../k8s/objects.js';
import { findContainerPort, findServicePort } from '../k8s/service-ports.js';
import { evaluatePolicies } from '../policy/evaluate-policies.js';
import {
  backendPolicyEndpoint,
  describeEndpoint,
  endpointIp,
  policyEndpointOf,
  type PolicyEndpoint,
  type PolicyProtocol,
} from '../policy/policy-endpoint.js';
import type { PolicyVerdict } from '../policy/policy-verdict.js';
import { readManifests } from '../source/manifests.js';
import { readSnapshotFile } from '../source/snapshot.js';

/** Options of `skoop policy`. */
export interface PolicyOptions {
  readonly source: string;
  readonly destination: string;
  /** A number, a Service port name, or a container port name. */
  readonly port?: string;
  readonly protocol: string;
  readonly namespace?: string;
  readonly snapshot?: string;
  /** A file or directory of YAML/JSON manifests (`-f`). */
  readonly files?: string;
  /** The live cluster, when neither a snapshot nor manifests are given. */
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly format: string;
  /** Whether NetworkPolicy ipBlocks match pod IPs (CNI-specific; default true). */
  readonly ipBlockMatchesPodIps?: boolean;
}

/** One flag of `skoop policy`, for commander. */
export interface FlagSpec {
  readonly flags: string;
  readonly description: string;
  readonly key: keyof PolicyOptions;
  readonly choices?: readonly string[];
  readonly defaultValue?: string;
  readonly required?: boolean;
}

/** The `skoop policy` command: its name, description and flags, for the CLI to register. */
export function policyCommandSpec(): {
  readonly name: string;
  readonly description: string;
  readonly flags: readonly FlagSpec[];
  readonly examples: string;
} {
  return {
    name: 'policy',
    description:
      'answer the NetworkPolicy question alone: would the policies (ANP → NetworkPolicy → BANP) allow SRC to reach DST on PORT, and which rule decides',
    flags: [
      {
        flags: '-s, --source <SRC>',
        description: 'IP, pod/NAME, pod/NS/NAME, node/NAME',
        key: 'source',
        required: true,
      },
      {
        flags: '-d, --destination <DST>',
        description: 'IP, pod/…, svc/NAME, svc/NS/NAME, node/NAME (a Service is judged per backend)',
        key: 'destination',
        required: true,
      },
      {
        flags: '-p, --port <PORT>',
        description: 'destination port: number, Service port name or container port name',
        key: 'port',
      },
      {
        flags: '--protocol <PROTO>',
        description: 'protocol',
        key: 'protocol',
        choices: ['tcp', 'udp', 'sctp', 'icmp'],
        defaultValue: 'tcp',
      },
      {
        flags: '-n, --namespace <NS>',
        description:
          "namespace for pod/NAME and svc/NAME (default: the kubeconfig context's for a live cluster, else default)",
        key: 'namespace',
      },
      { flags: '--snapshot <FILE>', description: 'read the cluster from a snapshot file', key: 'snapshot' },
      {
        flags: '--kubeconfig <FILE>',
        description: 'the live cluster (default: KUBECONFIG, ~/.kube/config, in-cluster)',
        key: 'kubeconfig',
      },
      { flags: '--context <NAME>', description: 'kubeconfig context', key: 'context' },
      {
        flags: '-f, --filename <PATH>',
        description:
          'read the cluster from YAML/JSON manifests (file or directory): Namespaces, Pods, Deployments, policies',
        key: 'files',
      },
      {
        flags: '--format <FORMAT>',
        description: 'output format',
        key: 'format',
        choices: ['text', 'json'],
        defaultValue: 'text',
      },
    ],
    examples: `  skoop policy -s pod/shop/frontend -d svc/shop/cart -p 8080 --snapshot cluster.json
  skoop policy -s pod/web-0 -d pod/db-0 -p postgres -n shop -f k8s/`,
  };
}

const PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'ICMP'] as const;

/** One evaluated destination: the pod (or address) behind the Service or the destination itself. */
interface BackendVerdict {
  readonly backend: string;
  readonly ip: string;
  readonly port: number;
  readonly verdict: PolicyVerdict;
}

/**
 * The objects to judge: from a snapshot, from manifests, or listed from the live cluster of the
 * kubeconfig; with the namespace short endpoint names resolve in (a live context's, else `default`).
 */
async function loadObjects(
  opts: PolicyOptions,
  env: CliIo['env'],
): Promise<{ objects: ClusterObjects; namespace: string }> {
  if (opts.snapshot !== undefined && opts.files !== undefined) {
    throw usageError(
      'SOURCE_CONFLICT',
      'give either --snapshot or -f, not both',
      'use --snapshot FILE for a captured cluster, -f DIR for manifests',
    );
  }
  const namespace = opts.namespace ?? 'default';
  if (opts.snapshot !== undefined)
    return { objects: (await readSnapshotFile(opts.snapshot)).objects, namespace };
  if (opts.files !== undefined) return { objects: await readManifests(opts.files), namespace };
  // The live cluster of the kubeconfig (loaded on demand: it brings the Kubernetes client).
  const [{ loadKubeconfig }, { KubeApi }, { listClusterObjects }] = await Promise.all([
    import('../source/live-kubeconfig.js'),
    import('../source/live-api.js'),
    import('../source/live-list.js'),
  ]);
  const loaded = loadKubeconfig({
    ...(opts.kubeconfig !== undefined ? { kubeconfig: opts.kubeconfig } : {}),
    ...(opts.context !== undefined ? { context: opts.context } : {}),
    env,
  });
  const objects = await listClusterObjects(new KubeApi(loaded.kc, loaded.context));
  return { objects, namespace: opts.namespace ?? loaded.namespace };
}

/**
 * `skoop policy`: evaluates the policies between two endpoints (each backend of a Service) and
 * prints the verdict with its explanation; returns 0 when every backend is allowed, 1 otherwise.
 */
export async function runPolicy(opts: PolicyOptions, io: CliIo): Promise<number> {
  if (opts.format !== 'text' && opts.format !== 'json')
    throw usageError('FORMAT_UNKNOWN', `unknown format "${opts.format}"`, 'use one of: text, json');
  const protocol = opts.protocol.toUpperCase() as PolicyProtocol;
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    throw usageError(
      'PROTOCOL_UNKNOWN',
      `unknown protocol "${opts.protocol}"`,
      'use one of: tcp, udp, sctp, icmp',
    );
  }
  if (protocol !== 'ICMP' && opts.port === undefined)
    throw usageError('PORT_REQUIRED', `-p/--port is required for ${protocol}`, 'e.g. -p 8080 or -p http');
  const { objects, namespace } = await loadObjects(opts, io.env);
  const index = buildClusterIndex(objects);
  const source = resolveEndpoint(index, parseEndpointRef(opts.source, namespace));
  if (source.type === 'service') {
    throw usageError(
      'SOURCE_UNSUPPORTED',
      `the source must not be a Service (${opts.source})`,
      'give -s as a pod, node or IP',
    );
  }
  const src = policyEndpointOf(index, source) as PolicyEndpoint;
  const destination = resolveEndpoint(index, parseEndpointRef(opts.destination, namespace));
  const targets = destinationTargets(index, destination, opts.port, protocol);
  const results: BackendVerdict[] = targets
    .map((t) => ({
      ...t,
      verdict: evaluatePolicies({
        cluster: index,
        source: src,
        destination: t.endpoint,
        port: t.port,
        protocol,
        ...(opts.ipBlockMatchesPodIps !== undefined
          ? { ipBlockMatchesPodIps: opts.ipBlockMatchesPodIps }
          : {}),
      }),
    }))
    .map(({ endpoint: _e, ...rest }) => rest);
  const allowed = results.length > 0 && results.every((r) => r.verdict.allowed);
  if (opts.format === 'json') {
    io.stdout(
      `${JSON.stringify({ allowed, source: { id: source.id, ip: source.ip, type: source.type }, destination: { id: destination.id, ip: destination.ip, type: destination.type }, protocol, backends: results }, null, 2)}\n`,
    );
  } else {
    io.stdout(renderText(describeEndpoint(src), destination.id, protocol, results));
  }
  return allowed ? EXIT.ok : EXIT.problem;
}

function destinationTargets(
  index: ClusterIndex,
  destination: ReturnType<typeof resolveEndpoint>,
  port: string | undefined,
  protocol: PolicyProtocol,
): { backend: string; ip: string; port: number; endpoint: PolicyEndpoint }[] {
  const numeric = port !== undefined && /^\d+$/.test(port) ? Number(port) : undefined;
  if (destination.type === 'service') {
    if (protocol === 'ICMP')
      throw usageError(
        'PROTOCOL_UNSUPPORTED',
        'a Service is reached over TCP, UDP or SCTP, not ICMP',
        'give --protocol tcp|udp|sctp',
      );
    const servicePort = findServicePort(destination.service, port ?? '', protocol);
    const eps = index.serviceEndpoints(destination.service, servicePort);
    const ready = (eps?.backends ?? []).filter((b) => b.ready);
    if (ready.length === 0) {
      throw usageError(
        'SERVICE_NO_ENDPOINTS',
        `service ${destination.id} has no ready backends for port ${servicePort.port}`,
        'give a pod as -d to judge the policies of one pod',
      );
    }
    return ready.map((b) => {
      const endpoint = backendPolicyEndpoint(index, b);
      return {
        backend: endpoint.kind === 'pod' ? describeEndpoint(endpoint) : b.ip,
        ip: b.ip,
        port: b.port,
        endpoint,
      };
    });
  }
  const endpoint = policyEndpointOf(index, destination) as PolicyEndpoint;
  let p = numeric ?? 0;
  if (port !== undefined && numeric === undefined) {
    const found = destination.type === 'pod' ? findContainerPort(destination.pod, port, protocol) : undefined;
    if (found === undefined) {
      throw usageError(
        'PORT_NOT_FOUND',
        `${destination.id} has no container port named "${port}"`,
        'give the port as a number, or a name from the pod spec',
      );
    }
    p = found;
  }
  return [{ backend: describeEndpoint(endpoint), ip: endpointIp(endpoint), port: p, endpoint }];
}

function renderText(
  source: string,
  destination: string,
  protocol: string,
  results: readonly BackendVerdict[],
): string {
  const lines: string[] = [];
  for (const r of results) {
    const where = protocol === 'ICMP' ? 'ICMP' : `${protocol} ${r.port}`;
    lines.push(
      `${r.verdict.allowed ? 'ALLOWED' : 'DENIED '}  ${source} → ${r.backend}${r.backend.includes(r.ip) ? '' : ` (${r.ip})`} on ${where}${results.length > 1 || r.backend !== destination ? ` [${destination}]` : ''}`,
    );
    for (const e of r.verdict.explanation) lines.push(`  ${e}`);
  }
  return `${lines.join('\n')}\n`;
}
