/* navigator.js: the navigator component, the one owner of z on the page (main_view.py's gr.HTML
 * #lsn-nav; this file is the end of its js_on_load, after decoder.js, numbers.js, nearest.js,
 * address.js, digit.js, glue.js and map.js). Its value is the position [x, y], or, when the
 * server sends one, {z, path}: a path to animate, ending at z. Its props are the model's name
 * and extent, and `local`: what the server measured where z settled (tab_edit.ui_local: the
 * digit's attributes, the attribute arrows), shown while z stays there. Gradio runs this body with `element` (the component's template,
 * web/navigator.html), `props`, `watch` and `trigger`.
 *
 * z has the model's latent size: X and Y for a 2-D latent, z1..zD with a bar chart of z for a
 * larger one, whose map is a plane through z (props.plane: the codes' first two principal
 * components, ui.plane): a move on the map changes z within the plane through the current z,
 * keeping its other components, and the map shows z's projection.
 *
 *   - every move is drawn here, with no request: the digit (the model's decoder runs in the page,
 *     GET /api/model/NAME; without it the server's image API), the marker, the X/Y boxes and
 *     ranges and the z text (web/nearest.js);
 *   - when a move settles (pointer up, a key, a committed typed value, the end of an animation)
 *     the value is set, and Gradio's HTML component sends its change; the server's handlers take
 *     that value as an input and return a new one (jump, random, morph, go there, a model switch);
 *   - a typed box accepts partial input ("-", "", "1e") while typing; on commit a non-number, or
 *     a value outside the model's extent, is named in a toast (the custom event "refused",
 *     which the server shows) and the box returns to its last good value, or to the clamp;
 *   - the address names the model and z once the position settles (web/address.js).
 * window.lsnStats (paint counts and input-to-digit latencies) exists only when window.lsnBench
 * was set before the page loaded (bench/navigation.py, tests/pages.py).
 */
const LSN = window.LSN;
const SYNC_MS = 70;  // the boxes and the z text follow a drag at ~14 Hz, the digit every frame
const URL_MS = 400;  // the address follows a settled position this much later
const shared = LSN.address.opened(location.hash);
if (shared) location.replace(`${location.pathname}${shared}`);  // the server restores it on load

const stats = window.lsnBench ? (window.lsnStats = {paints: 0, latencies: [], mode: 'loading'}) : null;
const S = {model: null, dim: 0, extent: null, plane: null, dec: null, atlas: null, flat: null, local: false,
           ready: false, here: null,
           at: null, settled: null, seen: null, drawn: '', animation: null, syncTimer: null, urlTimer: null};
const $ = (sel) => element.querySelector(sel);
const digit = new LSN.Digit($('#lsn-canvas'), $('#lsn-server-digit'));
const status = $('#lsn-status'), ztext = $('#lsn-z'), attrs = $('#lsn-attrs'), nearText = $('#lsn-near');
let axes = [];
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const shown = (v) => v.toFixed(2);

const setStatus = (mode, text) => {
  if (stats) stats.mode = mode;
  status.dataset.mode = mode;
  status.textContent = text;
  digit.show(mode !== 'server');
};

// Draw the digit at z and move the marker; nothing if it is already there or no decoder is ready.
const draw = (z) => {
  S.at = z;
  const key = `${S.model} ${z}`;
  if (!S.ready || key === S.drawn) return false;
  S.drawn = key;
  if (S.local) digit.paint(S.dec, z);
  else digit.fetch(`api/decode.png?${z.length === 2 ? `x=${z[0]}&y=${z[1]}` : `z=${z.join(',')}`}` +
                   `&scale=10&model=${encodeURIComponent(S.model)}`);
  digit.canvas.dataset.z = z.join(',');
  if (view) view.mark(toMap(z));
  drawBars(z);
  freshen();
  if (stats && !stats.paints++) stats.firstPaint = performance.now();
  return true;
};

