/** Exit codes of CONTRACTS.md §4. */
export const EXIT = {
  ok: 0,
  problem: 1,
  usage: 2,
  cannotRun: 3,
  internal: 70,
} as const;

/** The kind of an expected failure, which decides its exit code. */
export type FailureKind = 'usage' | 'cannot-run';

/**
 * An expected failure (bad flag, unknown endpoint, malformed snapshot, unreachable cluster): a stable
 * code, a one-line message, a hint saying what to do, and the original cause.
 */
export class SkoopError extends Error {
  override readonly name = 'SkoopError';
  readonly code: string;
  readonly kind: FailureKind;
  readonly hint: string | undefined;

  constructor(kind: FailureKind, code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.code = code;
    this.hint = options.hint;
  }

  /** The exit code of this failure. */
  get exitCode(): number {
    return this.kind === 'usage' ? EXIT.usage : EXIT.cannotRun;
  }
}

/** A usage or input error (exit 2). */
export function usageError(code: string, message: string, hint?: string, cause?: unknown): SkoopError {
  return new SkoopError('usage', code, message, { ...(hint !== undefined ? { hint } : {}), ...(cause !== undefined ? { cause } : {}) });
}

/** A failure to run (exit 3): cluster unreachable, RBAC denied, collector failed, unsupported CNI. */
export function cannotRunError(code: string, message: string, hint?: string, cause?: unknown): SkoopError {
  return new SkoopError('cannot-run', code, message, { ...(hint !== undefined ? { hint } : {}), ...(cause !== undefined ? { cause } : {}) });
}
