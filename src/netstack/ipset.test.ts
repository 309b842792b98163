import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { IpsetPart } from './ipset-query.js';
import type { Protocol } from './packet.js';
import { createIpsetMatcher, describeIpset, lookupIpset, parseIpsetSave } from './ipset.js';
import { NetstackParseError } from './parse-error.js';

// `ipset save` captured on this machine from the namespaces built by the *.setup.sh scripts beside
// the fixtures; the expected answers below are what `ipset test` returned in that namespace.
const fixture = (name: string): string =>
  readFileSync(new URL(`../../test/fixtures/ipset/${name}`, import.meta.url), 'utf8');
const allTypes = parseIpsetSave(fixture('all-types.save'));
const kubeProxy = parseIpsetSave(fixture('kube-proxy-ipvs.save'));
const match = createIpsetMatcher(allTypes);

const ip = (a: string): IpsetPart => ({ kind: 'ip', ip: a });
const port = (p: number, protocol: Protocol = 'tcp'): IpsetPart => ({ kind: 'port', port: p, protocol });
const iface = (name: string): IpsetPart => ({ kind: 'iface', name });
const icmp = (type: number, code: number): IpsetPart => port((type << 8) | code, 'icmp');

describe('parseIpsetSave', () => {
  it('reads every set of the all-types capture in order', () => {
    expect([...allTypes.sets.keys()]).toEqual([
      'KUBE-CLUSTER-IP',
      'ips',
      'ips6',
      'nets',
      'nets6',
      'netport',
      'ipportip',
      'ipportnet',
      'netiface',
      'ipmac',
      'ports',
      'bip',
      'KUBE-LB',
      'empty',
      'ports6',
      'netport6',
      'ipportmisc',
      'ifw',
      'masked',
      'bmask',
      'bmnet',
      'listset',
    ]);
  });

  it.each([
    {
      name: 'hash:ip,port with comments',
      set: 'KUBE-CLUSTER-IP',
      type: 'hash:ip,port',
      family: 4,
      entries: 8,
    },
    { name: 'inet6 hash:ip', set: 'ips6', type: 'hash:ip', family: 6, entries: 2 },
    { name: 'bitmap:port has no family', set: 'ports', type: 'bitmap:port', family: undefined, entries: 4 },
    { name: 'list:set members', set: 'listset', type: 'list:set', family: undefined, entries: 3 },
    { name: 'empty set', set: 'empty', type: 'hash:ip', family: 4, entries: 0 },
  ])('$name', ({ set, type, family, entries }) => {
    const s = allTypes.sets.get(set);
    expect(s?.type).toBe(type);
    expect(s?.family).toBe(family);
    expect(s?.entries).toHaveLength(entries);
  });

  it('keeps create options, entry comments, timeouts and flags', () => {
    const kc = allTypes.sets.get('KUBE-CLUSTER-IP');
    expect(kc?.options).toMatchObject({
      family: 'inet',
      hashsize: '1024',
      maxelem: '65536',
      comment: true,
      bucketsize: '12',
    });
    expect(kc?.entries.find((e) => e.element === '10.96.0.1,tcp:443')?.comment).toBe(
      'default/kubernetes:https',
    );
    expect(
      allTypes.sets
        .get('ips6')
        ?.entries.map((e) => e.timeout)
        .sort(),
    ).toEqual([299, 599]);
    expect(
      allTypes.sets
        .get('nets')
        ?.entries.filter((e) => e.nomatch)
        .map((e) => e.element),
    ).toEqual(['10.1.0.0/16']);
    expect(allTypes.sets.get('ifw')?.entries[0]).toMatchObject({
      element: '10.0.0.0/8,veth',
      wildcard: true,
      line: 68,
    });
    expect(allTypes.sets.get('masked')?.options['netmask']).toBe('24');
  });

  it('lists bitmap:ip,mac as unsupported', () => {
    expect(allTypes.unsupportedSets).toEqual([
      { name: 'ipmac', type: 'bitmap:ip,mac', reason: 'set type bitmap:ip,mac is not simulated by skoop' },
    ]);
  });

  it('reads the kube-proxy IPVS-mode sets', () => {
    expect(kubeProxy.sets.size).toBe(12);
    expect(kubeProxy.sets.get('KUBE-LOAD-BALANCER-SOURCE-CIDR')?.entries[0]?.comment).toBe(
      'Kubernetes service load balancer ip + port + source cidr for packet filter purpose',
    );
    expect(kubeProxy.unsupportedSets).toEqual([]);
  });

  it('reads a comment holding a tab and a backslash', () => {
    const s = parseIpsetSave('create tq hash:ip family inet comment\nadd tq 1.1.1.2 comment "tab\tx\\y"\n');
    expect(s.sets.get('tq')?.entries[0]?.comment).toBe('tab\tx\\y');
  });

  it.each([
    { name: 'unknown verb', text: 'flush foo\n', line: 1 },
    { name: 'add before create', text: 'add foo 1.2.3.4\n', line: 1 },
    { name: 'create without type', text: 'create foo\n', line: 1 },
    { name: 'duplicate create', text: 'create a hash:ip\ncreate a hash:ip\n', line: 2 },
    { name: 'bad address', text: 'create a hash:ip\nadd a 10.0.0.300\n', line: 2 },
    { name: 'wrong family', text: 'create a hash:ip family inet\nadd a fd00::1\n', line: 2 },
    { name: 'missing dimension', text: 'create a hash:ip,port\nadd a 10.0.0.1\n', line: 2 },
    { name: 'bad port', text: 'create a hash:ip,port\nadd a 10.0.0.1,tcp:70000\n', line: 2 },
    { name: 'bad MAC', text: 'create a hash:mac\nadd a 02:42:zz:11:00:02\n', line: 2 },
    { name: 'unknown add option', text: 'create a hash:ip\nadd a 1.2.3.4 frobnicate\n', line: 2 },
    { name: 'unterminated comment', text: 'create a hash:ip comment\nadd a 1.2.3.4 comment "x\n', line: 2 },
    { name: 'list:set with unknown member', text: 'create l list:set\nadd l nope\n', line: 2 },
    { name: 'list:set inside list:set', text: 'create k list:set\ncreate l list:set\nadd l k\n', line: 3 },
  ])('rejects $name with the line number', ({ text, line }) => {
    let error: unknown;
    try {
      parseIpsetSave(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NetstackParseError);
    expect((error as NetstackParseError).field).toBe('ipsets');
    expect((error as NetstackParseError).line).toBe(line);
  });

  it('accepts an empty capture', () => {
    expect(parseIpsetSave('').sets.size).toBe(0);
  });
});

describe('createIpsetMatcher (answers checked against `ipset test` in the capture namespace)', () => {
  it.each([
    {
      name: 'hash:ip,port tcp hit',
      set: 'KUBE-CLUSTER-IP',
      parts: [ip('10.96.0.1'), port(443)],
      expected: true,
    },
    {
      name: 'hash:ip,port wrong protocol',
      set: 'KUBE-CLUSTER-IP',
      parts: [ip('10.96.0.1'), port(443, 'udp')],
      expected: false,
    },
    {
      name: 'hash:ip,port range expanded on add',
      set: 'KUBE-CLUSTER-IP',
      parts: [ip('10.96.0.30'), port(8001)],
      expected: true,
    },
    {
      name: 'hash:ip,port past the range',
      set: 'KUBE-CLUSTER-IP',
      parts: [ip('10.96.0.30'), port(8003)],
      expected: false,
    },
    {
      name: 'hash:ip,port sctp',
      set: 'KUBE-CLUSTER-IP',
      parts: [ip('10.96.0.40'), port(9000, 'sctp')],
      expected: true,
    },
    {
      name: 'hash:ip,port bare port means tcp',
      set: 'KUBE-CLUSTER-IP',
      parts: [ip('10.96.0.20'), port(80)],
      expected: true,
    },
    { name: 'hash:ip CIDR expanded on add', set: 'ips', parts: [ip('192.168.1.3')], expected: true },
    { name: 'hash:ip outside the CIDR', set: 'ips', parts: [ip('192.168.1.4')], expected: false },
    { name: 'hash:ip range expanded on add', set: 'ips', parts: [ip('10.0.0.6')], expected: true },
    { name: 'inet6 hash:ip hit', set: 'ips6', parts: [ip('fd00::2')], expected: true },
    { name: 'inet6 hash:ip miss', set: 'ips6', parts: [ip('fd00::3')], expected: false },
    { name: 'hash:net nomatch /16 beats /8', set: 'nets', parts: [ip('10.1.5.5')], expected: false },
    { name: 'hash:net /24 beats nomatch /16', set: 'nets', parts: [ip('10.1.2.5')], expected: true },
    { name: 'hash:net /8', set: 'nets', parts: [ip('10.200.0.1')], expected: true },
    { name: 'hash:net host entry', set: 'nets', parts: [ip('172.16.0.5')], expected: true },
    { name: 'hash:net next to host entry', set: 'nets', parts: [ip('172.16.0.6')], expected: false },
    { name: 'inet6 hash:net hit', set: 'nets6', parts: [ip('fd00::1')], expected: true },
    { name: 'inet6 hash:net nomatch /124', set: 'nets6', parts: [ip('fd00::1f')], expected: false },
    { name: 'inet6 hash:net past the nomatch', set: 'nets6', parts: [ip('fd00::20')], expected: true },
    {
      name: 'hash:net,port nomatch',
      set: 'netport',
      parts: [ip('10.244.1.1'), port(53, 'udp')],
      expected: false,
    },
    {
      name: 'hash:net,port no entry',
      set: 'netport',
      parts: [ip('10.244.2.1'), port(53, 'udp')],
      expected: false,
    },
    {
      name: 'hash:net,port nomatch is per port',
      set: 'netport',
      parts: [ip('10.244.1.1'), port(80)],
      expected: true,
    },
    { name: 'hash:net,port tcp', set: 'netport', parts: [ip('192.168.0.7'), port(8080)], expected: true },
    {
      name: 'hash:net,port udp miss',
      set: 'netport',
      parts: [ip('192.168.0.7'), port(8080, 'udp')],
      expected: false,
    },
    {
      name: 'hash:ip,port,ip hit',
      set: 'ipportip',
      parts: [ip('10.96.0.10'), port(53, 'udp'), ip('10.244.1.5')],
      expected: true,
    },
    {
      name: 'hash:ip,port,ip miss',
      set: 'ipportip',
      parts: [ip('10.96.0.10'), port(53, 'udp'), ip('10.244.1.6')],
      expected: false,
    },
    {
      name: 'hash:ip,port,net nomatch',
      set: 'ipportnet',
      parts: [ip('10.244.1.5'), port(8080), ip('10.1.2.3')],
      expected: false,
    },
    {
      name: 'hash:ip,port,net hit',
      set: 'ipportnet',
      parts: [ip('10.244.1.5'), port(8080), ip('10.2.2.3')],
      expected: true,
    },
    {
      name: 'hash:ip,port,net other ip',
      set: 'ipportnet',
      parts: [ip('10.244.1.6'), port(8080), ip('10.2.2.3')],
      expected: false,
    },
    { name: 'hash:net,iface hit', set: 'netiface', parts: [ip('10.1.1.1'), iface('eth0')], expected: true },
    {
      name: 'hash:net,iface other iface',
      set: 'netiface',
      parts: [ip('10.1.1.1'), iface('eth1')],
      expected: false,
    },
    {
      name: 'hash:net,iface "+" is literal',
      set: 'netiface',
      parts: [ip('192.168.3.3'), iface('cali+')],
      expected: true,
    },
    {
      name: 'hash:net,iface "+" is no wildcard',
      set: 'netiface',
      parts: [ip('192.168.3.3'), iface('cali123')],
      expected: false,
    },
    {
      name: 'hash:net,iface physdev entry vs plain iface',
      set: 'netiface',
      parts: [ip('172.16.1.1'), iface('eth1')],
      expected: false,
    },
    {
      name: 'hash:net,iface wildcard prefix',
      set: 'ifw',
      parts: [ip('10.1.1.1'), iface('veth12')],
      expected: true,
    },
    {
      name: 'hash:net,iface nomatch',
      set: 'ifw',
      parts: [ip('10.9.1.1'), iface('vethabc')],
      expected: false,
    },
    {
      name: 'hash:net,iface same net other iface stops descent',
      set: 'ifw',
      parts: [ip('10.9.1.1'), iface('vethabd')],
      expected: false,
    },
    { name: 'hash:net,iface /0', set: 'ifw', parts: [ip('8.8.8.8'), iface('lo')], expected: true },
    {
      name: 'hash:net,iface /0 other iface',
      set: 'ifw',
      parts: [ip('8.8.8.8'), iface('lo2')],
      expected: false,
    },
    {
      name: 'hash:net,iface wildcard does not match eth0',
      set: 'ifw',
      parts: [ip('10.1.1.1'), iface('eth0')],
      expected: false,
    },
    { name: 'bitmap:port hit', set: 'ports', parts: [port(22)], expected: true },
    { name: 'bitmap:port range', set: 'ports', parts: [port(8001, 'udp')], expected: true },
    { name: 'bitmap:port miss', set: 'ports', parts: [port(23)], expected: false },
    { name: 'bitmap:port ignores sctp', set: 'ports', parts: [port(22, 'sctp')], expected: false },
    { name: 'bitmap:port with timeout', set: 'ports6', parts: [port(1500)], expected: true },
    { name: 'bitmap:port with timeout miss', set: 'ports6', parts: [port(1501)], expected: false },
    { name: 'bitmap:ip hit', set: 'bip', parts: [ip('192.168.0.10')], expected: true },
    { name: 'bitmap:ip miss', set: 'bip', parts: [ip('192.168.0.12')], expected: false },
    { name: 'hash:ip netmask', set: 'masked', parts: [ip('10.1.2.200')], expected: true },
    { name: 'hash:ip netmask miss', set: 'masked', parts: [ip('10.1.3.1')], expected: false },
    { name: 'hash:ip bitmask', set: 'bmask', parts: [ip('10.200.2.77')], expected: true },
    { name: 'hash:ip bitmask miss', set: 'bmask', parts: [ip('10.200.3.77')], expected: false },
    { name: 'bitmap:ip netmask', set: 'bmnet', parts: [ip('10.0.5.99')], expected: true },
    { name: 'bitmap:ip netmask miss', set: 'bmnet', parts: [ip('10.0.7.1')], expected: false },
    {
      name: 'inet6 hash:net,port udp',
      set: 'netport6',
      parts: [ip('fd00:1::5'), port(4789, 'udp')],
      expected: true,
    },
    {
      name: 'inet6 hash:net,port icmpv6 echo-request',
      set: 'netport6',
      parts: [ip('fd00:1::5'), icmp(128, 0)],
      expected: true,
    },
    {
      name: 'inet6 hash:net,port icmpv6 echo-reply',
      set: 'netport6',
      parts: [ip('fd00:1::5'), icmp(129, 0)],
      expected: false,
    },
    {
      name: 'icmp echo-request as type<<8|code',
      set: 'ipportmisc',
      parts: [ip('10.0.0.1'), icmp(8, 0)],
      expected: true,
    },
    { name: 'icmp echo-reply miss', set: 'ipportmisc', parts: [ip('10.0.0.1'), icmp(0, 0)], expected: false },
    { name: 'tcp port 0', set: 'ipportmisc', parts: [ip('10.0.0.2'), port(0)], expected: true },
    {
      name: 'udplite entry does not match udp',
      set: 'ipportmisc',
      parts: [ip('10.0.0.1'), port(100, 'udp')],
      expected: false,
    },
    { name: 'plain hash:ip', set: 'KUBE-LB', parts: [ip('1.2.3.4')], expected: true },
    { name: 'empty set', set: 'empty', parts: [ip('1.2.3.4')], expected: false },
  ])('$name', ({ set, parts, expected }) => {
    expect(match({ name: set, parts })).toBe(expected);
  });

  it.each([
    { name: 'unknown set', set: 'nope', parts: [ip('1.2.3.4')], expected: undefined },
    { name: 'unsupported type', set: 'ipmac', parts: [ip('10.1.1.5')], expected: undefined },
    {
      name: 'fewer parts than dimensions',
      set: 'KUBE-CLUSTER-IP',
      parts: [ip('10.96.0.1')],
      expected: false,
    },
    { name: 'extra parts are ignored', set: 'KUBE-LB', parts: [ip('1.2.3.4'), port(80)], expected: true },
    { name: 'other family', set: 'ips6', parts: [ip('10.0.0.1')], expected: false },
    { name: 'port part in an ip dimension', set: 'ips', parts: [port(80)], expected: false },
    { name: 'list:set matches a member', set: 'listset', parts: [ip('10.200.0.1')], expected: true },
    {
      name: 'list:set with an unsupported member cannot say no',
      set: 'listset',
      parts: [ip('10.1.5.5')],
      expected: undefined,
    },
    { name: 'list:set first member', set: 'listset', parts: [ip('192.168.1.2')], expected: true },
  ])('$name', ({ set, parts, expected }) => {
    expect(match({ name: set, parts })).toBe(expected);
  });

  it('hash:mac never matches address or port parts', () => {
    // Hand-written in ipset save format: the hash:mac kernel module is not available on this machine.
    const s = parseIpsetSave(
      'create macs hash:mac hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1d2e3f40\nadd macs 02:42:AC:11:00:02\n',
    );
    expect(s.sets.get('macs')?.family).toBeUndefined();
    expect(createIpsetMatcher(s)({ name: 'macs', parts: [ip('10.0.0.1')] })).toBe(false);
  });

  it('matches kube-proxy LoadBalancer source ranges', () => {
    const m = createIpsetMatcher(kubeProxy);
    const q = (src: string) => ({
      name: 'KUBE-LOAD-BALANCER-SOURCE-CIDR',
      parts: [ip('5.6.7.8'), port(80), ip(src)],
    });
    expect(m(q('203.0.113.5'))).toBe(true);
    expect(m(q('203.0.113.200'))).toBe(false);
    expect(m({ name: 'KUBE-NODE-PORT-TCP', parts: [port(30080)] })).toBe(true);
    expect(m({ name: 'KUBE-6-CLUSTER-IP', parts: [ip('fd00:10:96::1'), port(443)] })).toBe(true);
    expect(m({ name: 'KUBE-6-CLUSTER-IP', parts: [ip('10.96.0.1'), port(443)] })).toBe(false);
  });
});

describe('lookupIpset', () => {
  it.each([
    {
      name: 'member entry',
      set: 'nets',
      parts: [ip('10.1.2.5')],
      result: true,
      entry: '10.1.2.0/24',
      via: 'nets',
    },
    {
      name: 'nomatch entry that excluded',
      set: 'nets',
      parts: [ip('10.1.5.5')],
      result: false,
      entry: '10.1.0.0/16',
      via: 'nets',
    },
    {
      name: 'member set of a list:set',
      set: 'listset',
      parts: [ip('10.0.0.7')],
      result: true,
      entry: '10.0.0.7',
      via: 'ips',
    },
  ])('reports the deciding $name', ({ set, parts, result, entry, via }) => {
    const r = lookupIpset(allTypes, { name: set, parts });
    expect(r.result).toBe(result);
    expect(r.entry?.element).toBe(entry);
    expect(r.set).toBe(via);
  });

  it('says why an unsupported set has no answer', () => {
    expect(lookupIpset(allTypes, { name: 'ipmac', parts: [ip('10.1.1.5')] }).reason).toBe(
      'set type bitmap:ip,mac is not simulated by skoop',
    );
  });

  it('answers hand-written CIDR, address-range and port-range elements without expanding them', () => {
    const s = parseIpsetSave(
      'create a hash:ip\nadd a 10.0.0.0/8\ncreate b hash:net\nadd b 10.0.0.0-10.0.0.5\n',
    );
    expect(lookupIpset(s, { name: 'a', parts: [ip('10.255.1.1')] }).result).toBe(true);
    expect(lookupIpset(s, { name: 'a', parts: [ip('11.0.0.0')] }).result).toBe(false);
    expect(lookupIpset(s, { name: 'b', parts: [ip('10.0.0.5')] }).result).toBe(true);
    expect(lookupIpset(s, { name: 'b', parts: [ip('10.0.0.6')] }).result).toBe(false);
    const r = parseIpsetSave('create p hash:ip,port\nadd p 10.0.0.1,tcp:80-90\nadd p 10.0.0.0/30,udp:53\n');
    expect(lookupIpset(r, { name: 'p', parts: [ip('10.0.0.1'), port(85)] }).result).toBe(true);
    expect(lookupIpset(r, { name: 'p', parts: [ip('10.0.0.1'), port(91)] }).result).toBe(false);
    expect(lookupIpset(r, { name: 'p', parts: [ip('10.0.0.3'), port(53, 'udp')] }).result).toBe(true);
    expect(lookupIpset(r, { name: 'p', parts: [ip('10.0.0.4'), port(53, 'udp')] }).result).toBe(false);
  });

  it('stays fast on a 100k-entry hash:ip set', () => {
    const lines = ['create big hash:ip family inet hashsize 65536 maxelem 200000'];
    for (let i = 0; i < 100_000; i++)
      lines.push(`add big 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const s = parseIpsetSave(lines.join('\n'));
    const m = createIpsetMatcher(s);
    const t0 = performance.now();
    for (let i = 0; i < 10_000; i++) m({ name: 'big', parts: [ip(`10.1.${i & 255}.7`)] });
    expect(m({ name: 'big', parts: [ip('10.1.134.159')] })).toBe(true);
    expect(m({ name: 'big', parts: [ip('10.2.0.0')] })).toBe(false);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('describeIpset', () => {
  it.each([
    { name: 'nets', expected: 'hash:net family inet, 4 entries (1 nomatch)' },
    { name: 'listset', expected: 'list:set, 3 member sets' },
    { name: 'ipmac', expected: 'bitmap:ip,mac: set type not simulated by skoop (1 entries kept as text)' },
    { name: 'absent', expected: undefined },
  ])('$name', ({ name, expected }) => {
    expect(describeIpset(allTypes, name)).toBe(expected);
  });
});
