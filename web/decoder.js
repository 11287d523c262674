/* decoder.js: the Latent Space Navigator's VAE decoder, run in the page (and under node).
 *
 * Why hand-written: the decoder is a small MLP and two transposed convs, about 0.9M multiply-adds
 * per 28x28 digit, which plain JavaScript does in about a millisecond (1.1 to 2.4 ms measured
 * under node on the project's slow 2-core VM), well inside one animation frame. One plain
 * script (about 20 KB, most of it comments) replaces the ~14 MB onnxruntime-web wasm bundle
 * and its build step; the weights come straight from the server's decoder-only (maybe float16)
 * safetensors file.
 *
 * The network mirrors VAE.decoder in neural_network.py (torch nn.Sequential indices):
 *   Linear(latent_dim, hidden), SiLU, [Linear(hidden, hidden), SiLU] * (depth - 1),
 *   Linear(hidden, c2 * s * s), SiLU, Unflatten(1, (c2, s, s)),
 *   ConvTranspose2d(c2, c1, k), SiLU, ConvTranspose2d(c1, 1, k), then sigmoid.
 * It is built from the checkpoint's config and tensor shapes; anything else is refused with an
 * Error whose message says "not supported", and the page then decodes on the server.
 *
 * Classic script, no dependencies: in a browser it defines window.LSNDecoder; under node
 * require("web/decoder.js") returns the same object. Tested by `node --test tests/js/` and,
 * against torch, by `pytest -m js tests/test_decoder_js.py`.
 *
 *   const parsed = LSNDecoder.parseSafetensors(arrayBuffer);
 *   const dec = LSNDecoder.buildDecoder(parsed);
 *   const p = dec.decode([x, y]);        // z, latent_dim numbers -> Float32Array(784), pixel
 *                                        // probabilities, row-major
 *   const u8 = dec.decodeUint8(z);       // Uint8ClampedArray(784) = round_half_even(p * 255)
 * decode and decodeUint8 return the same buffer each call unless `out` is given: copy to keep.
 */
