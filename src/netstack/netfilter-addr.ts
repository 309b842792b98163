import ipaddr from 'ipaddr.js';
import type { Family } from './packet.js';

/**
 * An address with its mask as iptables stores it (`struct ipt_ip` src/smsk): four 32-bit words,
 * already masked, as signed integers so that `(word & mask) === addr` compares without conversion.
 * IPv4 uses `a0`/`m0` only.
 */
export interface AddrNet {
  readonly family: Family;
  readonly a0: number;
  readonly a1: number;
  readonly a2: number;
  readonly a3: number;
  readonly m0: number;
  readonly m1: number;
  readonly m2: number;
  readonly m3: number;
  /** Whether the mask covers the whole address (a single host). */
  readonly host: boolean;
}

/** A packet address in the same word form as {@link AddrNet}. */
export interface AddrKey {
  readonly family: Family;
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
}

/** Parses a dotted quad between `start` and `end` of `s`; -1 when it is not one. */
function parseV4(s: string, start: number, end: number): number {
  let value = 0;
  let part = -1;
  let parts = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1;
      part = (part < 0 ? 0 : part) * 10 + (c - 48);
      digits++;
      if (part > 255) return -1;
    } else if (c === 46) {
      if (part < 0) return -1;
      value = value * 256 + part;
      part = -1;
      digits = 0;
      parts++;
    } else return -1;
  }
  if (part < 0 || parts !== 3) return -1;
  return value * 256 + part;
}

function v6Words(text: string): [number, number, number, number] | undefined {
  if (!ipaddr.IPv6.isValid(text)) return undefined;
  const p = ipaddr.IPv6.parse(text).parts;
  const w = (i: number): number => ((p[i] ?? 0) << 16) | (p[i + 1] ?? 0) | 0;
  return [w(0), w(2), w(4), w(6)];
}

function lengthMask(len: number, word: number): number {
  const bits = Math.min(32, Math.max(0, len - word * 32));
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) | 0;
}

function isDecimal(s: string): boolean {
  if (s.length === 0 || s.length > 3) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Parses one `-s`/`-d` operand: an address, `addr/len`, or `addr/mask` (iptables-save prints
 * non-contiguous masks in address form, `10.0.0.0/255.0.255.0`). `undefined` when invalid.
 */
export function parseAddrNet(text: string, family: Family): AddrNet | undefined {
  const slash = text.indexOf('/');
  const addrEnd = slash < 0 ? text.length : slash;
  const maskText = slash < 0 ? undefined : text.slice(slash + 1);
  if (family === 4) {
    const a = parseV4(text, 0, addrEnd);
    if (a < 0) return undefined;
    let m = -1;
    if (maskText === undefined) m = 0xffffffff | 0;
    else if (isDecimal(maskText)) {
      const len = Number(maskText);
      if (len > 32) return undefined;
      m = lengthMask(len, 0);
    } else {
      const mm = parseV4(maskText, 0, maskText.length);
      if (mm < 0) return undefined;
      m = mm | 0;
    }
    return { family, a0: a & m, a1: 0, a2: 0, a3: 0, m0: m, m1: 0, m2: 0, m3: 0, host: m === -1 };
  }
  const w = v6Words(slash < 0 ? text : text.slice(0, slash));
  if (w === undefined) return undefined;
  let m: [number, number, number, number];
  if (maskText === undefined) m = [-1, -1, -1, -1];
  else if (isDecimal(maskText)) {
    const len = Number(maskText);
    if (len > 128) return undefined;
    m = [lengthMask(len, 0), lengthMask(len, 1), lengthMask(len, 2), lengthMask(len, 3)];
  } else {
    const mw = v6Words(maskText);
    if (mw === undefined) return undefined;
    m = mw;
  }
  return {
    family,
    a0: w[0] & m[0],
    a1: w[1] & m[1],
    a2: w[2] & m[2],
    a3: w[3] & m[3],
    m0: m[0],
    m1: m[1],
    m2: m[2],
    m3: m[3],
    host: m[0] === -1 && m[1] === -1 && m[2] === -1 && m[3] === -1,
  };
}

/** The word form of a packet address; `undefined` when `ip` is not an address of `family`. */
export function addrKeyOf(ip: string, family: Family): AddrKey | undefined {
  if (family === 4) {
    const a = parseV4(ip, 0, ip.length);
    return a < 0 ? undefined : { family, w0: a | 0, w1: 0, w2: 0, w3: 0 };
  }
  const w = v6Words(ip);
  return w === undefined ? undefined : { family, w0: w[0], w1: w[1], w2: w[2], w3: w[3] };
}

/** Whether `key` lies inside `net` (kernel `ip_packet_match`: `(addr & mask) == net`). */
export function netContains(net: AddrNet, key: AddrKey): boolean {
  if ((key.w0 & net.m0) !== net.a0) return false;
  if (net.family === 4) return true;
  return (key.w1 & net.m1) === net.a1 && (key.w2 & net.m2) === net.a2 && (key.w3 & net.m3) === net.a3;
}

/** A Map key for one address: the word itself for IPv4, the four words joined for IPv6. */
export function lookupKey(k: {
  readonly family: Family;
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
}): number | string {
  return k.family === 4 ? k.w0 : `${k.w0},${k.w1},${k.w2},${k.w3}`;
}

/** The Map key of a single-host net (see {@link lookupKey}). */
export function hostNetKey(n: AddrNet): number | string {
  return n.family === 4 ? n.a0 : `${n.a0},${n.a1},${n.a2},${n.a3}`;
}

/** Compares two keys as unsigned 128-bit numbers: negative, zero or positive. */
export function compareKeys(a: AddrKey, b: AddrKey): number {
  const pairs: [number, number][] = [
    [a.w0, b.w0],
    [a.w1, b.w1],
    [a.w2, b.w2],
    [a.w3, b.w3],
  ];
  for (const [x, y] of pairs) {
    if (x !== y) return (x >>> 0) - (y >>> 0);
  }
  return 0;
}

/** The IPv4 address of a word, dotted. */
export function formatV4(word: number): string {
  const u = word >>> 0;
  return `${u >>> 24}.${(u >>> 16) & 255}.${(u >>> 8) & 255}.${u & 255}`;
}
