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

/**
 * The id a lab of this process gets: `<pid base36>x<counter base36>`, so that a leftover namespace tells which
 * process made it.
 */
export function labId(counter: number): string {
  return `${process.pid.toString(36)}x${counter.toString(36)}`;
}

/** The pid of the process that created a bench namespace, or undefined when the name does not say. */
export function ownerPid(name: string): number | undefined {
  const m = /^sk-([0-9a-z]+)x[0-9a-z]+-/.exec(name);
  return m?.[1] !== undefined ? parseInt(m[1], 36) : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Deletes the `sk-*` namespaces a crashed earlier run left behind: those whose creating process is gone (or
 * whose name does not say). Namespaces of a run still in progress on the machine are left alone.
 */
export function deleteLeftoverNamespaces(): string[] {
  const names = listBenchNamespaces().filter((n) => {
    const pid = ownerPid(n);
    return pid === undefined || pid === process.pid || !alive(pid);
  });
  deleteNamespaces(names);
  return names;
}
