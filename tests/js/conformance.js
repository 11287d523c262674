/* conformance.js: decode latent codes with web/decoder.js, for tests/test_decoder_js.py to
 * compare against torch. Not a test file: `node --test tests/js/` only runs *.test.js,
 * test-*.js, *-test.js, *_test.js, test.js and files under a test/ folder, none of which
 * this is.
 *
 *   node tests/js/conformance.js CHECKPOINT.safetensors Z.json
 *
 * Z.json holds [z, ...], each latent_dim numbers. Prints a JSON array with one string per code: the 784 bytes of
 * decodeUint8 (row-major 28x28), base64-encoded. Exit status 1 with the error on stderr when
 * the checkpoint cannot be decoded here.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { parseSafetensors, buildDecoder } = require(path.join(__dirname, '..', '..', 'web',
                                                             'decoder.js'));

const [checkpoint, zFile] = process.argv.slice(2);
if (!checkpoint || !zFile) {
  console.error('usage: node tests/js/conformance.js CHECKPOINT.safetensors Z.json');
  process.exit(2);
}
try {
  const decoder = buildDecoder(parseSafetensors(fs.readFileSync(checkpoint)));
  const codes = JSON.parse(fs.readFileSync(zFile, 'utf8'));
  const out = new Uint8ClampedArray(784);
  const images = codes.map((z) => Buffer.from(decoder.decodeUint8(z, out)).toString('base64'));
  process.stdout.write(JSON.stringify(images) + '\n');
} catch (e) {
  console.error(`conformance.js: ${e.message}`);
  process.exit(1);
}
