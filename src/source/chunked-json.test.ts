import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { ChunkedJsonError, ChunkedJsonParser, type DescendInto, type JsonPathStep } from './chunked-json.js';

/** Assembles the document, its `objects`, the lists in it and `netstack`, as the snapshot reader does. */
const snapshotLike: DescendInto = (path, open) =>
  path.length === 0 ||
  (path[0] === 'objects' &&
    (path.length === 1 ? open === 'object' : path.length === 2 && open === 'array')) ||
  (path.length === 1 && path[0] === 'netstack');

const everything: DescendInto = () => true;
const nothing: DescendInto = () => false;

/** Parses `bytes` fed in pieces of `size` bytes. */
function parseIn(bytes: Buffer, size: number, descend: DescendInto): unknown {
  const p = new ChunkedJsonParser(descend);
  for (let i = 0; i < bytes.length; i += size) p.push(bytes.subarray(i, i + size));
  return p.end();
}

const DOCS = [
  {
    name: 'a snapshot-shaped document',
    text: JSON.stringify({
      apiVersion: 'skoop/v1',
      kind: 'Snapshot',
      objects: {
        pods: [
          { metadata: { name: 'a', labels: { 'app.kubernetes.io/name': 'x' } } },
          { metadata: { name: 'b' } },
        ],
        nodes: [],
        configMaps: [{ data: { 'net-conf.json': '{\n  "Network": "10.244.0.0/16"\n}' } }],
      },
      netstack: { n1: { host: { iptables: '*nat\n-A X -m comment --comment "a \\"b\\"" -j Y\nCOMMIT\n' } } },
    }),
  },
  {
    name: 'pretty-printed with CRLF and tabs',
    text: '{\r\n\t"objects" : {\r\n\t\t"pods" : [ 1 , 2.5e3 , -0 , true , null ]\r\n\t} ,\r\n\t"x" : "y"\r\n}\r\n',
  },
  {
    name: 'escapes and multi-byte characters',
    text: '{"objects":{"pods":["\\u00e9\\\\","é€𝄞","\\"]}[{","\\/"]},"k\\"ey":"v"}',
  },
  { name: 'a byte order mark', text: '\ufeff{"a":[1,{"b":[]}],"objects":{}}' },
  { name: 'empty containers', text: '{"objects":{"pods":[],"nodes":[{}]},"netstack":{}}' },
  {
    name: 'a duplicate key keeps the last value',
    text: '{"a":1,"objects":{"pods":[1]},"a":2,"objects":{"pods":[3]}}',
  },
  { name: 'a scalar document', text: ' 42 ' },
  { name: 'a string document', text: '"x"' },
  { name: 'an array document', text: '[1,[2,[3]],{"a":"]"}]' },
];

/** A list member like kubectl's: the same leading fields, and nested objects that start alike too. */
const member = (i: number): unknown => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `p-${i}`, labels: { n: String(i) } },
  spec:
    i % 7 === 3
      ? {
          nested: [
            { apiVersion: 'v1', kind: 'Pod', x: 1 },
            { apiVersion: 'v1', kind: 'Pod', x: '},{"' },
          ],
        }
      : {},
  note: i % 5 === 0 ? 'a "quoted" },{"apiVersion" text' : 'é',
});

const LISTS = [
  {
    name: 'alike members',
    text: JSON.stringify({
      objects: { pods: Array.from({ length: 60 }, (_, i) => member(i)), nodes: [member(1), member(2)] },
    }),
  },
  {
    name: 'members that the pattern would cut inside (nested lists of alike objects)',
    text: JSON.stringify({ objects: { pods: Array.from({ length: 12 }, (_, i) => member(i * 7 + 3)) } }),
  },
  {
    name: 'a second list starting like the first',
    text: JSON.stringify({
      objects: { pods: [member(1), member(2), member(3)], nodes: [member(4), member(5)] },
      netstack: {},
    }),
  },
  {
    name: 'members of other types',
    text: '{"objects":{"pods":[{"a":1},{"a":1},[1],"x",{"a":1},{"a":1},null,{"a":1}]}}',
  },
  {
    name: 'pretty-printed members',
    text: JSON.stringify({ objects: { pods: Array.from({ length: 10 }, (_, i) => member(i)) } }, null, 2),
  },
];

