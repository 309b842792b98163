/**
 * Admin tier → NetworkPolicy → Baseline tier on the upstream x/y/z model, in the spirit of the
 * network-policy-api conformance suite (its "gress rules", "priority field" and "Pass" scenarios),
 * re-expressed on this model: each row lists the ANPs/BANPs/CNPs/NPs and the expected 9×9 matrix.
 */
import { describe, expect, it } from 'vitest';
import type { NetworkPolicy, PolicyApiObject } from '../../src/k8s/objects.js';
import { computedMatrix, expectedMatrix, formatMatrix, modelObjects, type Expectation } from './conformance-model.js';

const ns = (name: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': name } });
const anp = (name: string, priority: number, subject: object, spec: Record<string, unknown>): PolicyApiObject => ({ metadata: { name }, spec: { priority, subject, ...spec } });
const banp = (spec: Record<string, unknown>): PolicyApiObject => ({ metadata: { name: 'default' }, spec });
const cnp = (name: string, tier: 'Admin' | 'Baseline', priority: number, subject: object, spec: Record<string, unknown>): PolicyApiObject => ({
  metadata: { name },
  spec: { tier, priority, subject, ...spec },
});
const denyIngressX: NetworkPolicy = { metadata: { namespace: 'x', name: 'deny-ingress' }, spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [] } };

interface Row {
  name: string;
  anps?: PolicyApiObject[];
  banps?: PolicyApiObject[];
  cnps?: PolicyApiObject[];
  nps?: NetworkPolicy[];
  port?: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  expect: Expectation[];
}

