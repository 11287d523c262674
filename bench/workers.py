"""The image API past one process: routes.py's two plain GET routes alone (no Gradio) served by
uvicorn with 1 and then 2 worker processes, each loaded by bench/load.py's image-API clients.

    .venv/bin/python bench/workers.py                     # workers 1 and 2, 64 clients, 30 s each
    .venv/bin/python bench/workers.py --workers 1 2 --clients 64 --seconds 45
    .venv/bin/python -m uvicorn bench.workers:app --workers 2 --host 127.0.0.1 --port 8000

As an ASGI module (the last command, from the repository root) it is the app itself: a Starlette
app with GET /api/decode.png and GET /api/model/NAME (routes.decode_png and routes.model_file,
the very functions demo.py mounts), one torch thread per worker as demo.py serves. These routes
keep no state between requests (a model loads once per process, then each answer depends only on
the URL and the checkpoint), so any worker or replica can answer any request; Gradio's own page
and queue cannot be split this way (see the README, "Many users, several replicas").

Run as a script, it starts `python -m uvicorn bench.workers:app --workers N` on a free 127.0.0.1
port for each N, waits (bounded) until every worker has loaded the model, loads it for
--seconds s with --clients clients (fresh x, y per request), and prints images/s, errors,
p50/p95/p99 and the resident memory of the supervisor and its workers, N side by side.
"""

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from starlette.applications import Starlette
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import routes  # noqa: E402
from bench.harness import ROOT, Server, free_port  # noqa: E402
from bench.load import image_report, run_image_load  # noqa: E402


@contextlib.asynccontextmanager
async def one_thread(app):
    """Each worker decodes with one torch thread, as demo.py serves: one decode is ~1 ms of tiny
    ops, where threads only add contention (set when a worker starts, not when this module is
    imported: bench/run_all.py imports it and trains afterwards)."""
    torch.set_num_threads(1)
    yield


app = Starlette(routes=[Route("/api/decode.png", routes.decode_png),
                        Route("/api/model/{name}", routes.model_file)], lifespan=one_thread)


def start_workers(workers, timeout=120):
    """`python -m uvicorn bench.workers:app --workers N` on a free 127.0.0.1 port -> a Server once
    a decode answers; then (bounded) warm-up requests until each worker has loaded the model."""
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.workers:app", "--host",
                             "127.0.0.1", "--port", str(port), "--workers", str(workers),
                             "--log-level", "warning", "--no-access-log"],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    server = Server(proc, url, 0.0, log)
    try:
        while time.monotonic() - t0 < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {proc.returncode}: {server.log_tail()}")
            try:
                # new connections, so the kernel spreads them over the workers; each worker's
                # first request loads the model (a few hundred ms)
                for i in range(20 * workers):
                    r = httpx.get(f"{url}/api/decode.png?x={i / 100}&y=0", timeout=30)
                    r.raise_for_status()
                server.startup_s = time.monotonic() - t0
                return server
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"uvicorn --workers {workers} did not answer within {timeout} s")
    except BaseException:
        server.stop()
        raise


def measure(workers=(1, 2), clients=64, seconds=30.0):
    """-> {N: bench.load.run_image_load's dict (with "startup_s")} for each worker count N, each
    after a 5 s warm-up at the same load (not counted)."""
    results = {}
    for n in workers:
        server = start_workers(n)
        try:
            run_image_load(server.url, server.proc.pid, clients, min(5.0, seconds))
            r = run_image_load(server.url, server.proc.pid, clients, seconds)
            r["startup_s"] = server.startup_s
            assert server.alive(), server.log_tail()
            results[n] = r
        finally:
            server.stop()
    return results


def table_rows(results):
    """make bench's table rows (measure, figure, baseline, target, met) from measure()'s dict of
    1 and 2 workers."""
    one, two = results[1], results[2]
    fig = lambda r: (f"{r['images_rate']:.0f} images/s, p50 / p95 {r['p50']:.0f} / "  # noqa: E731
                     f"{r['p95']:.0f} ms, {r['errors']} errors, {r['rss_after']:.0f} MiB")
    return [(f"image API alone (bench/workers.py) under uvicorn --workers 2, "
             f"{two['clients']} clients × {two['seconds']:.0f} s", fig(two),
             f"1 worker: {fig(one)}", "—", None)]


def table(results):
    lines = ["| uvicorn workers | images/s | errors | p50 / p95 / p99 | resident memory, all "
             "processes |", "|---|---|---|---|---|"]
    for n, r in results.items():
        lines.append(f"| {n} | {r['images_rate']:.0f} | {r['errors']} | {r['p50']:.1f} / "
                     f"{r['p95']:.1f} / {r['p99']:.1f} ms | {r['rss_after']:.0f} MiB |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--seconds", type=float, default=30)
    a = p.parse_args()
    results = measure(a.workers, a.clients, a.seconds)
    for n, r in results.items():
        print(f"{n} worker{'s' * (n > 1)}: {image_report(r)}")
    print(f"\n{os.cpu_count()} cores; clients and server share them.\n")
    print(table(results))


if __name__ == "__main__":
    main()
