import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Layout, NodeInfo, PodInfo } from './cluster-layout.js';
import { ipv4, ipv4Value, linkLocal, type Json, type JsonObject } from './cluster-util.js';

/**
 * The Dumps (CONTRACTS §2) of a generated cluster's captured namespaces. Every JSON field copies
 * the key set and order of the real captures in test/fixtures/ip/ (`ip -j -d address show`,
 * `ip -j -d route show table all`, `ip -j rule show`, `ip -j neigh show`, `bridge -j fdb show`);
 * the sysctls are the real pod capture's `sysctl -a` lines, repeated per interface.
 */

const FIXTURES = new URL('../test/fixtures/ip/', import.meta.url);

const GATEWAY = '192.168.0.1';
const GATEWAY_MAC = '02:42:c0:a8:00:01';
const FOREVER = 4294967295;

const LINK_TAIL = {
  num_tx_queues: 1,
  num_rx_queues: 1,
  gso_max_size: 65536,
  gso_max_segs: 65535,
  tso_max_size: 524280,
  tso_max_segs: 65535,
  gro_max_size: 65536,
} as const;

function addr4(local: string, prefixlen: number, label: string, extra: JsonObject = {}): JsonObject {
  return {
    family: 'inet',
    local,
    prefixlen,
    ...extra,
    scope: 'global',
    label,
    valid_life_time: FOREVER,
    preferred_life_time: FOREVER,
  };
}

function addr6LinkLocal(macAddr: string): JsonObject {
  return {
    family: 'inet6',
    local: linkLocal(macAddr),
    prefixlen: 64,
    scope: 'link',
    valid_life_time: FOREVER,
    preferred_life_time: FOREVER,
  };
}

function loopback(): JsonObject {
  return {
    ifindex: 1,
    ifname: 'lo',
    flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
    mtu: 65536,
    qdisc: 'noqueue',
    operstate: 'UNKNOWN',
    group: 'default',
    txqlen: 1000,
    link_type: 'loopback',
    address: '00:00:00:00:00:00',
    broadcast: '00:00:00:00:00:00',
    promiscuity: 0,
    allmulti: 0,
    min_mtu: 0,
    max_mtu: 0,
    ...LINK_TAIL,
    addr_info: [
      {
        family: 'inet',
        local: '127.0.0.1',
        prefixlen: 8,
        scope: 'host',
        label: 'lo',
        valid_life_time: FOREVER,
        preferred_life_time: FOREVER,
      },
      {
        family: 'inet6',
        local: '::1',
        prefixlen: 128,
        scope: 'host',
        valid_life_time: FOREVER,
        preferred_life_time: FOREVER,
      },
    ],
  };
}

/** MTU of the pod network: the VXLAN device's (50 bytes of encapsulation less) or the NIC's. */
function podMtu(layout: Layout): number {
  return layout.shape.backend === 'vxlan' ? 1450 : 1500;
}

/** Interface indexes on a node: lo 1, eth0 2, flannel.1 3 (vxlan), cni0, then one veth per pod slot. */
function cniIfindex(layout: Layout): number {
  return layout.shape.backend === 'vxlan' ? 4 : 3;
}

/** The ifindex of the host side of the pod's veth. */
export function hostVethIfindex(layout: Layout, p: PodInfo): number {
  return cniIfindex(layout) + 1 + p.slot;
}

/** Sysctl-style interface name (`flannel.1` → `flannel/1`). */
const sysctlName = (ifname: string): string => ifname.replaceAll('.', '/');

