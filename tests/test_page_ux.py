"""The page's user experience (issue #11) in a real browser, driven by real input only
(page.mouse, page.keyboard, page.click): the header and the map's note, errors as toasts that
leave the view alone, the X/Y boxes and their reset buttons in step with the digit, a
double-click on the map that resets the zoom without moving the point, and the rest of the
issue's list. Helpers from tests/pages.py, fixtures from conftest (live_url, chromium, shots);
screenshots go to conftest's shots folder. Run: pytest tests/test_page_ux.py (skipped without /usr/bin/chromium)."""

import re

import numpy as np
import pytest
from PIL import Image

import api
import checks
import directions as dirs
import images
import store
from pages import (
    BOX,
    assert_same_digit,
    at_rest,
    canvas,
    expected_z_text,
    jump,
    open_at,
    open_page,
    plot_area,
    settled,
    sliders,
    torch_digit,
    z_at,
    z_text,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def page(live_url, chromium):
    page = open_page(chromium, live_url)
    yield page
    page.context.close()


def axis_range(page):
    return page.evaluate("() => { const l = document.querySelector('#lsn-map .js-plotly-plot')"
                         "._fullLayout; return [...l.xaxis.range, ...l.yaxis.range]; }")


def no_error_badge(page):
    """No element of the page shows Gradio's red 'Error' status."""
    return page.locator(".wrap .error, .error-badge").count() == 0 and \
        page.get_by_text("Error", exact=True).count() == 0


def test_the_header_names_the_app_what_to_do_and_the_model_and_follows_a_switch(page, shots):
    header = page.inner_text("#lsn-header")
    assert "Latent Space Navigator" in header and "press or drag on the map" in header
    assert "mnist_vae_beta4" in header
    box = page.locator("#lsn-header").bounding_box()
    assert box["y"] >= 0 and box["height"] <= 64  # compact: two lines
    assert page.locator("#lsn-map .xtitle").text_content() == "z1"
    assert page.locator("#lsn-map .ytitle").text_content() == "z2"
    assert page.inner_text("#lsn-jump-label").strip() == "jump to a class centre:"
    # the note opens with a click and says what a point, two clusters and beta mean
    page.get_by_text("how to read this map").click()
    note = page.locator("#lsn-note")
    note.get_by_text("A point").wait_for()
    text = note.inner_text()
    assert "test image's code" in text and "two clusters" in text and "N(0, I)" in text
    assert "blurrier" in text
    page.screenshot(path=shots / "ux_header_note.png")
    page.get_by_text("how to read this map").click()
    # switch the model on the Models tab: the header names the new one
    page.get_by_role("tab", name="Models").click()
    page.click("#lsn-model input")
    page.get_by_role("option", name="mnist_ae", exact=True).click()
    page.wait_for_function("() => document.querySelector('#lsn-header').innerText.includes('mnist_ae')")
    page.wait_for_function("() => window.lsnStats.mode === 'local'")
    page.mouse.wheel(0, -3000)
    page.wait_for_function("() => window.scrollY === 0")
    page.screenshot(path=shots / "ux_header_switched.png")
    assert "mnist_vae_beta4" not in page.inner_text("#lsn-header")


def test_go_there_before_encoding_is_a_toast_and_the_view_keeps_its_values(page, shots):
    page.click("#lsn-jump-3")
    lm = store.STORE.get()
    cx, cy = (round(v, 2) for v in checks.clamp_xy(lm, *lm.centres[3]))
    page.wait_for_function(f"() => document.querySelector('#lsn-marker').dataset.z === '{cx},{cy}'")
    before = settled(page)
    ztext = z_text(page)
    page.get_by_role("tab", name="Draw or upload").click()
    page.get_by_role("button", name="go there").click()
    toast = page.locator(".toast-body").filter(has_text="nothing encoded yet")
    toast.wait_for()
    # nothing is to happen: no condition to wait on, so the event is given its time to do harm
    page.wait_for_timeout(500)
    page.screenshot(path=shots / "ux_error_toast.png")
    assert sliders(page) == before and z_text(page) == ztext
    assert_same_digit(page, *before)
    assert no_error_badge(page)


def test_a_value_typed_beyond_the_extent_is_clamped_with_a_toast_naming_it(page, shots):
    lm = store.STORE.get()
    xmin, xmax, ymin, ymax = lm.extent
    start = settled(page)
    box = page.locator(BOX.format("x"))
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("9")
    page.keyboard.press("Enter")
    page.locator(".toast-body").filter(has_text=f"x = 9 is outside {lm.name}'s range").wait_for()
    page.wait_for_function(f"() => +document.querySelector('#lsn-x .lsn-num').value === {xmax}")
    x, y = settled(page)
    assert (x, y) == (xmax, start[1])
    assert_same_digit(page, xmax, start[1])
    page.wait_for_function("(t) => document.querySelector('#lsn-z').textContent === t",
                           arg=expected_z_text(lm, xmax, start[1]), timeout=2000)
    page.mouse.click(10, 10)  # the box loses focus: it still shows the clamped value
    assert float(box.input_value()) == xmax
    assert float(page.input_value("#lsn-x input[type=range]")) == xmax
    page.screenshot(path=shots / "ux_typed_clamped.png")
    assert no_error_badge(page)


def test_a_double_click_on_the_map_resets_the_zoom_and_leaves_the_point(page, shots):
    area = plot_area(page)
    page.mouse.click(area["x"] + area["width"] * 0.3, area["y"] + area["height"] * 0.6)
    before = settled(page)
    full = axis_range(page)
    page.locator('#lsn-map .modebar-btn[data-title="Zoom in"]').click()
    page.wait_for_function(f"() => document.querySelector('#lsn-map .js-plotly-plot')._fullLayout"
                           f".xaxis.range[0] > {full[0] + 0.1}")
    zoomed = axis_range(page)
    page.screenshot(path=shots / "ux_zoomed.png")
    area = plot_area(page)
    px, py = area["x"] + area["width"] * 0.8, area["y"] + area["height"] * 0.2
    assert z_at(page, px, py) != pytest.approx(before, abs=0.05)
    page.mouse.dblclick(px, py)
    page.wait_for_function(f"() => document.querySelector('#lsn-map .js-plotly-plot')._fullLayout"
                           f".xaxis.range[0] < {zoomed[0] - 0.1}")
    page.wait_for_function("(r) => { const x = document.querySelector('#lsn-map .js-plotly-plot')"
                           "._fullLayout.xaxis.range; return Math.abs(x[0] - r[0]) < 0.01 && "
                           "Math.abs(x[1] - r[1]) < 0.01; }", arg=list(full[:2]))
    assert axis_range(page) == pytest.approx(full, abs=0.01)
    assert settled(page) == before
    assert_same_digit(page, *before)
    page.screenshot(path=shots / "ux_dblclick_reset.png")


def stroke(page, box, points):
    """A real mouse stroke through `points` (fractions of the box)."""
    at = lambda fx, fy: (box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)  # noqa: E731
    page.mouse.move(*at(*points[0]))
    page.mouse.down()
    for fx, fy in points[1:]:
        page.mouse.move(*at(fx, fy), steps=8)  # in small steps, as a hand moves
    page.mouse.up()


def test_drawing_works_at_once_and_after_clear(page, shots):
    page.get_by_role("tab", name="Draw or upload").click()
    pad = page.locator("#lsn-sketch .pixi-target canvas")
    pad.wait_for()
    page.wait_for_selector("#lsn-sketch .empty.wrap", state="detached")  # a tool is selected
    page.locator("#lsn-draw-out").scroll_into_view_if_needed()  # the pad and the encoding
    box = pad.bounding_box()
    stroke(page, box, [(0.5, 0.2), (0.5, 0.4), (0.5, 0.6), (0.5, 0.8)])  # a 1, no click first
    page.screenshot(path=shots / "ux_drawn.png")
    assert page.evaluate("String(window.getSelection())") == ""  # no page text selected
    out = page.locator("#lsn-draw-out textarea, #lsn-draw-out input").first
    page.get_by_role("button", name="encode drawing").click()
    page.wait_for_function("() => { const e = document.querySelector('#lsn-draw-out textarea, "
                           "#lsn-draw-out input'); return e && e.value.startsWith('mu = ('); }")
    first = out.input_value()
    page.screenshot(path=shots / "ux_drawn_encoded.png")
    # clear, and the brush is still the tool: a new stroke draws and encodes
    page.locator('#lsn-sketch button[aria-label="Clear canvas"]').click()
    page.wait_for_selector("#lsn-sketch .empty.wrap", state="detached")
    stroke(page, box, [(0.25, 0.5), (0.5, 0.25), (0.75, 0.5), (0.5, 0.75), (0.25, 0.5)])  # a 0
    page.screenshot(path=shots / "ux_cleared_redrawn.png")
    page.get_by_role("button", name="encode drawing").click()
    page.wait_for_function("(v) => document.querySelector('#lsn-draw-out textarea, #lsn-draw-out "
                           "input').value !== v", arg=first)
    assert out.input_value().startswith("mu = (")
    page.screenshot(path=shots / "ux_cleared_redrawn.png")


def test_random_shows_the_seed_it_used_and_a_second_press_draws_anew(page, shots):
    lm = store.STORE.get()
    seed_box = page.locator("#lsn-seed input")
    for used in (0, 1):  # the box shows 0 and the first press uses 0; the next press uses 1
        page.get_by_role("button", name="random z ~ N(0, I)").click()
        x, y = (round(v, 2) for v in checks.clamp_xy(lm, *api.random_point(used)))
        page.wait_for_function("(z) => document.querySelector('#lsn-marker').dataset.z === z",
                               arg=f"{x:g},{y:g}")
        assert seed_box.input_value() == str(used)
    page.screenshot(path=shots / "ux_random_seed.png")
    seed_box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("42")
    page.get_by_role("button", name="random z ~ N(0, I)").click()
    x, y = (round(v, 2) for v in checks.clamp_xy(lm, *api.random_point(42)))
    page.wait_for_function("(z) => document.querySelector('#lsn-marker').dataset.z === z", arg=f"{x:g},{y:g}")
    assert seed_box.input_value() == "42"
    assert settled(page) == (x, y)
    assert_same_digit(page, x, y)


def test_a_second_morph_click_during_the_animation_is_not_dropped(page, shots):
    page.click("#lsn-jump-1")
    lm = store.STORE.get()
    start = "{:g},{:g}".format(*(round(v, 2) for v in checks.clamp_xy(lm, *lm.centres[1])))
    page.wait_for_function("(z) => document.querySelector('#lsn-marker').dataset.z === z", arg=start)
    x0, y0 = settled(page)
    page.get_by_role("tab", name="Morph").click()
    once = api.morph(x0, y0, "0", 0.25)
    page.click("#lsn-morph")
    page.wait_for_function("() => +document.querySelector('#lsn-trail').dataset.points >= 3")
    page.click("#lsn-morph")  # mid-animation (16 frames, ~0.5 s)
    x, y = at_rest(page)  # both animations over
    cx, cy = lm.centres[0]
    d = lambda p: ((p[0] - cx) ** 2 + (p[1] - cy) ** 2) ** 0.5  # noqa: E731
    assert d((x, y)) < d(once) - 0.05  # past where one morph ends: the second click counted
    assert_same_digit(page, x, y)
    page.screenshot(path=shots / "ux_morph_twice.png")


def test_a_model_switch_clears_the_comparison(page, shots):
    page.get_by_role("tab", name="Models").click()
    page.get_by_role("button", name="compare the course's models at this z (AE, beta 1, 3, 10)").click()
    page.locator(".gallery-item, [data-testid=gallery] img").first.wait_for()
    page.click("#lsn-model input")
    page.get_by_role("option", name="mnist_vae_beta1", exact=True).click()
    page.wait_for_function("() => document.querySelector('#lsn-header').innerText.includes('mnist_vae_beta1')")
    page.wait_for_function("() => !document.querySelector('[data-testid=gallery] img, .gallery-item img')")
    page.screenshot(path=shots / "ux_switch_clears_comparison.png", full_page=True)


def test_the_address_carries_the_model_and_position_and_restores_them(live_url, chromium, shots):
    page = open_at(chromium, live_url, "mnist_vae_beta1", "&x=1.5&y=-1")
    try:
        page.wait_for_function("() => document.querySelector('#lsn-marker').dataset.z === '1.5,-1'")
        assert settled(page) == (1.5, -1)
        lm = store.STORE.get("mnist_vae_beta1")
        diff = canvas(page).astype(int) - torch_digit(1.5, -1, "mnist_vae_beta1")
        assert abs(diff).max() <= 1
        assert z_text(page) == expected_z_text(lm, 1.5, -1)
        page.screenshot(path=shots / "ux_address_restored.png")
        # a press on the map: once the position settles, the address names it
        area = plot_area(page)
        page.mouse.click(area["x"] + area["width"] * 0.7, area["y"] + area["height"] * 0.3)
        x, y = settled(page)
        page.wait_for_function("(q) => location.hash === q",
                               arg=f"#model=mnist_vae_beta1&x={x:.2f}&y={y:.2f}")
        shared = page.url
        page.context.close()
        # the address as shared: it opens at that model and z
        page = open_page(chromium, shared)
        page.wait_for_function("() => document.querySelector('#lsn-header').innerText"
                               ".includes('mnist_vae_beta1') && window.lsnStats.mode === 'local'")
        page.wait_for_function("(z) => document.querySelector('#lsn-marker').dataset.z === z",
                               arg=f"{x:g},{y:g}")
        assert settled(page) == (x, y)
        diff = canvas(page).astype(int) - torch_digit(x, y, "mnist_vae_beta1")
        assert abs(diff).max() <= 1
        page.screenshot(path=shots / "ux_address_shared.png")
    finally:
        page.context.close()


def boxes(page, selector):
    return [page.locator(selector).nth(i).bounding_box() for i in range(page.locator(selector).count())]


def overlap(a, b):
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and
            a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def test_a_non_image_upload_is_a_toast_that_names_the_problem_and_no_path(page, shots, tmp_path):
    before = settled(page)
    page.get_by_role("tab", name="Draw or upload").click()
    notes = tmp_path / "notes.png"  # named like an image, but text
    notes.write_text("not an image at all\n" * 20)
    page.locator("#lsn-upload input[type=file]").set_input_files(str(notes))
    toast = page.locator(".toast-body").first
    toast.wait_for()
    text = toast.inner_text()
    page.screenshot(path=shots / "ux_upload_not_an_image.png")
    assert "image" in text.lower() and "/tmp" not in text and "Traceback" not in text, text
    assert sliders(page) == before and no_error_badge(page)


def test_the_phone_layout_shows_the_map_and_the_digit_and_every_tab_is_one_tap(live_url, chromium, shots):
    page = open_page(chromium, live_url, viewport={"width": 390, "height": 844}, has_touch=True,
                     is_mobile=True, device_scale_factor=2)
    try:
        area, digit = plot_area(page), page.locator("#lsn-digit canvas").bounding_box()
        plot = page.locator("#lsn-map .js-plotly-plot").bounding_box()
        assert plot["height"] >= 280 and abs(plot["width"] - plot["height"]) < 0.2 * plot["width"]
        for box in (plot, digit):  # both wholly on the first screen
            assert box["y"] >= 0 and box["y"] + box["height"] <= 844 and box["x"] + box["width"] <= 390
        assert area["height"] >= 250
        page.screenshot(path=shots / "ux_phone_first_screen.png")
        # a finger on the map moves the point (the way to move on the first screen)
        start = settled(page)
        page.touchscreen.tap(area["x"] + area["width"] * 0.8, area["y"] + area["height"] * 0.25)
        assert settled(page) != start
        # every tab is a visible button, one tap away (no "..." menu)
        page.locator("#lsn-tabs").scroll_into_view_if_needed()
        for name in ["Morph", "Edit", "Interpolate", "Sample", "Models", "Draw or upload"]:
            tab = page.get_by_role("tab", name=name)
            assert tab.is_visible()
            tab.tap()
            assert tab.get_attribute("aria-selected") == "true"
        page.screenshot(path=shots / "ux_phone_tabs.png")
    finally:
        page.context.close()


def test_the_exports_are_4x_frames_named_by_method_and_a_224_px_gif(page, shots, tmp_path):
    page.get_by_role("tab", name="Interpolate").click()
    steps = page.locator("#lsn-steps input[type=number]")
    steps.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("64")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="interpolate", exact=True).click()
    page.get_by_text("linear (rows 1-4) / spherical (rows 5-8)").wait_for()
    page.locator("#lsn-files a").nth(1).wait_for()
    page.screenshot(path=shots / "ux_exports.png", full_page=True)
    sizes = {}
    for i in range(2):
        with page.expect_download() as d:
            page.locator("#lsn-files a").nth(i).click()
        path = tmp_path / d.value.suggested_filename
        d.value.save_as(path)
        sizes[path.suffix] = Image.open(path).size
        # named by what it shows: the model, the classes, the method, the steps
        assert path.stem == "mnist_vae_beta4_0-to-9_both_64-steps", path.name
    cols = 16  # the strip's columns at 64 steps
    row = images.labelled_strip(np.zeros((1, 28, 28), np.uint8), ["linear 1"], 4).height
    assert sizes[".png"] == ((cols * 30 - 2) * 4, 2 * 4 * row)  # 4 rows of 16 frames a method
    # each GIF frame: linear and spherical side by side, 224 px each, named underneath
    named = images.labelled_strip(np.zeros((2, 28, 28), np.uint8), ["linear", "spherical"], 8)
    assert sizes[".gif"] == named.size and named.size[1] > 224


