import type { Family, Protocol } from './packet.js';
import { familyOf, isIp, normalizeIp } from './ip.js';
import { NetstackParseError } from './parse-error.js';

/** How IPVS forwards to a real server: `-m` masquerading (NAT), `-g` direct routing, `-i` tunnelling. */
export type IpvsForwardMethod = 'masq' | 'route' | 'tunnel';

/** The protocols an address-based virtual service can have (`-t`, `-u`, `--sctp-service`). */
export type IpvsProtocol = 'tcp' | 'udp' | 'sctp';

/** A real server (`-a … -r ADDR:PORT`) of a virtual service. */
export interface IpvsRealServer {
  readonly address: string;
  readonly port: number;
  /**
   * Scheduling weight (`-w`).
   *
   * @remarks A weight of 0 quiesces the server: the schedulers skip it for new connections while
   * existing ones continue (ip_vs_rr.c and the other schedulers test `IP_VS_DEST_F_OVERLOAD` and
   * weight). kube-proxy sets weight 0 on endpoints that are terminating.
   */
  readonly weight: number;
  readonly method: IpvsForwardMethod;
  /** `--tun-type` of a tunnelling server (`ipip` when not printed). */
  readonly tunnelType?: 'ipip' | 'gue' | 'gre';
  readonly tunnelPort?: number;
  /** `--tun-nocsum` / `--tun-csum` / `--tun-remcsum`, without the dashes. */
  readonly tunnelChecksum?: 'tun-nocsum' | 'tun-csum' | 'tun-remcsum';
  /** `-x`: no new connections once active+inactive connections reach it (not printed by ipvsadm 1.31 -S). */
  readonly upperThreshold?: number;
  /** `-y`: the server is scheduled again once connections fall below it. */
  readonly lowerThreshold?: number;
  /** 1-based line in the `ipvs` Dump field. */
  readonly line: number;
}

/** Client persistence of a virtual service (`-p [timeout] [-M netmask]`). */
export interface IpvsPersistence {
  /** Seconds a client stays with its real server. */
  readonly timeout: number;
  /** `-M`: dotted mask for IPv4, prefix length text for IPv6; absent for a host mask. */
  readonly netmask?: string;
}

/** A virtual service: a protocol/address/port triple, or a firewall mark. */
export interface IpvsService {
  readonly family: Family;
  /** Absent for fwmark services. */
  readonly protocol?: IpvsProtocol;
  readonly address?: string;
  readonly port?: number;
  /** `-f`: the service matches packets whose skb mark equals this value. */
  readonly fwmark?: number;
  /** Scheduler name (`rr`, `wrr`, `lc`, `wlc`, `sh`, `mh`, …). */
  readonly scheduler: string;
  readonly persistence?: IpvsPersistence;
  /** `--pe`: persistence engine (`sip`). */
  readonly persistenceEngine?: string;
  /** `-b`: scheduler flags (`sh-fallback`, `sh-port`, `mh-port`, `flag-1`, …). */
  readonly schedFlags: readonly string[];
  /** `-o`: one-packet scheduling (UDP). */
  readonly onePacket: boolean;
  readonly realServers: readonly IpvsRealServer[];
  /** 1-based line of the `-A` line. */
  readonly line: number;
}

/** The IPVS table of one network namespace, as read from `ipvsadm -S -n` (Dump field `ipvs`). */
export interface IpvsState {
  /** Services in the order ipvsadm printed them. */
  readonly services: readonly IpvsService[];
  /** Address services by `family|protocol|address|port`. */
  readonly byAddress: ReadonlyMap<string, IpvsService>;
  /** Fwmark services by `family|mark`. */
  readonly byMark: ReadonlyMap<string, IpvsService>;
}

/** What IPVS looks up for a packet arriving on its hooks. */
export interface IpvsLookupQuery {
  readonly protocol: Protocol;
  readonly dst: string;
  readonly dport: number;
  /** skb->mark of the packet, 0 when unset. */
  readonly mark: number;
  readonly family: Family;
}

const FIELD = 'ipvs';

interface MutableService {
  family: Family;
  protocol?: IpvsProtocol;
  address?: string;
  port?: number;
  fwmark?: number;
  scheduler: string;
  persistence?: IpvsPersistence;
  persistenceEngine?: string;
  schedFlags: string[];
  onePacket: boolean;
  realServers: IpvsRealServer[];
  line: number;
}

