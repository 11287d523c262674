/* nearest.js: the z text, built here and nowhere else: z, and the class most of the K encoded
 * test images nearest to z belong to. Their vote, not the nearest class centre, says what lives
 * at z: a class can form several clusters (the 6s of mnist_vae_beta4 form two) and its centre
 * sits in one of them. The codes and labels come with the decoder (GET /api/model/NAME).
 *
 * Classic script, no dependencies: in the page it defines LSN.nearest; under node
 * require("web/nearest.js") returns the same object (tests/js/navigator.test.js, and
 * tests/test_decoder_js.py against latent_utils.knn_votes).
 *
 *   LSN.nearest.zText([0.5, -1], {mu, labels, classes, noun: 'digits'})
 *   // 'z = (+0.50, -1.00)   12 of the 15 nearest test digits: 7'
 *   LSN.nearest.near([0.5, -1], {mu, labels, classes, nearness: {k: 15, median: 0.1, p99: 0.3}})
 *   // {distance: 0.12, off: false, text: '15th nearest test code 0.12 away (typically 0.10)'}
 */
(function (root, factory) {
  const api = factory();
  if (typeof module === 'object' && module.exports) module.exports = api;
  else (root.LSN = root.LSN || {}).nearest = api;
})(typeof self !== 'undefined' ? self : this, () => {
  'use strict';
  const K = 15;
  const signed = (v) => (v >= 0 ? '+' : '') + v.toFixed(2);

  // -> [class, its votes, the distance to the k-th nearest] of the k codes nearest to z
  // (mu: Float32Array, row-major [n, dim])
  const vote = (mu, labels, nClasses, z, k = K) => {
    const dim = z.length, n = labels.length;
    const best = new Float64Array(k).fill(Infinity), who = new Int32Array(k).fill(-1);
    for (let i = 0; i < n; i++) {
      let d = 0;
      for (let j = 0; j < dim; j++) { const e = mu[dim * i + j] - z[j]; d += e * e; }
      if (d >= best[k - 1]) continue;
      let j = k - 1;
      while (j > 0 && best[j - 1] > d) { best[j] = best[j - 1]; who[j] = who[j - 1]; j--; }
      best[j] = d;
      who[j] = i;
    }
    const votes = new Array(nClasses).fill(0);
    for (const i of who) if (i >= 0) votes[labels[i]]++;
    let c = 0;
    votes.forEach((v, i) => { if (v > votes[c]) c = i; });
    return [c, votes[c], Math.sqrt(best[k - 1])];
  };

  // The text under the digit; without the atlas (its file could not be fetched), z alone.
  // `voted`: vote's answer for z, where the caller has it (the navigator votes once for both texts)
  const zText = (z, atlas, voted) => {
    const head = `z = (${z.map(signed).join(', ')})`;
    if (!atlas || !atlas.mu) return head;
    const [c, count] = voted || vote(atlas.mu, atlas.labels, atlas.classes.length, z);
    return `${head}   ${count} of the ${K} nearest test ${atlas.noun}: ${atlas.classes[c]}`;
  };
  // How near the data z lies: the distance to its K-th nearest test code against the codes' own
  // (latent_utils.nearness: their median; beyond their 99th percentile z is off the data).
  const near = (z, atlas, voted) => {
    if (!atlas || !atlas.mu || !atlas.nearness) return null;
    const distance = (voted || vote(atlas.mu, atlas.labels, atlas.classes.length, z))[2];
    const {median, p99} = atlas.nearness;
    const off = distance > p99;
    return {distance, off, text: `${K}th nearest test code ${distance.toFixed(2)} away ` +
      `(typically ${median.toFixed(2)})` + (off ? ': off the data, the decoder has seen no ' +
      'code here, so what it draws is no digit it has learned' : '')};
  };
  return {K, vote, zText, near, signed};
});
