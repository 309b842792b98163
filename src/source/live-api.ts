import { request as httpRequest } from 'node:http';
import type { RequestOptions } from 'node:https';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiStatusError, translateApiError, type ApiAction, type ApiTarget } from './live-errors.js';

/** Per-request timeout: an API server that accepts the connection but never answers. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A minimal client of the Kubernetes REST API over the kubeconfig's transport and credentials: it
 * returns objects exactly as the API serves them (no model classes) and translates every failure
 * where it enters ({@link translateApiError}).
 */
export class KubeApi {
  readonly target: ApiTarget;

  constructor(
    readonly kc: KubeConfig,
    context: string,
  ) {
    this.target = { server: kc.getCurrentCluster()?.server ?? '', context };
  }

  /** GETs `path` as JSON; `undefined` on 404 when `allowMissing` (an API group or object that does not exist). */
  async get<T>(path: string, action: ApiAction, allowMissing = false): Promise<T | undefined> {
    try {
      return (await this.send('GET', path)) as T;
    } catch (err) {
      if (allowMissing && err instanceof ApiStatusError && err.code === 404) return undefined;
      throw translateApiError(err, action, this.target);
    }
  }

  /** POSTs `body`; `undefined` on 409 AlreadyExists when `allowExisting`. */
  async create<T>(path: string, body: unknown, action: ApiAction, allowExisting = false): Promise<T | undefined> {
    try {
      return (await this.send('POST', path, body)) as T;
    } catch (err) {
      if (allowExisting && err instanceof ApiStatusError && err.code === 409) return undefined;
      throw translateApiError(err, action, this.target);
    }
  }

  /** DELETEs `path` (404 counts as done). */
  async delete(path: string, action: ApiAction): Promise<void> {
    try {
      await this.send('DELETE', path, { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 });
    } catch (err) {
      if (err instanceof ApiStatusError && err.code === 404) return;
      throw translateApiError(err, action, this.target);
    }
  }

  private async send(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = new URL(`${this.target.server.replace(/\/+$/, '')}${path}`);
    const opts: RequestOptions = { method, headers: { Accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(opts);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) opts.headers = { ...opts.headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) };
    if (opts.auth !== undefined && opts.auth !== null) {
      opts.headers = { ...opts.headers, Authorization: `Basic ${Buffer.from(opts.auth).toString('base64')}` };
      delete opts.auth;
    }
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    if (url.protocol !== 'https:') delete opts.agent;
    return new Promise((resolve, reject) => {
      const req = request(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? {} : JSON.parse(text);
          } catch {
            json = undefined;
          }
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300 && json !== undefined) return resolve(json);
          const st = (json ?? {}) as { reason?: unknown; message?: unknown };
          reject(
            new ApiStatusError(
              code,
              typeof st.reason === 'string' ? st.reason : undefined,
              typeof st.message === 'string' ? st.message : text.slice(0, 200) || (res.statusMessage ?? ''),
            ),
          );
        });
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(payload);
    });
  }
}
