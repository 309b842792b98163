import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lookupListener, parseListeners } from './listeners.js';
import { NetstackParseError } from './parse-error.js';

// `ss -H -l -n -t -u` captured on this machine in fx1-node (test/fixtures/ip/capture.py) while
// node and socat listened: 0.0.0.0:80, `::` dual-stack :8080, `::` v6only :8443, 127.0.0.1:9000,
// 192.168.1.10:9001, [fd00:1::10]:9002, [::ffff:192.168.1.11]:9003, 127.0.0.53%lo:7000 (tcp);
// 0.0.0.0:53, `::` dual-stack :5353, `::` v6only :5354, 10.244.0.1%cni0:7001 (udp); the kernel's
// vxlan sockets on 4789 and 8472.
const listeners = parseListeners(
  readFileSync(new URL('../../test/fixtures/ip/node-listeners.txt', import.meta.url), 'utf8'),
);

describe('parseListeners', () => {
  it('reads every socket', () => {
    expect(listeners.map((l) => `${l.protocol} ${l.local}`).sort()).toEqual(
      [
        'udp 0.0.0.0:4789',
        'udp 10.244.0.1%cni0:7001',
        'udp 0.0.0.0:8472',
        'udp 0.0.0.0:53',
        'udp *:5353',
        'udp [::]:5354',
        'tcp 127.0.0.53%lo:7000',
        'tcp 127.0.0.1:9000',
        'tcp 0.0.0.0:80',
        'tcp 192.168.1.10:9001',
        'tcp *:8080',
        'tcp [::ffff:192.168.1.11]:9003',
        'tcp [fd00:1::10]:9002',
        'tcp [::]:8443',
      ].sort(),
    );
  });

  it.each([
    {
      local: '0.0.0.0:80',
      want: { family: 4, address: '0.0.0.0', port: 80, wildcard: true, state: 'LISTEN' },
    },
    { local: '*:8080', want: { family: 6, address: '::', port: 8080, wildcard: true, v6only: false } },
    { local: '[::]:8443', want: { family: 6, address: '::', port: 8443, wildcard: true, v6only: true } },
    { local: '[fd00:1::10]:9002', want: { family: 6, address: 'fd00:1::10', wildcard: false } },
    { local: '[::ffff:192.168.1.11]:9003', want: { family: 6, address: '192.168.1.11', wildcard: false } },
    { local: '127.0.0.53%lo:7000', want: { family: 4, address: '127.0.0.53', device: 'lo', port: 7000 } },
    { local: '10.244.0.1%cni0:7001', want: { protocol: 'udp', state: 'UNCONN', device: 'cni0' } },
  ])('$local', ({ local, want }) => {
    expect(listeners.find((l) => l.local === local)).toMatchObject(want);
  });

  it('reads lines without the Netid column (a single protocol asked for)', () => {
    expect(
      parseListeners('LISTEN 0 4096 0.0.0.0:22 0.0.0.0:*\nUNCONN 0 0 0.0.0.0:68 0.0.0.0:*\n'),
    ).toMatchObject([
      { protocol: 'tcp', port: 22 },
      { protocol: 'udp', port: 68 },
    ]);
  });

  it('reads the pre-4.16 `:::port` form as a wildcard of unknown v6only (treated as dual-stack)', () => {
    const [l] = parseListeners('tcp LISTEN 0 128 :::10250 :::*\n');
    expect(l).toMatchObject({ family: 6, address: '::', wildcard: true, port: 10250 });
    expect(l?.v6only).toBeUndefined();
    expect(l && lookupListener([l], 'tcp', '10.0.0.1', 10250)).toBe(l);
  });

  it('ignores a trailing process column', () => {
    const [l] = parseListeners(
      'tcp LISTEN 0 4096 127.0.0.1:10248 0.0.0.0:* users:(("kubelet",pid=1,fd=20))\n',
    );
    expect(l).toMatchObject({ address: '127.0.0.1', port: 10248 });
  });

  it.each([
    {
      name: 'an unknown Netid',
      text: 'raw UNCONN 0 0 0.0.0.0:1 0.0.0.0:*',
      message: /line 1: unexpected Netid/,
    },
    { name: 'a missing column', text: '\ntcp LISTEN 0', message: /line 2: expected "State/ },
    { name: 'a bad address', text: 'tcp LISTEN 0 1 300.1.1.1:80 0.0.0.0:*', message: /bad address/ },
    { name: 'a bad port', text: 'tcp LISTEN 0 1 1.1.1.1:99999 0.0.0.0:*', message: /bad port/ },
  ])('rejects $name', ({ text, message }) => {
    expect(() => parseListeners(text)).toThrow(NetstackParseError);
    expect(() => parseListeners(text)).toThrow(message);
  });
});

describe('lookupListener', () => {
  it.each([
    { name: 'v4 wildcard', proto: 'tcp', ip: '10.244.0.1', port: 80, want: '0.0.0.0:80' },
    {
      name: 'dual-stack `*` takes IPv4 (verified: 127.0.0.1 connects)',
      proto: 'tcp',
      ip: '127.0.0.1',
      port: 8080,
      want: '*:8080',
    },
    { name: 'dual-stack `*` takes IPv6', proto: 'tcp', ip: 'fd00:1::10', port: 8080, want: '*:8080' },
    {
      name: 'v6only `[::]` refuses IPv4 (verified: 127.0.0.1 is refused)',
      proto: 'tcp',
      ip: '127.0.0.1',
      port: 8443,
      want: undefined,
    },
    { name: 'v6only `[::]` takes IPv6', proto: 'tcp', ip: '::1', port: 8443, want: '[::]:8443' },
    {
      name: 'loopback-only socket refuses other addresses',
      proto: 'tcp',
      ip: '192.168.1.10',
      port: 9000,
      want: undefined,
    },
    { name: 'loopback-only socket', proto: 'tcp', ip: '127.0.0.1', port: 9000, want: '127.0.0.1:9000' },
    { name: 'specific address', proto: 'tcp', ip: '192.168.1.10', port: 9001, want: '192.168.1.10:9001' },
    {
      name: 'specific address, other local address',
      proto: 'tcp',
      ip: '192.168.1.11',
      port: 9001,
      want: undefined,
    },
    {
      name: 'IPv4-mapped v6 socket takes its IPv4 address',
      proto: 'tcp',
      ip: '192.168.1.11',
      port: 9003,
      want: '[::ffff:192.168.1.11]:9003',
    },
    { name: 'IPv6 specific address', proto: 'tcp', ip: 'fd00:1::10', port: 9002, want: '[fd00:1::10]:9002' },
    { name: 'udp wildcard', proto: 'udp', ip: '10.96.0.10', port: 53, want: '0.0.0.0:53' },
    { name: 'protocol must match', proto: 'tcp', ip: '10.96.0.10', port: 53, want: undefined },
    { name: 'udp dual-stack', proto: 'udp', ip: '10.0.0.1', port: 5353, want: '*:5353' },
    { name: 'udp v6only', proto: 'udp', ip: '10.0.0.1', port: 5354, want: undefined },
    { name: 'vxlan kernel socket', proto: 'udp', ip: '192.168.1.10', port: 8472, want: '0.0.0.0:8472' },
    { name: 'nothing on the port', proto: 'tcp', ip: '192.168.1.10', port: 443, want: undefined },
  ] as const)('$name', ({ proto, ip, port, want }) => {
    expect(lookupListener(listeners, proto, ip, port)?.local).toBe(want);
  });

  it.each([
    { name: 'device-bound socket takes packets from its device', dev: 'lo', want: '127.0.0.53%lo:7000' },
    { name: 'device-bound socket ignores other devices', dev: 'eth0', want: undefined },
    { name: 'device unknown: assumed to match', dev: undefined, want: '127.0.0.53%lo:7000' },
  ])('$name', ({ dev, want }) => {
    expect(lookupListener(listeners, 'tcp', '127.0.0.53', 7000, dev)?.local).toBe(want);
  });

  it('prefers an exact address over a wildcard, then a device-bound socket, then AF_INET', () => {
    const ls = parseListeners(
      [
        'tcp LISTEN 0 1 *:30000 *:*',
        'tcp LISTEN 0 1 0.0.0.0:30000 0.0.0.0:*',
        'tcp LISTEN 0 1 0.0.0.0%eth0:30000 0.0.0.0:*',
        'tcp LISTEN 0 1 10.0.0.1:30000 0.0.0.0:*',
      ].join('\n'),
    );
    expect(lookupListener(ls, 'tcp', '10.0.0.1', 30000, 'eth0')?.local).toBe('10.0.0.1:30000');
    expect(lookupListener(ls, 'tcp', '10.0.0.2', 30000, 'eth0')?.local).toBe('0.0.0.0%eth0:30000');
    expect(lookupListener(ls, 'tcp', '10.0.0.2', 30000, 'eth1')?.local).toBe('0.0.0.0:30000');
    expect(lookupListener(ls, 'tcp', 'fd00::2', 30000, 'eth1')?.local).toBe('*:30000');
  });
});
