import { Command, CommanderError, Option } from 'commander';
import { runDiagnose } from './commands/diagnose.js';
import { renderPlugins } from './commands/plugins.js';
import { policyCommandSpec, runPolicy } from './commands/policy.js';
import { runCapture } from './commands/capture.js';
import { DEFAULT_COLLECTOR_IMAGE } from './source/live-collector.js';
import { COMPLETION_SHELLS, renderCompletionScript, runComplete } from './commands/completion.js';
import { RENDER_FORMATS } from './render/render-result.js';
import { EXIT, SkoopError } from './errors.js';
import type { CliIo } from './io.js';
import { NetstackParseError } from './netstack/parse-error.js';
import { PLUGINS } from './provider/generic.js';

const VERSION = '0.1.0';

/** Builds the command tree; `run` receives the exit code of whichever command ran. */
function buildProgram(io: CliIo, run: (code: Promise<number>) => void): Command {
  const program = new Command('skoop')
    .description(
      "Explains why a pod cannot reach a Service, pod or node, by simulating the packet through each node's network state.",
    )
    .version(VERSION, '-V, --version')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .option('-s, --source <SRC>', 'where the packet starts: IP, pod/NAME, pod/NS/NAME, node/NAME')
    .option('-d, --destination <DST>', 'where it goes: IP, pod/…, svc/NAME, svc/NS/NAME, node/NAME')
    .option('-p, --dport <PORT>', 'destination port: a number, or a Service port name or container port name')
    .addOption(new Option('--protocol <PROTO>', 'protocol').choices(['tcp', 'udp', 'icmp']).default('tcp'))
    .option('-n, --namespace <NS>', "namespace for pod/NAME and svc/NAME (default: the kubeconfig context's; 'default' with --snapshot)")
    .option('--snapshot <FILE>', 'diagnose offline from a snapshot file (.json or .json.gz)')
    .option('--kubeconfig <FILE>', 'kubeconfig for a live cluster')
    .option('--context <NAME>', 'kubeconfig context for a live cluster')
    .option(
      '--network-plugin <NAME>',
      `CNI to model: ${PLUGINS.map((p) => p.name).join(', ')} (default: detected)`,
    )
    .addOption(
      new Option('--proxy-mode <MODE>', 'kube-proxy mode (default: detected)').choices([
        'iptables',
        'ipvs',
        'nftables',
      ]),
    )
    .addOption(new Option('--format <FORMAT>', 'output format').choices([...RENDER_FORMATS]).default('text'))
    .option('-o, --output <FILE>', 'write the output to FILE instead of stdout')
    .option('--http [ADDR]', 'serve the HTML report at ADDR (default 127.0.0.1:8080) until Ctrl-C')
    .option(
      '--http-allow-remote',
      'allow --http on a non-loopback address (the report reveals cluster internals)',
    );
  addCollectorOptions(program);
  for (const plugin of PLUGINS) {
    for (const o of plugin.options)
      program.option(`--${o.flag} <VALUE>`, `[${plugin.name}] ${o.description}`);
  }
  program.addHelpText(
    'after',
    `
Examples:
  skoop -s pod/shop/frontend -d svc/shop/cart -p 8080 --snapshot cluster.json
  skoop -s pod/frontend -d pod/cart -n shop -p http --snapshot cluster.json.gz --format svg -o path.svg

Exit codes: 0 reachable, 1 a problem was found, 2 usage or input error, 3 could not run, 70 internal error.`,
  );
  program.action((opts: Record<string, string | undefined>) => {
    if (opts['source'] === undefined || opts['destination'] === undefined) {
      throw new SkoopError(
        'usage',
        'ENDPOINTS_REQUIRED',
        'both -s/--source and -d/--destination are required',
        {
          hint: 'e.g. skoop -s pod/shop/frontend -d svc/shop/cart -p 8080 --snapshot cluster.json (see skoop --help)',
        },
      );
    }
    const pluginOptions: Record<string, string> = {};
    for (const plugin of PLUGINS) {
      for (const o of plugin.options) {
        const v = opts[camel(o.flag)];
        if (v !== undefined) pluginOptions[o.flag] = v;
      }
    }
    run(
      runDiagnose(
        {
          source: opts['source'],
          destination: opts['destination'],
          protocol: opts['protocol'] ?? 'tcp',
          format: opts['format'] ?? 'text',
          pluginOptions,
          ...defined({
            dport: opts['dport'],
            namespace: opts['namespace'],
            snapshot: opts['snapshot'],
            kubeconfig: opts['kubeconfig'],
            context: opts['context'],
            networkPlugin: opts['networkPlugin'],
            proxyMode: opts['proxyMode'],
            output: opts['output'],
          }),
          ...(opts['http'] !== undefined ? { http: opts['http'] as string | true } : {}),
          ...(opts['httpAllowRemote'] !== undefined ? { httpAllowRemote: true } : {}),
          ...collectorOptions(opts),
        },
        io,
      ),
    );
  });
  addPolicyCommand(program, io, run);
  const capture = program
    .command('capture')
    .description(
      'write a snapshot of the live cluster (objects + the network state of chosen nodes and pods) for --snapshot',
    )
    .option('-o, --output <FILE>', 'the snapshot file to write (.json or .json.gz)')
    .option('--nodes <NODES>', 'comma-separated node names to collect')
    .option('--all-nodes', 'collect every node')
    .option('--pods <PODS>', 'comma-separated ns/name of pods whose network namespace to collect')
    .option('--redact', 'replace pod and namespace names consistently, for sharing')
    .option('--kubeconfig <FILE>', 'kubeconfig (default: KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--context <NAME>', 'kubeconfig context');
  addCollectorOptions(capture);
  capture.action((o: Record<string, string | boolean | undefined>) => {
    const str = (k: string): string | undefined => (typeof o[k] === 'string' ? o[k] : undefined);
    run(
      runCapture(
        {
          ...defined({
            output: str('output'),
            nodes: str('nodes'),
            pods: str('pods'),
            kubeconfig: str('kubeconfig'),
            context: str('context'),
          }),
          ...(o['allNodes'] === true ? { allNodes: true } : {}),
          ...(o['redact'] === true ? { redact: true } : {}),
          ...collectorOptions(o),
        },
        io,
      ),
    );
  });
  program
    .command('completion')
    .description('print a shell completion script: source <(skoop completion bash)')
    .argument('<shell>', `one of: ${COMPLETION_SHELLS.join(', ')}`)
    .action((shell: string) => {
      io.stdout(renderCompletionScript(shell));
      run(Promise.resolve(EXIT.ok));
    });
  program
    .command('__complete', { hidden: true })
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[words...]')
    .action((words: string[] | undefined) => run(runComplete(words ?? [], io)));
  program
    .command('plugins')
    .description('list the network plugins skoop models, their modes and their flags')
    .action(() => {
      io.stdout(renderPlugins(PLUGINS));
      run(Promise.resolve(EXIT.ok));
    });
  return program;
}

