// A Kubernetes API server double for tests: the REST paths skoop calls (list/get/create/delete with
// real status codes and Status bodies), 403s and 401s on demand, collector pods whose phase the test
// controls, and the exec subresource over WebSocket (v5/v4.channel.k8s.io) that runs the command
// through a runner the test provides (on the e2e bench: inside the namespace standing for the node).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';

/** A JSON object as the API serves it. */
export type ApiObject = Record<string, unknown> & { metadata: { name: string; namespace?: string; [k: string]: unknown } };

/** The phase a created pod shows: Running, Pending forever (unschedulable) or stuck pulling its image. */
export type PodFate = 'Running' | 'Pending' | 'ImagePullBackOff';

/** A denied request: `verb` on `resource` (`networkpolicies`), optionally only in `namespace`. */
export interface Denial {
  readonly verb: 'list' | 'get' | 'create' | 'delete' | 'exec';
  readonly resource: string;
  readonly namespace?: string;
}

/** Runs an exec'd command for the pod on `nodeName`; the double streams its output back. */
export type ExecRunner = (nodeName: string, command: readonly string[]) => ChildProcess;

/** What the double serves. */
export interface ApiDoubleOptions {
  /** Object lists by resource: nodes, namespaces, pods, services, endpointslices, networkpolicies, daemonsets, configmaps, ippools. */
  readonly objects: Readonly<Record<string, readonly ApiObject[]>>;
  /** Bearer tokens accepted; any other gets 401. Default: `['test-token']`. */
  readonly tokens?: readonly string[];
  readonly deny?: readonly Denial[];
  /** The fate of each pod created (by node name); default Running. */
  readonly podFate?: (nodeName: string) => PodFate;
  /** Runs exec'd commands; default: `sh` on this machine. */
  readonly runner?: ExecRunner;
  /** Whether the Calico CRD (crd.projectcalico.org/v1 ippools) exists. */
  readonly calicoCrd?: boolean;
}

/** One request the double received. */
export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly at: number;
}

const GROUPS: Readonly<Record<string, { readonly prefix: string; readonly group: string }>> = {
  nodes: { prefix: '/api/v1', group: '' },
  namespaces: { prefix: '/api/v1', group: '' },
  pods: { prefix: '/api/v1', group: '' },
  services: { prefix: '/api/v1', group: '' },
  configmaps: { prefix: '/api/v1', group: '' },
  endpointslices: { prefix: '/apis/discovery.k8s.io/v1', group: 'discovery.k8s.io' },
  networkpolicies: { prefix: '/apis/networking.k8s.io/v1', group: 'networking.k8s.io' },
  daemonsets: { prefix: '/apis/apps/v1', group: 'apps' },
  ippools: { prefix: '/apis/crd.projectcalico.org/v1', group: 'crd.projectcalico.org' },
};

const CLUSTER_SCOPED = new Set(['nodes', 'namespaces', 'ippools']);

/** A metav1.Status body. */
export function status(code: number, reason: string, message: string, details?: Record<string, unknown>): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: code < 400 ? 'Success' : 'Failure',
    message,
    reason,
    ...(details !== undefined ? { details } : {}),
    code,
  };
}

/** The API server double; {@link startApiDouble} starts one. */
export class ApiDouble {
  /** Pods by `namespace/name`, including created collector pods. */
  readonly pods = new Map<string, ApiObject>();
  readonly namespaces = new Map<string, ApiObject>();
  readonly requests: RequestRecord[] = [];
  /** Every pod created through the API, in order (deleted or not). */
  readonly created: string[] = [];
  /** Commands exec'd, with the node they ran on. */
  readonly execs: { node: string; command: readonly string[]; start: number; end?: number }[] = [];
  private readonly sockets = new Set<WebSocket>();
  private readonly children = new Set<ChildProcess>();
  private deny: readonly Denial[];
  private tokens: readonly string[];
  url = '';
  /** The fate of each pod created from now on (by node name). */
  podFate: (nodeName: string) => PodFate;
  /** Runs exec'd commands. */
  runner: ExecRunner;