(function (root, factory) {
  var api = factory();
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.LSNDecoder = api;
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  // ---- safetensors ------------------------------------------------------------------------

  var LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  var DTYPE_BYTES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, U64: 8, I32: 4, U32: 4,
                      I16: 2, U16: 2, I8: 1, U8: 1, BOOL: 1 };

  var halfTable = null;

  function halfToFloat(h) {
    var s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e === 0) return s * m * 5.960464477539063e-8;            // subnormal: m * 2^-24
    if (e === 31) return m ? NaN : s * Infinity;
    return s * (1 + m / 1024) * Math.pow(2, e - 15);
  }

  // bytes [Uint8Array, a fresh copy] of one tensor -> Float32Array
  function toFloat32(dtype, bytes, n) {
    var out = new Float32Array(n), dv = new DataView(bytes.buffer), i;
    if (dtype === 'F32') {
      if (LITTLE_ENDIAN) return new Float32Array(bytes.buffer, 0, n);
      for (i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
    } else if (dtype === 'F16') {
      if (!halfTable) {  // built once: cheaper than a branchy conversion per element
        halfTable = new Float32Array(65536);
        for (i = 0; i < 65536; i++) halfTable[i] = halfToFloat(i);
      }
      var table = halfTable;
      for (i = 0; i < n; i++) out[i] = table[dv.getUint16(2 * i, true)];
    } else if (dtype === 'BF16') {
      var bits = new Uint32Array(out.buffer);  // bfloat16 is the top half of a float32
      for (i = 0; i < n; i++) bits[i] = dv.getUint16(2 * i, true) << 16;
    } else {
      for (i = 0; i < n; i++) {
        switch (dtype) {
          case 'F64': out[i] = dv.getFloat64(8 * i, true); break;
          case 'I64': out[i] = Number(dv.getBigInt64(8 * i, true)); break;
          case 'U64': out[i] = Number(dv.getBigUint64(8 * i, true)); break;
          case 'I32': out[i] = dv.getInt32(4 * i, true); break;
          case 'U32': out[i] = dv.getUint32(4 * i, true); break;
          case 'I16': out[i] = dv.getInt16(2 * i, true); break;
          case 'U16': out[i] = dv.getUint16(2 * i, true); break;
          case 'I8': out[i] = dv.getInt8(i); break;
          default: out[i] = bytes[i];  // U8, BOOL
        }
      }
    }
    return out;
  }

  /** ArrayBuffer (or a typed array / node Buffer over one) of a .safetensors file ->
   * {metadata: {key: JSON-parsed value (the raw string where it is not JSON)},
   *  tensors: {name: {dtype, shape, data: Float32Array}}}. Every tensor is converted to float32
   * (F16 and BF16 exactly). A malformed file throws an Error saying what is wrong. */
  function parseSafetensors(buffer) {
    var bytes;
    // by tag rather than instanceof, so that a buffer from another realm (a frame) does too
    if (Object.prototype.toString.call(buffer) === '[object ArrayBuffer]')
      bytes = new Uint8Array(buffer);
    else if (buffer && ArrayBuffer.isView(buffer))
      bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    else throw new Error('safetensors: expected an ArrayBuffer or a typed array');
    var size = bytes.length;
    if (size < 8) throw new Error('safetensors: file too short (' + size + ' bytes, the header ' +
                                  'length alone takes 8)');
    var dv = new DataView(bytes.buffer, bytes.byteOffset, size);
    var lo = dv.getUint32(0, true), hi = dv.getUint32(4, true);
    var headerLen = hi * 4294967296 + lo;
    if (headerLen > size - 8)
      throw new Error('safetensors: header length ' + headerLen + ' runs past the end of the ' +
                      'file (' + size + ' bytes; truncated, or not a safetensors file)');
    var header;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true })
        .decode(bytes.subarray(8, 8 + headerLen)));
    } catch (e) {
      throw new Error('safetensors: header is not valid JSON (' + e.message + ')');
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header))
      throw new Error('safetensors: header is not a JSON object');
    var dataStart = 8 + headerLen, dataLen = size - dataStart;
    var metadata = {}, tensors = {};
    var raw = header.__metadata__ || {};
    Object.keys(raw).forEach(function (k) {
      try { metadata[k] = JSON.parse(raw[k]); } catch (e) { metadata[k] = raw[k]; }
    });
    Object.keys(header).forEach(function (name) {
      if (name === '__metadata__') return;
      var t = header[name], where = 'safetensors: tensor ' + JSON.stringify(name) + ': ';
      if (!t || typeof t !== 'object') throw new Error(where + 'entry is not an object');
      if (!Object.prototype.hasOwnProperty.call(DTYPE_BYTES, t.dtype))
        throw new Error(where + 'unknown dtype ' + JSON.stringify(t.dtype));
      if (!Array.isArray(t.shape) || !t.shape.every(function (d) {
        return Number.isInteger(d) && d >= 0; }))
        throw new Error(where + 'bad shape ' + JSON.stringify(t.shape));
      var off = t.data_offsets;
      if (!Array.isArray(off) || off.length !== 2 || !Number.isInteger(off[0]) ||
          !Number.isInteger(off[1]) || off[0] < 0 || off[1] < off[0] || off[1] > dataLen)
        throw new Error(where + 'data_offsets ' + JSON.stringify(off) + ' out of range (data ' +
                        'section is ' + dataLen + ' bytes)');
      var n = t.shape.reduce(function (a, b) { return a * b; }, 1);
      if (off[1] - off[0] !== n * DTYPE_BYTES[t.dtype])
        throw new Error(where + (off[1] - off[0]) + ' bytes of data for shape ' +
                        JSON.stringify(t.shape) + ' of ' + t.dtype + ' (want ' +
                        n * DTYPE_BYTES[t.dtype] + ')');
      var copy = bytes.slice(dataStart + off[0], dataStart + off[1]);  // fresh, aligned
      tensors[name] = { dtype: t.dtype, shape: t.shape.slice(), data: toFloat32(t.dtype, copy, n) };
    });
    return { metadata: metadata, tensors: tensors };
  }

  // ---- the decoder ------------------------------------------------------------------------

  // ConvTranspose2d as in VAE.decoder: stride 2, padding 1, output_padding 1 are the
  // architecture (neural_network.py), not read from the file. The output side is
  // (in - 1) * 2 - 2 * 1 + k + 1 (k = 3: 7 -> 14 -> 28).
  var STRIDE = 2, PADDING = 1, OUTPUT_PADDING = 1;

  function unsupported(msg) {
    return new Error('decoder not supported in the browser: ' + msg);
  }

  function shapeIs(t, shape) {
    return t.shape.length === shape.length &&
      t.shape.every(function (d, i) { return d === shape[i]; });
  }

  /** The gather form of a transposed conv, precomputed: for output pixel o the input pixels
   * and kernel positions that reach it, as flat tap lists (start[o] .. start[o + 1]).
   * out[o][co] = bias[co] + sum over taps (i, kk) and ci of in[i][ci] * w[ci][co][kk]. */
  function convTaps(side, k) {
    var outSide = (side - 1) * STRIDE - 2 * PADDING + k + OUTPUT_PADDING;
    var start = new Int32Array(outSide * outSide + 1), ins = [], kks = [];
    for (var oy = 0; oy < outSide; oy++) {
      for (var ox = 0; ox < outSide; ox++) {
        for (var ky = 0; ky < k; ky++) {
          var ty = oy + PADDING - ky;  // = iy * STRIDE
          if (ty < 0 || ty % STRIDE || ty / STRIDE >= side) continue;
          for (var kx = 0; kx < k; kx++) {
            var tx = ox + PADDING - kx;
            if (tx < 0 || tx % STRIDE || tx / STRIDE >= side) continue;
            ins.push((ty / STRIDE) * side + tx / STRIDE);
            kks.push(ky * k + kx);
          }
        }
        start[oy * outSide + ox + 1] = ins.length;
      }
    }
    return { outSide: outSide, start: start, ins: Int32Array.from(ins), kks: Int32Array.from(kks) };
  }

  /** A transposed conv layer on channel-last activations ([pixel][channel]). The weight
   * [cin, cout, k, k] is stored as [k*k][cout][cin] so that the inner loop over cin reads both
   * arrays contiguously. */
  function makeConv(weight, bias, side) {
    var cin = weight.shape[0], cout = weight.shape[1], k = weight.shape[2], kk = k * k;
    var taps = convTaps(side, k), w = new Float32Array(cin * cout * kk), src = weight.data;
    for (var ci = 0; ci < cin; ci++)
      for (var co = 0; co < cout; co++)
        for (var q = 0; q < kk; q++)
          w[(q * cout + co) * cin + ci] = src[(ci * cout + co) * kk + q];
    return { cin: cin, cout: cout, k: k, side: side, outSide: taps.outSide, w: w,
             b: bias.data, start: taps.start, ins: taps.ins, kks: taps.kks };
  }

  // Both loops below work on four outputs at a time: each input value is loaded once for four
  // multiply-adds (1.5x faster in V8 than one output at a time). Each output's sum still runs
  // in input order, so blocking changes no result.
  function runConv(L, x, y) {
    var cin = L.cin, cout = L.cout, w = L.w, b = L.b, start = L.start, ins = L.ins, kks = L.kks;
    var nOut = L.outSide * L.outSide, cout4 = cout - cout % 4, t, ci, xi, wi, co;
    for (var o = 0; o < nOut; o++) {
      var t0 = start[o], t1 = start[o + 1], yo = o * cout;
      for (co = 0; co < cout4; co += 4) {
        var a0 = b[co], a1 = b[co + 1], a2 = b[co + 2], a3 = b[co + 3];
        for (t = t0; t < t1; t++) {
          xi = ins[t] * cin;
          wi = (kks[t] * cout + co) * cin;
          for (ci = 0; ci < cin; ci++) {
            var v = x[xi + ci], w0 = wi + ci;
            a0 += v * w[w0];
            a1 += v * w[w0 + cin];
            a2 += v * w[w0 + 2 * cin];
            a3 += v * w[w0 + 3 * cin];
          }
        }
        y[yo + co] = a0; y[yo + co + 1] = a1; y[yo + co + 2] = a2; y[yo + co + 3] = a3;
      }
      for (; co < cout; co++) {
        var acc = b[co];
        for (t = t0; t < t1; t++) {
          xi = ins[t] * cin;
          wi = (kks[t] * cout + co) * cin;
          for (ci = 0; ci < cin; ci++) acc += x[xi + ci] * w[wi + ci];
        }
        y[yo + co] = acc;
      }
    }
  }

  function runLinear(L, x, y) {
    var nin = L.nin, nout = L.nout, w = L.w, b = L.b, nout4 = nout - nout % 4, o, i;
    for (o = 0; o < nout4; o += 4) {
      var r0 = o * nin, r1 = r0 + nin, r2 = r1 + nin, r3 = r2 + nin;
      var a0 = b[o], a1 = b[o + 1], a2 = b[o + 2], a3 = b[o + 3];
      for (i = 0; i < nin; i++) {
        var v = x[i];
        a0 += w[r0 + i] * v;
        a1 += w[r1 + i] * v;
        a2 += w[r2 + i] * v;
        a3 += w[r3 + i] * v;
      }
      y[o] = a0; y[o + 1] = a1; y[o + 2] = a2; y[o + 3] = a3;
    }
    for (; o < nout; o++) {
      var acc = b[o];
      for (i = 0, r0 = o * nin; i < nin; i++) acc += w[r0 + i] * x[i];
      y[o] = acc;
    }
  }

  function silu(a, n) {
    for (var i = 0; i < n; i++) { var v = a[i]; a[i] = v / (1 + Math.exp(-v)); }
  }

  /** {metadata, tensors} from parseSafetensors -> {decode, decodeUint8, config, params, ...}.
   * Throws an Error saying "not supported" when the checkpoint is not a decoder this code runs. */
  function buildDecoder(parsed) {
    if (!parsed || !parsed.tensors || !parsed.metadata)
      throw unsupported('expected the {metadata, tensors} of parseSafetensors');
    var cfg = parsed.metadata.config;
    if (!cfg || typeof cfg !== 'object') throw unsupported('the file has no "config" metadata');
    if (cfg.kind !== 'vae' && cfg.kind !== 'ae')
      throw unsupported('model kind ' + JSON.stringify(cfg.kind) + ' (only "vae" and "ae")');
    if (cfg.activation !== 'silu')
      throw unsupported('activation ' + JSON.stringify(cfg.activation) + ' (only "silu")');
    if (!Number.isInteger(cfg.latent_dim) || cfg.latent_dim < 1)
      throw unsupported('latent_dim ' + JSON.stringify(cfg.latent_dim));
    var depth = cfg.depth, hidden = cfg.hidden;
    if (!Number.isInteger(depth) || depth < 1 || !Number.isInteger(hidden) || hidden < 1)
      throw unsupported('config depth ' + JSON.stringify(depth) + ', hidden ' +
                        JSON.stringify(hidden));

    // The decoder's tensors by Sequential index: model.decoder.N.weight / .bias
    var byIndex = {}, names = Object.keys(parsed.tensors);
    names.forEach(function (name) {
      var m = /^(?:model\.)?decoder\.(\d+)\.(weight|bias)$/.exec(name);
      if (!m) return;
      (byIndex[m[1]] = byIndex[m[1]] || {})[m[2]] = parsed.tensors[name];
    });
    var indices = Object.keys(byIndex).map(Number).sort(function (a, b) { return a - b; });
    if (!indices.length) throw unsupported('no model.decoder.* tensors in the file');
    var layers = indices.map(function (i) {
      var p = byIndex[i];
      if (!p.weight || !p.bias) throw unsupported('decoder layer ' + i + ' lacks its ' +
                                                  (p.weight ? 'bias' : 'weight'));
      return { index: i, weight: p.weight, bias: p.bias };
    });
    var linears = layers.filter(function (l) { return l.weight.shape.length === 2; });
    var convs = layers.filter(function (l) { return l.weight.shape.length === 4; });
    if (linears.length + convs.length !== layers.length)
      throw unsupported('decoder weights must be 2-D (Linear) or 4-D (ConvTranspose2d)');
    if (linears.length !== depth + 1)
      throw unsupported(linears.length + ' Linear layers for depth ' + depth + ' (want ' +
                        (depth + 1) + ')');
    if (!convs.length) throw unsupported('no ConvTranspose2d layers');
    // Linear, act pairs, then Unflatten, then conv, act, conv: the torch Sequential's indices
    var want = [];
    for (var i = 0; i <= depth; i++) want.push(2 * i);
    for (var j = 0; j < convs.length; j++) want.push(2 * depth + 3 + 2 * j);
    if (indices.join() !== want.join())
      throw unsupported('decoder layer indices ' + indices.join(',') + ' (want ' + want.join(',') +
                        ')');

    var params = 0, net = { linears: [], convs: [] }, nin = cfg.latent_dim;
    linears.forEach(function (l, i) {
      var nout = l.weight.shape[0];
      if (i < depth && nout !== hidden)
        throw unsupported('Linear ' + l.index + ' has ' + nout + ' outputs, config hidden is ' +
                          hidden);
      if (!shapeIs(l.weight, [nout, nin]) || !shapeIs(l.bias, [nout]))
        throw unsupported('Linear ' + l.index + ' is mis-shaped: weight [' + l.weight.shape +
                          '], bias [' + l.bias.shape + '], input ' + nin);
      net.linears.push({ nin: nin, nout: nout, w: l.weight.data, b: l.bias.data });
      params += l.weight.data.length + l.bias.data.length;
      nin = nout;
    });
    // Unflatten(1, (c, side, side)): side from the first conv's input channels
    var c = convs[0].weight.shape[0], side = Math.round(Math.sqrt(nin / c));
    if (side < 1 || c * side * side !== nin)
      throw unsupported('the last Linear gives ' + nin + ' values, not ' + c + ' x side x side');
    if (Array.isArray(cfg.channels)) {
      var chans = convs.map(function (l) { return l.weight.shape[0]; }).reverse();
      if (chans.join() !== cfg.channels.join())
        throw unsupported('conv channels ' + chans.join(',') + ' differ from config channels ' +
                          cfg.channels.join(','));
    }
    // The flat Linear output is channel-first (c, y, x); the convs run channel-last, so permute
    // the last Linear's rows once here instead of the activations on every decode.
    var last = net.linears[depth], pw = new Float32Array(last.w.length), pb = new Float32Array(nin);
    for (var ch = 0; ch < c; ch++) {
      for (var px = 0; px < side * side; px++) {
        var from = ch * side * side + px, to = px * c + ch;
        pw.set(last.w.subarray(from * last.nin, (from + 1) * last.nin), to * last.nin);
        pb[to] = last.b[from];
      }
    }
    net.linears[depth] = { nin: last.nin, nout: last.nout, w: pw, b: pb };
    convs.forEach(function (l) {
      var s = l.weight.shape;
      if (s[0] !== c || s[2] !== s[3] || s[2] < 1 || !shapeIs(l.bias, [s[1]]))
        throw unsupported('ConvTranspose2d ' + l.index + ' is mis-shaped: weight [' + s +
                          '], bias [' + l.bias.shape + '], input channels ' + c);
      var layer = makeConv(l.weight, l.bias, side);
      net.convs.push(layer);
      params += l.weight.data.length + l.bias.data.length;
      c = layer.cout;
      side = layer.outSide;
    });
    if (c !== 1 || side !== 28)
      throw unsupported('the decoder gives ' + c + ' x ' + side + ' x ' + side +
                        ', not 1 x 28 x 28');

    // Every buffer once, here: decode allocates nothing.
    var bufs = net.linears.map(function (l) { return new Float64Array(l.nout); });
    net.convs.forEach(function (l) {
      bufs.push(new Float64Array(l.outSide * l.outSide * l.cout));
    });
    var z = new Float64Array(cfg.latent_dim), probs = new Float32Array(784), pixels = new Uint8ClampedArray(784);
    var nLin = net.linears.length, nConv = net.convs.length;

    function forward(code) {
      for (var k = 0; k < z.length; k++) z[k] = code[k];
      var a = z;
      for (var i = 0; i < nLin; i++) {  // every Linear, the last included, is followed by SiLU
        runLinear(net.linears[i], a, bufs[i]);
        a = bufs[i];
        silu(a, a.length);
      }
      for (var j = 0; j < nConv; j++) {
        runConv(net.convs[j], a, bufs[nLin + j]);
        a = bufs[nLin + j];
        if (j < nConv - 1) silu(a, a.length);
      }
      return a;  // logits, 784 (one channel, so channel-last is row-major)
    }

    /** z (latent_dim numbers) -> Float32Array(784) pixel probabilities, row-major 28x28. */
    function decode(code, out) {
      var logits = forward(code), p = out || probs;
      for (var i = 0; i < 784; i++) p[i] = 1 / (1 + Math.exp(-logits[i]));
      return p;
    }

    /** z -> Uint8ClampedArray(784) = (p * 255).round() as torch does it: in float32, halves
     * to even. */
    function decodeUint8(code, out) {
      var logits = forward(code), u = out || pixels;
      for (var i = 0; i < 784; i++) {
        var v = Math.fround(Math.fround(1 / (1 + Math.exp(-logits[i]))) * 255);
        var r = Math.round(v);  // halves up; a half that lands on an odd number goes back one
        if (r - v === 0.5 && (r & 1)) r -= 1;
        u[i] = r;
      }
      return u;
    }

    return { decode: decode, decodeUint8: decodeUint8, config: cfg, params: params,
             size: 28, channels: net.convs.map(function (l) { return l.cin; }) };
  }

  return { parseSafetensors: parseSafetensors, buildDecoder: buildDecoder, halfToFloat: halfToFloat,
           // exposed for the tests: one transposed conv on a channel-last input
           convTranspose: function (weight, bias, side, input) {
             var L = makeConv(weight, bias, side);
             var out = new Float64Array(L.outSide * L.outSide * L.cout);
             runConv(L, input, out);
             return { side: L.outSide, channels: L.cout, data: out };
           } };
});
