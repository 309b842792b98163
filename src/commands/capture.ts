import { EXIT, usageError } from '../errors.js';
import type { CliIo } from '../io.js';
import type { LiveOptions } from '../source/live-snapshot.js';
import { redactSnapshot, scrubSnapshot } from '../source/live-redact.js';
import { writeSnapshotFile } from '../source/snapshot.js';

/** The options of `skoop capture` (CONTRACTS.md §1). */
export interface CaptureOptions extends Omit<LiveOptions, 'endpoints' | 'selection'> {
  readonly output?: string;
  /** Comma-separated node names. */
  readonly nodes?: string;
  readonly allNodes?: boolean;
  /** Comma-separated `namespace/name`. */
  readonly pods?: string;
  readonly redact?: boolean;
}

const list = (text: string | undefined): string[] | undefined =>
  text === undefined ? undefined : text.split(',').map((s) => s.trim()).filter((s) => s !== '');

/**
 * `skoop capture -o FILE [--nodes a,b | --all-nodes] [--pods ns/name,…] [--redact]`: writes a
 * snapshot of the live cluster (CONTRACTS.md §2) without Secrets, tokens or environment values.
 */
export async function runCapture(opts: CaptureOptions, io: CliIo): Promise<number> {
  if (opts.output === undefined || opts.output === '') {
    throw usageError('OUTPUT_REQUIRED', 'skoop capture needs -o FILE', 'e.g. skoop capture -o cluster.json.gz --all-nodes');
  }
  const nodes = list(opts.nodes);
  const pods = list(opts.pods);
  if (nodes !== undefined && opts.allNodes === true) {
    throw usageError('CAPTURE_SELECTION', '--nodes and --all-nodes exclude each other', 'give one of them');
  }
  if (nodes === undefined && opts.allNodes !== true && pods === undefined) {
    throw usageError('CAPTURE_SELECTION', 'nothing to capture: give --nodes a,b, --all-nodes or --pods ns/name,…', 'e.g. skoop capture -o cluster.json.gz --all-nodes');
  }
  const { output, nodes: _n, allNodes, pods: _p, redact, ...live } = opts;
  // Loaded here: it brings the Kubernetes client, which every other command can do without.
  const { collectLiveSnapshot } = await import('../source/live-snapshot.js');
  const snapshot = scrubSnapshot(
    await collectLiveSnapshot(
      {
        ...live,
        selection: { ...(nodes !== undefined ? { nodes } : {}), ...(allNodes === true ? { allNodes: true } : {}), ...(pods !== undefined ? { pods } : {}) },
      },
      io,
    ),
  );
  await writeSnapshotFile(output, redact === true ? redactSnapshot(snapshot) : snapshot);
  io.stderr(`wrote ${output}: ${snapshot.objects.nodes.length} nodes, ${snapshot.objects.pods.length} pods, netstack of ${Object.keys(snapshot.netstack).length} nodes${redact === true ? ' (redacted)' : ''}\n`);
  return EXIT.ok;
}