function nodeAddresses(layout: Layout, n: NodeInfo): Json[] {
  const mtu = podMtu(layout);
  const bridgeId = `8000.${n.cniMac
    .split(':')
    .map((x) => x.replace(/^0/, ''))
    .join(':')}`;
  const links: Json[] = [loopback()];
  links.push({
    ifindex: 2,
    ifname: 'eth0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 1500,
    qdisc: 'mq',
    operstate: 'UP',
    group: 'default',
    txqlen: 1000,
    link_type: 'ether',
    address: n.ethMac,
    broadcast: 'ff:ff:ff:ff:ff:ff',
    promiscuity: 0,
    allmulti: 0,
    min_mtu: 68,
    max_mtu: 9216,
    ...LINK_TAIL,
    num_tx_queues: 8,
    num_rx_queues: 8,
    parentbus: 'pci',
    parentdev: '0000:00:05.0',
    addr_info: [
      {
        family: 'inet',
        local: n.ip,
        prefixlen: 16,
        broadcast: '192.168.255.255',
        scope: 'global',
        dynamic: true,
        label: 'eth0',
        valid_life_time: 3187,
        preferred_life_time: 3187,
      },
      addr6LinkLocal(n.ethMac),
    ],
  });
  if (layout.shape.backend === 'vxlan') {
    links.push({
      ifindex: 3,
      ifname: 'flannel.1',
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      mtu,
      qdisc: 'noqueue',
      operstate: 'UNKNOWN',
      group: 'default',
      txqlen: 1000,
      link_type: 'ether',
      address: n.vtepMac,
      broadcast: 'ff:ff:ff:ff:ff:ff',
      promiscuity: 0,
      allmulti: 0,
      min_mtu: 68,
      max_mtu: 65535,
      linkinfo: {
        info_kind: 'vxlan',
        info_data: {
          id: 1,
          local: n.ip,
          link: 'eth0',
          port_range: { low: 0, high: 0 },
          port: 8472,
          learning: false,
          ttl: 0,
          df: 'unset',
          ageing: 300,
          udp_csum: true,
          udp_zero_csum6_tx: false,
          udp_zero_csum6_rx: false,
        },
      },
      ...LINK_TAIL,
      addr_info: [addr4(n.podNet, 32, 'flannel.1'), addr6LinkLocal(n.vtepMac)],
    });
  }
  links.push({
    ifindex: cniIfindex(layout),
    ifname: 'cni0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu,
    qdisc: 'noqueue',
    operstate: 'UP',
    group: 'default',
    txqlen: 1000,
    link_type: 'ether',
    address: n.cniMac,
    broadcast: 'ff:ff:ff:ff:ff:ff',
    promiscuity: 0,
    allmulti: 0,
    min_mtu: 68,
    max_mtu: 65535,
    linkinfo: {
      info_kind: 'bridge',
      info_data: {
        forward_delay: 1500,
        hello_time: 200,
        max_age: 2000,
        ageing_time: 30000,
        stp_state: 0,
        priority: 32768,
        vlan_filtering: 0,
        vlan_protocol: '802.1Q',
        bridge_id: bridgeId,
        root_id: bridgeId,
        root_port: 0,
        root_path_cost: 0,
        topology_change: 0,
        topology_change_detected: 0,
        hello_timer: 0.0,
        tcn_timer: 0.0,
        topology_change_timer: 0.0,
        gc_timer: 127.31,
        vlan_default_pvid: 1,
        vlan_stats_enabled: 0,
        vlan_stats_per_port: 0,
        group_fwd_mask: '0',
        group_addr: '01:80:c2:00:00:00',
        mcast_snooping: 1,
        no_linklocal_learn: 0,
        mcast_vlan_snooping: 0,
        mcast_router: 1,
        mcast_query_use_ifaddr: 0,
        mcast_querier: 0,
        mcast_hash_elasticity: 16,
        mcast_hash_max: 4096,
        mcast_last_member_cnt: 2,
        mcast_startup_query_cnt: 2,
        mcast_last_member_intvl: 100,
        mcast_membership_intvl: 26000,
        mcast_querier_intvl: 25500,
        mcast_query_intvl: 12500,
        mcast_query_response_intvl: 1000,
        mcast_startup_query_intvl: 3124,
        mcast_stats_enabled: 0,
        mcast_igmp_version: 2,
        mcast_mld_version: 1,
        nf_call_iptables: 0,
        nf_call_ip6tables: 0,
        nf_call_arptables: 0,
      },
    },
    ...LINK_TAIL,
    addr_info: [
      addr4(n.gateway, 24, 'cni0', { broadcast: ipv4(ipv4Value(n.podNet) + 255) }),
      addr6LinkLocal(n.cniMac),
    ],
  });
  for (const p of n.pods) {
    links.push({
      ifindex: hostVethIfindex(layout, p),
      link_index: 2,
      ifname: p.hostVeth,
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      mtu,
      qdisc: 'noqueue',
      master: 'cni0',
      operstate: 'UP',
      group: 'default',
      txqlen: 1000,
      link_type: 'ether',
      address: p.hostVethMac,
      broadcast: 'ff:ff:ff:ff:ff:ff',
      link_netnsid: p.slot,
      promiscuity: 1,
      allmulti: 1,
      min_mtu: 68,
      max_mtu: 65535,
      linkinfo: {
        info_kind: 'veth',
        info_slave_kind: 'bridge',
        info_slave_data: {
          state: 'forwarding',
          priority: 32,
          cost: 2,
          hairpin: true,
          guard: false,
          root_block: false,
          fastleave: false,
          learning: true,
          flood: true,
          id: `0x${(0x8001 + p.slot).toString(16)}`,
          no: `0x${(1 + p.slot).toString(16)}`,
          designated_port: 32769 + p.slot,
          designated_cost: 0,
          bridge_id: bridgeId,
          root_id: bridgeId,
          hold_timer: 0.0,
          message_age_timer: 0.0,
          forward_delay_timer: 0.0,
          topology_change_ack: 0,
          config_pending: 0,
          proxy_arp: false,
          proxy_arp_wifi: false,
          multicast_router: 1,
          mcast_flood: true,
          bcast_flood: true,
          mcast_to_unicast: false,
          neigh_suppress: false,
          group_fwd_mask: '0',
          group_fwd_mask_str: '0x0',
          vlan_tunnel: false,
          isolated: false,
          locked: false,
        },
      },
      ...LINK_TAIL,
      num_tx_queues: 8,
      num_rx_queues: 8,
      addr_info: [addr6LinkLocal(p.hostVethMac)],
    });
  }
  return links;
}

