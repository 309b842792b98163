import { createHash } from 'node:crypto';

/** A JSON value as it is written into the snapshot. */
export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };

/** A JSON object. */
export type JsonObject = { readonly [key: string]: Json };

/** The first `n` hex digits of sha1(`text`): a deterministic stand-in for everything random. */
export function hex(text: string, n: number): string {
  return createHash('sha1').update(text).digest('hex').slice(0, n);
}

/** The alphabet Kubernetes uses for generated name suffixes (`k8s.io/apimachinery/pkg/util/rand`). */
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** A deterministic `n`-character suffix in Kubernetes' safe alphabet. */
export function k8sSuffix(text: string, n: number): string {
  const digest = createHash('sha1').update(text).digest();
  let out = '';
  for (let i = 0; i < n; i++) out += SAFE[(digest[i] ?? 0) % SAFE.length];
  return out;
}

/** A locally administered unicast MAC derived from `text`. */
export function mac(text: string): string {
  const h = hex(`mac:${text}`, 12);
  const first = ((parseInt(h.slice(0, 2), 16) & 0xfc) | 0x02).toString(16).padStart(2, '0');
  return [first, h.slice(2, 4), h.slice(4, 6), h.slice(6, 8), h.slice(8, 10), h.slice(10, 12)].join(':');
}

/** The IPv6 link-local address the kernel derives from a MAC (EUI-64), as `ip` prints it. */
export function linkLocal(macAddr: string): string {
  const b = macAddr.split(':').map((x) => parseInt(x, 16));
  const bytes = [(b[0] ?? 0) ^ 0x02, b[1] ?? 0, b[2] ?? 0, 0xff, 0xfe, b[3] ?? 0, b[4] ?? 0, b[5] ?? 0];
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return `fe80::${groups.join(':')}`;
}

/** Dotted-quad text of a 32-bit address. */
export function ipv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** The 32-bit value of a dotted quad. */
export function ipv4Value(text: string): number {
  const p = text.split('.').map(Number);
  return (((p[0] ?? 0) << 24) | ((p[1] ?? 0) << 16) | ((p[2] ?? 0) << 8) | (p[3] ?? 0)) >>> 0;
}

/** An RFC 3339 time `minutes` after a fixed epoch (the snapshot's clock never moves). */
export function timestamp(minutes: number): string {
  return new Date(Date.UTC(2026, 10, 2, 9, 0, 0) + minutes * 60_000).toISOString().replace('.000Z', 'Z');
}

/** A deterministic UUID-shaped id. */
export function uid(text: string): string {
  const h = hex(`uid:${text}`, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
