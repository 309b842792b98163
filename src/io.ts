/** What a command may touch of its process: output streams and the environment. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
}

/** Whether output to a stream should be coloured: a TTY, and NO_COLOR unset (https://no-color.org). */
export function wantsColor(io: CliIo, stream: 'stdout' | 'stderr'): boolean {
  const noColor = io.env['NO_COLOR'];
  if (noColor !== undefined && noColor !== '') return false;
  return stream === 'stdout' ? io.stdoutIsTTY : io.stderrIsTTY;
}
