import ora, { type Ora } from 'ora';
import { wantsColor, type CliIo } from '../io.js';

/** Per-node collection status on stderr. */
export interface NodeProgress {
  start(node: string): void;
  /** What the node is doing now (`creating collector`, `collecting pods`). */
  step(node: string, what: string): void;
  done(node: string, summary: string): void;
  failed(node: string, why: string): void;
  stop(): void;
}

interface NodeLine {
  readonly started: number;
  what: string;
  end?: { readonly ok: boolean; readonly text: string };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** A writable stream over `io.stderr` with the TTY cursor controls ora uses. */
function stderrStream(io: CliIo): NodeJS.WriteStream {
  const esc = (s: string): boolean => {
    io.stderr(s);
    return true;
  };
  return {
    isTTY: true,
    columns: 100,
    write: (s: string) => esc(s),
    cursorTo: (x: number) => esc(`\x1b[${x + 1}G`),
    moveCursor: (_dx: number, dy: number) => esc(dy < 0 ? `\x1b[${-dy}A` : dy > 0 ? `\x1b[${dy}B` : ''),
    clearLine: () => esc('\x1b[2K'),
    on: () => undefined,
    once: () => undefined,
    removeListener: () => undefined,
  } as unknown as NodeJS.WriteStream;
}

/**
 * Spinners per node on a TTY ("node-2: collecting… 1.4 s"), else one line per node when it ends;
 * `now` is the clock (injected for tests).
 */
export function createNodeProgress(io: CliIo, now: () => number = Date.now): NodeProgress {
  const lines = new Map<string, NodeLine>();
  const tty = io.stderrIsTTY && wantsColor(io, 'stderr');
  let spinner: Ora | undefined;
  let timer: NodeJS.Timeout | undefined;
  const render = (): string =>
    [...lines.entries()]
      .map(([node, l]) => (l.end !== undefined ? `${node}: ${l.end.text}` : `${node}: ${l.what}… ${seconds(now() - l.started)}`))
      .join('\n');
  const refresh = (): void => {
    if (spinner !== undefined) spinner.text = render();
  };
  return {
    start(node) {
      lines.set(node, { started: now(), what: 'collecting' });
      if (tty && spinner === undefined) {
        spinner = ora({ text: render(), stream: stderrStream(io), discardStdin: false, isEnabled: true }).start();
        timer = setInterval(refresh, 100);
        timer.unref();
      }
      refresh();
    },
    step(node, what) {
      const l = lines.get(node);
      if (l !== undefined) l.what = what;
      refresh();
    },
    done(node, summary) {
      const l = lines.get(node);
      const text = `collected in ${seconds(now() - (l?.started ?? now()))}${summary !== '' ? ` (${summary})` : ''}`;
      if (l !== undefined) l.end = { ok: true, text };
      if (!tty) io.stderr(`${node}: ${text}\n`);
      refresh();
    },
    failed(node, why) {
      const l = lines.get(node);
      if (l !== undefined) l.end = { ok: false, text: `not collected: ${why}` };
      if (!tty) io.stderr(`${node}: not collected: ${why}\n`);
      refresh();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      if (spinner !== undefined) {
        const failed = [...lines.values()].some((l) => l.end?.ok === false);
        const text = render();
        if (failed) spinner.warn(text);
        else spinner.succeed(text);
        spinner = undefined;
      }
    },
  };
}
