/* map.js: the latent map's side of the navigator: the one mapping between z and a pixel of the
 * plot area (used both ways), the overlays laid over the plot (the marker at z, the trail of the
 * last animation, the hover preview) and the input on the map: a press goes there, a drag
 * follows the pointer (mouse or touch), hovering previews the digit under the pointer (the
 * position stays), arrow keys step while the map has focus (1 % of the extent; Shift: 10 %),
 * and a double-click resets Plotly's zoom, leaving the point where it was before its first press.
 * Outside the region z can reach (the model's extent, outlined on the map) a press goes nowhere
 * and nothing is previewed. The view: the wheel zooms about the pointer, Shift+drag (or the
 * middle button) pans, two fingers pinch and pan; a resize keeps the view asked for (Plotly
 * would widen it at each resize to keep the axes' scales equal).
 *
 * The geometry is measured once per redraw, resize or scroll, not per move: reading a box in
 * the middle of a drag forces the browser to lay the page out again (measured: 31 moves/s
 * instead of 55 in headless Chromium). The marker is a canvas over the plot area: redrawing it
 * costs ~0.1 ms and repaints nothing beneath, where moving a Plotly shape by relayout redraws
 * the plot (35-110 ms); a drag drew a median 40-48 digits/s with a moved div, 52-58 with it.
 *
 * Classic script: in the page it defines LSN.map (MapView needs a DOM and LSN.glue); under node
 * require("web/map.js") gives the pure geometry (tests/js/navigator.test.js).
 *
 * It works in map coordinates: z itself for a 2-D latent; for a larger one, coordinates on a plane
 * through z, which the navigator (web/navigator.js) lifts to z and back.
 *
 *   const view = new LSN.map.MapView(host, nav);  // nav: {moveTo, settle, at, extent, decoder,
 *                                                  //   atlas, toDot, codeOf, codeDecoder, testImages}
 *   LSN.map.toZ(geometry, clientX, clientY)        // -> [x, y], map coordinates
 */