// The measured attributes and the arrows hold for the point the server measured: shown while z
// is there, faded (the attributes) or hidden (the arrows) once it moves on.
const freshen = () => {
  const fresh = Boolean(S.here && S.at && S.here.model === S.model && same(S.here.at, S.at));
  attrs.dataset.stale = fresh ? '' : '1';
  if (view) view.arrows(fresh ? S.hereOnMap : null);
};
const showLocal = () => {
  const here = props.local;
  S.here = here && here.model === S.model && Array.isArray(here.at) ? here : null;
  // the arrows on the map: each attribute's move as the map shows it
  S.hereOnMap = S.here && {...S.here, at: toMap(S.here.at), arrows: (S.here.arrows || []).map(
    ([name, move, reliable]) => [name, sub(toMap(add(S.here.at, move)), toMap(S.here.at)), reliable])};
  attrs.textContent = S.here ? S.here.measured.map(([name, v, unit]) =>
    `${name} ${v === null ? '–' : `${v} ${unit}`}`).join(' · ') : '';
  freshen();
};

// --- the map's plane: map coordinates p <-> z. p = B (z - o) (B: the plane's two orthonormal
// rows, o its origin); a point p of the map lifts to the z beside the position the gesture
// started from (S.settled) that projects to p, so z's other components stay. In 2-D, p is z.
const add = (a, b) => a.map((v, i) => v + b[i]);
const sub = (a, b) => a.map((v, i) => v - b[i]);
const toMap = (z) => {
  const P = S.plane;
  if (!P || z.length === 2) return z;
  return P.basis.map((row) => row.reduce((acc, w, i) => acc + w * (z[i] - P.origin[i]), 0));
};
const fromMap = (p, from = S.settled || S.at) => {
  const P = S.plane;
  if (!P || p.length === from.length) return p;
  const d = sub(p, toMap(from));
  return from.map((v, i) => v + P.basis[0][i] * d[0] + P.basis[1][i] * d[1]);
};
const codeOf = (i) => Array.from(S.atlas.mu.subarray(S.dim * i, S.dim * (i + 1)));
// the atlas as the map shows it: its codes' map coordinates (once a model)
const flatAtlas = () => {
  if (!S.atlas || S.dim === 2) return S.atlas;
  if (!S.flat) {
    const n = S.atlas.labels.length, mu = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) mu.set(toMap(codeOf(i)), 2 * i);
    S.flat = {...S.atlas, mu};
  }
  return S.flat;
};
const mapDecoder = {decodeUint8: (p, out) => S.dec.decodeUint8(fromMap(p), out)};

// --- the axes: a number box and a range for each dimension of z ----------------------------
const buildAxes = (d) => {
  const host = $('.lsn-axes');
  host.replaceChildren();
  host.classList.toggle('lsn-many', d > 2);
  $('.lsn-dims').hidden = d === 2;
  axes = Array.from({length: d}, (_, i) => {
    const name = d === 2 ? 'XY'[i] : `z${i + 1}`;
    const box = document.createElement('div');
    box.id = d === 2 ? `lsn-${name.toLowerCase()}` : `lsn-${name}`;
    box.className = 'lsn-axis';
    box.innerHTML = `<label>${name} <input class="lsn-num" type="text" inputmode="decimal" ` +
      `autocomplete="off" spellcheck="false" aria-label="${name}"></label>` +
      `<input type="range" step="0.01" aria-label="${name} slider">`;
    host.appendChild(box);
    const a = {name, num: box.querySelector('.lsn-num'), range: box.querySelector('input[type=range]')};
    a.range.min = S.extent[2 * i];
    a.range.max = S.extent[2 * i + 1];
    wireAxis(a, i);
    return a;
  });
};

const planeText = (P) => (P.origin.length === 2 ? '' : `the map: a plane through z, ${P.through.length ?
  `parallel to the plane through the centres of ${P.through.join(', ')}` :
  "along the codes' first two principal components"}, holding ${(100 * P.share).toFixed(0)} % of their variance`);

