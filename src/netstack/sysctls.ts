import { NetstackParseError } from './parse-error.js';

const FIELD = 'sysctls';

/** Kernel parameters of one namespace, by full dotted key (`net.ipv4.ip_forward`), values as printed. */
export type Sysctls = ReadonlyMap<string, string>;

/**
 * Parses `sysctl -a` output (Dump field `sysctls`): one `key = value` per line; empty lines are
 * skipped, anything else is rejected.
 *
 * @remarks Multi-value keys keep their tab separators (`net.ipv4.ip_local_port_range = 32768\t60999`);
 * a key with an empty value prints as `key = `. "permission denied" complaints go to stderr and are
 * not part of the capture.
 */
export function parseSysctls(text: string): Sysctls {
  const out = new Map<string, string>();
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const m = /^([A-Za-z0-9_.\-/:@+]+) = ?(.*)$/.exec(line.replace(/\r$/, ''));
    if (m === null || m[1] === undefined || m[2] === undefined) {
      throw new NetstackParseError(
        FIELD,
        `not a "key = value" line: ${JSON.stringify(line.slice(0, 80))}`,
        i + 1,
      );
    }
    out.set(m[1], m[2]);
  });
  return out;
}

/** `value` as an integer, or `undefined` when absent or not a number. */
export function num(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = value.trim();
  if (!/^-?\d+$/.test(t)) return undefined;
  return Number(t);
}

/**
 * The sysctl path component for interface `dev`: dots become slashes (`eth0.100` →
 * `eth0/100`), as in `net.ipv4.conf.eth0/100.rp_filter`.
 *
 * @remarks sysctl(8) prints keys with `.` separators, so a `.` inside a device name must be written
 * as `/` (procps swaps the two when mapping to /proc/sys paths).
 */
export function sysctlDevName(dev: string): string {
  return dev.replaceAll('.', '/');
}

function conf(s: Sysctls, family: 'ipv4' | 'ipv6', dev: string, key: string): number | undefined {
  return num(s.get(`net.${family}.conf.${sysctlDevName(dev)}.${key}`));
}

function maxOf(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined) return undefined;
  return Math.max(a, b);
}

function orOf(a: number | undefined, b: number | undefined): boolean | undefined {
  if (a === undefined || b === undefined) return undefined;
  return a !== 0 || b !== 0;
}

/**
 * Effective reverse-path filter mode on `dev`: 0 off, 1 strict, 2 loose; `undefined` when either key
 * is missing.
 *
 * @remarks IN_DEV_RPFILTER is `IN_DEV_MAXCONF(idev, RP_FILTER)`: the larger of `conf.all` and
 * `conf.<dev>`, so `all=2, eth0=1` gives loose.
 * <https://github.com/torvalds/linux/blob/master/include/linux/inetdevice.h>
 */
export function rpFilter(s: Sysctls, dev: string): 0 | 1 | 2 | undefined {
  const v = maxOf(num(s.get('net.ipv4.conf.all.rp_filter')), conf(s, 'ipv4', dev, 'rp_filter'));
  if (v === undefined) return undefined;
  return v >= 2 ? 2 : v === 1 ? 1 : 0;
}

/**
 * Whether IPv4 packets arriving on `inDev` may be forwarded.
 *
 * @remarks ip_route_input_slow checks IN_DEV_FORWARD(in_dev), i.e. `conf.<in_dev>.forwarding` of the
 * input device only; writing `net.ipv4.ip_forward` (= `conf.all.forwarding`) copies the value to
 * every device. When the per-device key is absent, `ip_forward` is used.
 * <https://github.com/torvalds/linux/blob/master/net/ipv4/route.c>
 */
export function ipv4Forwarding(s: Sysctls, inDev: string): boolean | undefined {
  const v = conf(s, 'ipv4', inDev, 'forwarding') ?? num(s.get('net.ipv4.ip_forward'));
  return v === undefined ? undefined : v !== 0;
}

/**
 * Whether IPv6 packets arriving on `inDev` may be forwarded.
 *
 * @remarks Unlike IPv4, ip6_forward gates on the namespace-wide `net.ipv6.conf.all.forwarding`; the
 * per-device `forwarding` only switches router behaviour (RA/NA flags), not forwarding. Since Linux
 * 6.17 `conf.<inDev>.force_forwarding = 1` forwards regardless. Verified on 6.18: with
 * `all.forwarding=1, cni0.forwarding=0` a pod's IPv6 ping through cni0 is forwarded; with
 * `all.forwarding=0, cni0.forwarding=1, eth0.forwarding=1` it is not.
 * <https://github.com/torvalds/linux/blob/master/net/ipv6/ip6_output.c>
 */
