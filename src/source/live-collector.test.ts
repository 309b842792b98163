import { describe, expect, it } from 'vitest';
import { collectorPod, collectorPodName, podWaitReason } from './live-collector.js';

describe('collectorPod', () => {
  it('is pinned, host network and PID, privileged, tolerates every taint, mounts no token', () => {
    const pod = collectorPod('node-2', { namespace: 'skoop', image: 'img:1', pullPolicy: 'IfNotPresent', timeoutMs: 60_000, keep: false, runId: 'ab12cd' }) as {
      metadata: { name: string; labels: Record<string, string> };
      spec: Record<string, unknown> & { containers: { image: string; imagePullPolicy: string; securityContext: unknown }[] };
    };
    expect(pod.metadata.name).toBe('skoop-ab12cd-node-2');
    expect(pod.metadata.labels['app.kubernetes.io/name']).toBe('skoop-collector');
    expect(pod.spec).toMatchObject({ nodeName: 'node-2', hostNetwork: true, hostPID: true, automountServiceAccountToken: false, tolerations: [{ operator: 'Exists' }], activeDeadlineSeconds: 120 });
    expect(pod.spec.containers[0]).toMatchObject({ image: 'img:1', imagePullPolicy: 'IfNotPresent', securityContext: { privileged: true } });
  });

  it.each([
    { name: 'long node names are cut to a DNS label with a hash', node: `ip-10-0-0-1.${'x'.repeat(60)}.internal`, want: `skoop-r1-ip-10-0-0-1-${'x'.repeat(34)}-d4d08d3` },
    { name: 'dots become dashes', node: 'node.a', want: 'skoop-r1-node-a' },
  ])('$name', ({ node, want }) => {
    expect(collectorPodName('r1', node)).toBe(want);
    expect(collectorPodName('r1', node).length).toBeLessThanOrEqual(63);
  });
});

describe('podWaitReason', () => {
  it.each([
    {
      name: 'unschedulable',
      pod: { status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] } },
      want: 'Pending: unschedulable: 0/3 nodes are available',
    },
    {
      name: 'image pull back-off',
      pod: { status: { phase: 'Pending', containerStatuses: [{ state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "x"' } } }] } },
      want: 'ImagePullBackOff: Back-off pulling image "x"',
    },
    { name: 'no status yet', pod: {}, want: 'Pending' },
  ])('$name', ({ pod, want }) => {
    expect(podWaitReason(pod)).toBe(want);
  });
});

it('long node names that differ only at the end get different pod names', () => {
  const base = 'worker-pool-'.repeat(6);
  expect(collectorPodName('r1', `${base}1`)).not.toBe(collectorPodName('r1', `${base}2`));
});
