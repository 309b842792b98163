// The kernel as oracle: each scenario builds a small data plane in fresh network namespaces, sends real
// traffic, asserts what the kernel did (which validates the bench), captures every namespace with the
// collector, and then asks the simulator (src/netstack/world.ts) to predict the same connections.
import { afterAll, describe, expect, it } from 'vitest';
import type { Dump } from '../../src/netstack/dump.js';
import { createLab, destroyAllLabs } from './lib/lab.js';
import type { Attempt, Lab, Outcome } from './lib/lab.js';
import { table } from './lib/iptables-text.js';
import { expectSimulationAgrees, loadSimulator, splitHostPort } from './lib/simulation.js';
import type { ConnectionRequest } from './lib/simulation.js';
import { routedTopology, TOPO } from './lib/topology.js';

const simulator = await loadSimulator();

afterAll(destroyAllLabs);

/** One connection (or `count` of them) and what the kernel must do with it. */
interface Probe {
  readonly from?: string;
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  readonly dst: string;
  readonly port?: number;
  readonly count?: number;
  readonly src?: string;
  readonly sport?: number;
  readonly timeoutMs?: number;
  /** Expected set of outcomes over all attempts. */
  readonly outcomes: readonly Outcome[];
  /** Expected set of server hosts that answered. */
  readonly servers?: readonly string[];
  /** The address:port every answering server was reached at (after DNAT). */
  readonly local?: string;
  /** The peer IP every answering server saw (after SNAT). */
  readonly peer?: string;
  /** The address:port the client saw as its peer on every connected attempt (after un-NAT). */
  readonly clientSaw?: string;
}

interface Listener {
  readonly host: string;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  readonly ip?: string;
}

interface Scenario {
  readonly name: string;
  /** Servers of the routed topology (srv1..N); 1 by default. Ignored when `topology` is given. */
  readonly servers?: number;
  readonly topology?: (lab: Lab) => void;
  /** Extra configuration on top of the topology. */
  readonly setup?: (lab: Lab) => void;
  /** Listeners; by default every `srvN` listens on tcp 80, tcp 8080 and udp 53. */
  readonly listen?: readonly Listener[];
  readonly probes: readonly Probe[];
}

const S1 = TOPO.srv(1);
const S2 = TOPO.srv(2);
const S3 = TOPO.srv(3);
const CLI = TOPO.cli;
const VIP = '10.96.0.10';

const tcp = (dst: string, port: number, rest: Omit<Probe, 'protocol' | 'dst' | 'port'>): Probe => ({
  protocol: 'tcp',
  dst,
  port,
  ...rest,
});
const udp = (dst: string, port: number, rest: Omit<Probe, 'protocol' | 'dst' | 'port'>): Probe => ({
  protocol: 'udp',
  dst,
  port,
  ...rest,
});
const icmp = (dst: string, rest: Omit<Probe, 'protocol' | 'dst'>): Probe => ({
  protocol: 'icmp',
  dst,
  ...rest,
});
const ok = (
  server: string,
  local: string,
  peer: string = CLI,
): Pick<Probe, 'outcomes' | 'servers' | 'local' | 'peer'> => ({
  outcomes: ['connected'],
  servers: [server],
  local,
  peer,
});

const filter = (
  rules: readonly string[],
  policies: Readonly<Record<string, 'ACCEPT' | 'DROP'>> = {},
  chains: readonly string[] = [],
): string => table('filter', rules, { policies, chains });

/** A second server `alt` owning 10.0.2.11 too (same address as srv1), behind the router's `eth2` (10.0.3.1/24). */
function withAlt(lab: Lab, alsoFromClient: boolean): void {
  routedTopology(lab);
  lab.host('alt');
  lab.veth('rtr', 'eth2', 'alt', 'eth0');
  lab.addr('rtr', 'eth2', '10.0.3.1/24');
  lab.exec(
    'alt',
    `ip addr add ${S1}/32 dev eth0; ip route add 10.0.3.1 dev eth0; ip route add default via 10.0.3.1`,
  );
  if (alsoFromClient) {
    lab.veth('cli', 'eth1', 'alt', 'eth1');
    lab.addr('cli', 'eth1', '10.0.4.2/24');
    lab.addr('alt', 'eth1', '10.0.4.1/24');
  }
}

/** A second client `cli2` (10.0.2.50) on the router's bridge, next to the servers (a pod on the same node). */
function withBridgedClient(lab: Lab): void {
  routedTopology(lab);
  lab.host('cli2');
  lab.veth('cli2', 'eth0', 'rtr', 'vc2');
  lab.exec('rtr', 'ip link set vc2 master br0');
  lab.exec('cli2', `ip addr add 10.0.2.50/24 dev eth0; ip route add default via ${TOPO.rtrBr}`);
}

