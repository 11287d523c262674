"""Latency of demo.py's endpoints over REST, and the frame rate of dragging X in a real browser.

    .venv/bin/python bench/demo_latency.py               # N=200 calls per endpoint
    .venv/bin/python bench/demo_latency.py --n 50 --no-browser

Starts `demo.py --bench-floor` as a subprocess on a free 127.0.0.1 port, then times each endpoint
through the protocols a caller uses:
  run   POST /gradio_api/run/NAME, one request: the page's path for the slider event ("show",
        queue=False); "show+png" adds the GET of the image, as the page does to draw it;
  call  POST /gradio_api/call/NAME then GET its event stream: the queued REST path;
  gradio_client  Client.predict, the Python client, its own per-call costs included.
Calls carry a session id, as the page and gradio_client do; "no session" rows show a bare REST
call's extra cost (Gradio then builds a session state from every component, per call).
"floor" returns a constant 28x28 image: Gradio's own cost for such an endpoint. The browser part
(Playwright + /usr/bin/chromium) sets the X slider every 16 ms for ~3 s, as a drag does, and
counts the distinct digit images shown per second.
"""

import argparse
import contextlib
import io
import os
import sys
from pathlib import Path

import httpx
import numpy as np
from gradio_client import Client
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.harness import call_queued, call_run, start_server, time_calls  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextlib.contextmanager
def rest_cases(url, n):
    """with rest_cases(url, n) as cases: [(endpoint, protocol, call(i))], every way of calling
    timed here; call i of n decodes a new z, as a drag gives. The clients close on exit."""
    img = Image.new("L", (140, 140), 255)  # a drawn-looking 7 for /encode, uploaded once
    ImageDraw.Draw(img).line([(40, 30), (100, 30), (60, 120)], fill=0, width=12)
    png = io.BytesIO()
    img.save(png, "png")
    with httpx.Client(timeout=30) as client:
        files = {"files": ("seven.png", png.getvalue())}
        image = {"path": client.post(f"{url}/gradio_api/upload", files=files).json()[0],
                 "meta": {"_type": "gradio.FileData"}}
        gradio_client = Client(url, verbose=False)
        xs = np.linspace(-1.5, 1.5, n + 1)
        try:
            yield [
                ("show", "run", lambda i: call_run(client, url, "show", [xs[i], 0.1, None])),
                ("show+png", "run",
                 lambda i: client.get(call_run(client, url, "show", [xs[i], 0.1, None])[0]["url"])),
                ("decode", "gradio_client",
                 lambda i: gradio_client.predict(xs[i], 0.1, api_name="/decode")),
                ("floor", "run", lambda i: call_run(client, url, "floor", [])),
                ("decode", "run", lambda i: call_run(client, url, "decode", [xs[i], 0.1, None])),
                ("show", "run, no session",
                 lambda i: call_run(client, url, "show", [xs[i], 0.1, None], None)),
                ("floor", "run, no session", lambda i: call_run(client, url, "floor", [], None)),
                ("decode", "call", lambda i: call_queued(client, url, "decode", [xs[i], 0.1, None])),
                ("floor", "call", lambda i: call_queued(client, url, "floor", [])),
                ("jump", "call", lambda i: call_queued(client, url, "jump", [i % 10, None])),
                ("morph", "call",
                 lambda i: call_queued(client, url, "morph", [xs[i], 0.0, 7, 0.5, None])),
                ("interpolate", "call",
                 lambda i: call_queued(client, url, "interpolate", [1, 7, 16, "spherical", None])),
                ("random", "call", lambda i: call_queued(client, url, "random", [i, None])),
                ("sample", "call",
                 lambda i: call_queued(client, url, "sample", [0, 0, 1, 1, 16, i, None])),
                ("encode", "call", lambda i: call_queued(client, url, "encode", [image, None])),
                ("models", "call", lambda i: call_queued(client, url, "models", [])),
            ]
        finally:
            gradio_client.close()


def rest_table(url, n):
    print(f"REST latency, N={n} calls each, {url}")
    print(f"{'endpoint':<12} {'protocol':<16} {'p50 ms':>8} {'p95 ms':>8}")
    with rest_cases(url, n) as cases:
        for name, protocol, fn in cases:
            p50, p95 = time_calls(fn, n)
            print(f"{name:<12} {protocol:<16} {p50:8.1f} {p95:8.1f}")


DRAG_JS = """async (seconds) => {
  // Move the X slider every 16 ms (a mouse drag's ~60 Hz of input events) and count the
  // distinct images the digit shows.
  const range = document.querySelector('#lsn-x input[type=range]');
  const seen = new Set();
  const digit = document.querySelector('#lsn-digit');
  const record = () => { const img = digit.querySelector('img'); if (img) seen.add(img.src); };
  record();
  const start = seen.size;
  const observer = new MutationObserver(record);
  observer.observe(digit, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
  const lo = parseFloat(range.min), hi = parseFloat(range.max);
  const t0 = performance.now();
  let frames = 0;
  while (performance.now() - t0 < seconds * 1000) {
    const u = (frames % 240) / 240;
    range.value = lo + (hi - lo) * (0.1 + 0.8 * u);
    range.dispatchEvent(new Event('input', {bubbles: true}));
    frames++;
    await new Promise(r => setTimeout(r, 16));
  }
  await new Promise(r => setTimeout(r, 300));  // let the last answer land
  observer.disconnect();
  const secs = (performance.now() - t0) / 1000;
  return {updates: seen.size - start, seconds: secs, input_events: frames};
}"""


def browser_fps(url, seconds=3.0):
    if not os.path.exists(CHROMIUM):
        print(f"browser: skipped, {CHROMIUM} not found (apt-get install chromium)")
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(url)
        page.wait_for_selector("#lsn-digit img", timeout=60_000)
        page.evaluate(DRAG_JS, 0.5)  # warm-up
        r = page.evaluate(DRAG_JS, seconds)
        browser.close()
    print(f"browser: dragging X for {r['seconds']:.1f} s ({r['input_events']} input events) "
          f"showed {r['updates']} distinct images: {r['updates'] / r['seconds']:.1f} fps")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=200, help="calls per endpoint")
    p.add_argument("--no-browser", action="store_true")
    args = p.parse_args()
    server = start_server("--bench-floor")
    try:
        rest_table(server.url, args.n)
        if not args.no_browser:
            browser_fps(server.url)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
