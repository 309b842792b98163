import type { Protocol } from './packet.js';

/**
 * One component of an ipset lookup, taken from the packet by a `--match-set NAME src,dst,…` flag:
 * an address for an ip/net dimension, a port (with its protocol) for a port dimension.
 */
export type IpsetPart =
  | { readonly kind: 'ip'; readonly ip: string }
  | { readonly kind: 'port'; readonly port: number; readonly protocol: Protocol }
  | { readonly kind: 'iface'; readonly name: string };

/**
 * What netfilter's `set` match asks an ipset store: is the tuple built from the packet in set `name`?
 * `parts` has one entry per direction flag, in flag order; the set uses as many as its type has
 * dimensions (`hash:ip,port` uses two), as the kernel does.
 */
export interface IpsetQuery {
  readonly name: string;
  readonly parts: readonly IpsetPart[];
}

/**
 * Answers set membership; `undefined` means the set does not exist in the captured state (the
 * kernel would refuse such a rule, so the caller must report it rather than guess).
 */
export type IpsetMatcher = (query: IpsetQuery) => boolean | undefined;
