"""Load: concurrent API clients against demo.py on loopback, mixing /decode, /jump, /interpolate
and /sample, or GETting the image API; bounded both in requests and in time, it stops by itself.

    .venv/bin/python bench/load.py                       # starts demo.py; 32 clients for 60 s
    .venv/bin/python bench/load.py --clients 8 --seconds 10
    .venv/bin/python bench/load.py --image-api           # 64 clients GET /api/decode.png, 45 s
    .venv/bin/python bench/load.py --image-api --repeat  # 8 URLs each, If-None-Match: 304s
    .venv/bin/python bench/load.py --image-api --url http://127.0.0.1:8000 --pid PID

Each client stands for one student: its own connection and session, one request at a time on
the queued REST path (POST /gradio_api/call/NAME, then GET its event stream), as gradio_client
calls. A request is an error unless its stream ends in `event: complete` (each HTTP step may take
REQUEST_TIMEOUT_S). Prints requests served, errors, latency percentiles, and the server's resident
memory before and after (from /proc/PID/status). bench/run_all.py runs it inside `make bench`.

--image-api (issue 12): each client GETs /api/decode.png?x=..&y=.. with a fresh random x, y per
request (so no answer is a cache hit) on its own keep-alive connection, as an <img> in a
notebook or a slide does; an answer is an error unless it is 200 with a PNG body, an ETag and a
Cache-Control (or, with --repeat, a 304 to If-None-Match). --repeat: each client cycles over 8
fixed URLs and sends back the ETag it was given, as a browser or an HTTP cache revalidates.
Before the load, one client's round trip is timed as the README's curl does it (curl's own
time_total, a new connection per call) and over one keep-alive connection.
"""

import argparse
import asyncio
import itertools
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.harness import rss_mb, rss_tree_mb, start_server, summary  # noqa: E402

REQUEST_TIMEOUT_S = 30
# Valid arguments over each endpoint's whole range (x, y beyond the extent are clamped).
MIX = {
    "decode": lambda r: [r.uniform(-4, 4), r.uniform(-4, 4), None],
    "jump": lambda r: [r.randrange(10), None],
    "interpolate": lambda r: [r.randrange(10), r.randrange(10), r.randint(2, 64),
                              r.choice(["linear", "spherical"]), None],
    "sample": lambda r: [r.uniform(-3, 3), r.uniform(-3, 3), r.uniform(0, 2), r.uniform(0, 2),
                         r.randint(1, 256), r.randrange(2**32), None],
}


async def one_client(i, url, deadline, tickets, results):
    rng = random.Random(i)
    async with httpx.AsyncClient(base_url=f"{url}/gradio_api", timeout=REQUEST_TIMEOUT_S) as http:
        while time.monotonic() < deadline and next(tickets) > 0:
            name = rng.choice(list(MIX))
            t = time.perf_counter()
            try:
                r = await http.post(f"/call/{name}",
                                    json={"data": MIX[name](rng), "session_hash": f"load-{i}"})
                r.raise_for_status()
                text = (await http.get(f"/call/{name}/{r.json()['event_id']}")).text
                error = None if "event: complete" in text else text.strip()[:200]
            except (httpx.HTTPError, ValueError, KeyError) as e:
                error = f"{type(e).__name__}: {e}"
            results.append(((time.perf_counter() - t) * 1e3, name, error))


