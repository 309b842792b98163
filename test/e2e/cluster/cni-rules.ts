import { table } from '../lib/iptables-text.js';
import type { NodeRules, TableRules } from './kube-proxy-rules.js';

/**
 * The iptables rules (and ipsets) each CNI writes on a node, as its agent does, and the merge of
 * several components' rules into one `iptables-restore` input.
 */

/**
 * flanneld's masquerade (nat FLANNEL-POSTRTG) and forward (filter FLANNEL-FWD) rules for a node
 * whose pod CIDR is `podCIDR` in the flannel network `network`: pod traffic leaving the network is
 * masqueraded, traffic within it is not.
 * @remarks flannel `pkg/trafficmngr/iptables/iptables.go`, `masqRules` and `forwardRules`.
 */
export function flannelRules(network: string, podCIDR: string): NodeRules {
  const c = '-m comment --comment "flanneld masq"';
  const fw = '-m comment --comment "flanneld forward"';
  return {
    nat: {
      chains: ['FLANNEL-POSTRTG'],
      rules: [
        '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG',
        `-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 ${c} -j RETURN`,
        `-A FLANNEL-POSTRTG -s ${podCIDR} -d ${network} ${c} -j RETURN`,
        `-A FLANNEL-POSTRTG -s ${network} -d ${podCIDR} ${c} -j RETURN`,
        `-A FLANNEL-POSTRTG ! -s ${network} -d ${podCIDR} ${c} -j RETURN`,
        `-A FLANNEL-POSTRTG -s ${network} ! -d 224.0.0.0/4 ${c} -j MASQUERADE --random-fully`,
        `-A FLANNEL-POSTRTG ! -s ${network} -d ${network} ${c} -j MASQUERADE --random-fully`,
      ],
    },
    filter: {
      chains: ['FLANNEL-FWD'],
      rules: [
        '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
        `-A FLANNEL-FWD -s ${network} ${fw} -j ACCEPT`,
        `-A FLANNEL-FWD -d ${network} ${fw} -j ACCEPT`,
      ],
    },
  };
}

/** The ipsets Felix keeps for `natOutgoing`: the masquerading pools and all pools. */
export function calicoIpsets(poolCidr: string): string {
  return [
    'create cali40masq-ipam-pools hash:net family inet hashsize 1024 maxelem 1048576',
    `add cali40masq-ipam-pools ${poolCidr}`,
    'create cali40all-ipam-pools hash:net family inet hashsize 1024 maxelem 1048576',
    `add cali40all-ipam-pools ${poolCidr}`,
    '',
  ].join('\n');
}

/**
 * Felix's `natOutgoing` rules: traffic from a masquerading pool to anything outside every pool is
 * masqueraded (nat cali-POSTROUTING → cali-nat-outgoing).
 * @remarks calico `felix/rules/nat.go`, `NATOutgoingChain`.
 */
export function calicoRules(): NodeRules {
  return {
    nat: {
      chains: ['cali-POSTROUTING', 'cali-fip-snat', 'cali-nat-outgoing'],
      rules: [
        '-A POSTROUTING -m comment --comment "cali:O3lYWMrLQYEMJtB5" -j cali-POSTROUTING',
        '-A cali-POSTROUTING -m comment --comment "cali:Z-c7XtVd2Bq7s_hA" -j cali-fip-snat',
        '-A cali-POSTROUTING -m comment --comment "cali:nYKhEzDlr11Jccal" -j cali-nat-outgoing',
        '-A cali-nat-outgoing -m comment --comment "cali:flqWnvo8yq4ULQLa" -m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE --random-fully',
      ],
    },
    filter: { chains: [], rules: [] },
  };
}

/**
 * kindnet's ip-masq-agent: everything leaving for a non-local destination outside the cluster's
 * pod network is masqueraded.
 * @remarks kind `images/kindnetd/cmd/kindnetd/masq.go`.
 */
export function kindnetRules(network: string): NodeRules {
  return {
    nat: {
      chains: ['KIND-MASQ-AGENT'],
      rules: [
        '-A POSTROUTING -m addrtype ! --dst-type LOCAL -m comment --comment "kind-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom KIND-MASQ-AGENT chain" -j KIND-MASQ-AGENT',
        `-A KIND-MASQ-AGENT -d ${network} -m comment --comment "kind-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN`,
        '-A KIND-MASQ-AGENT -m comment --comment "kind-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE',
      ],
    },
    filter: { chains: [], rules: [] },
  };
}

function merge(parts: readonly TableRules[]): TableRules {
  return { chains: parts.flatMap((p) => p.chains), rules: parts.flatMap((p) => p.rules) };
}

/** One `iptables-restore` input with the filter and nat tables of every component, in order. */
export function renderNodeRules(parts: readonly NodeRules[]): string {
  const filter = merge(parts.map((p) => p.filter));
  const nat = merge(parts.map((p) => p.nat));
  return (
    table('filter', filter.rules, { chains: filter.chains }) + table('nat', nat.rules, { chains: nat.chains })
  );
}
