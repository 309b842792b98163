/**
 * Raised when captured command output cannot be read. Names the Dump field and, for text formats,
 * the 1-based line, so a user can find the bad spot in the snapshot.
 */
export class NetstackParseError extends Error {
  override readonly name = 'NetstackParseError';
  readonly code = 'NETSTACK_PARSE';
  readonly field: string;
  readonly line: number | undefined;

  constructor(field: string, message: string, line?: number) {
    super(line === undefined ? `${field}: ${message}` : `${field}, line ${line}: ${message}`);
    this.field = field;
    this.line = line;
  }
}
