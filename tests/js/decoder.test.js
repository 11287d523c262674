/* Tests of web/decoder.js under node's built-in test runner (Node 20+):
 *
 *   node --test tests/js/
 *
 * The safetensors parser (F32, F16, BF16, metadata, malformed files), one transposed conv
 * against values worked out by hand and a multi-channel one against its definition, and the
 * decoder built from a shipped checkpoint (and refusing what it cannot run). Conformance with
 * torch on every shipped model is tests/test_decoder_js.py's job.
 */
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { parseSafetensors, buildDecoder, convTranspose } =
  require(path.join(__dirname, '..', '..', 'web', 'decoder.js'));

const CHECKPOINT = path.join(__dirname, '..', '..', 'pretrained', 'mnist_vae_beta4.safetensors');

/** A .safetensors file: {name: [dtype, shape, bytes]} and string metadata -> Buffer. */
function safetensors(tensors, metadata) {
  const header = {}, chunks = [];
  let offset = 0;
  for (const [name, [dtype, shape, bytes]] of Object.entries(tensors)) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(Buffer.from(bytes));
    offset += bytes.length;
  }
  if (metadata) header.__metadata__ = metadata;
  return withHeader(JSON.stringify(header), Buffer.concat(chunks));
}

function withHeader(json, data) {
  const head = Buffer.from(json.padEnd(Math.ceil(json.length / 8) * 8, ' '));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  return Buffer.concat([len, head, data]);
}

const f32 = (values) => new Uint8Array(new Float32Array(values).buffer);
const u16 = (values) => new Uint8Array(new Uint16Array(values).buffer);  // a little-endian host

test('parses F32, F16 and BF16 tensors and JSON metadata', () => {
  const file = safetensors({
    a: ['F32', [2, 3], f32([1, -2, 3.5, 0, 1e-3, -7])],
    // 1.5, -2, 2^-14 (smallest normal), 2^-24 (smallest subnormal), 65504 (largest), -inf
    h: ['F16', [6], u16([0x3e00, 0xc000, 0x0400, 0x0001, 0x7bff, 0xfc00])],
    b: ['BF16', [1, 2], u16([0x3f80, 0xc020])],  // 1, -2.5
  }, { config: JSON.stringify({ kind: 'vae', channels: [16, 32] }), note: 'not json' });
  const { metadata, tensors } = parseSafetensors(file);
  assert.deepStrictEqual(metadata,
                         { config: { kind: 'vae', channels: [16, 32] }, note: 'not json' });
  assert.deepStrictEqual(Object.keys(tensors).sort(), ['a', 'b', 'h']);
  assert.deepStrictEqual(tensors.a.shape, [2, 3]);
  assert.strictEqual(tensors.a.dtype, 'F32');
  assert.ok(tensors.a.data instanceof Float32Array);
  assert.deepStrictEqual(Array.from(tensors.a.data),
                         Array.from(new Float32Array([1, -2, 3.5, 0, 1e-3, -7])));
  assert.deepStrictEqual(Array.from(tensors.h.data),
                         [1.5, -2, 2 ** -14, 2 ** -24, 65504, -Infinity]);
  assert.deepStrictEqual(tensors.b.shape, [1, 2]);
  assert.deepStrictEqual(Array.from(tensors.b.data), [1, -2.5]);
  // an ArrayBuffer does as well as a node Buffer (which may sit at an offset in a shared pool)
  const copy = new Uint8Array(file).buffer;
  assert.deepStrictEqual(Array.from(parseSafetensors(copy).tensors.h.data),
                         Array.from(tensors.h.data));
});

test('a malformed file throws, saying what is wrong', () => {
  const good = { a: ['F32', [2], f32([1, 2])] };
  const one = (dtype, shape, end) =>  // one tensor over 8 bytes of data
    withHeader(JSON.stringify({ a: { dtype, shape, data_offsets: [0, end] } }), Buffer.alloc(8));
  const cases = [
    [Buffer.alloc(4), /too short/],
    [Buffer.concat([Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0]), Buffer.alloc(16)]),
     /header length 255 runs past the end/],
    [withHeader('{"a": {', Buffer.alloc(0)), /not valid JSON/],
    [withHeader('[1, 2]', Buffer.alloc(0)), /not a JSON object/],
    [one('Q4', [2], 8), /unknown dtype "Q4"/],
    [one('F32', [2], 16), /data_offsets \[0,16\] out of range/],
    [one('F32', [3], 8), /8 bytes of data for shape \[3\]/],
    [one('F32', [-2], 8), /bad shape/],
    ['not a buffer', /expected an ArrayBuffer/],
  ];
  assert.doesNotThrow(() => parseSafetensors(safetensors(good)));
  for (const [bytes, message] of cases) assert.throws(() => parseSafetensors(bytes), message);
});

