import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createGunzip, gunzipSync, gzip } from 'node:zlib';
import { usageError, type SkoopError } from '../errors.js';
import { ChunkedJsonError, ChunkedJsonParser, type JsonPathStep } from './chunked-json.js';
import { childPath, checkObject, OBJECT_FIELDS, pruneFields, pruneObject } from '../k8s/object-shapes.js';
import { OBJECT_LISTS, type ClusterObjects, type ObjectListName } from '../k8s/objects.js';
import { DUMP_FIELDS, type Dump, type DumpField } from '../netstack/dump.js';
import { isIp, parsePrefix } from '../netstack/ip.js';

/** The `apiVersion` of the snapshot format this program reads and writes. */
export const SNAPSHOT_API_VERSION = 'skoop/v1';

/** Optional hints of a snapshot; each is auto-detected when absent. */
export interface SnapshotHints {
  readonly networkPlugin?: string;
  readonly proxyMode?: 'iptables' | 'ipvs' | 'nftables';
  /** One CIDR, or a comma-separated pair for dual stack. */
  readonly clusterCIDR?: string;
  readonly serviceCIDR?: string;
}

/** The captured network state of one node: its host namespace and one Dump per pod namespace. */
export interface NodeNetstack {
  readonly host?: Dump;
  /** By `namespace/podName`; hostNetwork pods have no entry (they share `host`). */
  readonly pods: Readonly<Record<string, Dump>>;
}

/** A snapshot file (CONTRACTS.md §2): API objects as the API serves them and raw command output per node. */
export interface Snapshot {
  readonly apiVersion: typeof SNAPSHOT_API_VERSION;
  readonly kind: 'Snapshot';
  readonly capturedAt?: string;
  readonly hints?: SnapshotHints;
  readonly objects: ClusterObjects;
  /** By node name. */
  readonly netstack: Readonly<Record<string, NodeNetstack>>;
}

/** Object lists a snapshot may leave out (they then count as empty). */
const OPTIONAL_LISTS: ReadonlySet<ObjectListName> = new Set<ObjectListName>([
  'adminNetworkPolicies',
  'baselineAdminNetworkPolicies',
  'clusterNetworkPolicies',
  'ipPools',
]);

/** The command behind each Dump field, for messages. */
const DUMP_COMMANDS: Readonly<Record<DumpField, string>> = {
  addresses: 'ip -j -d address show',
  routes: 'ip -j -d route show table all',
  routes6: 'ip -6 -j -d route show table all',
  rules: 'ip -j rule show',
  rules6: 'ip -6 -j rule show',
  neighbors: 'ip -j neigh show',
  fdb: 'bridge -j fdb show',
  sysctls: 'sysctl -a',
  iptables: 'iptables-save',
  iptablesLegacy: 'iptables-legacy-save',
  ip6tables: 'ip6tables-save',
  ipsets: 'ipset save',
  ipvs: 'ipvsadm -S -n',
  nftables: 'nft -j list ruleset',
  listeners: 'ss -H -l -n -t -u',
};

const JSON_FIELDS: ReadonlySet<DumpField> = new Set<DumpField>(['addresses', 'routes', 'routes6', 'rules', 'rules6', 'neighbors', 'fdb', 'nftables']);

const PROXY_MODES = ['iptables', 'ipvs', 'nftables'] as const;

const HINT = 'fix the file (format: README, "Snapshot file"), or capture the nodes again with collector/skoop-collect.sh';

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function invalid(origin: string, message: string, hint = HINT): SkoopError {
  return usageError('SNAPSHOT_INVALID', `${origin}: ${message}`, hint);
}

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

/**
 * Reads a snapshot file, gzip-compressed or not (decided by the gzip magic bytes, not the name),
 * and validates it with {@link parseSnapshot}.
 * @remarks The document is parsed as it is decompressed ({@link ChunkedJsonParser}: each API
 * object and each node's netstack is parsed on its own, and each object pruned and checked at once
 * by {@link pruneObject}), so that the whole text is never held, nor a gzip file's decompressed
 * bytes: a 160 MB snapshot then costs little more than what skoop keeps of it. Only when that fails
 * is the file decoded again whole, to say where the JSON is broken.
 */
