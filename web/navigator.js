/* navigator.js: the Latent Space Navigator page's navigation, all in the browser. The model's
 * decoder runs here (web/decoder.js), so dragging a slider, pressing and dragging on the map
 * (mouse or touch), hovering over the map, arrow keys on the map, and the morph and
 * interpolation animations all redraw the digit every frame with no request to the server.
 *
 *   - the digit: a 28x28 canvas shown 280 px wide (#lsn-digit); its z text (#lsn-z) is the vote
 *     of the 15 encoded test digits nearest to z, from the atlas codes fetched with the decoder;
 *   - the model: GET /api/model/NAME (handlers.model_file: the float16 decoder and the atlas
 *     codes in one safetensors file, cached by the browser); a model the decoder cannot run, or
 *     a failed fetch, falls back to the server's image API (GET /api/decode.png) and the status
 *     line under the digit says so;
 *   - the map: a press goes there, a drag follows the pointer, hovering previews the digit under
 *     the pointer beside it (the position stays), arrow keys move the point while the map has
 *     focus (Shift: ten times the step); zoom is the map toolbar's +/- and reset buttons
 *     (always shown), or a double-click to reset it, which leaves the point where it was;
 *   - the address: once the position settles it names the model and z (#model=&x=&y=); opened,
 *     it is loaded as ?model=&x=&y=, which the server's load event (handlers.ui_from_url) restores;
 *   - a morph or a played interpolation leaves its trail on the map (#lsn-trail);
 *   - the Draw tab's sketchpad has its brush selected from the start and after "clear";
 *   - the server still owns every other action: it sets the sliders (jump, random, morph...) and
 *     their .change calls window.lsnMark, which redraws here.
 *
 * Loaded by demo.py: this file, after web/decoder.js, is the js_on_load of the hidden gr.HTML
 * #lsn-hook (Gradio runs it once as a function body when the page mounts). demo.py's events call
 * window.lsnModel(name) on load and model switch, window.lsnMark(x, y) when the sliders change
 * and window.lsnPlay(points) to animate positions the server sent. window.lsnStats holds the
 * paint times that bench/navigation.py reads. Tested with real mouse, touch and key input in
 * tests/test_demo_browser.py.
 */

const S = {
  name: null, dec: null, mu: null, labels: null, classes: null, extent: null, noun: 'digits',
  local: false, last: '', animation: null, serverBusy: false, serverNext: null,
  driving: false, sync: null, syncTimer: null, at: null, urlTimer: null, trail: [], sliding: null,
};
const DOUBLE_MS = 500;  // a second press this soon (and within 6 px) is a double-click's
const SYNC_MS = 70;  // the sliders and the z text follow a drag at ~14 Hz, the digit every frame
const K = 15;  // the z text's vote, as handlers.z_text
const stats = window.lsnStats = {paints: 0, latencies: [], mode: 'loading'};

const $ = (sel) => document.querySelector(sel);
const plot = () => $('#lsn-map .js-plotly-plot');
const numberInput = (id) => $('#' + id + ' input[type=number]');
const round2 = (v) => Math.round(v * 100) / 100;
const signed = (v) => (v >= 0 ? '+' : '') + v.toFixed(2);

// --- the digit, the status line and the z text ---------------------------------------------------

const digitParts = () => {
  const host = $('#lsn-digit');
  if (!host) return null;
  if (!host.lsnParts) {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 28;
    canvas.id = 'lsn-canvas';
    const img = document.createElement('img');
    img.id = 'lsn-server-digit';
    img.alt = 'the decoded digit';
    const status = document.createElement('div');
    status.id = 'lsn-status';
    host.append(canvas, img, status);
    const pixels = canvas.getContext('2d').createImageData(28, 28);
    host.lsnParts = {canvas, img, status, pixels, ctx: canvas.getContext('2d')};
  }
  return host.lsnParts;
};

const setStatus = (mode, text) => {
  const p = digitParts();
  stats.mode = mode;
  if (!p) return;
  p.status.dataset.mode = mode;
  p.status.textContent = text;
  p.canvas.style.display = mode === 'server' ? 'none' : 'block';
  p.img.style.display = mode === 'server' ? 'block' : 'none';
};