def run_load(url, pid, clients=32, seconds=60.0, max_requests=200_000):
    """-> dict(served, errors, error_samples, per_endpoint, p50/p95/p99 ms, rate, rss_before/after
    MiB, seconds). Clients start no request after `seconds` nor beyond `max_requests` in all."""
    tickets = itertools.count(max_requests, -1)  # one shared countdown; asyncio runs one at a time
    results = []

    async def main():
        deadline = time.monotonic() + seconds
        await asyncio.wait_for(  # hard bound: the last requests may each take their timeouts
            asyncio.gather(*(one_client(i, url, deadline, tickets, results) for i in range(clients))),
            seconds + 2 * REQUEST_TIMEOUT_S + 10)

    rss_before = rss_mb(pid)
    t0 = time.perf_counter()
    asyncio.run(main())
    wall = time.perf_counter() - t0
    rss_after = rss_mb(pid)
    ok = [ms for ms, _, error in results if error is None]
    errors = [(name, error) for _, name, error in results if error is not None]
    p50, p95, p99 = np.percentile(ok, [50, 95, 99]) if ok else (float("nan"),) * 3
    return {"clients": clients, "served": len(ok), "errors": len(errors),
            "error_samples": errors[:5], "per_endpoint": Counter(name for _, name, _ in results),
            "p50": p50, "p95": p95, "p99": p99, "rate": len(ok) / wall, "seconds": wall,
            "rss_before": rss_before, "rss_after": rss_after}


def report(r):
    growth = 100 * (r["rss_after"] / r["rss_before"] - 1)
    return (f"{r['clients']} clients, {r['seconds']:.1f} s: {r['served']} served "
            f"({r['rate']:.0f}/s; {dict(r['per_endpoint'])}), {r['errors']} errors, "
            f"p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms, p99 {r['p99']:.0f} ms; server RSS "
            f"{r['rss_before']:.0f} -> {r['rss_after']:.0f} MiB ({growth:+.1f} %)"
            + "".join(f"\n  error on /{name}: {e}" for name, e in r["error_samples"]))


# --- the image API (issue 12): GET /api/decode.png, as an <img>, a notebook or curl uses it ------

IMAGE_PATH = "/api/decode.png"
PNG = b"\x89PNG\r\n\x1a\n"
REPEATED_URLS = 8  # --repeat: the URLs each client cycles over


def image_query(rng):
    """A fresh x, y over the whole default extent and beyond (clamped), 5 decimals: no two
    requests of a run share an answer, so none is a cache hit."""
    return f"{IMAGE_PATH}?x={rng.uniform(-4, 4):.5f}&y={rng.uniform(-4, 4):.5f}"


def image_error(r, revalidating=False):
    """None for a good answer (200 with a PNG body; 304 when revalidating), else why not."""
    if r.status_code == 304 and revalidating:
        return None
    if r.status_code != 200:
        return f"HTTP {r.status_code}: {r.text[:200]}"
    if r.headers.get("content-type") != "image/png" or not r.content.startswith(PNG):
        return f"not a PNG: {r.headers.get('content-type')} {r.content[:40]!r}"
    if "etag" not in r.headers or "cache-control" not in r.headers:
        return f"no ETag or Cache-Control: {dict(r.headers)}"
    return None


async def image_client(i, url, deadline, tickets, results, repeat):
    """One keep-alive connection GETting the image API until `deadline`. results gets
    (ms, status, error) per request."""
    rng = random.Random(1000 + i)
    fixed = [image_query(rng) for _ in range(REPEATED_URLS)]
    etags = {}
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S) as http:
        n = 0
        while time.monotonic() < deadline and next(tickets) > 0:
            path = fixed[n % len(fixed)] if repeat else image_query(rng)
            n += 1
            headers = {"If-None-Match": etags[path]} if path in etags else {}
            t = time.perf_counter()
            status = None
            try:
                r = await http.get(path, headers=headers)
                status = r.status_code
                error = image_error(r, revalidating=bool(headers))
                if repeat and error is None and "etag" in r.headers:
                    etags[path] = r.headers["etag"]
            except httpx.HTTPError as e:
                error = f"{type(e).__name__}: {e}"
            results.append(((time.perf_counter() - t) * 1e3, status, error))


