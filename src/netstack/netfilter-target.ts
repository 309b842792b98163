import type { Family } from './packet.js';
import { parseAddrNet, type AddrNet } from './netfilter-addr.js';
import {
  parseUint,
  parseValueMask,
  type CompileContext,
  type ExtensionSpec,
  type PortRange,
  type RawOption,
} from './netfilter-match.js';

/** No `-j`: the rule only counts packets. */
export interface NoTarget {
  readonly kind: 'none';
  readonly text: string;
}

/** `-j ACCEPT|DROP|RETURN`. */
export interface VerdictTarget {
  readonly kind: 'accept' | 'drop' | 'return';
  readonly text: string;
}

/** `-j CHAIN` (call) or `-g CHAIN` (goto) to a user chain of the same table. */
export interface JumpTarget {
  readonly kind: 'jump';
  readonly chain: string;
  readonly goto: boolean;
  readonly text: string;
}

/** `-j REJECT [--reject-with …]`. */
export interface RejectTarget {
  readonly kind: 'reject';
  readonly with: string;
  readonly text: string;
}

/**
 * `-j MARK`: every form reduces to xt_MARK's `mark = (mark & ~mask) ^ value`
 * (`--set-mark v/m` is value v, mask m|v; `--or-mark b` is b/b; `--and-mark b` is 0/~b; `--xor-mark b` is b/0).
 */
export interface MarkTarget {
  readonly kind: 'mark';
  readonly value: number;
  readonly mask: number;
  readonly text: string;
}

/**
 * `-j CONNMARK` (xt_connmark's connmark_tg_shift): `set` is `ctmark = (ctmark & ~ctmask) ^ value`,
 * `save` is `ctmark = (ctmark & ~ctmask) ^ (mark & nfmask)`, `restore` is
 * `mark = (mark & ~nfmask) ^ (ctmark & ctmask)`.
 */
export interface ConnmarkTarget {
  readonly kind: 'connmark';
  readonly mode: 'set' | 'save' | 'restore';
  readonly value: number;
  readonly ctmask: number;
  readonly nfmask: number;
  readonly text: string;
}

/** The NAT targets of the nat table. */
export type NatKind = 'dnat' | 'snat' | 'masquerade' | 'redirect' | 'netmap';

/** `-j DNAT|SNAT|MASQUERADE|REDIRECT|NETMAP`: terminating in the nat table. */
export interface NatTarget {
  readonly kind: 'nat';
  readonly nat: NatKind;
  /** The new address (the first of a range), for DNAT/SNAT; `undefined` keeps the address (`:port` only). */
  readonly addr: string | undefined;
  /** NETMAP's `--to` prefix. */
  readonly netmap: AddrNet | undefined;
  /** The new port range (`--to-ports`, `:port`); the simulation takes its first port. */
  readonly ports: PortRange | undefined;
  /** Set when a range was given: which element the simulation assumes. */
  readonly note: string | undefined;
  readonly text: string;
}

/** `-j NOTRACK` or `-j CT --notrack` (raw table). */
export interface NotrackTarget {
  readonly kind: 'notrack';
  readonly text: string;
}

/** A target that does not change the verdict or the simulated packet (LOG, NFLOG, TCPMSS, …). */
export interface NoopTarget {
  readonly kind: 'noop';
  readonly name: string;
  readonly text: string;
}

/** A target skoop does not simulate; the simulation reports it and continues with the next rule. */
export interface UnsupportedTarget {
  readonly kind: 'unsupported';
  readonly name: string;
  readonly reason: string;
  readonly text: string;
}

/** What a rule does when its matches match. */
export type Target =
  | NoTarget
  | VerdictTarget
  | JumpTarget
  | RejectTarget
  | MarkTarget
  | ConnmarkTarget
  | NatTarget
  | NotrackTarget
  | NoopTarget
  | UnsupportedTarget;

class Invalid extends Error {}

function fail(message: string): never {
  throw new Invalid(message);
}

function arg(o: RawOption, i = 0): string {
  const a = o.args[i];
  if (a === undefined) fail(`--${o.name} needs an argument`);
  return a;
}

function spec(
  list: readonly (readonly [string, number])[],
  compile: (opts: readonly RawOption[], c: CompileContext) => Target,
  name: string,
): ExtensionSpec<Target> {
  return {
    options: new Map(list.map(([o, arity]) => [o, [o, arity] as const])),
    compile: (opts, c) => {
      try {
        return compile(opts, c);
      } catch (e) {
        if (e instanceof Invalid) return { kind: 'unsupported', name, reason: e.message, text: c.text };
        throw e;
      }
    },
  };
}