const paintLocal = (x, y, canvasParts) => {
  const u8 = S.dec.decodeUint8(x, y), rgba = canvasParts.pixels.data;
  for (let i = 0; i < 784; i++) {
    const v = u8[i], j = 4 * i;
    rgba[j] = rgba[j + 1] = rgba[j + 2] = v;
    rgba[j + 3] = 255;
  }
  canvasParts.ctx.putImageData(canvasParts.pixels, 0, 0);
};

// The server fallback: one image in flight at a time, the newest position next.
const paintServer = (x, y) => {
  const p = digitParts();
  const url = `api/decode.png?x=${x}&y=${y}&scale=10&model=${encodeURIComponent(S.name || '')}`;
  if (S.serverBusy) { S.serverNext = url; return; }
  S.serverBusy = true;
  p.img.onload = p.img.onerror = () => {
    S.serverBusy = false;
    if (S.serverNext) { const next = S.serverNext; S.serverNext = null; S.serverBusy = true; p.img.src = next; }
  };
  p.img.src = url;
};

// The vote of the K atlas codes nearest to (x, y): the same text handlers.z_text writes (without
// the atlas, when the model file could not be fetched, z alone).
const zText = (x, y) => {
  const z = `z = (${signed(x)}, ${signed(y)})`;
  if (!S.mu) return z;
  const mu = S.mu, n = S.labels.length, best = new Float64Array(K).fill(Infinity);
  const who = new Int32Array(K).fill(-1);
  for (let i = 0; i < n; i++) {
    const dx = mu[2 * i] - x, dy = mu[2 * i + 1] - y, d = dx * dx + dy * dy;
    if (d >= best[K - 1]) continue;
    let j = K - 1;
    while (j > 0 && best[j - 1] > d) { best[j] = best[j - 1]; who[j] = who[j - 1]; j--; }
    best[j] = d; who[j] = i;
  }
  const votes = new Array(S.classes.length).fill(0);
  for (const i of who) if (i >= 0) votes[S.labels[i]]++;
  let c = 0;
  votes.forEach((v, i) => { if (v > votes[c]) c = i; });
  return `${z}   ${votes[c]} of the ${K} nearest test ${S.noun}: ${S.classes[c]}`;
};

// Draw the digit at (x, y) and move the marker; nothing if it is already there. The z text
// and the sliders follow (syncSoon).
const draw = (x, y) => {
  const key = `${S.name} ${x} ${y}`;
  if (key === S.last || !S.name) return false;
  S.last = key;
  S.at = [x, y];
  if (S.local) paintLocal(x, y, digitParts());
  else paintServer(x, y);
  mark(x, y);
  if (!stats.paints++) stats.firstPaint = performance.now();
  return true;
};

// --- the map: the one mapping between z and a pixel, used both ways --------------------------
// Its geometry is measured once per redraw, resize or scroll, not per move: reading a box in the
// middle of a drag forces the browser to lay the page out again after the sliders changed
// (measured: 31 moves/s instead of 55 in headless Chromium).

const G = {plot: null, host: null, xr: null, yr: null};  // boxes in viewport pixels; axis ranges
const measure = () => {
  const gd = plot(), area = gd && gd.querySelector('.nsewdrag');
  if (!area || !gd._fullLayout || !gd._fullLayout.xaxis) return null;
  G.plot = area.getBoundingClientRect();
  G.host = $('#lsn-map').getBoundingClientRect();
  G.xr = gd._fullLayout.xaxis.range;
  G.yr = gd._fullLayout.yaxis.range;
  return G;
};
const toZ = (clientX, clientY) => [
  G.xr[0] + (clientX - G.plot.left) / G.plot.width * (G.xr[1] - G.xr[0]),
  G.yr[1] - (clientY - G.plot.top) / G.plot.height * (G.yr[1] - G.yr[0]),
];
const inside = (ev) => G.plot && ev.clientX >= G.plot.left && ev.clientX <= G.plot.right &&
  ev.clientY >= G.plot.top && ev.clientY <= G.plot.bottom;
