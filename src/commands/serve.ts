import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import ipaddr from 'ipaddr.js';
import { cannotRunError, usageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { REPORT_CSP } from '../render/render-html.js';

/** Where `--http` listens when given no address. */
export const DEFAULT_HTTP_ADDRESS = '127.0.0.1:8080';

/** A host and port to listen on. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * The address of `--http [ADDR]`: `HOST:PORT`, `HOST`, `:PORT`, `PORT`, `[IPV6]:PORT` or `[IPV6]`
 * (`true`, commander's value for a bare `--http`, is {@link DEFAULT_HTTP_ADDRESS}); the host
 * defaults to 127.0.0.1 and the port to 8080.
 */
export function parseListenAddress(value: string | true): ListenAddress {
  const text = value === true ? DEFAULT_HTTP_ADDRESS : value.trim();
  const bad = (): never => {
    throw usageError(
      'HTTP_ADDRESS_INVALID',
      `--http: "${text}" is not an address to listen on`,
      'give HOST:PORT, :PORT or PORT, e.g. --http 127.0.0.1:8080 or --http [::1]:8080',
    );
  };
  let host = '127.0.0.1';
  let port = '8080';
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6 !== null) {
    host = v6[1] ?? bad();
    port = v6[2] ?? port;
  } else if (/^\d+$/.test(text)) {
    port = text;
  } else if (text.split(':').length === 2) {
    const [h = '', p = ''] = text.split(':');
    if (h !== '') host = h;
    if (!/^\d+$/.test(p)) bad();
    port = p;
  } else if (text !== '' && !text.includes(':')) {
    host = text;
  } else {
    bad();
  }
  const n = Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65535) bad();
  return { host, port: n };
}

/** Whether `host` is a loopback address (127.0.0.0/8, ::1) or `localhost`. */
export function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  if (!ipaddr.isValid(host)) return false;
  const addr = ipaddr.process(host);
  return addr.range() === 'loopback';
}

/**
 * Checks that the report may be served on `address`: a non-loopback address needs
 * `allowRemote` (`--http-allow-remote`), and then a warning is printed, since the report reveals
 * the cluster's internals to whoever can reach the address.
 */
export function checkListenAddress(address: ListenAddress, allowRemote: boolean, io: CliIo): void {
  if (isLoopback(address.host)) return;
  if (!allowRemote) {
    throw usageError(
      'HTTP_NOT_LOOPBACK',
      `--http: refusing to serve the report on ${address.host}, which is not a loopback address`,
      'the report shows pod, node and Service names, IPs, routes and firewall rules; serve it on 127.0.0.1 (the default) and use an SSH tunnel, or pass --http-allow-remote if everyone who can reach that address may see them',
    );
  }
  io.stderr(
    `warning: serving the report on ${address.host}, not loopback: anyone who can reach it sees this cluster's internals (pod, node and Service names, IPs, routes, iptables rules)\n`,
  );
}

/** The URL people open for a server listening on `address` (`0.0.0.0`/`::` shown as loopback). */
export function urlOf(address: ListenAddress): string {
  const host = address.host === '0.0.0.0' ? '127.0.0.1' : address.host === '::' ? '::1' : address.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/`;
}

/** The response to one request for the report: the page on `/` (GET or HEAD), 404 or 405 otherwise. */
export function handleReportRequest(
  html: string,
  allowedHosts: ReadonlySet<string> | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const headers = {
    'Content-Security-Policy': REPORT_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
  const host = (req.headers.host ?? '').toLowerCase();
  if (allowedHosts !== undefined && !allowedHosts.has(host)) {
    res.writeHead(421, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('misdirected request: open the report by the address skoop printed\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...headers, Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('method not allowed\n');
    return;
  }
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/' && path !== '/index.html') {
    res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('not found: the report is at /\n');
    return;
  }
  const body = Buffer.from(html, 'utf8');
  res.writeHead(200, {
    ...headers,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': String(body.length),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** What {@link serveReport} needs besides the page. */
export interface ServeOptions {
  readonly address: ListenAddress;
  readonly allowRemote: boolean;
  /** Stops the server when aborted (see {@link interruptSignal}). */
  readonly signal: AbortSignal;
  /** Called once the server listens, with its URL (tests use it to learn an ephemeral port). */
  readonly onListening?: (url: string) => void;
}

/**
 * Serves `html` over HTTP until `signal` aborts, printing the URL on stdout; refuses a non-loopback
 * address without `allowRemote`. On loopback, requests naming another Host are refused (421), so a
 * web page elsewhere cannot read the report through DNS rebinding.
 */
export async function serveReport(html: string, options: ServeOptions, io: CliIo): Promise<void> {
  checkListenAddress(options.address, options.allowRemote, io);
  if (options.signal.aborted) return;
  let allowed: Set<string> | undefined;
  const server = createServer((req, res) => handleReportRequest(html, allowed, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        cannotRunError(
          'HTTP_LISTEN_FAILED',
          `--http: cannot listen on ${options.address.host}:${options.address.port}: ${err.code ?? err.message}`,
          err.code === 'EADDRINUSE'
            ? 'the port is taken: choose another with --http 127.0.0.1:PORT'
            : 'check the address is one of this machine’s',
          err,
        ),
      );
    });
    server.listen(options.address.port, options.address.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const bound: ListenAddress = { host: options.address.host, port };
  if (isLoopback(options.address.host)) {
    allowed = new Set(
      ['localhost', '127.0.0.1', '[::1]', options.address.host.toLowerCase()].map((h) =>
        h.includes(':') && !h.startsWith('[') ? `[${h}]:${port}` : `${h}:${port}`,
      ),
    );
  }
  const url = urlOf(bound);
  io.stdout(`Serving the report at ${url} (press Ctrl-C to stop)\n`);
  options.onListening?.(url);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      server.close(() => resolve());
      server.closeAllConnections();
    };
    if (options.signal.aborted) stop();
    else options.signal.addEventListener('abort', stop, { once: true });
  });
}

export { interruptSignal } from '../interrupt.js';
