"""Navigation at display rate: real mouse drags in headless Chromium on this page and on the
previous release's page, side by side in one run.

    .venv/bin/python bench/navigation.py                 # against the baseline commit below
    .venv/bin/python bench/navigation.py --baseline none --seconds 3
    .venv/bin/python bench/navigation.py --baseline none --model mnist_vae_d10   # a 10-D model

Each page is served by its own demo.py (a subprocess on a free 127.0.0.1 port; the baseline from
a git worktree of BASELINE, the release whose slider decoded on the server). Playwright then
drives /usr/bin/chromium (1366x768) with real input: page.mouse.down, a move every step along a
wavy path for about `--seconds`, page.mouse.up; once on the map, once on the X slider's thumb.
With --model the page opens at that model (#model=NAME); on a latent larger than 2 the slider
dragged is z1's. Counted per drag:
  digits/s   distinct digits drawn per second of dragging: this page counts its own paints
             (window.lsnStats, web/navigator.js); the baseline's digit is an <img> whose src
             changes per answer, counted by a MutationObserver;
  requests   every request the page sent between mouse.down and mouse.up (page.on("request"); the
             release itself settles z, and the page then asks for the digit's measured attributes);
  latency    this page only: from each input event's timeStamp to its digit drawn (p50 / p95);
and per page: navigation start to the first digit drawn by the page's own decoder, and the bytes
of the model file it fetched (GET /api/model/NAME).
"""

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.harness import CHROMIUM, CHROMIUM_ARGS, ROOT, start_server  # noqa: E402

BASELINE = "ac11097"  # the last commit whose slider decoded on the server (Gradio event per move)

# The baseline page shows the digit as an <img>: count the distinct sources it is given.
COUNT_IMAGES = """() => {
  const digit = document.querySelector('#lsn-digit'), seen = new Set();
  const record = () => { const img = digit.querySelector('img'); if (img) seen.add(img.src); };
  window.benchSeen = seen;
  new MutationObserver(record).observe(digit, {subtree: true, childList: true, attributes: true,
                                               attributeFilter: ['src']});
}"""


def drawn(page, local):
    """Digits drawn so far: this page's paint counter, or the baseline's distinct images."""
    return page.evaluate("window.lsnStats.paints" if local else "window.benchSeen.size")


def drag(page, box, seconds, local, requests, horizontal=False):
    """Press in `box`, move along a wavy path (a slider: straight along it) for ~seconds, release.
    -> (digits/s, requests sent during the drag, latencies in ms)."""
    # from a fifth of the way in: the map's edge lies beyond the region z can reach, where a
    # press goes nowhere
    x0, y0 = box["x"] + 0.2 * box["width"], box["y"] + box["height"] / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    before, sent = drawn(page, local), len(requests)
    if local:
        page.evaluate("window.lsnStats.latencies = []")
    t0, i = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        u = (i % 300) / 300  # there and back along 60 % of the box
        u = 2 * u if u < 0.5 else 2 - 2 * u
        dy = 0 if horizontal else 0.3 * box["height"] * math.sin(i / 9)
        page.mouse.move(x0 + 0.6 * box["width"] * u, y0 + dy)
        i += 1
    elapsed = time.perf_counter() - t0
    during = len(requests) - sent  # before the release, whose settle the server is told of
    page.mouse.up()
    time.sleep(0.3)  # the baseline's last answers land
    latencies = page.evaluate("window.lsnStats.latencies") if local else []
    return (drawn(page, local) - before) / elapsed, during, latencies, i / elapsed