const ALL = 0xffffffff;

const markSpec = spec(
  [
    ['set-mark', 1],
    ['set-xmark', 1],
    ['and-mark', 1],
    ['or-mark', 1],
    ['xor-mark', 1],
  ],
  (opts, c) => {
    const o = opts[0];
    if (o === undefined || opts.length > 1) fail('MARK expects exactly one operation');
    const a = arg(o);
    let value: number;
    let mask: number;
    if (o.name === 'set-xmark') ({ value, mask } = parseValueMask(a));
    else if (o.name === 'set-mark') {
      const vm = parseValueMask(a);
      value = vm.value;
      mask = (vm.mask | vm.value) >>> 0;
    } else {
      const bits = parseUint(a);
      if (o.name === 'and-mark') [value, mask] = [0, ~bits >>> 0];
      else if (o.name === 'or-mark') [value, mask] = [bits, bits];
      else [value, mask] = [bits, 0];
    }
    return { kind: 'mark', value, mask, text: c.text };
  },
  'MARK',
);

const connmarkSpec = spec(
  [
    ['set-mark', 1],
    ['set-xmark', 1],
    ['and-mark', 1],
    ['or-mark', 1],
    ['xor-mark', 1],
    ['save-mark', 0],
    ['restore-mark', 0],
    ['nfmask', 1],
    ['ctmask', 1],
    ['mask', 1],
    ['left-shift-mark', 1],
    ['right-shift-mark', 1],
  ],
  (opts, c) => {
    let mode: 'set' | 'save' | 'restore' | undefined;
    let value = 0;
    let ctmask = ALL;
    let nfmask = ALL;
    for (const o of opts) {
      switch (o.name) {
        case 'set-xmark':
          mode = 'set';
          ({ value, mask: ctmask } = parseValueMask(arg(o)));
          break;
        case 'set-mark': {
          mode = 'set';
          const vm = parseValueMask(arg(o));
          value = vm.value;
          ctmask = (vm.mask | vm.value) >>> 0;
          break;
        }
        case 'and-mark':
          mode = 'set';
          value = 0;
          ctmask = ~parseUint(arg(o)) >>> 0;
          break;
        case 'or-mark':
          mode = 'set';
          value = ctmask = parseUint(arg(o));
          break;
        case 'xor-mark':
          mode = 'set';
          value = parseUint(arg(o));
          ctmask = 0;
          break;
        case 'save-mark':
          mode = 'save';
          break;
        case 'restore-mark':
          mode = 'restore';
          break;
        case 'nfmask':
          nfmask = parseUint(arg(o));
          break;
        case 'ctmask':
          ctmask = parseUint(arg(o));
          break;
        case 'mask':
          nfmask = ctmask = parseUint(arg(o));
          break;
        default:
          if (parseUint(arg(o)) !== 0) fail(`--${o.name} is not simulated`);
      }
    }
    if (mode === undefined) fail('CONNMARK without an operation');
    return { kind: 'connmark', mode, value, ctmask, nfmask, text: c.text };
  },
  'CONNMARK',
);

function portRange(text: string): PortRange {
  const dash = text.indexOf('-');
  const lo = parseUint(dash < 0 ? text : text.slice(0, dash), 65535);
  const hi = dash < 0 ? lo : parseUint(text.slice(dash + 1), 65535);
  if (lo > hi) fail(`bad port range ${text}`);
  return [lo, hi];
}

/** Splits `ip[-ip][:port[-port]]` or `[ip6[-ip6]]:port[-port]` into address range and ports. */
function natRange(
  text: string,
  family: Family,
): { addr: string | undefined; ports: PortRange | undefined; note: string | undefined } {
  if (text.includes('/')) fail(`port shift (${text}) is not simulated`);
  let addrPart: string;
  let portPart: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) fail(`bad address ${text}`);
    addrPart = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) fail(`bad address ${text}`);
    portPart = rest === '' ? undefined : rest.slice(1);
  } else if (family === 4) {
    const colon = text.indexOf(':');
    addrPart = colon < 0 ? text : text.slice(0, colon);
    portPart = colon < 0 ? undefined : text.slice(colon + 1);
  } else {
    addrPart = text;
    portPart = undefined;
  }
  let addr: string | undefined;
  let note: string | undefined;
  if (addrPart !== '') {
    const dash = addrPart.indexOf('-');
    addr = dash < 0 ? addrPart : addrPart.slice(0, dash);
    if (parseAddrNet(addr, family) === undefined) fail(`bad address ${addrPart}`);
    if (dash >= 0) note = `address range ${addrPart}: the first address is assumed`;
  }
  let ports: PortRange | undefined;
  if (portPart !== undefined) {
    ports = portRange(portPart);
    if (ports[0] !== ports[1])
      note = `${note === undefined ? '' : `${note}; `}port range ${portPart}: the first port is assumed`;
  }
  return { addr, ports, note };
}

