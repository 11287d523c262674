/* navigator.js: the Latent Space Navigator page's map behaviour, all in the browser: a click on
 * the map goes there (a point: that test digit's code; empty space: the clicked spot), and the
 * marker at the current z follows the X/Y sliders without the figure being resent.
 *
 * How it is loaded: demo.py's build_app reads this file at build time and hands it to the hidden
 * gr.HTML component #lsn-hook as js_on_load, so Gradio runs it once as a function body when the
 * page mounts. It defines window.lsnMark(x, y), which the sliders' .change event calls (its
 * js="window.lsnMark": Gradio calls the function that expression names with the sliders' values).
 * Tested in a real Chromium by tests/test_demo_browser.py (jump to 7 moves the marker, a click on
 * the map moves the sliders and the marker) and timed by bench/demo_latency.py.
 */

const plot = () => document.querySelector('#lsn-map .js-plotly-plot');
const slider = (id) => document.querySelector('#' + id + ' input[type=number]');
// The plot area in page pixels and the axes' ranges: the one mapping between z and a pixel,
// used both ways (a click -> z, z -> the marker).
const frame = () => {
  const gd = plot(), area = gd && gd.querySelector('.nsewdrag');
  if (!area || !gd._fullLayout || !gd._fullLayout.xaxis) return null;
  return {r: area.getBoundingClientRect(), xr: gd._fullLayout.xaxis.range, yr: gd._fullLayout.yaxis.range};
};
// The marker is a plain div over the plot: moving it costs ~0.1 ms, where moving a Plotly shape
// by relayout redraws the plot (measured 35-110 ms: far too slow to follow a drag).
window.lsnMark = (x, y) => {
  const f = frame(), host = document.querySelector('#lsn-map');
  if (!f) return;
  x = x ?? +slider('lsn-x').value;
  y = y ?? +slider('lsn-y').value;
  let m = document.getElementById('lsn-marker');
  if (!m) { m = document.createElement('div'); m.id = 'lsn-marker'; host.appendChild(m); }
  const u = (x - f.xr[0]) / (f.xr[1] - f.xr[0]), v = (f.yr[1] - y) / (f.yr[1] - f.yr[0]);
  const h = host.getBoundingClientRect();
  m.style.display = u >= 0 && u <= 1 && v >= 0 && v <= 1 ? 'block' : 'none';
  // A transform on its own layer: moving it repaints nothing beneath (3000 SVG points)
  m.style.transform = `translate(${f.r.left - h.left + u * f.r.width}px, ${f.r.top - h.top + v * f.r.height}px)`;
};
// Set a slider as a user would (Gradio's .input fires, so the digit is decoded).
const setSlider = (id, v) => {
  const input = slider(id);
  input.value = v.toFixed(2);
  input.dispatchEvent(new Event('input', {bubbles: true}));
};
const goTo = (x, y) => { setSlider('lsn-x', x); setSlider('lsn-y', y); };
const bind = () => {
  const gd = plot();
  if (!gd || gd.lsnBound || !gd.on) return;
  gd.lsnBound = true;
  gd.on('plotly_afterplot', () => window.lsnMark());  // drawn, re-rendered, zoomed or panned
  // A click on a point goes to that digit's code; Plotly then re-dispatches the click as a DOM
  // click, which the second listener turns into the clicked spot when no point was hit.
  gd.on('plotly_click', (ev) => {
    const p = ev.points && ev.points[0];
    if (p) { gd.lsnPointAt = Date.now(); goTo(p.x, p.y); }
  });
  gd.addEventListener('click', (ev) => {
    const f = frame();
    if (!f || Date.now() - (gd.lsnPointAt || 0) < 300) return;
    const {r, xr, yr} = f;
    if (ev.clientX < r.left || ev.clientX > r.right || ev.clientY < r.top || ev.clientY > r.bottom) return;
    goTo(xr[0] + (ev.clientX - r.left) / r.width * (xr[1] - xr[0]),
         yr[1] - (ev.clientY - r.top) / r.height * (yr[1] - yr[0]));
  });
  window.lsnMark();
};
new MutationObserver(bind).observe(document.body, {childList: true, subtree: true});
bind();