const rows: Row[] = [
  {
    name: 'ANP Deny ingress from y into x',
    anps: [anp('deny-y-to-x', 10, { namespaces: ns('x') }, { ingress: [{ name: 'deny-y', action: 'Deny', from: [{ namespaces: ns('y') }] }] })],
    expect: [['y/*', 'x/*', false]],
  },
  {
    name: 'ANP Allow overrides a NetworkPolicy default deny',
    anps: [anp('allow-y-to-x', 10, { namespaces: ns('x') }, { ingress: [{ action: 'Allow', from: [{ namespaces: ns('y') }] }] })],
    nps: [denyIngressX],
    expect: [['*', 'x/*', false], ['y/*', 'x/*', true]],
  },
  {
    name: 'ANP Pass hands the decision to the NetworkPolicy',
    anps: [anp('pass-y', 10, { namespaces: ns('x') }, { ingress: [{ action: 'Pass', from: [{ namespaces: ns('y') }] }, { action: 'Allow', from: [{ namespaces: {} }] }] })],
    nps: [denyIngressX],
    expect: [['y/*', 'x/*', false]],
  },
  {
    name: 'lower priority value wins between ANPs',
    anps: [
      anp('allow-first', 5, { namespaces: ns('x') }, { ingress: [{ action: 'Allow', from: [{ pods: { namespaceSelector: ns('y'), podSelector: { matchLabels: { pod: 'a' } } } }] }] }),
      anp('deny-later', 50, { namespaces: ns('x') }, { ingress: [{ action: 'Deny', from: [{ namespaces: ns('y') }] }] }),
    ],
    expect: [['y/*', 'x/*', false], ['y/a', 'x/*', true]],
  },
  {
    name: 'ANP egress Deny on one port only (portNumber), other port unaffected',
    anps: [anp('deny-egress-80', 10, { pods: { namespaceSelector: ns('z'), podSelector: { matchLabels: { pod: 'c' } } } }, { egress: [{ action: 'Deny', to: [{ namespaces: {} }], ports: [{ portNumber: { protocol: 'TCP', port: 80 } }] }] })],
    expect: [['z/c', '*', false]],
  },
  {
    name: 'ANP egress Deny on port 80 does not touch port 81',
    anps: [anp('deny-egress-80', 10, { pods: { namespaceSelector: ns('z'), podSelector: { matchLabels: { pod: 'c' } } } }, { egress: [{ action: 'Deny', to: [{ namespaces: {} }], ports: [{ portNumber: { protocol: 'TCP', port: 80 } }] }] })],
    port: 81,
    expect: [],
  },
  {
    name: 'ANP namedPort and portRange',
    anps: [
      anp('deny-named', 10, { namespaces: ns('y') }, { ingress: [{ action: 'Deny', from: [{ namespaces: ns('x') }], ports: [{ namedPort: 'serve-80-udp' }] }] }),
      anp('deny-range', 11, { namespaces: ns('z') }, { ingress: [{ action: 'Deny', from: [{ namespaces: ns('x') }], ports: [{ portRange: { protocol: 'UDP', start: 79, end: 80 } }] }] }),
    ],
    protocol: 'UDP',
    expect: [['x/*', 'y/*', false], ['x/*', 'z/*', false]],
  },
  {
    name: 'ANP networks match pod IPs',
    anps: [anp('deny-net', 10, { namespaces: ns('x') }, { egress: [{ action: 'Deny', to: [{ networks: ['10.244.2.0/24'] }] }] })],
    expect: [['x/*', 'y/*', false]],
  },
  {
    name: 'BANP Deny applies to pods no NetworkPolicy isolates',
    banps: [banp({ subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: ns('z') }] }] })],
    nps: [{ metadata: { namespace: 'x', name: 'allow-all' }, spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{}] } }],
    expect: [['z/*', 'y/*', false], ['z/*', 'z/*', false]],
  },
  {
    name: 'ANP Pass then BANP Deny when no NetworkPolicy selects the pod',
    anps: [anp('pass-all', 1, { namespaces: {} }, { ingress: [{ action: 'Pass', from: [{ namespaces: ns('y') }] }] })],
    banps: [banp({ subject: { namespaces: ns('x') }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] })],
    expect: [['*', 'x/*', false]],
  },
  {
    name: 'CNP Admin Accept and Baseline Deny (v1alpha2 protocols)',
    cnps: [
      cnp('accept-x-to-y', 'Admin', 5, { namespaces: ns('y') }, { ingress: [{ action: 'Accept', from: [{ namespaces: ns('x') }], protocols: [{ tcp: { destinationPort: { number: 80 } } }] }] }),
      cnp('baseline-deny', 'Baseline', 5, { namespaces: ns('y') }, { ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] }),
    ],
    nps: [],
    expect: [['*', 'y/*', false], ['x/*', 'y/*', true]],
  },
  {
    name: 'CNP destinationNamedPort',
    cnps: [cnp('deny-named', 'Admin', 5, { namespaces: ns('y') }, { ingress: [{ action: 'Deny', from: [{ namespaces: {} }], protocols: [{ destinationNamedPort: 'serve-80-tcp' }] }] })],
    expect: [['*', 'y/*', false]],
  },
  {
    name: 'a peer of unknown shape fails closed: Deny matches all, Allow nothing',
    anps: [
      anp('allow-unknown', 1, { namespaces: ns('x') }, { ingress: [{ action: 'Allow', from: [{ futurePeer: {} }] }] }),
      anp('deny-unknown', 2, { namespaces: ns('x') }, { ingress: [{ action: 'Deny', from: [{ futurePeer: {} }] }] }),
    ],
    expect: [['*', 'x/*', false]],
  },
];

describe('Admin → NetworkPolicy → Baseline tiers on the x/y/z model', () => {
  it.each(rows)('$name', (row) => {
    const objects = modelObjects(row.nps ?? [], {}, { anps: row.anps ?? [], banps: row.banps ?? [], cnps: row.cnps ?? [] });
    const got = computedMatrix(objects, row.port ?? 80, row.protocol ?? 'TCP');
    expect(formatMatrix(got)).toBe(formatMatrix(expectedMatrix(row.expect)));
  });
});
