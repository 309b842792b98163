import { PLUGINS } from '../provider/generic.js';
import { usageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { readSnapshotFile, type Snapshot } from '../source/snapshot.js';

/** The shells `skoop completion` writes a script for. */
export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;

/** A shell `skoop completion` supports. */
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** What a flag's value is completed from. */
type ValueKind = 'endpoint' | 'namespace' | 'file' | 'port' | 'none' | readonly string[];

/** The flags of the main command and what their values complete to (`undefined`: takes no value). */
const FLAGS: Readonly<Record<string, ValueKind | undefined>> = {
  '-s': 'endpoint',
  '--source': 'endpoint',
  '-d': 'endpoint',
  '--destination': 'endpoint',
  '-p': 'port',
  '--dport': 'port',
  '--protocol': ['tcp', 'udp', 'icmp'],
  '-n': 'namespace',
  '--namespace': 'namespace',
  '--snapshot': 'file',
  '--kubeconfig': 'file',
  '--context': 'none',
  '--network-plugin': PLUGINS.map((p) => p.name),
  '--proxy-mode': ['iptables', 'ipvs', 'nftables'],
  '--format': ['text', 'json', 'dot', 'svg', 'html'],
  '-o': 'file',
  '--output': 'file',
    '--http': 'none',
  '--http-allow-remote': undefined,
  '--collector-namespace': 'namespace',
  '--collector-image': 'none',
  '--collector-pull-policy': ['IfNotPresent', 'Always', 'Never'],
  '--collector-timeout': 'none',
  '--keep-collectors': undefined,
  '-h': undefined,
  '--help': undefined,
  '-V': undefined,
  '--version': undefined,
  ...Object.fromEntries(PLUGINS.flatMap((p) => p.options.map((o) => [`--${o.flag}`, 'none' as const]))),
};

const SUBCOMMANDS = ['plugins', 'completion', 'policy', 'capture'] as const;

/** The names in a snapshot that endpoints and namespaces complete to. */
export interface CompletionNames {
  /** `namespace/name` of every pod. */
  readonly pods: readonly string[];
  /** `namespace/name` of every Service, with its ports (numbers and names). */
  readonly services: readonly { readonly id: string; readonly ports: readonly string[] }[];
  readonly nodes: readonly string[];
  readonly namespaces: readonly string[];
}

/** The candidates for the word being completed, and whether the shell should offer file names too. */
export interface Completion {
  readonly values: readonly string[];
  readonly files: boolean;
}

/**
 * The completions of the last word of `words` (the command line after `skoop`, the last word being
 * the one under the cursor, possibly empty): flags, formats, plugin names, and pod, Service, node,
 * namespace and port names from `names` (read from the `--snapshot` of the same command line).
 */
export function completeWords(words: readonly string[], names?: CompletionNames): Completion {
  const current = words[words.length - 1] ?? '';
  const before = words.slice(0, -1);
  const none: Completion = { values: [], files: false };
  if (before[0] === 'completion') return before.length === 1 ? match([...COMPLETION_SHELLS], current) : none;
  if (before[0] === 'plugins') return none;

  const eq = current.indexOf('=');
  if (current.startsWith('--') && eq > 0) {
    const flag = current.slice(0, eq);
    const kind = FLAGS[flag];
    if (kind === undefined) return none;
    const inner = valuesOf(kind, current.slice(eq + 1), words, names);
    return { values: inner.values.map((v) => `${flag}=${v}`), files: inner.files };
  }
  const previous = before[before.length - 1];
  if (previous !== undefined && previous.startsWith('-') && !previous.includes('=')) {
    const kind = FLAGS[previous];
    if (kind !== undefined) return valuesOf(kind, current, words, names);
  }
  if (current.startsWith('-')) {
    const used = new Set(before);
    return match(
      Object.keys(FLAGS).filter((f) => f.startsWith('--') && !used.has(f)),
      current,
    );
  }
  if (before.length === 0) return match([...SUBCOMMANDS], current);
  return none;
}

function valuesOf(
  kind: ValueKind,
  current: string,
  words: readonly string[],
  names: CompletionNames | undefined,
): Completion {
  if (typeof kind !== 'string') return match([...kind], current);
  switch (kind) {
    case 'file':
      return { values: [], files: true };
    case 'none':
      return { values: [], files: false };
    case 'namespace':
      return match([...(names?.namespaces ?? [])], current);
    case 'endpoint':
      return match(
        names === undefined ? ['pod/', 'svc/', 'node/'] : endpoints(names, namespaceOf(words)),
        current,
      );
    case 'port':
      return match(portsOf(words, names), current);
  }
}

function match(values: readonly string[], prefix: string): Completion {
  return { values: values.filter((v) => v.startsWith(prefix)), files: false };
}

/** The value of the last `-n`/`--namespace` on the line, else `default`. */
function namespaceOf(words: readonly string[]): string {
  return flagValue(words, ['-n', '--namespace']) ?? 'default';
}

function flagValue(words: readonly string[], flags: readonly string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < words.length - 1; i++) {
    const w = words[i] ?? '';
    if (flags.includes(w)) value = words[i + 1];
    for (const f of flags) if (f.startsWith('--') && w.startsWith(`${f}=`)) value = w.slice(f.length + 1);
  }
  return value;
}

