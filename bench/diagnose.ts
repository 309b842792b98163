/**
 * End-to-end diagnosis benchmark on a generated large snapshot (bench/gen-cluster.ts: 1,000 nodes,
 * 30,000 pods, 10,000 Services × 3 endpoints, three captured nodes with ≈110k kube-proxy rules each).
 *
 * Generates the snapshot once (gzip) into a temporary directory, then runs the built CLI as a
 * separate process N times — `node bin/skoop.js -s pod/… -d svc/… -p … --snapshot big.json.gz
 * --format json` — asserting each time that the verdict is `reachable` through every backend, and
 * reports the median wall time and the peak RSS against the goals (2 s, 600 MB). One more run under
 * `--cpu-prof` says where the time goes.
 *
 * `node --import tsx bench/diagnose.ts [--runs N] [--no-profile] [--keep] [--build] [--rss-hook]` plus the shape
 * flags of bench/gen-cluster.ts (`--backend host-gw`, `--pod-netstack node`, `--nodes N`, …).
 * Builds `dist/` first (`npm run build`) when it is missing or older than `src/`, or with `--build`.
 * Exits 1 when a goal is missed, 2 when the diagnosis is wrong or the CLI fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterPlan, shapeArgs, shapeFromArgs, type ClusterPlan } from './gen-cluster.js';
import { inclusiveMs, summariseProfile, type ProfileSummary } from './cluster-profile.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const GOAL_MS = 2000;
const GOAL_MB = 600;
const TIME = '/usr/bin/time';

/** One timed run of the CLI. */
interface Run {
  readonly wallMs: number;
  /** User + system CPU time: less sensitive than wall time to other load on the machine. */
  readonly cpuMs: number;
  readonly peakMb: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ when missing, older than src/, or when asked; says what it did. */
function ensureBuilt(force: boolean): string {
  const main = join(ROOT, 'dist', 'main.js');
  const stale = existsSync(main) && newestMtime(join(ROOT, 'src')) > statSync(main).mtimeMs;
  if (existsSync(main) && !stale && !force) return 'dist/ up to date';
  const why = force ? '--build' : existsSync(main) ? 'dist/ older than src/' : 'no dist/';
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (!existsSync(main))
    throw new Error(`npm run build did not produce dist/main.js:\n${r.stdout}${r.stderr}`);
  // tsc emits despite type errors elsewhere in the tree: say so rather than stop.
  return `built dist/ (${why})${r.status === 0 ? '' : ', with type errors (tsc exit ' + String(r.status) + ')'}`;
}

/** The preload that reports the process's own peak RSS when /usr/bin/time is not installed. */
function writeRssHook(dir: string): string {
  const hook = join(dir, 'max-rss.mjs');
  writeFileSync(
    hook,
    [
      "import { writeFileSync } from 'node:fs';",
      "process.on('exit', () => {",
      '  const f = process.env.SKOOP_BENCH_RSS;',
      '  const u = process.resourceUsage();',
      '  if (f) writeFileSync(f, `${u.maxRSS} ${u.userCPUTime / 1e6} ${u.systemCPUTime / 1e6}`);',
      '});',
      '',
    ].join('\n'),
  );
  return hook;
}

/** Runs the CLI once; checks the result is the reachable diagnosis the snapshot was built for. */
function runOnce(
  g: ClusterPlan,
  file: string,
  dir: string,
  hook: string | undefined,
  extraNodeArgs: readonly string[] = [],
): Run {
  const cli = [
    'bin/skoop.js',
    '-s',
    g.source,
    '-d',
    g.destination,
    '-p',
    String(g.port),
    '--snapshot',
    file,
    '--format',
    'json',
  ];
  const rssFile = join(dir, 'rss.txt');
  rmSync(rssFile, { force: true });
  const [cmd, args] =
    hook === undefined
      ? [TIME, ['-f', '%M %U %S', '-o', rssFile, process.execPath, ...extraNodeArgs, ...cli]]
      : [process.execPath, ['--import', hook, ...extraNodeArgs, ...cli]];
  const t0 = performance.now();
  const r = spawnSync(cmd, args, {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: '1', SKOOP_BENCH_RSS: rssFile, SKOOP_DEBUG: '1' },
  });
  const wallMs = performance.now() - t0;
  if (r.status !== 0)
    throw new Error(
      `skoop exited ${String(r.status)}${r.signal ? ` (${r.signal})` : ''}:\n${r.stderr.slice(0, 4000)}\n${r.stdout.slice(0, 2000)}`,
    );
  checkResult(g, r.stdout);
  const [kb, user, sys] = (readFileSync(rssFile, 'utf8').trim().split('\n').pop() ?? '')
    .split(' ')
    .map(Number);
  return { wallMs, cpuMs: ((user ?? 0) + (sys ?? 0)) * 1000, peakMb: ((kb ?? 0) * 1024) / 1e6 };
}

