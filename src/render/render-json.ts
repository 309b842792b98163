import type { Result } from '../model/result.js';

/** Contract key order of each object of the JSON result (CONTRACTS.md §3); other keys follow in their own order. */
const KEY_ORDER = {
  result: ['verdict', 'source', 'destination', 'suspicions', 'path', 'branches', 'request'],
  endpoint: ['ip', 'type', 'id', 'port', 'protocol'],
  suspicion: ['level', 'code', 'on', 'message', 'evidence'],
  path: ['nodes', 'links'],
  node: ['id', 'type'],
  link: ['from', 'to', 'type', 'outIf', 'inIf', 'packet', 'action'],
  packet: ['src', 'dst', 'sport', 'dport', 'protocol'],
  branch: ['probability', 'outcome', 'links', 'backend', 'endedAt', 'codes'],
  request: ['from', 'capturedAt', 'networkPlugin', 'proxyMode'],
} as const;

/**
 * The JSON result of CONTRACTS.md §3, two-space indented with a final newline, its keys in the
 * contract's order whatever order the Result was built in (evidence is kept as raised).
 */
export function renderJson(result: Result): string {
  const doc = ordered(result, KEY_ORDER.result, {
    source: (e) => ordered(e, KEY_ORDER.endpoint),
    destination: (e) => ordered(e, KEY_ORDER.endpoint),
    suspicions: (list) => mapList(list, (s) => ordered(s, KEY_ORDER.suspicion)),
    path: (p) =>
      ordered(p, KEY_ORDER.path, {
        nodes: (list) => mapList(list, (n) => ordered(n, KEY_ORDER.node)),
        links: (list) =>
          mapList(list, (l) => ordered(l, KEY_ORDER.link, { packet: (pk) => ordered(pk, KEY_ORDER.packet) })),
      }),
    branches: (list) => mapList(list, (b) => ordered(b, KEY_ORDER.branch)),
    request: (r) => ordered(r, KEY_ORDER.request),
  });
  return `${JSON.stringify(doc, null, 2)}\n`;
}

type Transform = (value: unknown) => unknown;

function ordered(
  value: unknown,
  keys: readonly string[],
  nested: Readonly<Record<string, Transform>> = {},
): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const source = value as Readonly<Record<string, unknown>>;
  const out: Record<string, unknown> = {};
  const names = [...keys.filter((k) => k in source), ...Object.keys(source).filter((k) => !keys.includes(k))];
  for (const name of names) {
    const v = source[name];
    if (v === undefined) continue;
    const transform = nested[name];
    out[name] = transform === undefined ? v : transform(v);
  }
  return out;
}

function mapList(value: unknown, f: Transform): unknown {
  return Array.isArray(value) ? value.map(f) : value;
}