/** Parses `host:port`, `[v6]:port` or a bare host (port 0) as ipvsadm prints them with `-n`. */
function parseAddrPort(text: string, line: number): { address: string; port: number; family: Family } {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new NetstackParseError(FIELD, `bad address ${text}`, line);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':'))
      throw new NetstackParseError(FIELD, `bad address ${text}`, line);
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = text.lastIndexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
  }
  if (!isIp(host))
    throw new NetstackParseError(FIELD, `"${host}" is not an IP address (was ipvsadm run with -n?)`, line);
  const port = portText === undefined ? 0 : Number(portText);
  if (portText === '' || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new NetstackParseError(
      FIELD,
      `"${portText ?? ''}" is not a port number (was ipvsadm run with -n?)`,
      line,
    );
  return { address: normalizeIp(host), port, family: familyOf(host) };
}

function parseUint(text: string | undefined, what: string, line: number): number {
  const n = Number(text);
  if (text === undefined || text === '' || !Number.isInteger(n) || n < 0)
    throw new NetstackParseError(FIELD, `${what} needs a non-negative integer, got "${text ?? ''}"`, line);
  return n;
}

const SERVICE_FLAGS: Readonly<Record<string, IpvsProtocol | 'fwmark'>> = {
  '-t': 'tcp',
  '--tcp-service': 'tcp',
  '-u': 'udp',
  '--udp-service': 'udp',
  '--sctp-service': 'sctp',
  '-f': 'fwmark',
  '--fwmark-service': 'fwmark',
};

function addressKey(family: Family, protocol: IpvsProtocol, address: string, port: number): string {
  return `${family}|${protocol}|${address}|${port}`;
}

function markKey(family: Family, mark: number): string {
  return `${family}|${mark}`;
}

/** The service key of a `-A`/`-a` line, with the index after the service spec consumed. */
function readServiceSpec(tokens: readonly string[], start: number, line: number) {
  let kind: IpvsProtocol | 'fwmark' | undefined;
  let spec: string | undefined;
  let ipv6 = false;
  const rest: string[] = [];
  for (let i = start; i < tokens.length; i++) {
    const t = tokens[i] as string;
    const k = SERVICE_FLAGS[t];
    if (k !== undefined) {
      if (kind !== undefined)
        throw new NetstackParseError(FIELD, 'more than one virtual service on a line', line);
      kind = k;
      spec = tokens[++i];
      if (spec === undefined) throw new NetstackParseError(FIELD, `${t} needs a service address`, line);
    } else if (t === '-6' || t === '--ipv6') {
      ipv6 = true;
    } else {
      rest.push(t);
    }
  }
  if (kind === undefined || spec === undefined)
    throw new NetstackParseError(FIELD, 'line has no virtual service (-t, -u, --sctp-service or -f)', line);
  if (kind === 'fwmark') {
    const mark = parseUint(spec, '-f', line);
    if (mark === 0) throw new NetstackParseError(FIELD, 'fwmark must be greater than zero', line);
    const family: Family = ipv6 ? 6 : 4;
    return { key: markKey(family, mark), family, fwmark: mark, rest };
  }
  const { address, port, family } = parseAddrPort(spec, line);
  return { key: addressKey(family, kind, address, port), family, protocol: kind, address, port, rest };
}

/**
 * Reads `ipvsadm -S -n` output (Dump field `ipvs`): `-A` virtual service lines, each followed by its
 * `-a` real server lines.
 *
 * @remarks The format is ipvsadm's `print_service_entry` with `FMT_RULE`: `-A -t ADDR:PORT -s SCHED
 * [-p TIMEOUT [-M MASK]] [--pe ENGINE] [-o] [-b FLAGS]` and `-a -t ADDR:PORT -r ADDR:PORT -g|-i|-m
 * -w WEIGHT [--tun-type …]`; fwmark services print `-f MARK [-6]`. Long option names, which `ipvsadm
 * -R` also accepts, are read too, as are `-x`/`-y` thresholds (ipvsadm 1.31 does not print them).
 */