/** The client gets a second link to the router (cli eth1 10.0.7.2 — rtr veth-c2 10.0.7.1) used toward the servers. */
function withAsymmetricClient(lab: Lab): void {
  routedTopology(lab);
  lab.veth('cli', 'eth1', 'rtr', 'veth-c2');
  lab.addr('cli', 'eth1', '10.0.7.2/24');
  lab.addr('rtr', 'veth-c2', '10.0.7.1/24');
  // Toward the servers leave through eth1 but keep the eth0 address as source: the router's route back to
  // 10.0.1.2 points at veth-cli, not at veth-c2 where the packet came in.
  lab.exec('cli', `ip route add 10.0.2.0/24 via 10.0.7.1 dev eth1 src ${CLI}`);
}

/** kube-proxy (iptables mode) rules for Service VIP:80 → backends :8080, with masquerade for outside clients. */
function kubeService(backends: readonly string[]): string {
  const sep = (ip: string): string => `KUBE-SEP-${ip.split('.').join('')}`;
  const rules = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    `-A KUBE-SERVICES -d ${VIP}/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-WEB`,
    `-A KUBE-SVC-WEB ! -s 10.0.2.0/24 -d ${VIP}/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`,
  ];
  backends.forEach((ip, i) => {
    const left = backends.length - i;
    const stat = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : '';
    rules.push(`-A KUBE-SVC-WEB -m comment --comment "default/web:http -> ${ip}:8080"${stat} -j ${sep(ip)}`);
  });
  for (const ip of backends) {
    rules.push(`-A ${sep(ip)} -s ${ip}/32 -m comment --comment "default/web:http" -j KUBE-MARK-MASQ`);
    rules.push(
      `-A ${sep(ip)} -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination ${ip}:8080`,
    );
  }
  return table('nat', rules);
}

