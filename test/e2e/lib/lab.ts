import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { Dump } from '../../../src/netstack/dump.js';
import { NS_PREFIX, deleteNamespaces, labId } from './cleanup.js';

/** What one connection attempt did, as the client observed it. */
export type Outcome = 'connected' | 'refused' | 'timeout' | 'unreachable' | 'error';

/** What the answering server saw: its host, the address it was reached at and the peer (after NAT). */
export interface ServerView {
  readonly host: string;
  readonly local: string;
  readonly peer: string;
}

/** One connection attempt's result; addresses are `ip:port`, IPv6 as `[ip]:port`. */
export interface Attempt {
  readonly outcome: Outcome;
  /** The client's own address:port (its source after local routing, before any NAT). */
  readonly local?: string;
  /** The address:port the client's socket saw as its peer. */
  readonly clientSaw?: string;
  /** The greeting of the server that answered. */
  readonly server?: ServerView;
  /** The socket error code, for any outcome but connected/timeout. */
  readonly errno?: string;
}

/**
 * A server to start inside a namespace; without `ip` TCP listens on 0.0.0.0 and :: (v6-only) and UDP binds
 * each address the namespace has at that moment (so listen after addressing).
 */
export interface ListenOptions {
  readonly protocol: 'tcp' | 'udp';
  readonly ip?: string;
  readonly port: number;
}

/** A client run inside a namespace: `count` attempts, in parallel unless `sport` is fixed. */
export interface ConnectOptions {
  readonly protocol: 'tcp' | 'udp';
  readonly dst: string;
  readonly port: number;
  /**
   * Per attempt; 1500 ms by default: enough for one SYN retransmission (initial RTO 1 s). Over veth the whole
   * exchange runs in softirq inside connect(), so an ICMPv6 error answering the very first SYN finds the socket
   * locked and is dropped (TcpExtLockDroppedIcmps); the retransmitted SYN's error is the one that counts.
   */
  readonly timeoutMs?: number;
  readonly count?: number;
  readonly src?: string;
  readonly sport?: number;
}

/** One connection or datagram a server recorded. */
export interface ServedRecord {
  readonly protocol: 'tcp' | 'udp';
  readonly local: string;
  readonly peer: string;
}

/** The outcome of one `ping -c1`, and the address the echo reply came from. */
export interface PingResult {
  readonly outcome: Outcome;
  readonly from?: string;
  readonly output: string;
}

const PEER = fileURLToPath(new URL('./peer.mjs', import.meta.url));
/** The collector script under test. */
export const COLLECTOR = fileURLToPath(new URL('../../../collector/skoop-collect.sh', import.meta.url));

const live = new Set<Lab>();
let hooksInstalled = false;
let labCount = 0;

/** Destroys every lab still alive (for `afterAll`/`afterEach`, and the process exit hooks). */
export function destroyAllLabs(): void {
  for (const lab of [...live]) lab.destroy();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', destroyAllLabs);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      destroyAllLabs();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/** A command failed: the message carries its stderr. */
export class ExecError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')} failed (${code}): ${stderr.trim() || stdout.trim()}`);
  }
}

/** Runs argv asynchronously with optional stdin; rejects with {@link ExecError} on a non-zero exit. */
export function run(
  argv: readonly string[],
  input?: string,
  track?: (c: ChildProcess) => () => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] ?? 'true', argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const untrack = track?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      untrack?.();
      if (code === 0) resolve(stdout);
      else reject(new ExecError(argv, code, stdout, stderr));
    });
    child.stdin.end(input ?? '');
  });
}

function runSync(argv: readonly string[], input?: string): string {
  try {
    return execFileSync(argv[0] ?? 'true', argv.slice(1), {
      input: input ?? '',
      encoding: 'utf8',
      stdio: 'pipe',
    });
  } catch (e) {
    const err = e as { status?: number | null; stdout?: string; stderr?: string };
    throw new ExecError(argv, err.status ?? null, err.stdout ?? '', err.stderr ?? String(e));
  }
}

