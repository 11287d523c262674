/* prefetch.js: starts fetching the page's model file (GET /api/model/NAME: the decoder the
 * navigator runs) while the page's HTML is read, long before Gradio mounts the navigator, which
 * then takes the bytes from window.lsnPrefetch (web/navigator.js, loadModel). The model is the
 * one the address names (?model=NAME), else window.LSN_DEFAULT_MODEL, which main_view.page_head
 * sets before this script. A shared #model= address reloads the page as a query first
 * (web/address.js), so then nothing is fetched here.
 *
 * Classic script, in the page's <head> (gr.Blocks(head=...), demo.build_app).
 */
(function () {
  'use strict';
  if (location.hash.startsWith('#model=')) return;
  const name = new URLSearchParams(location.search).get('model') || window.LSN_DEFAULT_MODEL;
  if (!name) return;
  const bytes = fetch(`api/model/${encodeURIComponent(name)}`).then((r) => {
    if (!r.ok) throw new Error(`the server answered ${r.status}`);
    return r.arrayBuffer();
  });
  bytes.catch(() => {});  // loadModel reports a failure; an unused prefetch is no error
  window.lsnPrefetch = {name, bytes};
})();
