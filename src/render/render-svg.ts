import type { Graphviz } from '@hpcc-js/wasm-graphviz';
import type { Result } from '../model/result.js';
import { renderDot } from './render-dot.js';

let graphviz: Promise<Graphviz> | undefined;

/** The Graphviz WebAssembly module, compiled on first use and kept; a failed load is retried next time. */
function loadGraphviz(): Promise<Graphviz> {
  graphviz ??= import('@hpcc-js/wasm-graphviz')
    .then(({ Graphviz: gv }) => gv.load())
    .catch((error: unknown) => {
      graphviz = undefined;
      throw error;
    });
  return graphviz;
}

/**
 * The packet path as an SVG document, laid out by Graphviz `dot` compiled to WebAssembly (no
 * Graphviz binary needed); the same graph as {@link renderDot}.
 */
export async function renderSvg(result: Result): Promise<string> {
  const gv = await loadGraphviz();
  return gv.layout(renderDot(result), 'svg', 'dot');
}
