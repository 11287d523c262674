/* The navigator's pure parts under node's test runner (run by tests/test_decoder_js.py, or
 * `node --test tests/js/`): typed numbers (web/numbers.js), the z text's vote (web/nearest.js),
 * the address (web/address.js) and the map's geometry (web/map.js). */
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const numbers = require('../../web/numbers.js');
const nearest = require('../../web/nearest.js');
const address = require('../../web/address.js');
const map = require('../../web/map.js');

test('a box accepts partial input while typing and names a non-number', () => {
  for (const t of ['', '-', '+', '.', '-.', '1e', '1e-', '-0.']) {
    assert.ok(!numbers.read(t).bad, t);
  }
  for (const t of ['', '-', '1e', '1e-']) assert.deepStrictEqual(numbers.read(t), {partial: true}, t);
  assert.deepStrictEqual(numbers.read('-0.25'), {value: -0.25});
  assert.deepStrictEqual(numbers.read(' 3 '), {value: 3});
  assert.deepStrictEqual(numbers.read('1e2'), {value: 100});
  for (const t of ['abc', '1-', '--1', '1e999', '0x10', 'NaN', 'Infinity', '1,5']) {
    assert.deepStrictEqual(numbers.read(t), {bad: true}, t);
  }
});

test('the z text is the vote of the 15 nearest codes', () => {
  // 20 codes of class 1 near (1, 1), 20 of class 0 near (-1, -1), one of class 2 at (0.9, 0.9)
  const mu = [], labels = [];
  for (let i = 0; i < 20; i++) { mu.push(1 + i * 0.01, 1); labels.push(1); }
  for (let i = 0; i < 20; i++) { mu.push(-1 - i * 0.01, -1); labels.push(0); }
  mu.push(0.9, 0.9); labels.push(2);
  const atlas = {mu: Float32Array.from(mu), labels: Uint8Array.from(labels),
                 classes: ['zero', 'one', 'two'], noun: 'digits'};
  assert.deepStrictEqual(nearest.vote(atlas.mu, atlas.labels, 3, [1, 1]).slice(0, 2), [1, 15]);
  assert.deepStrictEqual(nearest.vote(atlas.mu, atlas.labels, 3, [0.95, 0.95], 3).slice(0, 2), [1, 2]);
  // the third: the distance to the k-th nearest (here the 15th of class 1's row, 0.14 away)
  assert.ok(Math.abs(nearest.vote(atlas.mu, atlas.labels, 3, [1, 1])[2] - 0.14) < 1e-6);
  assert.strictEqual(nearest.zText([0.5, 0.804], atlas),
                     'z = (+0.50, +0.80)   14 of the 15 nearest test digits: one');
  assert.strictEqual(nearest.zText([0.5, -1.234], null), 'z = (+0.50, -1.23)');
});

test('how near the data z lies: the 15th nearest code against the codes\' own, off beyond their p99', () => {
  const mu = [], labels = [];
  for (let i = 0; i < 30; i++) { mu.push(i * 0.1, 0, 0); labels.push(i % 2); }
  const atlas = {mu: Float32Array.from(mu), labels: Uint8Array.from(labels), classes: ['a', 'b'],
                 nearness: {k: 15, median: 0.8, p99: 1.5}};
  const near = nearest.near([0, 0, 0], atlas);  // the 15th nearest is the code at 1.4
  assert.ok(Math.abs(near.distance - 1.4) < 1e-6 && !near.off);
  assert.strictEqual(near.text, '15th nearest test code 1.40 away (typically 0.80)');
  const far = nearest.near([0, 5, 0], atlas);
  assert.ok(far.off && far.text.includes('off the data'));
  assert.strictEqual(nearest.near([0, 0, 0], {...atlas, nearness: undefined}), null);
});

test('the address names the model and z, and a shared one opens as a query', () => {
  assert.strictEqual(address.fragment('mnist_ae', [20, 10.5]), '#model=mnist_ae&x=20.00&y=10.50');
  assert.strictEqual(address.opened('#model=mnist_ae&x=20&y=10'), '?model=mnist_ae&x=20&y=10');
  assert.strictEqual(address.fragment('mnist_ae_d10', [1, -2, 0.5]), '#model=mnist_ae_d10&z=1.00%2C-2.00%2C0.50');
  assert.strictEqual(address.opened('#other'), null);
  assert.strictEqual(address.opened(''), null);
});

