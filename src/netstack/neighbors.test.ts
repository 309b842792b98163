import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { indexNeighbors, lookupNeighbor, neighborUsable, parseNeighbors } from './neighbors.js';
import { NetstackParseError } from './parse-error.js';

// `ip -j neigh show` captured on this machine in fx1-node (test/fixtures/ip/capture.py): entries
// learnt by pinging between our namespaces, plus permanent/stale/noarp/router entries added by hand.
const raw: unknown = JSON.parse(
  readFileSync(new URL('../../test/fixtures/ip/node-neighbors.json', import.meta.url), 'utf8'),
);
const neighbors = parseNeighbors(raw);
const index = indexNeighbors(neighbors);

describe('parseNeighbors', () => {
  it('reads every entry of the capture', () => {
    expect(neighbors.map((n) => `${n.dst}@${n.dev}`).sort()).toEqual(
      [
        '10.244.1.0@flannel.1',
        '192.168.1.1@eth0',
        '192.168.1.51@eth0',
        '192.168.1.77@eth0',
        '10.244.0.11@cni0',
        '192.168.1.50@eth0',
        'fd00:1::1@eth0',
        'fd00:1::5@eth0',
      ].sort(),
    );
  });

  it.each([
    {
      name: 'flannel permanent entry',
      ip: '10.244.1.0',
      dev: 'flannel.1',
      state: ['PERMANENT'],
      lladdr: '66:77:88:99:aa:bb',
      router: false,
    },
    { name: 'learnt gateway', ip: '192.168.1.1', dev: 'eth0', state: ['REACHABLE'], router: false },
    {
      name: 'stale entry',
      ip: '192.168.1.51',
      dev: 'eth0',
      state: ['STALE'],
      lladdr: '02:00:00:00:00:51',
      router: false,
    },
    {
      name: 'failed resolution (no lladdr)',
      ip: '192.168.1.77',
      dev: 'eth0',
      state: ['FAILED'],
      lladdr: undefined,
      router: false,
    },
    {
      name: 'IPv6 router flag',
      ip: 'fd00:1::5',
      dev: 'eth0',
      state: ['PERMANENT'],
      lladdr: '02:00:00:00:00:05',
      router: true,
    },
  ])('$name', ({ ip, dev, state, lladdr, router }) => {
    const n = lookupNeighbor(index, ip, dev);
    expect(n?.state).toEqual(state);
    expect(n?.router).toBe(router);
    if (lladdr !== undefined || state.includes('FAILED')) expect(n?.lladdr).toBe(lladdr);
  });

  it('does not see NOARP entries: `ip neigh show` hides them unless asked for `nud all`', () => {
    expect(lookupNeighbor(index, '192.168.1.52', 'eth0')).toBeUndefined();
    const all = indexNeighbors(
      parseNeighbors(
        JSON.parse(
          readFileSync(new URL('../../test/fixtures/ip/node-neighbors-all.json', import.meta.url), 'utf8'),
        ),
      ),
    );
    expect(lookupNeighbor(all, '192.168.1.52', 'eth0')).toEqual({
      dst: '192.168.1.52',
      dev: 'eth0',
      lladdr: '02:00:00:00:00:52',
      state: ['NOARP'],
      router: false,
      proxy: false,
    });
    expect(lookupNeighbor(all, '192.168.1.52', 'eth0')?.state).toEqual(['NOARP']);
    expect(
      parseNeighbors([{ dst: 'ff02::16', dev: 'tun0', lladdr: '08', state: ['NOARP'] }])[0]?.lladdr,
    ).toBe('08');
  });

  it('reads proxy entries when present', () => {
    const [p] = parseNeighbors([{ dst: '10.244.0.50', dev: 'cni0', proxy: null }]);
    expect(p).toEqual({ dst: '10.244.0.50', dev: 'cni0', state: [], router: false, proxy: true });
  });
});

describe('lookupNeighbor', () => {
  it.each([
    { name: 'matches on address and device', ip: '10.244.0.11', dev: 'cni0', found: true },
    { name: 'is per device', ip: '10.244.0.11', dev: 'eth0', found: false },
    { name: 'normalises IPv6 text', ip: 'FD00:1:0:0::1', dev: 'eth0', found: true },
    { name: 'misses unknown addresses', ip: '192.168.1.99', dev: 'eth0', found: false },
  ])('$name', ({ ip, dev, found }) => {
    expect(lookupNeighbor(index, ip, dev) !== undefined).toBe(found);
  });

  it.each([
    { ip: '192.168.1.1', dev: 'eth0', usable: true },
    { ip: '192.168.1.51', dev: 'eth0', usable: true },
    { ip: '192.168.1.77', dev: 'eth0', usable: false },
  ])('$ip usable: $usable', ({ ip, dev, usable }) => {
    const n = lookupNeighbor(index, ip, dev);
    expect(n !== undefined && neighborUsable(n)).toBe(usable);
  });
});

describe('parseNeighbors errors', () => {
  it.each([
    { name: 'not an array', raw: {}, message: /expected the JSON array/ },
    { name: 'bad dst', raw: [{ dst: 'gateway', dev: 'eth0' }], message: /entry 0: bad "dst"/ },
    { name: 'missing dev', raw: [{ dst: '10.0.0.1' }], message: /entry 0: missing "dev"/ },
    {
      name: 'unknown state',
      raw: [{ dst: '10.0.0.1', dev: 'eth0', state: ['HAPPY'] }],
      message: /bad "state"/,
    },
  ])('rejects $name', ({ raw, message }) => {
    expect(() => parseNeighbors(raw)).toThrow(NetstackParseError);
    expect(() => parseNeighbors(raw)).toThrow(message);
  });
});