export function parseIpvs(text: string): IpvsState {
  const services: MutableService[] = [];
  const byKey = new Map<string, MutableService>();
  const lines = text.split('\n');
  for (let idx = 0; idx < lines.length; idx++) {
    const line = idx + 1;
    const raw = (lines[idx] ?? '').trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const tokens = raw.split(/\s+/);
    const cmd = tokens[0];
    if (cmd === '-A' || cmd === '--add-service') {
      const spec = readServiceSpec(tokens, 1, line);
      if (byKey.has(spec.key)) throw new NetstackParseError(FIELD, 'virtual service added twice', line);
      const svc: MutableService = {
        family: spec.family,
        scheduler: 'wlc',
        schedFlags: [],
        onePacket: false,
        realServers: [],
        line,
      };
      if (spec.fwmark !== undefined) svc.fwmark = spec.fwmark;
      else {
        if (spec.protocol !== undefined) svc.protocol = spec.protocol;
        if (spec.address !== undefined) svc.address = spec.address;
        if (spec.port !== undefined) svc.port = spec.port;
      }
      readServiceOptions(svc, spec.rest, line);
      services.push(svc);
      byKey.set(spec.key, svc);
    } else if (cmd === '-a' || cmd === '--add-server') {
      const spec = readServiceSpec(tokens, 1, line);
      const svc = byKey.get(spec.key);
      if (svc === undefined)
        throw new NetstackParseError(
          FIELD,
          'real server added to a virtual service that was not created before',
          line,
        );
      svc.realServers.push(readRealServer(spec.rest, line));
    } else {
      throw new NetstackParseError(FIELD, `expected -A or -a, got "${cmd ?? ''}"`, line);
    }
  }
  const byAddress = new Map<string, IpvsService>();
  const byMark = new Map<string, IpvsService>();
  for (const svc of services) {
    if (svc.fwmark !== undefined) byMark.set(markKey(svc.family, svc.fwmark), svc);
    else if (svc.protocol !== undefined && svc.address !== undefined && svc.port !== undefined)
      byAddress.set(addressKey(svc.family, svc.protocol, svc.address, svc.port), svc);
  }
  return { services, byAddress, byMark };
}

function readServiceOptions(svc: MutableService, rest: readonly string[], line: number): void {
  for (let i = 0; i < rest.length; i++) {
    const t = rest[i] as string;
    switch (t) {
      case '-s':
      case '--scheduler': {
        const v = rest[++i];
        if (v === undefined) throw new NetstackParseError(FIELD, `${t} needs a scheduler name`, line);
        svc.scheduler = v;
        break;
      }
      case '-p':
      case '--persistent': {
        const next = rest[i + 1];
        let timeout = 300;
        if (next !== undefined && /^\d+$/.test(next)) {
          timeout = Number(next);
          i++;
        }
        svc.persistence = { ...svc.persistence, timeout };
        break;
      }
      case '-M':
      case '--netmask': {
        const v = rest[++i];
        if (v === undefined) throw new NetstackParseError(FIELD, `${t} needs a netmask`, line);
        svc.persistence = { timeout: svc.persistence?.timeout ?? 300, netmask: v };
        break;
      }
      case '--pe': {
        const v = rest[++i];
        if (v === undefined) throw new NetstackParseError(FIELD, '--pe needs an engine name', line);
        svc.persistenceEngine = v;
        break;
      }
      case '-o':
      case '--ops':
        svc.onePacket = true;
        break;
      case '-b':
      case '--sched-flags': {
        const v = rest[++i];
        if (v === undefined) throw new NetstackParseError(FIELD, `${t} needs scheduler flags`, line);
        svc.schedFlags = v.split(',').filter((f) => f !== '');
        break;
      }
      default:
        throw new NetstackParseError(FIELD, `unknown virtual service option "${t}"`, line);
    }
  }
}

const TUN_TYPES = new Set(['ipip', 'gue', 'gre']);

function readRealServer(rest: readonly string[], line: number): IpvsRealServer {
  let server: { address: string; port: number } | undefined;
  let method: IpvsForwardMethod = 'route';
  let weight = 1;
  let tunnelType: 'ipip' | 'gue' | 'gre' | undefined;
  let tunnelPort: number | undefined;
  let tunnelChecksum: 'tun-nocsum' | 'tun-csum' | 'tun-remcsum' | undefined;
  let upperThreshold: number | undefined;
  let lowerThreshold: number | undefined;
  for (let i = 0; i < rest.length; i++) {
    const t = rest[i] as string;
    switch (t) {
      case '-r':
      case '--real-server': {
        const v = rest[++i];
        if (v === undefined) throw new NetstackParseError(FIELD, `${t} needs a server address`, line);
        const p = parseAddrPort(v, line);
        server = { address: p.address, port: p.port };
        break;
      }
      case '-g':
      case '--gatewaying':
        method = 'route';
        break;
      case '-m':
      case '--masquerading':
        method = 'masq';
        break;
      case '-i':
      case '--ipip':
        method = 'tunnel';
        break;
      case '-w':
      case '--weight':
        weight = parseUint(rest[++i], t, line);
        break;
      case '-x':
      case '--u-threshold':
        upperThreshold = parseUint(rest[++i], t, line);
        break;
      case '-y':
      case '--l-threshold':
        lowerThreshold = parseUint(rest[++i], t, line);
        break;
      case '--tun-type': {
        const v = rest[++i];
        if (v === undefined || !TUN_TYPES.has(v))
          throw new NetstackParseError(FIELD, `bad --tun-type "${v ?? ''}"`, line);
        tunnelType = v as 'ipip' | 'gue' | 'gre';
        break;
      }
      case '--tun-port':
        tunnelPort = parseUint(rest[++i], t, line);
        break;
      case '--tun-nocsum':
      case '--tun-csum':
      case '--tun-remcsum':
        tunnelChecksum = t.slice(2) as 'tun-nocsum' | 'tun-csum' | 'tun-remcsum';
        break;
      default:
        throw new NetstackParseError(FIELD, `unknown real server option "${t}"`, line);
    }
  }
  if (server === undefined) throw new NetstackParseError(FIELD, 'real server line has no -r address', line);
  return {
    address: server.address,
    port: server.port,
    weight,
    method,
    ...(method === 'tunnel' ? { tunnelType: tunnelType ?? 'ipip' } : {}),
    ...(tunnelPort !== undefined ? { tunnelPort } : {}),
    ...(tunnelChecksum !== undefined ? { tunnelChecksum } : {}),
    ...(upperThreshold !== undefined && upperThreshold > 0 ? { upperThreshold } : {}),
    ...(lowerThreshold !== undefined && lowerThreshold > 0 ? { lowerThreshold } : {}),
    line,
  };
}