export function ipv6Forwarding(s: Sysctls, inDev: string): boolean | undefined {
  const all = num(s.get('net.ipv6.conf.all.forwarding'));
  if (conf(s, 'ipv6', inDev, 'force_forwarding') === 1) return true;
  return all === undefined ? undefined : all !== 0;
}

/**
 * Whether `dev` answers ARP for addresses it routes elsewhere.
 *
 * @remarks IN_DEV_PROXY_ARP is `IN_DEV_ORCONF(idev, PROXY_ARP)`: `conf.all` OR `conf.<dev>`.
 */
export function proxyArp(s: Sysctls, dev: string): boolean | undefined {
  return orOf(num(s.get('net.ipv4.conf.all.proxy_arp')), conf(s, 'ipv4', dev, 'proxy_arp'));
}

/**
 * Whether packets arriving on `dev` may carry a local source address.
 *
 * @remarks IN_DEV_ACCEPT_LOCAL is `IN_DEV_ORCONF(idev, ACCEPT_LOCAL)`; fib_validate_source rejects
 * a local source with -EINVAL unless it is set.
 */
export function acceptLocal(s: Sysctls, dev: string): boolean | undefined {
  return orOf(num(s.get('net.ipv4.conf.all.accept_local')), conf(s, 'ipv4', dev, 'accept_local'));
}

/**
 * Whether 127.0.0.0/8 may be routed on `dev` (kube-proxy sets it for NodePorts on localhost).
 *
 * @remarks IN_DEV_ROUTE_LOCALNET is `IN_DEV_ORCONF(idev, ROUTE_LOCALNET)`; without it
 * ip_route_input_slow treats a loopback source or destination as martian.
 */
export function routeLocalnet(s: Sysctls, dev: string): boolean | undefined {
  return orOf(num(s.get('net.ipv4.conf.all.route_localnet')), conf(s, 'ipv4', dev, 'route_localnet'));
}

/**
 * Whether reverse-path lookups of packets arriving on `dev` use the packet mark.
 *
 * @remarks IN_DEV_SRC_VMARK is `IN_DEV_ORCONF(idev, SRC_VMARK)`; __fib_validate_source sets
 * `flowi4_mark = IN_DEV_SRC_VMARK(idev) ? skb->mark : 0`.
 */
export function srcValidMark(s: Sysctls, dev: string): boolean | undefined {
  return orOf(num(s.get('net.ipv4.conf.all.src_valid_mark')), conf(s, 'ipv4', dev, 'src_valid_mark'));
}

/**
 * Whether routes whose next hop has no carrier are skipped on `dev`.
 *
 * @remarks IN_DEV_IGNORE_ROUTES_WITH_LINKDOWN is `IN_DEV_ORCONF`; it defaults to 0, so the kernel
 * keeps using `linkdown` routes (fib_lookup_good_nhc).
 */
export function ignoreRoutesWithLinkdown(s: Sysctls, dev: string): boolean | undefined {
  return orOf(
    num(s.get('net.ipv4.conf.all.ignore_routes_with_linkdown')),
    conf(s, 'ipv4', dev, 'ignore_routes_with_linkdown'),
  );
}

/**
 * Whether bridged IPv4 traffic traverses iptables; `undefined` when the key is absent, meaning
 * br_netfilter is not loaded (bridged traffic then skips iptables entirely).
 *
 * @remarks `net.bridge.bridge-nf-call-iptables` only exists once br_netfilter is loaded; kube-proxy
 * and most CNIs need it to be 1.
 */
export function bridgeNfCallIptables(s: Sysctls): boolean | undefined {
  const v = num(s.get('net.bridge.bridge-nf-call-iptables'));
  return v === undefined ? undefined : v !== 0;
}

/** Whether the namespace ignores every ICMP echo request (`net.ipv4.icmp_echo_ignore_all`). */
export function icmpEchoIgnoreAll(s: Sysctls): boolean | undefined {
  const v = num(s.get('net.ipv4.icmp_echo_ignore_all'));
  return v === undefined ? undefined : v !== 0;
}

/** The ephemeral source-port range (`net.ipv4.ip_local_port_range`, also used by IPv6). */
export function ipLocalPortRange(s: Sysctls): { readonly low: number; readonly high: number } | undefined {
  const v = s.get('net.ipv4.ip_local_port_range');
  if (v === undefined) return undefined;
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(v);
  if (m === null) return undefined;
  return { low: Number(m[1]), high: Number(m[2]) };
}
