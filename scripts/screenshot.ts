// Draws the README's screenshot of an HTML report from an example snapshot, in a real browser:
//
//   node --import tsx scripts/screenshot.ts
//
// It diagnoses examples/flannel-vxlan-broken.json.gz in-process (as `skoop ... --format json`),
// renders the report with the same renderer as `--format html`, opens it in Debian's Chromium
// (/usr/bin/chromium, through playwright-core; no browser is downloaded) with every request but
// the page refused, and writes docs/report.png.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { runCli } from '../src/cli.js';
import type { Result } from '../src/model/result.js';
import { renderHtml } from '../src/render/render-html.js';
import { launchChromium } from '../test/browser/chromium.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = fileURLToPath(new URL('../docs/report.png', import.meta.url));
const SNAPSHOT = 'examples/flannel-vxlan-broken.json.gz';
const PAGE_URL = 'http://report.skoop.invalid/report.html';

/** The example's diagnosis, run from the repository root so the report names the snapshot as the README does. */
async function diagnose(): Promise<Result> {
  process.chdir(ROOT);
  let out = '';
  let err = '';
  const code = await runCli(
    [
      '-s',
      'pod/shop/frontend',
      '-d',
      'svc/shop/cart',
      '-p',
      '8080',
      '--snapshot',
      SNAPSHOT,
      '--format',
      'json',
    ],
    {
      stdout: (t) => void (out += t),
      stderr: (t) => void (err += t),
      env: { NO_COLOR: '1' },
      stdoutIsTTY: false,
      stderrIsTTY: false,
    },
  );
  if (code !== 0 && code !== 1) throw new Error(`skoop exited ${code}: ${err}`);
  return JSON.parse(out) as Result;
}

const html = await renderHtml(await diagnose());
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 940 }, deviceScaleFactor: 1 });
  const refused: string[] = [];
  await page.route('**/*', async (route) => {
    if (route.request().url() === PAGE_URL) {
      await route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html });
    } else {
      refused.push(route.request().url());
      await route.abort('blockedbyclient');
    }
  });
  await page.goto(PAGE_URL);
  if (refused.length > 0) throw new Error(`the report tried to load: ${refused.join(', ')}`);
  const png = await page.screenshot({ type: 'png' });
  await writeFile(OUT, png);
  process.stdout.write(`wrote ${OUT}\n`);
} finally {
  await browser.close();
}
