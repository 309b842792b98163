import { describe, expect, it } from 'vitest';
import { loadFixture } from '../../test/fixtures/k8s/builders.js';
import { isNodeReady, isPodReady, isPodTerminal, unreadyContainers } from './readiness.js';

const cluster = loadFixture('flannel-cluster.json');
const podNamed = (name: string) => {
  const p = cluster.pods.find((x) => x.metadata.name === name);
  if (p === undefined) throw new Error(name);
  return p;
};

describe('readiness', () => {
  it.each([
    { name: 'running and ready', pod: 'web-5b7f9d4c6-k8j2p', ready: true, terminal: false, unready: [] },
    { name: 'running, container not ready', pod: 'web-5b7f9d4c6-q9w7z', ready: false, terminal: false, unready: ['app'] },
    { name: 'pending', pod: 'debug-shell', ready: false, terminal: false, unready: ['debug-shell'] },
    { name: 'job pod that succeeded', pod: 'nightly-report-29391780-7kq5d', ready: false, terminal: true, unready: ['report'] },
  ])('pod: $name', ({ pod, ready, terminal, unready }) => {
    const p = podNamed(pod);
    expect(isPodReady(p)).toBe(ready);
    expect(isPodTerminal(p)).toBe(terminal);
    expect(unreadyContainers(p)).toEqual(unready);
  });

  it.each([
    { name: 'Ready True', node: 'cp1', want: true },
    { name: 'Ready Unknown (kubelet stopped posting)', node: 'worker2', want: false },
  ])('node: $name', ({ node, want }) => {
    const n = cluster.nodes.find((x) => x.metadata.name === node);
    expect(n && isNodeReady(n)).toBe(want);
  });

  it('a node without conditions is not ready', () => {
    expect(isNodeReady({ metadata: { name: 'x' } })).toBe(false);
  });
});
