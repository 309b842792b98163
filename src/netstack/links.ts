import type { Family } from './packet.js';
import { isIp, normalizeIp } from './ip.js';
import { NetstackParseError } from './parse-error.js';

const FIELD = 'addresses';

/**
 * The kind of a network device: `linkinfo.info_kind` as `ip -d` prints it, `loopback` for `lo`, or
 * `device` for a device without a kind (a physical NIC).
 */
export type LinkKind =
  | 'veth'
  | 'bridge'
  | 'vxlan'
  | 'dummy'
  | 'ipip'
  | 'tun'
  | 'wireguard'
  | 'vlan'
  | 'macvlan'
  | 'ipvlan'
  | 'bond'
  | 'loopback'
  | 'device'
  | (string & {});

/** One address configured on a link (`addr_info`). */
export interface LinkAddress {
  readonly family: Family;
  readonly local: string;
  readonly prefixlen: number;
  /** `host`, `link`, `global`, `site` or a number. */
  readonly scope: string;
  /** The peer of a point-to-point address (`ip addr add A peer P`). */
  readonly peer?: string;
  readonly broadcast?: string;
  readonly label?: string;
  /**
   * A secondary IPv4 address: the kernel never picks it as a source address (inet_select_addr
   * skips IFA_F_SECONDARY).
   */
  readonly secondary: boolean;
  readonly dynamic: boolean;
  readonly noprefixroute: boolean;
  /** IPv6 DAD still running: the address cannot be used yet and has no local route. */
  readonly tentative: boolean;
  /** IPv6 DAD found a duplicate: the address is unusable. */
  readonly dadfailed: boolean;
  /** IPv6 preferred lifetime expired: only used when nothing better exists (RFC 6724 rule 3). */
  readonly deprecated: boolean;
  /** Every flag `ip` printed for the address (`secondary`, `nodad`, `temporary`, …). */
  readonly flags: readonly string[];
}

/** VXLAN device settings (`ip -d link` `info_data` of a vxlan device). */
export interface VxlanInfo {
  readonly id: number;
  readonly local?: string;
  /** Default destination: the unicast `remote`/`remote6`, or else the multicast `group`/`group6`. */
  readonly remote?: string;
  /** Multicast group (`group`/`group6`), when the default destination is one. */
  readonly group?: string;
  /** UDP destination port. */
  readonly port: number;
  /** The underlay device (`dev` at creation, printed as `link`). */
  readonly dev?: string;
  readonly learning: boolean;
}

/** Settings of an IP-in-IP style tunnel (ipip, gre, sit, ip6tnl). */
export interface TunnelInfo {
  /** Tunnel local address; absent for `any`. */
  readonly local?: string;
  /** Tunnel remote address; absent for `any` (Calico's tunl0 is `remote any`). */
  readonly remote?: string;
  readonly dev?: string;
}

/** Bridge-port state of a link enslaved to a bridge (`info_slave_data`). */
export interface BridgeSlaveInfo {
  /** STP state: `forwarding`, `blocking`, `disabled`, `learning`, `listening`. */
  readonly state?: string;
  readonly learning?: boolean;
  readonly flood?: boolean;
  readonly hairpin?: boolean;
  readonly isolated?: boolean;
  readonly proxyArp?: boolean;
  readonly neighSuppress?: boolean;
}

/** Bridge device settings (`info_data` of a bridge). */
export interface BridgeInfo {
  readonly vlanFiltering: boolean;
  readonly stpState?: number;
  /** Per-bridge `nf_call_iptables` (the global sysctl also applies). */
  readonly nfCallIptables?: boolean;
}

/** A network device of a namespace with its addresses, as `ip -j -d address show` describes it. */
export interface Link {
  readonly ifindex: number;
  readonly name: string;
  readonly kind: LinkKind;
  /** `info_slave_kind`: the kind of the master (`bridge`, `bond`, `vrf`). */
  readonly slaveKind?: string;
  readonly flags: readonly string[];
  /** IFF_UP: the administrator set it up. */
  readonly adminUp: boolean;
  /** IFF_LOWER_UP: carrier present. */
  readonly lowerUp: boolean;
  readonly operstate: string;
  readonly mtu: number;
  readonly mac?: string;
  /** Link type (`ether`, `loopback`, `none`, `ipip`, …). */
  readonly linkType?: string;
  /** Interface group name or number (`default` is 0). */
  readonly group?: string;
  /** Name of the master device (the bridge a port belongs to). */
  readonly master?: string;
  /** `link_index`: the peer's ifindex for a veth, possibly in another namespace. */
  readonly peerIfindex?: number;
  /** `link_netnsid`: the namespace id of the peer, when it lives in another namespace. */
  readonly peerNetnsId?: number;
  /** Lower device name for vlan/macvlan/ipvlan (`link`), or the vxlan/tunnel underlay device. */
  readonly link?: string;
  readonly vxlan?: VxlanInfo;
  readonly tunnel?: TunnelInfo;
  readonly vlanId?: number;
  readonly bridge?: BridgeInfo;
  readonly bridgeSlave?: BridgeSlaveInfo;
  readonly addresses: readonly LinkAddress[];
}

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(where: string, message: string): never {
  throw new NetstackParseError(FIELD, `${where}: ${message}`);
}

