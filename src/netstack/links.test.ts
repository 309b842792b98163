import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { indexLinks, parseLinks, type Link } from './links.js';
import { NetstackParseError } from './parse-error.js';

// `ip -j -d address show` captured on this machine from the namespaces built by
// test/fixtures/ip/capture.py (fx1-node: veth/bridge/vxlan/macvlan/ifb/tun links, IPv6 DAD states).
// handmade-addresses.json is written by hand in the exact format iproute2 6.1 prints, for kinds
// this kernel cannot create here: dummy, vlan, bond (+ slave), ipip (Calico's tunl0 and a
// point-to-point tunnel), wireguard and ipvlan.
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../test/fixtures/ip/${name}`, import.meta.url), 'utf8'));

const node = parseLinks(fixture('node-addresses.json'));
const pod = parseLinks(fixture('pod1-addresses.json'));
const handmade = parseLinks(fixture('handmade-addresses.json'));
const byName = (links: readonly Link[], name: string): Link => {
  const l = links.find((x) => x.name === name);
  if (l === undefined) throw new Error(`no link ${name}`);
  return l;
};

describe('parseLinks on the fx1-node capture', () => {
  it('reads every link in ifindex order', () => {
    expect(node.map((l) => `${l.ifindex}:${l.name}`)).toEqual([
      '1:lo',
      '2:eth0',
      '3:cni0',
      '4:veth-p1',
      '5:veth-p2',
      '6:flannel.1',
      '7:vxlan0',
      '8:vx6',
      '9:mv0',
      '10:ifb0',
      '11:tun0',
      '12:vdown',
      '13:vnocarrier',
      '14:eth1.100',
    ]);
  });

  it.each([
    { name: 'lo', kind: 'loopback', adminUp: true, lowerUp: true, operstate: 'UNKNOWN', mtu: 65536 },
    { name: 'eth0', kind: 'veth', adminUp: true, lowerUp: true, operstate: 'UP', mtu: 1500 },
    { name: 'cni0', kind: 'bridge', adminUp: true, lowerUp: true, operstate: 'UP', mtu: 1500 },
    { name: 'flannel.1', kind: 'vxlan', adminUp: true, lowerUp: true, operstate: 'UNKNOWN', mtu: 1450 },
    { name: 'vx6', kind: 'vxlan', adminUp: false, lowerUp: false, operstate: 'DOWN', mtu: 1500 },
    { name: 'mv0', kind: 'macvlan', adminUp: true, lowerUp: true, operstate: 'UP', mtu: 1500 },
    { name: 'ifb0', kind: 'ifb', adminUp: false, lowerUp: false, operstate: 'DOWN', mtu: 1500 },
    { name: 'tun0', kind: 'tun', adminUp: true, lowerUp: false, operstate: 'DOWN', mtu: 1500 },
    { name: 'vdown', kind: 'veth', adminUp: false, lowerUp: false, operstate: 'DOWN', mtu: 1500 },
    {
      name: 'vnocarrier',
      kind: 'veth',
      adminUp: true,
      lowerUp: false,
      operstate: 'LOWERLAYERDOWN',
      mtu: 1500,
    },
  ])('$name is a $kind, up=$adminUp carrier=$lowerUp', ({ name, kind, adminUp, lowerUp, operstate, mtu }) => {
    const l = byName(node, name);
    expect({
      kind: l.kind,
      adminUp: l.adminUp,
      lowerUp: l.lowerUp,
      operstate: l.operstate,
      mtu: l.mtu,
    }).toEqual({
      kind,
      adminUp,
      lowerUp,
      operstate,
      mtu,
    });
  });

  it.each([
    { name: 'eth0 (peer in fx1-peer)', link: 'eth0', peerIfindex: 2, peerNetnsId: 0 },
    { name: 'veth-p1 (peer in fx1-pod1)', link: 'veth-p1', peerIfindex: 2, peerNetnsId: 1 },
    { name: 'veth-p2 (peer in fx1-pod2)', link: 'veth-p2', peerIfindex: 2, peerNetnsId: 2 },
  ])('veth $name points at its peer', ({ link, peerIfindex, peerNetnsId }) => {
    const l = byName(node, link);
    expect([l.peerIfindex, l.peerNetnsId]).toEqual([peerIfindex, peerNetnsId]);
  });

  it('reads bridge ports with their master and bridge-slave state', () => {
    const p = byName(node, 'veth-p1');
    expect(p.master).toBe('cni0');
    expect(p.slaveKind).toBe('bridge');
    expect(p.bridgeSlave).toEqual({
      state: 'forwarding',
      learning: true,
      flood: true,
      hairpin: false,
      isolated: false,
      proxyArp: false,
      neighSuppress: false,
    });
    expect(byName(node, 'cni0').bridge).toEqual({ vlanFiltering: false, stpState: 0, nfCallIptables: false });
  });

  it.each([
    {
      name: 'flannel.1 (unicast, nolearning)',
      link: 'flannel.1',
      vxlan: { id: 1, local: '192.168.1.10', dev: 'eth0', port: 8472, learning: false },
    },
    {
      name: 'vxlan0 (multicast group)',
      link: 'vxlan0',
      vxlan: { id: 42, remote: '239.1.1.1', group: '239.1.1.1', dev: 'eth0', port: 4789, learning: true },
    },
    {
      name: 'vx6 (IPv6 underlay)',
      link: 'vx6',
      vxlan: { id: 600, local: 'fd00:1::10', remote: 'fd00:1::20', port: 4789, learning: true },
    },
  ])('vxlan $name', ({ link, vxlan }) => {
    expect(byName(node, link).vxlan).toEqual(vxlan);
  });

  it('gives the lower device of a vxlan and a macvlan as `link`', () => {
    expect(byName(node, 'flannel.1').link).toBe('eth0');
    expect(byName(node, 'mv0').link).toBe('eth0');
    expect(byName(node, 'cni0').link).toBeUndefined();
  });

  it('reads IPv4 addresses with secondary/label/dynamic/noprefixroute flags', () => {
    expect(
      byName(node, 'eth0')
        .addresses.filter((a) => a.family === 4)
        .map((a) => [a.local, a.prefixlen, a.scope, a.secondary, a.label, a.dynamic, a.noprefixroute]),
    ).toEqual([
      ['192.168.1.10', 24, 'global', false, 'eth0', false, false],
      ['172.16.5.1', 24, 'global', false, 'eth0', false, true],
      ['10.99.0.1', 24, 'global', false, 'eth0', true, false],
      ['192.168.1.11', 24, 'global', true, 'eth0', false, false],
      ['192.168.1.12', 24, 'global', true, 'eth0:1', false, false],
    ]);
  });

  it('reads IPv6 DAD states: tentative, dadfailed, nodad, link-local', () => {
    const eth0LinkLocal = byName(node, 'eth0').addresses.find((a) => a.scope === 'link')?.local;
    expect(
      byName(node, 'eth0')
        .addresses.filter((a) => a.family === 6)
        .map((a) => [a.local, a.scope, a.tentative, a.dadfailed, a.flags.includes('nodad')]),
    ).toEqual([
      ['fd00:1::77', 'global', true, false, false],
      ['fd00:1::99', 'global', true, true, false],
      ['fd00:1::10', 'global', false, false, true],
      [eth0LinkLocal, 'link', false, false, false],
    ]);
    expect(eth0LinkLocal).toMatch(/^fe80::/);
  });

  it('marks an address with preferred_lft 0 as deprecated', () => {
    const cni = byName(node, 'cni0').addresses.filter((a) => a.family === 6);
    expect(cni.map((a) => [a.local, a.deprecated])).toContainEqual(['fd00:244::5', true]);
    expect(cni.map((a) => [a.local, a.deprecated])).toContainEqual(['fd00:244::1', false]);
  });

  it('reads a point-to-point peer address', () => {
    expect(byName(node, 'tun0').addresses).toMatchObject([
      { local: '10.8.0.1', peer: '10.8.0.2', prefixlen: 32 },
    ]);
    expect(byName(node, 'tun0').mac).toBeUndefined();
  });

  it('reads the pod side of a veth whose peer is in the host namespace', () => {
    const eth0 = byName(pod, 'eth0');
    expect([eth0.kind, eth0.peerIfindex, eth0.peerNetnsId, eth0.master]).toEqual(['veth', 4, 0, undefined]);
    expect(eth0.addresses.map((a) => `${a.local}/${a.prefixlen}`)).toContain('10.244.0.11/24');
  });
});

describe('parseLinks on hand-written kinds', () => {
  it.each([
    { name: 'nodelocaldns', kind: 'dummy', adminUp: false },
    { name: 'bond0.100', kind: 'vlan', adminUp: true },
    { name: 'bond0', kind: 'bond', adminUp: true },
    { name: 'ens3', kind: 'device', adminUp: true },
    { name: 'tunl0', kind: 'ipip', adminUp: true },
    { name: 'wg0', kind: 'wireguard', adminUp: true },
    { name: 'ipvl0', kind: 'ipvlan', adminUp: true },
  ])('$name is a $kind', ({ name, kind, adminUp }) => {
    const l = byName(handmade, name);
    expect([l.kind, l.adminUp]).toEqual([kind, adminUp]);
  });

  it('reads a vlan id and its lower device', () => {
    const v = byName(handmade, 'bond0.100');
    expect([v.vlanId, v.link]).toEqual([100, 'bond0']);
  });

  it('reads a bond slave (a NIC with no kind but a slave kind)', () => {
    const s = byName(handmade, 'ens3');
    expect([s.master, s.slaveKind, s.bridgeSlave]).toEqual(['bond0', 'bond', undefined]);
  });

  it.each([
    { name: "Calico's tunl0 (remote any, local any)", link: 'tunl0', tunnel: {}, lower: undefined },
    {
      name: 'a point-to-point ipip tunnel',
      link: 'ipip0',
      tunnel: { local: '192.168.10.5', remote: '192.168.10.9', dev: 'bond0' },
      lower: 'bond0',
    },
  ])('ipip: $name', ({ link, tunnel, lower }) => {
    const l = byName(handmade, link);
    expect(l.tunnel).toEqual(tunnel);
    expect(l.link).toBe(lower);
  });

  it('keeps the ipip link-layer "address" as printed', () => {
    expect(byName(handmade, 'tunl0').mac).toBe('0.0.0.0');
    expect(byName(handmade, 'wg0').linkType).toBe('none');
  });
});

describe('indexLinks', () => {
  it('finds links by name and ifindex', () => {
    const ix = indexLinks(node);
    expect(ix.byName.get('flannel.1')?.ifindex).toBe(6);
    expect(ix.byIndex.get(3)?.name).toBe('cni0');
    expect(ix.byName.get('nope')).toBeUndefined();
  });
});

describe('parseLinks errors', () => {
  it.each([
    { name: 'not an array', raw: { ifname: 'x' }, message: /expected the JSON array/ },
    { name: 'entry without ifname', raw: [{ ifindex: 1 }], message: /entry 0: missing "ifname"/ },
    {
      name: 'entry without ifindex',
      raw: [{ ifname: 'eth0' }],
      message: /entry 0 \(eth0\): missing "ifindex"/,
    },
    {
      name: 'bad address',
      raw: [
        { ifindex: 1, ifname: 'eth0', addr_info: [{ family: 'inet', local: '10.0.0.300', prefixlen: 24 }] },
      ],
      message: /eth0\) address 0: bad local address/,
    },
    {
      name: 'bad prefixlen',
      raw: [
        { ifindex: 1, ifname: 'eth0', addr_info: [{ family: 'inet', local: '10.0.0.3', prefixlen: 33 }] },
      ],
      message: /bad prefixlen/,
    },
    {
      name: 'unknown address family',
      raw: [{ ifindex: 1, ifname: 'eth0', addr_info: [{ family: 'mpls', local: '10.0.0.3', prefixlen: 8 }] }],
      message: /unsupported family "mpls"/,
    },
    {
      name: 'flags not a list',
      raw: [{ ifindex: 1, ifname: 'eth0', flags: 'UP' }],
      message: /"flags" is not a list/,
    },
  ])('rejects $name', ({ raw, message }) => {
    expect(() => parseLinks(raw)).toThrow(NetstackParseError);
    expect(() => parseLinks(raw)).toThrow(message);
    try {
      parseLinks(raw);
    } catch (e) {
      expect((e as NetstackParseError).field).toBe('addresses');
    }
  });

  it('accepts an empty capture', () => {
    expect(parseLinks([])).toEqual([]);
  });
});