def test_the_sample_tab_opens_drawn_with_a_bar_chart_and_applies_typed_values(page, shots):
    page.get_by_role("tab", name="Sample").click()
    grid = page.locator("#lsn-samples img")
    grid.wait_for()  # drawn when the tab opens, before any button
    assert page.locator("#lsn-map .annotation-text", has_text="samples").count() == 0
    assert page.evaluate("() => document.querySelector('#lsn-map .js-plotly-plot')._fullData"
                         ".every(t => t.name !== 'samples')")  # not marked on the map yet
    bars = page.locator("#lsn-sample-bars .js-plotly-plot .bars path")
    bars.first.wait_for()
    assert bars.count() == 2 * 16  # z1 and z2 of each of the 16 samples
    assert [b.inner_text() for b in page.locator("#lsn-sample-presets button").all()] == [
        "prior N(0, I)", "resample", "randomize mu"]
    page.screenshot(path=shots / "ux_sample_tab.png", full_page=True)
    first = grid.get_attribute("src")
    for axis in "xy":  # typed, and applied as typed: no Enter, the box keeps the focus
        box = page.locator(f"#lsn-sigma-{axis} input[type=number]")
        box.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("0")
    page.wait_for_function("(s) => document.querySelector('#lsn-samples img').src !== s", arg=first)
    page.wait_for_function("() => [...document.querySelectorAll('#lsn-map .annotation-text')]"
                           ".some(a => a.textContent === '16 samples, 1 distinct (sigma 0)')")
    assert page.locator("#lsn-sigma-y input[type=number]").evaluate("e => e === document.activeElement")
    page.screenshot(path=shots / "ux_sample_sigma0.png", full_page=True)