(function (root, factory) {
  const api = factory(root);
  if (typeof module === 'object' && module.exports) module.exports = api;
  else (root.LSN = root.LSN || {}).map = api;
})(typeof self !== 'undefined' ? self : this, (root) => {
  'use strict';
  const DOUBLE_MS = 500;
  const DOT_PX = 6;  // a press or the pointer this near a dot is on it
  const ARROW_PX = [30, 110];  // an arrow's drawn length is kept within these (its direction is true)
  const ARROW_COLOURS = {area: '#d62728', length: '#ff7f0e', thickness: '#2ca02c', slant: '#9467bd',
                         width: '#1f77b4', height: '#8c564b'};  // a second press this soon (and within 6 px) is a double-click's
  const KEYS = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1]};

  // --- geometry: g = {box: the plot area in viewport pixels, xr, yr: the axis ranges} --------
  const toZ = (g, cx, cy) => [
    g.xr[0] + (cx - g.box.left) / g.box.width * (g.xr[1] - g.xr[0]),
    g.yr[1] - (cy - g.box.top) / g.box.height * (g.yr[1] - g.yr[0]),
  ];
  const toUV = (g, z) => [(z[0] - g.xr[0]) / (g.xr[1] - g.xr[0]), (g.yr[1] - z[1]) / (g.yr[1] - g.yr[0])];
  const inside = (g, cx, cy) => Boolean(g) && cx >= g.box.left && cx <= g.box.right &&
    cy >= g.box.top && cy <= g.box.bottom;
  const round2 = (v) => Math.round(v * 100) / 100;
  const within = (extent, z) => z.every((v, i) => v >= extent[2 * i] && v <= extent[2 * i + 1]);
  const WHEEL = 0.0015;  // the view's scale changes by exp(WHEEL * deltaY) a wheel event
  // The view [x0, x1, y0, y1] scaled by s about the point c (z), then moved by d (z units).
  const zoomed = (view, c, s, d = [0, 0]) => [
    c[0] + (view[0] - c[0]) * s + d[0], c[0] + (view[1] - c[0]) * s + d[0],
    c[1] + (view[2] - c[1]) * s + d[1], c[1] + (view[3] - c[1]) * s + d[1]];
  // z clamped to the extent [x0, x1, y0, y1, ...] and rounded to the 0.01 step
  const clamp = (extent, z) => z.map((v, i) => round2(Math.min(Math.max(v, extent[2 * i]), extent[2 * i + 1])));
  // where an arrow key moves z: 1 % of the extent's span, Shift 10 %; null for another key
  const keyStep = (extent, z, key, shift) => {
    const dir = KEYS[key];
    if (!dir) return null;
    const k = shift ? 0.1 : 0.01;
    return z.map((v, i) => v + (dir[i] || 0) * k * (extent[2 * i + 1] - extent[2 * i]));
  };

  // Each arrow's tip in canvas pixels (w x h over the plot area): at + move, its length kept
  // within ARROW_PX; a move of 0 (a flat or blank attribute) gets no arrow.
  const arrowEnds = (g, at, list, w, h) => {
    const [u0, v0] = toUV(g, at);
    const ends = [];
    for (const [name, move, reliable] of list) {
      const [u1, v1] = toUV(g, at.map((v, i) => v + move[i]));
      const dx = (u1 - u0) * w, dy = (v1 - v0) * h, len = Math.hypot(dx, dy);
      if (!(len > 0)) continue;
      const k = Math.min(Math.max(len, ARROW_PX[0]), ARROW_PX[1]) / len;
      ends.push([name, [u0 * w + k * dx, v0 * h + k * dy], reliable]);
    }
    return ends;
  };

  // The map dot nearest pixel (cx, cy) within DOT_PX, or -1: atlas {mu: [x0, y0, x1, ...],
  // labels, classes, mapPoints}; dots of a class in `hidden` are not there.
  const dotAt = (g, atlas, cx, cy, hidden = new Set()) => {
    let best = -1, bestD = DOT_PX * DOT_PX;
    const w = g.box.width, h = g.box.height, n = Math.min(atlas.mapPoints, atlas.labels.length);
    for (let i = 0; i < n; i++) {
      if (hidden.size && hidden.has(atlas.classes[atlas.labels[i]])) continue;
      const [u, v] = toUV(g, [atlas.mu[2 * i], atlas.mu[2 * i + 1]]);
      const d = (g.box.left + u * w - cx) ** 2 + (g.box.top + v * h - cy) ** 2;
      if (d <= bestD) { best = i; bestD = d; }
    }
    return best;
  };

  // What the map's search box asks for: {index} of a test image on the map ("17", "#17"), {cls}
  // a class's index ("class 7", or a name that is no number: "Sneaker", any case), or {error}
  // naming what it cannot find.
  const findQuery = (text, classes, n) => {
    const named = String(text).trim().match(/^class\s+(.+)$/i);
    const t = named ? named[1].trim() : String(text).trim().replace(/^#/, '');
    if (!named && /^\d+$/.test(t)) {
      const i = Number(t);
      return i < n ? {index: i} : {error: `the map shows test images #0 to #${n - 1}, not #${i}`};
    }
    const cls = classes.findIndex((c) => c.toLowerCase() === t.toLowerCase());
    if (cls >= 0) return {cls};
    return {error: `no test image or class "${t.slice(0, 40)}": type an index (0 to ${n - 1}) ` +
                   `or "class " and a class (${classes.join(', ')})`};
  };

  class MapView {
    constructor(host, nav) {
      this.host = host;
      this.nav = nav;
      this.g = null;
      this.trailPoints = [];
      this.here = null;
      this.drag = null;
      this.view = null;  // [x0, x1, y0, y1]: asked for by the server, then by the wheel, pan or pinch
      this.size = null;  // the plot area's size the view was last shown at
      this.pan = null;
      this.touches = new Map();
      this.lastPress = null;
      host.tabIndex = 0;
      host.setAttribute('aria-label', 'latent map: press or drag to move, arrow keys to step');
      const glue = root.LSN.glue;
      glue.eachPlot(host, (gd) => this.attach(gd));
      host.addEventListener('keydown', (ev) => this.key(ev));
      window.addEventListener('resize', () => this.redraw());
      window.addEventListener('scroll', () => this.measure(), {passive: true, capture: true});
    }

    measure() {
      const g = this.gd && root.LSN.glue.plotGeometry(this.gd);
      if (g) { g.host = this.host.getBoundingClientRect(); this.g = g; }
      return this.g;
    }

    redraw() {
      this.measure();
      this.keepView();
      if (this.nav.at()) this.mark(this.nav.at());
      this.drawTrail();
      this.drawArrows();
      this.drawFound();
    }

    // The dots of class `cls` ringed (the search box's answer); null clears them.
    found(cls) {
      this.foundClass = cls;
      this.drawFound();
    }

    drawFound() {
      const layer = this.cleared('lsn-found');
      if (!layer) return;
      const {c, w, h, ctx} = layer;
      const atlas = this.nav.atlas(), cls = this.foundClass;
      let count = 0;
      if (atlas && cls !== null && cls !== undefined) {
        ctx.strokeStyle = 'black';
        ctx.lineWidth = 1.5;
        for (let i = 0; i < Math.min(atlas.mapPoints, atlas.labels.length); i++) {
          if (atlas.labels[i] !== cls) continue;
          const [u, v] = toUV(this.g, this.code(i));
          ctx.beginPath();
          ctx.arc(u * w, v * h, 4, 0, 2 * Math.PI);
          ctx.stroke();
          count++;
        }
      }
      c.dataset.count = String(count);
    }

    // After a resize, show the view asked for again (once: the size is then the same).
    keepView() {
      if (!this.g || !this.view) return;
      const size = `${Math.round(this.g.box.width)}x${Math.round(this.g.box.height)}`;
      if (size === this.size) return;
      const first = this.size === null;
      this.size = size;
      if (!first) root.LSN.glue.setView(this.gd, this.view);
    }

    // Show `view`: at once (a wheel event, which reads the ranges shown), or once a frame (a pan
    // or a pinch: Plotly redraws the plot at each, 35-110 ms).
    setView(view, soon = false) {
      this.view = view;
      if (!soon) { root.LSN.glue.setView(this.gd, view); return; }
      if (this.viewFrame) return;
      this.viewFrame = requestAnimationFrame(() => {
        this.viewFrame = null;
        root.LSN.glue.setView(this.gd, this.view);
      });
    }

    attach(gd) {
      const glue = root.LSN.glue;
      this.gd = gd;
      // a new figure: a new model's (or plane's) view, or the same one's kept
      const asked = glue.askedView(gd), key = asked && JSON.stringify([asked.model, asked.plane || []]);
      if (asked && (!this.view || key !== this.viewModel)) {
        this.view = asked.view;
        this.viewModel = key;
        this.size = null;
      } else if (this.view) {
        glue.setView(gd, this.view);
      }
      glue.afterPlot(gd, () => this.redraw());
      gd.addEventListener('wheel', (ev) => this.wheel(ev), {passive: false});
      gd.addEventListener('pointerdown', (ev) => this.press(ev));
      gd.addEventListener('pointermove', (ev) => this.pointerMove(ev));
      gd.addEventListener('pointerup', (ev) => this.release(ev));
      gd.addEventListener('pointercancel', (ev) => this.release(ev));
      // a finger's card stays up its 2.5 s: a touch pointer leaves the plot as it lifts
      gd.addEventListener('pointerleave', () => { if (!this.cardTimer) this.hidePreview(); });
      this.redraw();
    }

    press(ev) {
      const glue = root.LSN.glue;
      this.measure();
      if (!inside(this.g, ev.clientX, ev.clientY) || glue.zooming(this.gd)) return;
      if (glue.onModebar(ev.target)) return;  // the zoom buttons float over the plot area
      if (ev.pointerType === 'touch') {
        this.touches.set(ev.pointerId, [ev.clientX, ev.clientY]);
        if (this.touches.size === 2) { this.startPan(ev, true); return; }  // a second finger
      }
      if (ev.button === 1 || (ev.button === 0 && ev.shiftKey)) { this.startPan(ev, false); return; }
      if (ev.button !== 0) return;
      if (!within(this.nav.extent(), toZ(this.g, ev.clientX, ev.clientY))) return;  // unreachable
      const dot = this.dot(ev.clientX, ev.clientY);
      if (dot >= 0) {  // a dot: to its code; a finger sees its card (no hover on a phone)
        this.nav.toDot(dot, ev);
        if (ev.pointerType !== 'mouse') this.showCard(dot, ev.clientX, ev.clientY, 2500);
        this.drag = ev.pointerId;
        this.gd.setPointerCapture(ev.pointerId);
        this.host.focus({preventScroll: true});
        return;
      }
      // A double-click resets the zoom (Plotly's own): its second press does not move the point,
      // and the point goes back to where it was before the first press.
      const prev = this.lastPress;
      this.lastPress = {t: ev.timeStamp, x: ev.clientX, y: ev.clientY, from: this.nav.at()};
      if (ev.pointerType === 'mouse' && prev && prev.from && ev.timeStamp - prev.t < DOUBLE_MS &&
          Math.abs(ev.clientX - prev.x) < 6 && Math.abs(ev.clientY - prev.y) < 6) {
        this.lastPress = null;
        const asked = glue.askedView(this.gd);  // Plotly's reset shows the view first asked for
        if (asked) this.view = asked.view;
        this.nav.moveTo(prev.from);
        this.nav.settle();
        return;
      }
      this.drag = ev.pointerId;
      this.gd.setPointerCapture(ev.pointerId);
      this.hidePreview();
      this.nav.moveTo(toZ(this.g, ev.clientX, ev.clientY), ev);
      this.host.focus({preventScroll: true});
    }

    pointerMove(ev) {
      if (this.touches.has(ev.pointerId)) this.touches.set(ev.pointerId, [ev.clientX, ev.clientY]);
      if (this.pan) { this.panMove(ev); return; }
      if (this.drag === ev.pointerId) {
        this.nav.moveTo(toZ(this.g, ev.clientX, ev.clientY), ev);
      } else if (ev.pointerType === 'mouse' && inside(this.g, ev.clientX, ev.clientY) &&
                 !root.LSN.glue.onModebar(ev.target)) {
        // not over the zoom buttons (which float over the plot area), nor where z cannot go
        const reachable = within(this.nav.extent(), toZ(this.g, ev.clientX, ev.clientY));
        this.host.classList.toggle('lsn-unreachable', !reachable);
        if (reachable) this.showPreview(ev);
        else this.hidePreview();
      } else {
        this.hidePreview();
      }
    }

    release(ev) {
      this.touches.delete(ev.pointerId);
      if (this.pan) {
        if (this.pan.pinch ? this.touches.size < 2 : this.pan.id === ev.pointerId) this.pan = null;
        return;
      }
      if (this.drag !== ev.pointerId) return;
      this.drag = null;
      this.nav.settle();
    }

    // The view: the wheel zooms about the pointer; a pan (Shift+drag, the middle button) moves it
    // with the pointer; two fingers move and scale it with their centre and spread. None of them
    // moves z, and a second finger ends the first one's drag of z where it was.
    wheel(ev) {
      this.measure();
      if (!inside(this.g, ev.clientX, ev.clientY) || !this.view) return;
      ev.preventDefault();
      const c = toZ(this.g, ev.clientX, ev.clientY);
      this.setView(zoomed([...this.g.xr, ...this.g.yr], c, Math.exp(WHEEL * ev.deltaY)));
    }

    fingers() {
      const [a, b] = [...this.touches.values()];
      return {c: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], d: Math.hypot(a[0] - b[0], a[1] - b[1]) || 1};
    }

    startPan(ev, pinch) {
      if (this.drag !== null) { this.drag = null; this.nav.settle(); }
      this.hidePreview();
      const start = pinch ? this.fingers() : {c: [ev.clientX, ev.clientY], d: 1};
      this.pan = {id: ev.pointerId, pinch, start, g: this.g, view: [...this.g.xr, ...this.g.yr]};
      this.gd.setPointerCapture(ev.pointerId);
    }

    panMove(ev) {
      const pan = this.pan;
      if (!pan.pinch && ev.pointerId !== pan.id) return;
      const now = pan.pinch ? this.fingers() : {c: [ev.clientX, ev.clientY], d: 1};
      const s = pan.start.d / now.d, c0 = toZ(pan.g, ...pan.start.c);
      // where the start's centre is under the fingers now, in the start's view, scaled by s
      const c1 = toZ(pan.g, ...now.c);
      const view = zoomed(pan.view, c0, s, [0, 0]);
      const shift = [(c0[0] - c1[0]) * s, (c0[1] - c1[1]) * s];
      this.setView([view[0] + shift[0], view[1] + shift[0], view[2] + shift[1], view[3] + shift[1]], true);
    }

    key(ev) {
      const extent = this.nav.extent(), z = this.nav.at();
      const next = extent && z && keyStep(extent, z, ev.key, ev.shiftKey);
      if (!next) return;
      ev.preventDefault();
      this.nav.moveTo(next, ev);
      this.nav.settle();
    }

    // A canvas laid over the plot area (the marker's, the trail's), sized and placed again only
    // when the plot area's size changes.
    overlay(id) {
      let c = document.getElementById(id);
      const g = this.g, w = Math.round(g.box.width), h = Math.round(g.box.height);
      if (!c) { c = document.createElement('canvas'); c.id = id; this.host.appendChild(c); }
      if (c.width !== w || c.height !== h) {
        c.width = w;
        c.height = h;
        c.style.left = `${g.box.left - g.host.left}px`;
        c.style.top = `${g.box.top - g.host.top}px`;
      }
      return c;
    }

    // An overlay canvas, cleared to draw on: {c, w, h, ctx}; null before the plot is drawn.
    cleared(id) {
      if (!this.g && !this.measure()) return null;
      const c = this.overlay(id), ctx = c.getContext('2d');
      ctx.clearRect(0, 0, c.width, c.height);
      return {c, w: c.width, h: c.height, ctx};
    }

    mark(z) {
      if (!this.g && !this.measure()) return;
      const c = this.overlay('lsn-marker'), ctx = c.getContext('2d');
      const [u, v] = toUV(this.g, z), px = u * c.width, py = v * c.height;
      if (c.lsnLast) ctx.clearRect(c.lsnLast[0] - 12, c.lsnLast[1] - 12, 24, 24);
      c.lsnLast = null;
      c.dataset.z = `${z[0]},${z[1]}`;  // where it is drawn, for tests: z, and pixels in the canvas
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
    }

    // The trail of the last animation (a morph, or an interpolation played on the digit): the
    // positions it went through, a dashed line under the marker, redrawn when the map is and
    // kept until the next animation or model.
    trail(points) {
      this.trailPoints = points;
      this.drawTrail();
    }

    drawTrail() {
      const layer = this.cleared('lsn-trail');
      if (!layer) return;
      const {c, w, h, ctx} = layer, points = this.trailPoints;
      c.dataset.points = String(points.length);
      c.dataset.first = points.length ? points[0].join(',') : '';
      if (points.length < 2) return;
      const at = (z) => { const [u, v] = toUV(this.g, z); return [u * w, v * h]; };
      ctx.beginPath();
      points.forEach((z, i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, ...at(z)));
      ctx.setLineDash([5, 4]);
      ctx.lineWidth = 2;
      ctx.strokeStyle = 'rgba(0, 0, 0, 0.75)';
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = 'rgba(0, 0, 0, 0.75)';
      for (const z of points) { const [px, py] = at(z); ctx.fillRect(px - 1.5, py - 1.5, 3, 3); }
    }

    // The attribute arrows (tab_edit.ui_local): from the point the server measured, one +
    // click's move of each attribute, labelled; an attribute the model's checks found
    // unreliable dashed. null hides them (z has moved on from that point).
    arrows(here) {
      if (here === this.here) return;
      this.here = here;
      this.drawArrows();
    }

    drawArrows() {
      const layer = this.cleared('lsn-arrows');
      if (!layer) return;
      const {c, w, h, ctx} = layer;
      const here = this.here, list = (here && here.arrows) || [];
      c.dataset.arrows = String(list.length);
      if (!list.length) return;
      const [u0, v0] = toUV(this.g, here.at), x0 = u0 * w, y0 = v0 * h;
      ctx.font = 'bold 11px sans-serif';
      ctx.lineJoin = 'round';
      for (const [name, move, reliable] of arrowEnds(this.g, here.at, list, w, h)) {
        const [x1, y1] = move;
        ctx.strokeStyle = ctx.fillStyle = ARROW_COLOURS[name] || 'black';
        ctx.lineWidth = 2;
        ctx.setLineDash(reliable === false ? [4, 3] : []);
        ctx.beginPath();
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y1);
        ctx.stroke();
        ctx.setLineDash([]);
        const a = Math.atan2(y1 - y0, x1 - x0);
        ctx.beginPath();
        ctx.moveTo(x1, y1);
        ctx.lineTo(x1 - 8 * Math.cos(a - 0.4), y1 - 8 * Math.sin(a - 0.4));
        ctx.lineTo(x1 - 8 * Math.cos(a + 0.4), y1 - 8 * Math.sin(a + 0.4));
        ctx.fill();
        // the name beyond the tip, on a white halo so that the dots beneath do not hide it
        const tx = x1 + 4 * Math.cos(a) - (Math.cos(a) < 0 ? ctx.measureText(name).width : 0);
        const ty = y1 + 6 * Math.sin(a) + 4;
        ctx.lineWidth = 3;
        ctx.strokeStyle = 'rgba(255, 255, 255, 0.9)';
        ctx.strokeText(name, tx, ty);
        ctx.fillText(name, tx, ty);
      }
    }

    // The dot under the pointer (-1: none, or the page runs no decoder and atlas), and its code.
    dot(cx, cy) {
      const atlas = this.nav.atlas();
      if (!atlas || !this.g) return -1;
      return dotAt(this.g, atlas, cx, cy, root.LSN.glue.hiddenTraces(this.gd));
    }

    code(i) {
      const mu = this.nav.atlas().mu;
      return [mu[2 * i], mu[2 * i + 1]];
    }

    // The preview: the digit decoded under the pointer; or, on a dot, its card: the test image,
    // its reconstruction (the decode of its code), its index and label.
    previewBox() {
      let box = document.getElementById('lsn-preview');
      if (!box) {
        box = document.createElement('div');
        box.id = 'lsn-preview';
        const test = document.createElement('canvas'), canvas = document.createElement('canvas');
        const label = document.createElement('span'), pair = document.createElement('div');
        test.width = test.height = canvas.width = canvas.height = 28;
        test.className = 'lsn-test-image';
        pair.className = 'lsn-card-pair';
        pair.append(canvas, test);  // the decoded digit first (tests read it); shown second
        box.append(pair, label);
        this.host.appendChild(box);
        box.lsnTest = new root.LSN.Digit(test);
        box.lsnDigit = new root.LSN.Digit(canvas);
        box.lsnLabel = label;
      }
      return box;
    }

    placeBox(box, cx, cy) {
      const host = this.g.host, wide = box.offsetWidth || 120, tall = box.offsetHeight || 120;
      // beside the pointer, on the side with room
      const left = cx - host.left + (cx + wide + 24 > host.right ? -wide - 8 : 16);
      const top = cy - host.top + (cy + tall + 24 > host.bottom ? -tall - 8 : 16);
      box.style.transform = `translate(${left}px, ${top}px)`;
      box.style.display = 'block';
    }

    showPreview(ev) {
      const decoder = this.nav.decoder();
      if (!decoder) return;
      const dot = this.dot(ev.clientX, ev.clientY);
      if (dot >= 0) { this.showCard(dot, ev.clientX, ev.clientY); return; }
      const z = clamp(this.nav.extent(), toZ(this.g, ev.clientX, ev.clientY));
      const box = this.previewBox();
      box.classList.remove('lsn-card');
      box.lsnDigit.paint(decoder, z);
      box.lsnLabel.textContent = `(${z.map(root.LSN.nearest.signed).join(', ')})`;
      box.dataset.z = z.join(',');
      delete box.dataset.dot;
      this.placeBox(box, ev.clientX, ev.clientY);
    }

    showCard(i, cx, cy, ms = 0) {
      const decoder = this.nav.decoder(), atlas = this.nav.atlas();
      if (!decoder || !atlas) return;
      const box = this.previewBox(), z = this.nav.codeOf(i);  // the code itself, in any latent size
      box.classList.add('lsn-card');
      box.lsnDigit.paint(this.nav.codeDecoder(), z);
      const label = `test image #${i} · label ${atlas.classes[atlas.labels[i]]}`;
      box.lsnLabel.textContent = `${label}\nleft: the image, right: decoded from its code`;
      box.dataset.z = z.join(',');
      box.dataset.dot = String(i);
      const images = this.nav.testImages();  // fetched once a model, the first time a card shows
      box.lsnTest.canvas.style.visibility = 'hidden';
      images.then((pixels) => {
        if (box.dataset.dot !== String(i) || !pixels) return;
        box.lsnTest.paintImage(pixels, 784 * i);
        box.lsnTest.canvas.style.visibility = 'visible';
      });
      this.placeBox(box, cx, cy);
      clearTimeout(this.cardTimer);
      this.cardTimer = ms ? setTimeout(() => { this.cardTimer = null; this.hidePreview(); }, ms) : null;
    }

    hidePreview() {
      const box = document.getElementById('lsn-preview');
      if (box) box.style.display = 'none';
    }
  }
  return {toZ, toUV, inside, within, clamp, keyStep, zoomed, dotAt, findQuery, arrowEnds, MapView};
});