const scenarios: readonly Scenario[] = [
  // ── basics ───────────────────────────────────────────────────────────────────────────────────────────
  { name: 'tcp through a router', probes: [tcp(S1, 80, ok('srv1', `${S1}:80`))] },
  { name: 'tcp without a listener is refused', probes: [tcp(S1, 81, { outcomes: ['refused'] })] },
  {
    name: 'udp echo through a router',
    probes: [udp(S1, 53, { ...ok('srv1', `${S1}:53`), clientSaw: `${S1}:53` })],
  },
  {
    name: 'udp without a listener is refused (ICMP port unreachable)',
    probes: [udp(S1, 54, { outcomes: ['refused'] })],
  },
  { name: 'icmp echo through a router', probes: [icmp(S1, { outcomes: ['connected'] })] },
  {
    name: 'icmp echo-request dropped in FORWARD, tcp still passes',
    setup: (lab) => lab.iptablesRestore('rtr', filter(['-A FORWARD -p icmp -m icmp --icmp-type 8 -j DROP'])),
    probes: [icmp(S1, { outcomes: ['timeout'] }), tcp(S1, 80, ok('srv1', `${S1}:80`))],
  },
  {
    name: 'ip_forward off on the router',
    topology: (lab) => routedTopology(lab, { forward: false }),
    probes: [
      tcp(S1, 80, { outcomes: ['timeout'] }),
      icmp(S1, { outcomes: ['timeout'] }),
      tcp(TOPO.srv6(1), 80, { outcomes: ['timeout'] }),
    ],
  },
  {
    // The router's ARP for the server fails after ~3 s and it answers ICMP host unreachable: wait for it.
    name: 'veth peer down on the server side',
    setup: (lab) => lab.exec('rtr', 'ip link set vs1 down'),
    probes: [tcp(S1, 80, { outcomes: ['unreachable'], timeoutMs: 4500 })],
  },
  {
    // The client's own ARP for its gateway fails after ~3 s: connect() gets EHOSTUNREACH.
    name: 'veth peer down on the client side',
    setup: (lab) => lab.exec('rtr', 'ip link set veth-cli down'),
    probes: [tcp(S1, 80, { outcomes: ['unreachable'], timeoutMs: 4500 })],
  },
  {
    // A bridge going down takes its connected routes with it: the router has no route and says so (ICMP).
    name: 'bridge down on the router',
    setup: (lab) => lab.exec('rtr', 'ip link set br0 down'),
    probes: [tcp(S1, 80, { outcomes: ['unreachable'] }), icmp(S1, { outcomes: ['unreachable'] })],
  },
  // ── filter verdicts ──────────────────────────────────────────────────────────────────────────────────
  {
    name: 'FORWARD policy DROP',
    setup: (lab) => lab.iptablesRestore('rtr', filter([], { FORWARD: 'DROP' })),
    probes: [tcp(S1, 80, { outcomes: ['timeout'] })],
  },
  {
    name: 'FORWARD policy DROP with ACCEPT rules before it',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        filter(
          [
            `-A FORWARD -d ${S1}/32 -p tcp -m tcp --dport 80 -j ACCEPT`,
            `-A FORWARD -s ${S1}/32 -p tcp -m tcp --sport 80 -j ACCEPT`,
          ],
          { FORWARD: 'DROP' },
        ),
      ),
    probes: [tcp(S1, 80, ok('srv1', `${S1}:80`)), tcp(S1, 8080, { outcomes: ['timeout'] })],
  },
  {
    name: 'REJECT (icmp-port-unreachable) is refused',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        filter(['-A FORWARD -p tcp -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable']),
      ),
    probes: [tcp(S1, 80, { outcomes: ['refused'] }), tcp(S1, 8080, ok('srv1', `${S1}:8080`))],
  },
  {
    name: 'DROP is a timeout',
    setup: (lab) => lab.iptablesRestore('rtr', filter(['-A FORWARD -p tcp -m tcp --dport 80 -j DROP'])),
    probes: [tcp(S1, 80, { outcomes: ['timeout'] }), tcp(S1, 8080, ok('srv1', `${S1}:8080`))],
  },
  {
    name: 'REJECT --reject-with icmp-host-unreachable is unreachable',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        filter(['-A FORWARD -p tcp -m tcp --dport 80 -j REJECT --reject-with icmp-host-unreachable']),
      ),
    probes: [tcp(S1, 80, { outcomes: ['unreachable'] }), udp(S1, 53, ok('srv1', `${S1}:53`))],
  },
  {
    name: 'REJECT --reject-with tcp-reset is refused',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        filter(['-A FORWARD -p tcp -m tcp --dport 80 -j REJECT --reject-with tcp-reset']),
      ),
    probes: [tcp(S1, 80, { outcomes: ['refused'] })],
  },
  {
    name: 'REJECT in the server INPUT chain',
    setup: (lab) =>
      lab.iptablesRestore(
        'srv1',
        filter(['-A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset']),
      ),
    probes: [tcp(S1, 8080, { outcomes: ['refused'] }), tcp(S1, 80, ok('srv1', `${S1}:80`))],
  },
  {
    name: 'DROP in the client OUTPUT chain',
    setup: (lab) => lab.iptablesRestore('cli', filter(['-A OUTPUT -p tcp -m tcp --dport 8080 -j DROP'])),
    probes: [tcp(S1, 8080, { outcomes: ['timeout'] }), tcp(S1, 80, ok('srv1', `${S1}:80`))],
  },
  {
    name: 'negated source (! -s)',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        filter([
          `-A FORWARD ! -s ${CLI}/32 -p tcp -m tcp --dport 80 -j DROP`,
          '-A FORWARD ! -s 10.0.9.0/24 -p tcp -m tcp --dport 8080 -j DROP',
        ]),
      ),
    probes: [tcp(S1, 80, ok('srv1', `${S1}:80`)), tcp(S1, 8080, { outcomes: ['timeout'] })],
  },
  {
    name: 'negated port (! --dport)',
    setup: (lab) =>
      lab.iptablesRestore('rtr', filter([`-A FORWARD -d ${S1}/32 -p tcp -m tcp ! --dport 80 -j DROP`])),
    probes: [tcp(S1, 80, ok('srv1', `${S1}:80`)), tcp(S1, 8080, { outcomes: ['timeout'] })],
  },
  {
    name: 'jump: RETURN from a nested chain resumes the calling chain',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        filter([
          '-A FORWARD -p tcp -j OUTER',
          '-A FORWARD -p tcp -j DROP',
          '-A OUTER -p tcp -j INNER',
          '-A OUTER -p tcp -j ACCEPT',
          '-A INNER -j RETURN',
        ]),
      ),
    probes: [tcp(S1, 80, ok('srv1', `${S1}:80`))],
  },
  {
    name: 'goto: RETURN skips the rest of the chain that did the goto',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        filter([
          '-A FORWARD -p tcp -j OUTER',
          '-A FORWARD -p tcp -j DROP',
          '-A OUTER -p tcp -g INNER',
          '-A OUTER -p tcp -j ACCEPT',
          '-A INNER -j RETURN',
        ]),
      ),
    probes: [tcp(S1, 80, { outcomes: ['timeout'] })],
  },
  {
    name: 'a user chain that falls off its end returns to the caller',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        filter(['-A FORWARD -p tcp -j USER', '-A FORWARD -p tcp -j ACCEPT', '-A USER -p udp -j ACCEPT'], {
          FORWARD: 'DROP',
        }),
      ),
    probes: [tcp(S1, 80, ok('srv1', `${S1}:80`))],
  },
  {
    name: 'a chain reached by goto from a built-in chain falls off into the policy',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        filter(['-A FORWARD -p tcp -g USER', '-A FORWARD -p tcp -j ACCEPT', '-A USER -p udp -j ACCEPT'], {
          FORWARD: 'DROP',
        }),
      ),
    probes: [tcp(S1, 80, { outcomes: ['timeout'] })],
  },
  {
    name: 'source port range, the client binding a fixed port',
    setup: (lab) =>
      lab.iptablesRestore('rtr', filter(['-A FORWARD -p tcp -m tcp --sport 40000:40100 -j DROP'])),
    probes: [
      tcp(S1, 80, { sport: 40050, outcomes: ['timeout'] }),
      tcp(S1, 8080, { sport: 50000, ...ok('srv1', `${S1}:8080`) }),
    ],
  },
  {
    name: 'source address match, the client binding a secondary address',
    setup: (lab) => {
      lab.addr('cli', 'eth0', '10.0.1.3/24');
      lab.iptablesRestore(
        'rtr',
        filter(['-A FORWARD -s 10.0.1.3/32 -j REJECT --reject-with icmp-port-unreachable']),
      );
    },
    probes: [
      tcp(S1, 80, { src: '10.0.1.3', outcomes: ['refused'] }),
      tcp(S1, 8080, ok('srv1', `${S1}:8080`)),
    ],
  },
  {
    name: 'multiport',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        filter(['-A FORWARD -p tcp -m multiport --dports 22,80,443 -j REJECT --reject-with tcp-reset']),
      ),
    probes: [tcp(S1, 80, { outcomes: ['refused'] }), tcp(S1, 8080, ok('srv1', `${S1}:8080`))],
  },
  {
    name: 'port range',
    setup: (lab) =>
      lab.iptablesRestore('rtr', filter(['-A FORWARD -p tcp -m tcp --dport 8000:8100 -j DROP'])),
    probes: [tcp(S1, 8080, { outcomes: ['timeout'] }), tcp(S1, 80, ok('srv1', `${S1}:80`))],
  },
  {
    name: 'output interface wildcard (-o veth+)',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        filter(['-A FORWARD -o eth+ -j DROP', '-A FORWARD -o veth+ -p tcp -m tcp --sport 80 -j DROP']),
      ),
    probes: [tcp(S1, 80, { outcomes: ['timeout'] }), tcp(S1, 8080, ok('srv1', `${S1}:8080`))],
  },
  {
    name: 'addrtype LOCAL: NodePort-style DNAT only for the router’s own addresses',
    servers: 2,
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        table('nat', [
          `-A PREROUTING -m addrtype --dst-type LOCAL -p tcp -m tcp --dport 30080 -j DNAT --to-destination ${S1}:80`,
        ]),
      ),
    probes: [tcp(TOPO.rtrCli, 30080, ok('srv1', `${S1}:80`)), tcp(S2, 30080, { outcomes: ['refused'] })],
  },
  // ── conntrack ────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'ctstate: ESTABLISHED,RELATED accepted, NEW dropped',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        filter([
          '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
          '-A FORWARD -m conntrack --ctstate NEW -j DROP',
        ]),
      ),
    probes: [tcp(S1, 80, { outcomes: ['timeout'] })],
  },
  {
    name: 'ctstate: NEW accepted for one port, policy DROP',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        filter(
          [
            '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
            '-A FORWARD -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT',
          ],
          { FORWARD: 'DROP' },
        ),
      ),
    probes: [
      tcp(S1, 80, ok('srv1', `${S1}:80`)),
      tcp(S1, 8080, { outcomes: ['timeout'] }),
      udp(S1, 53, { outcomes: ['timeout'] }),
    ],
  },
  {
    name: 'ctstate INVALID drop does not drop a NEW SYN',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        filter([
          '-A FORWARD -m conntrack --ctstate INVALID -j DROP',
          '-A FORWARD -m state --state INVALID -j DROP',
        ]),
      ),
    probes: [tcp(S1, 80, ok('srv1', `${S1}:80`))],
  },
  // ── NAT ──────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'DNAT: the server sees the client, the client sees the VIP',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        table('nat', [
          `-A PREROUTING -d ${VIP}/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination ${S1}:8080`,
        ]),
      ),
    probes: [tcp(VIP, 80, { ...ok('srv1', `${S1}:8080`), clientSaw: `${VIP}:80` })],
  },
  {
    name: 'DNAT of udp: the reply is un-NATed back to the VIP',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        table('nat', [
          `-A PREROUTING -d ${VIP}/32 -p udp -m udp --dport 53 -j DNAT --to-destination ${S1}:53`,
        ]),
      ),
    probes: [udp(VIP, 53, { ...ok('srv1', `${S1}:53`), clientSaw: `${VIP}:53` })],
  },
  {
    name: 'DNAT in the client OUTPUT chain (locally generated)',
    setup: (lab) =>
      lab.iptablesRestore(
        'cli',
        table('nat', [`-A OUTPUT -d ${VIP}/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination ${S1}:8080`]),
      ),
    probes: [tcp(VIP, 80, { ...ok('srv1', `${S1}:8080`), clientSaw: `${VIP}:80` })],
  },
  {
    name: 'SNAT: the server sees the translated source',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        table('nat', [`-A POSTROUTING -s 10.0.1.0/24 -o br0 -j SNAT --to-source ${TOPO.rtrBr}`]),
      ),
    probes: [
      tcp(S1, 80, ok('srv1', `${S1}:80`, TOPO.rtrBr)),
      udp(S1, 53, ok('srv1', `${S1}:53`, TOPO.rtrBr)),
    ],
  },
  {
    name: 'MASQUERADE: the server sees the router’s address',
    setup: (lab) => lab.iptablesRestore('rtr', table('nat', ['-A POSTROUTING -o br0 -j MASQUERADE'])),
    probes: [tcp(S1, 80, ok('srv1', `${S1}:80`, TOPO.rtrBr))],
  },
  {
    name: 'bridge-nf-call-iptables=1 un-NATs the reply of a server on the same bridge',
    topology: withBridgedClient,
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        table('nat', [
          `-A PREROUTING -d ${VIP}/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination ${S1}:8080`,
        ]),
      ),
    probes: [
      tcp(VIP, 80, { from: 'cli2', ...ok('srv1', `${S1}:8080`, '10.0.2.50'), clientSaw: `${VIP}:80` }),
    ],
  },
  {
    name: 'bridge-nf-call-iptables=0: the bridged reply skips conntrack and the connection fails',
    topology: withBridgedClient,
    setup: (lab) => {
      lab.sysctl('rtr', { 'net.bridge.bridge-nf-call-iptables': 0 });
      lab.iptablesRestore(
        'rtr',
        table('nat', [
          `-A PREROUTING -d ${VIP}/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination ${S1}:8080`,
        ]),
      );
    },
    probes: [tcp(VIP, 80, { from: 'cli2', outcomes: ['timeout'] })],
  },
  // ── Services and statistic ───────────────────────────────────────────────────────────────────────────
  {
    name: 'KUBE-like Service chain with 3 backends (statistic random)',
    servers: 3,
    setup: (lab) => lab.iptablesRestore('rtr', kubeService([S1, S2, S3])),
    probes: [
      tcp(VIP, 80, {
        count: 60,
        outcomes: ['connected'],
        servers: ['srv1', 'srv2', 'srv3'],
        peer: TOPO.rtrBr,
        clientSaw: `${VIP}:80`,
      }),
    ],
  },
  {
    name: 'KUBE-like Service with one backend not listening (partial)',
    servers: 3,
    listen: [
      { host: 'srv1', protocol: 'tcp', port: 8080 },
      { host: 'srv2', protocol: 'tcp', port: 8080 },
    ],
    setup: (lab) => lab.iptablesRestore('rtr', kubeService([S1, S2, S3])),
    probes: [
      tcp(VIP, 80, {
        count: 60,
        outcomes: ['connected', 'refused'],
        servers: ['srv1', 'srv2'],
        peer: TOPO.rtrBr,
      }),
    ],
  },
  {
    name: 'statistic nth: every second connection to each backend',
    servers: 2,
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        table('nat', [
          `-A PREROUTING -d ${VIP}/32 -p tcp -m tcp --dport 80 -m statistic --mode nth --every 2 --packet 0 -j DNAT --to-destination ${S1}:80`,
          `-A PREROUTING -d ${VIP}/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination ${S2}:80`,
        ]),
      ),
    probes: [tcp(VIP, 80, { count: 10, outcomes: ['connected'], servers: ['srv1', 'srv2'], peer: CLI })],
  },
  // ── ipsets ───────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'ipset hash:ip',
    setup: (lab) => {
      lab.ipsetRestore('rtr', `create blocked hash:ip family inet\nadd blocked ${CLI}`);
      lab.iptablesRestore('rtr', filter(['-A FORWARD -p tcp -m set --match-set blocked src -j DROP']));
    },
    probes: [tcp(S1, 80, { outcomes: ['timeout'] }), udp(S1, 53, ok('srv1', `${S1}:53`))],
  },
  {
    name: 'ipset hash:net with a nomatch hole',
    setup: (lab) => {
      lab.ipsetRestore(
        'rtr',
        `create nets hash:net family inet\nadd nets 10.0.1.0/24\nadd nets ${CLI}/32 nomatch\nadd nets 10.0.9.0/24`,
      );
      lab.iptablesRestore('rtr', filter(['-A FORWARD -p tcp -m set --match-set nets src -j DROP']));
    },
    probes: [tcp(S1, 80, ok('srv1', `${S1}:80`))],
  },
  {
    name: 'ipset hash:ip,port',
    setup: (lab) => {
      lab.ipsetRestore('rtr', `create svc hash:ip,port family inet\nadd svc ${S1},tcp:80`);
      lab.iptablesRestore(
        'rtr',
        filter(['-A FORWARD -m set --match-set svc dst,dst -j REJECT --reject-with icmp-port-unreachable']),
      );
    },
    probes: [
      tcp(S1, 80, { outcomes: ['refused'] }),
      tcp(S1, 8080, ok('srv1', `${S1}:8080`)),
      udp(S1, 53, ok('srv1', `${S1}:53`)),
    ],
  },
  {
    name: 'ipset hash:net,port',
    setup: (lab) => {
      lab.ipsetRestore('rtr', 'create netports hash:net,port family inet\nadd netports 10.0.2.0/24,tcp:8080');
      lab.iptablesRestore('rtr', filter(['-A FORWARD -m set --match-set netports dst,dst -j DROP']));
    },
    probes: [tcp(S1, 8080, { outcomes: ['timeout'] }), tcp(S1, 80, ok('srv1', `${S1}:80`))],
  },
  {
    name: 'ipset bitmap:port',
    setup: (lab) => {
      lab.ipsetRestore('rtr', 'create lowports bitmap:port range 0-1023\nadd lowports 80');
      lab.iptablesRestore(
        'rtr',
        filter(['-A FORWARD -p tcp -m set --match-set lowports dst -j REJECT --reject-with tcp-reset']),
      );
    },
    probes: [tcp(S1, 80, { outcomes: ['refused'] }), tcp(S1, 8080, ok('srv1', `${S1}:8080`))],
  },
  {
    name: 'ipset list:set',
    setup: (lab) => {
      lab.ipsetRestore(
        'rtr',
        `create inner hash:ip family inet\nadd inner ${CLI}\ncreate other hash:ip family inet\ncreate outer list:set size 8\nadd outer other\nadd outer inner`,
      );
      lab.iptablesRestore('rtr', filter(['-A FORWARD -m set --match-set outer src -j DROP']));
    },
    probes: [tcp(S1, 80, { outcomes: ['timeout'] })],
  },
  // ── routing ──────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'blackhole route on the router',
    servers: 2,
    setup: (lab) => lab.route('rtr', `blackhole ${S1}/32`),
    probes: [tcp(S1, 80, { outcomes: ['timeout'] }), tcp(S2, 80, ok('srv2', `${S2}:80`))],
  },
  {
    name: 'unreachable route on the router',
    setup: (lab) => lab.route('rtr', `unreachable ${S1}/32`),
    probes: [tcp(S1, 80, { outcomes: ['unreachable'] }), icmp(S1, { outcomes: ['unreachable'] })],
  },
  {
    name: 'prohibit route on the router',
    setup: (lab) => lab.route('rtr', `prohibit ${S1}/32`),
    probes: [tcp(S1, 80, { outcomes: ['unreachable'] })],
  },
  {
    name: 'unreachable route on the client itself',
    setup: (lab) => lab.route('cli', `unreachable ${S1}/32`),
    probes: [tcp(S1, 80, { outcomes: ['unreachable'] })],
  },
  {
    name: 'throw route falls through to the next rule',
    servers: 2,
    setup: (lab) =>
      lab.exec(
        'rtr',
        `ip rule add from ${CLI} lookup 100 pref 100\nip route add throw ${S1}/32 table 100\nip route add blackhole default table 100`,
      ),
    probes: [tcp(S1, 80, ok('srv1', `${S1}:80`)), tcp(S2, 80, { outcomes: ['timeout'] })],
  },
  {
    name: 'rule priorities: the lower preference wins',
    servers: 2,
    setup: (lab) =>
      lab.exec(
        'rtr',
        [
          `ip route add blackhole ${S1}/32 table 200`,
          `ip route add blackhole ${S2}/32 table 200`,
          `ip rule add to ${S1} lookup 200 pref 200`,
          `ip rule add to ${S1} lookup main pref 100`,
          `ip rule add to ${S2} lookup 200 pref 100`,
          `ip rule add to ${S2} lookup main pref 200`,
        ].join('\n'),
      ),
    probes: [tcp(S1, 80, ok('srv1', `${S1}:80`)), tcp(S2, 80, { outcomes: ['timeout'] })],
  },
  {
    name: 'fwmark set in mangle PREROUTING selects another path (policy routing)',
    topology: (lab) => withAlt(lab, false),
    setup: (lab) => {
      lab.iptablesRestore(
        'rtr',
        table('mangle', ['-A PREROUTING -p tcp -m tcp --dport 8080 -j MARK --set-xmark 0x1/0xffffffff']),
      );
      lab.exec('rtr', `ip rule add fwmark 0x1 lookup 100 pref 100\nip route add ${S1}/32 dev eth2 table 100`);
    },
    listen: [
      { host: 'srv1', protocol: 'tcp', port: 80 },
      { host: 'srv1', protocol: 'tcp', port: 8080 },
      { host: 'alt', protocol: 'tcp', port: 8080 },
    ],
    probes: [tcp(S1, 80, ok('srv1', `${S1}:80`)), tcp(S1, 8080, ok('alt', `${S1}:8080`))],
  },
  {
    name: 'fwmark set in mangle OUTPUT reroutes a locally generated packet',
    topology: (lab) => withAlt(lab, true),
    setup: (lab) => {
      lab.iptablesRestore(
        'cli',
        table('mangle', ['-A OUTPUT -p tcp -m tcp --dport 8080 -j MARK --set-xmark 0x2/0xffffffff']),
      );
      lab.exec(
        'cli',
        `ip rule add fwmark 0x2 lookup 100 pref 100\nip route add ${S1}/32 via 10.0.4.1 dev eth1 table 100`,
      );
    },
    listen: [
      { host: 'srv1', protocol: 'tcp', port: 80 },
      { host: 'srv1', protocol: 'tcp', port: 8080 },
      { host: 'alt', protocol: 'tcp', port: 8080 },
    ],
    probes: [tcp(S1, 80, ok('srv1', `${S1}:80`)), tcp(S1, 8080, ok('alt', `${S1}:8080`))],
  },
  {
    name: 'ECMP: both next hops are used',
    servers: 2,
    setup: (lab) => {
      for (const h of ['srv1', 'srv2']) lab.addr(h, 'lo', '10.0.5.5/32');
      lab.sysctl('rtr', { 'net.ipv4.fib_multipath_hash_policy': 1 });
      lab.route('rtr', `10.0.5.5/32 nexthop via ${S1} nexthop via ${S2}`);
    },
    probes: [
      tcp('10.0.5.5', 80, {
        count: 40,
        outcomes: ['connected'],
        servers: ['srv1', 'srv2'],
        local: '10.0.5.5:80',
        peer: CLI,
      }),
    ],
  },
  {
    name: 'ECMP: one next hop rejects (partial)',
    servers: 2,
    setup: (lab) => {
      for (const h of ['srv1', 'srv2']) lab.addr(h, 'lo', '10.0.5.5/32');
      lab.sysctl('rtr', { 'net.ipv4.fib_multipath_hash_policy': 1 });
      lab.route('rtr', `10.0.5.5/32 nexthop via ${S1} nexthop via ${S2}`);
      lab.iptablesRestore(
        'srv2',
        filter(['-A INPUT -p tcp -m tcp --dport 80 -j REJECT --reject-with tcp-reset']),
      );
    },
    probes: [
      tcp('10.0.5.5', 80, {
        count: 40,
        outcomes: ['connected', 'refused'],
        servers: ['srv1'],
        local: '10.0.5.5:80',
        peer: CLI,
      }),
    ],
  },
  {
    name: 'onlink gateway outside the server’s subnet',
    setup: (lab) => {
      lab.addr('rtr', 'br0', '10.0.9.1/32');
      lab.exec('srv1', 'ip route replace default via 10.0.9.1 dev eth0 onlink');
    },
    probes: [tcp(S1, 80, ok('srv1', `${S1}:80`)), icmp(S1, { outcomes: ['connected'] })],
  },
  {
    name: 'onlink gateway nobody answers for',
    setup: (lab) => lab.exec('srv1', 'ip route replace default via 10.0.9.1 dev eth0 onlink'),
    probes: [tcp(S1, 80, { outcomes: ['timeout'] })],
  },
  {
    name: 'rp_filter strict drops a packet arriving on the wrong interface',
    topology: withAsymmetricClient,
    setup: (lab) => lab.sysctl('rtr', { 'net.ipv4.conf.all.rp_filter': 1 }),
    probes: [tcp(S1, 80, { outcomes: ['timeout'] })],
  },
  {
    name: 'rp_filter loose accepts the same asymmetric path',
    topology: withAsymmetricClient,
    setup: (lab) => lab.sysctl('rtr', { 'net.ipv4.conf.all.rp_filter': 2 }),
    probes: [tcp(S1, 80, ok('srv1', `${S1}:80`))],
  },
  // ── IPv6 ─────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'IPv6: tcp and udp through a router',
    probes: [
      tcp(TOPO.srv6(1), 80, ok('srv1', `[${TOPO.srv6(1)}]:80`, TOPO.cli6)),
      udp(TOPO.srv6(1), 53, ok('srv1', `[${TOPO.srv6(1)}]:53`, TOPO.cli6)),
    ],
  },
  { name: 'IPv6: icmp echo', probes: [icmp(TOPO.srv6(1), { outcomes: ['connected'] })] },
  {
    name: 'IPv6: ip6tables REJECT is refused, IPv4 unaffected',
    setup: (lab) => lab.iptablesRestore('rtr', filter(['-A FORWARD -p tcp -m tcp --dport 80 -j REJECT']), 6),
    probes: [tcp(TOPO.srv6(1), 80, { outcomes: ['refused'] }), tcp(S1, 80, ok('srv1', `${S1}:80`))],
  },
  {
    name: 'IPv6: ip6tables DROP is a timeout',
    setup: (lab) => lab.iptablesRestore('rtr', filter(['-A FORWARD -p tcp -m tcp --dport 8080 -j DROP']), 6),
    probes: [
      tcp(TOPO.srv6(1), 8080, { outcomes: ['timeout'] }),
      tcp(TOPO.srv6(1), 80, ok('srv1', `[${TOPO.srv6(1)}]:80`, TOPO.cli6)),
    ],
  },
  {
    name: 'IPv6: unreachable route on the router',
    setup: (lab) => lab.route('rtr', `unreachable ${TOPO.srv6(1)}/128`),
    probes: [tcp(TOPO.srv6(1), 80, { outcomes: ['unreachable'] })],
  },
  {
    name: 'IPv6: DNAT to a backend',
    setup: (lab) =>
      lab.iptablesRestore(
        'rtr',
        table('nat', [
          `-A PREROUTING -d fd00:96::10/128 -p tcp -m tcp --dport 80 -j DNAT --to-destination [${TOPO.srv6(1)}]:8080`,
        ]),
        6,
      ),
    probes: [
      tcp('fd00:96::10', 80, {
        ...ok('srv1', `[${TOPO.srv6(1)}]:8080`, TOPO.cli6),
        clientSaw: '[fd00:96::10]:80',
      }),
    ],
  },
];