def test_fashion_names_images_not_digits_with_even_buttons_and_apart_labels(live_url, chromium, shots):
    page = open_at(chromium, live_url, "fashion_vae_beta4")
    try:
        page.wait_for_function("() => document.querySelector('#lsn-jump-0').innerText === 'T-shirt/top'")
        page.wait_for_function("() => document.querySelector('#lsn-z').textContent.includes('nearest test images')")
        buttons = boxes(page, "#lsn-jump button")
        assert len(buttons) == 10
        assert max(b["width"] for b in buttons) - min(b["width"] for b in buttons) < 1
        assert max(b["height"] for b in buttons) - min(b["height"] for b in buttons) < 1
        page.wait_for_function("() => [...document.querySelectorAll('#lsn-map .annotation-text')]"
                               ".some(a => a.textContent === 'T-shirt/top')")  # fashion's map
        # the class labels (the prior's circles are labelled too, "prior 1σ": not a class)
        classes = page.locator("#lsn-map .annotation").filter(has_not_text="prior")
        page.wait_for_function("() => [...document.querySelectorAll('#lsn-map .annotation')]"
                               ".filter(a => !a.textContent.startsWith('prior')).length === 10")
        labels = [classes.nth(i).locator(".bg").bounding_box() for i in range(classes.count())]
        assert len(labels) == 10
        page.screenshot(path=shots / "ux_fashion.png")
        clashes = [(i, j) for i, a in enumerate(labels) for j, b in enumerate(labels[:i]) if overlap(a, b)]
        assert not clashes, (clashes, labels, plot_area(page))
        page.screenshot(path=shots / "ux_fashion.png")
    finally:
        page.context.close()


