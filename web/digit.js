/* digit.js: a decoded digit on a 28x28 canvas, the one class for the navigator's digit and the
 * map's hover preview. With the model's decoder (web/decoder.js) it paints in the page; without
 * it (a model the page cannot run, a failed fetch) an <img> shows the server's image API, one
 * image in flight at a time and the newest position next.
 *
 * Classic script: in the page it defines LSN.Digit (needs a DOM to paint).
 *
 *   const digit = new LSN.Digit(canvas, img);
 *   digit.paint(decoder, z);                         // in the page
 *   digit.fetch('api/decode.png?x=..&y=..&scale=10'); // the server fallback
 */
(function (root, factory) {
  const api = factory();
  if (typeof module === 'object' && module.exports) module.exports = api;
  else (root.LSN = root.LSN || {}).Digit = api;
})(typeof self !== 'undefined' ? self : this, () => {
  'use strict';
  class Digit {
    constructor(canvas, img = null) {
      this.canvas = canvas;
      this.img = img;
      this.ctx = canvas.getContext('2d');
      this.pixels = this.ctx.createImageData(28, 28);
      this.busy = false;
      this.next = null;
    }

    paint(decoder, z) {
      this.paintImage(decoder.decodeUint8(z));
    }

    // 784 grey values (0-255) from `offset` of `grey`: a decoded digit, or a test image
    paintImage(grey, offset = 0) {
      const rgba = this.pixels.data;
      for (let i = 0; i < 784; i++) {
        const j = 4 * i;
        rgba[j] = rgba[j + 1] = rgba[j + 2] = grey[offset + i];
        rgba[j + 3] = 255;
      }
      this.ctx.putImageData(this.pixels, 0, 0);
    }

    fetch(url) {
      if (this.busy) { this.next = url; return; }
      this.busy = true;
      this.img.onload = this.img.onerror = () => {
        this.busy = false;
        if (this.next) { const next = this.next; this.next = null; this.fetch(next); }
      };
      this.img.src = url;
    }

    // which of the two shows: the canvas (decoded here) or the server's image
    show(local) {
      this.canvas.style.display = local ? 'block' : 'none';
      if (this.img) this.img.style.display = local ? 'none' : 'block';
    }
  }
  return Digit;
});