/** `pod/NAME` and `svc/NAME` in `namespace`, `pod/NS/NAME` and `svc/NS/NAME` everywhere, `node/NAME`. */
function endpoints(names: CompletionNames, namespace: string): string[] {
  const local = (ids: readonly string[], kind: string): string[] =>
    ids
      .filter((id) => id.startsWith(`${namespace}/`))
      .map((id) => `${kind}/${id.slice(namespace.length + 1)}`);
  const services = names.services.map((s) => s.id);
  return [
    ...local(names.pods, 'pod'),
    ...local(services, 'svc'),
    ...names.pods.map((id) => `pod/${id}`),
    ...services.map((id) => `svc/${id}`),
    ...names.nodes.map((n) => `node/${n}`),
  ];
}

/** The ports of the Service given as `-d` on the line, when there is one. */
function portsOf(words: readonly string[], names: CompletionNames | undefined): string[] {
  const dst = flagValue(words, ['-d', '--destination']);
  if (names === undefined || dst === undefined) return [];
  const m = /^(?:svc|service)\/(.+)$/.exec(dst);
  if (m === null) return [];
  const ref = m[1] ?? '';
  const id = ref.includes('/') ? ref : `${namespaceOf(words)}/${ref}`;
  return [...(names.services.find((s) => s.id === id)?.ports ?? [])];
}

/** The names of `snapshot` that completion offers. */
export function namesOf(snapshot: Snapshot): CompletionNames {
  const idOf = (o: { readonly metadata?: { readonly name?: string; readonly namespace?: string } }): string =>
    `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`;
  const { pods, services, nodes, namespaces } = snapshot.objects;
  return {
    pods: pods.map(idOf),
    services: services.map((s) => ({
      id: idOf(s),
      ports: (s.spec?.ports ?? []).flatMap((p) => [
        String(p.port),
        ...(p.name === undefined || p.name === '' ? [] : [p.name]),
      ]),
    })),
    nodes: nodes.map((n) => n.metadata?.name ?? '').filter((n) => n !== ''),
    namespaces: namespaces.map((n) => n.metadata?.name ?? '').filter((n) => n !== ''),
  };
}

/**
 * `skoop __complete WORDS…`: prints the candidates one per line, then a Cobra-style directive line
 * (`:0` to let the shell add file names, `:4` not to), so the same command serves the scripts of
 * `skoop completion` and kubectl's plugin completion (`kubectl_complete-skoop`). Never fails: an
 * unreadable snapshot just means no names.
 */
export async function runComplete(words: readonly string[], io: CliIo): Promise<number> {
  const snapshot = flagValue([...words, ''], ['--snapshot']);
  let names: CompletionNames | undefined;
  if (snapshot !== undefined && snapshot !== '') {
    try {
      names = namesOf(await readSnapshotFile(snapshot));
    } catch {
      names = undefined;
    }
  }
  const done = completeWords(words.length === 0 ? [''] : words, names);
  io.stdout(`${[...done.values, done.files ? ':0' : ':4'].join('\n')}\n`);
  return 0;
}

/** The script `skoop completion SHELL` prints, for `skoop` and `kubectl-skoop`. */
export function renderCompletionScript(shell: string): string {
  if (!(COMPLETION_SHELLS as readonly string[]).includes(shell)) {
    throw usageError(
      'SHELL_UNKNOWN',
      `no completion for shell "${shell}"`,
      `use one of: ${COMPLETION_SHELLS.join(', ')}`,
    );
  }
  return SCRIPTS[shell as CompletionShell];
}

const SCRIPTS: Readonly<Record<CompletionShell, string>> = {
  bash: `# skoop completion for bash: source <(skoop completion bash)
_skoop_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" line="\${COMP_LINE:0:COMP_POINT}" out directive
  local -a words
  read -ra words <<< "$line"
  [[ "$line" =~ [[:space:]]$ ]] && words+=("")
  out=$("\${words[0]}" __complete -- "\${words[@]:1}" 2>/dev/null) || return
  directive="\${out##*:}"
  out="\${out%:*}"
  local word="\${words[\${#words[@]}-1]}" prefix=""
  [[ "$word" == *[=:]* ]] && prefix="\${word%"\${word##*[=:]}"}"
  local IFS=$'\\n'
  COMPREPLY=()
  local c
  for c in $out; do COMPREPLY+=("\${c#"$prefix"}"); done
  if [[ "$directive" == 0 ]]; then COMPREPLY+=($(compgen -f -- "$cur")); fi
}
complete -o default -F _skoop_complete skoop kubectl-skoop
`,
  zsh: `#compdef skoop kubectl-skoop
# skoop completion for zsh: source <(skoop completion zsh)
_skoop() {
  local -a out
  out=("\${(@f)$("\${words[1]}" __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  local directive="\${out[-1]#:}"
  out=("\${(@)out[1,-2]}")
  (( \${#out} )) && compadd -Q -- "\${(@)out}"
  [[ "$directive" == 0 ]] && _files
  return 0
}
compdef _skoop skoop kubectl-skoop
`,
  fish: `# skoop completion for fish: skoop completion fish | source
function __skoop_complete
    set -l tokens (commandline -opc)
    set -l out ($tokens[1] __complete -- $tokens[2..-1] (commandline -ct) 2>/dev/null)
    set -l directive (string replace ':' '' -- $out[-1])
    set -e out[-1]
    printf '%s\\n' $out
    if test "$directive" = 0
        __fish_complete_path (commandline -ct)
    end
end
complete -c skoop -f -a '(__skoop_complete)'
complete -c kubectl-skoop -f -a '(__skoop_complete)'
`,
};