function natSpec(nat: 'dnat' | 'snat', name: string, opt: string): ExtensionSpec<Target> {
  return spec(
    [
      [opt, 1],
      ['random', 0],
      ['random-fully', 0],
      ['persistent', 0],
    ],
    (opts, c) => {
      const to = opts.filter((o) => o.name === opt);
      const first = to[0];
      if (first === undefined) fail(`${name} without --${opt}`);
      const r = natRange(arg(first), c.family);
      const note = to.length > 1 ? `${to.length} --${opt} ranges: the first is assumed` : r.note;
      return { kind: 'nat', nat, addr: r.addr, netmap: undefined, ports: r.ports, note, text: c.text };
    },
    name,
  );
}

function portsTarget(nat: 'masquerade' | 'redirect', name: string): ExtensionSpec<Target> {
  return spec(
    [
      ['to-ports', 1],
      ['random', 0],
      ['random-fully', 0],
    ],
    (opts, c) => {
      const o = opts.find((x) => x.name === 'to-ports');
      const ports = o === undefined ? undefined : portRange(arg(o));
      const note =
        ports !== undefined && ports[0] !== ports[1]
          ? `port range ${arg(o as RawOption)}: the first port is assumed`
          : undefined;
      return { kind: 'nat', nat, addr: undefined, netmap: undefined, ports, note, text: c.text };
    },
    name,
  );
}

const netmapSpec = spec(
  [['to', 1]],
  (opts, c) => {
    const o = opts[0];
    if (o === undefined) fail('NETMAP without --to');
    const net = parseAddrNet(arg(o), c.family);
    if (net === undefined) fail(`bad prefix ${arg(o)}`);
    return {
      kind: 'nat',
      nat: 'netmap',
      addr: undefined,
      netmap: net,
      ports: undefined,
      note: undefined,
      text: c.text,
    };
  },
  'NETMAP',
);

