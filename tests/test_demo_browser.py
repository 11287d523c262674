"""demo.py in a real browser (conftest's chromium: Playwright + Debian's /usr/bin/chromium,
headless, 1366x768) against conftest's live_url: the main view fits without scrolling, dragging X
changes the digit, "7" jumps to its centre, an interpolation shows its frames, and a click on the
map moves there; web/navigator.js (the marker, click to go) and web/navigator.css (crisp pixels)
are exercised here. The images the page shows are fetched and checked by their pixels. Marked
browser; screenshots go to conftest's shots folder ($LSN_SCREENSHOTS or tests/screenshots/).
Run: pytest -m browser tests/test_demo_browser.py (skipped without /usr/bin/chromium)."""

import io

import numpy as np
import pytest
from PIL import Image

import handlers as h
import neural_network as nn

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(live_url, chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(live_url)
    page.wait_for_selector("#lsn-map .js-plotly-plot .nsewdrag", state="attached")
    page.wait_for_selector("#lsn-digit img")
    yield page
    context.close()


def sliders(page):
    return tuple(float(page.input_value(f"#lsn-{a} input[type=number]")) for a in "xy")


def digit_src(page):
    return page.get_attribute("#lsn-digit img", "src")


def shown_pixels(page, selector):
    """The grey pixels of the image the page shows at `selector`, fetched as the page did."""
    src = page.get_attribute(selector, "src")
    return np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("L"))


def wait_for_new_digit(page, old):
    page.wait_for_function("old => document.querySelector('#lsn-digit img').src !== old", arg=old)


def plot_frame(page):
    """The plot area's box in page pixels and the axes' ranges."""
    area = page.locator("#lsn-map .nsewdrag").bounding_box()
    ranges = page.evaluate("() => { const l = document.querySelector('#lsn-map .js-plotly-plot')._fullLayout;"
                           " return [...l.xaxis.range, ...l.yaxis.range]; }")
    return area, ranges


def marker_z(page):
    """Where the marker sits, in z."""
    (area, (xmin, xmax, ymin, ymax)), m = plot_frame(page), page.locator("#lsn-marker").bounding_box()
    u = (m["x"] + m["width"] / 2 - area["x"]) / area["width"]
    v = (m["y"] + m["height"] / 2 - area["y"]) / area["height"]
    return xmin + u * (xmax - xmin), ymax - v * (ymax - ymin)


def test_main_view_fits_1366x768_with_a_crisp_large_digit(page, shots):
    page.screenshot(path=shots / "main.png")
    for sel in ["#lsn-map", "#lsn-digit", "#lsn-x", "#lsn-y", "#lsn-jump-9"]:
        box = page.locator(sel).bounding_box()
        assert box["y"] + box["height"] <= 768 and box["x"] + box["width"] <= 1366, sel
    size = page.evaluate("""() => { const i = document.querySelector('#lsn-digit img');
        return [i.naturalWidth, i.getBoundingClientRect().width, getComputedStyle(i).imageRendering]; }""")
    assert size[0] == 280 and size[1] >= 280 and size[2] == "pixelated"
    lm, (x, y) = h.STORE.get(), sliders(page)  # the digit at the sliders' z, 10x, crisp
    digit = shown_pixels(page, "#lsn-digit img")
    assert np.array_equal(digit[::10, ::10], nn.decode_uint8(lm.model, [[x, y]])[0])
    assert digit.max() - digit.min() > 100  # not blank


def test_dragging_x_changes_the_image(page, shots):
    before, src = sliders(page), digit_src(page)
    box = page.locator("#lsn-x input[type=range]").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    for i in range(1, 11):  # a drag, not a click: many input events
        page.mouse.move(box["x"] + box["width"] * (0.5 - 0.04 * i), y)
    page.mouse.up()
    wait_for_new_digit(page, src)
    lo, hi = (float(page.get_attribute("#lsn-x input[type=range]", a)) for a in ("min", "max"))
    assert sliders(page)[0] < before[0] - 0.2 * (hi - lo)
    page.screenshot(path=shots / "dragged.png")


def test_jump_to_7_moves_the_sliders_and_the_marker_to_its_centre(page, shots):
    src, slider_events = digit_src(page), []
    record = lambda request: "/gradio_api/run/" in request.url and slider_events.append(request.url)
    page.on("request", record)
    page.click("#lsn-jump-7")
    lm = h.STORE.get()
    cx, cy = h.clamp_xy(lm, *lm.centres[7])
    page.wait_for_function(f"() => Math.abs(document.querySelector('#lsn-x input[type=number]').value - {cx}) < 0.01")
    assert sliders(page) == pytest.approx((cx, cy), abs=0.01)
    wait_for_new_digit(page, src)
    page.wait_for_timeout(300)
    page.remove_listener("request", record)
    assert not slider_events  # sliders set by the server fire no second decode (.input, not .change)
    assert marker_z(page) == pytest.approx((cx, cy), abs=0.02 * (lm.extent[1] - lm.extent[0]))
    x, y = sliders(page)
    assert np.array_equal(shown_pixels(page, "#lsn-digit img")[::10, ::10],
                          nn.decode_uint8(lm.model, [[x, y]])[0])
    page.screenshot(path=shots / "jump7.png")


def test_interpolation_shows_its_frames_and_path(page, shots):
    page.get_by_role("tab", name="Interpolate").click()
    page.get_by_role("button", name="interpolate", exact=True).click()
    page.wait_for_selector("#lsn-strip img")
    page.wait_for_function("() => document.querySelector('#lsn-map .js-plotly-plot').data"
                           ".some(t => t.name === 'spherical')")
    assert page.evaluate("() => document.querySelector('#lsn-strip img').naturalWidth") > 28 * 8
    # the defaults: from the first class's centre to the last's, 10 steps, both methods (2 rows)
    lm = h.STORE.get()
    strip = shown_pixels(page, "#lsn-strip img")
    first, last = nn.decode_uint8(lm.model, lm.centres[[0, -1]])
    assert strip.shape == (2 * 30 * 2 - 4, 10 * 30 * 2 - 4)
    for row in (0, 1):  # linear, then spherical: each starts and ends at the centres
        top = row * 60
        assert np.array_equal(strip[top:top + 56:2, :56:2], first)
        assert np.array_equal(strip[top:top + 56:2, 9 * 60:9 * 60 + 56:2], last)
    page.wait_for_selector('#lsn-files a[download="interpolation.gif"]')  # the downloads
    page.screenshot(path=shots / "interpolation.png", full_page=True)


def test_clicking_the_map_moves_there(page, shots):
    src = digit_src(page)
    area, (xmin, xmax, ymin, ymax) = plot_frame(page)
    page.mouse.click(area["x"] + area["width"] * 0.2, area["y"] + area["height"] * 0.7)
    wait_for_new_digit(page, src)
    page.wait_for_timeout(300)  # the second slider's event
    x, y = sliders(page)
    # a click on empty space lands there; one on a test digit snaps to its code nearby
    assert x == pytest.approx(xmin + 0.2 * (xmax - xmin), abs=0.05 * (xmax - xmin))
    assert y == pytest.approx(ymax - 0.7 * (ymax - ymin), abs=0.05 * (ymax - ymin))
    assert marker_z(page) == pytest.approx((x, y), abs=0.02 * (xmax - xmin))
    page.screenshot(path=shots / "map_click.png")
