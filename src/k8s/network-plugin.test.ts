import { describe, expect, it } from 'vitest';
import { configMap, daemonSet, loadFixture, node, objects } from '../../test/fixtures/k8s/builders.js';
import { detectNetworkPlugin, parseFlannelNetConf } from './network-plugin.js';

describe('detectNetworkPlugin on fixtures', () => {
  it('flannel cluster: DaemonSet kube-flannel-ds and its net-conf.json', () => {
    const got = detectNetworkPlugin(loadFixture('flannel-cluster.json'));
    expect(got.plugin).toBe('flannel');
    expect(got.backend).toBe('vxlan');
    expect(got.flannel).toEqual({ network: '10.244.0.0/16', backendType: 'vxlan' });
    expect(got.evidence).toContain('DaemonSet kube-flannel/kube-flannel-ds');
    expect(got.evidence).toContain('ConfigMap kube-flannel/kube-flannel-cfg net-conf.json');
    expect(got.policyEngine).toBeUndefined();
  });

  it('calico cluster: DaemonSet calico-node', () => {
    const got = detectNetworkPlugin(loadFixture('calico-cluster.json'));
    expect(got.plugin).toBe('calico');
    expect(got.evidence).toContain('DaemonSet calico-system/calico-node');
    expect(got.others).toBeUndefined();
  });
});

