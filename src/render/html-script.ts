/**
 * The script of the HTML report, inlined into the page: it makes every hop of the graph and of the
 * hop list selectable by click, Enter or Space, steps along the path with the arrow keys, and shows
 * the selected hop's panel. It reads only the page (no network, no storage).
 *
 * @remarks Without it (scripts disabled in a ticket viewer) the page still shows every hop's panel
 * one after the other: panels are hidden by a `js` class the script adds to the root element.
 */
export const REPORT_JS = String.raw`
(function () {
  'use strict';
  var doc = document;
  doc.documentElement.classList.add('js');
  var panels = new Map();
  var order = [];
  doc.querySelectorAll('.hop-panel').forEach(function (p) {
    panels.set(p.getAttribute('data-hop'), p);
    order.push(p.getAttribute('data-hop'));
  });
  var figure = doc.getElementById('graph');
  var ends = {};
  try { ends = JSON.parse(figure.getAttribute('data-ends') || '{}'); } catch (e) { ends = {}; }
  var empty = doc.getElementById('panel-empty');
  var selected = null;

  function hopOfNode(g) {
    var t = g.querySelector('title');
    var id = t ? t.textContent : '';
    if (panels.has(id)) return id;
    if (Object.prototype.hasOwnProperty.call(ends, id) && panels.has(ends[id])) return ends[id];
    return null;
  }

  function step(delta) {
    var i = order.indexOf(selected);
    var next = order[Math.max(0, Math.min(order.length - 1, i < 0 ? 0 : i + delta))];
    return next === undefined ? null : next;
  }

  function onKey(event, current) {
    var key = event.key;
    if (key === 'Enter' || key === ' ') { event.preventDefault(); select(current(), 'none'); }
    else if (key === 'ArrowRight' || key === 'ArrowDown') { event.preventDefault(); select(step(1), 'same'); }
    else if (key === 'ArrowLeft' || key === 'ArrowUp') { event.preventDefault(); select(step(-1), 'same'); }
    else if (key === 'Home') { event.preventDefault(); select(order[0], 'same'); }
    else if (key === 'End') { event.preventDefault(); select(order[order.length - 1], 'same'); }
    else if (key === 'Escape') { select(null, 'none'); }
  }

  var nodes = [];
  figure.querySelectorAll('g.node').forEach(function (g) {
    var hop = hopOfNode(g);
    if (hop === null) return;
    var t = g.querySelector('title');
    if (t && t.textContent !== hop) g.setAttribute('data-end', 'true');
    g.setAttribute('data-hop', hop);
    g.setAttribute('tabindex', '0');
    g.setAttribute('role', 'button');
    g.setAttribute('aria-label', panels.get(hop).getAttribute('data-label'));
    g.setAttribute('aria-controls', panels.get(hop).id);
    g.addEventListener('click', function () { select(hop, 'none'); });
    g.addEventListener('keydown', function (e) { onKey(e, function () { return hop; }); });
    nodes.push(g);
  });
  var buttons = Array.prototype.slice.call(doc.querySelectorAll('.hop-button'));
  buttons.forEach(function (b) {
    var hop = b.getAttribute('data-hop');
    b.addEventListener('click', function () { select(hop, 'none'); });
    b.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') return;
      onKey(e, function () { return hop; });
    });
  });

  function select(hop, focus) {
    if (hop !== null && !panels.has(hop)) return;
    var wasFocused = doc.activeElement;
    selected = hop;
    panels.forEach(function (p, id) { p.classList.toggle('selected', id === hop); });
    nodes.forEach(function (g) {
      var on = g.getAttribute('data-hop') === hop;
      g.classList.toggle('selected', on && !g.hasAttribute('data-end'));
      g.setAttribute('aria-pressed', on ? 'true' : 'false');
    });
    buttons.forEach(function (b) { b.setAttribute('aria-current', b.getAttribute('data-hop') === hop ? 'true' : 'false'); });
    if (empty) empty.hidden = hop !== null;
    if (focus === 'same' && hop !== null && wasFocused) {
      var inGraph = wasFocused.closest && wasFocused.closest('#graph');
      var target = inGraph
        ? nodes.filter(function (g) { return g.getAttribute('data-hop') === hop; })[0]
        : buttons.filter(function (b) { return b.getAttribute('data-hop') === hop; })[0];
      if (target) target.focus();
    }
    try { history.replaceState(null, '', hop === null ? location.pathname + location.search : '#hop=' + encodeURIComponent(hop)); } catch (e) { /* file: URLs in some viewers */ }
  }

  var zoom = doc.getElementById('zoom');
  if (zoom) {
    zoom.addEventListener('click', function () {
      var natural = figure.classList.toggle('natural');
      zoom.setAttribute('aria-pressed', natural ? 'true' : 'false');
      zoom.textContent = natural ? 'Fit to width' : 'Actual size';
    });
  }

  function hopOfHash() {
    if (location.hash.indexOf('#hop=') !== 0) return null;
    try { return decodeURIComponent(location.hash.slice(5)); } catch (e) { return null; }
  }
  window.addEventListener('hashchange', function () {
    var hop = hopOfHash();
    if (hop !== null && panels.has(hop)) { select(hop, 'none'); panels.get(hop).scrollIntoView({ block: 'nearest' }); }
  });
  var fromHash = hopOfHash();
  var initial = fromHash !== null && panels.has(fromHash) ? fromHash : (figure.getAttribute('data-initial') || null);
  select(initial !== null && panels.has(initial) ? initial : null, 'none');
})();
`;
