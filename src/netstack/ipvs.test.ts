import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Family, Protocol } from './packet.js';
import { formatIpvsService, lookupIpvs, parseIpvs, schedulableRealServers } from './ipvs.js';
import { NetstackParseError } from './parse-error.js';

// The IPVS kernel module is not available on the machine that captured the other fixtures, so these
// two fixtures are written by hand, byte for byte in the format of ipvsadm 1.31 `-S -n`
// (print_service_entry with FMT_RULE|FMT_NUMERIC: services sorted by fwmark, family, protocol,
// address, port; real servers by address, port; thresholds never printed).
const fixture = (name: string): string =>
  readFileSync(new URL(`../../test/fixtures/ipvs/${name}`, import.meta.url), 'utf8');
const kubeText = fixture('kube-proxy.save');
const optionsText = fixture('options.save');
const kube = parseIpvs(kubeText);
const options = parseIpvs(optionsText);

const q = (
  protocol: Protocol,
  dst: string,
  dport: number,
  mark = 0,
  family: Family = dst.includes(':') ? 6 : 4,
) => ({
  protocol,
  dst,
  dport,
  mark,
  family,
});

describe('parseIpvs', () => {
  it('reads every service of the kube-proxy capture', () => {
    expect(kube.services).toHaveLength(14);
    expect(kube.byAddress.size).toBe(14);
    expect(kube.byMark.size).toBe(0);
  });

  it('reads a kube-proxy ClusterIP service with masqueraded real servers', () => {
    const svc = lookupIpvs(kube, q('tcp', '10.96.12.34', 80));
    expect(svc).toMatchObject({
      family: 4,
      protocol: 'tcp',
      address: '10.96.12.34',
      port: 80,
      scheduler: 'rr',
      line: 13,
    });
    expect(svc?.realServers.map((r) => [r.address, r.port, r.weight, r.method])).toEqual([
      ['10.244.1.5', 8080, 1, 'masq'],
      ['10.244.2.7', 8080, 1, 'masq'],
      ['10.244.2.8', 8080, 0, 'masq'],
    ]);
  });

  it.each([
    {
      name: 'persistent with a netmask and ipip/gue/gre tunnels',
      svc: q('tcp', '10.0.0.101', 80),
      expected: { scheduler: 'lc', persistence: { timeout: 300, netmask: '255.255.255.0' } },
      servers: [
        { method: 'tunnel', tunnelType: 'ipip' },
        { method: 'tunnel', tunnelType: 'gue', tunnelPort: 6080, tunnelChecksum: 'tun-nocsum' },
        { method: 'tunnel', tunnelType: 'gre', tunnelChecksum: 'tun-csum' },
      ],
    },
    {
      name: 'scheduler flags',
      svc: q('tcp', '10.0.0.100', 443),
      expected: { scheduler: 'sh', schedFlags: ['sh-fallback', 'sh-port'] },
      servers: [
        { method: 'route', weight: 3 },
        { method: 'route', weight: 1 },
      ],
    },
    {
      name: 'persistence engine and one-packet scheduling',
      svc: q('udp', '10.0.0.102', 5060),
      expected: { persistence: { timeout: 60 }, persistenceEngine: 'sip', onePacket: true },
      servers: [{ method: 'masq', address: '192.168.30.1', port: 5060 }],
    },
    {
      name: 'IPv6 persistence prefix length',
      svc: q('tcp', '2001:db8::100', 80),
      expected: { family: 6, scheduler: 'wrr', persistence: { timeout: 300, netmask: '64' } },
      servers: [
        { address: '2001:db8:1::1', port: 8080, weight: 2 },
        { address: '2001:db8:1::2', port: 8080, weight: 1 },
      ],
    },
  ])('reads $name', ({ svc, expected, servers }) => {
    const s = lookupIpvs(options, svc);
    expect(s).toMatchObject(expected);
    expect(s?.realServers).toHaveLength(servers.length);
    servers.forEach((r, i) => expect(s?.realServers[i]).toMatchObject(r));
  });

  it('reads fwmark services of both families', () => {
    expect([...options.byMark.keys()]).toEqual(['4|100', '6|200']);
    expect(options.byMark.get('6|200')).toMatchObject({
      fwmark: 200,
      family: 6,
      scheduler: 'mh',
      schedFlags: ['mh-port'],
    });
    expect(options.byMark.get('4|100')?.realServers.map((r) => `${r.address}:${r.port}`)).toEqual([
      '10.244.3.3:0',
      '10.244.3.4:0',
    ]);
  });

  it('reads long option names and thresholds as ipvsadm -R accepts them', () => {
    const s = parseIpvs(
      '--add-service --tcp-service 10.1.1.1:80 --scheduler wrr --persistent\n' +
        '--add-server --tcp-service 10.1.1.1:80 --real-server 10.2.2.2:8080 --masquerading --weight 5 -x 100 -y 50\n',
    );
    expect(s.services[0]).toMatchObject({ scheduler: 'wrr', persistence: { timeout: 300 } });
    expect(s.services[0]?.realServers[0]).toMatchObject({
      weight: 5,
      method: 'masq',
      upperThreshold: 100,
      lowerThreshold: 50,
    });
  });

  it('defaults to wlc, gatewaying and weight 1 like ipvsadm', () => {
    const s = parseIpvs('-A -u 10.1.1.1:53\n-a -u 10.1.1.1:53 -r 10.2.2.2:53\n');
    expect(s.services[0]?.scheduler).toBe('wlc');
    expect(s.services[0]?.realServers[0]).toMatchObject({ method: 'route', weight: 1 });
  });

  it('accepts an empty table', () => {
    expect(parseIpvs('').services).toEqual([]);
  });

  it.each([
    { name: 'unknown command', text: '-L -n\n', line: 1 },
    { name: 'no virtual service', text: '-A -s rr\n', line: 1 },
    { name: 'host name instead of address', text: '-A -t kubernetes:443 -s rr\n', line: 1 },
    { name: 'service name instead of port', text: '-A -t 10.96.0.1:https -s rr\n', line: 1 },
    {
      name: 'real server before its service',
      text: '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.2:80 -r 10.1.1.1:80 -m -w 1\n',
      line: 2,
    },
    { name: 'real server without -r', text: '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -m -w 1\n', line: 2 },
    {
      name: 'bad weight',
      text: '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.1.1:80 -m -w x\n',
      line: 2,
    },
    { name: 'unknown option', text: '-A -t 10.0.0.1:80 -s rr --frob\n', line: 1 },
    { name: 'duplicate service', text: '-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.1:80 -s wrr\n', line: 2 },
    { name: 'fwmark 0', text: '-A -f 0 -s rr\n', line: 1 },
    { name: 'unclosed IPv6 bracket', text: '-A -t [fd00::1:443 -s rr\n', line: 1 },
  ])('rejects $name with the line number', ({ text, line }) => {
    let error: unknown;
    try {
      parseIpvs(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NetstackParseError);
    expect((error as NetstackParseError).field).toBe('ipvs');
    expect((error as NetstackParseError).line).toBe(line);
  });
});

describe('lookupIpvs', () => {
  it.each([
    { name: 'ClusterIP tcp', query: q('tcp', '10.96.0.1', 443), line: 5 },
    { name: 'same address, udp service', query: q('udp', '10.96.0.10', 53), line: 32 },
    { name: 'same address, tcp service', query: q('tcp', '10.96.0.10', 53), line: 7 },
    { name: 'sctp service', query: q('sctp', '10.96.0.40', 9000), line: 35 },
    { name: 'NodePort on the node IP', query: q('tcp', '192.168.49.2', 30080), line: 24 },
    { name: 'IPv6 ClusterIP written long-hand', query: q('tcp', 'fd00:10:96:0:0:0:0:1', 443), line: 37 },
    { name: 'unknown port', query: q('tcp', '10.96.0.1', 80), line: undefined },
    { name: 'protocol without service', query: q('udp', '10.96.0.1', 443), line: undefined },
    { name: 'ICMP is never scheduled', query: q('icmp', '10.96.0.1', 0), line: undefined },
    {
      name: 'IPv4 query does not see IPv6 services',
      query: q('tcp', '10.96.0.1', 443, 0, 6),
      line: undefined,
    },
  ])('kube-proxy: $name', ({ query, line }) => {
    expect(lookupIpvs(kube, query)?.line).toBe(line);
  });

  it.each([
    { name: 'fwmark first, whatever the address', query: q('tcp', '10.96.0.1', 443, 100), line: 16 },
    { name: 'fwmark of the other family', query: q('tcp', '2001:db8::100', 80, 100), line: 13 },
    { name: 'IPv6 fwmark', query: q('udp', '2001:db8::9', 53, 200), line: 19 },
    { name: 'unknown mark falls back to the address', query: q('tcp', '10.0.0.100', 443, 7), line: 4 },
    { name: 'exact port beats the port-0 service', query: q('tcp', '10.0.0.100', 443), line: 4 },
    { name: 'port-0 catch-all service', query: q('tcp', '10.0.0.100', 8443), line: 1 },
    { name: 'catch-all is per protocol', query: q('udp', '10.0.0.100', 8443), line: undefined },
  ])('options: $name', ({ query, line }) => {
    expect(lookupIpvs(options, query)?.line).toBe(line);
  });
});

describe('schedulableRealServers', () => {
  it('leaves out quiesced (weight 0) servers', () => {
    const svc = lookupIpvs(kube, q('tcp', '10.96.12.34', 80));
    expect(svc && schedulableRealServers(svc).map((r) => r.address)).toEqual(['10.244.1.5', '10.244.2.7']);
  });

  it('is empty for a service without endpoints', () => {
    const svc = lookupIpvs(kube, q('tcp', '10.96.77.77', 80));
    expect(svc && schedulableRealServers(svc)).toEqual([]);
  });
});

describe('formatIpvsService', () => {
  it.each([
    { name: 'kube-proxy.save', text: kubeText, state: kube },
    { name: 'options.save', text: optionsText, state: options },
  ])('reproduces $name exactly', ({ text, state }) => {
    expect(state.services.map(formatIpvsService).join('\n') + '\n').toBe(text);
  });

  it('prints thresholds after the weight', () => {
    const s = parseIpvs('-A -t 10.1.1.1:80 -s rr\n-a -t 10.1.1.1:80 -r 10.2.2.2:80 -m -w 1 -x 10 -y 5\n');
    expect(s.services[0] && formatIpvsService(s.services[0])).toBe(
      '-A -t 10.1.1.1:80 -s rr\n-a -t 10.1.1.1:80 -r 10.2.2.2:80 -m -w 1 -x 10 -y 5',
    );
  });
});
