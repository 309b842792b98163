import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { SkoopError } from '../errors.js';
import { loadFixture } from '../../test/fixtures/k8s/builders.js';
import { parseSnapshot, parseSnapshotText, readSnapshotFile, writeSnapshotFile, type Snapshot } from './snapshot.js';

const dir = mkdtempSync(join(tmpdir(), 'skoop-snapshot-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ipFixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../../test/fixtures/ip/${name}`, import.meta.url)), 'utf8');

/** A valid snapshot document: the flannel fixture's objects and real command output for one node. */
function validDoc(): Record<string, unknown> {
  const objects = loadFixture('flannel-cluster.json');
  return {
    apiVersion: 'skoop/v1',
    kind: 'Snapshot',
    capturedAt: '2026-11-21T10:00:00Z',
    hints: { networkPlugin: 'flannel', proxyMode: 'iptables', clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12' },
    objects: { ...objects, adminNetworkPolicies: undefined, baselineAdminNetworkPolicies: undefined, clusterNetworkPolicies: undefined, ipPools: undefined },
    netstack: {
      worker1: {
        host: {
          addresses: JSON.parse(ipFixture('node-addresses.json')),
          routes: JSON.parse(ipFixture('node-routes.json')),
          sysctls: ipFixture('node-sysctls.txt'),
          listeners: ipFixture('node-listeners.txt'),
          iptables: '',
          nftables: { nftables: [{ metainfo: { version: '1.0.9', release_name: 'Old Doc Yak #3', json_schema_version: 1 } }] },
          errors: { ipvs: 'ipvsadm: not found' },
          futureField: 'ignored',
        },
        pods: { 'shop/web-canary-0': { addresses: JSON.parse(ipFixture('pod1-addresses.json')), iptables: '' } },
      },
    },
  };
}

/** `validDoc()` with `edit` applied at a dotted path (`undefined` deletes). */
function docWith(path: (string | number)[], value: unknown): Record<string, unknown> {
  const doc = JSON.parse(JSON.stringify(validDoc())) as Record<string, unknown>;
  let cur: Record<string | number, unknown> = doc;
  for (const key of path.slice(0, -1)) cur = cur[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return doc;
}

function thrown(fn: () => unknown): SkoopError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SkoopError) return err;
    throw err;
  }
  throw new Error('expected a SkoopError');
}

async function rejected(p: Promise<unknown>): Promise<SkoopError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SkoopError) return err;
    throw err;
  }
  throw new Error('expected a SkoopError');
}

