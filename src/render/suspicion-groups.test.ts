import { describe, expect, it } from 'vitest';
import {
  partialServiceBlackhole,
  reachablePodToPod,
  unknownNotCollected,
} from '../../test/fixtures/results/examples.js';
import type { Result } from '../model/result.js';
import type { Suspicion } from '../model/suspicion.js';
import { groupSuspicions } from './suspicion-groups.js';

const s = (on: string, level: Suspicion['level'], code: Suspicion['code']): Suspicion => ({
  on,
  level,
  code,
  message: '',
});

describe('groupSuspicions', () => {
  it.each([
    {
      name: 'the worst hop first',
      result: partialServiceBlackhole(),
      groups: [
        ['node-2', 'fatal', ['ROUTE_BLACKHOLE']],
        ['node-1', 'warning', ['MTU_MISMATCH']],
      ],
    },
    {
      name: 'most severe first within a hop',
      result: unknownNotCollected(),
      groups: [['node-1', 'critical', ['NETSTACK_NOT_COLLECTED', 'POLICY_ROUTING']]],
    },
    {
      name: 'ties in path order, hops off the path last',
      result: {
        ...reachablePodToPod(),
        suspicions: [
          s('cluster', 'warning', 'NETWORK_POLICY_NOT_ENFORCED'),
          s('node-2', 'warning', 'MTU_MISMATCH'),
          s('default/client', 'warning', 'POD_NOT_READY'),
          s('node-2', 'info', 'POLICY_ROUTING'),
          s('node-2', 'warning', 'SYSCTL_MISMATCH'),
        ],
      } satisfies Result,
      groups: [
        ['default/client', 'warning', ['POD_NOT_READY']],
        ['node-2', 'warning', ['MTU_MISMATCH', 'SYSCTL_MISMATCH', 'POLICY_ROUTING']],
        ['cluster', 'warning', ['NETWORK_POLICY_NOT_ENFORCED']],
      ],
    },
    { name: 'no suspicion, no group', result: reachablePodToPod(), groups: [] },
  ])('$name', ({ result, groups }) => {
    expect(groupSuspicions(result).map((g) => [g.on, g.worst, g.suspicions.map((x) => x.code)])).toEqual(
      groups,
    );
  });
});
