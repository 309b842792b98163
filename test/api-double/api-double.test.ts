// The API server double speaks what @kubernetes/client-node speaks: Exec over WebSocket round-trips
// stdout, stderr and the status channel; REST paths return real status codes and Status bodies.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Exec, KubeConfig } from '@kubernetes/client-node';
import type { V1Status } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiDouble } from './api-double.js';
import type { ApiDouble } from './api-double.js';

let double: ApiDouble;
let dir: string;
let kc: KubeConfig;

beforeAll(async () => {
  double = await startApiDouble({
    objects: {
      namespaces: [{ metadata: { name: 'skoop' } }],
      pods: [{ metadata: { name: 'c1', namespace: 'skoop' }, spec: { nodeName: 'node-1' }, status: { phase: 'Running' } }],
      nodes: [{ metadata: { name: 'node-1' } }],
    },
    deny: [{ verb: 'list', resource: 'networkpolicies' }],
  });
  dir = mkdtempSync(join(tmpdir(), 'skoop-double-'));
  double.writeKubeconfig(join(dir, 'config'));
  kc = new KubeConfig();
  kc.loadFromFile(join(dir, 'config'));
});

afterAll(async () => {
  await double.close();
  rmSync(dir, { recursive: true, force: true });
});

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function exec(command: string[]): Promise<{ out: string; err: string; status: V1Status; protocol: string }> {
  const out = sink();
  const err = sink();
  let protocol = '';
  const status = await new Promise<V1Status>((resolve, reject) => {
    new Exec(kc)
      .exec('skoop', 'c1', 'collector', command, out.stream, err.stream, null, false, resolve)
      .then((ws) => (protocol = ws.protocol))
      .catch(reject);
  });
  return { out: out.text(), err: err.text(), status, protocol };
}

describe('exec over WebSocket', () => {
  it.each([
    { name: 'stdout and success', command: ['sh', '-c', 'printf "hello\\nworld"'], out: 'hello\nworld', err: '', status: 'Success', exit: undefined },
    { name: 'stderr and exit code', command: ['sh', '-c', 'echo oops >&2; exit 3'], out: '', err: 'oops\n', status: 'Failure', exit: '3' },
    { name: 'large output in many frames', command: ['sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" x'], out: 'x'.repeat(300000), err: '', status: 'Success', exit: undefined },
  ])('$name', async ({ command, out, err, status, exit }) => {
    const r = await exec(command);
    expect(r.protocol).toBe('v5.channel.k8s.io');
    expect(r.out).toBe(out);
    expect(r.err).toBe(err);
    expect(r.status.status).toBe(status);
    expect(r.status.details?.causes?.[0]?.message).toBe(exit);
  });

  it('refuses exec into a missing pod with a 404 before upgrading', async () => {
    const out = sink();
    await expect(new Exec(kc).exec('skoop', 'nope', 'c', ['true'], out.stream, null, null, false)).rejects.toThrow(/404/);
  });
});

describe('REST', () => {
  const get = async (path: string, token = 'test-token'): Promise<{ code: number; body: Record<string, unknown> }> => {
    const r = await fetch(`${double.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { code: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  it.each([
    { name: 'list nodes', path: '/api/v1/nodes', code: 200, reason: undefined },
    { name: 'get a missing configmap', path: '/api/v1/namespaces/kube-system/configmaps/kube-proxy', code: 404, reason: 'NotFound' },
    { name: 'a denied list', path: '/apis/networking.k8s.io/v1/networkpolicies', code: 403, reason: 'Forbidden' },
    { name: 'an absent API group', path: '/apis/crd.projectcalico.org/v1/ippools', code: 404, reason: 'NotFound' },
  ])('$name', async ({ path, code, reason }) => {
    const r = await get(path);
    expect(r.code).toBe(code);
    expect(r.body['reason']).toBe(reason);
  });

  it('answers 401 with a Status to an unknown token', async () => {
    const r = await get('/api/v1/nodes', 'expired');
    expect(r).toEqual({ code: 401, body: expect.objectContaining({ kind: 'Status', reason: 'Unauthorized', code: 401 }) as unknown });
  });

  it('names the missing permission in a 403', async () => {
    const r = await get('/apis/networking.k8s.io/v1/networkpolicies');
    expect(r.body['message']).toBe(
      'networkpolicies.networking.k8s.io is forbidden: User "system:serviceaccount:default:tester" cannot list resource "networkpolicies" in API group "networking.k8s.io" at the cluster scope',
    );
  });
});
