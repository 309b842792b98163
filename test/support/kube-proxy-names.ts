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