def test_an_ae_opens_on_its_classes_with_equal_axes_and_no_prior_controls(live_url, chromium, shots):
    page = open_at(chromium, live_url, "mnist_ae")
    try:
        ae = store.STORE.get("mnist_ae")
        page.wait_for_function(f"() => document.querySelector('#lsn-map .js-plotly-plot')._fullLayout"
                               f".yaxis.range[1] < {ae.extent[3] - 1}")
        assert not page.locator("#lsn-random").is_visible()
        xr, yr, w, hgt = page.evaluate("() => { const l = document.querySelector('#lsn-map .js-plotly-plot')"
                                       "._fullLayout; return [l.xaxis.range, l.yaxis.range, l.xaxis._length,"
                                       " l.yaxis._length]; }")
        assert (xr[1] - xr[0]) / w == pytest.approx((yr[1] - yr[0]) / hgt, rel=0.02)  # equal aspect
        for cx, cy in ae.centres:  # every class centre in view
            assert xr[0] < cx < xr[1] and yr[0] < cy < yr[1]
        page.get_by_text("decoded manifold").click()
        page.locator("#lsn-map .imagelayer image").wait_for()
        img = page.locator("#lsn-map .imagelayer image").bounding_box()
        assert img["width"] == pytest.approx(img["height"], rel=0.02)  # square cells
        page.screenshot(path=shots / "ux_ae_manifold.png")
        page.get_by_role("tab", name="Sample").click()
        page.get_by_text("no prior").wait_for()
        assert not page.get_by_role("button", name="prior N(0, I)").is_visible()
    finally:
        page.context.close()