describe('detectNetworkPlugin rules', () => {
  it.each([
    { name: 'kube-flannel-ds', ds: [daemonSet('kube-system', 'kube-flannel-ds-amd64')], plugin: 'flannel' },
    { name: 'calico-node', ds: [daemonSet('kube-system', 'calico-node')], plugin: 'calico' },
    { name: 'kindnet is bridge', ds: [daemonSet('kube-system', 'kindnet')], plugin: 'bridge' },
    { name: 'cilium', ds: [daemonSet('kube-system', 'cilium'), daemonSet('kube-system', 'cilium-envoy')], plugin: 'cilium' },
    { name: 'contiv-vswitch', ds: [daemonSet('kube-system', 'contiv-vswitch')], plugin: 'contiv' },
    { name: 'antrea-agent', ds: [daemonSet('kube-system', 'antrea-agent')], plugin: 'antrea' },
    { name: 'weave-net', ds: [daemonSet('kube-system', 'weave-net')], plugin: 'weave' },
    { name: 'kube-router', ds: [daemonSet('kube-system', 'kube-router')], plugin: 'kube-router' },
    { name: 'by image when renamed', ds: [daemonSet('net', 'cni-agent', ['quay.io/cilium/cilium:v1.16.1@sha256:abcd'])], plugin: 'cilium' },
    { name: 'by image with a registry port', ds: [daemonSet('net', 'node-agent', ['registry.local:5000/calico/node:v3.28.2'])], plugin: 'calico' },
    { name: 'unrelated DaemonSets', ds: [daemonSet('kube-system', 'kube-proxy', ['registry.k8s.io/kube-proxy:v1.31.2']), daemonSet('monitoring', 'node-exporter')], plugin: 'unknown' },
  ])('$name', ({ ds, plugin }) => {
    expect(detectNetworkPlugin(objects({ daemonSets: ds })).plugin).toBe(plugin);
  });

  it('canal: flannel routing with calico policy', () => {
    const got = detectNetworkPlugin(
      objects({
        daemonSets: [daemonSet('kube-system', 'rke2-canal', ['docker.io/rancher/hardened-calico:v3.28.1', 'docker.io/rancher/hardened-flannel:v0.25.6'])],
        configMaps: [configMap('kube-system', 'rke2-canal-config', { 'net-conf.json': '{"Network":"10.42.0.0/16","Backend":{"Type":"vxlan"}}' })],
      }),
    );
    expect(got).toMatchObject({ plugin: 'flannel', policyEngine: 'calico', backend: 'vxlan' });
  });

  it('a higher-priority CNI wins and the others are listed', () => {
    const got = detectNetworkPlugin(objects({ daemonSets: [daemonSet('kube-system', 'kube-flannel-ds'), daemonSet('kube-system', 'cilium')] }));
    expect(got.plugin).toBe('cilium');
    expect(got.others).toEqual(['flannel']);
  });

  it('k3s: flannel without a DaemonSet, from the node annotation', () => {
    const got = detectNetworkPlugin(objects({ nodes: [node({ name: 'k3s-1', annotations: { 'flannel.alpha.coreos.com/backend-type': 'host-gw' } })] }));
    expect(got).toMatchObject({ plugin: 'flannel', backend: 'host-gw' });
    expect(got.evidence).toContain('k3s-1');
  });

  it('calico from IP pools alone', () => {
    const got = detectNetworkPlugin(objects({ ipPools: [{ metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16' } }] }));
    expect(got.plugin).toBe('calico');
  });

  it('flannel DaemonSet whose ConfigMap is missing falls back to node annotations', () => {
    const got = detectNetworkPlugin(
      objects({
        daemonSets: [daemonSet('kube-flannel', 'kube-flannel-ds')],
        nodes: [node({ name: 'n1', annotations: { 'flannel.alpha.coreos.com/backend-type': 'vxlan' } })],
      }),
    );
    expect(got.backend).toBe('vxlan');
    expect(got.flannel).toBeUndefined();
  });

  it('prefers the flannel ConfigMap in the DaemonSet namespace', () => {
    const got = detectNetworkPlugin(
      objects({
        daemonSets: [daemonSet('kube-flannel', 'kube-flannel-ds')],
        configMaps: [
          configMap('kube-system', 'kube-flannel-cfg', { 'net-conf.json': '{"Network":"10.1.0.0/16","Backend":{"Type":"udp"}}' }),
          configMap('kube-flannel', 'kube-flannel-cfg', { 'net-conf.json': '{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}' }),
        ],
      }),
    );
    expect(got.flannel?.network).toBe('10.244.0.0/16');
    expect(got.backend).toBe('host-gw');
  });

  it('broken net-conf.json is reported in the evidence, not thrown', () => {
    const got = detectNetworkPlugin(
      objects({ daemonSets: [daemonSet('kube-flannel', 'kube-flannel-ds')], configMaps: [configMap('kube-flannel', 'kube-flannel-cfg', { 'net-conf.json': '{"Network": ' })] }),
    );
    expect(got.plugin).toBe('flannel');
    expect(got.flannel).toBeUndefined();
    expect(got.evidence).toContain('is not a JSON object');
  });
});

describe('parseFlannelNetConf', () => {
  it.each([
    {
      name: 'vxlan with VNI and port',
      text: '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789,"DirectRouting":true}}',
      want: { network: '10.244.0.0/16', backendType: 'vxlan', vni: 4096, port: 4789, directRouting: true },
    },
    { name: 'no Backend means udp', text: '{"Network":"10.5.0.0/16"}', want: { network: '10.5.0.0/16', backendType: 'udp' } },
    { name: 'a Backend without Type is empty', text: '{"Network":"10.5.0.0/16","Backend":{"VNI":2}}', want: { network: '10.5.0.0/16', backendType: '', vni: 2 } },
    {
      name: 'keys are case-insensitive, type lower-cased',
      text: '{"network":"10.6.0.0/16","backend":{"type":"Host-GW"}}',
      want: { network: '10.6.0.0/16', backendType: 'host-gw' },
    },
    {
      name: 'dual stack',
      text: '{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan"}}',
      want: { network: '10.244.0.0/16', enableIPv6: true, ipv6Network: 'fd00:10:244::/56', backendType: 'vxlan' },
    },
  ])('$name', ({ text, want }) => {
    expect(parseFlannelNetConf(text)).toEqual(want);
  });

  it.each(['', '[]', 'null', '{'])('not an object: %j', (text) => {
    expect(parseFlannelNetConf(text)).toBeUndefined();
  });
});
