import { describe, expect, it } from 'vitest';
import { computedMatrix, expectedMatrix, formatMatrix, modelObjects } from './conformance-model.js';
import { UPSTREAM_CASES } from './upstream-netpol-cases.js';

const rows = UPSTREAM_CASES.flatMap((c) =>
  c.steps.flatMap((step, s) =>
    step.probes.map((probe) => ({
      name: `${c.name} [step ${s + 1}, ${probe.protocol} ${probe.port}]`,
      step,
      probe,
    })),
  ),
);

describe('upstream NetworkPolicy e2e cases (x, y, z × a, b, c)', () => {
  it('covers every upstream case', () => {
    expect(UPSTREAM_CASES).toHaveLength(48);
  });

  it.each(rows)('$name', ({ step, probe }) => {
    const got = computedMatrix(modelObjects(step.policies, step.changes), probe.port, probe.protocol);
    expect(formatMatrix(got)).toBe(formatMatrix(expectedMatrix(probe.expect)));
  });
});
