import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NetstackParseError } from './parse-error.js';
import {
  formatDsfield,
  formatRoute,
  normalizeTable,
  parseDsfield,
  parseRoutes,
  type Route,
} from './routes.js';

// `ip -j -d route show table all`, `ip -6 -j -d route show table all` and the plain `ip route show
// table all` text, captured on this machine from the fx1-node / fx1-policy namespaces built by
// test/fixtures/ip/capture.py (iproute2 6.1, Linux 6.18).
const read = (name: string): string =>
  readFileSync(new URL(`../../test/fixtures/ip/${name}`, import.meta.url), 'utf8');
const json = (name: string): unknown => JSON.parse(read(name));

const node4 = parseRoutes(json('node-routes.json'), 4);
const node6 = parseRoutes(json('node-routes6.json'), 6);

/** `ip route` text with multipath continuation lines folded in and whitespace collapsed. */
function textRoutes(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('\t') && out.length > 0) out[out.length - 1] += ` ${line.trim()}`;
    else out.push(line.trim());
  }
  return out.map((l) => l.replace(/\s+/g, ' ').trim()).sort();
}

const find = (
  routes: readonly Route[],
  table: string,
  dst: string,
  extra: (r: Route) => boolean = () => true,
): Route => {
  const r = routes.find((x) => x.table === table && `${x.dst.address}/${x.dst.length}` === dst && extra(x));
  if (r === undefined) throw new Error(`no route ${dst} in ${table}`);
  return r;
};

