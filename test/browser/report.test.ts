/// <reference lib="dom" />
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { serveReport } from '../../src/commands/serve.js';
import type { Result } from '../../src/model/result.js';
import type { SuspicionCode } from '../../src/model/suspicion.js';
import { renderHtml } from '../../src/render/render-html.js';
import { pod, unknownNotCollected, unreachableIptablesDrop } from '../fixtures/results/examples.js';
import { launchChromium } from './chromium.js';

/** Where the screenshots go: one per scenario, kept as CI artifacts. */
const SHOTS = fileURLToPath(new URL('../../test-results/browser/', import.meta.url));

/** The only URL the page may load: the report itself (served by the route below). */
const PAGE_URL = 'http://report.skoop.invalid/report.html';

const example = (name: string): string => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

/** skoop run in-process on an example snapshot, its `--format json` output parsed. */
async function diagnose(snapshot: string): Promise<Result> {
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
      example(snapshot),
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

/** A Result of an e2e scenario on the namespace bench, as its golden file holds it. */
const golden = (name: string): Result =>
  JSON.parse(readFileSync(new URL(`../golden/scenarios/${name}.json`, import.meta.url), 'utf8')) as Result;

interface Scenario {
  readonly name: string;
  readonly result: () => Result | Promise<Result>;
  readonly verdict: Result['verdict'];
  /** The hop to click, its suspicion codes (most severe first) and evidence it must show. */
  readonly hop: string;
  readonly codes: readonly SuspicionCode[];
  readonly evidence: readonly string[];
  /** The hop the page opens on, if any. */
  readonly initial?: string;
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'healthy',
    result: () => diagnose('calico-healthy.json.gz'),
    verdict: 'reachable',
    hop: 'shop/cart',
    codes: [],
    evidence: ['DNAT 10.96.112.40:8080 → 10.10.2.10:8080', 'DNAT 10.96.112.40:8080 → 10.10.3.10:8080'],
  },
  {
    name: 'partial',
    result: () => diagnose('flannel-vxlan-broken.json.gz'),
    verdict: 'partial',
    hop: 'node-1',
    codes: ['ROUTE_MISSING'],
    evidence: [
      'route:    default via 192.168.50.1 dev eth0',
      'expected: 10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink',
    ],
    initial: 'node-1',
  },
  {
    name: 'partial-backend-dropped',
    result: () => golden('flannel-vxlan-service-backend-dropped'),
    verdict: 'partial',
    hop: 'default/web-b',
    codes: ['IPTABLES_DROP'],
    evidence: ['chain: filter/INPUT #1', 'rule:  -A INPUT -p tcp -m tcp --dport 8080 -j DROP'],
    initial: 'default/web-b',
  },
  {
    name: 'dropped',
    result: () => golden('calico-bgp-pod-route-deleted'),
    verdict: 'unreachable',
    hop: 'node-2',
    codes: ['ROUTE_BLACKHOLE'],
    evidence: ['route: blackhole 10.10.2.0/26 proto bird'],
    initial: 'node-2',
  },
  {
    name: 'dropped-iptables',
    result: unreachableIptablesDrop,
    verdict: 'unreachable',
    hop: 'default/db-0',
    codes: ['IPTABLES_DROP'],
    evidence: ['chain: filter/INPUT #1', 'rule:  -A INPUT -j DROP'],
    initial: 'default/db-0',
  },
  {
    name: 'unknown',
    result: unknownNotCollected,
    verdict: 'unknown',
    hop: 'node-1',
    codes: ['NETSTACK_NOT_COLLECTED', 'POLICY_ROUTING'],
    evidence: [
      'errors: iptables="iptables-save: command not found"',
      'rule: 100: from all fwmark 0x4000/0x4000 lookup 100',
    ],
    initial: 'node-1',
  },
];

/** A page holding a report, with every request it made and every error it raised. */
interface Opened {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly requests: string[];
  readonly errors: string[];
}

let browser: Browser;
beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser.close();
});