function route(fields: JsonObject): JsonObject {
  return { type: 'unicast', ...fields, flags: fields['flags'] ?? [] };
}

function localRoutes(
  entries: readonly [type: string, dst: string, dev: string, prefsrc: string][],
): JsonObject[] {
  return entries.map(([type, dst, dev, prefsrc]) => ({
    type,
    dst,
    dev,
    table: 'local',
    protocol: 'kernel',
    scope: type === 'local' ? 'host' : 'link',
    prefsrc,
    flags: [],
  }));
}

function nodeRoutes(layout: Layout, n: NodeInfo): Json[] {
  const out: JsonObject[] = [
    route({
      dst: 'default',
      gateway: GATEWAY,
      dev: 'eth0',
      table: 'main',
      protocol: 'dhcp',
      scope: 'global',
      prefsrc: n.ip,
      metric: 100,
    }),
  ];
  for (const peer of layout.nodes) {
    if (peer.index === n.index) {
      out.push(
        route({
          dst: n.podCidr,
          dev: 'cni0',
          table: 'main',
          protocol: 'kernel',
          scope: 'link',
          prefsrc: n.gateway,
        }),
      );
    } else if (layout.shape.backend === 'vxlan') {
      out.push(
        route({
          dst: peer.podCidr,
          gateway: peer.podNet,
          dev: 'flannel.1',
          table: 'main',
          protocol: 'boot',
          scope: 'global',
          flags: ['onlink'],
        }),
      );
    } else {
      out.push(
        route({
          dst: peer.podCidr,
          gateway: peer.ip,
          dev: 'eth0',
          table: 'main',
          protocol: 'boot',
          scope: 'global',
        }),
      );
    }
  }
  out.push(
    route({
      dst: '192.168.0.0/16',
      dev: 'eth0',
      table: 'main',
      protocol: 'kernel',
      scope: 'link',
      prefsrc: n.ip,
      metric: 100,
    }),
  );
  out.push(
    route({
      dst: GATEWAY,
      dev: 'eth0',
      table: 'main',
      protocol: 'dhcp',
      scope: 'link',
      prefsrc: n.ip,
      metric: 100,
    }),
  );
  const local: [string, string, string, string][] = [];
  if (layout.shape.backend === 'vxlan') local.push(['local', n.podNet, 'flannel.1', n.podNet]);
  local.push(
    ['local', n.gateway, 'cni0', n.gateway],
    ['broadcast', ipv4(ipv4Value(n.podNet) + 255), 'cni0', n.gateway],
    ['local', '127.0.0.0/8', 'lo', '127.0.0.1'],
    ['local', '127.0.0.1', 'lo', '127.0.0.1'],
    ['broadcast', '127.255.255.255', 'lo', '127.0.0.1'],
    ['local', n.ip, 'eth0', n.ip],
    ['broadcast', '192.168.255.255', 'eth0', n.ip],
  );
  return [...out, ...localRoutes(local)];
}