function request(p: Probe): ConnectionRequest {
  return {
    from: p.from ?? 'cli',
    protocol: p.protocol,
    dst: p.dst,
    dport: p.port ?? 0,
    ...(p.src !== undefined ? { src: p.src } : {}),
    ...(p.sport !== undefined ? { sport: p.sport } : {}),
  };
}

async function runProbe(lab: Lab, p: Probe): Promise<Attempt[]> {
  const from = p.from ?? 'cli';
  if (p.protocol === 'icmp') {
    const r = await lab.ping(from, p.dst, Math.ceil((p.timeoutMs ?? 1000) / 1000));
    return [{ outcome: r.outcome }];
  }
  return lab.connect(from, {
    protocol: p.protocol,
    dst: p.dst,
    port: p.port ?? 0,
    ...(p.timeoutMs !== undefined ? { timeoutMs: p.timeoutMs } : {}),
    ...(p.count !== undefined ? { count: p.count } : {}),
    ...(p.src !== undefined ? { src: p.src } : {}),
    ...(p.sport !== undefined ? { sport: p.sport } : {}),
  });
}

function describeProbe(p: Probe): string {
  return `${p.from ?? 'cli'} → ${p.protocol} ${p.dst}${p.port !== undefined ? `:${p.port}` : ''}${p.count !== undefined ? ` ×${p.count}` : ''}`;
}