interface ResultJson {
  readonly verdict: string;
  readonly suspicions: readonly { readonly level: string; readonly code: string; readonly message: string }[];
  readonly branches?: readonly { readonly outcome: string; readonly backend?: string }[];
}

function checkResult(g: ClusterPlan, stdout: string): void {
  const res = JSON.parse(stdout) as ResultJson;
  const problems: string[] = [];
  if (res.verdict !== 'reachable') problems.push(`verdict ${res.verdict}, expected reachable`);
  for (const s of res.suspicions) problems.push(`suspicion ${s.level} ${s.code}: ${s.message}`);
  const reached = new Set(
    (res.branches ?? []).filter((b) => b.outcome === 'delivered').map((b) => b.backend?.split(' ')[1]),
  );
  for (const b of g.backends) if (!reached.has(b)) problems.push(`backend ${b} not reached`);
  if (problems.length > 0) throw new Error(`wrong diagnosis:\n  ${problems.join('\n  ')}`);
}

/**
 * Where the time goes, from the profile: each stage is the inclusive or the self time of one or
 * more functions (JSON.parse is a builtin: its time is the self time of the function calling it).
 */
const STAGES: readonly [label: string, time: 'total' | 'self', fns: readonly string[]][] = [
  ['gunzip: inflate callbacks (the inflating runs on a libuv thread)', 'total', ['processCallback']],
  ['read snapshot (streamJson: parse as it inflates, prune, check)', 'total', ['streamJson']],
  ['  decode + JSON.parse of each value (self time of #captured)', 'self', ['#captured']],
  ['  find where values end (#scanNested, #scanFast)', 'self', ['#scanNested', '#scanFast']],
  ['  prune and check API objects (pruneObject)', 'total', ['pruneObject']],
  ['index objects (buildClusterIndex)', 'total', ['buildClusterIndex']],
  ['detect CNI (detectNetworkPlugin)', 'total', ['detectNetworkPlugin']],
  ['build world: parse netstack (buildClusterWorld)', 'total', ['buildClusterWorld']],
  ['  parseIptablesSave', 'total', ['parseIptablesSave']],
  ['diagnose: walk + checks (diagnosePath)', 'total', ['diagnosePath']],
  ['  chain indexes, built on first use (buildIndex)', 'total', ['buildIndex']],
  ['render JSON (renderResult)', 'total', ['renderResult']],
  ['garbage collector', 'self', ['(garbage collector)']],
];

function profileReport(s: ProfileSummary): string[] {
  const self = (name: string): number =>
    s.bySelf.filter((e) => e.name === name).reduce((n, e) => n + e.selfMs, 0);
  const lines = [
    `CPU profile (one run, ${s.totalMs.toFixed(0)} ms sampled):`,
    '',
    '| stage | ms |',
    '|---|---:|',
  ];
  for (const [label, time, fns] of STAGES) {
    const ms = fns.reduce((n, fn) => n + (time === 'self' ? self(fn) : inclusiveMs(s, fn)), 0);
    lines.push(`| ${label} | ${ms.toFixed(0)} |`);
  }
  lines.push('', 'top self time:', '', '| ms | function | where |', '|---:|---|---|');
  for (const e of s.bySelf.filter((x) => x.name !== '(idle)' && x.name !== '(program)').slice(0, 15)) {
    lines.push(`| ${e.selfMs.toFixed(0)} | ${e.name} | ${e.where} |`);
  }
  return lines;
}