function routes6(links: readonly { readonly name: string; readonly mac: string }[]): Json[] {
  const v6 = (fields: JsonObject): JsonObject => ({ ...fields, flags: [], pref: 'medium' });
  const out: Json[] = [];
  for (const l of links)
    out.push(
      v6({
        type: 'unicast',
        dst: 'fe80::/64',
        dev: l.name,
        table: 'main',
        protocol: 'kernel',
        scope: 'global',
        metric: 256,
      }),
    );
  out.push(
    v6({
      type: 'local',
      dst: '::1',
      dev: 'lo',
      table: 'local',
      protocol: 'kernel',
      scope: 'global',
      metric: 0,
    }),
  );
  for (const l of links)
    out.push(
      v6({
        type: 'anycast',
        dst: 'fe80::',
        dev: l.name,
        table: 'local',
        protocol: 'kernel',
        scope: 'global',
        metric: 0,
      }),
    );
  for (const l of links)
    out.push(
      v6({
        type: 'local',
        dst: linkLocal(l.mac),
        dev: l.name,
        table: 'local',
        protocol: 'kernel',
        scope: 'global',
        metric: 0,
      }),
    );
  for (const l of links)
    out.push(
      v6({
        type: 'multicast',
        dst: 'ff00::/8',
        dev: l.name,
        table: 'local',
        protocol: 'kernel',
        scope: 'global',
        metric: 256,
      }),
    );
  return out;
}

const RULES4: Json = [
  { priority: 0, src: 'all', table: 'local' },
  { priority: 32766, src: 'all', table: 'main' },
  { priority: 32767, src: 'all', table: 'default' },
];
const RULES6: Json = [
  { priority: 0, src: 'all', table: 'local' },
  { priority: 32766, src: 'all', table: 'main' },
];

function nodeNeighbors(layout: Layout, n: NodeInfo): Json[] {
  const out: Json[] = [{ dst: GATEWAY, dev: 'eth0', lladdr: GATEWAY_MAC, state: ['REACHABLE'] }];
  for (const peer of layout.nodes) {
    if (peer.index === n.index) continue;
    const talking = layout.captured.includes(peer) || peer.index % 37 === n.index % 37;
    if (talking)
      out.push({
        dst: peer.ip,
        dev: 'eth0',
        lladdr: peer.ethMac,
        state: [layout.captured.includes(peer) ? 'REACHABLE' : 'STALE'],
      });
    if (layout.shape.backend === 'vxlan')
      out.push({ dst: peer.podNet, dev: 'flannel.1', lladdr: peer.vtepMac, state: ['PERMANENT'] });
  }
  for (const p of n.pods)
    out.push({ dst: p.ip, dev: 'cni0', lladdr: p.mac, state: [p.slot % 3 === 0 ? 'REACHABLE' : 'STALE'] });
  out.push({ dst: 'fe80::1', dev: 'eth0', lladdr: GATEWAY_MAC, router: null, state: ['STALE'] });
  return out;
}

function multicastFdb(ifname: string, macAddr: string): Json[] {
  const tail = macAddr.split(':').slice(3).join(':');
  return ['33:33:00:00:00:01', '33:33:00:00:00:02', '01:00:5e:00:00:01', `33:33:ff:${tail}`].map((m) => ({
    mac: m,
    ifname,
    flags: ['self'],
    state: 'permanent',
  }));
}

function nodeFdb(layout: Layout, n: NodeInfo): Json[] {
  const out: Json[] = [...multicastFdb('eth0', n.ethMac), ...multicastFdb('cni0', n.cniMac)];
  for (const p of n.pods) {
    out.push({ mac: p.mac, ifname: p.hostVeth, flags: [], master: 'cni0', state: '' });
    out.push({
      mac: p.hostVethMac,
      ifname: p.hostVeth,
      vlan: 1,
      flags: [],
      master: 'cni0',
      state: 'permanent',
    });
    out.push({ mac: p.hostVethMac, ifname: p.hostVeth, flags: [], master: 'cni0', state: 'permanent' });
    out.push(...multicastFdb(p.hostVeth, p.hostVethMac));
  }
  if (layout.shape.backend === 'vxlan') {
    for (const peer of layout.nodes) {
      if (peer.index !== n.index)
        out.push({
          mac: peer.vtepMac,
          ifname: 'flannel.1',
          dst: peer.ip,
          flags: ['self'],
          state: 'permanent',
        });
    }
  }
  return out;
}