// the bar chart of z (a larger latent): each dimension's bar from 0, on its extent's scale
const bars = $('#lsn-zbars');
const drawBars = (z) => {
  if (z.length === 2 || bars.closest('[hidden]')) return;
  const ctx = bars.getContext('2d'), w = bars.width, h = bars.height, n = z.length, mid = h / 2;
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = '#888';
  ctx.fillRect(0, mid, w, 1);
  z.forEach((v, i) => {
    const reach = Math.max(Math.abs(S.extent[2 * i]), Math.abs(S.extent[2 * i + 1])) || 1;
    const bar = (v / reach) * (mid - 2), x = (i + 0.15) * (w / n), bw = 0.7 * (w / n);
    ctx.fillStyle = v >= 0 ? '#1f77b4' : '#d62728';
    ctx.fillRect(x, bar >= 0 ? mid - bar : mid, bw, Math.abs(bar));
  });
  bars.dataset.z = z.join(',');
};

// The boxes, ranges and z text show S.at (a box being typed into keeps what is typed).
const syncNow = () => {
  clearTimeout(S.syncTimer);
  S.syncTimer = null;
  if (!S.at) return;
  axes.forEach((a, i) => {
    if (document.activeElement !== a.num) a.num.value = shown(S.at[i]);
    a.range.value = S.at[i];
  });
  const voted = S.atlas && LSN.nearest.vote(S.atlas.mu, S.atlas.labels, S.atlas.classes.length, S.at);
  ztext.textContent = LSN.nearest.zText(S.at, S.atlas, voted);
  const near = LSN.nearest.near(S.at, S.atlas, voted);
  nearText.textContent = near ? near.text : '';
  nearText.dataset.off = near && near.off ? '1' : '';
};
const syncSoon = () => { if (!S.syncTimer) S.syncTimer = setTimeout(syncNow, SYNC_MS); };

// A move: clamped to the extent, drawn now; `ev` (an input event) times it for the bench.
const moveTo = (z, ev) => {
  const drawn = draw(LSN.map.clamp(S.extent, z));
  syncSoon();
  if (stats && ev && drawn) {
    stats.latencies.push(performance.now() - ev.timeStamp);
    if (stats.latencies.length > 5000) stats.latencies.splice(0, 1000);
  }
  return drawn;
};

// The move settled: the component's value is the position (Gradio sends its change), and the
// address follows.
const settle = () => {
  syncNow();
  if (!S.at) return;
  S.settled = S.at;
  if (!same(props.value, S.at)) props.value = S.at.slice();
  S.seen = props.value;
  clearTimeout(S.urlTimer);
  S.urlTimer = setTimeout(() => history.replaceState(history.state, '',
    LSN.address.fragment(S.model, S.settled)), URL_MS);
};

const refuse = (message) => trigger('refused', {message});

// The test images behind the map's dots (GET /api/images/NAME), fetched once a model, the first
// time a dot's card shows: a promise of their pixels, or of null when they cannot be had.
const testImages = () => {
  if (S.images && S.images.model === S.model) return S.images.pixels;
  const model = S.model;
  const pixels = fetch(`api/images/${encodeURIComponent(model)}`)
    .then((r) => (r.ok ? r.arrayBuffer() : null))
    .then((b) => (b ? window.LSNDecoder.parseSafetensors(b).tensors.images.data : null))
    .catch(() => null);
  S.images = {model, pixels};
  return pixels;
};

let view = null;
LSN.glue.whenFound('#lsn-map', (host) => {
  const local = () => S.ready && S.local;
  view = new LSN.map.MapView(host, {
    moveTo: (p, ev) => moveTo(fromMap(p), ev), settle, at: () => S.at && toMap(S.at),
    extent: () => (S.dim === 2 ? S.extent : S.plane.extent),
    decoder: () => (local() ? (S.dim === 2 ? S.dec : mapDecoder) : null),
    atlas: () => (local() ? flatAtlas() : null),
    toDot: (i, ev) => moveTo(codeOf(i), ev), codeOf, codeDecoder: () => (local() ? S.dec : null),
    testImages});
});