const clampZ = (x, y) => {
  const [x0, x1, y0, y1] = S.extent || [-Infinity, Infinity, -Infinity, Infinity];
  return [round2(Math.min(Math.max(x, x0), x1)), round2(Math.min(Math.max(y, y0), y1))];
};

// The marker is drawn on a canvas laid over the plot area: redrawing it costs ~0.1 ms and
// repaints nothing beneath, where moving a Plotly shape by relayout redraws the plot (measured
// 35-110 ms). In headless Chromium a drag drew a median 40-48 digits/s with a moved div, 52-58
// with this canvas.
// A canvas laid over the plot area (the marker's, the trail's), sized and placed again only
// when the plot area's size changes; and z as fractions (u, v) of that area, toZ's inverse.
const overlay = (id) => {
  let c = document.getElementById(id);
  const w = Math.round(G.plot.width), h = Math.round(G.plot.height);
  if (!c) { c = document.createElement('canvas'); c.id = id; $('#lsn-map').appendChild(c); }
  if (c.width !== w || c.height !== h) {
    c.width = w; c.height = h;
    c.style.left = `${G.plot.left - G.host.left}px`;
    c.style.top = `${G.plot.top - G.host.top}px`;
  }
  return c;
};
const toUV = (x, y) => [(x - G.xr[0]) / (G.xr[1] - G.xr[0]), (G.yr[1] - y) / (G.yr[1] - G.yr[0])];
const mark = (x, y) => {
  if (!G.plot && !measure()) return;
  const c = overlay('lsn-marker'), w = c.width, h = c.height;
  const [u, v] = toUV(x, y);
  const ctx = c.getContext('2d'), px = u * w, py = v * h;
  if (c.lsnLast) ctx.clearRect(c.lsnLast[0] - 12, c.lsnLast[1] - 12, 24, 24);
  c.lsnLast = null;
  c.dataset.z = `${x},${y}`;  // where it is drawn, for tests: z, and pixels in the canvas
  c.dataset.px = `${px.toFixed(1)},${py.toFixed(1)}`;
  if (u < 0 || u > 1 || v < 0 || v > 1) return;
  // a ring with a faint fill: a class label or a sample beneath it stays readable
  ctx.beginPath();
  ctx.arc(px, py, 8.5, 0, 2 * Math.PI);
  ctx.fillStyle = 'rgba(255, 215, 0, 0.3)';
  ctx.fill();
  ctx.lineWidth = 3;
  ctx.strokeStyle = 'black';
  ctx.stroke();
  ctx.beginPath();
  ctx.arc(px, py, 7, 0, 2 * Math.PI);
  ctx.lineWidth = 2;
  ctx.strokeStyle = 'rgb(255, 200, 0)';
  ctx.stroke();
  c.lsnLast = [px, py];
};

// The z text and the sliders (whose values Gradio sends with the server's events) follow the
// drawn position SYNC_MS apart and at once when a move ends: updating them on every frame as
// well would cost the frames (measured in headless Chromium, with a div marker: a median 40
// digits/s against 53).
const setSlider = (id, v) => {
  const input = numberInput(id);
  if (!input || +input.value === v) return;
  input.value = v.toFixed(2);
  // while its own thumb is dragged, Gradio hears the slider's value when the drag ends
  if (S.sliding !== id) input.dispatchEvent(new Event('input', {bubbles: true}));
};
// The page's address names the model and the position once it settles (URL_MS after the last
// sync, not per move), in its fragment: #model=NAME&x=X&y=Y. Not in the query: Plotly writes its
// SVG clip paths as url(PAGE#id) with the page's address at drawing time, so a new query makes
// them another document, which Chromium then fetches (the page again, during a drag). Opened,
// such an address becomes ?model=&x=&y= (below), which handlers.ui_from_url restores on load.
const URL_MS = 400;
const addressSoon = (x, y) => {
  clearTimeout(S.urlTimer);
  S.urlTimer = setTimeout(() => {
    const q = new URLSearchParams({model: S.name, x: x.toFixed(2), y: y.toFixed(2)});
    history.replaceState(history.state, '', `#${q}`);
  }, URL_MS);
};
if (location.hash.startsWith('#model=')) {  // a shared address: the server restores it on load
  location.replace(`${location.pathname}?${location.hash.slice(1)}`);
}
const syncNow = () => {
  clearTimeout(S.syncTimer);
  S.syncTimer = null;
  if (!S.sync) return;
  const [x, y] = S.sync;
  S.sync = null;
  const box = $('#lsn-z textarea');
  if (box) box.value = zText(x, y);
  setSlider('lsn-x', x);
  setSlider('lsn-y', y);
  addressSoon(x, y);
};
const syncSoon = (x, y) => {
  S.sync = [x, y];
  if (!S.syncTimer) S.syncTimer = setTimeout(syncNow, SYNC_MS);
};
const moveTo = (x, y) => {
  [x, y] = clampZ(x, y);
  const drawn = draw(x, y);
  syncSoon(x, y);
  return drawn;
};
const sliders = () => [+numberInput('lsn-x').value, +numberInput('lsn-y').value];