describe('parseRoutes on the fx1-node capture', () => {
  it('keeps only IPv4 routes from `routes` although `ip route show table all` dumps both families', () => {
    const raw = json('node-routes.json') as { dst: string }[];
    expect(raw.some((r) => r.dst.includes(':'))).toBe(true);
    expect(node4.every((r) => r.family === 4 && r.dst.family === 4)).toBe(true);
    expect(node4).toHaveLength(
      raw.filter((r) => !r.dst.includes(':') && !(r as { pref?: string }).pref).length,
    );
    expect(parseRoutes(json('node-routes.json'), 6)).toHaveLength(node6.length);
  });

  it('formats every route exactly as `ip route show table all` printed it', () => {
    const both = [...node4, ...parseRoutes(json('node-routes.json'), 6)].map(formatRoute).sort();
    expect(both).toEqual(textRoutes(read('node-routes.txt')));
  });

  it('formats every IPv6 route as `ip -6 route show table all` printed it', () => {
    expect(node6.map(formatRoute).sort()).toEqual(textRoutes(read('node-routes6.txt')));
  });

  it.each([
    {
      name: 'default route with proto static and metric',
      route: find(node4, 'main', '0.0.0.0/0'),
      want: {
        type: 'unicast',
        gateway: '192.168.1.1',
        dev: 'eth0',
        metric: 100,
        protocol: 'static',
        scope: 'global',
      },
    },
    {
      name: 'connected route with prefsrc and kernel proto',
      route: find(node4, 'main', '10.244.0.0/24'),
      want: {
        type: 'unicast',
        dev: 'cni0',
        prefsrc: '10.244.0.1',
        protocol: 'kernel',
        scope: 'link',
        metric: 0,
      },
    },
    {
      name: 'onlink flannel route',
      route: find(node4, 'main', '10.244.1.0/24'),
      want: { gateway: '10.244.1.0', dev: 'flannel.1', flags: ['onlink'] },
    },
    {
      name: 'host route written without /32',
      route: find(node4, 'main', '10.94.0.5/32'),
      want: { dev: 'eth0', scope: 'link' },
    },
    { name: 'blackhole route', route: find(node4, 'main', '10.66.0.0/16'), want: { type: 'blackhole' } },
    { name: 'unreachable route', route: find(node4, 'main', '10.67.0.0/16'), want: { type: 'unreachable' } },
    { name: 'prohibit route', route: find(node4, 'main', '10.68.0.0/16'), want: { type: 'prohibit' } },
    { name: 'throw route in table 100', route: find(node4, '100', '10.70.0.0/16'), want: { type: 'throw' } },
    {
      name: 'route with a TOS selector',
      route: find(node4, 'main', '10.92.0.0/16', (r) => r.tos !== 0),
      want: { tos: 0x10, gateway: '192.168.1.3' },
    },
    {
      name: 'route on a device without carrier',
      route: find(node4, 'main', '10.57.0.0/16'),
      want: { dev: 'vnocarrier', flags: ['linkdown'] },
    },
    {
      name: 'AnyIP local route added to table local',
      route: find(node4, 'local', '10.200.0.0/24'),
      want: { type: 'local', dev: 'lo', scope: 'host', protocol: 'boot' },
    },
    {
      name: 'local route of a secondary address',
      route: find(node4, 'local', '192.168.1.11/32'),
      want: { type: 'local', prefsrc: '192.168.1.10', scope: 'host' },
    },
    {
      name: 'broadcast route',
      route: find(node4, 'local', '10.244.0.255/32'),
      want: { type: 'broadcast', dev: 'cni0', scope: 'link' },
    },
  ])('IPv4: $name', ({ route, want }) => {
    expect(route).toMatchObject(want);
  });

  it('reads multipath next hops with their weights', () => {
    expect(find(node4, 'main', '10.50.0.0/16')).toMatchObject({
      protocol: 'static',
      nexthops: [
        { gateway: '192.168.1.1', dev: 'eth0', weight: 1, flags: [] },
        { gateway: '192.168.1.2', dev: 'eth0', weight: 3, flags: [] },
      ],
    });
  });

  it.each([
    {
      name: 'IPv6 default route metric 1024 and pref',
      route: find(node6, 'main', '::/0'),
      want: { gateway: 'fd00:1::1', dev: 'eth0', metric: 1024, pref: 'medium' },
    },
    {
      name: 'IPv6 link-local gateway',
      route: find(node6, 'main', 'fd00:244:2::/64'),
      want: { gateway: 'fe80::1', dev: 'eth0' },
    },
    {
      name: 'IPv6 blackhole hangs off lo',
      route: find(node6, 'main', 'fd00:66::/48'),
      want: { type: 'blackhole', dev: 'lo', metric: 1024 },
    },
    {
      name: 'IPv6 anycast in the local table',
      route: find(node6, 'local', 'fd00:1::/128'),
      want: { type: 'anycast', dev: 'eth0', metric: 0 },
    },
    {
      name: 'IPv6 multicast in the local table',
      route: find(node6, 'local', 'ff00::/8', (r) => r.dev === 'eth0'),
      want: { type: 'multicast', metric: 256 },
    },
    {
      name: 'IPv6 route with prefsrc',
      route: find(node6, 'main', 'fd00:90::/48'),
      want: { prefsrc: 'fd00:244::1' },
    },
  ])('IPv6: $name', ({ route, want }) => {
    expect(route).toMatchObject(want);
  });

  it('reads IPv6 multipath routes', () => {
    expect(find(node6, 'main', 'fd00:50::/48').nexthops?.map((n) => [n.gateway, n.weight])).toEqual([
      ['fd00:1::1', 1],
      ['fd00:1::2', 2],
    ]);
  });
});

