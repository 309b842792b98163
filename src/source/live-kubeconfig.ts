import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { cannotRunError, usageError } from '../errors.js';

/** Where to find the cluster: the flags and environment kubectl reads. */
export interface KubeconfigOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** A loaded kubeconfig with the context in use resolved. */
export interface LoadedKubeconfig {
  readonly kc: KubeConfig;
  /** The context name (`in-cluster` for a service account). */
  readonly context: string;
  /** The context's namespace, else `default`. */
  readonly namespace: string;
  readonly server: string;
  /** Where it came from, for messages. */
  readonly origin: string;
}

/**
 * Loads the kubeconfig the way kubectl does: `--kubeconfig`, else every file of `KUBECONFIG`
 * (merged, the first file's current-context wins), else `~/.kube/config`, else the in-cluster
 * service account; then selects `--context`.
 */
export function loadKubeconfig(opts: KubeconfigOptions): LoadedKubeconfig {
  const kc = new KubeConfig();
  let origin: string;
  const load = (into: KubeConfig, file: string): void => {
    try {
      into.loadFromFile(file);
    } catch (err) {
      throw usageError('KUBECONFIG_INVALID', `cannot read kubeconfig ${file}: ${(err as Error).message}`, 'check the file (kubectl config view --kubeconfig FILE)', err);
    }
  };
  const envList = (opts.env['KUBECONFIG'] ?? '').split(delimiter).filter((f) => f !== '');
  const home = opts.env['HOME'] ?? opts.env['USERPROFILE'];
  const homeConfig = home !== undefined ? join(home, '.kube', 'config') : undefined;
  if (opts.kubeconfig !== undefined) {
    if (!existsSync(opts.kubeconfig)) throw usageError('KUBECONFIG_NOT_FOUND', `kubeconfig not found: ${opts.kubeconfig}`, 'check the path given to --kubeconfig');
    load(kc, opts.kubeconfig);
    origin = opts.kubeconfig;
  } else if (envList.some((f) => existsSync(f))) {
    const files = envList.filter((f) => existsSync(f));
    load(kc, files[0] as string);
    for (const f of files.slice(1)) {
      const more = new KubeConfig();
      load(more, f);
      kc.mergeConfig(more, true);
    }
    origin = `KUBECONFIG=${files.join(delimiter)}`;
  } else if (homeConfig !== undefined && existsSync(homeConfig)) {
    load(kc, homeConfig);
    origin = homeConfig;
  } else if (opts.env['KUBERNETES_SERVICE_HOST'] !== undefined) {
    kc.loadFromCluster();
    origin = 'the in-cluster service account';
  } else {
    throw cannotRunError(
      'KUBECONFIG_NOT_FOUND',
      'no kubeconfig: neither --kubeconfig, KUBECONFIG, ~/.kube/config nor an in-cluster service account',
      'pass --kubeconfig FILE, or diagnose offline with --snapshot FILE',
    );
  }
  if (opts.context !== undefined) {
    if (kc.getContextObject(opts.context) === null) {
      const names = kc.getContexts().map((c) => c.name);
      throw usageError('CONTEXT_NOT_FOUND', `no context "${opts.context}" in ${origin}`, names.length > 0 ? `contexts: ${names.join(', ')}` : 'the kubeconfig has no contexts');
    }
    kc.setCurrentContext(opts.context);
  }
  const context = kc.getCurrentContext();
  const cluster = kc.getCurrentCluster();
  if (cluster === null) {
    throw usageError('KUBECONFIG_INVALID', `context "${context}" of ${origin} names no cluster`, 'select a context with --context (kubectl config get-contexts)');
  }
  const namespace = kc.getContextObject(context)?.namespace ?? 'default';
  return { kc, context: context === '' ? 'in-cluster' : context, namespace, server: cluster.server, origin };
}
