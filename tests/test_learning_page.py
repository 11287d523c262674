"""The page a student learns from, in Chromium with real input (page.mouse, page.keyboard, touch
through the DevTools protocol): every dot is a test image (its card, a click to its code, the
search box), the encoder at work (q(z|x)'s ellipses and inset, samples, the loss terms), a map
that shows its limits (the reachable region, the prior's circles, wheel zoom, pan, pinch, the
view kept on resize) and the loose ends mended, each with its test. Screenshots go to
tests/screenshots/learn_*.png. Helpers from tests/pages.py; fixtures from conftest.py.

    pytest -m browser tests/test_learning_page.py
"""

import numpy as np
import pytest

import api
import latent_utils as lu
import store
import tab_models
from neural_network import list_models
from pages import assert_same_digit, at_rest, jump, open_page, plot_area, settled, sliders, touch

pytestmark = pytest.mark.browser

RANGES = ("() => { const l = document.querySelector('#lsn-map .js-plotly-plot')._fullLayout; "
          "return [...l.xaxis.range, ...l.yaxis.range]; }")


@pytest.fixture
def page(live_url, chromium):
    page = open_page(chromium, live_url)
    yield page
    page.context.close()


def pixel_of(page, z):
    """The viewport pixel of z, by Plotly's own axis conversion (not the page's)."""
    return tuple(page.evaluate(
        "([x, y]) => { const gd = document.querySelector('#lsn-map .js-plotly-plot'), "
        "l = gd._fullLayout, r = gd.getBoundingClientRect(); return [r.left + l.xaxis._offset + "
        "l.xaxis.l2p(x), r.top + l.yaxis._offset + l.yaxis.l2p(y)]; }", list(z)))


def card_pixels(page, which):
    """The card's 28x28 grey pixels: which 0 is the decoded digit, 1 the test image."""
    data = page.evaluate("(k) => Array.from(document.querySelectorAll('#lsn-preview canvas')[k]"
                         ".getContext('2d').getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))",
                         which)
    return np.array(data, np.uint8).reshape(28, 28)


def marker_z(page):
    return tuple(float(v) for v in page.get_attribute("#lsn-marker", "data-z").split(","))


# --- every dot is a test image ---------------------------------------------------------------

def test_a_dot_shows_its_test_image_reconstruction_index_and_label_and_a_click_goes_to_it(page, shots):
    lm = store.STORE.get()
    i = 17
    z = lm.atlas["mu"][i].tolist()
    px, py = pixel_of(page, z)
    page.mouse.move(px + 30, py + 30)
    page.mouse.move(px + 1, py + 1)
    page.wait_for_function("(i) => document.querySelector('#lsn-preview').dataset.dot === i", arg=str(i))
    text = page.inner_text("#lsn-preview span")
    assert f"test image #{i} · label {lm.classes[int(lm.atlas['labels'][i])]}" in text
    page.wait_for_function("() => document.querySelectorAll('#lsn-preview canvas')[1].style.visibility === 'visible'")
    assert np.array_equal(card_pixels(page, 1), lu.load_test_images("mnist")[i].numpy())  # the image
    from pages import torch_digit
    assert np.abs(card_pixels(page, 0).astype(int) - torch_digit(*z)).max() <= 1  # its reconstruction
    page.screenshot(path=shots / "learn_dot_card.png")
    page.mouse.click(px + 1, py + 1)  # a click on the dot goes to its code, not to the pointer
    x, y = at_rest(page)
    assert (x, y) == (round(z[0], 2), round(z[1], 2))
    assert_same_digit(page, x, y)


def test_a_finger_on_a_dot_goes_to_its_code_and_shows_its_card(live_url, chromium, shots):
    page = open_page(chromium, live_url, viewport={"width": 390, "height": 844}, has_touch=True,
                     is_mobile=True, device_scale_factor=2)
    try:
        lm = store.STORE.get()
        page.locator("#lsn-map").scroll_into_view_if_needed()
        i = 3
        z = lm.atlas["mu"][i].tolist()
        px, py = pixel_of(page, z)
        cdp = page.context.new_cdp_session(page)
        touch(cdp, "touchStart", [(px, py)])
        touch(cdp, "touchEnd", [])
        page.wait_for_function("(i) => document.querySelector('#lsn-preview').dataset.dot === i",
                               arg=str(i))
        assert settled(page) == (round(z[0], 2), round(z[1], 2))
        page.wait_for_timeout(500)  # the finger has lifted: its card stays a while
        assert page.locator("#lsn-preview").is_visible()
        page.screenshot(path=shots / "learn_phone_dot_card.png")
    finally:
        page.context.close()


