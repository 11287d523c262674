"""What the bench scripts and the live-server tests share: demo.py started as a subprocess on a
free 127.0.0.1 port (so its memory is its own and measurable), REST calls to it, percentiles of
timed calls, a process's resident memory, and how Chromium is launched. Not run by itself; imported as `bench.harness`:

    from bench.harness import start_server, call_queued, rss_mb
    server = start_server("--bench-floor")   # waits (bounded) for the first decode to answer
    call_queued(httpx.Client(), server.url, "decode", [0.5, 1, None])
    server.stop()
"""

import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# One session per caller, as the page and gradio_client each keep one: without it Gradio builds
# a fresh session state (every component's config) for every call.
SESSION = "bench-session"
# Debian's Chromium, headless, with nothing reaching out (never `playwright install`)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    """Resident memory of process `pid` in MiB, from /proc/PID/status (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    startup_s: float  # from Popen to the first /decode answered
    log: object  # the file that holds the server's stdout and stderr

    def alive(self):
        return self.proc.poll() is None

    def log_tail(self, chars=3000):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-chars:]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()


def start_server(*args, timeout=180, env=None, root=ROOT, ready="/api/decode.png?x=0&y=0", log=None):
    """`python demo.py --port FREE *args` (root/demo.py) -> a Server once GET `ready` answers (by
    default the image API's decode; an older release without it: "/"), within `timeout` s.
    Its output goes to `log` (a file opened "w+b"), by default a temp file; not a pipe: a pipe
    nobody reads fills up and then blocks the server mid-run (Gradio logs every failed call)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = log or tempfile.TemporaryFile()
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(root / "demo.py"), "--port", str(port), *args],
                            cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env)
    server = Server(proc, url, 0.0, log)
    try:
        with httpx.Client(timeout=5) as http:
            while time.monotonic() - t0 < timeout:  # bounded wait for the first decode
                if proc.poll() is not None:
                    raise RuntimeError(f"demo.py exited with {proc.returncode}: "
                                       f"{server.log_tail()}")
                try:
                    http.get(f"{url}{ready}").raise_for_status()
                    server.startup_s = time.monotonic() - t0
                    return server
                except httpx.HTTPError:
                    time.sleep(0.05)  # fine-grained, so the startup time is not rounded up much
        raise RuntimeError(f"demo.py did not answer GET {ready} within {timeout} s")
    except BaseException:  # any failure, Ctrl-C included, leaves no server running
        server.stop()
        raise


def call_queued(http, url, name, data, session=SESSION):
    """POST /gradio_api/call/NAME, then GET its event stream: the queued REST path."""
    event = http.post(f"{url}/gradio_api/call/{name}",
                      json={"data": data, "session_hash": session}).json()["event_id"]
    text = http.get(f"{url}/gradio_api/call/{name}/{event}").text
    if "event: complete" not in text:
        raise RuntimeError(f"{name}: {text[:300]}")
    return text


def percentiles(ms, qs=(50, 95)):
    return tuple(float(np.percentile(ms, q)) for q in qs)


def time_calls(fn, n):
    """-> (p50, p95) in ms of n calls fn(0..n-1), after one warm-up call: first-call costs (file
    cache dirs, lazy imports) are not the steady state."""
    fn(0)
    ms = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        ms.append((time.perf_counter() - t) * 1e3)
    return percentiles(ms)


def descendants(pid):
    """pid and every process below it (uvicorn's workers, multiprocessing's helpers), from the
    parent ids in /proc/*/stat."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def rss_tree_mb(pid):
    """Resident memory of pid and all its descendants in MiB (a process gone meanwhile counts 0;
    pages shared between them count once per process, as VmRSS does)."""
    total = 0.0
    for p in descendants(pid):
        try:
            total += rss_mb(p)
        except (OSError, RuntimeError):
            pass
    return total


def du_mb(*paths):
    """Disk used by files under `paths` in MiB (allocated blocks, as `du` counts; a path that does
    not exist counts 0; files removed during the walk are skipped)."""
    total = 0
    for root in map(Path, paths):
        if not root.exists():
            continue
        for f in [root, *root.rglob("*")]:
            try:
                total += f.lstat().st_blocks * 512
            except OSError:
                pass
    return total / 2**20


def summary(ms, qs=(50, 95, 99)):
    """{"p50": .., "p95": .., ...} in ms of a list of ms (NaN each when empty)."""
    return {f"p{q}": (float(np.percentile(ms, q)) if len(ms) else float("nan")) for q in qs}
