import { describe, expect, it } from 'vitest';
import { node, pod, svc } from '../../test/fixtures/k8s/builders.js';
import { canonicalIp, nodeInternalIps, nodeIps, pickIp, podIps, serviceIps } from './addresses.js';
import { ipPoolForIp, nodePodCidrs, podIpInNodeCidr } from './pod-cidr.js';
import type { IPPool, Node } from './objects.js';

describe('addresses', () => {
  it.each([
    { name: 'canonical IPv4 as is', text: '10.244.1.5' as unknown, want: '10.244.1.5' },
    { name: 'IPv6 compressed, lower case', text: 'FD00:0:0:0::1', want: 'fd00::1' },
    { name: 'IPv4-mapped IPv6 is the IPv4 address', text: '::ffff:10.0.0.1', want: '10.0.0.1' },
    { name: 'octet above 255', text: '10.0.0.256', want: undefined },
    { name: 'None (headless ClusterIP)', text: 'None', want: undefined },
    { name: 'not a string', text: 5, want: undefined },
  ])('canonicalIp: $name', ({ text, want }) => {
    expect(canonicalIp(text)).toBe(want);
  });

  it('podIps: primary first, canonical, no repeats, invalid skipped', () => {
    const p = pod({ name: 'a', ips: ['10.1.0.4', 'FD00::0004', 'garbage'] });
    expect(podIps(p)).toEqual(['10.1.0.4', 'fd00::4']);
  });

  it('nodeIps: InternalIP and ExternalIP only', () => {
    const n = node({ name: 'n', ips: ['10.0.0.1', 'fd00::1'], externalIps: ['203.0.113.1'] });
    expect(nodeIps(n)).toEqual([
      { ip: '10.0.0.1', type: 'InternalIP' },
      { ip: 'fd00::1', type: 'InternalIP' },
      { ip: '203.0.113.1', type: 'ExternalIP' },
    ]);
    expect(nodeInternalIps(n)).toEqual({ v4: '10.0.0.1', v6: 'fd00::1' });
  });

  it('serviceIps: ClusterIPs, externalIPs, LB ingress, skipping None', () => {
    const s = svc({ name: 's', clusterIPs: ['10.96.0.3', 'fd00:96::3'], externalIPs: ['198.51.100.7'], lbIps: ['203.0.113.9'] });
    expect(serviceIps(s)).toEqual([
      { ip: '10.96.0.3', role: 'clusterIP' },
      { ip: 'fd00:96::3', role: 'clusterIP' },
      { ip: '198.51.100.7', role: 'externalIP' },
      { ip: '203.0.113.9', role: 'loadBalancer' },
    ]);
    expect(serviceIps(svc({ name: 'h', clusterIP: 'None' }))).toEqual([]);
  });

  it.each([
    { name: 'primary', family: undefined, want: '10.0.0.1' },
    { name: 'v6', family: 6 as const, want: 'fd00::1' },
    { name: 'v4', family: 4 as const, want: '10.0.0.1' },
  ])('pickIp: $name', ({ family, want }) => {
    expect(pickIp(['10.0.0.1', 'fd00::1'], family)).toBe(want);
  });
});

describe('pod CIDRs and pools', () => {
  const legacy: Node = { metadata: { name: 'old' }, spec: { podCIDR: '10.244.3.0/24' } };
  it.each([
    { name: 'podCIDRs wins', n: node({ name: 'n', podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'] }), want: ['10.244.1.0/24', 'fd00:1::/64'] },
    { name: 'podCIDR alone (old clusters)', n: legacy, want: ['10.244.3.0/24'] },
    { name: 'none', n: node({ name: 'n' }), want: [] },
  ])('nodePodCidrs: $name', ({ n, want }) => {
    expect(nodePodCidrs(n)).toEqual(want);
  });

  it.each([
    { name: 'inside', ip: '10.244.3.9', want: true },
    { name: 'outside', ip: '10.244.4.9', want: false },
    { name: 'no CIDR of that family', ip: 'fd00::9', want: undefined },
  ])('podIpInNodeCidr: $name', ({ ip, want }) => {
    expect(podIpInNodeCidr(ip, legacy)).toBe(want);
  });

  const pools: IPPool[] = [
    { metadata: { name: 'wide' }, spec: { cidr: '10.0.0.0/8' } },
    { metadata: { name: 'narrow' }, spec: { cidr: '10.1.0.0/16' } },
    { metadata: { name: 'old' }, spec: { cidr: '10.1.2.0/24', disabled: true } },
    { metadata: { name: 'gone' }, spec: { cidr: '172.16.0.0/16', disabled: true } },
  ];
  it.each([
    { name: 'longest prefix among enabled', ip: '10.1.2.3', want: 'narrow' },
    { name: 'wide pool', ip: '10.9.0.1', want: 'wide' },
    { name: 'only a disabled pool holds it', ip: '172.16.0.5', want: 'gone' },
    { name: 'none', ip: '192.168.0.1', want: undefined },
  ])('ipPoolForIp: $name', ({ ip, want }) => {
    expect(ipPoolForIp(ip, pools)?.metadata.name).toBe(want);
  });
});
