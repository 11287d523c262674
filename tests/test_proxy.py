"""deploy/replicas.py as an operator runs it: two demo.py replicas behind nginx on a free port.
Page sessions driven through nginx as a browser drives them (bench/classroom.py's User: the page,
its heartbeat, load events, a jump click, an upload and its encode, a model switch, the image
API) all answer, and nginx's access log shows every request of a session served by one replica,
both replicas serving sessions; the REST API's two-step call answers through it, as curl makes
it; a real Chromium page works through it; SIGTERM stops every process the command started.
Skipped where nginx is missing (apt-get install nginx). Run: pytest tests/test_proxy.py"""

import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

from bench.classroom import Page, Recorder, User
from bench.harness import ROOT, call_queued, descendants, free_port
from deploy.replicas import NGINX
from pages import canvas, open_page, sliders

pytestmark = pytest.mark.live
SESSIONS, AT_ONCE = 24, 6  # page sessions, and how many run side by side
START_S = 300  # two replicas starting side by side on a loaded 2-core machine
STATELESS = ("/api/decode.png", "/api/model/")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    """`python deploy/replicas.py --replicas 2 --port FREE` -> (url, run folder, process)."""
    if not Path(NGINX).exists():
        pytest.skip(f"nginx not found ({NGINX}; apt-get install nginx): the proxy tests skipped")
    run, port = tmp_path_factory.mktemp("replicas"), free_port()
    out = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "deploy/replicas.py", "--replicas", "2", "--port", str(port),
                             "--run-dir", str(run)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    while b"serving" not in printed(out):  # bounded: the replicas' startup
        if proc.poll() is not None or time.monotonic() - t0 > START_S:
            proc.kill()
            pytest.fail(f"deploy/replicas.py did not start: {printed(out).decode(errors='replace')[-3000:]}")
        time.sleep(0.2)
    yield url, run, proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    out.close()


def printed(out):
    out.seek(0)
    return out.read()


def served_by(run):
    """nginx's access log -> [(session key, replica address, status, path)]."""
    rows = []
    for line in (run / "access.log").read_text().splitlines():
        _, key, upstream, status, _, path = line.split(" ", 5)
        rows.append((key, upstream, int(status), path))
    return rows


def test_page_sessions_through_the_proxy_each_stay_on_one_replica(proxy, draw, as_png):
    url, run, _ = proxy
    with httpx.Client(base_url=url, timeout=30) as http:
        page = Page(http.get("/config").json())
    other = next(m for m in page.models if m != page.model)
    rec = Recorder()
    rec.window = (0.0, float("inf"))  # every request counts
    # a drawing of its own each: Gradio rewrites (truncates, then writes) a cached output file
    # named by its content's hash on every event that makes it, so a session fetching it while
    # another session of the same replica makes the same image can read it empty (seen once in 24
    # sessions: nginx logged "upstream prematurely closed connection")
    drawings = [as_png(draw(("one", "zero", "seven")[i % 3], 120 + 4 * i)) for i in range(SESSIONS)]
    users = [User(i, page, url, rec, "proxy") for i in range(SESSIONS)]
    cookies = {}

    async def session(user, gate):
        async with gate, user.client() as http:
            beat = await user.open_page(http)
            await user.event(http, f"jump-{user.i % 10}", "click jump")
            await user.upload(http, "digit.png", drawings[user.i])
            await user.switch_model(http, other)
            await user.image(http)
            beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)
            cookies[user.i] = http.cookies.get("lsn_replica")

    async def all_sessions():
        gate = asyncio.Semaphore(AT_ONCE)
        await asyncio.wait_for(asyncio.gather(*(session(u, gate) for u in users)), 600)

    # in a thread of its own: the session-wide Playwright (conftest's chromium) holds this thread's
    # event loop once a browser test has run, and asyncio.run refuses a thread with a running loop
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, all_sessions()).result()
    assert rec.errors == [], rec.errors[:5]
    done = {k: len(v) for k, v in rec.items.items()}
    for kind in ("GET /", "click jump", "upload", "upload: encode", "model switch", "image API"):
        assert done.get(kind) == SESSIONS, (kind, done)
    text = page.events["upload"]["outputs"][1]  # the encoded z's text
    assert all(isinstance(u.values[text], str) and u.values[text] for u in users)
    assert all(u.values[page.model_id] == other for u in users)

    rows = served_by(run)
    assert all(status < 400 for _, _, status, _ in rows), [r for r in rows if r[2] >= 400][:5]
    replicas = defaultdict(set)  # session key -> the replicas its page requests reached
    counts = defaultdict(int)
    for key, upstream, _, path in rows:
        if not path.startswith(STATELESS):
            replicas[key].add(upstream)
            counts[key] += 1
    assert None not in cookies.values() and len(set(cookies.values())) == SESSIONS
    for i, key in cookies.items():
        # after the page: config, 2+ load events, jump, upload, encode, switch (each a join and
        # a stream), the heartbeat
        assert counts[key] >= 12, (i, counts[key])
        assert len(replicas[key]) == 1 and "," not in next(iter(replicas[key])), (i, replicas[key])
    per_replica = defaultdict(int)
    for key in cookies.values():
        per_replica[next(iter(replicas[key]))] += 1
    assert len(per_replica) == 2, per_replica  # both replicas served sessions
    images = {upstream for _, upstream, _, path in rows if path.startswith(STATELESS)}
    assert len(images) == 2, images  # the image API spread over both
    print(f"\n{SESSIONS} sessions, {sum(done.values())} page actions, 0 errors; {len(rows)} requests "
          f"through nginx; sessions per replica: {dict(per_replica)}")


def test_rest_calls_through_the_proxy_answer(proxy):
    """POST /gradio_api/call/NAME, then GET its event: no page loaded, so no cookie; the client's
    address keeps both steps on one replica."""
    url, run, _ = proxy
    centres = set()
    for i in range(10):
        with httpx.Client(timeout=30) as http:  # a new connection each call, as curl
            text = call_queued(http, url, "jump", [i, None], session=f"rest-{i}")
        (x, y), = json.loads(text.rsplit("data:", 1)[1])
        centres.add((x, y))
    assert len(centres) == 10  # each digit's own centre
    rest = {up for key, up, _, path in served_by(run) if path.startswith("/gradio_api/call/")}
    assert len(rest) == 1, rest


@pytest.mark.browser
def test_a_real_page_through_the_proxy_jumps(proxy, chromium):
    url, run, _ = proxy
    page = open_page(chromium, url)
    try:
        before, digit = sliders(page), canvas(page)
        page.click("#lsn-jump-7")
        t0 = time.monotonic()
        while (sliders(page) == before or np.array_equal(canvas(page), digit)) and time.monotonic() - t0 < 30:
            time.sleep(0.1)  # bounded: the jump's answer, then the page's decoder drawing it
        assert sliders(page) != before
        assert np.abs(canvas(page).astype(int) - digit).max() > 0
        cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "lsn_replica")
    finally:
        page.context.close()
    reached = {up for key, up, _, path in served_by(run) if key == cookie and not path.startswith(STATELESS)}
    assert len(reached) == 1, reached


def test_sigterm_stops_every_process_it_started(proxy):
    _, _, proc = proxy
    started = descendants(proc.pid)
    assert len(started) >= 4  # itself, two replicas, nginx's master (and its workers)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    time.sleep(1)
    alive = [p for p in started if Path(f"/proc/{p}").exists()]
    assert not alive, alive
