import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../io.js';
import { REPORT_CSP } from '../render/render-html.js';
import { isLoopback, parseListenAddress, serveReport, urlOf } from './serve.js';

function io(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    env: {},
    stdoutIsTTY: false,
    stderrIsTTY: false,
  };
}

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function get(url: string, options: { method?: string; path?: string; host?: string } = {}): Promise<Reply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port,
        path: options.path ?? '/',
        method: options.method ?? 'GET',
        headers: options.host === undefined ? {} : { host: options.host },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Serves `html` on an ephemeral loopback port for the duration of `f`. */
async function withServer(html: string, f: (url: string) => Promise<void>): Promise<string[]> {
  const controller = new AbortController();
  const cli = io();
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
      cli,
    ).then(() => cli.out.push('stopped'));
  });
  await listening;
  try {
    await f(url);
  } finally {
    controller.abort();
  }
  await new Promise((r) => setTimeout(r, 20));
  return cli.out;
}

describe('parseListenAddress', () => {
  it.each([
    { name: 'bare --http', value: true as const, host: '127.0.0.1', port: 8080 },
    { name: 'host and port', value: '127.0.0.1:9000', host: '127.0.0.1', port: 9000 },
    { name: 'port only', value: '9000', host: '127.0.0.1', port: 9000 },
    { name: ':port', value: ':9001', host: '127.0.0.1', port: 9001 },
    { name: 'host only', value: 'localhost', host: 'localhost', port: 8080 },
    { name: 'IPv6 with port', value: '[::1]:9002', host: '::1', port: 9002 },
    { name: 'IPv6 alone', value: '[::1]', host: '::1', port: 8080 },
    { name: 'any address', value: '0.0.0.0:8080', host: '0.0.0.0', port: 8080 },
  ])('$name', ({ value, host, port }) => {
    expect(parseListenAddress(value)).toEqual({ host, port });
  });

  it.each([
    { name: 'port out of range', value: '127.0.0.1:70000' },
    { name: 'not a port', value: '127.0.0.1:http' },
    { name: 'bare IPv6 without brackets', value: '::1' },
    { name: 'empty', value: '' },
  ])('$name is a usage error', ({ value }) => {
    expect(() => parseListenAddress(value)).toThrow(
      expect.objectContaining({ code: 'HTTP_ADDRESS_INVALID', exitCode: 2 }),
    );
  });
});

describe('isLoopback', () => {
  it.each([
    { host: '127.0.0.1', loopback: true },
    { host: '127.8.9.10', loopback: true },
    { host: '::1', loopback: true },
    { host: '::ffff:127.0.0.1', loopback: true },
    { host: 'LOCALHOST', loopback: true },
    { host: '0.0.0.0', loopback: false },
    { host: '::', loopback: false },
    { host: '192.168.1.10', loopback: false },
    { host: 'example.org', loopback: false },
  ])('$host → $loopback', ({ host, loopback }) => {
    expect(isLoopback(host)).toBe(loopback);
  });
});

describe('urlOf', () => {
  it.each([
    { host: '127.0.0.1', port: 8080, url: 'http://127.0.0.1:8080/' },
    { host: '::1', port: 8080, url: 'http://[::1]:8080/' },
    { host: '0.0.0.0', port: 9000, url: 'http://127.0.0.1:9000/' },
  ])('$host:$port', ({ host, port, url }) => {
    expect(urlOf({ host, port })).toBe(url);
  });
});

describe('serveReport', () => {
  const html = '<!doctype html><title>report</title><p>hello</p>';

  it('serves the page on / with its CSP, prints the URL, and stops when aborted', async () => {
    let seen: Reply | undefined;
    let url = '';
    const out = await withServer(html, async (u) => {
      url = u;
      seen = await get(u);
    });
    expect(seen?.status).toBe(200);
    expect(seen?.body).toBe(html);
    expect(seen?.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(seen?.headers['content-security-policy']).toBe(REPORT_CSP);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(out).toEqual([`Serving the report at ${url} (press Ctrl-C to stop)\n`, 'stopped']);
    await expect(get(url)).rejects.toThrow(/ECONNREFUSED/);
  });

  it.each([
    { name: 'another path', options: { path: '/etc/passwd' }, status: 404 },
    { name: 'a POST', options: { method: 'POST' }, status: 405 },
    { name: 'a foreign Host (DNS rebinding)', options: { host: 'evil.example:8080' }, status: 421 },
    { name: 'HEAD', options: { method: 'HEAD' }, status: 200 },
    { name: 'Host localhost', options: { host: 'localhost:PORT' }, status: 200 },
  ])('$name → $status', async ({ options, status }) => {
    await withServer(html, async (url) => {
      const port = new URL(url).port;
      const host = options.host?.replace('PORT', port);
      const reply = await get(url, { ...options, ...(host === undefined ? {} : { host }) });
      expect(reply.status).toBe(status);
      if (status !== 200) expect(reply.body).not.toContain('hello');
    });
  });

  it('refuses a non-loopback address without --http-allow-remote', async () => {
    const cli = io();
    await expect(
      serveReport(
        html,
        { address: { host: '0.0.0.0', port: 0 }, allowRemote: false, signal: new AbortController().signal },
        cli,
      ),
    ).rejects.toMatchObject({ code: 'HTTP_NOT_LOOPBACK', exitCode: 2 });
    expect(cli.out).toEqual([]);
  });

  it('warns about cluster internals when allowed to serve remotely', async () => {
    const cli = io();
    const controller = new AbortController();
    const done = serveReport(
      html,
      {
        address: { host: '0.0.0.0', port: 0 },
        allowRemote: true,
        signal: controller.signal,
        onListening: () => controller.abort(),
      },
      cli,
    );
    await done;
    expect(cli.err.join('')).toMatch(
      /^warning: serving the report on 0\.0\.0\.0, not loopback: .*cluster's internals/,
    );
    expect(cli.out.join('')).toMatch(/^Serving the report at http:\/\/127\.0\.0\.1:\d+\//);
  });

  it('a taken port is a could-not-run error', async () => {
    await withServer(html, async (url) => {
      const port = Number(new URL(url).port);
      await expect(
        serveReport(
          html,
          { address: { host: '127.0.0.1', port }, allowRemote: false, signal: new AbortController().signal },
          io(),
        ),
      ).rejects.toMatchObject({ code: 'HTTP_LISTEN_FAILED', exitCode: 3 });
    });
  });
});