export async function readSnapshotFile(path: string): Promise<Snapshot> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw usageError('SNAPSHOT_NOT_FOUND', `snapshot file not found: ${path}`, 'check the path given to --snapshot (README, "Snapshot file", says how to make one)', err);
    }
    if (code === 'EISDIR') throw usageError('SNAPSHOT_UNREADABLE', `${path} is a directory, not a snapshot file`, 'give the path of a .json or .json.gz file', err);
    throw usageError('SNAPSHOT_UNREADABLE', `cannot read snapshot ${path}: ${(err as Error).message}`, 'check the file permissions', err);
  }
  const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  const streamed = await streamJson(bytes, gzipped, path);
  if (streamed !== NOT_JSON) return snapshotOf(streamed.json, path, streamed.valid ? 'pruned and checked' : 'pruned');
  return parseSnapshotText(decodeWhole(bytes, gzipped, path), path);
}

/** Marks a document {@link streamJson} could not parse. */
const NOT_JSON: unique symbol = Symbol('not JSON');

/** Inflate output chunks: large enough that the per-chunk overhead vanishes. */
const INFLATE_CHUNK = 1 << 20;

/** Containers of a snapshot assembled member by member: the document, `objects`, its lists, and `netstack`. */
function snapshotContainers(path: readonly JsonPathStep[], open: 'object' | 'array'): boolean {
  if (path.length === 0) return open === 'object';
  if (path[0] === 'objects') return path.length === 1 ? open === 'object' : path.length === 2 && open === 'array';
  return path.length === 1 && path[0] === 'netstack' && open === 'object';
}

const LIST_NAMES: ReadonlySet<string> = new Set(OBJECT_LISTS);

/**
 * The snapshot document, parsed while it is decompressed, its API objects pruned and checked as they
 * come ({@link pruneObject}); {@link NOT_JSON} when it is not JSON. `valid` is false when an object
 * failed its check (parseSnapshot then says which).
 */
async function streamJson(bytes: Buffer, gzipped: boolean, path: string): Promise<{ json: unknown; valid: boolean } | typeof NOT_JSON> {
  let valid = true;
  const pruneListItem = (at: readonly JsonPathStep[], value: unknown): unknown => {
    const list = at[1];
    if (at.length !== 3 || at[0] !== 'objects' || typeof list !== 'string' || !LIST_NAMES.has(list)) return value;
    const r = pruneObject(list as ObjectListName, value);
    if (!r.valid) valid = false;
    return r.value;
  };
  const parser = new ChunkedJsonParser(snapshotContainers, pruneListItem);
  try {
    if (!gzipped) parser.push(bytes);
    else {
      const inflate = createGunzip({ chunkSize: INFLATE_CHUNK });
      inflate.end(bytes);
      try {
        for await (const chunk of inflate as AsyncIterable<Buffer>) parser.push(chunk);
      } catch (err) {
        if (err instanceof ChunkedJsonError) throw err;
        throw invalid(path, `not a valid gzip file (${(err as Error).message})`, GZIP_HINT);
      }
    }
    return { json: parser.end(), valid };
  } catch (err) {
    if (err instanceof ChunkedJsonError) return NOT_JSON;
    throw err;
  }
}

const GZIP_HINT = 'the file starts like gzip but does not decompress: re-create or re-download it';

/** The whole text of the file, decompressed. */
function decodeWhole(bytes: Buffer, gzipped: boolean, path: string): string {
  let data = bytes;
  if (gzipped) {
    try {
      data = gunzipSync(bytes);
    } catch (err) {
      throw invalid(path, `not a valid gzip file (${(err as Error).message})`, GZIP_HINT);
    }
  }
  try {
    return data.toString('utf8');
  } catch (err) {
    throw usageError('SNAPSHOT_INVALID', `${path}: too large to read (${data.length} bytes)`, 'capture only the nodes the path involves', err);
  }
}

