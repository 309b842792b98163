import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { indexFdb, lookupFdb, parseFdb, ZERO_MAC } from './fdb.js';
import { NetstackParseError } from './parse-error.js';

// `bridge -j fdb show` captured on this machine in fx1-node (test/fixtures/ip/capture.py): the cni0
// bridge with two veth ports, flannel.1 (flannel-style permanent remote), vxlan0 (multicast group
// plus two `bridge fdb append` all-zeros remotes, a per-entry vni/port, an extern_learn entry) and
// vx6 (IPv6 underlay).
const raw: unknown = JSON.parse(
  readFileSync(new URL('../../test/fixtures/ip/node-fdb.json', import.meta.url), 'utf8'),
);
const entries = parseFdb(raw);
const index = indexFdb(entries);

describe('parseFdb', () => {
  it.each([
    {
      name: 'flannel remote VTEP',
      mac: '66:77:88:99:aa:bb',
      dev: 'flannel.1',
      want: { dst: '192.168.1.20', state: 'permanent', flags: ['self'] },
    },
    {
      name: 'entry with its own vni and port',
      mac: '0a:0b:0c:0d:0e:0f',
      dev: 'vxlan0',
      want: { dst: '192.168.1.23', vni: 43, port: 4790, flags: ['self'] },
    },
    {
      name: 'extern_learn entry',
      mac: '02:00:00:00:01:04',
      dev: 'vxlan0',
      want: { dst: '192.168.1.24', flags: ['self', 'extern_learn'] },
    },
    {
      name: 'static entry on a bridge port',
      mac: '02:00:00:00:01:01',
      dev: 'veth-p1',
      want: { master: 'cni0', state: 'static', flags: [] },
    },
    {
      name: 'IPv6 VTEP',
      mac: '02:00:00:00:01:03',
      dev: 'vx6',
      want: { dst: 'fd00:1::21' },
    },
  ])('$name', ({ mac, dev, want }) => {
    expect(entries.find((e) => e.mac === mac && e.ifname === dev)).toMatchObject(want);
  });

  it('reads learned (dynamic) bridge entries, which ip prints with an empty state', () => {
    const learned = entries.filter((e) => e.master === 'cni0' && e.state === 'dynamic');
    expect(learned.map((e) => e.ifname).sort()).toEqual(['veth-p1', 'veth-p2']);
  });

  it('reads the default remote of a multicast vxlan with its underlay device', () => {
    expect(
      entries.filter((e) => e.ifname === 'vxlan0' && e.mac === ZERO_MAC).map((e) => [e.dst, e.via]),
    ).toEqual([
      ['239.1.1.1', 'eth0'],
      ['192.168.1.21', undefined],
      ['192.168.1.22', undefined],
    ]);
  });
});

describe('lookupFdb', () => {
  it.each([
    {
      name: 'known MAC on a vxlan device',
      dev: 'flannel.1',
      mac: '66:77:88:99:AA:BB',
      kind: 'hit',
      dsts: ['192.168.1.20'],
    },
    {
      name: 'unknown MAC falls back to the all-zeros entries (head-end replication)',
      dev: 'vxlan0',
      mac: '02:99:99:99:99:99',
      kind: 'default',
      dsts: ['239.1.1.1', '192.168.1.21', '192.168.1.22'],
    },
    {
      name: 'broadcast also uses the all-zeros entries',
      dev: 'vxlan0',
      mac: 'ff:ff:ff:ff:ff:ff',
      kind: 'default',
      dsts: ['239.1.1.1', '192.168.1.21', '192.168.1.22'],
    },
    {
      name: 'vxlan without default remote drops unknown MACs',
      dev: 'flannel.1',
      mac: '02:99:99:99:99:99',
      kind: 'miss',
      dsts: [],
    },
    {
      name: 'IPv6 underlay default remote',
      dev: 'vx6',
      mac: '02:99:99:99:99:99',
      kind: 'default',
      dsts: ['fd00:1::20'],
    },
  ])('$name', ({ dev, mac, kind, dsts }) => {
    const r = lookupFdb(index, dev, mac);
    expect(r.kind).toBe(kind);
    expect(r.entries.map((e) => e.dst)).toEqual(dsts);
  });

  it.each([
    { name: 'static entry on a port', mac: '02:00:00:00:01:02', kind: 'hit', port: 'veth-p2' },
    { name: 'unknown MAC floods (miss)', mac: '02:99:99:99:99:99', kind: 'miss', port: undefined },
  ])('bridge cni0: $name', ({ mac, kind, port }) => {
    const r = lookupFdb(index, 'cni0', mac);
    expect(r.kind).toBe(kind);
    expect(r.entries[0]?.ifname).toBe(port);
  });

  it('finds a learned pod MAC behind its bridge port', () => {
    const learned = entries.find(
      (e) => e.master === 'cni0' && e.ifname === 'veth-p1' && e.state === 'dynamic',
    );
    expect(learned).toBeDefined();
    expect(lookupFdb(index, 'cni0', learned?.mac ?? '')).toMatchObject({
      kind: 'hit',
      entries: [{ ifname: 'veth-p1' }],
    });
  });

  it('matches the VLAN of bridge entries', () => {
    const ix = indexFdb(
      parseFdb([{ mac: '02:00:00:00:00:01', ifname: 'p1', master: 'br0', vlan: 10, flags: [], state: '' }]),
    );
    expect(lookupFdb(ix, 'br0', '02:00:00:00:00:01', 10).kind).toBe('hit');
    expect(lookupFdb(ix, 'br0', '02:00:00:00:00:01', 20).kind).toBe('miss');
  });
});

describe('parseFdb errors', () => {
  it.each([
    { name: 'not an array', raw: null, message: /expected the JSON array/ },
    { name: 'bad mac', raw: [{ mac: '02:00:00:00:00', ifname: 'x' }], message: /entry 0: bad "mac"/ },
    { name: 'missing ifname', raw: [{ mac: '02:00:00:00:00:01' }], message: /bad "ifname"/ },
    {
      name: 'bad dst',
      raw: [{ mac: '02:00:00:00:00:01', ifname: 'vx', dst: 'remote' }],
      message: /bad "dst"/,
    },
    { name: 'bad vni', raw: [{ mac: '02:00:00:00:00:01', ifname: 'vx', vni: '1' }], message: /bad "vni"/ },
  ])('rejects $name', ({ raw, message }) => {
    expect(() => parseFdb(raw)).toThrow(NetstackParseError);
    expect(() => parseFdb(raw)).toThrow(message);
  });
});