test('the map maps a pixel to z and back, clamps, and steps by key', () => {
  const g = {box: {left: 100, top: 50, width: 400, height: 200, right: 500, bottom: 250},
             xr: [-2, 2], yr: [-1, 1]};
  assert.deepStrictEqual(map.toZ(g, 100, 50), [-2, 1]);
  assert.deepStrictEqual(map.toZ(g, 300, 150), [0, 0]);
  assert.deepStrictEqual(map.toUV(g, [2, -1]), [1, 1]);
  const z = map.toZ(g, 123, 201);
  const [u, v] = map.toUV(g, z);
  assert.ok(Math.abs(100 + u * 400 - 123) < 1e-9 && Math.abs(50 + v * 200 - 201) < 1e-9);
  assert.ok(map.inside(g, 100, 250) && !map.inside(g, 99, 100) && !map.inside(null, 200, 100));
  assert.deepStrictEqual(map.clamp([-3, 3, -2, 2], [5, -2.345]), [3, -2]);
  assert.deepStrictEqual(map.clamp([-3, 3, -2, 2], [0.123, 1.987]), [0.12, 1.99]);
  assert.deepStrictEqual(map.keyStep([0, 10, 0, 20], [5, 5], 'ArrowRight', false), [5.1, 5]);
  assert.deepStrictEqual(map.keyStep([0, 10, 0, 20], [5, 5], 'ArrowUp', true), [5, 7]);
  assert.strictEqual(map.keyStep([0, 10, 0, 20], [5, 5], 'a', false), null);
});

test('an attribute arrow points along its move, kept between 30 and 110 px', () => {
  // 100 x 100 px showing z in [0, 10] x [0, 10]: 10 px a unit, y up
  const g = {box: {left: 0, top: 0, width: 100, height: 100}, xr: [0, 10], yr: [0, 10]};
  const at = [5, 5];  // the centre, pixel (50, 50)
  const ends = map.arrowEnds(g, at, [
    ['width', [5, 0], true],       // 50 px to the right: drawn as it is
    ['slant', [0, 0.5], false],    // 5 px up: lengthened to 30 px, its direction kept
    ['area', [-20, 0], true],      // 200 px to the left: shortened to 110 px
    ['height', [0, 0], true],      // no move (a flat or blank attribute): no arrow
  ], 100, 100);
  assert.deepStrictEqual(ends.map((e) => e[0]), ['width', 'slant', 'area']);
  const [w, s, a] = ends.map((e) => e[1]);
  assert.deepStrictEqual(w, [100, 50]);
  assert.ok(Math.abs(s[0] - 50) < 1e-9 && Math.abs(s[1] - 20) < 1e-9);
  assert.ok(Math.abs(a[0] - -60) < 1e-9 && a[1] === 50);
  assert.strictEqual(ends[1][2], false);  // unreliable: the page dashes it
});

test('the search box finds a test image by index and a class by name', () => {
  const digits = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
  assert.deepStrictEqual(map.findQuery('17', digits, 3000), {index: 17});
  assert.deepStrictEqual(map.findQuery(' #17 ', digits, 3000), {index: 17});
  assert.deepStrictEqual(map.findQuery('class 7', digits, 3000), {cls: 7});
  assert.deepStrictEqual(map.findQuery('sneaker', ['T-shirt/top', 'Sneaker'], 3000), {cls: 1});
  assert.match(map.findQuery('3000', digits, 3000).error, /#0 to #2999, not #3000/);
  assert.match(map.findQuery('class 12', digits, 3000).error, /no test image or class "12"/);
});

test('a dot is found within 6 px of the pointer, and not when its class is hidden', () => {
  const g = {box: {left: 0, top: 0, width: 100, height: 100}, xr: [0, 10], yr: [0, 10]};
  const atlas = {mu: [5, 5, 8, 8, 5.2, 5], labels: [0, 1, 1], classes: ['a', 'b'], mapPoints: 2};
  assert.strictEqual(map.dotAt(g, atlas, 51, 50), 0);  // pixel (50, 50); the third is off the map
  assert.strictEqual(map.dotAt(g, atlas, 80, 20), 1);
  assert.strictEqual(map.dotAt(g, atlas, 70, 50), -1);
  assert.strictEqual(map.dotAt(g, atlas, 80, 20, new Set(['b'])), -1);
});

test('a zoom scales the view about a point and a pan moves it', () => {
  assert.deepStrictEqual(map.zoomed([0, 10, 0, 10], [5, 5], 0.5), [2.5, 7.5, 2.5, 7.5]);
  assert.deepStrictEqual(map.zoomed([0, 10, 0, 10], [0, 0], 2, [1, -1]), [1, 21, -1, 19]);
  assert.ok(map.within([-3, 3, -2, 2], [2.9, -1.9]) && !map.within([-3, 3, -2, 2], [3.1, 0]));
});
