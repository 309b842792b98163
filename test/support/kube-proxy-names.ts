// How kube-proxy (iptables mode) names and annotates its rules, shared by the benchmark's rule
// generator (bench/gen-kube-proxy.ts) and the e2e clusters' kube-proxy emulator
// (test/e2e/cluster/kube-proxy-rules.ts), so both write exactly what kube-proxy writes.
import { createHash } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** kube-proxy's chain-name hash: base32(sha256(text)) cut to 16 characters (pkg/proxy/iptables/proxier.go). */
export function hash16(text: string): string {
  return base32(createHash('sha256').update(text).digest()).slice(0, 16);
}

/** The probability kube-proxy gives endpoint `i` of `n`, printed the way iptables-save prints it (31-bit fixed point). */
export function probability(i: number, n: number): string {
  const q = Math.round((1 / (n - i)) * 0x80000000) / 0x80000000;
  return q.toFixed(11);
}

/** A `--comment` argument as iptables-save prints it (quoted unless it is a plain word). */
export function comment(text: string): string {
  return /^[A-Za-z0-9_-]+$/.test(text) ? text : `"${text}"`;
}

/** The filter chains kube-proxy (iptables mode) always declares. */
export const KUBE_PROXY_FILTER_CHAINS: readonly string[] = [
  'KUBE-EXTERNAL-SERVICES',
  'KUBE-FIREWALL',
  'KUBE-FORWARD',
  'KUBE-KUBELET-CANARY',
  'KUBE-NODEPORTS',
  'KUBE-PROXY-CANARY',
  'KUBE-PROXY-FIREWALL',
  'KUBE-SERVICES',
];

/** The filter rules kube-proxy always writes, whatever the Services (hooks, firewall, forwarding). */
export const KUBE_PROXY_FILTER_BASE_RULES: readonly string[] = [
  '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
  '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
  '-A INPUT -j KUBE-FIREWALL',
  '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
  '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
  '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A OUTPUT -j KUBE-FIREWALL',
  '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
  '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
  '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
  '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
];