function expectKernel(p: Probe, attempts: readonly Attempt[]): void {
  const what = describeProbe(p);
  const uniq = <T>(xs: readonly T[]): T[] => [...new Set(xs)].sort();
  expect(
    uniq(attempts.map((a) => a.outcome)),
    `${what}: outcomes ${JSON.stringify(attempts.slice(0, 3))}`,
  ).toEqual(uniq(p.outcomes));
  const answered = attempts.filter((a) => a.outcome === 'connected');
  if (p.protocol !== 'icmp') {
    for (const a of answered)
      expect(a.server, `${what}: connected attempts carry the server greeting`).toBeDefined();
  }
  if (p.servers !== undefined)
    expect(uniq(answered.map((a) => a.server?.host)), `${what}: servers`).toEqual(uniq(p.servers));
  if (p.local !== undefined)
    expect(uniq(answered.map((a) => a.server?.local)), `${what}: server local`).toEqual([p.local]);
  if (p.peer !== undefined) {
    expect(
      uniq(answered.map((a) => (a.server ? splitHostPort(a.server.peer).ip : undefined))),
      `${what}: server peer`,
    ).toEqual([p.peer]);
  }
  if (p.clientSaw !== undefined)
    expect(uniq(answered.map((a) => a.clientSaw)), `${what}: client saw`).toEqual([p.clientSaw]);
}