let sysctlTemplate: { global: string[]; perIf: string[]; lo: string[] } | undefined;

/** The real pod capture's `sysctl -a` split into global lines, one interface's lines, and lo's. */
function template(): { global: string[]; perIf: string[]; lo: string[] } {
  if (sysctlTemplate !== undefined) return sysctlTemplate;
  const text = readFileSync(fileURLToPath(new URL('pod1-sysctls.txt', FIXTURES)), 'utf8');
  const global: string[] = [];
  const perIf: string[] = [];
  const lo: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (/^net\.ipv[46]\.(conf|neigh)\.eth0\./.test(line)) perIf.push(line);
    else if (/^net\.ipv[46]\.(conf|neigh)\.lo\./.test(line)) lo.push(line);
    else global.push(line);
  }
  sysctlTemplate = { global, perIf, lo };
  return sysctlTemplate;
}

/**
 * `sysctl -a` (net.*) of a namespace with the given interfaces: the template's global lines, its
 * eth0 lines once per interface, with `overrides` applied (by key, with `*` for every interface).
 */
function sysctls(ifnames: readonly string[], overrides: Readonly<Record<string, string>>): string {
  const t = template();
  const lines = [...t.global, ...t.lo];
  for (const name of ifnames) {
    const s = sysctlName(name);
    for (const l of t.perIf) lines.push(l.replace(/^(net\.ipv[46]\.(?:conf|neigh))\.eth0\./, `$1.${s}.`));
  }
  const out: string[] = [];
  for (const line of lines.sort()) {
    const eq = line.indexOf(' = ');
    const key = eq < 0 ? line : line.slice(0, eq);
    const generic = key.replace(/^(net\.ipv[46]\.(?:conf|neigh))\.(?!all\.|default\.)[^.]+\./, '$1.*.');
    const value = overrides[key] ?? overrides[generic];
    out.push(value === undefined ? line : `${key} = ${value}`);
  }
  return `${out.join('\n')}\n`;
}

function listeners(
  entries: readonly [proto: 'tcp' | 'udp', local: string, peer: string, backlog: number][],
): string {
  return entries
    .map(
      ([proto, local, peer, backlog]) =>
        `${proto} ${(proto === 'tcp' ? 'LISTEN' : 'UNCONN').padEnd(6)} 0      ${String(backlog).padEnd(6)} ${local.padStart(24)} ${peer}`,
    )
    .join('\n')
    .concat('\n');
}

function nodeListeners(layout: Layout, n: NodeInfo): string {
  const entries: ['tcp' | 'udp', string, string, number][] = [
    ['udp', '127.0.0.54:53', '0.0.0.0:*', 0],
    ['udp', '127.0.0.53%lo:53', '0.0.0.0:*', 0],
    ['udp', `${n.ip}%eth0:68`, '0.0.0.0:*', 0],
    ['udp', '127.0.0.1:323', '0.0.0.0:*', 0],
  ];
  if (layout.shape.backend === 'vxlan') entries.push(['udp', '0.0.0.0:8472', '0.0.0.0:*', 0]);
  entries.push(
    ['udp', '[::1]:323', '[::]:*', 0],
    ['tcp', '127.0.0.1:10248', '0.0.0.0:*', 4096],
    ['tcp', '127.0.0.1:10249', '0.0.0.0:*', 4096],
    ['tcp', '127.0.0.53%lo:53', '0.0.0.0:*', 4096],
    ['tcp', '127.0.0.54:53', '0.0.0.0:*', 4096],
    ['tcp', '0.0.0.0:22', '0.0.0.0:*', 4096],
    ['tcp', '127.0.0.1:39533', '0.0.0.0:*', 4096],
    ['tcp', '*:10250', '*:*', 4096],
    ['tcp', '*:10256', '*:*', 4096],
    ['tcp', '[::]:22', '[::]:*', 4096],
  );
  return listeners(entries);
}

function podListeners(p: PodInfo): string {
  return p.protocol === 'tcp'
    ? listeners([['tcp', `*:${p.port}`, '*:*', 4096]])
    : listeners([['udp', `*:${p.port}`, '*:*', 0]]);
}