const rejectSpec = spec(
  [['reject-with', 1]],
  (opts, c) => ({
    kind: 'reject',
    with: opts[0]?.args[0] ?? (c.family === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable'),
    text: c.text,
  }),
  'REJECT',
);

const ctSpec = spec(
  [
    ['notrack', 0],
    ['helper', 1],
    ['ctevents', 1],
    ['expevents', 1],
    ['zone', 1],
    ['zone-orig', 1],
    ['zone-reply', 1],
    ['timeout', 1],
  ],
  (opts, c) =>
    opts.some((o) => o.name === 'notrack')
      ? { kind: 'notrack', text: c.text }
      : { kind: 'noop', name: 'CT', text: c.text },
  'CT',
);

function noop(name: string, list: readonly (readonly [string, number])[]): ExtensionSpec<Target> {
  return spec(list, (_opts, c) => ({ kind: 'noop', name, text: c.text }), name);
}

function unsupportedSpec(
  name: string,
  reason: string,
  list: readonly (readonly [string, number])[],
): ExtensionSpec<Target> {
  return spec(list, (_opts, c) => ({ kind: 'unsupported', name, reason, text: c.text }), name);
}

const TARGETS: ReadonlyMap<string, ExtensionSpec<Target>> = new Map<string, ExtensionSpec<Target>>([
  ['REJECT', rejectSpec],
  ['MARK', markSpec],
  ['CONNMARK', connmarkSpec],
  ['DNAT', natSpec('dnat', 'DNAT', 'to-destination')],
  ['SNAT', natSpec('snat', 'SNAT', 'to-source')],
  ['MASQUERADE', portsTarget('masquerade', 'MASQUERADE')],
  ['REDIRECT', portsTarget('redirect', 'REDIRECT')],
  ['NETMAP', netmapSpec],
  ['NOTRACK', spec([], (_o, c) => ({ kind: 'notrack', text: c.text }), 'NOTRACK')],
  ['CT', ctSpec],
  [
    'LOG',
    noop('LOG', [
      ['log-level', 1],
      ['log-prefix', 1],
      ['log-tcp-sequence', 0],
      ['log-tcp-options', 0],
      ['log-ip-options', 0],
      ['log-uid', 0],
      ['log-macdecode', 0],
    ]),
  ],
  [
    'NFLOG',
    noop('NFLOG', [
      ['nflog-group', 1],
      ['nflog-prefix', 1],
      ['nflog-range', 1],
      ['nflog-size', 1],
      ['nflog-threshold', 1],
    ]),
  ],
  [
    'ULOG',
    noop('ULOG', [
      ['ulog-nlgroup', 1],
      ['ulog-prefix', 1],
      ['ulog-cprange', 1],
      ['ulog-qthreshold', 1],
    ]),
  ],
  ['TRACE', noop('TRACE', [])],
  [
    'TCPMSS',
    noop('TCPMSS', [
      ['set-mss', 1],
      ['clamp-mss-to-pmtu', 0],
    ]),
  ],
  ['CHECKSUM', noop('CHECKSUM', [['checksum-fill', 0]])],
  ['CLASSIFY', noop('CLASSIFY', [['set-class', 1]])],
  [
    'DSCP',
    noop('DSCP', [
      ['set-dscp', 1],
      ['set-dscp-class', 1],
    ]),
  ],
  [
    'TOS',
    noop('TOS', [
      ['set-tos', 1],
      ['and-tos', 1],
      ['or-tos', 1],
      ['xor-tos', 1],
    ]),
  ],
  ['ECN', noop('ECN', [['ecn-tcp-remove', 0]])],
  [
    'TTL',
    noop('TTL', [
      ['ttl-set', 1],
      ['ttl-dec', 1],
      ['ttl-inc', 1],
    ]),
  ],
  [
    'HL',
    noop('HL', [
      ['hl-set', 1],
      ['hl-dec', 1],
      ['hl-inc', 1],
    ]),
  ],
  ['AUDIT', noop('AUDIT', [['type', 1]])],
  ['SECMARK', noop('SECMARK', [['selctx', 1]])],
  [
    'CONNSECMARK',
    noop('CONNSECMARK', [
      ['save', 0],
      ['restore', 0],
    ]),
  ],
  [
    'IDLETIMER',
    noop('IDLETIMER', [
      ['timeout', 1],
      ['label', 1],
      ['alarm', 0],
    ]),
  ],
  [
    'LED',
    noop('LED', [
      ['led-trigger-id', 1],
      ['led-delay', 1],
      ['led-always-blink', 0],
    ]),
  ],
  [
    'TEE',
    noop('TEE', [
      ['gateway', 1],
      ['oif', 1],
    ]),
  ],
  [
    'RATEEST',
    noop('RATEEST', [
      ['rateest-name', 1],
      ['rateest-interval', 1],
      ['rateest-ewmalog', 1],
    ]),
  ],
  [
    'SET',
    noop('SET', [
      ['add-set', 2],
      ['del-set', 2],
      ['map-set', 2],
      ['timeout', 1],
      ['exist', 0],
      ['map-mark', 0],
      ['map-prio', 0],
      ['map-queue', 0],
    ]),
  ],
  [
    'NFQUEUE',
    unsupportedSpec('NFQUEUE', 'the verdict comes from a user-space program', [
      ['queue-num', 1],
      ['queue-balance', 1],
      ['queue-bypass', 0],
      ['queue-cpu-fanout', 0],
    ]),
  ],
  ['QUEUE', unsupportedSpec('QUEUE', 'the verdict comes from a user-space program', [])],
  [
    'TPROXY',
    unsupportedSpec('TPROXY', 'transparent proxying needs the socket table', [
      ['on-port', 1],
      ['on-ip', 1],
      ['tproxy-mark', 1],
    ]),
  ],
  [
    'SYNPROXY',
    unsupportedSpec('SYNPROXY', 'SYN proxying is not simulated', [
      ['sack-perm', 0],
      ['timestamp', 0],
      ['wscale', 1],
      ['mss', 1],
      ['ecn', 0],
    ]),
  ],
  ['HMARK', unsupportedSpec('HMARK', 'hash-based marks are not simulated', [])],
]);

/** The target extension `name`, or `undefined` when skoop does not know it. */
export function targetExtension(name: string): ExtensionSpec<Target> | undefined {
  return TARGETS.get(name);
}

/** The standard verdict target `-j NAME`, when NAME is one. */
export function verdictTarget(name: string, text: string): VerdictTarget | undefined {
  if (name === 'ACCEPT') return { kind: 'accept', text };
  if (name === 'DROP') return { kind: 'drop', text };
  if (name === 'RETURN') return { kind: 'return', text };
  return undefined;
}
