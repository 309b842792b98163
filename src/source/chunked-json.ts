import { Buffer } from 'node:buffer';

/** A key or array index on the way from the document root to a value. */
export type JsonPathStep = string | number;

/**
 * Whether the reader assembles the container opening at `path` itself, member by member, rather
 * than handing its whole text to `JSON.parse`.
 */
export type DescendInto = (path: readonly JsonPathStep[], open: 'object' | 'array') => boolean;

/**
 * Replaces a member of an assembled container as soon as it is parsed (its `path` ends with its key
 * or index), before the next is read: to drop what will not be used while it is still young.
 */
export type MemberTransform = (path: readonly JsonPathStep[], value: unknown) => unknown;

/** The input is not one JSON document; the caller re-reads it whole to say where and why. */
export class ChunkedJsonError extends Error {}

/** What a frame of an assembled container expects next. */
const FIRST = 0; // after the opening bracket: a member or the closing bracket
const KEY = 1; // after a comma in an object
const COLON = 2;
const VALUE = 3; // after a colon, or a comma in an array
const NEXT = 4; // after a member: a comma or the closing bracket

/** What the value being captured is. */
const NONE = 0;
const NESTED = 1; // a string, object or array: ends at its closing quote or bracket
const SCALAR = 2; // a number or literal: ends at the next delimiter
const FAST = 3; // an object in a list of alike objects: ends where the next one starts, if JSON.parse agrees

/** How many leading bytes of a list's first object make the pattern of where the next ones start. */
const HEAD_BYTES = 32;
/** Consecutive list members not found by the pattern before the list is scanned byte by byte. */
const MAX_MISSES = 3;
/** A pattern match farther than this from a member's start is not tried (it would be a long parse to fail). */
const MAX_FAST_BYTES = 4 << 20;

interface Frame {
  readonly value: Record<string, unknown> | unknown[];
  readonly array: boolean;
  readonly path: readonly JsonPathStep[];
  key: string;
  state: number;
  /**
   * For an array of objects written compactly (`},{`): `},` and the first bytes of its first member,
   * which the next members most likely start with too (`{"apiVersion":"v1","kind":"Pod",…`).
   */
  pattern: Buffer | undefined;
  /** The first member's first bytes and where it ended (absolute), while the pattern is learned. */
  head: Buffer | undefined;
  firstEnd: number;
  /** Members in a row the pattern did not find; past {@link MAX_MISSES} it is given up. */
  misses: number;
}

const BOM = [0xef, 0xbb, 0xbf];

/** Marks a list member the pattern did not delimit. */
const NOT_FOUND: unique symbol = Symbol('not found');

const isBlank = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Parses one JSON document given as a sequence of UTF-8 chunks (e.g. straight out of gunzip),
 * without ever holding the whole text: the containers `descend` selects are assembled here, and
 * every other value is cut out of the byte stream and parsed by `JSON.parse` on its own text.
 * @remarks The result equals `JSON.parse` of the whole text (decoded like `Buffer#toString('utf8')`,
 * a leading byte order mark skipped). Values are only delimited here (strings, escapes, brackets);
 * `JSON.parse` checks each one, so malformed input throws {@link ChunkedJsonError} (without a
 * position: re-parse the whole text for that). A `__proto__` key in an assembled object is refused
 * the same way, as JSON.parse makes it an own property and assignment would not. In an assembled
 * array of objects written compactly, members are mostly not scanned byte by byte: the next one
 * is expected where `},` and the first member's leading bytes recur, and JSON.parse accepting the
 * bytes up to there as one value proves it (see `#scanFast`).
 */
export class ChunkedJsonParser {
  readonly #descend: DescendInto;
  readonly #transform: MemberTransform | undefined;
  /** Where the value being captured goes. */
  #path: readonly JsonPathStep[] = [];
  readonly #stack: Frame[] = [];
  #result: unknown;
  #done = false;
  /** How many bytes of a leading UTF-8 byte order mark were skipped (3: done looking). */
  #bom = 0;
  /** The value being captured: its kind, whether it is a key, and where its bytes are. */
  #leaf = NONE;
  #isKey = false;
  #depth = 0;
  #inString = false;
  #escape = false;
  #capStart = 0;
  #parts: Buffer[] = [];
  /** Absolute position of the current chunk's first byte. */
  #abs = 0;
  /** The bytes of the value captured last, and where it ended (absolute). */
  #lastBytes: Buffer = Buffer.alloc(0);
  #lastEnd = 0;

  constructor(descend: DescendInto, transform?: MemberTransform) {
    this.#descend = descend;
    this.#transform = transform;
  }

