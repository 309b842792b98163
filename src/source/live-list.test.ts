import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { startApiDouble, type ApiDouble } from '../../test/api-double/api-double.js';
import { SkoopError } from '../errors.js';
import { KubeApi } from './live-api.js';
import { loadKubeconfig } from './live-kubeconfig.js';
import { CONFIG_MAPS, listActions, listClusterObjects } from './live-list.js';

let double: ApiDouble;
let dir: string;

beforeAll(async () => {
  double = await startApiDouble({
    objects: {
      nodes: [{ metadata: { name: 'n1' } }],
      namespaces: [{ metadata: { name: 'default' } }, { metadata: { name: 'kube-system' } }],
      pods: [{ metadata: { name: 'p', namespace: 'default' }, spec: { nodeName: 'n1', containers: [{ name: 'c' }] } }],
      configmaps: [
        { metadata: { name: 'kube-proxy', namespace: 'kube-system' }, data: { 'config.conf': 'mode: ipvs' } },
        { metadata: { name: 'app-settings', namespace: 'default' }, data: { password: 'x' } },
      ],
    },
  });
  dir = mkdtempSync(join(tmpdir(), 'skoop-list-'));
  double.writeKubeconfig(join(dir, 'config'), { namespace: 'shop' });
});

afterAll(async () => {
  await double.close();
  rmSync(dir, { recursive: true, force: true });
});

const api = (file = join(dir, 'config')): KubeApi => {
  const k = loadKubeconfig({ kubeconfig: file, env: {} });
  return new KubeApi(k.kc, k.context);
};

describe('listClusterObjects', () => {
  it('reads every list concurrently; missing API groups are empty; only the CNI/kube-proxy ConfigMaps', async () => {
    const t0 = double.requests.length;
    const objects = await listClusterObjects(api());
    expect(objects.nodes.map((n) => n.metadata.name)).toEqual(['n1']);
    expect(objects.pods.map((p) => p.metadata.name)).toEqual(['p']);
    expect(objects.ipPools).toEqual([]);
    expect(objects.adminNetworkPolicies).toEqual([]);
    expect(objects.configMaps.map((c) => `${c.metadata.namespace}/${c.metadata.name}`)).toEqual(['kube-system/kube-proxy']);
    expect(double.requests.length - t0).toBe(listActions().length);
  });

  it.each([
    { name: 'pods', deny: { verb: 'list' as const, resource: 'pods' }, message: 'cannot list pods at cluster scope: add "list" on pods' },
    { name: 'endpointslices', deny: { verb: 'list' as const, resource: 'endpointslices' }, message: 'cannot list endpointslices at cluster scope: add "list" on discovery.k8s.io/endpointslices' },
    { name: 'the kube-proxy ConfigMap', deny: { verb: 'get' as const, resource: 'configmaps', namespace: 'kube-system' }, message: 'cannot get configmaps in namespace kube-system: add "get" on configmaps in namespace kube-system' },
  ])('a 403 on $name names the permission', async ({ deny, message }) => {
    double.setDeny([deny]);
    try {
      const err = await listClusterObjects(api()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SkoopError);
      expect((err as SkoopError).message).toBe(message);
    } finally {
      double.setDeny([]);
    }
  });
});

describe('loadKubeconfig', () => {
  it.each([
    { name: 'the context namespace', opts: (f: string) => ({ kubeconfig: f, env: {} }), namespace: 'shop', context: 'double' },
    { name: 'KUBECONFIG, a list of files', opts: (f: string) => ({ env: { KUBECONFIG: `${join(dir, 'absent.kubeconfig')}:${f}` } }), namespace: 'shop', context: 'double' },
    { name: '~/.kube/config', opts: () => ({ env: { HOME: join(dir, 'home') } }), namespace: 'default', context: 'double' },
  ])('$name', ({ opts, namespace, context }) => {
    const home = join(dir, 'home', '.kube');
    rmSync(home, { recursive: true, force: true });
    double.writeKubeconfig(join(dir, 'plain'));
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'config'), readFileSync(join(dir, 'plain')));
    const k = loadKubeconfig(opts(join(dir, 'config')));
    expect([k.namespace, k.context, k.server]).toEqual([namespace, context, double.url]);
  });

  it.each([
    { name: 'an unknown context is a usage error listing the contexts', opts: () => ({ kubeconfig: join(dir, 'config'), context: 'prod', env: {} }), message: /^no context "prod" in .*config$/, exit: 2 },
    { name: 'no kubeconfig at all', opts: () => ({ env: { HOME: join(dir, 'nohome') } }), message: /^no kubeconfig: /, exit: 3 },
  ])('$name', ({ opts, message, exit }) => {
    let err: unknown;
    try {
      loadKubeconfig(opts());
    } catch (e) {
      err = e;
    }
    expect((err as SkoopError).message).toMatch(message);
    expect((err as SkoopError).exitCode).toBe(exit);
  });
});

describe('deploy/rbac.yaml', () => {
  const docs = parseAllDocuments(readFileSync(new URL('../../deploy/rbac.yaml', import.meta.url), 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { namespace?: string }; rules?: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[] });
  const grants = (kind: string, group: string, resource: string, verb: string, name?: string): boolean =>
    docs
      .filter((d) => d.kind === kind)
      .some((d) => (d.rules ?? []).some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb) && (r.resourceNames === undefined || (name !== undefined && r.resourceNames.includes(name)))));
  it.each(listActions().map((a, i) => ({ name: `${a.verb} ${a.group}/${a.resource}`, a, cm: a.resource === 'configmaps' ? CONFIG_MAPS[i - (listActions().length - CONFIG_MAPS.length)]?.[1] : undefined })))(
    'the ClusterRole grants $name',
    ({ a, cm }) => {
      expect(grants('ClusterRole', a.group, a.resource, a.verb, cm)).toBe(true);
    },
  );
  it.each([
    { resource: 'pods', verb: 'create' },
    { resource: 'pods', verb: 'get' },
    { resource: 'pods', verb: 'delete' },
    { resource: 'pods/exec', verb: 'create' },
  ])('the collector Role grants $verb $resource, in namespace skoop only', ({ resource, verb }) => {
    expect(grants('Role', '', resource, verb)).toBe(true);
    expect(grants('ClusterRole', '', resource, verb)).toBe(false);
    expect(docs.find((d) => d.kind === 'Role')?.metadata.namespace).toBe('skoop');
  });
  it('grants nothing on Secrets or ServiceAccounts', () => {
    expect(readFileSync(new URL('../../deploy/rbac.yaml', import.meta.url), 'utf8')).not.toMatch(/secrets|serviceaccounts/);
  });
});