def test_a_morph_leaves_its_trail_on_the_map(page, shots):
    page.get_by_role("tab", name="Morph").click()
    page.click("#lsn-morph")
    page.wait_for_function("() => +(document.querySelector('#lsn-trail') || {dataset: {}}).dataset.points >= 9")
    at_rest(page)
    dark = page.evaluate("""() => { const c = document.querySelector('#lsn-trail');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 100; return n; }""")
    assert dark > 50
    page.screenshot(path=shots / "ux_morph_trail.png")


def test_while_loading_the_map_says_so_and_nothing_jumps_when_it_arrives(live_url, chromium, shots):
    ctx = chromium.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    try:
        # hold the page's first answers and its decoder back a little, so that the loading state
        # can be seen
        page.route("**/gradio_api/queue/data*", lambda route: (page.wait_for_timeout(1500), route.continue_()))
        page.route("**/api/model/**", lambda route: (page.wait_for_timeout(1500), route.continue_()))
        page.goto(live_url)
        page.wait_for_selector("#lsn-map")
        page.wait_for_selector("#lsn-status")
        before = page.locator("#lsn-map").bounding_box()
        waiting = page.evaluate("() => document.querySelector('#lsn-map .js-plotly-plot') ? null : "
                                "getComputedStyle(document.querySelector('#lsn-map'), '::after').content")
        decoder = page.evaluate("() => [document.querySelector('#lsn-status').dataset.mode, "
                                "document.querySelector('#lsn-status').textContent]")
        page.screenshot(path=shots / "ux_loading.png")
        page.wait_for_selector("#lsn-map .js-plotly-plot .scatterlayer", timeout=30_000)
        after = page.locator("#lsn-map").bounding_box()
        assert waiting == '"loading the map…"' and decoder == ["loading", "loading the decoder…"]
        assert after["height"] == pytest.approx(before["height"], abs=4)
        assert page.locator("#lsn-x").bounding_box()["y"] > 0
        page.wait_for_selector("#lsn-status[data-mode=local]")
    finally:
        ctx.close()