  /** Feeds the next chunk of the document. */
  push(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (this.#bom < 3 && i < n) {
      if (chunk[i] === BOM[this.#bom]) {
        this.#bom++;
        i++;
      } else if (this.#bom === 0) this.#bom = 3;
      else throw new ChunkedJsonError('broken byte order mark');
    }
    this.#capStart = 0;
    while (i < n) {
      if (this.#leaf === NESTED) {
        i = this.#scanNested(chunk, i, n);
        continue;
      }
      if (this.#leaf === FAST) {
        i = this.#scanFast(chunk, i);
        continue;
      }
      if (this.#leaf === SCALAR) {
        i = this.#scanScalar(chunk, i, n);
        continue;
      }
      const c = chunk[i] as number;
      if (isBlank(c)) i++;
      else i = this.#token(chunk, i, c);
    }
    if (this.#leaf !== NONE && this.#capStart < n) this.#parts.push(chunk.subarray(this.#capStart));
    this.#abs += n;
  }

  /** Ends the document and returns its value. */
  end(): unknown {
    if (this.#bom > 0 && this.#bom < 3) throw new ChunkedJsonError('broken byte order mark');
    if (this.#leaf === SCALAR) this.#complete(this.#captured(Buffer.alloc(0), 0));
    if (this.#leaf !== NONE || this.#stack.length > 0 || !this.#done)
      throw new ChunkedJsonError('truncated JSON');
    return this.#result;
  }

  /** A structural byte outside any captured value; returns where to go on. */
  #token(chunk: Buffer, i: number, c: number): number {
    const f = this.#stack[this.#stack.length - 1];
    if (f === undefined) {
      if (this.#done) throw new ChunkedJsonError('text after the JSON value');
      return this.#startValue(chunk, i, c, []);
    }
    const close = f.array ? 0x5d : 0x7d;
    switch (f.state) {
      case FIRST:
        if (c === close) return this.#close(i);
        if (f.array) return this.#startValue(chunk, i, c, [...f.path, (f.value as unknown[]).length]);
        return this.#startKey(i, c);
      case KEY:
        return this.#startKey(i, c);
      case COLON:
        if (c !== 0x3a) throw new ChunkedJsonError('expected a colon');
        f.state = VALUE;
        return i + 1;
      case VALUE:
        return this.#startValue(chunk, i, c, [...f.path, f.array ? (f.value as unknown[]).length : f.key]);
      default:
        if (c === 0x2c) {
          f.state = f.array ? VALUE : KEY;
          return i + 1;
        }
        if (c === close) return this.#close(i);
        throw new ChunkedJsonError('expected a comma or a closing bracket');
    }
  }

  #startKey(i: number, c: number): number {
    if (c !== 0x22) throw new ChunkedJsonError('expected a property name');
    this.#begin(i, NESTED, true, 0, true);
    return i + 1;
  }

  #startValue(chunk: Buffer, i: number, c: number, path: JsonPathStep[]): number {
    if (c === 0x7b || c === 0x5b) {
      const array = c === 0x5b;
      if (this.#descend(path, array ? 'array' : 'object')) {
        this.#stack.push({
          value: array ? [] : {},
          array,
          path,
          key: '',
          state: FIRST,
          pattern: undefined,
          head: undefined,
          firstEnd: -1,
          misses: 0,
        });
        return i + 1;
      }
      this.#path = path;
      const f = this.#stack[this.#stack.length - 1];
      if (!array && f !== undefined && f.array) {
        if (f.pattern === undefined && f.head !== undefined && (f.value as unknown[]).length === 1) {
          // The second member follows the first as `},{`: learn where members start.
          if (this.#abs + i === f.firstEnd + 1) f.pattern = Buffer.concat([Buffer.from('},'), f.head]);
          f.head = undefined;
        }
        if (f.pattern !== undefined && f.misses <= MAX_MISSES) {
          this.#begin(i, FAST, false, 0, false);
          return i;
        }
      }
      this.#begin(i, NESTED, false, 1, false);
      return i + 1;
    }
    this.#path = path;
    if (c === 0x22) {
      this.#begin(i, NESTED, false, 0, true);
      return i + 1;
    }
    this.#begin(i, SCALAR, false, 0, false);
    return this.#scanScalar(chunk, i, chunk.length);
  }

  #begin(i: number, leaf: number, isKey: boolean, depth: number, inString: boolean): void {
    this.#leaf = leaf;
    this.#isKey = isKey;
    this.#depth = depth;
    this.#inString = inString;
    this.#escape = false;
    this.#capStart = i;
    this.#parts = [];
  }

  /** Scans a string, object or array from `i`; completes it when it closes. */
  #scanNested(chunk: Buffer, i: number, n: number): number {
    let depth = this.#depth;
    let inString = this.#inString;
    let escape = this.#escape;
    while (i < n) {
      if (inString) {
        if (escape) {
          escape = false;
          i++;
          continue;
        }
        let c = chunk[i] as number;
        while (c !== 0x22 && c !== 0x5c) {
          if (++i >= n) break;
          c = chunk[i] as number;
        }
        if (i >= n) break;
        i++;
        if (c === 0x5c) escape = true;
        else {
          inString = false;
          if (depth === 0) {
            this.#leaf = NONE;
            this.#complete(this.#captured(chunk, i));
            return i;
          }
        }
        continue;
      }
      const c = chunk[i++] as number;
      if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if ((c === 0x7d || c === 0x5d) && --depth === 0) {
        this.#leaf = NONE;
        this.#complete(this.#captured(chunk, i));
        return i;
      }
    }
    this.#depth = depth;
    this.#inString = inString;
    this.#escape = escape;
    return i;
  }

  /**
   * An object member of a list, starting at `i`: it ends where the list's pattern says the next
   * member starts, if JSON.parse reads exactly one value up to there (a nested match would leave
   * brackets open, and a quote of the pattern cannot be inside a string). Otherwise, or when the
   * member runs past the chunk, it is scanned byte by byte as any other value.
   */
  #scanFast(chunk: Buffer, i: number): number {
    const f = this.#stack[this.#stack.length - 1] as Frame;
    const pattern = f.pattern as Buffer;
    const k = chunk.indexOf(pattern, i + 1);
    if (k >= 0 && k - i <= MAX_FAST_BYTES) {
      let value: unknown = NOT_FOUND;
      try {
        value = this.#captured(chunk, k + 1);
      } catch (err) {
        if (!(err instanceof ChunkedJsonError)) throw err;
      }
      if (value !== NOT_FOUND) {
        f.misses = 0;
        this.#complete(value);
        // The comma and the next member's `{`, which the pattern has just matched.
        f.state = VALUE;
        return this.#startValue(chunk, k + 2, 0x7b, [...f.path, (f.value as unknown[]).length]);
      }
      f.misses = MAX_MISSES + 1;
    } else f.misses++;
    this.#leaf = NESTED;
    this.#depth = 0;
    this.#inString = false;
    this.#escape = false;
    return i;
  }

