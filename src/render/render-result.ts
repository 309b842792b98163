import type { Result } from '../model/result.js';
import { renderDot } from './render-dot.js';
import { renderJson } from './render-json.js';
import { renderSvg } from './render-svg.js';
import { renderHtml } from './render-html.js';
import { renderText, type TextOptions } from './render-text.js';

/** The output formats a Result can be rendered to (`--format`). */
export const RENDER_FORMATS = ['text', 'json', 'dot', 'svg', 'html'] as const;

/** An output format of `--format`. */
export type RenderFormat = (typeof RENDER_FORMATS)[number];

/** Options for {@link renderResult}; only the text format reads them. */
export type RenderOptions = TextOptions;

/** `result` rendered in `format`: text, the JSON contract, DOT, SVG or the HTML report (async: the WebAssembly loads). */
export async function renderResult(
  result: Result,
  format: RenderFormat,
  options: RenderOptions,
): Promise<string> {
  switch (format) {
    case 'text':
      return renderText(result, options);
    case 'json':
      return renderJson(result);
    case 'dot':
      return renderDot(result);
        case 'svg':
      return renderSvg(result);
    case 'html':
      return renderHtml(result);
  }
}
