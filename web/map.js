/* map.js: the latent map's side of the navigator: the one mapping between z and a pixel of the
 * plot area (used both ways), the overlays laid over the plot (the marker at z, the trail of the
 * last animation, the hover preview) and the input on the map: a press goes there, a drag
 * follows the pointer (mouse or touch), hovering previews the digit under the pointer (the
 * position stays), arrow keys step while the map has focus (1 % of the extent; Shift: 10 %),
 * and a double-click resets Plotly's zoom, leaving the point where it was before its first press.
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
 *   const view = new LSN.map.MapView(host, nav);  // nav: {moveTo, settle, at, extent, preview}
 *   LSN.map.toZ(geometry, clientX, clientY)        // -> [x, y]
 */
(function (root, factory) {
  const api = factory(root);
  if (typeof module === 'object' && module.exports) module.exports = api;
  else (root.LSN = root.LSN || {}).map = api;
})(typeof self !== 'undefined' ? self : this, (root) => {
  'use strict';
  const DOUBLE_MS = 500;
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

  class MapView {
    constructor(host, nav) {
      this.host = host;
      this.nav = nav;
      this.g = null;
      this.trailPoints = [];
      this.here = null;
      this.drag = null;
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
      if (this.nav.at()) this.mark(this.nav.at());
      this.drawTrail();
      this.drawArrows();
    }

    attach(gd) {
      const glue = root.LSN.glue;
      this.gd = gd;
      glue.afterPlot(gd, () => this.redraw());
      gd.addEventListener('pointerdown', (ev) => this.press(ev));
      gd.addEventListener('pointermove', (ev) => this.pointerMove(ev));
      gd.addEventListener('pointerup', (ev) => this.release(ev));
      gd.addEventListener('pointercancel', (ev) => this.release(ev));
      gd.addEventListener('pointerleave', () => this.hidePreview());
      this.redraw();
    }

    press(ev) {
      const glue = root.LSN.glue;
      this.measure();
      if (!inside(this.g, ev.clientX, ev.clientY) || ev.button !== 0 || glue.zooming(this.gd)) return;
      if (glue.onModebar(ev.target)) return;  // the zoom buttons float over the plot area
      // A double-click resets the zoom (Plotly's own): its second press does not move the point,
      // and the point goes back to where it was before the first press.
      const prev = this.lastPress;
      this.lastPress = {t: ev.timeStamp, x: ev.clientX, y: ev.clientY, from: this.nav.at()};
      if (ev.pointerType === 'mouse' && prev && prev.from && ev.timeStamp - prev.t < DOUBLE_MS &&
          Math.abs(ev.clientX - prev.x) < 6 && Math.abs(ev.clientY - prev.y) < 6) {
        this.lastPress = null;
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
      if (this.drag === ev.pointerId) {
        this.nav.moveTo(toZ(this.g, ev.clientX, ev.clientY), ev);
      } else if (ev.pointerType === 'mouse' && inside(this.g, ev.clientX, ev.clientY) &&
                 !root.LSN.glue.onModebar(ev.target)) {
        this.showPreview(ev);  // not over the zoom buttons, which float over the plot area
      } else {
        this.hidePreview();
      }
    }

    release(ev) {
      if (this.drag !== ev.pointerId) return;
      this.drag = null;
      this.nav.settle();
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
      if (!this.g && !this.measure()) return;
      const c = this.overlay('lsn-trail'), w = c.width, h = c.height, ctx = c.getContext('2d');
      const points = this.trailPoints;
      ctx.clearRect(0, 0, w, h);
      c.dataset.points = String(points.length);
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
      if (!this.g && !this.measure()) return;
      const c = this.overlay('lsn-arrows'), w = c.width, h = c.height, ctx = c.getContext('2d');
      ctx.clearRect(0, 0, w, h);
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

    previewBox() {
      let box = document.getElementById('lsn-preview');
      if (!box) {
        box = document.createElement('div');
        box.id = 'lsn-preview';
        const canvas = document.createElement('canvas'), label = document.createElement('span');
        canvas.width = canvas.height = 28;
        box.append(canvas, label);
        this.host.appendChild(box);
        box.lsnDigit = new root.LSN.Digit(canvas);
        box.lsnLabel = label;
      }
      return box;
    }

    showPreview(ev) {
      const decoder = this.nav.decoder();
      if (!decoder) return;
      const z = clamp(this.nav.extent(), toZ(this.g, ev.clientX, ev.clientY));
      const box = this.previewBox(), host = this.g.host;
      box.lsnDigit.paint(decoder, z);
      box.lsnLabel.textContent = `(${z.map(root.LSN.nearest.signed).join(', ')})`;
      // beside the pointer, on the side with room
      const left = ev.clientX - host.left + (ev.clientX + 120 > host.right ? -112 : 16);
      const top = ev.clientY - host.top + (ev.clientY + 120 > host.bottom ? -112 : 16);
      box.style.transform = `translate(${left}px, ${top}px)`;
      box.style.display = 'block';
      box.dataset.z = z.join(',');
    }

    hidePreview() {
      const box = document.getElementById('lsn-preview');
      if (box) box.style.display = 'none';
    }
  }
  return {toZ, toUV, inside, clamp, keyStep, arrowEnds, MapView};
});