# --- issue 16's defects, each with real input -----------------------------------------------

def test_defect_1_a_shared_link_for_the_autoencoder_opens_on_its_model(live_url, chromium, shots):
    page = open_page(chromium, live_url)
    try:
        page.get_by_role("tab", name="Models").click()
        page.click("#lsn-model input")
        page.get_by_role("option", name="mnist_ae", exact=True).click()
        page.wait_for_function("() => document.querySelector('#lsn-header').innerText.includes('mnist_ae')"
                               " && document.querySelector('#lsn-status').dataset.mode === 'local'")
        page.click("#lsn-jump-1")
        ae = store.STORE.get("mnist_ae")
        x, y = (round(v, 2) for v in checks.clamp_xy(ae, *ae.centres[1]))
        page.wait_for_function("(q) => location.hash === q", arg=f"#model=mnist_ae&x={x:.2f}&y={y:.2f}")
        shared = page.url
        page.context.close()
        page = open_page(chromium, shared)  # the link, opened in a fresh page
        page.wait_for_function("(z) => document.querySelector('#lsn-canvas').dataset.z === z",
                               arg=f"{x:g},{y:g}")
        assert "mnist_ae" in page.inner_text("#lsn-header")
        page.get_by_role("tab", name="Models").click()
        assert page.locator("#lsn-model input").input_value() == "mnist_ae"
        assert float(page.get_attribute("#lsn-x input[type=range]", "max")) == ae.extent[1]
        assert settled(page) == (x, y)
        assert_same_digit(page, x, y, model="mnist_ae")
        assert no_error_badge(page) and page.locator(".toast-body").count() == 0
        page.click("#lsn-jump-3")  # the AE's centre of the 3s, drawn by the AE's decoder
        cx, cy = (round(v, 2) for v in checks.clamp_xy(ae, *ae.centres[3]))
        page.wait_for_function("(z) => document.querySelector('#lsn-canvas').dataset.z === z",
                               arg=f"{cx:g},{cy:g}")
        assert_same_digit(page, cx, cy, model="mnist_ae")
        page.wait_for_function("() => document.querySelector('#lsn-z').textContent.endsWith(': 3')")
        page.screenshot(path=shots / "defect1_ae_link.png")
    finally:
        page.context.close()


