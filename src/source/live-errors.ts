import { cannotRunError, type SkoopError } from '../errors.js';

/** What a request was doing, for the message when it fails. */
export interface ApiAction {
  readonly verb: 'list' | 'get' | 'create' | 'delete' | 'watch';
  /** Plural resource, with subresource (`pods/exec`). */
  readonly resource: string;
  /** API group; `''` for core. */
  readonly group: string;
  /** Absent: cluster scope. */
  readonly namespace?: string;
}

/** A non-2xx answer of the API server, with the metav1.Status it sent (when it sent one). */
export class ApiStatusError extends Error {
  override readonly name = 'ApiStatusError';
  constructor(
    readonly code: number,
    readonly reason: string | undefined,
    readonly statusMessage: string,
  ) {
    super(`${code}${reason !== undefined ? ` ${reason}` : ''}: ${statusMessage}`);
  }
}

/** Where the request went, for messages. */
export interface ApiTarget {
  readonly server: string;
  readonly context: string;
}

const TLS_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_TLS|ERR_SSL|EPROTO$|HOSTNAME_MISMATCH)/;
const NET_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'UND_ERR_CONNECT_TIMEOUT', 'ESOCKETTIMEDOUT']);

/** `networking.k8s.io/networkpolicies`, or `pods` for the core group. */
export function qualifiedResource(a: Pick<ApiAction, 'group' | 'resource'>): string {
  return a.group === '' ? a.resource : `${a.group}/${a.resource}`;
}

/** The scope of an action in words: `at cluster scope` or `in namespace skoop`. */
function scope(a: ApiAction): string {
  return a.namespace === undefined ? 'at cluster scope' : `in namespace ${a.namespace}`;
}

/**
 * Translates a failed API request into the failure a user can act on (exit 3): unreachable server,
 * TLS failure, expired or invalid credentials (401), or an RBAC denial (403) naming the exact verb
 * and resource to grant.
 */
export function translateApiError(err: unknown, action: ApiAction, target: ApiTarget): SkoopError {
  if (err instanceof ApiStatusError) {
    if (err.code === 401) {
      return cannotRunError(
        'CREDENTIALS_REJECTED',
        `the API server at ${target.server} rejected the credentials of context "${target.context}" (401 Unauthorized): they are expired or invalid`,
        'log in again or refresh the kubeconfig (e.g. your cloud CLI\'s "get-credentials"), then retry',
        err,
      );
    }
    if (err.code === 403) {
      const where = action.namespace === undefined ? '' : ` in namespace ${action.namespace}`;
      return cannotRunError(
        'RBAC_DENIED',
        `cannot ${action.verb} ${action.resource} ${scope(action)}: add "${action.verb}" on ${qualifiedResource(action)}${where}`,
        'apply deploy/rbac.yaml for the user or service account running skoop (README, "RBAC"), or ask a cluster admin',
        err,
      );
    }
    return cannotRunError(
      'API_ERROR',
      `${action.verb} ${action.resource} ${scope(action)} failed: ${err.message}`,
      `check the API server at ${target.server}`,
      err,
    );
  }
  const e = err as { code?: unknown; message?: unknown; cause?: unknown };
  const code = typeof e.code === 'string' ? e.code : typeof (e.cause as { code?: unknown } | undefined)?.code === 'string' ? ((e.cause as { code: string }).code) : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (TLS_CODES.test(code) || /certificate|TLS|SSL/i.test(message)) {
    return cannotRunError(
      'CLUSTER_TLS_FAILED',
      `TLS with the API server at ${target.server} failed: ${message}`,
      'the server certificate does not match the certificate-authority of the kubeconfig: refresh the kubeconfig or check --context',
      err,
    );
  }
  if (NET_CODES.has(code) || /socket hang up|connect|timed out/i.test(message)) {
    return cannotRunError(
      'CLUSTER_UNREACHABLE',
      `cannot reach the API server at ${target.server} (context "${target.context}"): ${code !== '' ? `${code} ` : ''}${message}`,
      'check that the cluster is up and reachable from here (VPN, proxy, firewall) and that --context is the right one; or diagnose offline with --snapshot FILE',
      err,
    );
  }
  return cannotRunError('API_ERROR', `${action.verb} ${action.resource} ${scope(action)} failed: ${message}`, `check the API server at ${target.server}`, err);
}
