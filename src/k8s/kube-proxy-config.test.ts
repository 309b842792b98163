import { describe, expect, it } from 'vitest';
import { configMap, loadFixture, objects, readFixtureJson } from '../../test/fixtures/k8s/builders.js';
import { parseKubeProxyConfig, readKubeProxyConfig } from './kube-proxy-config.js';
import type { ConfigMap } from './objects.js';

const fixtureConfigMap = (file: string): ConfigMap => readFixtureJson(file) as ConfigMap;

describe('readKubeProxyConfig (kubeadm ConfigMaps)', () => {
  it.each([
    {
      name: 'iptables (mode "")',
      file: 'kube-proxy-iptables.json',
      want: { mode: 'iptables', configuredMode: '', clusterCIDR: '10.244.0.0/16', ipvsStrictARP: false, masqueradeAll: false },
    },
    {
      name: 'ipvs',
      file: 'kube-proxy-ipvs.json',
      want: { mode: 'ipvs', configuredMode: 'ipvs', clusterCIDR: '192.168.0.0/16,fd00:10:244::/48', ipvsScheduler: 'rr', ipvsStrictARP: true },
    },
    { name: 'nftables, quoted, with comments', file: 'kube-proxy-nftables.json', want: { mode: 'nftables', configuredMode: 'nftables', clusterCIDR: '10.42.0.0/16' } },
  ])('$name', ({ file, want }) => {
    const got = readKubeProxyConfig(objects({ configMaps: [fixtureConfigMap(file)] }));
    expect(got).toMatchObject(want);
    expect(got?.evidence).toContain('ConfigMap kube-system/kube-proxy config.conf');
  });

  it('reads nested keys and ignores lists and the kubeconfig', () => {
    const got = readKubeProxyConfig(objects({ configMaps: [fixtureConfigMap('kube-proxy-nftables.json')] }));
    expect(got?.values.get('nftables.masqueradeAll')).toBe('true');
    expect(got?.values.get('clientConnection.kubeconfig')).toBe('/var/lib/kube-proxy/kubeconfig.conf');
    expect(got?.values.get('featureGates.NFTablesProxyMode')).toBe('true');
    expect(got?.values.has('nodePortAddresses')).toBe(false);
    const ipvs = readKubeProxyConfig(objects({ configMaps: [fixtureConfigMap('kube-proxy-ipvs.json')] }));
    expect(ipvs?.values.get('logging.options.json.infoBufferSize')).toBe('0');
    expect(ipvs?.values.get('conntrack.maxPerCore')).toBe('null');
  });

  it('is found among the cluster ConfigMaps of the fixtures', () => {
    expect(readKubeProxyConfig(loadFixture('flannel-cluster.json'))?.mode).toBe('iptables');
    expect(readKubeProxyConfig(loadFixture('calico-cluster.json'))?.mode).toBe('ipvs');
  });

  it.each([
    { name: 'no ConfigMap', cms: [] },
    { name: 'other namespace', cms: [configMap('default', 'kube-proxy', { 'config.conf': 'mode: ipvs' })] },
    { name: 'no config.conf key', cms: [configMap('kube-system', 'kube-proxy', { 'kubeconfig.conf': 'x' })] },
  ])('undefined: $name', ({ cms }) => {
    expect(readKubeProxyConfig(objects({ configMaps: cms }))).toBeUndefined();
  });
});

describe('parseKubeProxyConfig', () => {
  it.each([
    { name: 'plain', text: 'mode: ipvs\n', mode: 'ipvs', configured: 'ipvs' },
    { name: 'double quoted', text: 'mode: "ipvs"\n', mode: 'ipvs', configured: 'ipvs' },
    { name: 'single quoted', text: "mode: 'nftables'\n", mode: 'nftables', configured: 'nftables' },
    { name: 'trailing comment', text: 'mode: ipvs # fast\n', mode: 'ipvs', configured: 'ipvs' },
    { name: 'empty string', text: 'mode: ""\n', mode: 'iptables', configured: '' },
    { name: 'absent', text: 'kind: KubeProxyConfiguration\n', mode: 'iptables', configured: '' },
    { name: 'CRLF line ends', text: 'kind: KubeProxyConfiguration\r\nmode: ipvs\r\n', mode: 'ipvs', configured: 'ipvs' },
    { name: 'nested mode key is not the mode', text: 'winkernel:\n  mode: x\nmode: ipvs\n', mode: 'ipvs', configured: 'ipvs' },
    { name: 'only the top-level key counts', text: 'detectLocal:\n  mode: ipvs\n', mode: 'iptables', configured: '' },
    { name: 'unknown value', text: 'mode: userspace\n', mode: 'unknown', configured: 'userspace' },
    { name: 'JSON config', text: '{"kind":"KubeProxyConfiguration","mode":"ipvs","clusterCIDR":"10.0.0.0/8"}', mode: 'ipvs', configured: 'ipvs' },
    { name: 'block scalar skipped', text: 'note: |\n  mode: ipvs\nmode: nftables\n', mode: 'nftables', configured: 'nftables' },
    { name: 'list items skipped', text: 'items:\n- mode: ipvs\n  other: 1\nmode: ""\n', mode: 'iptables', configured: '' },
  ])('$name', ({ text, mode, configured }) => {
    const got = parseKubeProxyConfig(text);
    expect(got.mode).toBe(mode);
    expect(got.configuredMode).toBe(configured);
  });

  it('evidence says what the mode means', () => {
    expect(parseKubeProxyConfig('mode: ""\nclusterCIDR: 10.244.0.0/16\n', 'cm').evidence).toBe('cm: mode "" (iptables), clusterCIDR 10.244.0.0/16');
  });
});
