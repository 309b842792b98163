/**
 * The stylesheet of the HTML report, inlined into the page (no external fonts or files): system
 * fonts, one colour per suspicion level and verdict, always paired with an icon or word so the
 * page reads without colour.
 */
export const REPORT_CSS = String.raw`
:root {
  color-scheme: light;
  --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --paper: #ffffff; --soft: #f6f8fa;
  --focus: #0969da;
  --fatal: #b3261e; --fatal-bg: #fbe3e1;
  --critical: #d1242f; --critical-bg: #ffebe9;
  --warning: #9a6700; --warning-bg: #fff8c5;
  --info: #0550ae; --info-bg: #ddf4ff;
  --ok: #1a7f37; --ok-bg: #dafbe1;
  --unknown: #8250df; --unknown-bg: #fbefff;
  --mono: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
html { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; color: var(--ink); background: var(--soft); }
body { margin: 0; padding: 16px 20px 32px; }
h1, h2, h3 { line-height: 1.2; margin: 0; }
h2 { font-size: 1.05rem; margin-bottom: 8px; }
h3 { font-size: .95rem; margin: 14px 0 6px; }
code, pre, .mono { font-family: var(--mono); font-size: .86em; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
.card { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin-bottom: 16px; }
.muted { color: var(--muted); }

.banner { display: flex; flex-wrap: wrap; gap: 12px 28px; align-items: center; border-left: 10px solid var(--v); background: var(--v-bg); }
.banner[data-verdict="reachable"] { --v: var(--ok); --v-bg: var(--ok-bg); }
.banner[data-verdict="partial"] { --v: var(--warning); --v-bg: var(--warning-bg); }
.banner[data-verdict="unreachable"] { --v: var(--fatal); --v-bg: var(--fatal-bg); }
.banner[data-verdict="unknown"] { --v: var(--unknown); --v-bg: var(--unknown-bg); }
.verdict { display: flex; align-items: center; gap: 12px; min-width: 250px; }
.verdict-icon { font-size: 2.1rem; line-height: 1; color: var(--v); }
.verdict h1 { font-size: 1.7rem; letter-spacing: .04em; color: var(--v); }
.verdict p { margin: 2px 0 0; font-weight: 600; }
.request { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
.request dt { color: var(--muted); }
.request dd { margin: 0; }
.counts { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }

.badge { display: inline-block; padding: 0 7px; border-radius: 10px; border: 1px solid currentColor; font-size: .8rem; font-weight: 600; white-space: nowrap; }
.badge.fatal { color: var(--fatal); background: var(--fatal-bg); }
.badge.critical { color: var(--critical); background: var(--critical-bg); }
.badge.warning { color: var(--warning); background: var(--warning-bg); }
.badge.info { color: var(--info); background: var(--info-bg); }
.badge.ok, .badge.delivered { color: var(--ok); background: var(--ok-bg); }
.badge.dropped, .badge.refused { color: var(--fatal); background: var(--fatal-bg); }
.badge.unknown { color: var(--unknown); background: var(--unknown-bg); }

.graph-head { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: baseline; gap: 8px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 0; padding: 0; list-style: none; font-size: .82rem; color: var(--muted); align-items: center; }
.legend svg { vertical-align: middle; margin-right: 4px; }
.graph { overflow: auto; margin: 8px 0 4px; }
.graph svg { display: block; width: 100%; height: auto; margin: 0 auto; }
.graph svg g.graph > polygon:first-of-type { fill: transparent; }
.graph.natural svg { width: var(--natural); max-width: none !important; }
.zoom { font: inherit; font-size: .8rem; border: 1px solid var(--line); background: var(--paper); border-radius: 6px; padding: 2px 8px; cursor: pointer; }
.zoom:focus-visible { outline: 3px solid var(--focus); }
html:not(.js) .zoom { display: none; }
.js .graph g.node[data-hop] { cursor: pointer; }
.graph g.node[data-hop]:hover > :is(ellipse, polygon, path) { stroke-width: 3px; }
.graph g.node:focus { outline: none; }
.graph g.node:focus-visible > :is(ellipse, polygon, path) { stroke: var(--focus); stroke-width: 3px; stroke-dasharray: 4 2; }
.graph g.node.selected > :is(ellipse, polygon, polyline, path) { stroke: var(--focus); stroke-width: 4px; }
.help { margin: 4px 0 0; font-size: .85rem; color: var(--muted); }
kbd { font-family: var(--mono); font-size: .8em; border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 4px; padding: 0 4px; background: var(--soft); }

.columns { display: grid; grid-template-columns: minmax(0, 1fr) minmax(280px, 380px); gap: 16px; align-items: start; }
@media (max-width: 900px) { .columns { grid-template-columns: 1fr; } }

.hops ol { list-style: none; margin: 0; padding: 0; }
.hops li { margin: 0 0 4px; }
.hop-button { width: 100%; display: flex; gap: 8px; align-items: center; text-align: left; font: inherit; background: var(--paper); border: 1px solid var(--line); border-radius: 6px; padding: 5px 8px; cursor: pointer; color: inherit; }
.hop-button:hover { background: var(--soft); }
.hop-button:focus-visible { outline: 3px solid var(--focus); outline-offset: 1px; }
.hop-button[aria-current="true"] { border-color: var(--focus); box-shadow: inset 4px 0 0 var(--focus); }
.hop-button .name { flex: 1; overflow-wrap: anywhere; }
.ok-mark { color: var(--ok); font-weight: 700; padding: 0 6px; }
.branch-list { list-style: none; margin: 0; padding: 0; }
.branch-list li { border-bottom: 1px solid var(--line); padding: 6px 0; overflow-wrap: anywhere; }
.branch-list li:last-child { border-bottom: 0; }
.branch-list .backend { font-family: var(--mono); font-size: .85em; margin: 2px 0; }
.share { font-weight: 600; }
.kind { font-size: .75rem; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; min-width: 4.6em; }

.hop-panel { scroll-margin-top: 12px; }
.js .hop-panel:not(.selected) { display: none; }
.js #panel-empty:not([hidden]) { display: block; }
#panel-empty { display: none; }
.panel-title { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 4px; }
.panel-title h2 { margin: 0; font-size: 1.2rem; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px 4px 0; border-bottom: 1px solid var(--line); }
th { color: var(--muted); font-weight: 600; }
td.mono, td code { overflow-wrap: anywhere; }
.nat { color: var(--info); font-weight: 600; }
.crossing { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; margin: 6px 0; background: var(--soft); }
.crossing .row { display: grid; grid-template-columns: 5.5em 1fr; gap: 2px 8px; }
.crossing .label { color: var(--muted); }
.crossing .which { font-size: .82rem; color: var(--muted); margin-bottom: 4px; }
.end { margin: 6px 0; }
.suspicion { border: 1px solid var(--line); border-left: 6px solid var(--lvl); border-radius: 6px; padding: 8px 12px; margin: 8px 0; background: var(--paper); }
.suspicion[data-level="fatal"] { --lvl: var(--fatal); }
.suspicion[data-level="critical"] { --lvl: var(--critical); }
.suspicion[data-level="warning"] { --lvl: var(--warning); }
.suspicion[data-level="info"] { --lvl: var(--info); }
.suspicion .head { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.suspicion .code { font-family: var(--mono); font-weight: 700; }
.suspicion .message { margin: 6px 0; }
.evidence { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 6px 8px; }
.hint { margin: 6px 0 0; padding: 6px 8px; border-radius: 4px; background: var(--ok-bg); }
.none { color: var(--ok); font-weight: 600; }
details.raw summary { cursor: pointer; font-weight: 600; }
details.raw pre { margin-top: 8px; max-height: 60vh; overflow: auto; background: var(--soft); padding: 8px; border-radius: 4px; }
footer { color: var(--muted); font-size: .8rem; text-align: center; }
@media print {
  body { background: #fff; }
  .js .hop-panel:not(.selected) { display: block; }
  .hops, .help { display: none; }
}
`;