// Pointer latency for bench/navigation.py: from the input event to the digit drawn.
const timed = (ev, drawn) => {
  if (drawn) stats.latencies.push(performance.now() - ev.timeStamp);
  if (stats.latencies.length > 5000) stats.latencies.splice(0, 1000);
};

// --- the hover preview ------------------------------------------------------------------------------

const preview = () => {
  let box = document.getElementById('lsn-preview');
  if (!box) {
    box = document.createElement('div');
    box.id = 'lsn-preview';
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 28;
    const label = document.createElement('span');
    box.append(canvas, label);
    $('#lsn-map').appendChild(box);
    box.lsnParts = {canvas, label, ctx: canvas.getContext('2d'),
                    pixels: canvas.getContext('2d').createImageData(28, 28)};
  }
  return box;
};
const showPreview = (ev) => {
  if (!S.local) return;
  const [x, y] = clampZ(...toZ(ev.clientX, ev.clientY));
  const box = preview(), host = G.host;
  paintLocal(x, y, box.lsnParts);
  box.lsnParts.label.textContent = `(${signed(x)}, ${signed(y)})`;
  // beside the pointer, on the side with room
  const left = ev.clientX - host.left + (ev.clientX + 120 > host.right ? -112 : 16);
  const top = ev.clientY - host.top + (ev.clientY + 120 > host.bottom ? -112 : 16);
  box.style.transform = `translate(${left}px, ${top}px)`;
  box.style.display = 'block';
  box.dataset.z = `${x},${y}`;
};
const hidePreview = () => { const box = document.getElementById('lsn-preview'); if (box) box.style.display = 'none'; };

// --- binding to the map once Plotly has drawn it ------------------------------------------------