def test_the_search_box_goes_to_a_test_image_and_rings_a_class(page, shots):
    lm = store.STORE.get()
    find = page.locator("#lsn-find")
    find.click()
    page.keyboard.type("#42")
    page.keyboard.press("Enter")
    z = lm.atlas["mu"][42].tolist()
    assert at_rest(page) == (round(z[0], 2), round(z[1], 2))
    page.wait_for_function("() => document.querySelector('#lsn-preview').dataset.dot === '42'")
    find.fill("")
    find.click()
    page.keyboard.type("class 3")
    page.keyboard.press("Enter")
    shown = int((lm.atlas["labels"][:lu.MAP_POINTS] == 3).sum())
    page.wait_for_function("(n) => document.querySelector('#lsn-found').dataset.count === n",
                           arg=str(shown))
    page.screenshot(path=shots / "learn_search_class.png")
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.querySelector('#lsn-found').dataset.count === '0'")
    find.click()
    page.keyboard.type("class twelve")
    page.keyboard.press("Enter")
    assert 'no test image or class "twelve"' in page.locator(".toast-body").first.inner_text()


# --- the encoder at work -------------------------------------------------------------------

def test_a_test_images_q_is_drawn_with_an_inset_and_sampled_one_at_a_time(page, shots):
    page.get_by_role("tab", name="Draw or upload").click()
    page.locator("#lsn-test-index input").fill("17")
    page.click("#lsn-encode-test")
    out = page.locator("#lsn-draw-out textarea")
    page.wait_for_function("() => document.querySelector('#lsn-draw-out textarea').value.includes('-ELBO')")
    for n in range(1, 4):
        page.click("#lsn-sample-q")
        page.wait_for_function("(n) => document.querySelector('#lsn-draw-out textarea').value"
                               ".includes(`${n} sample(s)`)", arg=n)
    page.wait_for_function("() => { const gd = document.querySelector('#lsn-map .js-plotly-plot'); "
                           "return gd.data.some((t) => t.name === 'q(z|x) samples' && t.text.length === 3"
                           " && t.xaxis === 'x2'); }")
    assert "#3 eps (" in out.input_value() and "KL" in out.input_value()
    assert page.locator("#lsn-q-strip img").count() == 1
    # a press in the inset does not move z (it floats over the map)
    before = marker_z(page)
    page.locator("#lsn-map").scroll_into_view_if_needed()
    inset = page.locator('#lsn-map .nsewdrag[data-subplot="x2y2"]').bounding_box()
    page.mouse.click(inset["x"] + inset["width"] / 2, inset["y"] + inset["height"] / 2)
    page.wait_for_timeout(300)
    assert marker_z(page) == before
    page.screenshot(path=shots / "learn_encoder_at_work.png", full_page=True)


# --- a map that shows its limits -------------------------------------------------------------

def test_the_map_shows_where_z_can_go_and_offers_nothing_beyond(page, shots):
    lm = store.STORE.get()
    shapes = page.evaluate("() => document.querySelector('#lsn-map .js-plotly-plot').layout.shapes"
                           ".map((s) => [s.type, s.x0, s.x1, s.y0, s.y1, (s.line || {}).dash || ''])")
    assert ["rect", *lm.extent[:2], *lm.extent[2:], "dash"] in shapes
    assert ["circle", -1, 1, -1, 1, "dot"] in shapes and ["circle", -2, 2, -2, 2, "dot"] in shapes
    area = plot_area(page)
    before = marker_z(page)
    xmin = lm.extent[0]
    outside = pixel_of(page, (xmin - 0.5, 0))  # the map shows x down to about -4.6
    assert outside[0] > area["x"]
    page.mouse.move(*outside)
    page.wait_for_function("() => document.querySelector('#lsn-map').classList.contains('lsn-unreachable')")
    assert not page.locator("#lsn-preview").is_visible()
    page.mouse.click(*outside)
    page.wait_for_timeout(300)
    assert marker_z(page) == before
    page.screenshot(path=shots / "learn_limits.png")


