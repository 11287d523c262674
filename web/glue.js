/* glue.js: everything the page reads or does inside Gradio's and Plotly's own DOM, and nothing
 * else; the rest of web/ touches only the elements it creates (the navigator component's
 * template, the overlays it lays over the map). Kept in one small file so that a Gradio or
 * Plotly upgrade that moves these has one place to mend.
 *
 *   - the map: Plotly's plot div inside #lsn-map, its plot area (the .nsewdrag rectangle), its
 *     axis ranges (gd._fullLayout), its dragmode, its modebar, its plotly_afterplot event, the
 *     view the server asked for (layout.meta, maps.base_map) and Plotly.relayout to show another;
 *     a new plot div (Gradio draws one per figure) is noticed by an observer on #lsn-map alone;
 *   - the Draw tab's sketchpad: Gradio's Sketchpad starts (and clears back) with no tool,
 *     saying "select the draw tool to start", and a stroke then selects page text instead, so
 *     the brush is selected for the person (an observer on #lsn-sketch alone, once it exists).
 *
 * Classic script: in the page it defines LSN.glue.
 */
(function (root, factory) {
  const api = factory();
  if (typeof module === 'object' && module.exports) module.exports = api;
  else (root.LSN = root.LSN || {}).glue = api;
})(typeof self !== 'undefined' ? self : this, () => {
  'use strict';
  const FIND_MS = 100, FIND_TRIES = 300;  // Gradio mounts its blocks soon after the page: 30 s

  // cb(element) once an element matching `selector` exists (Gradio mounts blocks lazily: a tab's
  // content only when it is first shown)
  const whenFound = (selector, cb, tries = FIND_TRIES) => {
    const el = document.querySelector(selector);
    if (el) cb(el);
    else if (tries > 0) setTimeout(() => whenFound(selector, cb, tries - 1), FIND_MS);
  };

  // cb(gd) for the plot div in `host` now and for each one Gradio draws later
  const eachPlot = (host, cb) => {
    const seen = () => {
      const gd = host.querySelector('.js-plotly-plot');
      if (gd && gd.on && !gd.lsnSeen) { gd.lsnSeen = true; cb(gd); }
    };
    new MutationObserver(seen).observe(host, {childList: true, subtree: true});
    seen();
  };

  // The plot area in viewport pixels and the axis ranges Plotly shows; null before it is drawn.
  const plotGeometry = (gd) => {
    const area = gd.querySelector('.nsewdrag[data-subplot="xy"]') || gd.querySelector('.nsewdrag');
    const layout = gd._fullLayout;
    if (!area || !layout || !layout.xaxis) return null;
    return {box: area.getBoundingClientRect(), xr: layout.xaxis.range, yr: layout.yaxis.range};
  };
  const zooming = (gd) => Boolean(gd._fullLayout && gd._fullLayout.dragmode);
  // over what floats on the plot area: the zoom buttons, or the q(z|x) inset (maps.map_figure)
  const onModebar = (target) => Boolean(target.closest &&
    (target.closest('.modebar') || target.closest('[data-subplot="x2y2"]')));
  const afterPlot = (gd, cb) => gd.on('plotly_afterplot', cb);  // drawn, zoomed or reset
  // The names of the traces the legend hides (a click on a class in the legend hides its dots)
  const hiddenTraces = (gd) => new Set((gd._fullData || []).filter((t) => t.visible === 'legendonly')
    .map((t) => t.name));
  // The view the server asked for, {model, view: [x0, x1, y0, y1]}; Plotly widens one axis of it
  // to keep the axes' scales equal, and then shows more than that.
  const askedView = (gd) => (gd.layout && gd.layout.meta) || null;
  // Show x range xr and y range yr (Plotly's relayout; it widens one of them as above).
  const setView = (gd, [x0, x1, y0, y1]) => {
    const plotly = typeof window !== 'undefined' && window.Plotly;
    if (plotly) plotly.relayout(gd, {'xaxis.range': [x0, x1], 'yaxis.range': [y0, y1]});
  };

  const armBrush = (pad) => {
    const arm = () => {
      if (!pad.querySelector('.empty.wrap')) return;
      const brush = pad.querySelector('button[aria-label=Brush]');
      if (brush && !brush.lsnArmed) {
        brush.lsnArmed = true;  // once per button Gradio draws: clicking again would toggle it off
        brush.click();
      }
    };
    // "clear" empties the canvas and drops the tool, keeping the same button: arm it again
    pad.addEventListener('click', (ev) => {
      if (!ev.target.closest('button[aria-label="Clear canvas"]')) return;
      const brush = pad.querySelector('button[aria-label=Brush]');
      if (brush) brush.lsnArmed = false;
      setTimeout(arm, 50);
    }, true);
    new MutationObserver(arm).observe(pad, {childList: true, subtree: true});
    arm();
  };
  return {whenFound, eachPlot, plotGeometry, zooming, onModebar, afterPlot, hiddenTraces, askedView,
          setView, armBrush};
});
