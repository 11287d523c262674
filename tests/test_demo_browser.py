"""demo.py in a real browser (conftest's chromium: Playwright + Debian's /usr/bin/chromium,
headless) against conftest's live_url, driven by real input only: page.mouse presses, moves and
releases, touch events through the DevTools protocol (what a finger sends), key presses. The
digit is drawn by the page's own decoder (web/decoder.js, web/navigator.js), so each test reads
the canvas the person sees and compares it with torch's decode of the same z; requests the page
sends are counted. Screenshots go to conftest's shots folder ($LSN_SCREENSHOTS or
tests/screenshots/). Run: pytest -m browser tests/test_demo_browser.py (skipped without
/usr/bin/chromium)."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

import api
import checks
import neural_network as nn
import store
from pages import (
    assert_same_digit,
    canvas,
    expected_z_text,
    jump,
    open_page,
    paints,
    plot_area,
    settled,
    sliders,
    torch_digit,
    touch,
    z_at,
    z_text,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(live_url, chromium):
    page = open_page(chromium, live_url)
    yield page
    page.context.close()


def test_main_view_fits_1366x768_with_a_crisp_digit_decoded_in_the_page(page, shots):
    page.screenshot(path=shots / "main.png")
    for sel in ["#lsn-header h2", "#lsn-map", "#lsn-digit", "#lsn-x", "#lsn-y", "#lsn-jump-9"]:
        box = page.locator(sel).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 768 and box["x"] + box["width"] <= 1366, sel
    assert page.inner_text("#lsn-header h2") == "Latent Space Navigator"
    size = page.evaluate("""() => { const c = document.querySelector('#lsn-canvas');
        return [c.width, c.getBoundingClientRect().width, getComputedStyle(c).imageRendering]; }""")
    assert size == [28, 280, "pixelated"]
    assert page.get_attribute("#lsn-status", "data-mode") == "local"
    x, y = sliders(page)
    assert_same_digit(page, x, y)
    assert canvas(page).max() - canvas(page).min() > 100  # not blank


def test_the_model_file_is_fetched_once_from_the_pages_head(page, live_url):
    # web/prefetch.js asked for it as the page loaded; the navigator took those bytes
    assert [u for u in page.requests if "/api/model/" in u] == [f"{live_url}/api/model/mnist_vae_beta4"]
    assert page.evaluate("window.lsnPrefetch") is None
    assert page.evaluate("() => [...document.head.querySelectorAll('script')].some("
                         "(s) => s.textContent.includes('window.lsnPrefetch = {name, bytes}'))")


def test_dragging_the_x_slider_redraws_every_move_without_a_request(page, shots):
    box = page.locator("#lsn-x input[type=range]").bounding_box()
    y0 = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.6, y0)
    page.mouse.down()
    before, sent = paints(page), len(page.requests)
    for i in range(1, 41):  # a drag, not a click: 40 moves of ~4 px
        page.mouse.move(box["x"] + box["width"] * (0.6 - 0.01 * i), y0)
        if i == 20:
            page.screenshot(path=shots / "slider_drag.png")
    during = page.requests[sent:]  # the release settles z: its measure (tab_edit.ui_local) may follow
    page.mouse.up()
    assert paints(page) - before >= 30  # a new digit for (nearly) every move
    assert during == []
    x, y = settled(page)
    assert_same_digit(page, x, y)
    # the navigator's value is set once the drag ended: its range, its box and what the next
    # server event is sent agree
    assert float(page.input_value("#lsn-x input[type=range]")) == x
    page.get_by_role("tab", name="Morph").click()
    page.click("#lsn-morph")
    x1, y1 = (round(v, 2) for v in api.morph(x, y, "0", 0.25))  # from where the drag ended
    page.wait_for_function("(z) => document.querySelector('#lsn-marker').dataset.z === z",
                           arg=f"{x1:g},{y1:g}")
    assert settled(page) == pytest.approx((x1, y1), abs=0.001)


def test_a_map_drag_with_the_mouse_moves_the_point_and_the_digit_with_no_request(page, shots):
    area = plot_area(page)
    x0, y0 = area["x"] + area["width"] * 0.3, area["y"] + area["height"] * 0.4
    page.mouse.move(x0, y0)
    page.mouse.down()
    before, sent = paints(page), len(page.requests)
    for i in range(1, 61):
        page.mouse.move(x0 + 5 * i, y0 + 40 * np.sin(i / 8))
        if i == 30:
            page.screenshot(path=shots / "map_drag.png")
    during = page.requests[sent:]
    page.mouse.up()
    assert paints(page) - before >= 55
    assert during == []
    end = z_at(page, x0 + 300, y0 + 40 * np.sin(60 / 8))
    x, y = settled(page)
    assert (x, y) == pytest.approx(end, abs=0.02)
    assert_same_digit(page, x, y)
    assert z_text(page) == expected_z_text(store.STORE.get(), x, y)  # the page's own vote


def test_a_press_on_the_map_goes_there(page):
    area = plot_area(page)
    px, py = area["x"] + area["width"] * 0.2, area["y"] + area["height"] * 0.7
    page.mouse.click(px, py)
    x, y = settled(page)
    assert (x, y) == pytest.approx(z_at(page, px, py), abs=0.02)
    marker = page.get_attribute("#lsn-marker", "data-px")
    mx, my = (float(v) for v in marker.split(","))
    assert (mx, my) == pytest.approx((px - area["x"], py - area["y"]), abs=2)


def test_hovering_previews_the_digit_under_the_pointer_and_the_position_stays(page, shots):
    page.mouse.move(10, 10)  # off the map
    before = sliders(page)
    area = plot_area(page)
    px, py = area["x"] + area["width"] * 0.75, area["y"] + area["height"] * 0.25
    page.mouse.move(px - 5, py - 5)
    page.mouse.move(px, py)
    page.wait_for_selector("#lsn-preview", state="visible")
    page.screenshot(path=shots / "hover_preview.png")
    hx, hy = (float(v) for v in page.get_attribute("#lsn-preview", "data-z").split(","))
    assert (hx, hy) == pytest.approx(z_at(page, px, py), abs=0.02)
    assert_same_digit(page, hx, hy, "#lsn-preview canvas")
    assert sliders(page) == before  # the position stays
    page.mouse.move(10, 10)
    page.wait_for_selector("#lsn-preview", state="hidden")


def test_arrow_keys_move_the_point_while_the_map_has_focus(page):
    area = plot_area(page)
    page.mouse.click(area["x"] + area["width"] * 0.5, area["y"] + area["height"] * 0.5)
    assert page.evaluate("document.activeElement.id") == "lsn-map"
    x0, y0 = settled(page)
    xmin, xmax, ymin, ymax = store.STORE.get().extent
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    x1, y1 = settled(page)
    assert (x1, y1) == pytest.approx((x0 + 0.02 * (xmax - xmin), y0), abs=0.011)
    page.keyboard.press("Shift+ArrowUp")
    x2, y2 = settled(page)
    assert (x2, y2) == pytest.approx((x1, y1 + 0.1 * (ymax - ymin)), abs=0.011)
    assert_same_digit(page, x2, y2)


def test_jump_to_7_sets_the_sliders_and_the_page_draws_its_centre(page, shots):
    page.click("#lsn-jump-7")
    lm = store.STORE.get()
    cx, cy = (round(v, 2) for v in checks.clamp_xy(lm, *lm.centres[7]))
    page.wait_for_function(f"() => document.querySelector('#lsn-marker').dataset.z === '{cx},{cy}'")
    assert settled(page) == pytest.approx((cx, cy), abs=0.001)
    assert_same_digit(page, cx, cy)
    assert z_text(page).endswith("nearest test digits: 7")
    page.screenshot(path=shots / "jump7.png")


def test_morph_plays_server_positions_through_the_page_decoder(page):
    x0, y0 = jump(page, 1)
    page.get_by_role("tab", name="Morph").click()
    before, sent = paints(page), len(page.requests)
    page.click("#lsn-morph")
    x1, y1 = (round(v, 2) for v in api.morph(x0, y0, "0", 0.25))  # the defaults: toward 0, 0.25
    page.wait_for_function(f"() => document.querySelector('#lsn-marker').dataset.z === '{x1},{y1}'")
    assert paints(page) - before >= 10  # the animation's frames, drawn in the page
    # the one event (its queue join and answer stream), then, where z settles, its measurement
    # (tab_edit.ui_local)
    assert len(page.requests) - sent <= 6
    assert settled(page) == pytest.approx((x1, y1), abs=0.001)
    assert_same_digit(page, x1, y1)


def test_interpolation_shows_its_frames_and_plays_on_the_digit(page, shots):
    page.get_by_role("tab", name="Interpolate").click()
    page.get_by_role("button", name="interpolate", exact=True).click()
    page.wait_for_selector("#lsn-strip img")
    page.wait_for_function("() => document.querySelector('#lsn-map .js-plotly-plot').data"
                           ".some(t => t.name === 'spherical')")
    lm = store.STORE.get()
    src = page.get_attribute("#lsn-strip img", "src")
    strip = np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("L"))
    first, last = nn.decode_uint8(lm.model, lm.centres[[0, -1]])
    assert strip.shape == (2 * 30 * 2 - 4, 10 * 30 * 2 - 4)  # 10 steps, both methods
    for row in (0, 1):  # linear, then spherical: each starts and ends at the centres
        top = row * 60
        assert np.array_equal(strip[top:top + 56:2, :56:2], first)
        assert np.array_equal(strip[top:top + 56:2, 9 * 60:9 * 60 + 56:2], last)
    before = paints(page)
    page.click("#lsn-play")
    ex, ey = (round(v, 4) for v in lm.centres[-1])
    end = f"{checks.clamp_xy(lm, ex, ey)[0]:.2f}".rstrip("0").rstrip(".")
    page.wait_for_function(f"() => document.querySelector('#lsn-marker').dataset.z.startsWith('{end},')")
    assert paints(page) - before >= 9
    page.screenshot(path=shots / "interpolation.png", full_page=True)


def test_a_touch_drag_on_a_phone_moves_the_point(live_url, chromium, shots):
    page = open_page(chromium, live_url, viewport={"width": 390, "height": 844}, has_touch=True,
                     is_mobile=True, device_scale_factor=2)
    try:
        page.locator("#lsn-map").scroll_into_view_if_needed()
        area = plot_area(page)
        cdp = page.context.new_cdp_session(page)
        x0, y0 = area["x"] + area["width"] * 0.2, area["y"] + area["height"] * 0.5
        before, sent, scroll = paints(page), len(page.requests), page.evaluate("window.scrollY")
        touch(cdp, "touchStart", [(x0, y0)])
        for i in range(1, 31):
            touch(cdp, "touchMove", [(x0 + area["width"] * 0.02 * i, y0 - area["height"] * 0.01 * i)])
            if i == 15:
                page.screenshot(path=shots / "phone_touch_drag.png")
        during = page.requests[sent:]
        touch(cdp, "touchEnd", [])
        assert paints(page) - before >= 25
        assert during == [] and page.evaluate("window.scrollY") == scroll
        end = z_at(page, x0 + area["width"] * 0.6, y0 - area["height"] * 0.3)
        x, y = settled(page)
        assert (x, y) == pytest.approx(end, abs=0.03)
        assert_same_digit(page, x, y)
    finally:
        page.context.close()


def test_without_the_page_decoder_the_server_draws_and_the_page_says_so(live_url, chromium, shots):
    ctx = chromium.new_context(viewport={"width": 1366, "height": 768})
    ctx.route("**/api/model/**", lambda route: route.fulfill(status=500, body="broken"))
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    images = []
    page.on("request", lambda r: "/api/decode.png" in r.url and images.append(r.url))
    try:
        page.goto(live_url)
        page.wait_for_function("() => document.querySelector('#lsn-status[data-mode=server]')")
        assert "decoded on the server" in page.inner_text("#lsn-status")
        page.wait_for_selector("#lsn-server-digit", state="visible")
        area = plot_area(page)
        page.mouse.move(area["x"] + 200, area["y"] + 200)
        page.mouse.down()
        for i in range(10):
            page.mouse.move(area["x"] + 200 + 8 * i, area["y"] + 200)
        page.mouse.up()
        x, y = settled(page)
        page.wait_for_function("(z) => document.querySelector('#lsn-server-digit').src"
                               ".includes(`x=${z[0]}&y=${z[1]}&`) && "
                               "document.querySelector('#lsn-server-digit').complete", arg=[x, y])
        assert len(images) >= 2
        png = page.request.get(page.evaluate("document.querySelector('#lsn-server-digit').src")).body()
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(png)))[::10, ::10], torch_digit(x, y))
        page.screenshot(path=shots / "server_fallback.png")
    finally:
        ctx.close()


@pytest.mark.parametrize("name", nn.list_models())
def test_the_page_decoder_matches_torch_for_every_shipped_model(page, name):
    """1000 random z across the model's extent and its ten class centres, decoded in Chromium
    from the same file the page fetches: within 1/255 of torch per pixel."""
    lm = store.STORE.get(name)
    lo, hi = np.reshape(lm.extent, (-1, 2)).T  # any latent size: a box, a range per dimension
    z = np.concatenate([np.random.default_rng(0).uniform(lo, hi, (1000, lm.dim)), lm.centres]).astype(np.float32)
    out = page.evaluate("""async ([name, z]) => {
        const r = await fetch('api/model/' + name);
        const dec = LSNDecoder.buildDecoder(LSNDecoder.parseSafetensors(await r.arrayBuffer()));
        const all = new Uint8Array(z.length * 784);
        z.forEach((code, i) => all.set(dec.decodeUint8(code), i * 784));
        let s = ''; for (let i = 0; i < all.length; i += 8192) s += String.fromCharCode(...all.subarray(i, i + 8192));
        return btoa(s); }""", [name, z.tolist()])
    page_digits = np.frombuffer(base64.b64decode(out), np.uint8).reshape(-1, 28, 28).astype(int)
    diff = np.abs(page_digits - nn.decode_uint8(lm.model, z))
    print(f"{name}: max |page - torch| {diff.max()}/255, {(diff > 0).mean():.4%} of pixels differ")
    assert diff.max() <= 1
