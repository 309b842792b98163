import type { SuspicionCode } from '../model/suspicion.js';

/**
 * For every suspicion code, a one-sentence hint at the usual fix, shown next to the finding in the
 * HTML report; the finding's own message and evidence say which object, rule or route is involved.
 */
export const SUSPICION_HINTS = {
  LINK_MISSING:
    'The interface the path needs does not exist: check that the CNI agent on this node is running and recreate the pod (or restart the agent) so it rewires the interface.',
  LINK_DOWN:
    'Bring the interface up (`ip link set DEV up`) and find out what took it down: the CNI agent, NetworkManager or a failed driver.',
  MTU_MISMATCH:
    'Make the pod MTU no larger than the overlay device MTU (the CNI config’s MTU setting), then recreate the pods so their interfaces pick it up.',
  VETH_PEER_MISSING:
    'The pod’s veth has no peer on the host: delete the pod so the CNI plugin wires a fresh pair.',
  VETH_PEER_DOWN: 'Bring the host end of the veth up (`ip link set DEV up`), or recreate the pod.',
  VETH_NOT_ON_BRIDGE:
    'Attach the host veth to the CNI bridge (`ip link set DEV master BRIDGE`), or recreate the pod so the plugin does it.',
  BRIDGE_MISSING:
    'The CNI bridge is gone: restart the CNI agent or recreate a pod on this node so the plugin creates it again.',
  BRIDGE_DOWN: 'Bring the bridge up (`ip link set BRIDGE up`) and check what brought it down.',
  ROUTE_MISSING:
    'Add the route shown as expected in the evidence, or restart the CNI agent (flanneld, calico-node, …) that should program it and check its logs for why it did not.',
  ROUTE_BLACKHOLE:
    'Delete the blackhole/unreachable/prohibit route in the evidence (`ip route del …`) unless something installed it on purpose; a stale one often outlives a deleted pod or IPAM block.',
  ROUTE_WRONG:
    'Compare the route in the evidence with what the CNI should program for that CIDR; remove the conflicting route (often left by another tool or an old CNI) and let the agent re-add its own.',
  POLICY_ROUTING:
    'Review the non-default `ip rule` in the evidence: make sure it does not send pod traffic to a table without the cluster routes.',
  DEFAULT_RULE_BROKEN:
    'Restore the default rules (`0: from all lookup local`, `32766: from all lookup main`, `32767: from all lookup default`) with `ip rule add`.',
  RP_FILTER_DROP:
    'Reverse-path filtering drops the packet: set `net.ipv4.conf.DEV.rp_filter` to 0 or 2 (loose) on the interface in the evidence, or fix the asymmetric route.',
  GATEWAY_UNREACHABLE:
    'The next hop of the route is not reachable on its interface: check the underlay (node addresses, VLAN, security groups) and the gateway address of the route.',
  ROUTING_LOOP:
    'The packet returns to a hop it already crossed: compare the routes of the hops in the loop and remove the one pointing back.',
  NEIGH_FAILED:
    'ARP/NDP for the next hop failed: check that the neighbour is up and on the same L2 segment, then `ip neigh flush dev DEV` to retry.',
  VXLAN_DEVICE_MISSING:
    'The VXLAN device of the overlay is missing: restart the CNI agent (e.g. flanneld) on this node and check its logs.',
  VXLAN_NEIGH_MISSING:
    'The VXLAN device has no neighbour (ARP) entry for the remote VTEP: restart the CNI agent so it reprograms the entries, and check it sees the remote node.',
  VXLAN_FDB_MISSING:
    'The VXLAN forwarding database has no entry for the remote VTEP MAC: restart the CNI agent so it reprograms `bridge fdb` for that node.',
  VXLAN_FDB_WRONG:
    'The VXLAN FDB points the remote VTEP at the wrong node IP (often a node that changed address): delete the entry and let the CNI agent re-add it.',
  IPIP_DEVICE_MISSING:
    'The IPIP tunnel device (tunl0) is missing: load the ipip module and restart the CNI agent (calico-node).',
  IP_FORWARD_DISABLED:
    'Enable forwarding: `sysctl -w net.ipv4.ip_forward=1` (and persist it in /etc/sysctl.d); Kubernetes nodes must forward pod traffic.',
  BRIDGE_NF_CALL_IPTABLES_DISABLED:
    'Load br_netfilter and set `net.bridge.bridge-nf-call-iptables=1` so bridged pod traffic goes through kube-proxy’s rules.',
  SYSCTL_MISMATCH:
    'Set the sysctl in the evidence to the value the CNI or kube-proxy expects, and persist it in /etc/sysctl.d.',
  IPTABLES_DROP:
    'Find who owns the rule in the evidence (its chain and comment say which: kube-proxy, the CNI, a firewall) and fix that source; a rule added by hand can be removed with `iptables -D CHAIN N`.',
  IPTABLES_REJECT:
    'The rule in the evidence rejects the packet; kube-proxy rejects Services with no ready endpoints — fix the endpoints, or remove the rule if it is not kube-proxy’s.',
  NFTABLES_DROP:
    'Find the nftables chain and rule in the evidence (`nft -a list ruleset`) and fix whatever installed it; kube-proxy’s nftables mode drops for Services with no endpoints.',
  UNEXPECTED_SNAT:
    'Traffic inside the cluster is masqueraded: check the masquerade rules (flannel/calico ipMasq, kube-proxy --cluster-cidr) so pod-to-pod traffic keeps its source IP.',
  NETFILTER_UNSUPPORTED:
    'skoop cannot evaluate this rule (an unsupported match or target); check what it does by hand (`iptables-save`, `nft list ruleset`).',
  SERVICE_NO_ENDPOINTS:
    'The Service has no ready endpoints: check that its selector matches running, ready pods (`kubectl get endpointslices -l kubernetes.io/service-name=NAME`).',
  SERVICE_PORT_MISSING:
    'The Service does not expose this port: use one of its ports, or add the port to the Service spec.',
  SERVICE_RULES_MISSING:
    'kube-proxy has not programmed this Service on the node: check kube-proxy is running there and its logs (sync errors, wrong --proxy-mode).',
  SERVICE_BACKEND_MISMATCH:
    'kube-proxy’s rules on this node disagree with the EndpointSlices: kube-proxy is stale or stuck; check its logs and restart it.',
  ENDPOINT_NOT_READY:
    'The backend is not ready: check its readiness probe and `kubectl describe pod`; traffic reaches only ready endpoints.',
  LB_SOURCE_RANGE_DENY:
    'The source is outside the Service’s loadBalancerSourceRanges: add its range to the Service, or connect from an allowed address.',
  NETWORK_POLICY_DENY:
    'The NetworkPolicy in the evidence does not allow this traffic: add a rule allowing the source (pod/namespace selector or ipBlock) and the port.',
  ADMIN_NETWORK_POLICY_DENY:
    'A cluster admin policy (AdminNetworkPolicy/BaselineAdminNetworkPolicy) denies this traffic: ask a cluster admin to allow it, or to delegate it with a Pass rule.',
  NETWORK_POLICY_NOT_ENFORCED:
    'The CNI does not enforce NetworkPolicy, so this policy has no effect here: use a policy-enforcing CNI (or add one, e.g. Calico with flannel) if you rely on it.',
  NO_LISTENER:
    'Nothing listens on the destination port: check the application’s listen address and port, and the Service targetPort.',
  POD_NOT_READY:
    'The pod is not ready: see `kubectl describe pod` for failing readiness probes or containers that are not running.',
  NODE_NOT_READY:
    'The node is NotReady: check the kubelet and container runtime on it, and `kubectl describe node` conditions.',
  POD_IP_OUTSIDE_NODE_CIDR:
    'The pod IP is not in its node’s pod CIDR: the CNI IPAM and the node’s podCIDR disagree; check the CNI config and recreate the pod.',
  DUPLICATE_IP:
    'Two objects claim this IP: find the stale one (a leftover pod, a static address) and remove it or let IPAM reassign.',
  NETSTACK_NOT_COLLECTED:
    'Part of this node’s network state was not captured, so it could not be checked: re-capture with the collector (it needs root and the tools named in the evidence).',
  CNI_UNSUPPORTED:
    'skoop does not model this CNI yet, so only Kubernetes-level checks ran: pass --network-plugin if it was misdetected (see `skoop plugins`).',
} as const satisfies Readonly<Record<SuspicionCode, string>>;
