import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NetstackParseError } from './parse-error.js';
import {
  acceptLocal,
  bridgeNfCallIptables,
  icmpEchoIgnoreAll,
  ignoreRoutesWithLinkdown,
  ipLocalPortRange,
  ipv4Forwarding,
  ipv6Forwarding,
  num,
  parseSysctls,
  proxyArp,
  routeLocalnet,
  rpFilter,
  srcValidMark,
  sysctlDevName,
} from './sysctls.js';

// `ip netns exec fx1-node sysctl -a` restricted to `net.` lines, captured on this machine
// (test/fixtures/ip/capture.py). The namespace sets: ip_forward=1, all.rp_filter=0, eth0.rp_filter=2,
// cni0.rp_filter=1, mv0.rp_filter=1, cni0.proxy_arp=1, flannel/1.forwarding=0,
// eth0.route_localnet=1, eth1/100.accept_local=1, eth0/mv0.src_valid_mark=1,
// ipv6 cni0.forwarding=0 (all.forwarding=1). br_netfilter is loaded on this host.
const text = readFileSync(new URL('../../test/fixtures/ip/node-sysctls.txt', import.meta.url), 'utf8');
const s = parseSysctls(text);

describe('parseSysctls', () => {
  it('reads every line of the capture', () => {
    expect(s.size).toBe(text.split('\n').filter((l) => l !== '').length);
    expect(s.get('net.ipv4.ip_forward')).toBe('1');
  });

  it.each([
    { key: 'net.ipv4.ip_local_port_range', value: '32768\t60999' },
    { key: 'net.ipv4.ip_local_reserved_ports', value: '' },
    { key: 'net.ipv4.conf.eth1/100.accept_local', value: '1' },
    { key: 'net.ipv4.conf.flannel/1.forwarding', value: '0' },
  ])('$key = $value', ({ key, value }) => {
    expect(s.get(key)).toBe(value);
  });

  it('skips empty lines and rejects anything that is not key = value, with its line number', () => {
    expect(parseSysctls('\nnet.a = 1\n\n').get('net.a')).toBe('1');
    expect(() => parseSysctls('net.a = 1\nsysctl: permission denied on key "net.b"\n')).toThrow(
      NetstackParseError,
    );
    expect(() => parseSysctls('net.a = 1\nsysctl: permission denied on key "net.b"\n')).toThrow(
      /^sysctls, line 2: /,
    );
  });
});

describe('lookups with the kernel semantics', () => {
  it.each([
    { name: 'rp_filter: max(all=0, cni0=1) is strict', f: () => rpFilter(s, 'cni0'), want: 1 },
    { name: 'rp_filter: max(all=0, eth0=2) is loose', f: () => rpFilter(s, 'eth0'), want: 2 },
    { name: 'rp_filter: all=0, lo=0 is off', f: () => rpFilter(s, 'lo'), want: 0 },
    { name: 'rp_filter of an unknown device is unknown', f: () => rpFilter(s, 'eth9'), want: undefined },
    { name: 'forwarding per input device (cni0)', f: () => ipv4Forwarding(s, 'cni0'), want: true },
    {
      name: 'forwarding per input device with a dot in its name (flannel.1)',
      f: () => ipv4Forwarding(s, 'flannel.1'),
      want: false,
    },
    {
      name: 'forwarding falls back to ip_forward for an unknown device',
      f: () => ipv4Forwarding(s, 'eth9'),
      want: true,
    },
    {
      name: 'IPv6 forwarding is namespace-wide: cni0.forwarding=0 still forwards',
      f: () => ipv6Forwarding(s, 'cni0'),
      want: true,
    },
    { name: 'proxy_arp: all OR cni0', f: () => proxyArp(s, 'cni0'), want: true },
    { name: 'proxy_arp off on eth0', f: () => proxyArp(s, 'eth0'), want: false },
    { name: 'accept_local on eth1.100 (key eth1/100)', f: () => acceptLocal(s, 'eth1.100'), want: true },
    { name: 'accept_local off on eth0', f: () => acceptLocal(s, 'eth0'), want: false },
    { name: 'route_localnet on eth0', f: () => routeLocalnet(s, 'eth0'), want: true },
    { name: 'route_localnet off on cni0', f: () => routeLocalnet(s, 'cni0'), want: false },
    { name: 'src_valid_mark on mv0', f: () => srcValidMark(s, 'mv0'), want: true },
    { name: 'src_valid_mark off on cni0', f: () => srcValidMark(s, 'cni0'), want: false },
    {
      name: 'ignore_routes_with_linkdown defaults to off',
      f: () => ignoreRoutesWithLinkdown(s, 'vnocarrier'),
      want: false,
    },
    { name: 'bridge-nf-call-iptables (br_netfilter loaded)', f: () => bridgeNfCallIptables(s), want: true },
    { name: 'icmp_echo_ignore_all', f: () => icmpEchoIgnoreAll(s), want: false },
  ])('$name', ({ f, want }) => {
    expect(f()).toBe(want);
  });

  it('reads the local port range', () => {
    expect(ipLocalPortRange(s)).toEqual({ low: 32768, high: 60999 });
  });

  it('answers undefined for missing keys, never a default', () => {
    const empty = parseSysctls('');
    expect([
      rpFilter(empty, 'eth0'),
      ipv4Forwarding(empty, 'eth0'),
      ipv6Forwarding(empty, 'eth0'),
      proxyArp(empty, 'eth0'),
      bridgeNfCallIptables(empty),
      icmpEchoIgnoreAll(empty),
      ipLocalPortRange(empty),
    ]).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, undefined]);
  });

  it('treats an absent net.bridge key as br_netfilter not loaded', () => {
    expect(bridgeNfCallIptables(parseSysctls('net.ipv4.ip_forward = 1\n'))).toBeUndefined();
  });

  it('honours force_forwarding on the input device when IPv6 forwarding is off', () => {
    const off = parseSysctls('net.ipv6.conf.all.forwarding = 0\nnet.ipv6.conf.eth0.force_forwarding = 1\n');
    expect([ipv6Forwarding(off, 'eth0'), ipv6Forwarding(off, 'eth1')]).toEqual([true, false]);
  });

  it('takes the larger rp_filter of all and the device', () => {
    const t = parseSysctls('net.ipv4.conf.all.rp_filter = 2\nnet.ipv4.conf.eth0.rp_filter = 1\n');
    expect(rpFilter(t, 'eth0')).toBe(2);
  });
});

describe('helpers', () => {
  it.each([
    { value: '1', want: 1 },
    { value: ' 42 ', want: 42 },
    { value: '-1', want: -1 },
    { value: '32768\t60999', want: undefined },
    { value: undefined, want: undefined },
  ])('num($value) = $want', ({ value, want }) => {
    expect(num(value)).toBe(want);
  });

  it('writes dots of a device name as slashes', () => {
    expect(sysctlDevName('eth0.100')).toBe('eth0/100');
    expect(sysctlDevName('flannel.1')).toBe('flannel/1');
  });
});
