import { writeFile } from 'node:fs/promises';
import { usageError } from '../errors.js';
import { parseEndpointRef, resolveEndpoint, type ResolvedEndpoint } from '../k8s/endpoint-ref.js';
import { findContainerPort, findServicePort } from '../k8s/service-ports.js';
import type { ServicePort } from '../k8s/objects.js';
import type { Result } from '../model/result.js';
import { familyOf } from '../netstack/ip.js';
import { RENDER_FORMATS, renderResult, type RenderFormat } from '../render/render-result.js';
import { renderHtml } from '../render/render-html.js';
import { interruptSignal, parseListenAddress, serveReport } from './serve.js';
import { readSnapshotFile } from '../source/snapshot.js';
import type { LiveOptions } from '../source/live-snapshot.js';
import { createGenericNetwork } from '../provider/generic.js';
import { EXIT } from '../errors.js';
import { wantsColor, type CliIo } from '../io.js';

/** The options of the main command (CONTRACTS.md §1). */
export interface DiagnoseOptions {
  readonly source: string;
  readonly destination: string;
  readonly dport?: string;
  readonly protocol: string;
  readonly namespace?: string;
  readonly snapshot?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly networkPlugin?: string;
  readonly proxyMode?: string;
  readonly format: string;
  readonly output?: string;
  /** `--http [ADDR]`: serve the HTML report instead of printing (true: the default address). */
  readonly http?: string | true;
  readonly httpAllowRemote?: boolean;
  /** Live collection (without --snapshot). */
  readonly collectorNamespace?: string;
  readonly collectorImage?: string;
  readonly collectorPullPolicy?: string;
  readonly collectorTimeout?: string;
  readonly keepCollectors?: boolean;
  readonly pluginOptions: Readonly<Record<string, string>>;
}

const FORMATS = RENDER_FORMATS;
const PROTOCOLS = ['tcp', 'udp', 'icmp'] as const;

/** read → plan → simulate → render → write; returns the exit code of CONTRACTS §4. */
export async function runDiagnose(opts: DiagnoseOptions, io: CliIo): Promise<number> {
  const format = opts.format as RenderFormat;
  if (!(FORMATS as readonly string[]).includes(opts.format)) {
    throw usageError(
      'FORMAT_UNKNOWN',
      `unknown format "${opts.format}"`,
      `use one of: ${FORMATS.join(', ')}`,
    );
  }
  const protocol = opts.protocol.toLowerCase() as (typeof PROTOCOLS)[number];
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    throw usageError(
      'PROTOCOL_UNKNOWN',
      `unknown protocol "${opts.protocol}"`,
      `use one of: ${PROTOCOLS.join(', ')}`,
    );
  }
  const listen = opts.http === undefined ? undefined : parseListenAddress(opts.http);
  const live: LiveOptions = {
    ...definedLive(opts),
    ...(opts.keepCollectors === true ? { keepCollectors: true } : {}),
    endpoints: [opts.source, opts.destination],
  };
  // Without --snapshot: read the cluster of the kubeconfig and collect the nodes the path can touch.
  // The live modules load the Kubernetes client (~0.4 s): only then.
  const liveSource = opts.snapshot === undefined ? await import('../source/live-snapshot.js') : undefined;
  const snapshot =
    liveSource === undefined ? await readSnapshotFile(opts.snapshot as string) : await liveSource.collectLiveSnapshot(live, io);
  const provided = createGenericNetwork(snapshot, {
    ...(opts.networkPlugin !== undefined ? { networkPlugin: opts.networkPlugin } : {}),
    ...(opts.proxyMode !== undefined ? { proxyMode: opts.proxyMode } : {}),
    pluginOptions: opts.pluginOptions,
    from:
      opts.snapshot !== undefined
        ? `snapshot ${opts.snapshot}`
        : `live cluster${opts.context !== undefined ? ` (context ${opts.context})` : ''}`,
  });
  const namespace = opts.namespace ?? (liveSource !== undefined ? liveSource.liveNamespace(live, io) : 'default');
  const source = resolveEndpoint(provided.index, parseEndpointRef(opts.source, namespace));
  if (source.type === 'external' || source.type === 'service') {
    throw usageError(
      'SOURCE_UNSUPPORTED',
      `the source must be a pod or a node, not ${source.type === 'service' ? 'a Service' : 'an address outside the cluster'} (${opts.source})`,
      'give -s as pod/NAME, pod/NAMESPACE/NAME, node/NAME, or the IP of a pod or node',
    );
  }
  const destination = resolveEndpoint(provided.index, parseEndpointRef(opts.destination, namespace), {
    family: familyOf(source.ip),
  });
  const { port, servicePort } = resolvePort(destination, opts.dport, protocol);
  const result: Result = provided.network.diagnose({
    source,
    destination,
    protocol,
    port,
    ...(servicePort !== undefined ? { servicePort } : {}),
  });
  if (listen !== undefined) {
    const { signal, dispose } = interruptSignal();
    try {
      await serveReport(
        await renderHtml(result),
        { address: listen, allowRemote: opts.httpAllowRemote === true, signal },
        io,
      );
    } finally {
      dispose();
    }
    return exitCodeOf(result);
  }
  const text = await renderResult(result, format, {
    color: opts.output === undefined && wantsColor(io, 'stdout'),
  });
  if (opts.output !== undefined) await writeFile(opts.output, text);
  else io.stdout(text);
  return exitCodeOf(result);
}