/** The control channel of one host's `peer.mjs serve` process. */
class PeerServer {
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    (msg: { ok: boolean; error?: string; records?: ServedRecord[] }) => void
  >();
  private stderr = '';

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { id: number; ok: boolean; error?: string; records?: ServedRecord[] };
      this.waiting.get(msg.id)?.(msg);
      this.waiting.delete(msg.id);
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    child.on('close', () => {
      for (const resolve of this.waiting.values())
        resolve({ ok: false, error: `peer exited: ${this.stderr}` });
      this.waiting.clear();
    });
  }

  request(cmd: Record<string, unknown>): Promise<{ ok: boolean; error?: string; records?: ServedRecord[] }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ ...cmd, id })}\n`);
    });
  }
}

/** `ip:port`, with brackets for IPv6. */
export function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * A set of network namespaces built for one test, with real servers and clients inside; it owns everything it
 * creates and {@link Lab.destroy} removes it all.
 */
export class Lab {
  /** Short id shared by this lab's namespace names (`sk-<id>-<host>`): this process's pid and a counter. */
  readonly id: string;
  private readonly hosts = new Map<string, string>();
  private readonly servers = new Map<string, PeerServer>();
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;

  constructor(readonly name: string) {
    this.id = labId(++labCount);
    installHooks();
    live.add(this);
  }

  /** Creates host `name` (a namespace with `lo` up and IPv6 DAD off) and returns its namespace name. */
  host(name: string): string {
    if (!/^[a-z][a-z0-9]{0,9}$/.test(name)) throw new Error(`host name must be short [a-z0-9]: ${name}`);
    if (this.hosts.has(name)) throw new Error(`host ${name} exists`);
    const ns = `${NS_PREFIX}${this.id}-${name}`;
    runSync(['ip', 'netns', 'add', ns]);
    this.hosts.set(name, ns);
    this.exec(
      name,
      'ip link set lo up; sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0',
    );
    return ns;
  }

  /** The host names created so far. */
  hostNames(): string[] {
    return [...this.hosts.keys()];
  }

  /** The namespace name of `host`. */
  ns(host: string): string {
    const ns = this.hosts.get(host);
    if (ns === undefined) throw new Error(`no host ${host} in lab ${this.name}`);
    return ns;
  }

  private argv(host: string, cmd: string | readonly string[]): string[] {
    const inner = typeof cmd === 'string' ? ['sh', '-ec', cmd] : [...cmd];
    return ['ip', 'netns', 'exec', this.ns(host), ...inner];
  }

  /** Runs `cmd` in `host` (a string is a `sh -e` script, an array an argv) and returns stdout; throws with stderr. */
  exec(host: string, cmd: string | readonly string[], input?: string): string {
    return runSync(this.argv(host, cmd), input);
  }

  /** {@link Lab.exec}, asynchronously. */
  execAsync(host: string, cmd: string | readonly string[], input?: string): Promise<string> {
    return run(this.argv(host, cmd), input, (c) => this.track(c));
  }

  /** Starts a long-running process in `host` (e.g. `sleep 60`); it is killed by {@link Lab.destroy}. */
  spawn(host: string, argv: readonly string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.ns(host), ...argv], { stdio: 'ignore' });
    this.children.add(child);
    return child;
  }

  private track(child: ChildProcess): () => void {
    this.children.add(child);
    return () => this.children.delete(child);
  }

  /** A veth pair between `a` (named `aIf`) and `b` (named `bIf`), both ends up. */
  veth(a: string, aIf: string, b: string, bIf: string): void {
    this.exec(a, `ip link add ${aIf} type veth peer name ${bIf} netns ${this.ns(b)}; ip link set ${aIf} up`);
    this.exec(b, ['ip', 'link', 'set', bIf, 'up']);
  }

  /** A bridge `name` in `host`, up, with `ports` enslaved. */
  bridge(host: string, name: string, ports: readonly string[] = []): void {
    this.exec(
      host,
      [
        `ip link add ${name} type bridge`,
        `ip link set ${name} up`,
        ...ports.map((p) => `ip link set ${p} master ${name}`),
      ].join('\n'),
    );
  }

  /** Adds `cidr` to `dev` (IPv6 without duplicate address detection). */
  addr(host: string, dev: string, cidr: string): void {
    this.exec(host, `ip addr add ${cidr} dev ${dev}${cidr.includes(':') ? ' nodad' : ''}`);
  }

  /** `ip route add SPEC` in `host`. */
  route(host: string, spec: string): void {
    this.exec(host, `ip route add ${spec}`);
  }

  /** Sets sysctls in `host`: `{ 'net.ipv4.ip_forward': 1 }`. */
  sysctl(host: string, values: Readonly<Record<string, string | number>>): void {
    this.exec(host, ['sysctl', '-qw', ...Object.entries(values).map(([k, v]) => `${k}=${v}`)]);
  }

  /** Loads an `iptables-save`-format rule set with `iptables-restore` (or `ip6tables-restore`). */
  iptablesRestore(host: string, rules: string, family: 4 | 6 = 4): void {
    this.exec(host, [family === 6 ? 'ip6tables-restore' : 'iptables-restore'], withNewline(rules));
  }

  /** Loads sets with `ipset restore`. */
  ipsetRestore(host: string, text: string): void {
    this.exec(host, ['ipset', 'restore'], withNewline(text));
  }

  private server(host: string): PeerServer {
    let s = this.servers.get(host);
    if (s === undefined) {
      const child = spawn('ip', ['netns', 'exec', this.ns(host), process.execPath, PEER, 'serve', host], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      this.children.add(child);
      s = new PeerServer(child);
      this.servers.set(host, s);
    }
    return s;
  }

  /** Starts a server in `host` that answers every connection (TCP) or datagram (UDP echo) with what it saw. */
  async listen(host: string, opts: ListenOptions): Promise<void> {
    const r = await this.server(host).request({ op: 'listen', ...opts });
    if (!r.ok)
      throw new Error(
        `listen ${opts.protocol} ${hostPort(opts.ip ?? '*', opts.port)} in ${host}: ${r.error}`,
      );
  }

  /** Everything the servers of `host` recorded so far. */
  async served(host: string): Promise<ServedRecord[]> {
    const s = this.servers.get(host);
    if (s === undefined) return [];
    const r = await s.request({ op: 'served' });
    if (!r.ok) throw new Error(`served ${host}: ${r.error}`);
    return r.records ?? [];
  }

  /** Runs one client process in `host` making `count` attempts (in parallel) and returns each attempt's result. */
  async connect(host: string, opts: ConnectOptions): Promise<Attempt[]> {
    const args = { timeoutMs: 1500, count: 1, ...opts };
    const out = await this.execAsync(host, [process.execPath, PEER, 'connect', JSON.stringify(args)]);
    return JSON.parse(out) as Attempt[];
  }

  /** One ICMP echo (`ping -c1 -W1`) from `host` to `dst`. */
  async ping(host: string, dst: string, timeoutS = 1): Promise<PingResult> {
    let output: string;
    try {
      output = await this.execAsync(host, ['ping', '-n', '-c1', `-W${timeoutS}`, dst]);
    } catch (e) {
      if (!(e instanceof ExecError)) throw e;
      output = e.stdout + e.stderr;
    }
    const reply = /bytes from ([0-9a-fA-F.:]+?):? icmp_seq/.exec(output);
    if (reply?.[1] !== undefined) return { outcome: 'connected', from: reply[1], output };
    const from = /From ([0-9a-fA-F.:]+?):? icmp_seq=\d+ (.*)/.exec(output);
    if (from?.[1] !== undefined)
      return {
        outcome: /unreachable|prohibited/i.test(from[2] ?? '') ? 'unreachable' : 'error',
        from: from[1],
        output,
      };
    if (/unreachable|Permission denied|prohibited/i.test(output)) return { outcome: 'unreachable', output };
    return { outcome: 'timeout', output };
  }

  /** Runs the collector (under dash) in `host` and returns its Dump. */
  async capture(host: string): Promise<Dump> {
    return JSON.parse(await this.execAsync(host, ['dash', COLLECTOR])) as Dump;
  }

  /** The Dump of every host, keyed by host name. */
  async captureAll(): Promise<Record<string, Dump>> {
    const names = this.hostNames();
    const dumps = await Promise.all(names.map((h) => this.capture(h)));
    return Object.fromEntries(names.map((h, i) => [h, dumps[i] as Dump]));
  }

  /** Kills every process the lab started and deletes its namespaces; safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const child of this.children) child.kill('SIGKILL');
    this.children.clear();
    this.servers.clear();
    deleteNamespaces([...this.hosts.values()]);
  }
}

function withNewline(s: string): string {
  return s.endsWith('\n') ? s : `${s}\n`;
}

/** A new lab; namespaces are named `sk-<pid base36>x<n>-<host>`. */
export function createLab(name: string): Lab {
  return new Lab(name);
}
