"""The page on the shipped 10-D models, in Chromium, driven by real mouse input: a box, a slider
and a bar for each dimension, the map as a plane through z (a drag keeps z's other components),
reset and re-centre, the nearness line, each drag drawing a digit per delivered mouse move with
no request, and the digits the same as torch's.

    python -m pytest -m browser tests/test_any_latent_page.py
"""

import numpy as np
import pytest

import neural_network as nn
from pages import canvas, open_at, paints, plot_area
from store import STORE

pytestmark = pytest.mark.browser
D10 = ("mnist_vae_d10", "mnist_ae_d10")
COUNT_MOVES = ("() => { window.delivered = 0; document.addEventListener('pointermove', "
               "() => window.delivered++, {capture: true}); }")


def digit_z(page):
    """The z the navigator's digit was last drawn at."""
    return np.array([float(v) for v in page.get_attribute("#lsn-canvas", "data-z").split(",")])


def settled_z(page):
    """z once the address names it (written 400 ms after a move settles)."""
    page.wait_for_function("() => location.hash.includes('&z=') && decodeURIComponent(location.hash)"
                           ".endsWith(document.querySelector('#lsn-canvas').dataset.z.split(',')"
                           ".map((v) => (+v).toFixed(2)).join(','))")
    return digit_z(page)


def assert_torch_digit(page, lm, z):
    diff = np.abs(canvas(page).astype(int) - nn.decode_uint8(lm.model, [z.tolist()])[0])
    assert diff.max() <= 1, diff.max()


def drag(page, x0, y0, steps, step):
    """A real mouse drag from (x0, y0), `steps` moves of `step` (dx, dy) -> (digits drawn, mouse
    moves the page received, requests sent during the drag)."""
    page.evaluate("window.delivered = 0")
    page.mouse.move(x0, y0)
    page.mouse.down()
    before, sent, moves = paints(page), len(page.requests), page.evaluate("window.delivered")
    for i in range(1, steps + 1):
        page.mouse.move(x0 + step[0] * i, y0 + step[1] * i)
    during = page.requests[sent:]
    drawn, moved = paints(page) - before, page.evaluate("window.delivered") - moves
    page.mouse.up()
    return drawn, moved, during


@pytest.mark.parametrize("name", D10)
def test_a_10d_model_is_explored_on_a_plane_through_z_with_a_control_per_dimension(live_url, chromium, shots, name):
    lm = STORE.get(name)
    origin, basis, share = (np.asarray(t, float) if i < 2 else t for i, t in enumerate(lm.plane))
    page = open_at(chromium, live_url, name)
    page.evaluate(COUNT_MOVES)
    try:
        assert page.locator(".lsn-axes .lsn-axis").count() == 10 and page.locator("#lsn-x").count() == 0
        assert f"holding {100 * share:.0f} % of their variance" in page.inner_text("#lsn-plane")
        assert page.is_visible("#lsn-zbars") and page.is_visible("#lsn-reset")
        # start off the plane through the mean: a class centre (its code's other components)
        page.click("#lsn-jump-3")
        page.wait_for_function("(z) => document.querySelector('#lsn-canvas').dataset.z === z",
                               arg=",".join(f"{v:g}" for v in np.round(lm.centres[3], 2)))
        z0 = settled_z(page)
        assert page.get_attribute("#lsn-zbars", "data-z") == ",".join(f"{v:g}" for v in z0)
        # a drag on the map: a digit per delivered move, no request, z moved within the plane
        page.evaluate("window.scrollTo(0, 0)")  # the class buttons lie below the ten sliders
        area = plot_area(page)
        drawn, moved, during = drag(page, area["x"] + area["width"] * 0.35, area["y"] + area["height"] * 0.5,
                                    60, (4, 0))
        assert moved >= 55 and drawn >= 0.9 * moved and during == []
        z1 = settled_z(page)
        d = z1 - z0
        off = d - basis @ (basis.T @ d)
        assert np.linalg.norm(basis.T @ d) > 0.2 and np.abs(off).max() <= 0.011  # the other components kept
        assert_torch_digit(page, lm, z1)
        assert page.inner_text("#lsn-near").startswith("15th nearest test code")
        page.screenshot(path=shots / f"any_latent_{name}.png", full_page=True)
        # a drag on the slider of the widest dimension (a VAE leaves some nearly unused: their
        # codes, and so their ranges, lie within +-0.1): a digit per move, only that one changes
        lo, hi = np.reshape(lm.extent, (-1, 2)).T
        k = int(np.argmax(hi - lo))
        box = page.locator(f"#lsn-z{k + 1} input[type=range]").bounding_box()
        drawn, moved, during = drag(page, box["x"] + box["width"] * 0.2, box["y"] + box["height"] / 2, 40,
                                    (0.015 * box["width"], 0))  # 60 % of the track, never past its end
        assert moved >= 35 and drawn >= 0.9 * moved and during == []
        z2 = settled_z(page)
        assert np.array_equal(np.delete(z2, k), np.delete(z1, k)) and z2[k] != z1[k]
        assert_torch_digit(page, lm, z2)
        # re-centre: the map position kept, the part off the plane through the mean dropped
        page.click("#lsn-recentre")
        p2 = basis.T @ (z2 - origin)
        page.wait_for_function("(z) => document.querySelector('#lsn-canvas').dataset.z !== z",
                               arg=",".join(f"{v:g}" for v in z2))
        z3 = settled_z(page)
        assert np.abs(z3 - np.clip(origin + basis @ p2, *np.reshape(lm.extent, (-1, 2)).T)).max() <= 0.006
        page.click("#lsn-reset")  # the codes' mean
        page.wait_for_function("(z) => document.querySelector('#lsn-canvas').dataset.z !== z",
                               arg=",".join(f"{v:g}" for v in z3))
        assert np.abs(settled_z(page) - origin).max() <= 0.006
        # the plane through three class centres, typed: the centres marked, the navigator told
        box = page.locator("#lsn-plane-classes textarea, #lsn-plane-classes input").first
        box.click()
        page.keyboard.type("3, 5, 8")
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.querySelector('#lsn-plane').textContent"
                               ".includes('the plane through the centres of 3, 5, 8')")
        page.wait_for_function("() => [...document.querySelectorAll('#lsn-map .legendtext')]"
                               ".some((e) => e.textContent === \"the plane's centres\")")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=shots / f"any_latent_{name}_plane_358.png")
    finally:
        page.context.close()