def run_image_load(url, pid, clients=64, seconds=45.0, repeat=False, max_requests=500_000):
    """`clients` connections GETting the image API for `seconds` s (fresh x, y per request, or
    with `repeat` 8 fixed URLs each, revalidated). -> dict(clients, served, ok_200, not_modified,
    errors, error_samples, p50/p95/p99 ms, rate (good answers/s), images_rate (200s/s), seconds,
    rss_before/after MiB of pid and its children (a uvicorn supervisor and its workers))."""
    tickets = itertools.count(max_requests, -1)
    results = []

    async def main():
        deadline = time.monotonic() + seconds
        await asyncio.wait_for(
            asyncio.gather(*(image_client(i, url, deadline, tickets, results, repeat)
                             for i in range(clients))),
            seconds + REQUEST_TIMEOUT_S + 10)

    rss_before = rss_tree_mb(pid) if pid else float("nan")
    t0 = time.perf_counter()
    asyncio.run(main())
    wall = time.perf_counter() - t0
    rss_after = rss_tree_mb(pid) if pid else float("nan")
    ok = [ms for ms, _, error in results if error is None]
    errors = [error for _, _, error in results if error is not None]
    images = sum(1 for _, status, error in results if error is None and status == 200)
    return {"clients": clients, "repeat": repeat, "served": len(ok), "ok_200": images,
            "not_modified": len(ok) - images, "errors": len(errors), "error_samples": errors[:5],
            **summary(ok), "rate": len(ok) / wall, "images_rate": images / wall, "seconds": wall,
            "rss_before": rss_before, "rss_after": rss_after}


def image_report(r):
    growth = 100 * (r["rss_after"] / r["rss_before"] - 1)
    kind = ("8 repeated URLs per client, revalidated" if r["repeat"]
            else "fresh x, y per request")
    rss = ("" if np.isnan(growth) else  # no pid given: the server's memory was not read
           f"; server RSS {r['rss_before']:.0f} -> {r['rss_after']:.0f} MiB ({growth:+.1f} %)")
    return (f"image API, {r['clients']} clients, {r['seconds']:.1f} s ({kind}): {r['served']} "
            f"answered ({r['rate']:.0f}/s; {r['ok_200']} images = {r['images_rate']:.0f}/s, "
            f"{r['not_modified']} 304s), {r['errors']} errors, p50 {r['p50']:.1f} ms, p95 "
            f"{r['p95']:.1f} ms, p99 {r['p99']:.1f} ms{rss}"
            + "".join(f"\n  error: {e}" for e in r["error_samples"]))


# Issue 12's targets for the image API: one round trip on an idle machine, and under 64 clients
IMAGE_P50_MS, IMAGE_RATE, IMAGE_P95_MS = 3.0, 300, 300


def image_rows(one, load, revalidated):
    """make bench's table rows (measure, figure, baseline, target, met) from image_latency's and
    two run_image_load dicts (fresh URLs, then repeat=True)."""
    label = f"image API: {load['clients']} clients × {load['seconds']:.0f} s, a fresh x, y each"
    rv = revalidated
    return [
        ("image API round trip, as the README's curl (a new connection each; p50 / p95)",
         f"{one['curl'][0]:.1f} / {one['curl'][1]:.1f} ms",
         f"one keep-alive connection: {one['keepalive'][0]:.1f} / {one['keepalive'][1]:.1f} ms",
         f"p50 ≤ {IMAGE_P50_MS:g} ms", one["curl"][0] <= IMAGE_P50_MS),
        (f"{label}: images/s", f"{load['images_rate']:.0f}",
         f"8 URLs a client, revalidated: {rv['rate']:.0f} answers/s, {rv['not_modified']} of "
         f"{rv['served']} were 304", f"≥ {IMAGE_RATE}", load["images_rate"] >= IMAGE_RATE),
        (f"{label}: errors", str(load["errors"]), f"revalidated: {rv['errors']}", "0",
         load["errors"] == 0),
        (f"{label}: latency p50 / p95 / p99",
         f"{load['p50']:.0f} / {load['p95']:.0f} / {load['p99']:.0f} ms",
         f"revalidated: {rv['p50']:.0f} / {rv['p95']:.0f} / {rv['p99']:.0f} ms",
         f"p95 ≤ {IMAGE_P95_MS} ms", load["p95"] <= IMAGE_P95_MS),
        (f"{label}: server resident memory before → after",
         f"{load['rss_before']:.0f} → {load['rss_after']:.0f} MiB "
         f"({100 * (load['rss_after'] / load['rss_before'] - 1):+.1f} %)", "—", "—", None),
    ]