/** `skoop policy`: the NetworkPolicy question alone, from a snapshot or manifests. */
function addPolicyCommand(program: Command, io: CliIo, run: (code: Promise<number>) => void): void {
  const spec = policyCommandSpec();
  const cmd = program
    .command(spec.name)
    .description(spec.description)
    .addHelpText('after', `\nExamples:\n${spec.examples}`);
  for (const f of spec.flags) {
    const o = new Option(f.flags, f.description);
    if (f.choices !== undefined) o.choices([...f.choices]);
    if (f.defaultValue !== undefined) o.default(f.defaultValue);
    cmd.addOption(o);
  }
  cmd.action((o: Record<string, string | undefined>) => {
    if (o['source'] === undefined || o['destination'] === undefined) {
      throw new SkoopError(
        'usage',
        'ENDPOINTS_REQUIRED',
        'both -s/--source and -d/--destination are required',
        {
          hint: 'e.g. skoop policy -s pod/shop/frontend -d svc/shop/cart -p 8080 --snapshot cluster.json',
        },
      );
    }
    run(
      runPolicy(
        {
          source: o['source'],
          destination: o['destination'],
          protocol: o['protocol'] ?? 'tcp',
          format: o['format'] ?? 'text',
          ...defined({
            port: o['port'],
            namespace: o['namespace'],
            snapshot: o['snapshot'],
            files: o['filename'],
            kubeconfig: o['kubeconfig'],
            context: o['context'],
          }),
        },
        io,
      ),
    );
  });
}

/** The flags of live collection, shared by the main command and `capture`. */
function addCollectorOptions(cmd: Command): void {
  cmd
    .option('--collector-namespace <NS>', 'namespace for the collector pods (created if missing)', 'skoop')
    .option(
      '--collector-image <IMAGE>',
      `collector image (default ${DEFAULT_COLLECTOR_IMAGE}; mirror it for air-gapped clusters)`,
    )
    .addOption(
      new Option('--collector-pull-policy <POLICY>', 'image pull policy of the collector pods')
        .choices(['IfNotPresent', 'Always', 'Never'])
        .default('IfNotPresent'),
    )
    .option('--collector-timeout <DURATION>', 'per node: 60, 90s, 2m (default 60s)')
    .option('--keep-collectors', 'leave the collector pods running, for debugging');
}

function collectorOptions(o: Record<string, unknown>): {
  collectorNamespace?: string;
  collectorImage?: string;
  collectorPullPolicy?: string;
  collectorTimeout?: string;
  keepCollectors?: boolean;
} {
  const str = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  return {
    ...defined({
      collectorNamespace: str('collectorNamespace'),
      collectorImage: str('collectorImage'),
      collectorPullPolicy: str('collectorPullPolicy'),
      collectorTimeout: str('collectorTimeout'),
    }),
    ...(o['keepCollectors'] === true ? { keepCollectors: true } : {}),
  };
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function defined<T extends Record<string, string | undefined>>(o: T): { [K in keyof T]?: string } {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]?: string };
}

/**
 * Runs skoop with `argv` and returns the exit code (CONTRACTS.md §4). The one place where expected
 * failures, input errors and bugs are told apart and printed.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let pending: Promise<number> | undefined;
  try {
    const program = buildProgram(io, (p) => {
      pending = p;
    });
    await program.parseAsync([...argv], { from: 'user' });
    return pending === undefined ? EXIT.ok : await pending;
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: CliIo): number {
  if (err instanceof CommanderError) {
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
    )
      return EXIT.ok;
    // commander has printed its own message already.
    io.stderr('hint: see skoop --help\n');
    return EXIT.usage;
  }
  if (err instanceof SkoopError) {
    io.stderr(`error: ${err.message}\n`);
    if (err.hint !== undefined) io.stderr(`hint: ${err.hint}\n`);
    return err.exitCode;
  }
  if (err instanceof NetstackParseError) {
    io.stderr(`error: the snapshot's network state is malformed: ${err.message}\n`);
    io.stderr(
      'hint: the field must hold exactly what that command printed; re-capture the node with the collector\n',
    );
    return EXIT.usage;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  io.stderr(`internal error: ${e.message}\n`);
  io.stderr(
    'This is a bug in skoop. Please report it with the command line and the snapshot file attached.\n',
  );
  if (io.env['SKOOP_DEBUG'] !== undefined && e.stack !== undefined) io.stderr(`${e.stack}\n`);
  return EXIT.internal;
}
