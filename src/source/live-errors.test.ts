import { describe, expect, it } from 'vitest';
import { ApiStatusError, translateApiError, type ApiAction } from './live-errors.js';

const target = { server: 'https://10.0.0.1:6443', context: 'prod' };
const netpol: ApiAction = { verb: 'list', resource: 'networkpolicies', group: 'networking.k8s.io' };
const exec: ApiAction = { verb: 'create', resource: 'pods/exec', group: '', namespace: 'skoop' };

describe('translateApiError', () => {
  it.each([
    { name: '403 at cluster scope', err: new ApiStatusError(403, 'Forbidden', 'x'), action: netpol, code: 'RBAC_DENIED', message: 'cannot list networkpolicies at cluster scope: add "list" on networking.k8s.io/networkpolicies' },
    { name: '403 in a namespace, core group', err: new ApiStatusError(403, 'Forbidden', 'x'), action: exec, code: 'RBAC_DENIED', message: 'cannot create pods/exec in namespace skoop: add "create" on pods/exec in namespace skoop' },
    { name: '401', err: new ApiStatusError(401, 'Unauthorized', 'Unauthorized'), action: netpol, code: 'CREDENTIALS_REJECTED', message: 'the API server at https://10.0.0.1:6443 rejected the credentials of context "prod" (401 Unauthorized): they are expired or invalid' },
    { name: 'connection refused', err: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6443'), { code: 'ECONNREFUSED' }), action: netpol, code: 'CLUSTER_UNREACHABLE', message: 'cannot reach the API server at https://10.0.0.1:6443 (context "prod"): ECONNREFUSED connect ECONNREFUSED 10.0.0.1:6443' },
    { name: 'DNS failure', err: Object.assign(new Error('getaddrinfo ENOTFOUND api.example'), { code: 'ENOTFOUND' }), action: netpol, code: 'CLUSTER_UNREACHABLE', message: 'cannot reach the API server at https://10.0.0.1:6443 (context "prod"): ENOTFOUND getaddrinfo ENOTFOUND api.example' },
    { name: 'untrusted certificate', err: Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), action: netpol, code: 'CLUSTER_TLS_FAILED', message: 'TLS with the API server at https://10.0.0.1:6443 failed: self-signed certificate in certificate chain' },
    { name: 'another status', err: new ApiStatusError(500, 'InternalError', 'etcd timeout'), action: netpol, code: 'API_ERROR', message: 'list networkpolicies at cluster scope failed: 500 InternalError: etcd timeout' },
  ])('$name', ({ err, action, code, message }) => {
    const e = translateApiError(err, action, target);
    expect(e.code).toBe(code);
    expect(e.message).toBe(message);
    expect(e.exitCode).toBe(3);
  });
});