function optStr(o: Json, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') fail(where, `"${key}" is not a string`);
  return v;
}

function optNum(o: Json, key: string, where: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, `"${key}" is not a number`);
  return v;
}

function optBool(o: Json, key: string): boolean | undefined {
  const v = o[key];
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  return undefined;
}

function strList(o: Json, key: string, where: string): string[] {
  const v = o[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    fail(where, `"${key}" is not a list of strings`);
  return v as string[];
}

function ipOrUndefined(v: string | undefined, where: string): string | undefined {
  if (v === undefined || v === 'any' || v === '') return undefined;
  if (!isIp(v)) fail(where, `bad address "${v}"`);
  return normalizeIp(v);
}

function withOpt<T extends object, K extends string, V>(o: T, key: K, v: V | undefined): T {
  if (v !== undefined) (o as Record<string, unknown>)[key] = v;
  return o;
}

const ADDRESS_FLAGS = [
  'secondary',
  'temporary',
  'deprecated',
  'tentative',
  'dadfailed',
  'optimistic',
  'home',
  'nodad',
  'mngtmpaddr',
  'noprefixroute',
  'autojoin',
  'stable-privacy',
  'dynamic',
  'permanent',
] as const;

function parseAddress(a: unknown, where: string): LinkAddress {
  if (!isObj(a)) fail(where, 'not an object');
  const fam = a['family'];
  if (fam !== 'inet' && fam !== 'inet6') fail(where, `unsupported family ${JSON.stringify(fam)}`);
  const family: Family = fam === 'inet' ? 4 : 6;
  const localRaw = optStr(a, 'local', where);
  if (localRaw === undefined || !isIp(localRaw))
    fail(where, `bad local address ${JSON.stringify(a['local'])}`);
  const prefixlen = optNum(a, 'prefixlen', where);
  if (prefixlen === undefined || prefixlen < 0 || prefixlen > (family === 4 ? 32 : 128))
    fail(where, 'bad prefixlen');
  const flags = ADDRESS_FLAGS.filter((f) => a[f] === true);
  const out: Record<string, unknown> = {
    family,
    local: normalizeIp(localRaw),
    prefixlen,
    scope: optStr(a, 'scope', where) ?? 'global',
    secondary: flags.includes('secondary'),
    dynamic: flags.includes('dynamic'),
    noprefixroute: flags.includes('noprefixroute'),
    tentative: flags.includes('tentative'),
    dadfailed: flags.includes('dadfailed'),
    deprecated: flags.includes('deprecated') || a['preferred_life_time'] === 0,
    flags,
  };
  withOpt(out, 'peer', ipOrUndefined(optStr(a, 'address', where), where));
  withOpt(out, 'broadcast', ipOrUndefined(optStr(a, 'broadcast', where), where));
  withOpt(out, 'label', optStr(a, 'label', where));
  return out as unknown as LinkAddress;
}

function parseVxlan(d: Json, where: string): VxlanInfo {
  const id = optNum(d, 'id', where);
  if (id === undefined) fail(where, 'vxlan without "id"');
  const out: Record<string, unknown> = {
    id,
    port: optNum(d, 'port', where) ?? 8472,
    learning: optBool(d, 'learning') ?? true,
  };
  withOpt(out, 'local', ipOrUndefined(optStr(d, 'local', where) ?? optStr(d, 'local6', where), where));
  const group = ipOrUndefined(optStr(d, 'group', where) ?? optStr(d, 'group6', where), where);
  withOpt(
    out,
    'remote',
    ipOrUndefined(optStr(d, 'remote', where) ?? optStr(d, 'remote6', where), where) ?? group,
  );
  withOpt(out, 'group', group);
  withOpt(out, 'dev', optStr(d, 'link', where));
  return out as unknown as VxlanInfo;
}

const TUNNEL_KINDS = new Set([
  'ipip',
  'gre',
  'gretap',
  'sit',
  'ip6tnl',
  'ip6gre',
  'ip6gretap',
  'vti',
  'vti6',
]);

function parseLink(l: unknown, i: number): Link {
  const where0 = `entry ${i}`;
  if (!isObj(l)) fail(where0, 'not an object');
  const name = optStr(l, 'ifname', where0);
  if (name === undefined || name === '') fail(where0, 'missing "ifname"');
  const where = `${where0} (${name})`;
  const ifindex = optNum(l, 'ifindex', where);
  if (ifindex === undefined) fail(where, 'missing "ifindex"');
  const flags = strList(l, 'flags', where);
  const linkType = optStr(l, 'link_type', where);
  const info = l['linkinfo'];
  if (info !== undefined && !isObj(info)) fail(where, '"linkinfo" is not an object');
  const infoKind = info === undefined ? undefined : optStr(info, 'info_kind', where);
  const kind: LinkKind = infoKind ?? (linkType === 'loopback' ? 'loopback' : 'device');
  const addrInfo = l['addr_info'];
  if (addrInfo !== undefined && !Array.isArray(addrInfo)) fail(where, '"addr_info" is not a list');
  const addresses = (addrInfo ?? []).map((a, j) => parseAddress(a, `${where} address ${j}`));
  const out: Record<string, unknown> = {
    ifindex,
    name,
    kind,
    flags,
    adminUp: flags.includes('UP'),
    lowerUp: flags.includes('LOWER_UP'),
    operstate: optStr(l, 'operstate', where) ?? 'UNKNOWN',
    mtu: optNum(l, 'mtu', where) ?? 0,
    addresses,
  };
  withOpt(out, 'mac', optStr(l, 'address', where));
  withOpt(out, 'linkType', linkType);
  withOpt(out, 'group', optStr(l, 'group', where));
  withOpt(out, 'master', optStr(l, 'master', where));
  withOpt(out, 'peerIfindex', optNum(l, 'link_index', where));
  withOpt(out, 'peerNetnsId', optNum(l, 'link_netnsid', where));
  let lower = optStr(l, 'link', where);
  if (info !== undefined) {
    withOpt(out, 'slaveKind', optStr(info, 'info_slave_kind', where));
    const data = info['info_data'];
    if (data !== undefined && !isObj(data)) fail(where, '"info_data" is not an object');
    if (data !== undefined) {
      if (kind === 'vxlan') {
        const vxlan = parseVxlan(data, where);
        out['vxlan'] = vxlan;
        lower ??= vxlan.dev;
      } else if (TUNNEL_KINDS.has(kind)) {
        const tunnel: Record<string, unknown> = {};
        withOpt(tunnel, 'local', ipOrUndefined(optStr(data, 'local', where), where));
        withOpt(tunnel, 'remote', ipOrUndefined(optStr(data, 'remote', where), where));
        withOpt(tunnel, 'dev', optStr(data, 'link', where));
        out['tunnel'] = tunnel;
        lower ??= optStr(data, 'link', where);
      } else if (kind === 'vlan') {
        withOpt(out, 'vlanId', optNum(data, 'id', where));
      } else if (kind === 'bridge') {
        const bridge: Record<string, unknown> = { vlanFiltering: optBool(data, 'vlan_filtering') ?? false };
        withOpt(bridge, 'stpState', optNum(data, 'stp_state', where));
        withOpt(bridge, 'nfCallIptables', optBool(data, 'nf_call_iptables'));
        out['bridge'] = bridge;
      }
    }
    const slave = info['info_slave_data'];
    if (slave !== undefined && !isObj(slave)) fail(where, '"info_slave_data" is not an object');
    if (slave !== undefined && optStr(info, 'info_slave_kind', where) === 'bridge') {
      const bs: Record<string, unknown> = {};
      withOpt(bs, 'state', optStr(slave, 'state', where));
      withOpt(bs, 'learning', optBool(slave, 'learning'));
      withOpt(bs, 'flood', optBool(slave, 'flood'));
      withOpt(bs, 'hairpin', optBool(slave, 'hairpin'));
      withOpt(bs, 'isolated', optBool(slave, 'isolated'));
      withOpt(bs, 'proxyArp', optBool(slave, 'proxy_arp'));
      withOpt(bs, 'neighSuppress', optBool(slave, 'neigh_suppress'));
      out['bridgeSlave'] = bs;
    }
  }
  withOpt(out, 'link', lower);
  return out as unknown as Link;
}

/**
 * Parses `ip -j -d address show` (Dump field `addresses`) into links with their addresses.
 *
 * @remarks `ifname` is the bare name: JSON output never carries the `eth0@if12` decoration of the
 * text form; the veth peer is `link_index` (+ `link_netnsid` when it lives in another namespace).
 */
export function parseLinks(raw: unknown): Link[] {
  if (!Array.isArray(raw))
    throw new NetstackParseError(FIELD, 'expected the JSON array printed by `ip -j -d address show`');
  return raw.map(parseLink);
}

/** Links by name and by ifindex, for O(1) lookups during simulation. */
export interface LinkIndex {
  readonly byName: ReadonlyMap<string, Link>;
  readonly byIndex: ReadonlyMap<number, Link>;
}

/** Indexes `links` by name and ifindex. */
export function indexLinks(links: readonly Link[]): LinkIndex {
  const byName = new Map<string, Link>();
  const byIndex = new Map<number, Link>();
  for (const l of links) {
    byName.set(l.name, l);
    byIndex.set(l.ifindex, l);
  }
  return { byName, byIndex };
}
