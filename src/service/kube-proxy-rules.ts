/**
 * What kube-proxy meant by one of its iptables rules, read from the comment it writes on every rule
 * (`-m comment --comment "shop/cart:http has no endpoints"`) and its chain names.
 * @remarks Comment texts and chains from kube-proxy's iptables proxier
 * (https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/iptables/proxier.go):
 * "… has no endpoints" (REJECT in filter KUBE-SERVICES / KUBE-EXTERNAL-SERVICES), "… has no local
 * endpoints" (DROP for externalTrafficPolicy/internalTrafficPolicy Local), "… traffic not accepted
 * by KUBE-FW-…" (DROP in KUBE-PROXY-FIREWALL, loadBalancerSourceRanges).
 */
export interface KubeProxyRuleMeaning {
  readonly code: 'SERVICE_NO_ENDPOINTS' | 'LB_SOURCE_RANGE_DENY';
  /** The Service, `namespace/name`. */
  readonly service: string;
  /** The Service port name, when the comment gives one. */
  readonly port?: string;
  readonly why: string;
}

const COMMENT = /--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/;
const SERVICE_REF = /^([a-z0-9][-a-z0-9.]*)\/([a-z0-9][-a-z0-9.]*)(?::([-a-z0-9]*))?/i;

/** The comment of an iptables-save rule, unquoted, if it has one. */
export function ruleComment(ruleText: string): string | undefined {
  const m = COMMENT.exec(ruleText);
  if (m === null) return undefined;
  return (m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1');
}

/** The Service a kube-proxy comment names (`namespace/name:port`), if any. */
export function serviceOfComment(comment: string): { service: string; port?: string } | undefined {
  const m = SERVICE_REF.exec(comment);
  if (m === null || m[1] === undefined || m[2] === undefined) return undefined;
  return { service: `${m[1]}/${m[2]}`, ...(m[3] !== undefined && m[3] !== '' ? { port: m[3] } : {}) };
}

/** What kube-proxy meant by a rule that dropped or rejected a packet, when it is one of its Service rules. */
export function interpretKubeProxyRule(ruleText: string, chain: string): KubeProxyRuleMeaning | undefined {
  const comment = ruleComment(ruleText);
  if (comment === undefined) return undefined;
  const svc = serviceOfComment(comment);
  if (svc === undefined) return undefined;
  const base = { service: svc.service, ...(svc.port !== undefined ? { port: svc.port } : {}) };
  if (comment.endsWith('has no endpoints')) {
    return { ...base, code: 'SERVICE_NO_ENDPOINTS', why: 'kube-proxy rejects it: the Service has no ready endpoints' };
  }
  if (comment.endsWith('has no local endpoints')) {
    return { ...base, code: 'SERVICE_NO_ENDPOINTS', why: 'kube-proxy drops it: the traffic policy is Local and this node has no ready endpoint of the Service' };
  }
  if (comment.includes('traffic not accepted by KUBE-FW-') || chain === 'KUBE-PROXY-FIREWALL') {
    return { ...base, code: 'LB_SOURCE_RANGE_DENY', why: "kube-proxy drops it: the source is outside the Service's loadBalancerSourceRanges" };
  }
  return undefined;
}