  constructor(
    readonly server: Server,
    private readonly options: ApiDoubleOptions,
  ) {
    this.deny = options.deny ?? [];
    this.tokens = options.tokens ?? ['test-token'];
    this.podFate = options.podFate ?? (() => 'Running');
    this.runner = options.runner ?? ((_n, cmd) => spawn(cmd[0] ?? 'true', cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] }));
    for (const p of options.objects['pods'] ?? []) this.pods.set(`${p.metadata.namespace ?? 'default'}/${p.metadata.name}`, p);
    for (const n of options.objects['namespaces'] ?? []) this.namespaces.set(n.metadata.name, n);
  }

  /** Changes the denied requests. */
  setDeny(deny: readonly Denial[]): void {
    this.deny = deny;
  }

  /** The pods skoop created that still exist (`namespace/name`). */
  collectorPods(): string[] {
    return this.created.filter((id) => this.pods.has(id));
  }

  /** Writes a kubeconfig for this server to `path` with `token` (default the first accepted one). */
  writeKubeconfig(path: string, opts: { token?: string; namespace?: string; server?: string } = {}): void {
    const token = opts.token ?? this.tokens[0] ?? 'none';
    const server = opts.server ?? this.url;
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: double',
        '  cluster:',
        `    server: ${server}`,
        "    insecure-skip-tls-verify: true",
        'users:',
        '- name: tester',
        '  user:',
        `    token: ${token}`,
        'contexts:',
        '- name: double',
        '  context:',
        '    cluster: double',
        '    user: tester',
        ...(opts.namespace !== undefined ? [`    namespace: ${opts.namespace}`] : []),
        'current-context: double',
        '',
      ].join('\n'),
    );
  }

  /** Stops the server, closes exec sockets and kills exec'd commands. */
  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    for (const c of this.children) c.kill('SIGKILL');
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private denied(verb: Denial['verb'], resource: string, namespace: string | undefined): boolean {
    return this.deny.some((d) => d.verb === verb && d.resource === resource && (d.namespace === undefined || d.namespace === namespace));
  }

  private authorized(req: IncomingMessage): boolean {
    const auth = req.headers.authorization ?? '';
    return this.tokens.some((t) => auth === `Bearer ${t}`);
  }

  /** Handles one plain HTTP request. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://double');
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, at: Date.now() });
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      try {
        this.route(req.method ?? 'GET', url, body, req, res);
      } catch (err) {
        send(res, 500, status(500, 'InternalError', String(err)));
      }
    });
  }

  private route(method: string, url: URL, body: string, req: IncomingMessage, res: ServerResponse): void {
    if (!this.authorized(req)) {
      send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const r = parsePath(url.pathname);
    if (r === undefined) {
      send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    if (r.resource === 'ippools' && this.options.calicoCrd !== true) {
      send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    const verb: Denial['verb'] = method === 'POST' ? 'create' : method === 'DELETE' ? 'delete' : r.name === undefined ? 'list' : 'get';
    if (this.denied(verb, r.resource, r.namespace)) {
      send(res, 403, forbidden(verb, r.resource, r.namespace));
      return;
    }
    if (r.resource === 'pods') return this.podRoute(method, r, url, body, res);
    if (r.resource === 'namespaces' && method === 'POST') {
      const obj = JSON.parse(body) as ApiObject;
      if (this.namespaces.has(obj.metadata.name)) {
        send(res, 409, status(409, 'AlreadyExists', `namespaces "${obj.metadata.name}" already exists`, { name: obj.metadata.name, kind: 'namespaces' }));
        return;
      }
      this.namespaces.set(obj.metadata.name, obj);
      send(res, 201, obj);
      return;
    }
    const all = r.resource === 'namespaces' ? [...this.namespaces.values()] : (this.options.objects[r.resource] ?? []);
    const items = all.filter((o) => r.namespace === undefined || CLUSTER_SCOPED.has(r.resource) || o.metadata.namespace === r.namespace);
    if (r.name === undefined) {
      send(res, 200, { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items });
      return;
    }
    const found = items.find((o) => o.metadata.name === r.name);
    if (found === undefined) send(res, 404, notFound(r.resource, r.name));
    else send(res, 200, found);
  }

  private podRoute(method: string, r: ParsedPath, url: URL, body: string, res: ServerResponse): void {
    const ns = r.namespace;
    if (method === 'POST' && ns !== undefined) {
      if (!this.namespaces.has(ns)) {
        send(res, 404, status(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' }));
        return;
      }
      const pod = JSON.parse(body) as ApiObject;
      const name = pod.metadata.name;
      const id = `${ns}/${name}`;
      if (this.pods.has(id)) {
        send(res, 409, status(409, 'AlreadyExists', `pods "${name}" already exists`, { name, kind: 'pods' }));
        return;
      }
      const spec = (pod['spec'] ?? {}) as { nodeName?: string };
      const fate = this.podFate(spec.nodeName ?? '');
      const created: ApiObject = { ...pod, metadata: { ...pod.metadata, namespace: ns, uid: `uid-${this.created.length}` }, status: podStatus(fate) };
      this.pods.set(id, created);
      this.created.push(id);
      send(res, 201, created);
      return;
    }
    if (method === 'DELETE' && ns !== undefined && r.name !== undefined) {
      const id = `${ns}/${r.name}`;
      const pod = this.pods.get(id);
      if (pod === undefined) {
        send(res, 404, notFound('pods', r.name));
        return;
      }
      this.pods.delete(id);
      send(res, 200, pod);
      return;
    }
    const items = [...this.pods.values()].filter((p) => ns === undefined || p.metadata.namespace === ns);
    if (r.name === undefined) {
      const selector = url.searchParams.get('labelSelector');
      const wanted = selector === null ? items : items.filter((p) => matchesSelector(p, selector));
      send(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: wanted });
      return;
    }
    const pod = this.pods.get(`${ns}/${r.name}`);
    if (pod === undefined) send(res, 404, notFound('pods', r.name));
    else send(res, 200, pod);
  }

  /** Handles an HTTP upgrade: only the pods/exec subresource speaks WebSocket. */
  upgrade(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://double');
    this.requests.push({ method: 'EXEC', path: url.pathname, at: Date.now() });
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(url.pathname);
    const reject = (code: number, body: Record<string, unknown>): void => {
      const text = JSON.stringify(body);
      socket.end(`HTTP/1.1 ${code} ${code === 401 ? 'Unauthorized' : code === 403 ? 'Forbidden' : code === 404 ? 'Not Found' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
    };
    if (!this.authorized(req)) return reject(401, status(401, 'Unauthorized', 'Unauthorized'));
    if (m === null) return reject(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const [, ns, name] = m as unknown as [string, string, string];
    if (this.denied('exec', 'pods', ns)) return reject(403, forbidden('create', 'pods/exec', ns));
    const pod = this.pods.get(`${ns}/${name}`);
    if (pod === undefined) return reject(404, notFound('pods', name));
    const phase = (pod['status'] as { phase?: string } | undefined)?.phase;
    if (phase !== 'Running') return reject(400, status(400, 'BadRequest', `pod ${name} does not have a host assigned`));
    const command = url.searchParams.getAll('command');
    const node = ((pod['spec'] ?? {}) as { nodeName?: string }).nodeName ?? '';
    wss.handleUpgrade(req, socket, head, (ws) => this.exec(ws, node, command));
  }

  private exec(ws: WebSocket, node: string, command: readonly string[]): void {
    this.sockets.add(ws);
    const record: { node: string; command: readonly string[]; start: number; end?: number } = { node, command, start: Date.now() };
    this.execs.push(record);
    const child = this.runner(node, command);
    this.children.add(child);
    const frame = (channel: number, data: Buffer | string): Buffer => Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(data) ? data : Buffer.from(data)]);
    child.stdout?.on('data', (d: Buffer) => ws.send(frame(1, d)));
    child.stderr?.on('data', (d: Buffer) => ws.send(frame(2, d)));
    ws.on('message', (data: Buffer) => {
      if (data[0] === 0) child.stdin?.write(data.subarray(1));
      else if (data[0] === 255 && data[1] === 0) child.stdin?.end();
    });
    ws.on('close', () => {
      this.sockets.delete(ws);
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let spawnError: string | undefined;
    child.on('error', (err) => (spawnError = err.message));
    child.on('close', (code, signal) => {
      this.children.delete(child);
      record.end = Date.now();
      const s =
        spawnError !== undefined
          ? { metadata: {}, status: 'Failure', message: `Internal error occurred: error executing command in container: ${spawnError}`, reason: 'InternalError' }
          : code === 0
            ? { metadata: {}, status: 'Success' }
            : {
                metadata: {},
                status: 'Failure',
                message: `command terminated with non-zero exit code: error executing command [${command.join(' ').slice(0, 80)}]: exit code ${code ?? signal}`,
                reason: 'NonZeroExitCode',
                details: { causes: [{ reason: 'ExitCode', message: String(code ?? 137) }] },
              };
      ws.send(frame(3, JSON.stringify(s)), () => ws.close(1000));
    });
  }
}

interface ParsedPath {
  readonly resource: string;
  readonly namespace?: string;
  readonly name?: string;
}

/** `/api/v1/namespaces/ns/pods/name`, `/apis/G/V/RES`, … → resource, namespace, name. */
function parsePath(path: string): ParsedPath | undefined {
  for (const [resource, g] of Object.entries(GROUPS)) {
    if (!path.startsWith(`${g.prefix}/`)) continue;
    const rest = path.slice(g.prefix.length + 1).split('/');
    if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] === resource) {
      return { resource, namespace: rest[1] as string, ...(rest[3] !== undefined ? { name: rest[3] } : {}) };
    }
    if (rest[0] === resource && rest.length <= 2) {
      if (resource === 'namespaces' && rest.length === 2) return { resource, name: rest[1] as string };
      return { resource, ...(rest[1] !== undefined ? { name: rest[1] } : {}) };
    }
  }
  return undefined;
}

function matchesSelector(obj: ApiObject, selector: string): boolean {
  const labels = (obj.metadata['labels'] ?? {}) as Record<string, string>;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return k !== undefined && (v === undefined ? k in labels : labels[k] === v);
  });
}

function podStatus(fate: PodFate): Record<string, unknown> {
  if (fate === 'Running') {
    return { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'collector', ready: true, state: { running: { startedAt: new Date().toISOString() } } }] };
  }
  if (fate === 'Pending') {
    return {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/disk-pressure: }.' }],
    };
  }
  return {
    phase: 'Pending',
    conditions: [{ type: 'PodScheduled', status: 'True' }],
    containerStatuses: [{ name: 'collector', ready: false, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "registry.example/skoop-collector:0.1.0"' } } }],
  };
}

const KIND_OF: Readonly<Record<string, string>> = { 'pods/exec': 'pods' };

function forbidden(verb: string, resource: string, namespace: string | undefined): Record<string, unknown> {
  const base = resource.split('/')[0] ?? resource;
  const group = GROUPS[base]?.group ?? '';
  const qualified = group === '' ? resource : `${resource}.${group}`;
  const scope = namespace === undefined || CLUSTER_SCOPED.has(base) ? 'at the cluster scope' : `in the namespace "${namespace}"`;
  return status(403, 'Forbidden', `${qualified} is forbidden: User "system:serviceaccount:default:tester" cannot ${verb} resource "${resource}" in API group "${group}" ${scope}`, {
    group,
    kind: KIND_OF[resource] ?? resource,
  });
}

function notFound(resource: string, name: string): Record<string, unknown> {
  return status(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Starts a double on 127.0.0.1 (a free port). */
export async function startApiDouble(options: ApiDoubleOptions): Promise<ApiDouble> {
  const server = createServer();
  const double = new ApiDouble(server, options);
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has('v5.channel.k8s.io') ? 'v5.channel.k8s.io' : protocols.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false),
  });
  server.on('request', (req, res) => double.handle(req, res));
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => double.upgrade(wss, req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  double.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return double;
}