/** A kube-proxy iptables-save text with flannel's (--ip-masq) chains added for node `n`. */
export function nodeIptables(base: readonly string[], layout: Layout, n: NodeInfo): string {
  const c = layout.clusterCidr;
  const out: string[] = ['# Generated by iptables-nft-save v1.8.10 (nf_tables) on Sat Nov 21 10:00:00 2026'];
  let table = '';
  let lastForward = -1;
  let filterChains = -1;
  let natChains = -1;
  let postrouting = -1;
  for (const line of base) {
    if (line.startsWith('*')) table = line.slice(1);
    out.push(line);
    if (table === 'filter' && line.startsWith('-A FORWARD ')) lastForward = out.length;
    if (table === 'filter' && line === ':OUTPUT ACCEPT [0:0]') filterChains = out.length;
    if (table === 'nat' && line === ':POSTROUTING ACCEPT [0:0]') natChains = out.length;
    if (table === 'nat' && line.startsWith('-A POSTROUTING ') && line.includes('KUBE-POSTROUTING'))
      postrouting = out.length;
    if (line === 'COMMIT') out.push(`# Completed on Sat Nov 21 10:00:00 2026`);
  }
  if (lastForward < 0 || filterChains < 0 || natChains < 0 || postrouting < 0)
    throw new Error('unexpected kube-proxy rule set layout');
  const masq = '-m comment --comment "flanneld masq"';
  const insertions: [number, string[]][] = [
    [filterChains, [':FLANNEL-FWD - [0:0]']],
    [
      lastForward,
      [
        '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
        `-A FLANNEL-FWD -s ${c} -m comment --comment "flanneld forward" -j ACCEPT`,
        `-A FLANNEL-FWD -d ${c} -m comment --comment "flanneld forward" -j ACCEPT`,
      ],
    ],
    [natChains, [':FLANNEL-POSTRTG - [0:0]']],
    [
      postrouting,
      [
        `-A POSTROUTING ${masq} -j FLANNEL-POSTRTG`,
        `-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 ${masq} -j RETURN`,
        `-A FLANNEL-POSTRTG -s ${n.podCidr} -d ${c} ${masq} -j RETURN`,
        `-A FLANNEL-POSTRTG -s ${c} -d ${n.podCidr} ${masq} -j RETURN`,
        `-A FLANNEL-POSTRTG ! -s ${c} -d ${n.podCidr} ${masq} -j RETURN`,
        `-A FLANNEL-POSTRTG -s ${c} ! -d 224.0.0.0/4 ${masq} -j MASQUERADE --random-fully`,
        `-A FLANNEL-POSTRTG ! -s ${c} -d ${c} ${masq} -j MASQUERADE --random-fully`,
      ],
    ],
  ];
  for (const [at, lines] of insertions.sort((a, b) => b[0] - a[0])) out.splice(at, 0, ...lines);
  return `${out.join('\n')}\n`;
}

/** kube-proxy's ip6tables-save on a single-stack IPv4 cluster: its canary and firewall chains only. */
const IP6TABLES = [
  '# Generated by ip6tables-nft-save v1.8.10 (nf_tables) on Sat Nov 21 10:00:00 2026',
  '*mangle',
  ':PREROUTING ACCEPT [0:0]',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':POSTROUTING ACCEPT [0:0]',
  ':KUBE-IPTABLES-HINT - [0:0]',
  ':KUBE-KUBELET-CANARY - [0:0]',
  ':KUBE-PROXY-CANARY - [0:0]',
  'COMMIT',
  '# Completed on Sat Nov 21 10:00:00 2026',
  '# Generated by ip6tables-nft-save v1.8.10 (nf_tables) on Sat Nov 21 10:00:00 2026',
  '*filter',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':KUBE-FIREWALL - [0:0]',
  ':KUBE-KUBELET-CANARY - [0:0]',
  ':KUBE-PROXY-CANARY - [0:0]',
  'COMMIT',
  '# Completed on Sat Nov 21 10:00:00 2026',
  '',
].join('\n');