describe('parseSnapshot: valid input', () => {
  it('keeps the objects, defaults the optional lists, and the Dumps', () => {
    const snap = parseSnapshot(validDoc(), 'snap.json');
    expect(snap.objects.pods).toHaveLength(15);
    expect(snap.objects.ipPools).toEqual([]);
    expect(snap.objects.clusterNetworkPolicies).toEqual([]);
    expect(snap.hints).toEqual({ networkPlugin: 'flannel', proxyMode: 'iptables', clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12' });
    const host = snap.netstack['worker1']?.host;
    expect(host?.iptables).toBe('');
    expect(host?.errors).toEqual({ ipvs: 'ipvsadm: not found' });
    expect(host && 'futureField' in host).toBe(false);
    expect(Array.isArray(host?.addresses)).toBe(true);
    expect(Object.keys(snap.netstack['worker1']?.pods ?? {})).toEqual(['shop/web-canary-0']);
  });

  it.each([
    { name: 'no netstack at all', path: ['netstack'], value: undefined },
    { name: 'no hints', path: ['hints'], value: undefined },
    { name: 'a node without pods', path: ['netstack', 'worker1', 'pods'], value: undefined },
    { name: 'a node without host', path: ['netstack', 'worker1', 'host'], value: undefined },
    { name: 'null counts as absent', path: ['objects', 'ipPools'], value: null },
    { name: 'empty JSON output as ""', path: ['netstack', 'worker1', 'host', 'fdb'], value: '' },
    { name: 'dual-stack clusterCIDR', path: ['hints', 'clusterCIDR'], value: '10.244.0.0/16,fd00:10:244::/56' },
    { name: 'EndpointSlice endpoints: null', path: ['objects', 'endpointSlices', 0, 'endpoints'], value: null },
    { name: 'unknown top-level field', path: ['x-extra'], value: { any: 1 } },
  ])('accepts $name', ({ path, value }) => {
    expect(() => parseSnapshot(docWith(path, value), 'snap.json')).not.toThrow();
  });

  it('an empty JSON output given as "" becomes []', () => {
    expect(parseSnapshot(docWith(['netstack', 'worker1', 'host', 'fdb'], ''), 's').netstack['worker1']?.host?.fdb).toEqual([]);
  });

  it('the calico fixture (IP pools, IPv6 slices) is valid', () => {
    const objects = loadFixture('calico-cluster.json');
    const snap = parseSnapshot({ apiVersion: 'skoop/v1', kind: 'Snapshot', objects, netstack: {} }, 'calico.json');
    expect(snap.objects.ipPools.map((p) => p.spec.cidr)).toEqual(['192.168.0.0/16', 'fd00:10:244::/48', '10.10.0.0/16']);
  });
});

describe('parseSnapshot: errors', () => {
  it.each([
    { name: 'not an object', doc: [] as unknown, message: 'snap.json: expected a JSON object at the top level, got an array' },
    { name: 'wrong apiVersion', doc: docWith(['apiVersion'], 'skoop/v2'), message: 'snap.json: apiVersion: expected "skoop/v1", got "skoop/v2"' },
    { name: 'missing apiVersion', doc: docWith(['apiVersion'], undefined), message: 'apiVersion: expected "skoop/v1", got nothing' },
    { name: 'wrong kind', doc: docWith(['kind'], 'List'), message: 'snap.json: kind: expected "Snapshot", got "List"' },
    { name: 'missing objects', doc: docWith(['objects'], undefined), message: 'snap.json: missing objects' },
    { name: 'objects not an object', doc: docWith(['objects'], []), message: 'objects: expected an object of lists, got an array' },
    { name: 'a list that is not an array', doc: docWith(['objects', 'pods'], { items: [] }), message: 'objects.pods: expected an array' },
    { name: 'a required list missing', doc: docWith(['objects', 'networkPolicies'], undefined), message: 'objects.networkPolicies: missing (write [] when the cluster has none)' },
    { name: 'an object without metadata.name', doc: docWith(['objects', 'pods', 3, 'metadata', 'name'], undefined), message: 'snap.json: objects.pods[3]: missing metadata.name' },
    { name: 'an object without metadata', doc: docWith(['objects', 'nodes', 1, 'metadata'], undefined), message: 'objects.nodes[1]: missing metadata.name' },
    { name: 'a namespaced object without namespace', doc: docWith(['objects', 'services', 2, 'metadata', 'namespace'], undefined), message: 'objects.services[2]: missing metadata.namespace (web)' },
    { name: 'an item that is not an object', doc: docWith(['objects', 'configMaps', 0], 'kube-proxy'), message: 'objects.configMaps[0]: expected an API object' },
    { name: 'a field of the wrong type', doc: docWith(['objects', 'pods', 0, 'status', 'podIPs'], '10.244.0.2'), message: 'objects.pods[0].status.podIPs: expected an array' },
    { name: 'a port that is not a number', doc: docWith(['objects', 'services', 0, 'spec', 'ports', 0, 'port'], '443'), message: 'objects.services[0].spec.ports[0].port: expected an integer' },
    { name: 'a service port without port', doc: docWith(['objects', 'services', 1, 'spec', 'ports', 2, 'port'], undefined), message: 'objects.services[1].spec.ports[2]: missing port' },
    { name: 'a bad protocol', doc: docWith(['objects', 'endpointSlices', 0, 'ports', 0, 'protocol'], 'tcp'), message: 'objects.endpointSlices[0].ports[0].protocol: expected one of "TCP", "UDP", "SCTP", got "tcp"' },
    { name: 'a label that is not a string', doc: docWith(['objects', 'pods', 0, 'metadata', 'labels', 'replicas'], 3), message: 'objects.pods[0].metadata.labels.replicas: expected a string' },
    { name: 'a bad selector operator', doc: docWith(['objects', 'networkPolicies', 1, 'spec', 'ingress', 0, 'from', 1, 'namespaceSelector', 'matchExpressions', 0, 'operator'], 'in'), message: 'objects.networkPolicies[1].spec.ingress[0].from[1].namespaceSelector.matchExpressions[0].operator: expected one of "In", "NotIn", "Exists", "DoesNotExist", got "in"' },
    { name: 'an IPPool without cidr', doc: docWith(['objects', 'ipPools'], [{ metadata: { name: 'p' }, spec: {} }]), message: 'objects.ipPools[0].spec: missing cidr' },
    { name: 'hints not an object', doc: docWith(['hints'], 'flannel'), message: 'hints: expected an object, got a string' },
    { name: 'a bad proxyMode', doc: docWith(['hints', 'proxyMode'], 'userspace'), message: 'hints.proxyMode: expected one of iptables, ipvs, nftables, got "userspace"' },
    { name: 'a bad clusterCIDR', doc: docWith(['hints', 'clusterCIDR'], '10.244.0.0/33'), message: 'hints.clusterCIDR: "10.244.0.0/33" is not a CIDR' },
    { name: 'capturedAt not a string', doc: docWith(['capturedAt'], 1700000000), message: 'capturedAt: expected a string (RFC 3339 time), got a number' },
    { name: 'netstack not an object', doc: docWith(['netstack'], []), message: 'netstack: expected an object keyed by node name, got an array' },
    { name: 'a node entry not an object', doc: docWith(['netstack', 'worker1'], 'x'), message: 'netstack.worker1: expected an object with host and pods, got a string' },
    { name: 'a pod key not ns/name', doc: docWith(['netstack', 'worker1', 'pods', 'web-canary-0'], {}), message: 'netstack.worker1.pods["web-canary-0"]: expected a key of the form namespace/name' },
    { name: 'a pod key with too many parts', doc: docWith(['netstack', 'worker1', 'pods', 'a/b/c'], {}), message: 'netstack.worker1.pods["a/b/c"]: expected a key of the form namespace/name' },
    { name: 'a text field of the wrong type', doc: docWith(['netstack', 'worker1', 'host', 'iptables'], ['*filter']), message: 'snap.json: netstack.worker1.host.iptables: expected a string (the output of iptables-save), got an array' },
    { name: 'a JSON field given as text', doc: docWith(['netstack', 'worker1', 'host', 'routes'], 'default via 10.0.0.1 dev eth0'), message: 'netstack.worker1.host.routes: expected a JSON array (the output of ip -j -d route show table all), got a string' },
    { name: 'nftables not an object', doc: docWith(['netstack', 'worker1', 'host', 'nftables'], 5), message: 'netstack.worker1.host.nftables: expected a JSON object (the output of nft -j list ruleset), got a number' },
    { name: 'a field of a pod Dump', doc: docWith(['netstack', 'worker1', 'pods', 'shop/web-canary-0', 'listeners'], 42), message: 'netstack.worker1.pods["shop/web-canary-0"].listeners: expected a string (the output of ss -H -l -n -t -u), got a number' },
    { name: 'errors not strings', doc: docWith(['netstack', 'worker1', 'host', 'errors'], { ipvs: false }), message: 'netstack.worker1.host.errors.ipvs: expected a string, got a boolean' },
    { name: 'a Dump that is not an object', doc: docWith(['netstack', 'worker1', 'host'], 'ip a'), message: 'netstack.worker1.host: expected a Dump object (one field per command), got a string' },
    { name: 'a node name with dots is quoted', doc: docWith(['netstack', 'ip-10-0-0-1.ec2.internal'], { host: { sysctls: 1 } }), message: 'netstack["ip-10-0-0-1.ec2.internal"].host.sysctls: expected a string (the output of sysctl -a), got a number' },
  ])('$name', ({ doc, message }) => {
    const err = thrown(() => parseSnapshot(doc, 'snap.json'));
    expect(err.code).toBe('SNAPSHOT_INVALID');
    expect(err.kind).toBe('usage');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(message);
    expect(err.hint).toBeTruthy();
  });
});

describe('parseSnapshotText: invalid JSON names the position', () => {
  it.each([
    { name: 'trailing comma', text: '{\n  "apiVersion": "skoop/v1",\n}', message: 'bad.json: invalid JSON at line 3, column 1: expected a property name in double quotes, found "}"' },
    { name: 'truncated', text: '{"apiVersion": "skoop/v1", "objects": {"pods": [', message: 'bad.json: invalid JSON at line 1, column 49: expected a value, found the end of the file' },
    { name: 'missing comma in an array', text: '[1,\n 2\n 3]', message: "line 3, column 2: expected ',' or ']', found \"3\"" },
    { name: 'single quotes', text: "{'a': 1}", message: 'line 1, column 2: expected a property name in double quotes' },
    { name: 'garbage after the document', text: '{} {}', message: 'line 1, column 4: expected the end of the document after the JSON value' },
    { name: 'raw newline in a string', text: '{"a": "x\ny"}', message: 'line 1, column 9: control character inside a string' },
    { name: 'bad number', text: '{"a": -}', message: 'line 1, column 8: expected a digit' },
    { name: 'empty file', text: '', message: 'line 1, column 1: expected a value, found the end of the file' },
  ])('$name', ({ text, message }) => {
    const err = thrown(() => parseSnapshotText(text, 'bad.json'));
    expect(err.code).toBe('SNAPSHOT_INVALID');
    expect(err.message).toContain(message);
  });

  it('a UTF-8 byte order mark is accepted', () => {
    expect(parseSnapshotText(`\ufeff${JSON.stringify(validDoc())}`, 'bom.json').kind).toBe('Snapshot');
  });
});

describe('readSnapshotFile / writeSnapshotFile', () => {
  const snap: Snapshot = parseSnapshot(validDoc(), 'mem');

  it.each([
    { name: 'plain JSON', file: 'snap.json', gzip: false },
    { name: 'gzip by name', file: 'snap.json.gz', gzip: true },
  ])('round-trips $name', async ({ file, gzip }) => {
    const path = join(dir, file);
    await writeSnapshotFile(path, snap);
    const bytes = readFileSync(path);
    expect(bytes[0] === 0x1f && bytes[1] === 0x8b).toBe(gzip);
    const text = gzip ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(snap)));
    expect(await readSnapshotFile(path)).toEqual(snap);
  });

  it('detects gzip by the magic bytes, not the name', async () => {
    const path = join(dir, 'compressed-but-named.json');
    writeFileSync(path, gzipSync(JSON.stringify(validDoc())));
    expect((await readSnapshotFile(path)).objects.nodes.map((n) => n.metadata.name)).toEqual(['cp1', 'worker1', 'worker2']);
  });

  it('reads plain JSON named .gz', async () => {
    const path = join(dir, 'plain-but-named.json.gz');
    writeFileSync(path, JSON.stringify(validDoc()));
    expect((await readSnapshotFile(path)).kind).toBe('Snapshot');
  });

  it.each([
    { name: 'missing file', setup: () => join(dir, 'nope.json'), code: 'SNAPSHOT_NOT_FOUND', message: 'snapshot file not found: ', hint: 'Snapshot file' },
    {
      name: 'a directory',
      setup: () => {
        const p = join(dir, 'a-dir.json');
        mkdirSync(p, { recursive: true });
        return p;
      },
      code: 'SNAPSHOT_UNREADABLE',
      message: 'is a directory',
      hint: '.json',
    },
    {
      name: 'corrupt gzip',
      setup: () => {
        const p = join(dir, 'corrupt.json.gz');
        writeFileSync(p, Buffer.concat([gzipSync('{"apiVersion":"skoop/v1"}').subarray(0, 12), Buffer.from('garbage')]));
        return p;
      },
      code: 'SNAPSHOT_INVALID',
      message: 'not a valid gzip file',
      hint: 'decompress',
    },
    {
      name: 'invalid JSON inside gzip',
      setup: () => {
        const p = join(dir, 'bad-json.json.gz');
        writeFileSync(p, gzipSync('{\n"apiVersion": "skoop/v1",,\n}'));
        return p;
      },
      code: 'SNAPSHOT_INVALID',
      message: 'invalid JSON at line 2, column 26',
      hint: 'one JSON document',
    },
    {
      name: 'valid JSON, invalid snapshot',
      setup: () => {
        const p = join(dir, 'wrong-kind.json');
        writeFileSync(p, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }));
        return p;
      },
      code: 'SNAPSHOT_INVALID',
      message: 'wrong-kind.json: apiVersion: expected "skoop/v1", got "v1"',
      hint: 'skoop-collect.sh',
    },
  ])('$name', async ({ setup, code, message, hint }) => {
    const path = setup();
    const err = await rejected(readSnapshotFile(path));
    expect(err.code).toBe(code);
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(message);
    expect(err.message).toContain(path);
    expect(err.hint).toContain(hint);
  });

  /** `validDoc()` with `copies` copies of each pod (renamed), a few MB: more than one inflate chunk. */
  function bigDoc(copies: number): Record<string, unknown> {
    const doc = validDoc() as { objects: { pods: { metadata: { name: string } }[] } };
    const pods = doc.objects.pods;
    doc.objects.pods = Array.from({ length: copies }, (_, i) =>
      pods.map((p) => ({ ...p, metadata: { ...p.metadata, name: `${p.metadata.name}-${i}` }, managedFields: [{ manager: 'kubelet', fieldsV1: { 'f:status': {} } }] })),
    ).flat();
    return doc as unknown as Record<string, unknown>;
  }

  it.each([
    { name: 'gzip', gzip: true },
    { name: 'plain', gzip: false },
  ])('reads a large $name snapshot as parseSnapshot reads it whole, without the fields skoop does not read', async ({ gzip }) => {
    const text = JSON.stringify(bigDoc(300));
    const path = join(dir, gzip ? 'big.json.gz' : 'big.json');
    writeFileSync(path, gzip ? gzipSync(text) : text);
    const snap = await readSnapshotFile(path);
    expect(snap).toEqual(parseSnapshot(JSON.parse(text), path));
    expect(snap.objects.pods).toHaveLength(15 * 300);
    expect(snap.objects.pods[4500 - 1]?.metadata.name).toMatch(/-299$/);
    expect(snap.objects.pods.some((p) => 'managedFields' in p || 'resourceVersion' in p.metadata)).toBe(false);
  });

  it('reports an invalid object deep in a streamed snapshot as parseSnapshot does', async () => {
    const doc = bigDoc(100) as { objects: { pods: { metadata: Record<string, unknown> }[] } };
    delete doc.objects.pods[1234]?.metadata['name'];
    const path = join(dir, 'bad-pod.json.gz');
    writeFileSync(path, gzipSync(JSON.stringify(doc)));
    const err = await rejected(readSnapshotFile(path));
    expect(err.message).toBe(`${path}: objects.pods[1234]: missing metadata.name`);
  });

  it('write to a missing directory is a usage error', async () => {
    const err = await rejected(writeSnapshotFile(join(dir, 'no', 'such', 'dir', 's.json'), snap));
    expect(err.code).toBe('SNAPSHOT_WRITE_FAILED');
  });
});