/** Cross-checks the bench: every greeting a client got is also in the records of the server that sent it. */
async function expectServersRecorded(lab: Lab, attempts: readonly Attempt[]): Promise<void> {
  const hosts = [...new Set(attempts.flatMap((a) => (a.server ? [a.server.host] : [])))];
  const served = new Map(await Promise.all(hosts.map(async (h) => [h, await lab.served(h)] as const)));
  for (const a of attempts) {
    if (a.server === undefined) continue;
    expect(served.get(a.server.host), `${a.server.host} recorded the connection`).toContainEqual(
      expect.objectContaining({ local: a.server.local, peer: a.server.peer }),
    );
  }
}

interface KernelRun {
  readonly dumps: Readonly<Record<string, Dump>>;
  readonly attempts: readonly (readonly Attempt[])[];
}

const runs = new Map<string, KernelRun>();

it('has at least 40 distinct scenarios', () => {
  expect(new Set(scenarios.map((s) => s.name)).size).toBe(scenarios.length);
  expect(scenarios.length).toBeGreaterThanOrEqual(40);
});

describe.each(scenarios)('$name', (sc) => {
  it('kernel', async () => {
    const lab = createLab(sc.name);
    try {
      if (sc.topology) sc.topology(lab);
      else routedTopology(lab, { servers: sc.servers ?? 1 });
      sc.setup?.(lab);
      const listeners =
        sc.listen ??
        lab
          .hostNames()
          .filter((h) => h.startsWith('srv'))
          .flatMap((host): Listener[] => [
            { host, protocol: 'tcp', port: 80 },
            { host, protocol: 'tcp', port: 8080 },
            { host, protocol: 'udp', port: 53 },
          ]);
      for (const l of listeners) await lab.listen(l.host, l);
      const attempts = await Promise.all(sc.probes.map((p) => runProbe(lab, p)));
      const dumps = await lab.captureAll();
      runs.set(sc.name, { dumps, attempts });
      sc.probes.forEach((p, i) => expectKernel(p, attempts[i] ?? []));
      await expectServersRecorded(lab, attempts.flat());
      for (const [host, dump] of Object.entries(dumps)) {
        expect(Array.isArray(dump.addresses), `${host}: collector captured addresses`).toBe(true);
        expect(typeof dump.iptables, `${host}: collector captured iptables`).toBe('string');
      }
    } finally {
      lab.destroy();
    }
  });

  it('simulator agrees', () => {
    const run = runs.get(sc.name);
    if (run === undefined) throw new Error('the kernel run of this scenario failed: nothing to compare');
    sc.probes.forEach((p, i) => {
      const verdict = simulator.simulate(run.dumps, request(p));
      expectSimulationAgrees(run.attempts[i] ?? [], verdict, {
        label: describeProbe(p),
        ...(p.sport !== undefined ? { sport: p.sport } : {}),
      });
    });
  });
});
