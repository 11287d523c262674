/* address.js: the page's address names the model and the position once it settles, in its
 * fragment: #model=NAME&x=X&y=Y (a latent of another size than 2: &z=Z1,Z2,...). Not in the query: Plotly writes its SVG clip paths as
 * url(PAGE#id) with the page's address at drawing time, so a new query makes them another
 * document, which Chromium then fetches (the page again, during a drag). Opened, such an address
 * becomes ?model=&x=&y=, which the server restores on load (main_view.ui_from_url: the model
 * first, then z, clamped to that model's extent).
 *
 * Classic script, no dependencies: in the page it defines LSN.address; under node
 * require("web/address.js") returns the same object (tests/js/navigator.test.js).
 *
 *   LSN.address.fragment('mnist_ae', [20, 10.5])   // '#model=mnist_ae&x=20.00&y=10.50'
 *   LSN.address.fragment('mnist_ae_d10', [1, 2, 3])  // '#model=mnist_ae_d10&z=1.00%2C2.00%2C3.00'
 *   LSN.address.opened('#model=mnist_ae&x=20&y=10') // '?model=mnist_ae&x=20&y=10'
 */
(function (root, factory) {
  const api = factory();
  if (typeof module === 'object' && module.exports) module.exports = api;
  else (root.LSN = root.LSN || {}).address = api;
})(typeof self !== 'undefined' ? self : this, () => {
  'use strict';
  const AXES = ['x', 'y'];

  const fragment = (model, z) => '#' + new URLSearchParams(
    [['model', model], ...(z.length === 2 ? z.map((v, i) => [AXES[i], v.toFixed(2)])
      : [['z', z.map((v) => v.toFixed(2)).join(',')]])]).toString();

  // A shared address (a fragment naming a model) as the query the server restores; else null.
  const opened = (hash) => (hash.startsWith('#model=') ? `?${hash.slice(1)}` : null);
  return {fragment, opened};
});
