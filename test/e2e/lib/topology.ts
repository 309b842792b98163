import type { Lab } from './lab.js';

/** Addresses of the routed topology built by {@link routedTopology}. */
export const TOPO = {
  cli: '10.0.1.2',
  cli6: 'fd00:1::2',
  rtrCli: '10.0.1.1',
  rtrCli6: 'fd00:1::1',
  rtrBr: '10.0.2.1',
  rtrBr6: 'fd00:2::1',
  /** `srv1` is 10.0.2.11, `srv2` 10.0.2.12, … */
  srv: (i: number): string => `10.0.2.${10 + i}`,
  srv6: (i: number): string => `fd00:2::${10 + i}`,
} as const;

/** Options of {@link routedTopology}. */
export interface RoutedOptions {
  /** How many server hosts hang off the router's bridge (`srv1`…). */
  readonly servers?: number;
  /** Whether the router forwards (ip_forward and IPv6 forwarding); true by default. */
  readonly forward?: boolean;
}

/**
 * A node-like data plane: `cli` — veth — `rtr` — bridge `br0` — `srv1..N` (like pods on a node's cni0).
 *
 * ```
 * cli eth0 10.0.1.2/24 ── veth-cli 10.0.1.1/24 [rtr] br0 10.0.2.1/24 ──┬─ vs1 ── eth0 10.0.2.11 [srv1]
 *     fd00:1::2/64          fd00:1::1/64             fd00:2::1/64       └─ vs2 ── eth0 10.0.2.12 [srv2]
 * ```
 * Every host gets a default route toward the router; the router forwards.
 */
export function routedTopology(lab: Lab, opts: RoutedOptions = {}): void {
  const servers = opts.servers ?? 1;
  const forward = (opts.forward ?? true) ? 1 : 0;
  lab.host('cli');
  lab.host('rtr');
  lab.veth('cli', 'eth0', 'rtr', 'veth-cli');
  lab.exec(
    'cli',
    `ip addr add ${TOPO.cli}/24 dev eth0
     ip addr add ${TOPO.cli6}/64 dev eth0 nodad
     ip route add default via ${TOPO.rtrCli}
     ip -6 route add default via ${TOPO.rtrCli6}`,
  );
  const ports: string[] = [];
  for (let i = 1; i <= servers; i++) {
    const h = `srv${i}`;
    lab.host(h);
    lab.veth(h, 'eth0', 'rtr', `vs${i}`);
    ports.push(`vs${i}`);
    lab.exec(
      h,
      `ip addr add ${TOPO.srv(i)}/24 dev eth0
       ip addr add ${TOPO.srv6(i)}/64 dev eth0 nodad
       ip route add default via ${TOPO.rtrBr}
       ip -6 route add default via ${TOPO.rtrBr6}`,
    );
  }
  lab.bridge('rtr', 'br0', ports);
  lab.exec(
    'rtr',
    `ip addr add ${TOPO.rtrCli}/24 dev veth-cli
     ip addr add ${TOPO.rtrCli6}/64 dev veth-cli nodad
     ip addr add ${TOPO.rtrBr}/24 dev br0
     ip addr add ${TOPO.rtrBr6}/64 dev br0 nodad
     sysctl -qw net.ipv4.ip_forward=${forward} net.ipv6.conf.all.forwarding=${forward}`,
  );
}