def test_defect_2_partial_and_cleared_sample_boxes_are_no_error(page, shots, capfd):
    page.get_by_role("tab", name="Sample").click()
    grid = page.locator("#lsn-samples img")
    grid.wait_for()
    capfd.readouterr()
    first = grid.get_attribute("src")
    mu_x = page.get_by_label("number input for mu_x")
    mu_x.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("-1", delay=120)  # normal typing speed: "-" reaches the server first
    page.wait_for_function("(s) => document.querySelector('#lsn-samples img').src !== s", arg=first)
    n = page.get_by_label("number input for n samples")
    n.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")  # cleared
    mu_x.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("-7", delay=120)
    page.locator(".toast-body").filter(has_text="mu_x = -7 is outside -3..3: set to -3").wait_for()
    page.wait_for_function("() => +document.querySelector('[aria-label=\"number input for mu_x\"]')"
                           ".value === -3")
    page.screenshot(path=shots / "defect2_sample_boxes.png", full_page=True)
    toasts = " ".join(page.locator(".toast-body").all_inner_texts())
    assert "preprocess" not in toasts and "TypeError" not in toasts
    assert no_error_badge(page) and grid.is_visible()
    assert "Traceback" not in capfd.readouterr().err


def test_defect_3_typed_x_values_commit_as_typed_and_a_non_number_is_named(page, shots):
    page.click("#lsn-jump-7")
    lm = store.STORE.get()
    cx, cy = (round(v, 2) for v in checks.clamp_xy(lm, *lm.centres[7]))
    page.wait_for_function("(z) => document.querySelector('#lsn-marker').dataset.z === z",
                           arg=f"{cx:g},{cy:g}")
    box = page.locator(BOX.format("x"))
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("abc")
    page.keyboard.press("Enter")
    page.locator(".toast-body").filter(has_text='X must be a number, not "abc"').wait_for()
    assert box.input_value() == f"{cx:.2f}" and settled(page) == (cx, cy)
    assert float(page.input_value("#lsn-x input[type=range]")) == cx
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("-0.25", delay=10)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#lsn-marker').dataset.z.startsWith('-0.25,')")
    assert settled(page) == (-0.25, cy)
    assert float(page.input_value("#lsn-x input[type=range]")) == -0.25
    assert_same_digit(page, -0.25, cy)
    page.screenshot(path=shots / "defect3_typed_x.png")


# --- digit attributes: measured beside the digit, the Edit tab, the arrows, the heat map ---------

FRESH = ("() => { const a = document.querySelector('#lsn-attrs'); return a.dataset.stale === '' "
         "&& a.textContent.includes('slant'); }")  # measured where z is


def measured(page):
    """The attributes shown beside the digit, {name: value}."""
    text = page.locator("#lsn-attrs").inner_text()
    return {p.split()[0]: float(p.split()[1]) for p in text.split(" · ")}


