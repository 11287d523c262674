"""Latency of demo.py's endpoints over REST and of the image API (the page's navigation, which
needs no server, is timed with real mouse drags by bench/navigation.py).

    .venv/bin/python bench/demo_latency.py               # N=200 calls per endpoint
    .venv/bin/python bench/demo_latency.py --n 50

Starts `demo.py --bench-floor` as a subprocess on a free 127.0.0.1 port, then times each endpoint
through the protocols a caller uses:
  GET   the image API, GET /api/decode.png?x=..&y=.. exactly as the README's curl and an <img>
        use it (no session, no queue);
  call  POST /gradio_api/call/NAME then GET its event stream: the queued REST path the README
        documents;
  gradio_client  Client.predict, the Python client, its own per-call costs included.
Calls carry a session id, as the page and gradio_client do; "no session" rows show a bare REST
call's extra cost (Gradio then builds a session state from every component, per call).
"floor" returns a constant 28x28 image: Gradio's own cost for such an endpoint.
"""

import argparse
import contextlib
import io
import sys
from pathlib import Path

import httpx
import numpy as np
from gradio_client import Client
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.harness import call_queued, start_server, time_calls  # noqa: E402


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
                ("image API", "GET",
                 lambda i: client.get(f"{url}/api/decode.png?x={xs[i]:.4f}&y=0.1").content),
                ("decode", "gradio_client",
                 lambda i: gradio_client.predict(xs[i], 0.1, api_name="/decode")),
                ("decode", "call, no session",
                 lambda i: call_queued(client, url, "decode", [xs[i], 0.1, None], None)),
                ("floor", "call, no session", lambda i: call_queued(client, url, "floor", [], None)),
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


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=200, help="calls per endpoint")
    args = p.parse_args()
    server = start_server("--bench-floor")
    try:
        rest_table(server.url, args.n)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