const bind = () => {
  const gd = plot(), host = $('#lsn-map');
  if (!gd || gd.lsnBound || !gd.on) return;
  gd.lsnBound = true;
  const remark = () => { measure(); mark(...sliders()); drawTrail(); };
  gd.on('plotly_afterplot', remark);  // drawn, re-rendered, zoomed or reset
  window.addEventListener('resize', remark);
  window.addEventListener('scroll', measure, {passive: true, capture: true});
  host.tabIndex = 0;
  host.setAttribute('aria-label', 'latent map: press or drag to move, arrow keys to step');
  let drag = null, lastPress = null;
  gd.addEventListener('pointerdown', (ev) => {
    measure();
    if (!inside(ev) || ev.button !== 0 || gd._fullLayout.dragmode) return;
    if (ev.target.closest('.modebar')) return;  // the zoom buttons float over the plot area
    // A double-click resets the zoom (Plotly's own): its second press does not move the point,
    // and the point goes back to where it was before the first press.
    const prev = lastPress;
    lastPress = {t: ev.timeStamp, x: ev.clientX, y: ev.clientY, from: S.at};
    if (ev.pointerType === 'mouse' && prev && prev.from && ev.timeStamp - prev.t < DOUBLE_MS &&
        Math.abs(ev.clientX - prev.x) < 6 && Math.abs(ev.clientY - prev.y) < 6) {
      lastPress = null;
      moveTo(...prev.from);
      syncNow();
      return;
    }
    drag = ev.pointerId;
    S.driving = true;
    gd.setPointerCapture(ev.pointerId);
    hidePreview();
    timed(ev, moveTo(...toZ(ev.clientX, ev.clientY)));
    host.focus({preventScroll: true});
  });
  gd.addEventListener('pointermove', (ev) => {
    if (drag === ev.pointerId) {
      timed(ev, moveTo(...toZ(ev.clientX, ev.clientY)));
    } else if (ev.pointerType === 'mouse' && inside(ev) && !ev.target.closest('.modebar')) {
      showPreview(ev);  // not over the zoom buttons, which float over the plot area
    } else {
      hidePreview();
    }
  });
  const end = (ev) => {
    if (drag !== ev.pointerId) return;
    drag = null;
    S.driving = false;
    syncNow();
  };
  gd.addEventListener('pointerup', end);
  gd.addEventListener('pointercancel', end);
  gd.addEventListener('pointerleave', hidePreview);
  host.addEventListener('keydown', (ev) => {
    const dir = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1]}[ev.key];
    if (!dir || !S.extent) return;
    ev.preventDefault();
    const [x0, x1, y0, y1] = S.extent, k = ev.shiftKey ? 0.1 : 0.01;  // of the extent's span
    const [x, y] = sliders();
    timed(ev, moveTo(x + dir[0] * k * (x1 - x0), y + dir[1] * k * (y1 - y0)));
    syncNow();
  });
  remark();
};

// A slider dragged by hand: its own input events, before any round trip. The event's own value:
// Gradio updates the slider's other input (the number box) only after this event.
const bindSliders = () => {
  for (const [id, axis] of [['lsn-x', 0], ['lsn-y', 1]]) {
    const box = $('#' + id);
    if (!box || box.lsnBound) continue;
    box.lsnBound = true;
    box.addEventListener('input', (ev) => {
      const v = parseFloat(ev.target.value);
      if (!ev.isTrusted || !Number.isFinite(v)) return;  // untrusted: the page's own setSlider
      if (ev.target.type === 'range') {
        // The thumb moves by itself; Gradio's own handler would re-render the slider on every
        // move, which is what kept a drag at ~47 moves/s: it hears the value when the drag ends.
        ev.stopPropagation();
        S.sliding = id;
      }
      const z = sliders();
      z[axis] = v;
      const [x, y] = clampZ(...z);
      timed(ev, draw(x, y));
      syncSoon(x, y);
    }, true);
    // the drag ended (released, or a key's step): Gradio hears the thumb's value now
    box.addEventListener('change', (ev) => {
      if (ev.target.type === 'range') tellGradio(id);
    }, true);
  }
};
const tellGradio = (id) => {
  if (S.sliding !== id) return;
  S.sliding = null;
  syncNow();
  const range = $('#' + id + ' input[type=range]');
  if (range) range.dispatchEvent(new Event('input', {bubbles: true}));
};
// a drag that ends without a change event (a cancelled touch): Gradio hears the value all the same
for (const type of ['pointerup', 'pointercancel']) {
  window.addEventListener(type, () => {
    const id = S.sliding;
    if (id) setTimeout(() => tellGradio(id), 0);  // after the change event, if one comes
  }, true);
}

// --- what demo.py's events call ---------------------------------------------------------------------

// The sliders changed: the server set them (jump, random, morph...) or the page did. While a
// drag or an animation drives the position, their echoes are late and are ignored.
window.lsnMark = (x, y) => {
  bind();
  bindSliders();
  if (S.driving) return;
  if (x === undefined) [x, y] = sliders();
  [x, y] = clampZ(+x, +y);
  draw(x, y);
  syncSoon(x, y);
};

