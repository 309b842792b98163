/**
 * Netfilter benchmark: a kube-proxy-shaped iptables-save of N services × E endpoints (default
 * 10,000 × 3, about 110,000 rules and 16 MB), timed in one run:
 *   (a) `iptables-restore --test` on it, inside a throwaway network namespace (median of 3);
 *   (b) skoop's parse of the same text (median of 5): the structure is checked, chains are read
 *       when first used;
 *   (b') the parse plus reading every chain and building every index, as a trace touching all
 *       chains would (median of 5);
 *   (c) one packet traced through PREROUTING (nat DNAT) to a backend (median of many, in µs).
 * Run as root: `node --import tsx bench/netfilter.ts [--services N] [--endpoints E]`.
 * Without root or iptables, (a) is skipped and said so.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKubeProxySave, kubeProxyServices, type KubeProxyShape } from './gen-kube-proxy.js';
import { parseIptablesSave } from '../src/netstack/iptables-parse.js';
import { traverseHook, type NfContext } from '../src/netstack/netfilter.js';

const NETNS = 'fx2-bench';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i < 0 ? undefined : Number(process.argv[i + 1]);
  return v !== undefined && Number.isInteger(v) && v > 0 ? v : fallback;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Times `iptables-restore --test < file` in a namespace created for the purpose; a string says why it was skipped. */
function timeRestoreTest(file: string, runs: number): number[] | string {
  if (process.getuid?.() !== 0) return 'skipped: needs root';
  spawnSync('ip', ['netns', 'del', NETNS], { stdio: 'ignore' });
  const add = spawnSync('ip', ['netns', 'add', NETNS], { encoding: 'utf8' });
  if (add.status !== 0) return `skipped: ip netns add failed (${add.stderr.trim()})`;
  try {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const fd = openSync(file, 'r');
      const t0 = performance.now();
      const r = spawnSync('ip', ['netns', 'exec', NETNS, 'iptables-restore', '--test'], {
        stdio: [fd, 'ignore', 'pipe'],
        encoding: 'utf8',
      });
      const t1 = performance.now();
      closeSync(fd);
      if (r.status !== 0)
        return `failed: iptables-restore --test exited ${r.status}: ${r.stderr.trim().slice(0, 200)}`;
      times.push(t1 - t0);
    }
    return times;
  } finally {
    spawnSync('ip', ['netns', 'del', NETNS], { stdio: 'ignore' });
  }
}

function main(): void {
  const shape: KubeProxyShape = {
    services: arg('services', 10_000),
    endpoints: arg('endpoints', 3),
    nodePortEvery: 20,
    noEndpointsEvery: 100,
  };
  const text = generateKubeProxySave(shape);
  const dir = mkdtempSync(join(tmpdir(), 'skoop-bench-'));
  const file = join(dir, 'kube-proxy.iptables-save');
  writeFileSync(file, text);
  try {
    const restore = timeRestoreTest(file, 3);

    const parseTimes: number[] = [];
    const fullTimes: number[] = [];
    let rules = parseIptablesSave(text, 'iptables');
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      rules = parseIptablesSave(text, 'iptables');
      parseTimes.push(performance.now() - t0);
    }
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const all = parseIptablesSave(text, 'iptables');
      for (const table of all.tables.values())
        for (const chain of table.chains.values()) void [chain.rules, chain.index];
      fullTimes.push(performance.now() - t0);
    }

    const services = kubeProxyServices(shape);
    const svc =
      services.find(
        (s, i) => i >= services.length / 2 && s.endpoints.length === shape.endpoints && s.protocol === 'tcp',
      ) ?? services[0];
    if (svc === undefined) throw new Error('no service generated');
    const ctx: NfContext = {
      packet: {
        family: 4,
        protocol: svc.protocol,
        src: '10.128.250.7',
        dst: svc.clusterIP,
        sport: 41234,
        dport: svc.port,
        mark: 0,
        tcpFlags: ['SYN'],
      },
      inIf: 'cni0',
      ctState: 'NEW',
      addrType: (ip) => (ip === '192.168.49.2' ? 'LOCAL' : 'UNICAST'),
    };
    let outcomes = traverseHook(rules, 'PREROUTING', ctx);
    for (let i = 0; i < 500; i++) traverseHook(rules, 'PREROUTING', ctx);
    const traceTimes: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const t0 = performance.now();
      outcomes = traverseHook(rules, 'PREROUTING', ctx);
      traceTimes.push((performance.now() - t0) * 1000);
    }

    const a = typeof restore === 'string' ? undefined : median(restore);
    const b = median(parseTimes);
    const bFull = median(fullTimes);
    const c = median(traceTimes);
    const mb = (text.length / 1e6).toFixed(1);
    const lines = [
      `kube-proxy rule set: ${shape.services} services × ${shape.endpoints} endpoints, ${rules.ruleCount.toLocaleString('en')} rules, ${mb} MB`,
      '',
      '| step | median |',
      '|---|---|',
      `| (a) iptables-restore --test (netns ${NETNS}, 3 runs) | ${a === undefined ? restore : `${a.toFixed(0)} ms`} |`,
      `| (b) skoop parse, chains read on first use (5 runs) | ${b.toFixed(0)} ms |`,
      `| (b') skoop parse + every chain read and indexed (5 runs) | ${bFull.toFixed(0)} ms |`,
      `| (c) trace PREROUTING to ${svc.clusterIP}:${svc.port} (5000 runs) | ${c.toFixed(1)} µs |`,
      `| ratio (b)/(a) | ${a === undefined ? 'n/a' : (b / a).toFixed(2)} |`,
      `| ratio (b')/(a) | ${a === undefined ? 'n/a' : (bFull / a).toFixed(2)} |`,
      '',
      `trace outcomes: ${outcomes.map((o) => `${o.verdict} ${o.nat?.to ?? o.packet.dst} p=${o.probability.toFixed(3)}`).join(', ')}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