/**
 * The virtual service IPVS would pick for a packet, or `undefined` when none does.
 *
 * @remarks Follows `ip_vs_service_find` (net/netfilter/ipvs/ip_vs_ctl.c): a non-zero mark is looked
 * up among fwmark services of the family first, then the exact protocol/address/port, then a
 * port-0 catch-all service of the same protocol and address (persistent "all ports" services).
 * ICMP is never scheduled (IPVS only handles ICMP errors related to existing connections). The FTP
 * data-port special case is not modelled.
 */
export function lookupIpvs(state: IpvsState, query: IpvsLookupQuery): IpvsService | undefined {
  if (query.protocol === 'icmp' || query.protocol === 'ipip') return undefined;
  if (query.mark !== 0) {
    const byMark = state.byMark.get(markKey(query.family, query.mark >>> 0));
    if (byMark !== undefined) return byMark;
  }
  const dst = normalizeIp(query.dst);
  return (
    state.byAddress.get(addressKey(query.family, query.protocol, dst, query.dport)) ??
    state.byAddress.get(addressKey(query.family, query.protocol, dst, 0))
  );
}

/** The real servers that can take new connections: those with a weight above 0. */
export function schedulableRealServers(service: IpvsService): readonly IpvsRealServer[] {
  return service.realServers.filter((r) => r.weight > 0);
}

function formatAddrPort(family: Family, address: string, port: number): string {
  return family === 4 ? `${address}:${port}` : `[${address}]:${port}`;
}

const METHOD_SWITCH: Readonly<Record<IpvsForwardMethod, string>> = { masq: '-m', route: '-g', tunnel: '-i' };

/** `service` and its real servers as `ipvsadm -S -n` prints them, one line each, for evidence. */
export function formatIpvsService(service: IpvsService): string {
  const spec =
    service.fwmark !== undefined
      ? `-f ${service.fwmark}${service.family === 6 ? ' -6' : ''}`
      : `${service.protocol === 'tcp' ? '-t' : service.protocol === 'udp' ? '-u' : '--sctp-service'} ${formatAddrPort(
          service.family,
          service.address ?? '',
          service.port ?? 0,
        )}`;
  let head = `-A ${spec} -s ${service.scheduler}`;
  if (service.persistence !== undefined) {
    head += ` -p ${service.persistence.timeout}`;
    if (service.persistence.netmask !== undefined) head += ` -M ${service.persistence.netmask}`;
  }
  if (service.persistenceEngine !== undefined) head += ` --pe ${service.persistenceEngine}`;
  if (service.onePacket) head += ' -o';
  if (service.schedFlags.length > 0) head += ` -b ${service.schedFlags.join(',')}`;
  const lines = [head];
  for (const r of service.realServers) {
    let l = `-a ${spec} -r ${formatAddrPort(familyOf(r.address), r.address, r.port)} ${METHOD_SWITCH[r.method]} -w ${r.weight}`;
    if (r.method === 'tunnel') l += ` --tun-type ${r.tunnelType ?? 'ipip'}`;
    if (r.tunnelPort !== undefined) l += ` --tun-port ${r.tunnelPort}`;
    if (r.tunnelChecksum !== undefined) l += ` --${r.tunnelChecksum}`;
    if (r.upperThreshold !== undefined) l += ` -x ${r.upperThreshold}`;
    if (r.lowerThreshold !== undefined) l += ` -y ${r.lowerThreshold}`;
    lines.push(l);
  }
  return lines.join('\n');
}