// Load `name` as the page's model: its decoder and atlas codes, or the server fallback.
window.lsnModel = async (name) => {
  S.name = name;
  S.last = '';
  S.trail = [];  // of the previous model's map
  drawTrail();
  stats.mode = 'loading';
  try {
    const r = await fetch(`api/model/${encodeURIComponent(name)}`);
    if (!r.ok) throw new Error(`the server answered ${r.status}`);
    const parsed = window.LSNDecoder.parseSafetensors(await r.arrayBuffer());
    if (S.name !== name) return;  // switched again meanwhile
    S.dec = window.LSNDecoder.buildDecoder(parsed);
    S.mu = parsed.tensors['atlas.mu'].data;
    S.labels = parsed.tensors['atlas.labels'].data;
    S.classes = parsed.metadata.classes;
    S.extent = parsed.metadata.extent;
    S.noun = parsed.metadata.noun || 'digits';
    S.local = true;
    setStatus('local', 'decoded in your browser: no server round trip per move');
  } catch (e) {
    if (S.name !== name) return;
    S.local = false;
    S.mu = null;
    setStatus('server', `decoded on the server (this model's decoder cannot run in the ` +
                        `browser: ${e.message}); the digit follows at the server's pace`);
  }
  window.lsnMark();
};

// The trail of the last animation (a morph, or an interpolation played on the digit): the
// positions it went through, a dashed line on a canvas under the marker, redrawn when the map
// is (zoom, resize) and kept until the next animation or model; a click during a morph extends
// the trail of the running one.
const drawTrail = () => {
  if (!G.plot && !measure()) return;
  const c = overlay('lsn-trail'), w = c.width, h = c.height;
  const ctx = c.getContext('2d');
  ctx.clearRect(0, 0, w, h);
  c.dataset.points = String(S.trail.length);
  if (S.trail.length < 2) return;
  const at = (z) => { const [u, v] = toUV(...z); return [u * w, v * h]; };
  ctx.beginPath();
  S.trail.forEach((z, i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, ...at(z)));
  ctx.setLineDash([5, 4]);
  ctx.lineWidth = 2;
  ctx.strokeStyle = 'rgba(0, 0, 0, 0.75)';
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = 'rgba(0, 0, 0, 0.75)';
  for (const z of S.trail) { const [px, py] = at(z); ctx.fillRect(px - 1.5, py - 1.5, 3, 3); }
};

// Play positions the server sent (morph, interpolation) through the local decoder, one every
// other frame (about 30 per second); a new animation replaces a running one, its trail going on
// from where that one was.
window.lsnPlay = (points) => {
  if (!Array.isArray(points) || !points.length) return;
  if (S.animation) cancelAnimationFrame(S.animation);
  else S.trail = S.at ? [S.at] : [];
  S.driving = true;
  let i = 0, tick = 0;
  const step = () => {
    if (tick++ % 2 === 0) {
      moveTo(points[i][0], points[i++][1]);
      S.trail.push(S.at);
      drawTrail();
    }
    if (i < points.length) {
      S.animation = requestAnimationFrame(step);
    } else {
      S.animation = null;
      S.driving = false;
      syncNow();
    }
  };
  step();
};

// --- the Draw tab's sketchpad: the brush is the tool from the start and after "clear" ---------
// Gradio's Sketchpad starts (and clears back) with no tool, saying "select the draw tool to
// start", and a stroke then selects page text instead: the page selects the brush for the person.
const brushReady = () => {
  const pad = document.getElementById('lsn-sketch');
  if (!pad || !pad.querySelector('.empty.wrap')) return;
  const brush = pad.querySelector('button[aria-label=Brush]');
  if (brush && !brush.lsnArmed) {
    brush.lsnArmed = true;  // once per button Gradio draws: clicking again would toggle it off
    brush.click();
  }
};
// "clear" empties the canvas and drops the tool, keeping the same button: arm it again
document.addEventListener('click', (ev) => {
  const clear = ev.target.closest && ev.target.closest('#lsn-sketch button[aria-label="Clear canvas"]');
  if (!clear) return;
  const brush = $('#lsn-sketch button[aria-label=Brush]');
  if (brush) brush.lsnArmed = false;
  setTimeout(brushReady, 50);
}, true);

new MutationObserver(() => { bind(); bindSliders(); brushReady(); })
  .observe(document.body, {childList: true, subtree: true});
bind();
bindSliders();
brushReady();