def test_the_wheel_zooms_about_the_pointer_and_shift_drag_pans_without_moving_z(page):
    area = plot_area(page)
    px, py = area["x"] + area["width"] * 0.7, area["y"] + area["height"] * 0.3
    z_under = page.evaluate("([px, py]) => { const gd = document.querySelector('#lsn-map .js-plotly-plot'), "
                            "l = gd._fullLayout, r = gd.getBoundingClientRect(); return [l.xaxis.p2l(px - "
                            "r.left - l.xaxis._offset), l.yaxis.p2l(py - r.top - l.yaxis._offset)]; }", [px, py])
    before, z0 = page.evaluate(RANGES), marker_z(page)
    page.mouse.move(px, py)
    page.mouse.wheel(0, -300)
    page.wait_for_function("(w) => { const l = document.querySelector('#lsn-map .js-plotly-plot')"
                           "._fullLayout; return l.xaxis.range[1] - l.xaxis.range[0] < 0.9 * w; }",
                           arg=before[1] - before[0])
    assert pixel_of(page, z_under) == pytest.approx((px, py), abs=3)  # the point stays put
    zoomed = page.evaluate(RANGES)
    page.keyboard.down("Shift")
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(px - 12 * i, py)
    page.mouse.up()
    page.keyboard.up("Shift")
    page.wait_for_function("(x0) => document.querySelector('#lsn-map .js-plotly-plot')._fullLayout"
                           ".xaxis.range[0] > x0 + 0.01", arg=zoomed[0])
    assert marker_z(page) == z0  # neither moved z


def test_a_resize_keeps_the_view(page):
    before = page.evaluate(RANGES)
    for width in (1920, 1366):
        page.set_viewport_size({"width": width, "height": 768})
        page.wait_for_timeout(1200)
    assert page.evaluate(RANGES) == pytest.approx(before, abs=0.01)


def test_two_fingers_zoom_the_map(live_url, chromium):
    page = open_page(chromium, live_url, viewport={"width": 390, "height": 844}, has_touch=True,
                     is_mobile=True, device_scale_factor=2)
    try:
        page.locator("#lsn-map").scroll_into_view_if_needed()
        area = plot_area(page)
        before = page.evaluate(RANGES)
        cx, cy = area["x"] + area["width"] / 2, area["y"] + area["height"] / 2
        cdp = page.context.new_cdp_session(page)
        touch(cdp, "touchStart", [(cx - 20, cy), (cx + 20, cy)])
        for i in range(1, 11):
            touch(cdp, "touchMove", [(cx - 20 - 8 * i, cy), (cx + 20 + 8 * i, cy)])
        touch(cdp, "touchEnd", [])
        page.wait_for_function("(w) => { const l = document.querySelector('#lsn-map .js-plotly-plot')"
                               "._fullLayout; return l.xaxis.range[1] - l.xaxis.range[0] < 0.5 * w; }",
                               arg=before[1] - before[0])
    finally:
        page.context.close()


# --- the loose ends, each mended ---------------------------------------------------------------

def test_a_model_switch_clears_the_interpolation_and_stops_its_path(page, shots):
    page.get_by_role("tab", name="Interpolate").click()
    page.get_by_role("button", name="interpolate", exact=True).click()
    page.locator("#lsn-strip img").wait_for()
    page.locator("#lsn-files a").first.wait_for()
    page.click("#lsn-play")
    page.wait_for_function("() => +document.querySelector('#lsn-trail').dataset.points >= 2")
    page.get_by_role("tab", name="Models").click()
    page.click("#lsn-model input")
    page.get_by_role("option", name="mnist_vae_beta1", exact=True).click()
    page.wait_for_function("() => document.querySelector('#lsn-header').innerText.includes('mnist_vae_beta1')")
    page.wait_for_function("() => document.querySelector('#lsn-trail').dataset.points === '0'")
    z = marker_z(page)
    page.wait_for_timeout(600)
    assert marker_z(page) == z  # the path stopped
    page.get_by_role("tab", name="Interpolate").click()
    page.wait_for_function("() => !document.querySelector('#lsn-strip img') && "
                           "!document.querySelector('#lsn-files a')")
    page.screenshot(path=shots / "learn_switch_clears_interpolation.png", full_page=True)


