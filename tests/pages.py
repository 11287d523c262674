"""What the browser tests share to drive and read the page (not a test file): opening it in
conftest's chromium with the requests it sends counted, the sliders' values, the pixels the page
drew, torch's decode of the same z, the map's plot area and the z under a pixel, and a finger's
touch events (the DevTools protocol's Input.dispatchTouchEvent, what a touch screen sends).
Imported by tests/test_demo_browser.py and tests/test_page_ux.py."""

import numpy as np

import neural_network as nn
import store

READY = ("() => window.lsnStats && window.lsnStats.mode !== 'loading' && window.lsnStats.paints > 0"
         " && document.querySelector('#lsn-map .js-plotly-plot .nsewdrag')")


def open_page(chromium, url, **context):
    ctx = chromium.new_context(**{"viewport": {"width": 1366, "height": 768}, **context})
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    page.requests = []
    page.on("request", lambda r: page.requests.append(r.url))
    page.goto(url)
    page.wait_for_function(READY)
    return page


def open_at(chromium, url, model, query="", **context):
    """The page opened at ?model=MODEL (and `query`), once it names the model in its header and
    runs that model's decoder."""
    page = open_page(chromium, f"{url}?model={model}{query}", **context)
    page.wait_for_function("(m) => document.querySelector('#lsn-header').innerText.includes(m)"
                           " && window.lsnStats.mode === 'local'", arg=model)
    return page


def sliders(page):
    return tuple(float(page.input_value(f"#lsn-{a} input[type=number]")) for a in "xy")


def settled(page):
    """Wait until the sliders have caught up with the drawn position (they follow ~70 ms apart)."""
    page.wait_for_function("() => { const [x, y] = document.querySelector('#lsn-marker').dataset.z"
                           ".split(',').map(Number); const v = (id) => +document.querySelector("
                           "'#' + id + ' input[type=number]').value; return v('lsn-x') === x && "
                           "v('lsn-y') === y; }")
    return sliders(page)


def canvas(page, selector="#lsn-canvas"):
    """The 28x28 grey pixels the page drew on a canvas."""
    data = page.evaluate(f"""() => Array.from(document.querySelector('{selector}').getContext('2d')
        .getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))""")
    return np.array(data, np.uint8).reshape(28, 28)


def torch_digit(x, y, model=None):
    return nn.decode_uint8(store.STORE.get(model).model, [[x, y]])[0]


def assert_same_digit(page, x, y, selector="#lsn-canvas"):
    diff = np.abs(canvas(page, selector).astype(int) - torch_digit(x, y))
    assert diff.max() <= 1, diff.max()


def paints(page):
    return page.evaluate("window.lsnStats.paints")


def plot_area(page):
    return page.locator("#lsn-map .nsewdrag").bounding_box()


def z_at(page, px, py):
    """The z under page pixel (px, py), from Plotly's own axes."""
    area = plot_area(page)
    xmin, xmax, ymin, ymax = page.evaluate("() => { const l = document.querySelector("
                                           "'#lsn-map .js-plotly-plot')._fullLayout; "
                                           "return [...l.xaxis.range, ...l.yaxis.range]; }")
    return (xmin + (px - area["x"]) / area["width"] * (xmax - xmin),
            ymax - (py - area["y"]) / area["height"] * (ymax - ymin))


def touch(cdp, kind, points):
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [
        {"x": x, "y": y, "id": 0, "radiusX": 8, "radiusY": 8, "force": 1} for x, y in points]})