function main(argv: readonly string[]): void {
  const runsArg = argv.indexOf('--runs');
  const runs = runsArg < 0 ? 5 : Math.max(1, Number(argv[runsArg + 1]) || 5);
  const shape = shapeFromArgs(argv);
  const built = ensureBuilt(argv.includes('--build'));
  const dir = mkdtempSync(join(tmpdir(), 'skoop-diagnose-bench-'));
  try {
    const file = join(dir, 'big.json.gz');
    // Generated in a child process, so that this one stays small while the CLI runs.
    const tg = performance.now();
    const gen = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'bench/gen-cluster.ts', '-o', file, ...shapeArgs(shape)],
      { cwd: ROOT, encoding: 'utf8' },
    );
    if (gen.status !== 0) throw new Error(`bench/gen-cluster.ts failed:\n${gen.stderr}`);
    const genMs = performance.now() - tg;
    const g = clusterPlan(shape);
    const hook = existsSync(TIME) && !argv.includes('--rss-hook') ? undefined : writeRssHook(dir);
    const [description, wrote] = gen.stdout.split('\n');
    const out: string[] = [
      description ?? '',
      `${wrote ?? ''} in ${(genMs / 1000).toFixed(1)} s; ${built}`,
      `command: node bin/skoop.js -s ${g.source} -d ${g.destination} -p ${g.port} --snapshot big.json.gz --format json`,
      `peak RSS from ${hook === undefined ? '/usr/bin/time -f %M' : 'process.resourceUsage().maxRSS (a preloaded hook: --rss-hook, or /usr/bin/time not installed)'}`,
      '',
    ];
    process.stdout.write(out.join('\n'));
    const results: Run[] = [];
    for (let i = 0; i < runs; i++) results.push(runOnce(g, file, dir, hook));
    const wall = median(results.map((r) => r.wallMs));
    const peak = Math.max(...results.map((r) => r.peakMb));
    const peakMedian = median(results.map((r) => r.peakMb));
    const okTime = wall < GOAL_MS;
    const okMem = peak < GOAL_MB;
    const table = [
      '',
      `| run | wall (ms) | CPU user+sys (ms) | peak RSS (MB) |`,
      '|---:|---:|---:|---:|',
      ...results.map(
        (r, i) => `| ${i + 1} | ${r.wallMs.toFixed(0)} | ${r.cpuMs.toFixed(0)} | ${r.peakMb.toFixed(0)} |`,
      ),
      '',
      '| metric | value | goal | |',
      '|---|---:|---:|---|',
      `| wall time, median of ${runs} | ${wall.toFixed(0)} ms | < ${GOAL_MS} ms | ${okTime ? 'PASS' : 'FAIL'} |`,
      `| CPU time, median of ${runs} | ${median(results.map((r) => r.cpuMs)).toFixed(0)} ms | | (GC threads run in parallel) |`,
      `| peak RSS, max of ${runs} (median ${peakMedian.toFixed(0)}) | ${peak.toFixed(0)} MB | < ${GOAL_MB} MB | ${okMem ? 'PASS' : 'FAIL'} |`,
      '',
      `verdict: reachable through ${g.backends.length} backends in every run; overall ${okTime && okMem ? 'PASS' : 'FAIL'}`,
      '',
    ];
    process.stdout.write(table.join('\n'));
    if (!argv.includes('--no-profile')) {
      const profDir = join(dir, 'prof');
      runOnce(g, file, dir, hook, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval', '500']);
      const prof = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      if (prof !== undefined) {
        process.stdout.write(`\n${profileReport(summariseProfile(join(profDir, prof))).join('\n')}\n`);
        if (argv.includes('--keep'))
          process.stdout.write(`\nprofile: ${join(profDir, prof)} (open in Chrome DevTools → Performance)\n`);
      }
    }
    if (argv.includes('--keep')) process.stdout.write(`kept ${dir}\n`);
    process.exitCode = okTime && okMem ? 0 : 1;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  } finally {
    if (!argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2));