def test_four_morph_clicks_during_an_animation_each_count(page):
    lm = store.STORE.get()
    x0, y0 = jump(page, 1)
    page.get_by_role("tab", name="Morph").click()
    button = page.locator("#lsn-morph")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    for _ in range(4):
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(150)
    page.wait_for_function("(z) => document.querySelector('#lsn-marker').dataset.z !== z", arg=f"{x0:g},{y0:g}")
    x, y = at_rest(page)
    start, centre = np.array([x0, y0]), np.asarray(lm.centres[0])
    covered = np.linalg.norm(np.array([x, y]) - start) / np.linalg.norm(centre - start)
    assert covered == pytest.approx(1 - 0.75 ** 4, abs=0.02)  # 68 %: four steps of a quarter


def test_a_replayed_spherical_path_trail_starts_where_the_path_does(page):
    page.get_by_role("tab", name="Interpolate").click()
    page.get_by_label("spherical", exact=True).check()
    page.get_by_role("button", name="interpolate", exact=True).click()
    page.locator("#lsn-strip img").wait_for()
    path = api.interpolate("0", "9", 10, "spherical")
    for _ in range(2):  # the second play starts where the first ended: its trail must not
        page.click("#lsn-play")
        end = "{:g},{:g}".format(*(round(v, 2) for v in path[-1]))
        page.wait_for_function("(z) => document.querySelector('#lsn-marker').dataset.z !== z", arg=end)
        page.wait_for_function("(z) => document.querySelector('#lsn-marker').dataset.z === z", arg=end)
        at_rest(page)
        first = [float(v) for v in page.get_attribute("#lsn-trail", "data-first").split(",")]
        assert first == pytest.approx(path[0], abs=0.006)
        assert page.get_attribute("#lsn-trail", "data-points") == str(len(path))


def test_a_typed_seed_reproduces_its_draw(page):
    seed = page.locator("#lsn-seed input")
    drawn = []
    for _ in range(2):
        seed.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("42")
        page.keyboard.press("Tab")
        with page.expect_response(lambda r: "queue/data" in r.url or "queue/join" in r.url):
            page.click("#lsn-random")
        page.wait_for_timeout(1000)  # the answer, drawn and settled
        drawn.append(at_rest(page))
        assert seed.input_value() == "42"
    expected = api.random_point(42)
    assert drawn[0] == drawn[1] == (round(expected[0], 2), round(expected[1], 2))


def test_the_digit_stays_in_view_while_a_morph_plays(page, shots):
    page.get_by_role("tab", name="Morph").click()
    page.mouse.move(683, 740)  # over the tabs, not the map
    page.mouse.wheel(0, 400)  # as a person scrolls down to the tab's controls
    page.wait_for_timeout(300)
    digit = page.locator("#lsn-digit").bounding_box()
    assert digit["y"] < 0 or digit["y"] + digit["height"] > 768  # scrolled partly out of view
    page.click("#lsn-morph")
    page.wait_for_selector("#lsn-pip", state="visible")
    pip = page.locator("#lsn-pip").bounding_box()
    assert pip["y"] >= 0 and pip["y"] + pip["height"] <= 768 and pip["width"] >= 150
    page.screenshot(path=shots / "learn_pip_during_morph.png")
    x, y = at_rest(page)
    assert page.get_attribute("#lsn-pip", "data-z") == f"{x:g},{y:g}"  # it showed the end
    page.wait_for_selector("#lsn-pip", state="hidden")


def test_phone_tap_targets_are_at_least_44_px(live_url, chromium, shots):
    page = open_page(chromium, live_url, viewport={"width": 390, "height": 844}, has_touch=True,
                     is_mobile=True, device_scale_factor=2)
    try:
        sizes = page.evaluate("""() => [...document.querySelectorAll(
              '#lsn-jump button, #lsn-random, #lsn-tabs [role=tab], #lsn-overlays label')]
            .filter((e) => e.offsetParent)
            .map((e) => { const r = e.getBoundingClientRect(); return [e.textContent.trim(), r.width, r.height]; })""")
        assert len(sizes) >= 10 + 1 + 6 + 4  # the class buttons, random, the tabs, the overlays
        assert [s for s in sizes if s[1] < 44 or s[2] < 44] == [], sizes
        page.screenshot(path=shots / "learn_phone_targets.png")
    finally:
        page.context.close()