/** The host Dump of captured node `n`. */
export function nodeDump(layout: Layout, n: NodeInfo, iptables: string): JsonObject {
  const ifs: { name: string; mac: string }[] = [{ name: 'eth0', mac: n.ethMac }];
  if (layout.shape.backend === 'vxlan') ifs.push({ name: 'flannel.1', mac: n.vtepMac });
  ifs.push({ name: 'cni0', mac: n.cniMac }, ...n.pods.map((p) => ({ name: p.hostVeth, mac: p.hostVethMac })));
  return {
    addresses: nodeAddresses(layout, n),
    routes: nodeRoutes(layout, n),
    routes6: routes6(ifs),
    rules: RULES4,
    rules6: RULES6,
    neighbors: nodeNeighbors(layout, n),
    fdb: nodeFdb(layout, n),
    sysctls: sysctls(
      ifs.map((l) => l.name),
      {
        'net.ipv4.ip_forward': '1',
        'net.ipv4.conf.all.forwarding': '1',
        'net.ipv4.conf.default.forwarding': '1',
        'net.ipv4.conf.*.forwarding': '1',
        'net.ipv4.conf.all.rp_filter': '0',
        'net.ipv4.conf.default.rp_filter': '2',
        'net.ipv4.conf.*.rp_filter': '2',
        'net.ipv6.conf.all.forwarding': '0',
        'net.ipv6.conf.default.forwarding': '0',
        'net.ipv6.conf.*.forwarding': '0',
        'net.bridge.bridge-nf-call-iptables': '1',
        'net.bridge.bridge-nf-call-ip6tables': '1',
      },
    ),
    iptables,
    ip6tables: IP6TABLES,
    ipsets: '',
    listeners: nodeListeners(layout, n),
  };
}

/** The Dump of pod `p`'s network namespace. */
export function podDump(layout: Layout, p: PodInfo): JsonObject {
  const n = layout.nodes[p.node] as NodeInfo;
  const mtu = podMtu(layout);
  const bcast = ipv4(ipv4Value(n.podNet) + 255);
  return {
    addresses: [
      loopback(),
      {
        ifindex: 2,
        link_index: hostVethIfindex(layout, p),
        ifname: 'eth0',
        flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
        mtu,
        qdisc: 'noqueue',
        operstate: 'UP',
        group: 'default',
        txqlen: 1000,
        link_type: 'ether',
        address: p.mac,
        broadcast: 'ff:ff:ff:ff:ff:ff',
        link_netnsid: 0,
        promiscuity: 0,
        allmulti: 0,
        min_mtu: 68,
        max_mtu: 65535,
        linkinfo: { info_kind: 'veth' },
        ...LINK_TAIL,
        num_tx_queues: 8,
        num_rx_queues: 8,
        addr_info: [addr4(p.ip, 24, 'eth0', { broadcast: bcast }), addr6LinkLocal(p.mac)],
      },
    ],
    routes: [
      route({
        dst: 'default',
        gateway: n.gateway,
        dev: 'eth0',
        table: 'main',
        protocol: 'boot',
        scope: 'global',
      }),
      route({
        dst: layout.clusterCidr,
        gateway: n.gateway,
        dev: 'eth0',
        table: 'main',
        protocol: 'boot',
        scope: 'global',
      }),
      route({ dst: n.podCidr, dev: 'eth0', table: 'main', protocol: 'kernel', scope: 'link', prefsrc: p.ip }),
      ...localRoutes([
        ['local', p.ip, 'eth0', p.ip],
        ['broadcast', bcast, 'eth0', p.ip],
        ['local', '127.0.0.0/8', 'lo', '127.0.0.1'],
        ['local', '127.0.0.1', 'lo', '127.0.0.1'],
        ['broadcast', '127.255.255.255', 'lo', '127.0.0.1'],
      ]),
    ],
    routes6: routes6([{ name: 'eth0', mac: p.mac }]),
    rules: RULES4,
    rules6: RULES6,
    neighbors: [{ dst: n.gateway, dev: 'eth0', lladdr: n.cniMac, state: ['REACHABLE'] }],
    fdb: multicastFdb('eth0', p.mac),
    sysctls: sysctls(['eth0'], {
      'net.ipv4.ip_forward': '0',
      'net.ipv4.conf.all.forwarding': '0',
      'net.ipv4.conf.default.forwarding': '0',
      'net.ipv4.conf.*.forwarding': '0',
      'net.ipv6.conf.all.forwarding': '0',
      'net.ipv6.conf.default.forwarding': '0',
      'net.ipv6.conf.*.forwarding': '0',
    }),
    iptables: '',
    ip6tables: '',
    ipsets: '',
    listeners: podListeners(p),
  };
}
