// The comparison between kernel attempts and a simulated verdict (no namespaces needed).
import { describe, expect, it } from 'vitest';
import type { Attempt } from './lib/lab.js';
import { expectSimulationAgrees, splitHostPort } from './lib/simulation.js';
import type { ConnectionVerdict, SimulatedBranch } from './lib/simulation.js';

const srv = (host: string, local: string, peer: string): Attempt => ({
  outcome: 'connected',
  local: '10.0.1.2:40000',
  clientSaw: '10.96.0.10:80',
  server: { host, local, peer },
});
const branch = (b: Partial<SimulatedBranch> & Pick<SimulatedBranch, 'outcome'>): SimulatedBranch => ({
  probability: 1,
  steps: [],
  unsupported: [],
  ...b,
});
const verdict = (...branches: SimulatedBranch[]): ConnectionVerdict => ({ branches, warnings: [] });

const kernel3: Attempt[] = [
  srv('srv1', '10.0.2.11:8080', '10.0.2.1:51000'),
  srv('srv2', '10.0.2.12:8080', '10.0.2.1:51001'),
  srv('srv3', '10.0.2.13:8080', '10.0.2.1:51002'),
  srv('srv1', '10.0.2.11:8080', '10.0.2.1:51003'),
];
const sim3 = (p: number): SimulatedBranch[] =>
  ['1', '2', '3'].map((i) =>
    branch({
      probability: p,
      outcome: 'connected',
      server: { host: `srv${i}`, local: `10.0.2.1${i}:8080`, peer: '10.0.2.1:1' },
      clientSaw: '10.96.0.10:80',
    }),
  );

describe('expectSimulationAgrees', () => {
  it.each([
    { name: 'three backends, ephemeral ports ignored', kernel: kernel3, v: verdict(...sim3(1 / 3)) },
    {
      name: 'a timeout',
      kernel: [{ outcome: 'timeout' } as Attempt],
      v: verdict(branch({ outcome: 'timeout' })),
    },
    {
      name: 'partial: connected and refused',
      kernel: [srv('srv1', '10.0.2.11:8080', '10.0.2.1:5'), { outcome: 'refused' } as Attempt],
      v: verdict(
        branch({
          probability: 0.5,
          outcome: 'connected',
          server: { host: 'srv1', local: '10.0.2.11:8080', peer: '10.0.2.1:9' },
        }),
        branch({ probability: 0.5, outcome: 'refused' }),
      ),
    },
    {
      name: 'zero-probability branches do not count',
      kernel: [{ outcome: 'timeout' } as Attempt],
      v: verdict(branch({ outcome: 'timeout' }), branch({ probability: 0, outcome: 'connected' })),
    },
    {
      name: 'IPv6 addresses with or without brackets',
      kernel: [srv('srv1', '[fd00:2::11]:80', '[fd00:1::2]:4000')].map((a) => ({
        ...a,
        clientSaw: '[fd00:2::11]:80',
      })),
      v: verdict(
        branch({
          outcome: 'connected',
          server: { host: 'srv1', local: '[fd00:2::11]:80', peer: '[fd00:1::2]:1' },
          clientSaw: '[fd00:2::11]:80',
        }),
      ),
    },
  ])('agrees: $name', ({ kernel, v }) => {
    expect(() => expectSimulationAgrees(kernel, v)).not.toThrow();
  });

  it.each([
    {
      name: 'an outcome the kernel did not see',
      kernel: kernel3,
      v: verdict(...sim3(0.25), branch({ probability: 0.25, outcome: 'refused' })),
      msg: /outcomes/,
    },
    {
      name: 'a backend the kernel never reached',
      kernel: kernel3.slice(0, 1),
      v: verdict(...sim3(1 / 3)),
      msg: /servers reached/,
    },
    {
      name: 'a backend the simulator misses',
      kernel: kernel3,
      v: verdict(...sim3(0.5).slice(0, 2)),
      msg: /servers reached/,
    },
    {
      name: 'a wrong translated peer (SNAT missed)',
      kernel: [srv('srv1', '10.0.2.11:8080', '10.0.2.1:5')],
      v: verdict(
        branch({
          outcome: 'connected',
          server: { host: 'srv1', local: '10.0.2.11:8080', peer: '10.0.1.2:5' },
        }),
      ),
      msg: /servers reached/,
    },
    {
      name: 'a wrong client view (un-NAT missed)',
      kernel: [srv('srv1', '10.0.2.11:8080', '10.0.2.1:5')],
      v: verdict(
        branch({
          outcome: 'connected',
          server: { host: 'srv1', local: '10.0.2.11:8080', peer: '10.0.2.1:5' },
          clientSaw: '10.0.2.11:8080',
        }),
      ),
      msg: /client saw/,
    },
    {
      name: 'a connected branch without a server',
      kernel: [srv('srv1', '10.0.2.11:8080', '10.0.2.1:5')],
      v: verdict(branch({ outcome: 'connected' })),
      msg: /names the server/,
    },
    { name: 'probabilities not summing to 1', kernel: kernel3, v: verdict(...sim3(0.3)), msg: /sum to 1/ },
    { name: 'no branch', kernel: kernel3, v: verdict(), msg: /no branch/ },
  ])('disagrees: $name', ({ kernel, v, msg }) => {
    expect(() => expectSimulationAgrees(kernel, v, { label: 'probe' })).toThrow(msg);
  });

  it('compares the peer port when the client bound a fixed source port', () => {
    const k = [srv('srv1', '10.0.2.11:80', '10.0.1.2:50000')];
    const v = (port: number): ConnectionVerdict =>
      verdict(
        branch({
          outcome: 'connected',
          server: { host: 'srv1', local: '10.0.2.11:80', peer: `10.0.1.2:${port}` },
        }),
      );
    expect(() => expectSimulationAgrees(k, v(50000), { sport: 50000 })).not.toThrow();
    expect(() => expectSimulationAgrees(k, v(1234), { sport: 50000 })).toThrow(/servers reached/);
  });
});

describe('splitHostPort', () => {
  it.each([
    { s: '10.0.0.1:80', ip: '10.0.0.1', port: 80 },
    { s: '[fd00::1]:443', ip: 'fd00::1', port: 443 },
    { s: '[::ffff:10.0.0.1]:53', ip: '10.0.0.1', port: 53 },
  ])('$s', ({ s, ip, port }) => {
    expect(splitHostPort(s)).toEqual({ ip, port });
  });

  it('rejects a bare address', () => {
    expect(() => splitHostPort('10.0.0.1')).toThrow(/not an ip:port/);
  });
});