/** The live-collection options the user gave. */
function definedLive(opts: DiagnoseOptions): Omit<LiveOptions, 'endpoints' | 'keepCollectors'> {
  return {
    ...(opts.kubeconfig !== undefined ? { kubeconfig: opts.kubeconfig } : {}),
    ...(opts.context !== undefined ? { context: opts.context } : {}),
    ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
    ...(opts.collectorNamespace !== undefined ? { collectorNamespace: opts.collectorNamespace } : {}),
    ...(opts.collectorImage !== undefined ? { collectorImage: opts.collectorImage } : {}),
    ...(opts.collectorPullPolicy !== undefined ? { collectorPullPolicy: opts.collectorPullPolicy } : {}),
    ...(opts.collectorTimeout !== undefined ? { collectorTimeout: opts.collectorTimeout } : {}),
  };
}

/** Exit 0 only for a reachable verdict with no critical or fatal suspicion. */
export function exitCodeOf(result: Result): number {
  const blocking = result.suspicions.some((s) => s.level === 'critical' || s.level === 'fatal');
  return result.verdict === 'reachable' && !blocking ? EXIT.ok : EXIT.problem;
}

function resolvePort(
  dst: ResolvedEndpoint,
  dport: string | undefined,
  protocol: 'tcp' | 'udp' | 'icmp',
): { port: number; servicePort?: ServicePort } {
  if (protocol === 'icmp') return { port: 0 };
  if (dport === undefined || dport === '') {
    throw usageError(
      'PORT_REQUIRED',
      `-p/--dport is required for ${protocol}`,
      dst.type === 'service' ? 'give the Service port number or name' : 'give the destination port number',
    );
  }
  const numeric = /^\d+$/.test(dport) ? Number(dport) : undefined;
  if (numeric !== undefined && (numeric < 1 || numeric > 65535))
    throw usageError('PORT_INVALID', `port ${dport} is out of range`, 'ports are 1-65535');
  if (dst.type === 'service') {
    const sp = findServicePort(dst.service, numeric ?? dport, protocol.toUpperCase());
    return { port: sp.port, servicePort: sp };
  }
  if (numeric !== undefined) return { port: numeric };
  if (dst.type === 'pod') {
    const p = findContainerPort(dst.pod, dport, protocol.toUpperCase());
    if (p === undefined)
      throw usageError(
        'PORT_NOT_FOUND',
        `pod ${dst.id} has no container port named "${dport}"`,
        "give the port number, or a name from the pod's containers[].ports",
      );
    return { port: p };
  }
  throw usageError(
    'PORT_INVALID',
    `"${dport}" is not a port number`,
    'a port name only works for a Service or a pod',
  );
}
