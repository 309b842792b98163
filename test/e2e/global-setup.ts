import { deleteLeftoverNamespaces } from './lib/cleanup.js';

/**
 * Vitest globalSetup of the e2e project: removes `sk-*` network namespaces (and the processes inside them)
 * left by a crashed earlier run — those whose creating process is gone — before the suite and again after it.
 */
export default function setup(): () => void {
  const before = deleteLeftoverNamespaces();
  if (before.length > 0)
    console.warn(`e2e: deleted ${before.length} leftover namespaces: ${before.join(' ')}`);
  return () => {
    const after = deleteLeftoverNamespaces();
    if (after.length > 0)
      console.warn(`e2e: deleted ${after.length} namespaces left after the suite: ${after.join(' ')}`);
  };
}
