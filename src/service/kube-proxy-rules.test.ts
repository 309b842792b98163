import { describe, expect, it } from 'vitest';
import { interpretKubeProxyRule, ruleComment, serviceOfComment } from './kube-proxy-rules.js';

// Rule texts in the exact form iptables-save prints kube-proxy's rules.
describe('interpretKubeProxyRule', () => {
  it.each([
    {
      name: 'no endpoints (filter KUBE-SERVICES REJECT)',
      chain: 'KUBE-SERVICES',
      rule: '-A KUBE-SERVICES -d 10.96.0.20/32 -p tcp -m comment --comment "shop/cart:http has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
      want: { code: 'SERVICE_NO_ENDPOINTS', service: 'shop/cart', port: 'http' },
    },
    {
      name: 'no endpoints on a NodePort (KUBE-EXTERNAL-SERVICES)',
      chain: 'KUBE-EXTERNAL-SERVICES',
      rule: '-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "shop/cart:http has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30080 -j REJECT --reject-with icmp-port-unreachable',
      want: { code: 'SERVICE_NO_ENDPOINTS', service: 'shop/cart', port: 'http' },
    },
    {
      name: 'no local endpoints (traffic policy Local)',
      chain: 'KUBE-EXTERNAL-SERVICES',
      rule: '-A KUBE-EXTERNAL-SERVICES -d 203.0.113.7/32 -p tcp -m comment --comment "shop/web has no local endpoints" -m tcp --dport 80 -j DROP',
      want: { code: 'SERVICE_NO_ENDPOINTS', service: 'shop/web' },
    },
    {
      name: 'loadBalancerSourceRanges',
      chain: 'KUBE-PROXY-FIREWALL',
      rule: '-A KUBE-PROXY-FIREWALL -d 203.0.113.7/32 -p tcp -m comment --comment "shop/web:https traffic not accepted by KUBE-FW-ABCDEF0123456789" -m tcp --dport 443 -j DROP',
      want: { code: 'LB_SOURCE_RANGE_DENY', service: 'shop/web', port: 'https' },
    },
  ])('$name', ({ rule, chain, want }) => {
    expect(interpretKubeProxyRule(rule, chain)).toMatchObject(want);
  });

  it.each([
    { name: 'a user rule', chain: 'INPUT', rule: '-A INPUT -p tcp -m tcp --dport 80 -j DROP' },
    { name: 'kube-proxy firewall for marked packets', chain: 'KUBE-FIREWALL', rule: '-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP' },
    { name: 'a comment naming a service but not a drop reason', chain: 'KUBE-SEP-X', rule: '-A KUBE-SEP-X -m comment --comment "shop/cart:http" -s 10.244.2.7/32 -j KUBE-MARK-MASQ' },
  ])('$name is not a Service finding', ({ rule, chain }) => {
    expect(interpretKubeProxyRule(rule, chain)).toBeUndefined();
  });
});

describe('ruleComment and serviceOfComment', () => {
  it.each([
    { rule: '-A X -m comment --comment "a \\"quoted\\" word" -j DROP', comment: 'a "quoted" word' },
    { rule: '-A X -m comment --comment plain -j DROP', comment: 'plain' },
    { rule: '-A X -j DROP', comment: undefined },
  ])('$rule', ({ rule, comment }) => {
    expect(ruleComment(rule)).toBe(comment);
  });
  it('reads namespace/name:port', () => {
    expect(serviceOfComment('kube-system/kube-dns:dns-tcp cluster IP')).toEqual({ service: 'kube-system/kube-dns', port: 'dns-tcp' });
    expect(serviceOfComment('block incoming localnet connections')).toBeUndefined();
  });
});