def measure(url, seconds, model=None):
    """One page's figures; `local`: the page runs the navigator (web/navigator.js, which keeps
    window.lsnStats), else it is the server-slider page, counted by its images. model: opened at
    that model (the page's own address form)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        requests, sizes = [], {}
        page.on("request", lambda r: requests.append(r.url))
        page.on("response", lambda r: sizes.__setitem__(r.url, r.headers.get("content-length")))
        page.add_init_script("window.lsnBench = true")  # web/navigator.js keeps window.lsnStats
        page.goto(f"{url}/#model={model}" if model else url)
        page.wait_for_function("() => window.lsnStats || document.querySelector('#lsn-digit img')",
                               timeout=60_000)
        local = page.evaluate("Boolean(window.lsnStats)")
        if local:
            page.wait_for_function("(m) => window.lsnStats && window.lsnStats.paints > 0 && "
                                   "window.lsnStats.mode !== 'loading' && (!m || document."
                                   "querySelector('#lsn-header').innerText.includes(m))",
                                   arg=model, timeout=60_000)
            first = page.evaluate("window.lsnStats.firstPaint")
        else:
            page.wait_for_selector("#lsn-digit img", timeout=60_000)
            page.evaluate(COUNT_IMAGES)
            first = None
        page.wait_for_selector("#lsn-map .nsewdrag", state="attached")
        result = {"first_digit_ms": first, "model_bytes": next(
            (int(v) for k, v in sizes.items() if "/api/model/" in k and v), None)}
        axis = "#lsn-x" if page.locator("#lsn-x").count() else "#lsn-z1"
        targets = {"map": page.locator("#lsn-map .nsewdrag").bounding_box(),
                   "X slider": page.locator(f"{axis} input[type=range]").bounding_box()}
        for name, box in targets.items():
            drag(page, box, 0.5, local, requests, name != "map")  # warm-up
            rate, sent, lat, moves = drag(page, box, seconds, local, requests, name != "map")
            result[name] = {"digits_s": rate, "requests": sent, "moves_s": moves,
                            "p50": float(np.percentile(lat, 50)) if lat else None,
                            "p95": float(np.percentile(lat, 95)) if lat else None}
        browser.close()
    return result


def baseline_server(commit):
    """demo.py of `commit`, from a temporary git worktree (removed by the caller)."""
    folder = Path(tempfile.mkdtemp(prefix="lsn-baseline-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), commit],
                   check=True, capture_output=True)
    try:
        return folder, start_server(root=folder, ready="/")  # it has no image API to ask
    except BaseException:
        remove_worktree(folder)
        raise


def remove_worktree(folder):
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)],
                   capture_output=True)


def run(seconds=3.0, baseline=BASELINE, model=None):
    """-> {"this page": result, "baseline COMMIT": result}, printing a table."""
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"bench/navigation.py: {CHROMIUM} not found (apt-get install chromium)")
    results = {}
    server = start_server()
    try:
        results["this page"] = measure(server.url, seconds, model)
    finally:
        server.stop()
    if baseline != "none":
        folder, old = baseline_server(baseline)
        try:
            results[f"baseline {baseline}"] = measure(old.url, seconds, model)
        finally:
            old.stop()
            remove_worktree(folder)
    print(f"\n{model or 'the default model'}\n| page | drag on | digits/s | input moves/s | "
          "digits per move | requests during the drag | event to digit drawn p50 / p95 |\n"
          "|---|---|---|---|---|---|---|")
    for page, r in results.items():
        for target in ("map", "X slider"):
            d = r[target]
            lat = f"{d['p50']:.1f} / {d['p95']:.1f} ms" if d["p50"] is not None else "n/a"
            print(f"| {page} | {target} | {d['digits_s']:.1f} | {d['moves_s']:.1f} | "
                  f"{d['digits_s'] / d['moves_s']:.0%} | {d['requests']} | {lat} |")
    for page, r in results.items():
        if r["first_digit_ms"] is not None:
            print(f"\n{page}: first digit drawn {r['first_digit_ms']:.0f} ms after navigation "
                  f"start; model file {r['model_bytes'] / 2**20:.2f} MiB")
    return results


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--seconds", type=float, default=3.0, help="length of each measured drag")
    p.add_argument("--baseline", default=BASELINE, help="a commit to compare with, or none")
    p.add_argument("--model", help="open the page at this model (default: the page's default)")
    args = p.parse_args()
    run(args.seconds, args.baseline, args.model)


if __name__ == "__main__":
    main()