// --- the boxes and ranges of z's dimensions (buildAxes makes them) --------------------------
function wireAxis(a, i) {
  const along = (v) => S.at.map((w, j) => (j === i ? v : w));
  // a range dragged by hand: the digit follows each move, the value is set when it is let go
  a.range.addEventListener('input', (ev) => moveTo(along(+a.range.value), ev));
  a.range.addEventListener('change', settle);
  // a box: each complete number typed moves the digit; partial input waits without a word
  a.num.addEventListener('input', (ev) => {
    const typed = LSN.numbers.read(a.num.value);
    if ('value' in typed) moveTo(along(typed.value), ev);
  });
  const commit = () => {
    const typed = LSN.numbers.read(a.num.value);
    if (!('value' in typed)) {
      refuse(`${a.name} must be a number, not "${a.num.value.slice(0, 40)}": back to ${shown(S.settled[i])}`);
      a.num.value = shown(S.settled[i]);
      moveTo(S.settled);
      settle();
      return;
    }
    const [lo, hi] = S.extent.slice(2 * i, 2 * i + 2);
    if (typed.value < lo || typed.value > hi) {
      refuse(`${a.name} = ${typed.value} is outside ${S.model}'s range ${lo}..${hi}: ` +
             `set to ${shown(Math.min(Math.max(typed.value, lo), hi))}`);
    }
    moveTo(along(typed.value));
    a.num.blur();
    settle();
  };
  a.num.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); commit(); } });
  a.num.addEventListener('change', () => { if (document.activeElement === a.num) return; commit(); });
}

// reset: z at the codes' mean; re-centre: the map position kept, z's part off the plane dropped
$('#lsn-reset').addEventListener('click', () => { moveTo(S.plane.mean); settle(); });
$('#lsn-recentre').addEventListener('click', () => {
  moveTo(fromMap(toMap(S.at), S.plane.origin));
  settle();
});

// --- the search box: a test image's index goes to its code and shows its card; a class name
// rings its dots on the map; Escape or an empty box clears the rings ---------------------------
const find = $('#lsn-find');
find.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' || (ev.key === 'Enter' && !find.value.trim())) {
    find.value = '';
    if (view) view.found(null);
    return;
  }
  if (ev.key !== 'Enter' || !view || !S.atlas || !S.local) return;
  ev.preventDefault();
  const q = LSN.map.findQuery(find.value, S.atlas.classes, S.atlas.mapPoints);
  if (q.error) { refuse(q.error); return; }
  if ('cls' in q) { view.found(q.cls); return; }
  view.found(null);
  moveTo(codeOf(q.index), ev);
  settle();
  const at = view.g && LSN.map.toUV(view.g, toMap(S.at));
  if (at) view.showCard(q.index, view.g.box.left + at[0] * view.g.box.width,
                        view.g.box.top + at[1] * view.g.box.height, 4000);
});

// --- the model: its decoder and atlas codes, or the server fallback ------------------------
const loadModel = async (name) => {
  S.model = name;
  S.ready = false;
  S.drawn = '';
  if (view) { view.trail([]); view.found(null); }  // of the previous model's map
  setStatus('loading', 'loading the decoder…');
  let mode, text;
  try {
    // the bytes web/prefetch.js began fetching as the page loaded, once; else fetched now
    const pre = window.lsnPrefetch;
    window.lsnPrefetch = null;
    const bytes = pre && pre.name === name ? pre.bytes : fetch(`api/model/${encodeURIComponent(name)}`)
      .then((r) => { if (!r.ok) throw new Error(`the server answered ${r.status}`); return r.arrayBuffer(); });
    const parsed = window.LSNDecoder.parseSafetensors(await bytes);
    if (S.model !== name) return;  // switched again meanwhile
    S.dec = window.LSNDecoder.buildDecoder(parsed);
    S.atlas = {mu: parsed.tensors['atlas.mu'].data, labels: parsed.tensors['atlas.labels'].data,
               classes: parsed.metadata.classes, noun: parsed.metadata.noun || 'digits',
               mapPoints: parsed.metadata.map_points || 0, nearness: parsed.metadata.nearness};
    S.flat = null;
    S.local = true;
    [mode, text] = ['local', 'decoded in your browser: no server round trip per move'];
  } catch (e) {
    if (S.model !== name) return;
    S.local = false;
    S.atlas = null;
    [mode, text] = ['server', `decoded on the server (this model's decoder cannot run in the ` +
                              `browser: ${e.message}); the digit follows at the server's pace`];
  }
  S.ready = true;
  setStatus(mode, text);
  if (S.at) draw(S.at);
  syncNow();
  // now that the digit is drawn: the server measures it (the custom event "loaded", see
  // tab_edit.ui_local), and the dots' test images are fetched (not in the middle of a drag, when
  // a finger first lands on a dot)
  trigger('loaded', {model: name});
  if (S.local) testImages();
};