describe('parseRoutes defaults without -d', () => {
  it.each([
    {
      name: 'plain `ip -j route` output (no type/table/proto/scope)',
      raw: [{ dst: '10.1.0.0/16', gateway: '10.0.0.1', dev: 'eth0', flags: [] }],
      want: { type: 'unicast', table: 'main', protocol: 'boot', scope: 'global', metric: 0, tos: 0 },
    },
    {
      name: 'numeric reserved table ids',
      raw: [{ dst: '10.1.0.0/16', dev: 'eth0', table: '255', type: 'local', flags: [] }],
      want: { table: 'local', type: 'local' },
    },
    {
      name: 'a v4 route whose gateway is IPv6 (RFC 5549 via)',
      raw: [{ dst: '10.9.0.0/16', via: { family: 'inet6', host: 'fe80::1' }, dev: 'eth0', flags: [] }],
      want: { family: 4, gateway: 'fe80::1' },
    },
    {
      name: 'a TOS written as an rt_dsfield name',
      raw: [{ dst: '10.9.0.0/16', tos: 'AF11', dev: 'eth0', flags: [] }],
      want: { tos: 0x28 },
    },
  ])('$name', ({ raw, want }) => {
    expect(parseRoutes(raw, 4)[0]).toMatchObject(want);
  });

  it('decides the family of a `default` route from its gateway or pref', () => {
    const raw = [
      { dst: 'default', gateway: 'fd00::1', dev: 'eth0', flags: [] },
      { type: 'blackhole', dst: 'default', dev: 'lo', metric: 1024, pref: 'medium', flags: [] },
      { dst: 'default', gateway: '10.0.0.1', dev: 'eth0', flags: [] },
    ];
    expect(parseRoutes(raw, 4).map((r) => r.gateway)).toEqual(['10.0.0.1']);
    expect(parseRoutes(raw, 6).map((r) => [r.type, r.dst.address])).toEqual([
      ['unicast', '::'],
      ['blackhole', '::'],
    ]);
  });
});

describe('formatRoute', () => {
  it('prints the example of the brief the way ip does', () => {
    const [r] = parseRoutes(
      [{ dst: '10.244.1.0/24', gateway: '192.168.1.2', dev: 'eth0', table: '100', metric: 100, flags: [] }],
      4,
    );
    expect(r && formatRoute(r)).toBe('10.244.1.0/24 via 192.168.1.2 dev eth0 table 100 metric 100');
  });
});

describe('dsfield and table names', () => {
  it.each([
    { text: '0x10', value: 0x10, printed: '0x10' },
    { text: 'AF11', value: 0x28, printed: 'AF11' },
    { text: 'ef', value: 0xb8, printed: 'EF' },
    { text: '4', value: 4, printed: '0x04' },
  ])('$text is $value', ({ text, value, printed }) => {
    expect(parseDsfield(text)).toBe(value);
    expect(formatDsfield(value)).toBe(printed);
  });

  it('rejects a bad dsfield', () => {
    expect(parseDsfield('0x1ff')).toBeUndefined();
    expect(parseDsfield('fast')).toBeUndefined();
  });

  it.each([
    { table: undefined, want: 'main' },
    { table: '254', want: 'main' },
    { table: 253, want: 'default' },
    { table: '100', want: '100' },
    { table: 'kube-router', want: 'kube-router' },
  ])('table $table is $want', ({ table, want }) => {
    expect(normalizeTable(table)).toBe(want);
  });
});

describe('parseRoutes errors', () => {
  it.each([
    { name: 'not an array', raw: {}, message: /expected the JSON array/ },
    { name: 'missing dst', raw: [{ dev: 'eth0' }], message: /entry 0: missing "dst"/ },
    {
      name: 'unknown type',
      raw: [{ dst: '10.0.0.0/8', type: 'teleport' }],
      message: /unknown route type "teleport"/,
    },
    { name: 'bad prefix', raw: [{ dst: '10.0.0.0/40' }], message: /bad prefix "10.0.0.0\/40"/ },
    { name: 'bad gateway', raw: [{ dst: '10.0.0.0/8', gateway: 'router' }], message: /bad gateway "router"/ },
    { name: 'bad metric', raw: [{ dst: '10.0.0.0/8', metric: 'high' }], message: /bad "metric"/ },
    { name: 'bad tos', raw: [{ dst: '10.0.0.0/8', tos: 'urgent' }], message: /bad "tos"/ },
    { name: 'bad nexthops', raw: [{ dst: '10.0.0.0/8', nexthops: {} }], message: /"nexthops" is not a list/ },
  ])('rejects $name in the routes field', ({ raw, message }) => {
    expect(() => parseRoutes(raw, 4)).toThrow(NetstackParseError);
    expect(() => parseRoutes(raw, 4)).toThrow(message);
  });

  it('names routes6 for IPv6', () => {
    expect(() => parseRoutes([{ dst: 'fd00::/200' }], 6)).toThrow(/^routes6: entry 0/);
  });
});
