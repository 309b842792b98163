import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium package; playwright never downloads a browser here. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet headless Chromium in a container: no sandbox, GPU, background traffic or first-run UI. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/**
 * Starts Debian's Chromium headless through playwright-core.
 *
 * @remarks playwright gives every non-persistent launch a fresh temporary `--user-data-dir` and
 * removes it on close (it refuses the flag in `args`), so no profile is shared between runs.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS] });
}