// --- what the server sends: a model (with its extent), a position, or a path to play --------
// Played one position every other frame (about 30 a second), from the path's first position (a
// morph's or an edit's is where z was); its trail is the positions played. A new animation
// replaces a running one, its trail going on from where that one was.
// While a path plays with the digit scrolled out of view (at 1366x768 the Morph and Edit
// buttons lie below it), a copy of the digit follows in the window's corner.
const pip = {canvas: $('#lsn-pip'), shown: true, timer: null};
pip.digit = new LSN.Digit(pip.canvas);
new IntersectionObserver(([e]) => { pip.shown = e.intersectionRatio >= 0.9; },
                         {threshold: [0, 0.9, 1]}).observe($('#lsn-digit'));
const follows = (z) => {
  if (pip.shown || !S.local) { pip.canvas.hidden = true; return; }
  pip.canvas.hidden = false;
  pip.digit.paint(S.dec, z);
  pip.canvas.dataset.z = z.join(',');
  clearTimeout(pip.timer);
  pip.timer = setTimeout(() => { pip.canvas.hidden = true; }, 1500);  // after the animation ends
};
const stop = () => {
  if (S.animation) cancelAnimationFrame(S.animation);
  S.animation = null;
};
const play = (path, end) => {
  const trail = S.animation && view ? view.trailPoints : [];
  stop();
  let i = 0, tick = 0;
  const step = () => {
    if (tick++ % 2 === 0) {
      moveTo(path[i++]);
      trail.push(toMap(S.at));
      if (view) view.trail(trail);
      follows(S.at);
    }
    if (i < path.length) {
      S.animation = requestAnimationFrame(step);
    } else {
      S.animation = null;
      moveTo(end);
      follows(S.at);
      settle();
    }
  };
  step();
};

const follow = () => {
  const v = props.value, moved = !same(v, S.seen);  // else only the model or extent changed
  S.seen = v;
  if (!same(props.plane, S.plane)) {  // another plane: the map shows other coordinates
    S.plane = props.plane;
    S.flat = null;
    if (view) view.trail([]);
    $('#lsn-plane').textContent = planeText(S.plane);
    if (S.at && S.at.length === S.plane.origin.length && view) view.mark(toMap(S.at));
  }
  if (props.model !== S.model || !same(props.extent, S.extent)) {
    S.extent = props.extent;
    if (S.extent.length / 2 !== S.dim || !axes.length) {  // another latent size: its own axes
      S.dim = S.extent.length / 2;
      S.at = S.settled = null;
      buildAxes(S.dim);
    }
    axes.forEach((a, i) => { a.range.min = S.extent[2 * i]; a.range.max = S.extent[2 * i + 1]; });
    if (props.model !== S.model) { stop(); loadModel(props.model); }  // the old map's path ends
    if (!moved && S.at) { moveTo(S.at); settle(); }  // the position kept, within the new extent
  }
  if (!moved) return;
  if (v && Array.isArray(v.path) && v.path.length) {
    play(v.path, v.z || v.path[v.path.length - 1]);
  } else if (Array.isArray(v)) {
    stop();
    moveTo(v);
    settle();
  }
};
watch(['value', 'model', 'extent', 'plane'], follow);
watch(['local'], showLocal);
follow();
LSN.glue.whenFound('#lsn-sketch', LSN.glue.armBrush);