describe('ChunkedJsonParser', () => {
  it.each(LISTS)('$name: equals JSON.parse, however the list is cut into chunks', ({ text }) => {
    const bytes = Buffer.from(text, 'utf8');
    const want: unknown = JSON.parse(text);
    const sizes = [...Array.from({ length: 200 }, (_, k) => k + 1), 257, 1000, 1999, 4096, bytes.length];
    for (const size of sizes) expect(parseIn(bytes, size, snapshotLike)).toEqual(want);
  });

  it.each([
    {
      name: 'a broken member after the pattern was learned',
      text: '{"objects":{"pods":[{"a":1,"b":[]},{"a":1,"b":[]},{"a":1,"b":[}]}}',
    },
    {
      name: 'garbage between members',
      text: '{"objects":{"pods":[{"a":1,"b":1},{"a":1,"b":2},{"a":1,"b":3} x,{"a":1,"b":4}]}}',
    },
    {
      name: 'a member cut short by the next',
      text: '{"objects":{"pods":[{"a":1,"b":1},{"a":1,"b":2},{"a":1,"b":{},{"a":1,"b":4}]}}',
    },
  ])('$name: throws ChunkedJsonError', ({ text }) => {
    for (const size of [1, 5, 17, text.length])
      expect(() => parseIn(Buffer.from(text), size, snapshotLike)).toThrow(ChunkedJsonError);
  });

  it.each(DOCS)('$name: equals JSON.parse at every chunk size and split', ({ text }) => {
    const bytes = Buffer.from(text, 'utf8');
    const want: unknown = JSON.parse(bytes.toString('utf8').replace(/^\ufeff/, ''));
    for (const descend of [snapshotLike, everything, nothing]) {
      for (let size = 1; size <= bytes.length; size++) expect(parseIn(bytes, size, descend)).toEqual(want);
    }
  });

  it.each([
    { name: 'trailing comma in an assembled object', text: '{"a":1,}' },
    { name: 'trailing comma in an assembled list', text: '{"objects":{"pods":[1,]}}' },
    { name: 'trailing comma inside a value', text: '{"a":[1,]}' },
    { name: 'missing colon', text: '{"a" 1}' },
    { name: 'missing comma', text: '{"a":1 "b":2}' },
    { name: 'unquoted key', text: '{a:1}' },
    { name: 'mismatched brackets inside a value', text: '{"a":{"b":[1}]}' },
    { name: 'raw newline in a string', text: '{"a":"x\ny"}' },
    { name: 'bad literal', text: '{"a":tru}' },
    { name: 'truncated in a string', text: '{"a":"x' },
    { name: 'truncated in a value', text: '{"a":{"b":1' },
    { name: 'truncated between members', text: '{"a":1,' },
    { name: 'empty input', text: '' },
    { name: 'text after the document', text: '{} {}' },
    { name: 'a __proto__ key where the parser assembles', text: '{"__proto__":{"x":1}}' },
  ])('$name: throws ChunkedJsonError', ({ text }) => {
    expect(() => parseIn(Buffer.from(text), 3, everything)).toThrow(ChunkedJsonError);
  });

  it('keeps a __proto__ key inside a value as JSON.parse does', () => {
    const got = parseIn(Buffer.from('{"a":{"__proto__":{"x":1}}}'), 2, snapshotLike) as { a: object };
    expect(Object.keys(got.a)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(got.a)).toBe(Object.prototype);
  });

  it('hands each member of an assembled container to the transform, with its path, as soon as it is read', () => {
    const seen: string[] = [];
    const p = new ChunkedJsonParser(snapshotLike, (path: readonly JsonPathStep[], value: unknown) => {
      seen.push(`${path.join('.')}=${JSON.stringify(value)}`);
      return path[0] === 'objects' ? { kept: value } : value;
    });
    p.push(Buffer.from('{"kind":"Snapshot","objects":{"pods":[{"a":1},'));
    expect(seen).toEqual(['kind="Snapshot"', 'objects.pods.0={"a":1}']);
    p.push(Buffer.from('2]},"netstack":{"n1":{"host":{}}}}'));
    expect(p.end()).toEqual({
      kind: 'Snapshot',
      objects: { pods: [{ kept: { a: 1 } }, { kept: 2 }] },
      netstack: { n1: { host: {} } },
    });
    expect(seen).toEqual([
      'kind="Snapshot"',
      'objects.pods.0={"a":1}',
      'objects.pods.1=2',
      'netstack.n1={"host":{}}',
    ]);
  });
});
