/**
 * Replaces what differs from one run of a scenario to the next in skoop's output, so that golden
 * files compare: the snapshot's temporary path, the capture time, veth names with random suffixes
 * and MAC addresses (the kernel picks VXLAN devices' MACs).
 */
export function normalizeRunDependent(text: string): string {
  return text
    .replace(/\/tmp\/skoop-e2e-[A-Za-z0-9]+\/snapshot\.json/g, 'SNAPSHOT.json')
    .replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\b/g, 'CAPTURED-AT')
    .replace(/\bveth[0-9a-f]{8}\b/g, 'vethXXXXXXXX')
    .replace(/\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b/gi, 'xx:xx:xx:xx:xx:xx');
}

/** Whether `xml` is well-formed enough to be a document: one root, every tag closed in order. */
export function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const body = xml
    .replace(/<\?[\s\S]*?\?>/g, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<!DOCTYPE[\s\S]*?>/g, '')
    .replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '');
  const stack: string[] = [];
  let roots = 0;
  for (const m of body.matchAll(
    /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g,
  )) {
    const [, close, name = '', , selfClose] = m;
    if (close === '/') {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}>`);
    } else if (selfClose !== '/') {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) {
      roots++;
    }
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(' > ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  const stray = body.replace(
    /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g,
    '',
  );
  if (stray.includes('<'))
    problems.push(
      `a "<" outside any tag: …${stray.slice(Math.max(0, stray.indexOf('<') - 40), stray.indexOf('<') + 40)}…`,
    );
  if (/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(body)) problems.push('an unescaped "&"');
  return problems;
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML character data with its entity and character references decoded (Graphviz writes `-` as `&#45;`). */
export function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return ENTITIES[ref] ?? whole;
  });
}

/** The decoded text of every `<title>` of an SVG (Graphviz titles each node with its id). */
export function svgTitles(svg: string): string[] {
  return [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => decodeXml(m[1] ?? ''));
}