/** Parses the text of a snapshot file; invalid JSON is a usage error naming the line and column. */
export function parseSnapshotText(text: string, origin: string): Snapshot {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    const found = locateJsonError(body);
    const where = lineColumn(body, found.offset);
    throw usageError(
      'SNAPSHOT_INVALID',
      `${origin}: invalid JSON at line ${where.line}, column ${where.column}: ${found.what}`,
      'the snapshot must be one JSON document; check the file was not truncated or edited by hand into invalid JSON',
      err,
    );
  }
  return parseSnapshot(json, origin);
}

/**
 * Validates a parsed snapshot document at the boundary: apiVersion and kind, the object lists (each
 * an array of API objects with `metadata.name`, and the fields skoop reads of the right JSON type),
 * the `netstack` map (pod keys `namespace/name`, each Dump field of the type its command prints).
 * Unknown extra fields are allowed; optional lists default to `[]`; `null` counts as absent.
 * @remarks API objects keep only the fields skoop reads ({@link OBJECT_FIELDS}, the types of
 * objects.ts): a large cluster's pods are mostly fields it never looks at.
 */
export function parseSnapshot(json: unknown, origin: string): Snapshot {
  return snapshotOf(json, origin, 'as read');
}

/** How far the object lists of a document have been dealt with already. */
type ListsState = 'as read' | 'pruned' | 'pruned and checked';

/** {@link parseSnapshot} of a document whose object lists are in state `lists`. */
function snapshotOf(json: unknown, origin: string, lists: ListsState): Snapshot {
  if (!isRecord(json)) throw invalid(origin, `expected a JSON object at the top level, got ${describe(json)}`);
  if (json['apiVersion'] !== SNAPSHOT_API_VERSION) {
    throw invalid(origin, `apiVersion: expected "${SNAPSHOT_API_VERSION}", got ${JSON.stringify(json['apiVersion']) ?? 'nothing'}`);
  }
  if (json['kind'] !== 'Snapshot') throw invalid(origin, `kind: expected "Snapshot", got ${JSON.stringify(json['kind']) ?? 'nothing'}`);
  const capturedAt = json['capturedAt'];
  if (capturedAt !== undefined && capturedAt !== null && typeof capturedAt !== 'string') {
    throw invalid(origin, `capturedAt: expected a string (RFC 3339 time), got ${describe(capturedAt)}`);
  }
  const hints = parseHints(json['hints'], origin);
  const objects = parseObjects(json['objects'], origin, lists);
  const netstack = parseNetstack(json['netstack'], origin);
  return {
    apiVersion: SNAPSHOT_API_VERSION,
    kind: 'Snapshot',
    ...(typeof capturedAt === 'string' ? { capturedAt } : {}),
    ...(hints !== undefined ? { hints } : {}),
    objects,
    netstack,
  };
}

function validCidrList(text: string): boolean {
  const parts = text.split(',').map((p) => p.trim());
  return (
    parts.length > 0 &&
    parts.every((p) => {
      const slash = p.indexOf('/');
      if (slash < 0 || !isIp(p.slice(0, slash))) return false;
      try {
        parsePrefix(p);
        return true;
      } catch {
        return false;
      }
    })
  );
}

function parseHints(value: unknown, origin: string): SnapshotHints | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw invalid(origin, `hints: expected an object, got ${describe(value)}`);
  const out: { -readonly [K in keyof SnapshotHints]: SnapshotHints[K] } = {};
  const str = (key: string): string | undefined => {
    const v = value[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw invalid(origin, `hints.${key}: expected a string, got ${describe(v)}`);
    return v;
  };
  const plugin = str('networkPlugin');
  if (plugin !== undefined) out.networkPlugin = plugin;
  const mode = str('proxyMode');
  if (mode !== undefined) {
    if (!(PROXY_MODES as readonly string[]).includes(mode)) throw invalid(origin, `hints.proxyMode: expected one of ${PROXY_MODES.join(', ')}, got "${mode}"`);
    out.proxyMode = mode as (typeof PROXY_MODES)[number];
  }
  for (const key of ['clusterCIDR', 'serviceCIDR'] as const) {
    const cidr = str(key);
    if (cidr === undefined) continue;
    if (!validCidrList(cidr)) throw invalid(origin, `hints.${key}: "${cidr}" is not a CIDR (or a comma-separated pair of CIDRs)`);
    out[key] = cidr;
  }
  return out;
}

