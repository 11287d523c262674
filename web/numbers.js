/* numbers.js: what the page makes of a number typed into a box: a number, input still being
 * typed ("", "-", "1e", "-."), or not a number. The navigator's X/Y boxes read every keystroke
 * with it: a partial entry is no error, a committed non-number is named in a toast.
 *
 * Classic script, no dependencies: in the page it defines LSN.numbers; under node
 * require("web/numbers.js") returns the same object (tests/js/navigator.test.js).
 *
 *   LSN.numbers.read('-0.25')   // {value: -0.25}
 *   LSN.numbers.read('-')       // {partial: true}
 *   LSN.numbers.read('abc')     // {bad: true}
 */
(function (root, factory) {
  const api = factory();
  if (typeof module === 'object' && module.exports) module.exports = api;
  else (root.LSN = root.LSN || {}).numbers = api;
})(typeof self !== 'undefined' ? self : this, () => {
  'use strict';
  const WHOLE = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
  const BEGUN = /^[-+]?\d*\.?\d*(e[-+]?)?$/i;  // a prefix of a number: "", "-", ".", "1e", "1e-"

  const read = (text) => {
    const t = String(text).trim();
    if (WHOLE.test(t)) {
      const value = Number(t);
      return Number.isFinite(value) ? {value} : {bad: true};  // 1e999 is no finite number
    }
    return BEGUN.test(t) ? {partial: true} : {bad: true};
  };
  return {read};
});