@pytest.mark.parametrize("model", ["mnist_vae_beta4", "mnist_ae", "fashion_vae_beta4"])
def test_an_edit_click_moves_z_along_the_attribute_with_its_arrows_and_measures(live_url, chromium, shots, model):
    page = open_at(chromium, live_url, model)
    try:
        lm = store.STORE.get(model)
        x0, y0 = jump(page, 7, model)
        page.wait_for_function(FRESH)
        before = measured(page)
        assert before == pytest.approx({a: round(v, 2) for a, v in api.measure(z=[x0, y0], model=model).items()},
                                       abs=0.011)
        page.wait_for_function("() => document.querySelector('#lsn-arrows').dataset.arrows === '6'")
        page.get_by_role("tab", name="Edit").click()
        assert "right way" in page.locator("#lsn-edit-label-slant").inner_text()
        figures = lm.atlas["directions"]["table"]["width"]
        assert (("unreliable" in page.locator("#lsn-edit-label-width").inner_text())
                == (not figures["reliable"]))
        page.click("#lsn-edit-width-\\+")
        page.wait_for_function("(z) => document.querySelector('#lsn-marker').dataset.z !== z",
                               arg=f"{x0:g},{y0:g}")
        x, y = at_rest(page)
        assert [x, y] == [round(v, 2) for v in api.edit([x0, y0], "width", dirs.AMOUNTS["width"], model)]
        assert_same_digit(page, x, y, model=model)
        page.wait_for_function(FRESH)
        assert measured(page)["width"] == pytest.approx(api.measure(z=[x, y], model=model)["width"], abs=0.011)
        page.wait_for_function("() => +document.querySelector('#lsn-trail').dataset.points >= 3")
        page.screenshot(path=shots / f"ux_edit_{model}.png", full_page=True)
        # a press on the map moves z: the arrows go, the attributes fade, until it settles again
        page.locator("#lsn-map").scroll_into_view_if_needed()
        box = plot_area(page)
        page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.32, box["y"] + box["height"] * 0.6)
        assert page.locator("#lsn-arrows").get_attribute("data-arrows") == "0"
        assert page.locator("#lsn-attrs").get_attribute("data-stale") == "1"
        page.mouse.up()
        page.wait_for_function(FRESH)
        page.wait_for_function("() => document.querySelector('#lsn-arrows').dataset.arrows === '6'")
        assert no_error_badge(page)
    finally:
        page.context.close()


def test_the_map_can_be_coloured_by_an_attribute_of_the_decoded_digits(page, shots):
    page.get_by_role("tab", name="Edit").click()
    page.click("#lsn-heat input")
    page.get_by_role("option", name="thickness", exact=True).click()
    page.wait_for_function("() => { const gd = document.querySelector('#lsn-map .js-plotly-plot'); "
                           "return gd.data[0].type === 'heatmap'; }", timeout=30000)
    assert page.locator("#lsn-map .hm, #lsn-map .heatmaplayer image").count() >= 1
    page.screenshot(path=shots / "ux_heat_thickness.png")


def test_an_encoded_drawing_is_edited_beside_its_reconstruction(page, shots):
    page.get_by_role("tab", name="Draw or upload").click()
    pad = page.locator("#lsn-sketch .pixi-target canvas")
    pad.wait_for()
    page.wait_for_selector("#lsn-sketch .empty.wrap", state="detached")
    page.locator("#lsn-draw-out").scroll_into_view_if_needed()
    stroke(page, pad.bounding_box(), [(0.5, 0.2), (0.5, 0.4), (0.5, 0.6), (0.5, 0.8)])  # a 1
    page.get_by_role("button", name="encode drawing").click()
    out = page.locator("#lsn-draw-out textarea").first
    page.wait_for_function("() => document.querySelector('#lsn-draw-out textarea').value.startsWith('mu = (')")
    page.click("#lsn-draw-attr input")
    page.get_by_role("option", name="width", exact=True).click()
    for _ in range(2):
        page.click("#lsn-draw-\\+")
        page.wait_for_function("(n) => (document.querySelector('#lsn-draw-out textarea').value"
                               ".match(/width \\+1 px/g) || []).length === n", arg=_ + 1)
    text = out.input_value()
    reconstructed, edited = (float(v) for v in re.findall(r"([\d.]+) px (?:reconstructed|edited)", text))
    assert edited > reconstructed, text  # two clicks wider, measured on the decoded digits
    width = page.evaluate("() => document.querySelector('#lsn-draw-out').closest('.column')"
                          ".querySelector('img').naturalWidth")
    assert width == 3 * 28 * 5 + 2 * 4 * 5  # input | reconstruction | edited
    page.screenshot(path=shots / "ux_drawing_edited.png", full_page=True)
