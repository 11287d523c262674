"""Replicas behind a proxy against one process: the image API (GET /api/decode.png, a fresh x, y
each, bench/load.py) and the classroom (simulated page users, bench/classroom.py) on one demo.py
directly, then through nginx in front of N demo.py replicas (deploy/replicas.py), in one run.

    .venv/bin/python bench/proxy.py                       # 2 replicas; about 3 minutes
    .venv/bin/python bench/proxy.py --replicas 2 --image-seconds 10 --users 20 --room-seconds 10

The load generator runs on the same cores as the servers and nginx: on a machine with few cores
the replicas compete with it, so the figures show the proxy's cost and the replicas' gain on
this machine, not on a server of its own. Needs nginx (apt-get install nginx).
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import classroom  # noqa: E402
from bench.harness import free_port, start_server  # noqa: E402
from bench.load import image_report, run_image_load  # noqa: E402
from deploy import replicas  # noqa: E402

IMAGE_CLIENTS, IMAGE_SECONDS, ROOM_SECONDS, ROOM_WARMUP = 64, 20.0, 25.0, 5.0


def load_both(url, pids, image_clients, image_seconds, users, room_seconds):
    """The image API load, then the classroom, on one address -> {"images": .., "room": ..}."""
    images = run_image_load(url, pids[0] if len(pids) == 1 else None, image_clients, image_seconds)
    print("  ", image_report(images), flush=True)
    room = classroom.run_classroom(url, pids, [], users, room_seconds, ROOM_WARMUP, after=0)
    print(classroom.report(room), flush=True)
    return {"images": images, "room": room}


def measure(n=2, image_clients=IMAGE_CLIENTS, image_seconds=IMAGE_SECONDS, users=classroom.USERS,
            room_seconds=ROOM_SECONDS):
    """-> {"one": .., "proxy": .., "replicas": n}, each load_both's dict."""
    loads = (image_clients, image_seconds, users, room_seconds)
    print("one demo.py, directly", flush=True)
    server = start_server()
    try:
        one = load_both(server.url, [server.proc.pid], *loads)
    finally:
        server.stop()
    print(f"nginx in front of {n} demo.py replicas", flush=True)
    with tempfile.TemporaryDirectory(prefix="lsn-replicas-") as run:
        group = replicas.start(n, port=free_port(), run=run)
        try:
            proxied = load_both(group.url, [s.proc.pid for s in group.servers], *loads)
            assert group.alive(), "a replica or nginx stopped during the load"
        finally:
            group.stop()
    return {"one": one, "proxy": proxied, "replicas": n}


def table_rows(r):
    """make bench's table rows (measure, figure, baseline, target, met)."""
    n, one, px = r["replicas"], r["one"], r["proxy"]
    oi, pi, orm, prm = one["images"], px["images"], one["room"], px["room"]
    via = f"through nginx, {n} replicas"
    img = f"image API, {pi['clients']} clients × {pi['seconds']:.0f} s, {via}"
    room = f"classroom, {prm['users']} users × {prm['seconds']:.0f} s, {via}"
    page = lambda x: x["kinds"].get("GET /", {"p50": float("nan"), "p95": float("nan")})  # noqa: E731
    return [
        (f"{img}: images/s", f"{pi['images_rate']:.0f}", f"one demo.py directly: {oi['images_rate']:.0f}",
         "—", None),
        (f"{img}: latency p50 / p95", f"{pi['p50']:.0f} / {pi['p95']:.0f} ms",
         f"one demo.py: {oi['p50']:.0f} / {oi['p95']:.0f} ms", "—", None),
        (f"{img}: errors", str(pi["errors"]), f"one demo.py: {oi['errors']}", "0", pi["errors"] == 0),
        (f"{room}: clicks p50 / p95", f"{prm['clicks']['p50']:.0f} / {prm['clicks']['p95']:.0f} ms "
         f"({prm['clicks']['n']} clicks)",
         f"one demo.py: {orm['clicks']['p50']:.0f} / {orm['clicks']['p95']:.0f} ms "
         f"({orm['clicks']['n']} clicks)", "—", None),
        (f"{room}: GET / p50 / p95", f"{page(prm)['p50']:.0f} / {page(prm)['p95']:.0f} ms",
         f"one demo.py: {page(orm)['p50']:.0f} / {page(orm)['p95']:.0f} ms", "—", None),
        (f"{room}: errors", str(prm["errors"]), f"one demo.py: {orm['errors']}", "0", prm["errors"] == 0),
        (f"{room}: server CPU during the window", f"{100 * prm['cpu_share']:.0f} % of one core "
         f"(all replicas)", f"one demo.py: {100 * orm['cpu_share']:.0f} %", "—", None),
    ]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--replicas", type=int, default=2)
    p.add_argument("--image-clients", type=int, default=IMAGE_CLIENTS)
    p.add_argument("--image-seconds", type=float, default=IMAGE_SECONDS)
    p.add_argument("--users", type=int, default=classroom.USERS, help="classroom page users")
    p.add_argument("--room-seconds", type=float, default=ROOM_SECONDS, help="the classroom's window")
    a = p.parse_args()
    r = measure(a.replicas, a.image_clients, a.image_seconds, a.users, a.room_seconds)
    for row in table_rows(r):
        print(" | ".join(str(c) for c in row[:4]))


if __name__ == "__main__":
    main()
