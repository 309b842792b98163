import { wrapText } from './wrap-text.js';

type Scalar = string | number | boolean | null;

const isScalar = (v: unknown): v is Scalar =>
  v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

const isRecord = (v: unknown): v is Readonly<Record<string, unknown>> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A suspicion's evidence as readable `key: value` lines fitting `width` where the values allow:
 * strings verbatim (an iptables rule reads as itself), `table`/`chain`/`index` folded into one
 * `chain: filter/INPUT #1` line, flat objects (a route) as `key=value` pairs, deeper values nested.
 */
export function formatEvidence(evidence: Readonly<Record<string, unknown>>, width: number): string[] {
  return block(entriesOf(evidence), Math.max(width, 20));
}

function entriesOf(evidence: Readonly<Record<string, unknown>>): [string, unknown][] {
  const { table, chain, index } = evidence;
  const folded = typeof table === 'string' && typeof chain === 'string';
  const entries: [string, unknown][] = [];
  for (const [key, value] of Object.entries(evidence)) {
    if (value === undefined) continue;
    if (folded && key === 'table') {
      entries.push(['chain', `${table}/${chain}${typeof index === 'number' ? ` #${index}` : ''}`]);
      continue;
    }
    if (folded && (key === 'chain' || (key === 'index' && typeof index === 'number'))) continue;
    entries.push([key, value]);
  }
  return entries;
}

function block(entries: readonly [string, unknown][], width: number): string[] {
  const keyWidth = Math.max(0, ...entries.map(([k]) => k.length)) + 1;
  const lines: string[] = [];
  for (const [key, value] of entries) {
    const label = `${key}:`.padEnd(keyWidth);
    const room = width - keyWidth - 1;
    const inline = inlineValue(value);
    if (inline !== undefined && (isScalar(value) || inline.length <= room)) {
      const [first = '', ...rest] = wrapText(inline, room);
      lines.push(`${label} ${first}`.trimEnd(), ...rest.map((l) => `${' '.repeat(keyWidth)} ${l}`));
    } else if (Array.isArray(value)) {
      lines.push(`${key}:`);
      for (const item of value) {
        const text = inlineValue(item) ?? JSON.stringify(item);
        const [first = '', ...rest] = wrapText(text, width - 4);
        lines.push(`  - ${first}`, ...rest.map((l) => `    ${l}`));
      }
    } else if (isRecord(value)) {
      lines.push(
        `${key}:`,
        ...block(
          Object.entries(value).filter(([, v]) => v !== undefined),
          width - 2,
        ).map((l) => `  ${l}`),
      );
    } else {
      lines.push(`${label} ${JSON.stringify(value)}`);
    }
  }
  return lines;
}

/** The one-line form of a value, or undefined when it is too deep for one line. */
function inlineValue(value: unknown): string | undefined {
  if (isScalar(value)) return String(value);
  if (Array.isArray(value)) {
    if (!value.every(isScalar)) return undefined;
    return value.length === 0 ? '[]' : value.map(String).join(', ');
  }
  if (isRecord(value)) {
    const pairs: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (isScalar(v)) pairs.push(`${k}=${quoted(v)}`);
      else if (Array.isArray(v) && v.every(isScalar)) pairs.push(`${k}=[${v.map(quoted).join(',')}]`);
      else return undefined;
    }
    return pairs.length === 0 ? '{}' : pairs.join(' ');
  }
  return undefined;
}

const quoted = (v: Scalar): string =>
  typeof v === 'string' && (v === '' || /[\s"=]/.test(v)) ? JSON.stringify(v) : String(v);
