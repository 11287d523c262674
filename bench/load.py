"""Load: concurrent API clients against demo.py on loopback, mixing /decode, /jump, /interpolate
and /sample; bounded both in requests and in time, it stops by itself.

    .venv/bin/python bench/load.py                       # starts demo.py; 32 clients for 60 s
    .venv/bin/python bench/load.py --clients 8 --seconds 10

Each client stands for one student: its own connection and session, one request at a time on
the queued REST path (POST /gradio_api/call/NAME, then GET its event stream), as gradio_client
calls. A request is an error unless its stream ends in `event: complete` (each HTTP step may take
REQUEST_TIMEOUT_S). Prints requests served, errors, latency percentiles, and the server's resident
memory before and after (from /proc/PID/status). bench/run_all.py runs it inside `make bench`.
"""

import argparse
import asyncio
import itertools
import random
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.harness import rss_mb, start_server  # noqa: E402

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


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--max-requests", type=int, default=200_000)
    a = p.parse_args()
    server = start_server()
    try:
        print(report(run_load(server.url, server.proc.pid, a.clients, a.seconds, a.max_requests)))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