/** Opens `html` at PAGE_URL; any other request is recorded and aborted. */
async function open(html: string, options: { javaScriptEnabled?: boolean } = {}): Promise<Opened> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, ...options });
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console: ${m.text()}`);
  });
  page.on('dialog', (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await context.route('**/*', async (route) => {
    if (route.request().url() === PAGE_URL) {
      await route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html });
    } else {
      await route.abort('blockedbyclient');
    }
  });
  await page.goto(PAGE_URL);
  return { context, page, requests, errors };
}

/** The graph node of hop `id` (its `<title>` is the hop id, as Graphviz writes it). */
const graphNode = (page: Page, id: string) =>
  page
    .locator('#graph g.node')
    .filter({ has: page.locator('title', { hasText: new RegExp(`^${escapeRe(id)}$`) }) });

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const selectedHop = (page: Page): Promise<string | null> =>
  page.evaluate<string | null>(
    "document.querySelector('.hop-panel.selected')?.getAttribute('data-hop') ?? null",
  );

/** What has the keyboard focus: the hop it stands for, or the title of the graph node. */
const focused = (page: Page, what: 'hop' | 'title'): Promise<string | null> =>
  page.evaluate<string | null>(
    what === 'hop'
      ? "document.activeElement?.getAttribute('data-hop') ?? null"
      : "document.activeElement?.querySelector('title')?.textContent ?? null",
  );

describe.each(SCENARIOS)('report of scenario $name', (s) => {
  let result: Result;
  let opened: Opened;
  beforeAll(async () => {
    result = await s.result();
    opened = await open(await renderHtml(result));
  });
  afterAll(async () => {
    await opened.context.close();
  });

  it('shows the verdict in the banner, with the request', async () => {
    const { page } = opened;
    expect(result.verdict).toBe(s.verdict);
    await expect(page.locator('#banner').getAttribute('data-verdict')).resolves.toBe(s.verdict);
    await expect(page.locator('#banner h1').innerText()).resolves.toBe(s.verdict.toUpperCase());
    const banner = await page.locator('#banner').innerText();
    for (const text of [
      result.source.id,
      result.destination.id,
      result.destination.ip,
      result.request?.from ?? '',
    ]) {
      expect(banner).toContain(text);
    }
  });

  it('draws every path node, visibly, once', async () => {
    const { page } = opened;
    for (const n of result.path.nodes) {
      const node = graphNode(page, n.id);
      await expect(node.count()).resolves.toBe(1);
      const box = await node.boundingBox();
      expect(box?.width ?? 0).toBeGreaterThan(10);
      expect(box?.height ?? 0).toBeGreaterThan(10);
    }
  });

  it('draws a dashed end for every branch that did not deliver', async () => {
    const failed = (result.branches ?? []).filter((b) => b.outcome !== 'delivered').length;
    await expect(opened.page.locator('#graph g.node[data-end]').count()).resolves.toBe(failed);
  });

  it('opens on the hop that matters', async () => {
    await expect(selectedHop(opened.page)).resolves.toBe(s.initial ?? null);
    await expect(opened.page.locator('#panel-empty').isVisible()).resolves.toBe(s.initial === undefined);
  });

  it('clicking a hop opens its panel with its suspicion codes and evidence', async () => {
    const { page } = opened;
    const other = result.path.nodes.find((n) => n.id !== s.hop)?.id ?? '';
    await graphNode(page, other).click();
    await expect(selectedHop(page)).resolves.toBe(other);
    await graphNode(page, s.hop).click();
    await expect(selectedHop(page)).resolves.toBe(s.hop);
    const panel = page.locator('.hop-panel.selected');
    await expect(panel.isVisible()).resolves.toBe(true);
    await expect(page.locator('.hop-panel:visible').count()).resolves.toBe(1);
    await expect(
      panel.locator('.suspicion').evaluateAll((els) => els.map((e) => e.getAttribute('data-code'))),
    ).resolves.toEqual([...s.codes]);
    const text = await panel.innerText();
    for (const e of s.evidence) expect(text).toContain(e);
    for (const code of s.codes)
      expect(await panel.locator(`.suspicion[data-code="${code}"] .hint`).innerText()).toMatch(
        /^How to fix: /,
      );
    await expect(graphNode(page, s.hop).getAttribute('class')).resolves.toBe('node selected');
    await page.screenshot({ path: `${SHOTS}${s.name}.png`, fullPage: true });
  });

  it('selects hops from the keyboard: Tab to the graph, Enter, arrows, Escape', async () => {
    const { page } = opened;
    const order = await page
      .locator('.hop-panel')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-hop')));
    await page.locator('#zoom').focus();
    await page.keyboard.press('Tab');
    const first = await focused(page, 'title');
    expect(first).toBe(result.path.nodes[0]?.id);
    await page.keyboard.press('Enter');
    await expect(selectedHop(page)).resolves.toBe(order[0]);
    await page.keyboard.press('ArrowRight');
    await expect(selectedHop(page)).resolves.toBe(order[1]);
    await expect(focused(page, 'hop')).resolves.toBe(order[1]);
    await page.keyboard.press('End');
    await expect(selectedHop(page)).resolves.toBe(order[order.length - 1]);
    await page.keyboard.press('Escape');
    await expect(selectedHop(page)).resolves.toBeNull();
    await expect(page.locator('#panel-empty').isVisible()).resolves.toBe(true);
    await page.locator(`.hop-button[data-hop="${s.hop}"]`).focus();
    await page.keyboard.press('Space');
    await expect(selectedHop(page)).resolves.toBe(s.hop);
  });

  it('made no request but the page itself, and raised no error', () => {
    expect(opened.requests).toEqual([PAGE_URL]);
    expect(opened.errors).toEqual([]);
  });
});

describe('the report without its script', () => {
  it('shows every hop panel one after the other', async () => {
    const result = unreachableIptablesDrop();
    const { context, page, requests } = await open(await renderHtml(result), { javaScriptEnabled: false });
    try {
      const panels = await page.locator('.hop-panel:visible').count();
      expect(panels).toBe(result.path.nodes.length);
      await expect(page.locator('.suspicion[data-code="IPTABLES_DROP"]').isVisible()).resolves.toBe(true);
      expect(requests).toEqual([PAGE_URL]);
    } finally {
      await context.close();
    }
  });
});

describe('a Result with hostile names', () => {
  it('shows them as text: no element, script or request comes from them', async () => {
    const base = unreachableIptablesDrop();
    const evil = `"><img src=http://evil.example/x onerror=alert(1)><script>alert(2)</script>`;
    const result: Result = {
      ...base,
      source: { ...base.source, id: `default/${evil}` },
      path: { ...base.path, nodes: [pod(`default/${evil}`), ...base.path.nodes.slice(1)] },
      suspicions: [{ ...base.suspicions[0]!, message: evil, evidence: { rule: evil } }],
    };
    const { context, page, requests, errors } = await open(await renderHtml(result));
    try {
      await expect(page.locator('img').count()).resolves.toBe(0);
      await expect(page.locator('script').count()).resolves.toBe(2);
      await expect(page.locator('#banner').innerText()).resolves.toContain(`default/${evil}`);
      await graphNode(page, 'default/db-0').click();
      await expect(page.locator('.hop-panel.selected .message').innerText()).resolves.toBe(evil);
      expect(requests).toEqual([PAGE_URL]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe('--http', () => {
  it('serves the same report on loopback, and nothing else is requested', async () => {
    const result = unreachableIptablesDrop();
    const html = await renderHtml(result);
    const controller = new AbortController();
    let url = '';
    const listening = new Promise<void>((resolve) => {
      void serveReport(
        html,
        {
          address: { host: '127.0.0.1', port: 0 },
          allowRemote: false,
          signal: controller.signal,
          onListening: (u) => {
            url = u;
            resolve();
          },
        },
        { stdout: () => undefined, stderr: () => undefined, env: {}, stdoutIsTTY: false, stderrIsTTY: false },
      );
    });
    await listening;
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      const response = await page.goto(url);
      expect(response?.status()).toBe(200);
      await expect(page.locator('#banner').getAttribute('data-verdict')).resolves.toBe('unreachable');
      await graphNode(page, 'node-1').click();
      await expect(selectedHop(page)).resolves.toBe('node-1');
      expect(requests).toEqual([url]);
    } finally {
      await context.close();
      controller.abort();
    }
  });
});
