import { describe, expect, it } from 'vitest';
import type { PacketSummary } from '../model/result.js';
import { describeNat, formatDestination, formatHostPort, formatPacket } from './packet-text.js';

const pkt = (over: Partial<PacketSummary> = {}): PacketSummary => ({
  src: '10.244.1.5',
  sport: 40000,
  dst: '10.96.0.10',
  dport: 80,
  protocol: 'tcp',
  ...over,
});

describe('formatHostPort', () => {
  it.each([
    { name: 'IPv4 with port', ip: '10.0.0.1', port: 80, text: '10.0.0.1:80' },
    { name: 'IPv6 with port is bracketed', ip: 'fd00::1', port: 443, text: '[fd00::1]:443' },
    { name: 'no port', ip: 'fd00::1', port: undefined, text: 'fd00::1' },
    { name: 'port 0 means none', ip: '10.0.0.1', port: 0, text: '10.0.0.1' },
  ])('$name', ({ ip, port, text }) => {
    expect(formatHostPort(ip, port)).toBe(text);
  });
});

describe('formatPacket', () => {
  it.each([
    { name: 'tcp', packet: pkt(), text: '10.244.1.5:40000 → 10.96.0.10:80 tcp' },
    {
      name: 'udp over IPv6',
      packet: pkt({ src: 'fd00::5', dst: 'fd00::a', protocol: 'udp', dport: 53 }),
      text: '[fd00::5]:40000 → [fd00::a]:53 udp',
    },
    {
      name: 'icmp has no ports',
      packet: pkt({ protocol: 'icmp', sport: 0, dport: 0 }),
      text: '10.244.1.5 → 10.96.0.10 icmp',
    },
  ])('$name', ({ packet, text }) => {
    expect(formatPacket(packet)).toBe(text);
  });
});

describe('formatDestination', () => {
  it.each([
    { name: 'with port and protocol', port: 80, protocol: 'tcp' as const, text: '10.96.0.10:80/tcp' },
    { name: 'icmp without port', port: undefined, protocol: 'icmp' as const, text: '10.96.0.10/icmp' },
    { name: 'bare address', port: undefined, protocol: undefined, text: '10.96.0.10' },
  ])('$name', ({ port, protocol, text }) => {
    expect(
      formatDestination({
        ip: '10.96.0.10',
        type: 'service',
        id: 'default/web',
        ...(port === undefined ? {} : { port }),
        ...(protocol === undefined ? {} : { protocol }),
      }),
    ).toBe(text);
  });
});

describe('describeNat', () => {
  it.each([
    { name: 'unchanged packet', after: pkt(), nat: [] },
    {
      name: 'DNAT to a backend',
      after: pkt({ dst: '10.244.2.9', dport: 8080 }),
      nat: ['DNAT 10.96.0.10:80 → 10.244.2.9:8080'],
    },
    {
      name: 'SNAT (masquerade)',
      after: pkt({ src: '192.168.1.10', sport: 61234 }),
      nat: ['SNAT 10.244.1.5:40000 → 192.168.1.10:61234'],
    },
    {
      name: 'both',
      after: pkt({ src: '10.244.1.1', dst: '10.244.2.9', dport: 8080 }),
      nat: ['DNAT 10.96.0.10:80 → 10.244.2.9:8080', 'SNAT 10.244.1.5:40000 → 10.244.1.1:40000'],
    },
  ])('$name', ({ after, nat }) => {
    expect(describeNat(pkt(), after)).toEqual(nat);
  });

  it('ignores ports for icmp', () => {
    const before = pkt({ protocol: 'icmp', sport: 0, dport: 0 });
    expect(describeNat(before, { ...before, dst: '10.244.2.9' })).toEqual(['DNAT 10.96.0.10 → 10.244.2.9']);
  });
});
