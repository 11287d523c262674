"""What the browser tests share to drive and read the page (not a test file): opening it in
conftest's chromium with the requests it sends counted, the navigator's X/Y boxes and z text,
the pixels the page drew, torch's decode of the same z, the map's plot area and the z under a
pixel (by Plotly's own axis conversion, not the page's), and a finger's touch events (the
DevTools protocol's Input.dispatchTouchEvent, what a touch screen sends).
Imported by tests/test_demo_browser.py and tests/test_page_ux.py."""

import numpy as np

import checks
import latent_utils as lu
import neural_network as nn
import store

# drawn by the page's decoder (or the server's, on fallback), and the map drawn
READY = ("() => { const s = document.querySelector('#lsn-status'); return s && s.dataset.mode !== "
         "'loading' && document.querySelector('#lsn-canvas').dataset.z && "
         "document.querySelector('#lsn-map .js-plotly-plot .nsewdrag') && "
         "document.querySelector('#lsn-marker'); }")
BOX = "#lsn-{} .lsn-num"  # the navigator's number box of an axis ("x" or "y")


def open_page(chromium, url, **context):
    """The page, with window.lsnBench set before it loads (web/navigator.js then counts its paints
    in window.lsnStats, as for bench/navigation.py)."""
    ctx = chromium.new_context(**{"viewport": {"width": 1366, "height": 768}, **context})
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    page.requests = []
    page.on("request", lambda r: page.requests.append(r.url))
    page.add_init_script("window.lsnBench = true")
    page.goto(url)
    page.wait_for_function(READY)
    return page


def open_at(chromium, url, model, query="", **context):
    """The page opened at ?model=MODEL (and `query`), once it names the model in its header and
    runs that model's decoder."""
    page = open_page(chromium, f"{url}?model={model}{query}", **context)
    page.wait_for_function("(m) => document.querySelector('#lsn-header').innerText.includes(m)"
                           " && document.querySelector('#lsn-status').dataset.mode === 'local'"
                           " && document.querySelector('#lsn-canvas').dataset.z", arg=model)
    return page


def sliders(page):
    """The position the navigator's X and Y boxes show."""
    return tuple(float(page.input_value(BOX.format(a))) for a in "xy")


def z_text(page):
    return page.inner_text("#lsn-z")


def expected_z_text(lm, x, y, k=15):
    """The z text the page should show at (x, y): z, and the class most of the k nearest atlas
    codes have, by the server's k-NN (latent_utils.knn_votes)."""
    votes = lu.knn_votes(lm.atlas["mu"], lm.atlas["labels"], [[x, y]], k, len(lm.classes))[0]
    c = int(votes.argmax())
    return (f"z = ({x:+.2f}, {y:+.2f})   {int(votes[c])} of the {k} nearest test {lm.noun}: "
            f"{lm.classes[c]}")


def settled(page):
    """Wait until the boxes have caught up with the drawn position (they follow ~70 ms apart)."""
    page.wait_for_function("() => { const [x, y] = document.querySelector('#lsn-marker').dataset.z"
                           ".split(',').map(Number); const v = (a) => +document.querySelector("
                           "'#lsn-' + a + ' .lsn-num').value; return v('x') === x && "
                           "v('y') === y; }")
    return sliders(page)


def at_rest(page):
    """Wait until the position has settled: the address (written 400 ms after a move or an
    animation ends) names where the marker is."""
    page.wait_for_function("() => { const z = document.querySelector('#lsn-marker').dataset.z"
                           ".split(',').map(Number); return location.hash.endsWith("
                           "`&x=${z[0].toFixed(2)}&y=${z[1].toFixed(2)}`); }")
    return settled(page)


def jump(page, c, model=None):
    """Click class c's jump button and wait until z has arrived at its centre (clamped to the
    extent, on the 0.01 step) and settled -> (x, y). Waiting for the centre itself, not only for
    a settled position, keeps the start position (settled too) from being read instead."""
    lm = store.STORE.get(model)
    x, y = (round(v, 2) for v in checks.clamp_xy(lm, *lm.centres[c]))
    page.click(f"#lsn-jump-{c}")
    page.wait_for_function("(z) => document.querySelector('#lsn-marker').dataset.z === z", arg=f"{x:g},{y:g}")
    return at_rest(page)


def canvas(page, selector="#lsn-canvas"):
    """The 28x28 grey pixels the page drew on a canvas."""
    data = page.evaluate(f"""() => Array.from(document.querySelector('{selector}').getContext('2d')
        .getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))""")
    return np.array(data, np.uint8).reshape(28, 28)


def torch_digit(x, y, model=None):
    return nn.decode_uint8(store.STORE.get(model).model, [[x, y]])[0]


def assert_same_digit(page, x, y, selector="#lsn-canvas", model=None):
    diff = np.abs(canvas(page, selector).astype(int) - torch_digit(x, y, model))
    assert diff.max() <= 1, diff.max()


def paints(page):
    return page.evaluate("window.lsnStats.paints")


def plot_area(page):
    return page.locator("#lsn-map .nsewdrag[data-subplot=xy]").bounding_box()


def z_at(page, px, py):
    """The z under page pixel (px, py), by Plotly's own pixel-to-data conversion of its axes."""
    return tuple(page.evaluate("([px, py]) => { const gd = document.querySelector('#lsn-map "
                               ".js-plotly-plot'), l = gd._fullLayout, r = gd.getBoundingClientRect();"
                               " return [l.xaxis.p2l(px - r.left - l.xaxis._offset), "
                               "l.yaxis.p2l(py - r.top - l.yaxis._offset)]; }", [px, py]))


def touch(cdp, kind, points):
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [
        {"x": x, "y": y, "id": i, "radiusX": 8, "radiusY": 8, "force": 1}
        for i, (x, y) in enumerate(points)]})  # one finger per point