function parseObjects(value: unknown, origin: string, state: ListsState): ClusterObjects {
  if (value === undefined || value === null) {
    throw invalid(origin, 'missing objects (the lists of API objects: nodes, pods, services, …)');
  }
  if (!isRecord(value)) throw invalid(origin, `objects: expected an object of lists, got ${describe(value)}`);
  const lists = {} as Record<ObjectListName, readonly unknown[]>;
  for (const name of OBJECT_LISTS) {
    const list = value[name];
    if (list === undefined && !OPTIONAL_LISTS.has(name)) {
      throw invalid(origin, `objects.${name}: missing (write [] when the cluster has none)`);
    }
    if (list === undefined || list === null) {
      lists[name] = [];
      continue;
    }
    if (!Array.isArray(list)) throw invalid(origin, `objects.${name}: expected an array (like .items of kubectl get -o json), got ${describe(list)}`);
    if (state !== 'pruned and checked') {
      for (let i = 0; i < list.length; i++) {
        const error = checkObject(name, list[i], `objects.${name}[${i}]`);
        if (error !== undefined) throw invalid(origin, error);
      }
    }
    const keep = OBJECT_FIELDS[name];
    lists[name] = state === 'as read' ? list.map((item: unknown) => pruneFields(item, keep)) : list;
  }
  return lists as unknown as ClusterObjects;
}

const POD_KEY = /^[^/\s]+\/[^/\s]+$/;

function parseNetstack(value: unknown, origin: string): Record<string, NodeNetstack> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw invalid(origin, `netstack: expected an object keyed by node name, got ${describe(value)}`);
  const nodes: [string, NodeNetstack][] = [];
  for (const [node, entry] of Object.entries(value)) {
    const path = childPath('netstack', node);
    if (!isRecord(entry)) throw invalid(origin, `${path}: expected an object with host and pods, got ${describe(entry)}`);
    const hostValue = entry['host'];
    const host = hostValue === undefined || hostValue === null ? undefined : parseDump(hostValue, `${path}.host`, origin);
    const podsValue = entry['pods'];
    const pods: [string, Dump][] = [];
    if (podsValue !== undefined && podsValue !== null) {
      if (!isRecord(podsValue)) throw invalid(origin, `${path}.pods: expected an object keyed by "namespace/pod", got ${describe(podsValue)}`);
      for (const [key, dump] of Object.entries(podsValue)) {
        const podPath = `${path}.pods[${JSON.stringify(key)}]`;
        if (!POD_KEY.test(key)) throw invalid(origin, `${podPath}: expected a key of the form namespace/name`);
        pods.push([key, parseDump(dump, podPath, origin)]);
      }
    }
    nodes.push([node, { ...(host !== undefined ? { host } : {}), pods: Object.fromEntries(pods) }]);
  }
  return Object.fromEntries(nodes);
}