test('a transposed conv (stride 2, padding 1, output_padding 1) matches a hand computation', () => {
  // in = [[1, 2], [3, 4]], kernel = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], bias 0.5. Each input
  // pixel (iy, ix) stamps in * kernel at rows 2iy..2iy+2, cols 2ix..2ix+2 of a 5x5 canvas;
  // padding 1 drops the first row and column, output_padding 1 keeps the 5th: out = canvas[1:5,
  // 1:5]. E.g. out[1][1] = canvas[2][2] = 1*9 + 2*7 + 3*3 + 4*1 = 36, out[0][0] = 1*5 = 5.
  const weight = { shape: [1, 1, 3, 3], data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
  const bias = { shape: [1], data: new Float32Array([0.5]) };
  const out = convTranspose(weight, bias, 2, new Float64Array([1, 2, 3, 4]));
  assert.strictEqual(out.side, 4);
  assert.deepStrictEqual(Array.from(out.data), [
    5.5, 14.5, 10.5, 12.5,
    14.5, 36.5, 24.5, 30.5,
    15.5, 34.5, 20.5, 24.5,
    24.5, 55.5, 32.5, 36.5]);
});

test('a multi-channel transposed conv matches its definition (channel-last in and out)', () => {
  const cin = 3, cout = 5, k = 3, side = 4, outSide = 8;  // 5 outputs: a block of 4 and one more
  const rnd = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  const w = rnd(cin * cout * k * k), b = rnd(cout), x = Float64Array.from(rnd(side * side * cin));
  const want = new Float64Array(outSide * outSide * cout);
  for (let p = 0; p < outSide * outSide; p++) want.set(b, p * cout);
  // scatter: out[iy*2 - 1 + ky][ix*2 - 1 + kx][co] += x[iy][ix][ci] * w[ci][co][ky][kx]
  for (let iy = 0; iy < side; iy++) for (let ix = 0; ix < side; ix++)
    for (let ci = 0; ci < cin; ci++) for (let co = 0; co < cout; co++)
      for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) {
        const oy = iy * 2 - 1 + ky, ox = ix * 2 - 1 + kx;
        if (oy < 0 || ox < 0 || oy >= outSide || ox >= outSide) continue;
        want[(oy * outSide + ox) * cout + co] +=
          x[(iy * side + ix) * cin + ci] * w[((ci * cout + co) * k + ky) * k + kx];
      }
  const got = convTranspose({ shape: [cin, cout, k, k], data: w }, { shape: [cout], data: b },
                            side, x);
  assert.strictEqual(got.side, outSide);
  got.data.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-12, `${i}: ${v} != ${want[i]}`));
});

test('the shipped checkpoint decodes to 784 probabilities; decodeUint8 rounds them', (t) => {
  const parsed = parseSafetensors(fs.readFileSync(CHECKPOINT));
  const decoder = buildDecoder(parsed);
  assert.strictEqual(decoder.config.hidden, 304);
  assert.strictEqual(decoder.params, 669361);  // the decoder half of the 1,337,797
  const p = decoder.decode([0.3, -0.7]);
  assert.ok(p instanceof Float32Array);
  assert.strictEqual(p.length, 784);
  assert.ok(p.every((v) => v >= 0 && v <= 1));
  assert.ok(p.some((v) => v > 0.5) && p.some((v) => v < 0.01), 'a digit: some ink, some paper');
  const probs = Float32Array.from(p);
  const u = decoder.decodeUint8([0.3, -0.7]);
  assert.ok(u instanceof Uint8ClampedArray);
  assert.strictEqual(u.length, 784);
  u.forEach((v, i) => assert.ok(Math.abs(v - probs[i] * 255) <= 0.5, `pixel ${i}`));
  // no allocation per decode: the same buffer comes back, unless one is given
  assert.strictEqual(decoder.decode([1, 1]), p);
  const mine = new Uint8ClampedArray(784);
  assert.strictEqual(decoder.decodeUint8([0.3, -0.7], mine), mine);
  assert.deepStrictEqual(mine, u);

  const n = 1000, start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) decoder.decodeUint8([Math.sin(i) * 3, Math.cos(i * 1.3) * 3]);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  t.diagnostic(`${n} decodes in ${ms.toFixed(0)} ms: ${(1000 * ms / n).toFixed(0)} us a digit`);
});

test('a decoder it cannot run is refused, saying so', () => {
  const parsed = parseSafetensors(fs.readFileSync(CHECKPOINT));
  const withConfig = (change) =>
    ({ metadata: { ...parsed.metadata, config: { ...parsed.metadata.config, ...change } },
       tensors: parsed.tensors });
  const without = (name) => {
    const tensors = { ...parsed.tensors };
    delete tensors[name];
    return { metadata: parsed.metadata, tensors };
  };
  const reshaped = (name, shape) => ({ metadata: parsed.metadata, tensors: {
    ...parsed.tensors, [name]: { ...parsed.tensors[name], shape } } });
  const cases = [
    [withConfig({ activation: 'relu' }), /not supported.*activation "relu"/],
    [withConfig({ kind: 'gaussian' }), /not supported.*kind "gaussian"/],
    [withConfig({ latent_dim: 0 }), /not supported.*latent_dim 0/],
    [withConfig({ latent_dim: 3 }), /not supported/],  // the first Linear takes 2 inputs
    [withConfig({ depth: 2 }), /not supported.*4 Linear layers for depth 2/],
    [withConfig({ hidden: 400 }), /not supported.*config hidden is 400/],
    [withConfig({ channels: [32, 64] }), /not supported.*channels 16,32 differ/],
    [{ metadata: {}, tensors: parsed.tensors }, /not supported.*no "config"/],
    [without('model.decoder.6.bias'), /not supported.*layer 6 lacks its bias/],
    [without('model.decoder.11.weight'), /not supported/],
    [reshaped('model.decoder.2.weight', [304, 152, 2]), /not supported.*2-D.*4-D/],
    [reshaped('model.decoder.2.bias', [303]), /not supported.*Linear 2 is mis-shaped/],
  ];
  for (const [bad, message] of cases) assert.throws(() => buildDecoder(bad), message);
});