def image_latency(url, n=200):
    """One client on an idle server, n calls each way, a fresh x, y per call, after one warm-up:
    -> {"curl": (p50, p95), "keepalive": (p50, p95)} in ms. "curl" is the README's command
    (`curl -s -o FILE URL`, a new connection per call), timed by curl's own time_total so the
    process start is not counted; "keepalive" is one httpx connection, as a browser's <img>s
    reuse theirs. Without curl installed, "curl" times a new httpx connection per call."""
    rng = random.Random(7)
    queries = [image_query(rng) for _ in range(n + 1)]
    curl = shutil.which("curl")

    def by_curl(q):
        out = subprocess.run([curl, "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
                              f"{url}{q}"], capture_output=True, text=True, timeout=30,
                             check=True).stdout.split()
        if out[0] != "200":
            raise RuntimeError(f"curl {url}{q}: HTTP {out[0]}")
        return float(out[1]) * 1e3

    def by_new_connection(q):
        t = time.perf_counter()
        with httpx.Client(timeout=REQUEST_TIMEOUT_S) as http:
            if error := image_error(http.get(f"{url}{q}")):
                raise RuntimeError(error)
        return (time.perf_counter() - t) * 1e3

    fresh = by_curl if curl else by_new_connection
    fresh(queries[0])
    first = [fresh(q) for q in queries[1:]]
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as http:
        http.get(queries[0])
        kept = []
        for q in queries[1:]:
            t = time.perf_counter()
            r = http.get(q)
            kept.append((time.perf_counter() - t) * 1e3)
            if error := image_error(r):
                raise RuntimeError(error)
    return {"curl": tuple(summary(first, (50, 95)).values()),
            "keepalive": tuple(summary(kept, (50, 95)).values())}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--clients", type=int, help="default: 32, or 64 with --image-api")
    p.add_argument("--seconds", type=float, help="default: 60, or 45 with --image-api")
    p.add_argument("--max-requests", type=int, default=200_000)
    p.add_argument("--image-api", action="store_true",
                   help="GET /api/decode.png with a fresh x, y per request instead of the REST mix")
    p.add_argument("--repeat", action="store_true",
                   help="with --image-api: 8 fixed URLs per client, revalidated with If-None-Match")
    p.add_argument("--n", type=int, default=200, help="with --image-api: single-client round trips")
    p.add_argument("--url", help="load this running server instead of starting demo.py")
    p.add_argument("--pid", type=int, help="with --url: the server's pid, for its memory")
    a = p.parse_args()
    if a.url and not a.image_api and not a.pid:
        p.error("--url needs --pid (the server's memory is read before and after)")
    clients = a.clients or (64 if a.image_api else 32)
    seconds = a.seconds or (45 if a.image_api else 60)
    server = None if a.url else start_server()
    url, pid = (a.url, a.pid) if a.url else (server.url, server.proc.pid)
    try:
        if not a.image_api:
            print(report(run_load(url, pid, clients, seconds, a.max_requests)))
            return
        one = image_latency(url, a.n)
        print(f"image API, one client, {a.n} calls: as the README's curl (a new connection "
              f"each) p50 {one['curl'][0]:.1f} / p95 {one['curl'][1]:.1f} ms; one keep-alive "
              f"connection p50 {one['keepalive'][0]:.1f} / p95 {one['keepalive'][1]:.1f} ms",
              flush=True)
        print(image_report(run_image_load(url, pid, clients, seconds, a.repeat, a.max_requests)))
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