  /** Scans a number or literal from `i` up to the next delimiter. */
  #scanScalar(chunk: Buffer, i: number, n: number): number {
    while (i < n) {
      const c = chunk[i] as number;
      if (isBlank(c) || c === 0x2c || c === 0x5d || c === 0x7d) {
        this.#leaf = NONE;
        this.#complete(this.#captured(chunk, i));
        return i;
      }
      i++;
    }
    return i;
  }

  /** The value captured so far, ending at `end` of `chunk`, parsed. */
  #captured(chunk: Buffer, end: number): unknown {
    const bytes =
      this.#parts.length === 0
        ? chunk.subarray(this.#capStart, end)
        : Buffer.concat([...this.#parts, chunk.subarray(0, end)]);
    this.#parts = [];
    this.#lastBytes = bytes;
    this.#lastEnd = this.#abs + end;
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new ChunkedJsonError((err as Error).message);
    }
  }

  #complete(value: unknown): void {
    this.#leaf = NONE;
    const f = this.#stack[this.#stack.length - 1];
    if (f?.array === true && (f.value as unknown[]).length === 0 && this.#lastBytes[0] === 0x7b) {
      f.head = Buffer.from(this.#lastBytes.subarray(0, HEAD_BYTES));
      f.firstEnd = this.#lastEnd;
    }
    if (this.#isKey) {
      this.#isKey = false;
      (f as Frame).key = value as string;
      (f as Frame).state = COLON;
      return;
    }
    this.#assign(
      f,
      f === undefined || this.#transform === undefined ? value : this.#transform(this.#path, value),
    );
  }

  #close(i: number): number {
    const f = this.#stack.pop() as Frame;
    this.#assign(this.#stack[this.#stack.length - 1], f.value);
    return i + 1;
  }

  #assign(f: Frame | undefined, value: unknown): void {
    if (f === undefined) {
      this.#result = value;
      this.#done = true;
      return;
    }
    if (f.array) (f.value as unknown[]).push(value);
    else {
      if (f.key === '__proto__') throw new ChunkedJsonError('__proto__ key');
      (f.value as Record<string, unknown>)[f.key] = value;
    }
    f.state = NEXT;
  }
}