def test_small_text_has_at_least_4_5_to_1_contrast(page):
    ratios = page.evaluate("""() => {
      const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
      const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 :
        ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
      const out = {};
      for (const sel of ['#lsn-jump-label p', '#lsn-status', '#lsn-attrs', '#lsn-z']) {
        const e = document.querySelector(sel), s = getComputedStyle(e);
        let [r, g, b] = rgb(s.color), a = +s.opacity;
        for (let p = e.parentElement; p; p = p.parentElement) a *= +getComputedStyle(p).opacity;
        [r, g, b] = [r, g, b].map((v) => v * a + 255 * (1 - a));  // over the white page
        const l = lum([r, g, b]);
        out[sel] = (1.05) / (l + 0.05);
      }
      return out; }""")
    assert all(r >= 4.5 for r in ratios.values()), ratios


def test_the_comparison_is_ordered_by_beta_with_readable_digits(page, shots):
    page.get_by_role("tab", name="Models").click()
    page.get_by_role("button", name="compare the course's models at this z (AE, beta 1, 3, 10)").click()
    page.locator("#lsn-compared img").first.wait_for()
    captions = page.locator("#lsn-compared .caption-label, #lsn-compared figcaption").all_inner_texts()
    betas = [float(c.split("beta ")[1].rstrip(")")) for c in captions]
    assert len(captions) == len([n for n in tab_models.COURSE if n in list_models()]), captions
    assert betas == sorted(betas) and captions[0].startswith("mnist_ae"), captions
    width = page.locator("#lsn-compared img").first.bounding_box()["width"]
    assert width >= 150, width
    page.screenshot(path=shots / "learn_comparison.png", full_page=True)


def test_a_refused_upload_clears_the_last_result(page, shots, tmp_path, draw):
    page.get_by_role("tab", name="Draw or upload").click()
    good = tmp_path / "seven.png"
    draw("seven").save(good)
    page.locator("#lsn-upload input[type=file]").set_input_files(str(good))
    page.wait_for_function("() => document.querySelector('#lsn-draw-out textarea').value.startsWith('mu =')")
    page.locator("#lsn-pair img").wait_for()
    bad = tmp_path / "notes.png"  # named like an image, but text
    bad.write_bytes(b"not an image at all\n" * 20)
    page.locator("#lsn-upload button[aria-label='Remove Image']").click()  # the upload box's x
    page.locator("#lsn-upload input[type=file]").set_input_files(str(bad))
    page.locator(".toast-body").first.wait_for()
    # the old result is gone, and the refused file is not shown as a broken image
    page.wait_for_function("() => document.querySelector('#lsn-draw-out textarea').value === '' && "
                           "!document.querySelector('#lsn-pair img') && !document.querySelector('#lsn-upload img')")
    page.screenshot(path=shots / "learn_refused_upload.png", full_page=True)


def test_the_legend_says_a_click_hides_a_class_and_a_hidden_class_has_no_cards(page):
    lm = store.STORE.get()
    assert "click a class to hide it" in page.locator("#lsn-map .legend").text_content()
    page.locator("#lsn-map .legend .traces").filter(has_text="7").first.click()
    page.wait_for_function("() => document.querySelector('#lsn-map .js-plotly-plot')._fullData"
                           ".some((t) => t.name === '7' && t.visible === 'legendonly')")
    i = int(np.flatnonzero(lm.atlas["labels"][:lu.MAP_POINTS].numpy() == 7)[0])
    px, py = pixel_of(page, lm.atlas["mu"][i].tolist())
    page.mouse.move(px + 20, py + 20)
    page.mouse.move(px, py)
    page.wait_for_timeout(300)
    assert page.get_attribute("#lsn-preview", "data-dot") != str(i)
    assert sliders(page)  # the page still answers
