"""demo.py in a real browser (Playwright + Debian's /usr/bin/chromium, headless, 1366x768): the
main view fits without scrolling, dragging X changes the digit, "7" jumps to its centre, an
interpolation shows its frames, and a click on the map moves there. Screenshots go to
$LSN_SCREENSHOTS or tests/screenshots/.
Run: pytest tests/test_demo_browser.py (skipped without /usr/bin/chromium: apt-get install chromium)."""

import os
from pathlib import Path

import pytest

import demo

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("LSN_SCREENSHOTS", Path(__file__).parent / "screenshots"))

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} not found (apt-get install chromium): browser tests skipped",
                allow_module_level=True)


@pytest.fixture(scope="module")
def page(live_url):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.set_default_timeout(30_000)
        page.goto(live_url)
        page.wait_for_selector("#lsn-map .js-plotly-plot .nsewdrag", state="attached")
        page.wait_for_selector("#lsn-digit img")
        yield page
        browser.close()


def sliders(page):
    return tuple(float(page.input_value(f"#lsn-{a} input[type=number]")) for a in "xy")


def digit_src(page):
    return page.get_attribute("#lsn-digit img", "src")


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


def test_main_view_fits_1366x768_with_a_crisp_large_digit(page):
    page.screenshot(path=SHOTS / "main.png")
    for sel in ["#lsn-map", "#lsn-digit", "#lsn-x", "#lsn-y", "#lsn-jump-9"]:
        box = page.locator(sel).bounding_box()
        assert box["y"] + box["height"] <= 768 and box["x"] + box["width"] <= 1366, sel
    size = page.evaluate("""() => { const i = document.querySelector('#lsn-digit img');
        return [i.naturalWidth, i.getBoundingClientRect().width, getComputedStyle(i).imageRendering]; }""")
    assert size[0] == 280 and size[1] >= 280 and size[2] == "pixelated"


def test_dragging_x_changes_the_image(page):
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
    page.screenshot(path=SHOTS / "dragged.png")


def test_jump_to_7_moves_the_sliders_and_the_marker_to_its_centre(page):
    src, slider_events = digit_src(page), []
    record = lambda request: "/gradio_api/run/" in request.url and slider_events.append(request.url)
    page.on("request", record)
    page.click("#lsn-jump-7")
    lm = demo.get_model()
    cx, cy = demo.clamp_xy(lm, *lm.centres[7])
    page.wait_for_function(f"() => Math.abs(document.querySelector('#lsn-x input[type=number]').value - {cx}) < 0.01")
    assert sliders(page) == pytest.approx((cx, cy), abs=0.01)
    wait_for_new_digit(page, src)
    page.wait_for_timeout(300)
    page.remove_listener("request", record)
    assert not slider_events  # sliders set by the server fire no second decode (.input, not .change)
    assert marker_z(page) == pytest.approx((cx, cy), abs=0.02 * (lm.extent[1] - lm.extent[0]))
    page.screenshot(path=SHOTS / "jump7.png")


def test_interpolation_shows_its_frames_and_path(page):
    page.get_by_role("tab", name="Interpolate").click()
    page.get_by_role("button", name="interpolate", exact=True).click()
    page.wait_for_selector("#lsn-strip img")
    page.wait_for_function("() => document.querySelector('#lsn-map .js-plotly-plot').data"
                           ".some(t => t.name === 'spherical')")
    assert page.evaluate("() => document.querySelector('#lsn-strip img').naturalWidth") > 28 * 8
    page.wait_for_selector('#lsn-files a[download="interpolation.gif"]')  # the downloads
    page.screenshot(path=SHOTS / "interpolation.png", full_page=True)


def test_clicking_the_map_moves_there(page):
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
    page.screenshot(path=SHOTS / "map_click.png")