function parseDump(value: unknown, path: string, origin: string): Dump {
  if (!isRecord(value)) throw invalid(origin, `${path}: expected a Dump object (one field per command), got ${describe(value)}`);
  const out: [string, unknown][] = [];
  for (const field of DUMP_FIELDS) {
    const v = value[field];
    if (v === undefined || v === null) continue;
    const fieldPath = `${path}.${field}`;
    const command = DUMP_COMMANDS[field];
    if (JSON_FIELDS.has(field)) {
      if (typeof v === 'string' && v.trim() === '') {
        out.push([field, []]);
        continue;
      }
      const ok = field === 'nftables' ? isRecord(v) || Array.isArray(v) : Array.isArray(v);
      if (!ok) {
        const want = field === 'nftables' ? 'a JSON object' : 'a JSON array';
        throw invalid(origin, `${fieldPath}: expected ${want} (the output of ${command}), got ${describe(v)}`);
      }
      out.push([field, v]);
    } else {
      if (typeof v !== 'string') throw invalid(origin, `${fieldPath}: expected a string (the output of ${command}), got ${describe(v)}`);
      out.push([field, v]);
    }
  }
  const errors = value['errors'];
  if (errors !== undefined && errors !== null) {
    if (!isRecord(errors)) throw invalid(origin, `${path}.errors: expected an object of strings (why a field was not collected), got ${describe(errors)}`);
    for (const [k, v] of Object.entries(errors)) {
      if (typeof v !== 'string') throw invalid(origin, `${childPath(`${path}.errors`, k)}: expected a string, got ${describe(v)}`);
    }
    out.push(['errors', errors]);
  }
  return Object.fromEntries(out) as Dump;
}

/**
 * Writes `snapshot` to `path` (gzip-compressed when the name ends in `.gz`), through a temporary
 * file renamed into place so that a reader never sees half a snapshot.
 */
export async function writeSnapshotFile(path: string, snapshot: Snapshot): Promise<void> {
  const gz = path.endsWith('.gz');
  const text = gz ? JSON.stringify(snapshot) : `${JSON.stringify(snapshot, null, 2)}\n`;
  const data = gz ? await promisify(gzip)(Buffer.from(text, 'utf8')) : Buffer.from(text, 'utf8');
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw usageError('SNAPSHOT_WRITE_FAILED', `cannot write snapshot ${path}: ${(err as Error).message}`, 'check that the directory exists and is writable', err);
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class JsonSyntax {
  constructor(
    readonly offset: number,
    readonly what: string,
  ) {}
}

/**
 * Where and why `text` is not JSON (RFC 8259): V8's JSON.parse does not always report a position.
 * Only called after JSON.parse failed.
 */
function locateJsonError(text: string): { offset: number; what: string } {
  let i = 0;
  const n = text.length;
  const show = (): string => (i >= n ? 'the end of the file' : JSON.stringify(text[i]));
  const fail = (want: string): never => {
    throw new JsonSyntax(i, `expected ${want}, found ${show()}`);
  };
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const digits = (): number => {
    const start = i;
    while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    return i - start;
  };
  const string = (): void => {
    i++;
    for (;;) {
      if (i >= n) throw new JsonSyntax(i, 'unterminated string');
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c < 32) throw new JsonSyntax(i, 'control character inside a string (escape it)');
      if (c === 92) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new JsonSyntax(i, 'bad \\u escape');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          throw new JsonSyntax(i, 'bad escape sequence');
        }
        continue;
      }
      i++;
    }
  };
  const value = (): void => {
    ws();
    if (i >= n) fail('a value');
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('a property name in double quotes');
        string();
        ws();
        if (text[i] !== ':') fail("':' after a property name");
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail("',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail("',' or ']'");
      }
    }
    if (c === '"') return string();
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      if (c === '-') i++;
      if (text[i] === '0') i++;
      else if (digits() === 0) fail('a digit');
      if (text[i] === '.') {
        i++;
        if (digits() === 0) fail('a digit after the decimal point');
      }
      if (text[i] === 'e' || text[i] === 'E') {
        i++;
        if (text[i] === '+' || text[i] === '-') i++;
        if (digits() === 0) fail('a digit in the exponent');
      }
      return;
    }
    fail('a value');
  };
  try {
    value();
    ws();
    if (i < n) fail('the end of the document after the JSON value');
    return { offset: n, what: 'not valid JSON' };
  } catch (err) {
    if (err instanceof JsonSyntax) return { offset: err.offset, what: err.what };
    return { offset: 0, what: err instanceof Error ? err.message : String(err) };
  }
}
