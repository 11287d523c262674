"""How long one edit takes on the page, from the click to the digit drawn, beside a morph click
(the same round trip and animation) measured in the same run.

    .venv/bin/python bench/edit_latency.py                        # the default model
    .venv/bin/python bench/edit_latency.py --models mnist_vae_beta4 mnist_ae --clicks 12

demo.py runs as a subprocess on a free 127.0.0.1 port; Playwright drives /usr/bin/chromium
(1366x768) with real clicks (page.mouse) on the Edit tab's - and + buttons, cycling through the
attributes, and on the Morph tab's button. For each click, from the pointerdown's timeStamp:
  first    the first digit drawn away from where z was (the animation's first frame; with
           animate off, the end itself);
  end      the digit drawn at the edit's end (the navigator's value, settled);
and, separately, the server's own time for one edit (api.edit in this process, no page).
Prints medians and p95 in ms.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import api  # noqa: E402
import directions as dirs  # noqa: E402
from bench.harness import CHROMIUM, CHROMIUM_ARGS, percentiles, start_server  # noqa: E402

# Every digit the navigator draws sets its canvas's data-z (web/navigator.js): record each, with
# its time, and the time of every pointerdown.
RECORD = """() => {
  const c = document.querySelector('#lsn-canvas');
  window.benchPaints = [];
  new MutationObserver(() => benchPaints.push([performance.now(), c.dataset.z]))
    .observe(c, {attributes: true, attributeFilter: ['data-z']});
  document.addEventListener('pointerdown', (e) => { window.benchClick = e.timeStamp; }, true);
}"""
AT_REST = ("() => location.hash.endsWith(`&x=${(+document.querySelector('#lsn-x .lsn-num').value)"
           ".toFixed(2)}&y=${(+document.querySelector('#lsn-y .lsn-num').value).toFixed(2)}`)")


def click_and_time(page, selector):
    """Click `selector` with the mouse, wait until z has moved and settled -> (first, end) ms."""
    start = page.locator("#lsn-canvas").get_attribute("data-z")
    page.evaluate("window.benchPaints = []")
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("(z) => benchPaints.some((p) => p[1] !== z)", arg=start, timeout=30_000)
    page.wait_for_function(AT_REST, timeout=30_000)
    paints, click = page.evaluate("[benchPaints, benchClick]")
    end = paints[-1][1]
    first = next(t for t, z in paints if z != start)
    last = next(t for t, z in paints if z == end)
    return first - click, last - click


def run(model, clicks):
    from playwright.sync_api import sync_playwright

    server = start_server()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(f"{server.url}/?model={model}")
            page.wait_for_function("() => document.querySelector('#lsn-status')?.dataset.mode === "
                                   "'local' && document.querySelector('#lsn-canvas').dataset.z",
                                   timeout=60_000)
            page.evaluate(RECORD)
            page.click("#lsn-jump-7")
            page.wait_for_function(AT_REST)
            times = {}
            page.get_by_role("tab", name="Edit").click()
            for animate in (True, False):
                if not animate:
                    page.locator("#lsn-edit-animate input").uncheck()
                key = f"edit, animate {'on' if animate else 'off'}"
                times[key] = [click_and_time(page, f"#lsn-edit-{dirs.ATTRIBUTES[i % 6]}-"
                                                   + ("\\+" if i % 2 == 0 else "−"))
                              for i in range(clicks)]
            page.get_by_role("tab", name="Morph").click()
            times["morph (baseline), animate on"] = [click_and_time(page, "#lsn-morph")
                                                     for _ in range(clicks)]
            browser.close()
    finally:
        server.stop()
    return times


def server_edit_ms(model, n=20):
    """api.edit's own time in this process: 3 moves, each 4 decodes measured (2-D)."""
    z = api.jump(7, model)
    api.edit(z, "thickness", 0.3, model)  # loads the model
    ms = []
    for i in range(n):
        t = time.perf_counter()
        api.edit(z, dirs.ATTRIBUTES[i % 6], dirs.AMOUNTS[dirs.ATTRIBUTES[i % 6]], model)
        ms.append(1000 * (time.perf_counter() - t))
    return percentiles(ms)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", default=["mnist_vae_beta4"])
    p.add_argument("--clicks", type=int, default=12, help="clicks per kind and model")
    args = p.parse_args()
    for model in args.models:
        p50, p95 = server_edit_ms(model)
        print(f"{model}: api.edit alone p50 {p50:.0f} ms, p95 {p95:.0f} ms")
        for kind, pairs in run(model, args.clicks).items():
            first, end = np.array(pairs).T
            print(f"  {kind:32s} click to first digit p50 {np.median(first):5.0f} ms "
                  f"p95 {np.percentile(first, 95):5.0f} | to the end digit p50 {np.median(end):5.0f} ms "
                  f"p95 {np.percentile(end, 95):5.0f}  ({len(pairs)} clicks)")


if __name__ == "__main__":
    main()
