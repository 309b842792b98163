import { isIp, normalizeIp } from './ip.js';
import { NetstackParseError } from './parse-error.js';

const FIELD = 'fdb';

/** The all-zeros MAC: a vxlan device's default destination(s), used when no entry matches. */
export const ZERO_MAC = '00:00:00:00:00:00';

/** One forwarding-database entry of a bridge port or of a device's own table (vxlan). */
export interface FdbEntry {
  readonly mac: string;
  /** The device the entry is on (`dev`): a bridge port, or the vxlan device itself. */
  readonly ifname: string;
  /** The bridge whose FDB holds the entry (`master`). */
  readonly master?: string;
  /** VXLAN remote (underlay) address. */
  readonly dst?: string;
  /** VXLAN VNI to use towards `dst`, when it differs from the device's. */
  readonly vni?: number;
  /** VXLAN UDP port towards `dst`, when it differs from the device's. */
  readonly port?: number;
  /** Underlay device for a multicast `dst` (`via`). */
  readonly via?: string;
  readonly vlan?: number;
  /** `permanent`, `static`, or `dynamic` (learned; `ip` prints no state). */
  readonly state: string;
  /** `self`, `master`, `extern_learn`, `offload`, `router`, `sticky`, … */
  readonly flags: readonly string[];
}

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses `bridge -j fdb show` (Dump field `fdb`). */
export function parseFdb(raw: unknown): FdbEntry[] {
  if (!Array.isArray(raw))
    throw new NetstackParseError(FIELD, 'expected the JSON array printed by `bridge -j fdb show`');
  return raw.map((e, i): FdbEntry => {
    const where = `entry ${i}`;
    const bad = (what: string): NetstackParseError => new NetstackParseError(FIELD, `${where}: bad ${what}`);
    if (!isObj(e)) throw bad('entry (not an object)');
    const mac = e['mac'];
    if (typeof mac !== 'string' || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac))
      throw bad(`"mac" ${JSON.stringify(mac)}`);
    const ifname = e['ifname'];
    if (typeof ifname !== 'string') throw bad('"ifname"');
    const flags = e['flags'] ?? [];
    if (!Array.isArray(flags) || flags.some((f) => typeof f !== 'string')) throw bad('"flags"');
    const state = e['state'];
    if (state !== undefined && typeof state !== 'string') throw bad('"state"');
    const out: Record<string, unknown> = {
      mac: mac.toLowerCase(),
      ifname,
      state: state === undefined || state === '' ? 'dynamic' : state,
      flags,
    };
    if (typeof e['master'] === 'string') out['master'] = e['master'];
    const dst = e['dst'];
    if (dst !== undefined) {
      if (typeof dst !== 'string' || !isIp(dst)) throw bad(`"dst" ${JSON.stringify(dst)}`);
      out['dst'] = normalizeIp(dst);
    }
    for (const k of ['vni', 'port', 'vlan'] as const) {
      const v = e[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(`"${k}"`);
      out[k] = v;
    }
    if (typeof e['viaIf'] === 'string') out['via'] = e['viaIf'];
    return out as unknown as FdbEntry;
  });
}

/** FDB entries indexed for {@link lookupFdb}. */
export interface FdbIndex {
  /** Bridge tables: `bridge|mac|vlan` → entries learned/installed on its ports. */
  readonly bridge: ReadonlyMap<string, readonly FdbEntry[]>;
  /** Devices' own tables (`self`): `dev|mac` → entries (several for `bridge fdb append`). */
  readonly self: ReadonlyMap<string, readonly FdbEntry[]>;
  /** Bridges that have at least one port entry. */
  readonly bridges: ReadonlySet<string>;
}

function push(m: Map<string, FdbEntry[]>, k: string, e: FdbEntry): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [e]);
  else list.push(e);
}

function bridgeKey(bridge: string, mac: string, vlan: number | undefined): string {
  return `${bridge}|${mac}|${vlan ?? ''}`;
}

/** Indexes `entries` for {@link lookupFdb}. */
export function indexFdb(entries: readonly FdbEntry[]): FdbIndex {
  const bridge = new Map<string, FdbEntry[]>();
  const self = new Map<string, FdbEntry[]>();
  const bridges = new Set<string>();
  for (const e of entries) {
    if (e.master !== undefined) {
      push(bridge, bridgeKey(e.master, e.mac, e.vlan), e);
      bridges.add(e.master);
    } else {
      push(self, `${e.ifname}|${e.mac}`, e);
    }
  }
  return { bridge, self, bridges };
}

/**
 * Result of an FDB lookup: `hit` (the MAC is known), `default` (unknown MAC sent to the all-zeros
 * entries' remotes — vxlan head-end replication), or `miss` (a bridge floods, a vxlan device drops).
 */
export interface FdbLookup {
  readonly kind: 'hit' | 'default' | 'miss';
  readonly entries: readonly FdbEntry[];
}

/**
 * Looks `mac` up in the FDB of `dev`: the bridge table when `dev` is a bridge (entries on its ports,
 * matched with `vlan`), otherwise the device's own table (a vxlan device), falling back to the
 * all-zeros entries.
 *
 * @remarks Mirrors vxlan_xmit: `vxlan_find_mac(dst)`, and when that fails
 * `vxlan_find_mac(all_zeros_mac)`; every remote of the matched entry gets a copy (entries added
 * with `bridge fdb append` are several remotes of one entry). Per-entry `vni` only sets the VNI
 * sent to that remote; it does not key the lookup (except in collect-metadata mode, not modelled).
 * <https://github.com/torvalds/linux/blob/master/drivers/net/vxlan/vxlan_core.c>
 */
export function lookupFdb(index: FdbIndex, dev: string, mac: string, vlan?: number): FdbLookup {
  const m = mac.toLowerCase();
  if (index.bridges.has(dev)) {
    const hit = index.bridge.get(bridgeKey(dev, m, vlan));
    return hit === undefined ? { kind: 'miss', entries: [] } : { kind: 'hit', entries: hit };
  }
  const hit = index.self.get(`${dev}|${m}`);
  if (hit !== undefined) return { kind: 'hit', entries: hit };
  const zero = index.self.get(`${dev}|${ZERO_MAC}`);
  if (zero !== undefined) return { kind: 'default', entries: zero };
  return { kind: 'miss', entries: [] };
}
