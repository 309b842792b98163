import { execFileSync } from 'node:child_process';

/** Every network namespace the bench creates starts with this prefix, so leftovers can be found and removed. */
export const NS_PREFIX = 'sk-';

/** Runs a command, returning its stdout, or `''` when it fails (cleanup must never throw). */
function quiet(argv: readonly string[]): string {
  try {
    return execFileSync(argv[0] ?? 'true', argv.slice(1), {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return '';
  }
}

/** The names of the machine's network namespaces that start with {@link NS_PREFIX}. */
export function listBenchNamespaces(): string[] {
  return quiet(['ip', 'netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(NS_PREFIX));
}

/** Kills every process still inside each namespace, then deletes the namespaces. */
export function deleteNamespaces(names: readonly string[]): void {
  for (const name of names) {
    for (const pid of quiet(['ip', 'netns', 'pids', name]).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    quiet(['ip', 'netns', 'del', name]);
  }
}

/** Deletes the namespaces a crashed earlier run left behind (everything named `sk-*`). */
export function deleteLeftoverNamespaces(): string[] {
  const names = listBenchNamespaces();
  deleteNamespaces(names);
  return names;
}
