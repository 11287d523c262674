"""Classroom load: simulated students on the page, each going through the page's own event path,
on loopback against demo.py; bounded in time, it stops by itself.

    .venv/bin/python bench/classroom.py                   # starts demo.py; 60 users, 60 s
    .venv/bin/python bench/classroom.py --users 4 --seconds 8 --warmup 2 --after 2
    .venv/bin/python bench/classroom.py --url http://127.0.0.1:7862 --pid PID --tmp DIR

Each user does what a browser on the page does (checked against a real page in headless
Chromium: the same requests, bodies and order):
  opens the page  GET / (the HTML with the app's config), then, as the page does once mounted:
                  the heartbeat stream (GET /gradio_api/heartbeat/SESSION, kept open), the
                  model file its decoder runs (GET /api/model/NAME) and the page's load events
                  (the map, the model and z its address names) through the queue;
  clicks          every ~2 s (uniform 1.5-2.5 s, from the previous click's start, or from its
                  end when it took longer), one of: a jump button (a random digit), morph,
                  random z, interpolate (between a start and an end class picked at random),
                  each a quarter of the time. A click is the page's own
                  event: POST /gradio_api/queue/join {"fn_index", "data", "trigger_id",
                  "session_hash"} then GET /gradio_api/queue/data?session_hash=.. (server-sent
                  events) read to its close; the click's latency is join to its
                  process_completed. The event's index and inputs come from GET /config (the
                  button's elem_id or label names it); its inputs are the user's current values
                  (the components' defaults, then what earlier answers set, as the page keeps
                  them; a State is sent as null, as the page sends it). What the page runs after
                  an answer runs too: interpolate's strip image is fetched (GET
                  /gradio_api/file=..) and its map redraw (the .then event) is joined; the
                  "chain" time runs from the click to its last server event's answer. Dragging
                  sends nothing (the page decodes in the browser), so no drag is simulated;
  reloads         GET / again every ~20 s (uniform 15-25 s): the page's HTML, as the issue's
                  load asks (a browser's reload would also open a new session and run the load
                  events again; not simulated);
  images          GET /api/decode.png?x=..&y=.. with a fresh random x, y every ~2 s (uniform
                  1.5-2.5 s), as a notebook or a slide beside the page would.
Users start spread over the first 2 s; the measured --seconds s window opens once --warmup s
have passed and every user has opened the page, and the users stop when it closes. Figures count
the requests started in the window (the others are shown as warm-up). An error, in any phase, is
any HTTP status >= 400,
an event answered with success false, a stream closed before its answer, or a timeout (each
request REQUEST_TIMEOUT_S, each click CLICK_TIMEOUT_S). The server's resident memory (VmRSS)
and the disk its temp folders use are read at idle, at the window's start, at its end and
--after s later: the server started here gets TMPDIR=a fresh /tmp/lsn-classroom-* folder, so
everything it writes to temp (its lsn-* folder: Gradio's cache GRADIO_TEMP_DIR, the downloads)
lies there; /tmp/gradio, Gradio's default cache, is measured too.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.harness import du_mb, rss_mb, start_server, summary  # noqa: E402
from bench.load import image_error, image_query  # noqa: E402

USERS, SECONDS, WARMUP_S, AFTER_S = 60, 60.0, 10.0, 30.0
CLICK_S, RELOAD_S, IMAGE_S = 2.0, 20.0, 2.0  # mean intervals, each jittered by +-25 %
REQUEST_TIMEOUT_S, CLICK_TIMEOUT_S = 30, 60
IDLE_GETS = 20  # GET / timed on the idle server first
OPEN_BOUND_S = 60  # the longest the window waits, past the warm-up, for every page to open
CLICKS = ("jump", "morph", "random", "interpolate")
# Issue 12's targets
CLICK_P95_MS, PAGE_P95_MS, RSS_GROWTH = 500, 200, 0.05
DEFAULT_TMP = Path(os.environ.get("GRADIO_TEMP_DIR", Path(tempfile.gettempdir()) / "gradio"))


class EventFailed(Exception):
    pass


class Page:
    """The page's events as the browser sees them, from GET /config: for each click its
    fn_index, trigger (the button's component id), input and output component ids and the
    server events it triggers next (.then); the components' default values."""

    def __init__(self, config):
        self.components = {c["id"]: c for c in config["components"]}
        self.defaults = {i: (None if c["type"] == "state" else c.get("props", {}).get("value"))
                         for i, c in self.components.items()}
        deps = config["dependencies"]
        self.events = {}
        for i, d in enumerate(deps):
            fn_index = d.get("id", i)
            for target, trigger in d["targets"]:
                props = self.components.get(target, {}).get("props", {})
                elem_id, label = props.get("elem_id") or "", props.get("value")
                name = None
                if trigger == "click" and elem_id.startswith("lsn-jump-"):
                    name = f"jump-{elem_id.rsplit('-', 1)[1]}"
                elif trigger == "click" and elem_id == "lsn-morph":
                    name = "morph"
                elif trigger == "click" and label == "random z ~ N(0, I)":
                    name = "random"
                elif trigger == "click" and label == "interpolate":
                    name = "interpolate"
                elif trigger == "upload" and elem_id == "lsn-upload":
                    name = "upload"
                elif trigger == "change" and elem_id == "lsn-model":
                    name = "model"
                elif trigger == "load" and d.get("backend_fn"):
                    name = f"load-{sum(n.startswith('load-') for n in self.events)}"
                if name:
                    self.events[name] = {"fn_index": fn_index, "trigger_id": target,
                                         "inputs": d["inputs"], "outputs": d["outputs"],
                                         "then": self._then(deps, fn_index)}
        missing = [n for n in ("load-0", "morph", "random", "interpolate", "jump-0", "upload", "model")
                   if n not in self.events]
        if missing:
            raise RuntimeError(f"the page's config has no event for {missing}")
        self.jumps = sorted(n for n in self.events if n.startswith("jump-"))
        self.loads = sorted(n for n in self.events if n.startswith("load-"))  # all run at open
        by_elem = {c.get("props", {}).get("elem_id"): i for i, c in self.components.items()}
        self.model_id, self.upload_id = by_elem["lsn-model"], by_elem["lsn-upload"]
        self.model = self.components[self.model_id]["props"]["value"]
        self.models = [v for _, v in self.components[self.model_id]["props"]["choices"]]
        # the Interpolate tab's start and end pickers: a student picks a pair before clicking
        self.pickers = {i: [v for _, v in c["props"]["choices"]] for i, c in self.components.items()
                        if c["type"] == "dropdown" and c["props"].get("label") in ("start", "end")}

    @staticmethod
    def _then(deps, fn_index):
        """The server events run after fn_index (its .then chain), in order; client-only (js)
        steps are skipped, as they cost the server nothing."""
        chain, current = [], fn_index
        while True:
            nxt = next(((d.get("id", i), d) for i, d in enumerate(deps)
                        if d.get("trigger_after") == current), None)
            if nxt is None:
                return chain
            current, d = nxt
            if d.get("backend_fn"):
                chain.append({"fn_index": current, "inputs": d["inputs"], "outputs": d["outputs"],
                              "only_on_success": d.get("trigger_only_on_success", False)})


class Recorder:
    """The time of each request by kind, and every error; the figures are those started inside
    the measured window (self.window, monotonic seconds: set once every user has opened the
    page and the warm-up has passed; the users stop at its end)."""

    def __init__(self):
        self.window = (float("inf"), float("inf"))
        self.opened = 0  # users whose page open is over (well or not)
        self.items = defaultdict(list)
        self.errors = []

    def measured(self, t):
        return self.window[0] <= t < self.window[1]

    def add(self, kind, started, ms, error=None):
        """Recorded under `kind` inside the window, else under "warm-up: kind" (the page opens,
        mostly) or "after: kind"; every error counts, in whichever phase."""
        if not self.measured(started):
            kind = f"{'warm-up' if started < self.window[0] else 'after'}: {kind}"
        self.items[kind].append(ms)
        if error is not None:
            self.errors.append((kind, error))


async def run_event(http, session, fn_index, trigger_id, data, event_data=False):
    """One page event through the queue, as the browser sends it: join, then read the session's
    event stream to its close. -> (ms from join to process_completed, the output data)."""
    body = {"data": data, "fn_index": fn_index, "trigger_id": trigger_id,
            "session_hash": session}
    if event_data:
        body["event_data"] = None  # the page's load events carry it
    t = time.perf_counter()
    join = await http.post("/gradio_api/queue/join", json=body)
    if join.status_code >= 400:
        raise EventFailed(f"join: HTTP {join.status_code}: {join.text[:200]}")
    event_id = join.json()["event_id"]
    done = output = None
    async with http.stream("GET", "/gradio_api/queue/data",
                           params={"session_hash": session}) as stream:
        if stream.status_code >= 400:
            raise EventFailed(f"queue/data: HTTP {stream.status_code}")
        async for line in stream.aiter_lines():
            if not line.startswith("data:"):
                continue
            msg = json.loads(line[5:])
            kind = msg.get("msg")
            if kind == "process_completed" and msg.get("event_id") == event_id:
                done = (time.perf_counter() - t) * 1e3
                if not msg.get("success"):
                    raise EventFailed(f"success false: {str(msg.get('output'))[:200]}")
                output = msg["output"]["data"]
            elif kind == "unexpected_error":
                raise EventFailed(f"unexpected_error: {msg.get('message')}")
            elif kind == "close_stream":
                break
    if done is None:
        raise EventFailed("the stream closed before the event's answer")
    return done, output


def value_of(v):
    """An output's new value: a component update's "value" when it has one, else itself."""
    if isinstance(v, dict) and v.get("__type__") == "update":
        return v.get("value", ...)
    return v


class User:
    def __init__(self, i, page, url, rec, tag):
        self.i, self.page, self.url, self.rec = i, page, url, rec
        self.session = f"classroom-{tag}-{i}"
        self.rng = random.Random(i)
        self.values = dict(page.defaults)  # what the page holds now, per component id

    @property
    def deadline(self):
        return self.rec.window[1]

    def jitter(self, mean):
        return self.rng.uniform(0.75 * mean, 1.25 * mean)

    async def sleep_until(self, t):
        await asyncio.sleep(max(0.0, min(t, self.deadline) - time.monotonic()))

    async def timed(self, kind, coro_fn):
        """Run one request, recording its time and any error (none is raised)."""
        started, t = time.monotonic(), time.perf_counter()
        try:
            result = await asyncio.wait_for(coro_fn(), REQUEST_TIMEOUT_S + 5)
            self.rec.add(kind, started, (time.perf_counter() - t) * 1e3)
            return result
        except Exception as e:  # noqa: BLE001 (HTTP, protocol, timeout: each is an error)
            self.rec.add(kind, started, (time.perf_counter() - t) * 1e3,
                         f"{type(e).__name__}: {str(e)[:200]}")
            return None

    def client(self):
        """The user's connections and cookies, as one browser tab keeps them."""
        limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)  # 6 in Chromium
        return httpx.AsyncClient(base_url=self.url, timeout=REQUEST_TIMEOUT_S, limits=limits)

    async def get_ok(self, http, path, check=None):
        r = await http.get(path)
        if r.status_code >= 400:
            raise EventFailed(f"GET {path[:80]}: HTTP {r.status_code}: {r.text[:120]}")
        if check and (error := check(r)):
            raise EventFailed(error)
        return r

    def inputs(self, ids):
        return [self.values.get(c) for c in ids]

    def take(self, outputs, data):
        for c, v in zip(outputs, data or []):
            v = value_of(v)
            if v is not ... and self.page.components.get(c, {}).get("type") != "state":
                self.values[c] = v

    async def event(self, http, name, kind):
        """A click (or the load event) and the server events it triggers, as the page runs them.
        Records the event itself under `kind` (join to its answer) and the whole chain under
        `kind + " chain"` when there is one."""
        e = self.page.events[name]
        started, t = time.monotonic(), time.perf_counter()
        try:
            ms, data = await run_event(http, self.session, e["fn_index"], e["trigger_id"],
                                       self.inputs(e["inputs"]),
                                       event_data=name.startswith("load-"))
            self.rec.add(kind, started, ms)
        except Exception as err:  # noqa: BLE001
            self.rec.add(kind, started, (time.perf_counter() - t) * 1e3,
                         f"{name}: {type(err).__name__}: {str(err)[:200]}")
            return
        self.take(e["outputs"], data)
        if name == "morph" and data and isinstance(data[0], list) and data[0]:
            # the page plays the positions through its own decoder and ends at the last
            x, y = (c for c in self.page.events["morph"]["inputs"][:2])
            self.values[x], self.values[y] = data[0][-1]
        for v in data or []:  # images the page shows are fetched by the browser
            if isinstance(v, dict) and "/gradio_api/file=" in str(v.get("url")):
                path = v["url"].split(self.url, 1)[-1]
                await self.timed("file (the strip image)", lambda: self.get_ok(http, path))
        for step in e["then"]:
            try:
                ms, data = await run_event(http, self.session, step["fn_index"], e["trigger_id"],
                                           self.inputs(step["inputs"]))
                self.rec.add(f"{kind}: then", started, ms)
                self.take(step["outputs"], data)
            except Exception as err:  # noqa: BLE001
                self.rec.add(f"{kind}: then", started, (time.perf_counter() - t) * 1e3,
                             f"{name} then: {type(err).__name__}: {str(err)[:200]}")
                return
        if e["then"]:
            self.rec.add(f"{kind} chain", started, (time.perf_counter() - t) * 1e3)

    async def heartbeat(self, http):
        try:
            async with http.stream("GET", f"/gradio_api/heartbeat/{self.session}",
                                   timeout=httpx.Timeout(REQUEST_TIMEOUT_S, read=None)) as s:
                async for _ in s.aiter_lines():
                    pass
        except (httpx.HTTPError, asyncio.CancelledError):
            pass

    async def every(self, mean, action):
        """Run `action` about every `mean` s (uniform 0.75-1.25 x mean) from the start of its
        previous run, or from its end when that took longer, until the window closes."""
        nxt = time.monotonic() + self.jitter(mean)
        while True:
            await self.sleep_until(nxt)
            if time.monotonic() >= self.deadline:
                return
            started = time.monotonic()
            await action()
            nxt = max(started + self.jitter(mean), time.monotonic())

    async def click(self, http):
        kind = self.rng.choice(CLICKS)
        name = self.rng.choice(self.page.jumps) if kind == "jump" else kind
        if kind == "interpolate":  # a pair of its own choosing, as the page's dropdowns send it
            for picker, choices in self.page.pickers.items():
                self.values[picker] = self.rng.choice(choices)
        started = time.monotonic()
        try:
            await asyncio.wait_for(self.event(http, name, f"click {kind}"), CLICK_TIMEOUT_S)
        except asyncio.TimeoutError:
            self.rec.add(f"click {kind}", started, CLICK_TIMEOUT_S * 1e3,
                         f"{name}: no answer within {CLICK_TIMEOUT_S} s")

    async def image(self, http):
        await self.timed("image API", lambda: self.get_ok(http, image_query(self.rng), image_error))

    async def load_events(self, http, kind):
        """The page's load events, one after another: this client reads one event stream per
        event, and a session's events share one stream (the browser joins them all and reads
        that one stream), so running them one at a time is the closest it can come."""
        for name in self.page.loads:
            await self.event(http, name, kind)

    async def reload(self, http):
        await self.timed("GET /", lambda: self.get_ok(http, "/"))

    async def open_page(self, http):
        """The page opened as a browser opens it: GET /, then its heartbeat stream, the model
        file its decoder runs and its load events. -> the heartbeat's task, open until the
        caller cancels it (the page closed)."""
        await self.timed("GET /", lambda: self.get_ok(http, "/"))
        beat = asyncio.create_task(self.heartbeat(http))
        try:
            await asyncio.gather(
                self.timed("model file", lambda: self.get_ok(http, f"/api/model/{self.page.model}")),
                self.load_events(http, "page load events (the map, the address)"))
        finally:
            self.rec.opened += 1
        return beat

    async def upload(self, http, name, content, mime="image/png"):
        """A file dropped on the upload box, as the page sends it: POST /gradio_api/upload (its
        own upload_id), then the box's upload event (the encode) with the file's FileData."""
        async def send():
            r = await http.post("/gradio_api/upload", params={"upload_id": f"{self.session}-{self.rng.random()}"},
                                files={"files": (name, content, mime)})
            if r.status_code >= 400:
                raise EventFailed(f"upload: HTTP {r.status_code}: {r.text[:120]}")
            return r.json()[0]

        path = await self.timed("upload", send)
        if path is None:
            return
        self.values[self.page.upload_id] = {
            "path": path, "url": f"{self.url}/gradio_api/file={path}", "orig_name": name,
            "size": len(content), "mime_type": mime, "is_stream": False, "meta": {"_type": "gradio.FileData"}}
        await self.event(http, "upload", "upload: encode")

    async def switch_model(self, http, model):
        """A model picked in the model dropdown: its change event, the server events it runs
        next, and the new model's file for the page's decoder."""
        self.values[self.page.model_id] = model
        await self.event(http, "model", "model switch")
        await self.timed("model file", lambda: self.get_ok(http, f"/api/model/{model}"))

    async def run(self, start_at):
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        async with self.client() as http:
            beat = await self.open_page(http)
            try:
                await asyncio.gather(self.every(CLICK_S, lambda: self.click(http)),
                                     self.every(IMAGE_S, lambda: self.image(http)),
                                     self.every(RELOAD_S, lambda: self.reload(http)))
            finally:
                beat.cancel()
                await asyncio.gather(beat, return_exceptions=True)


def cpu_s(pid):
    """User + system CPU seconds of process pid so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_classroom(url, pids, tmp_dirs, users=USERS, seconds=SECONDS, warmup=WARMUP_S,
                  after=AFTER_S, tag=None):
    """The classroom against a running server (pids: its processes, replicas behind a proxy
    summed, for memory and CPU; tmp_dirs: the folders whose disk use is read). -> a dict of
    every figure (see report())."""
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as http:
        r = http.get("/config")
        r.raise_for_status()
        page = Page(r.json())
        idle_page = []  # GET / on the idle server, the baseline of GET / under the load
        for i in range(IDLE_GETS + 1):
            t = time.perf_counter()
            http.get("/").raise_for_status()
            if i:  # after one warm-up
                idle_page.append((time.perf_counter() - t) * 1e3)
    rec = Recorder()
    tag = tag or f"{os.getpid()}-{int(time.time())}"
    snap = lambda: {"rss": sum(map(rss_mb, pids)), "tmp": [du_mb(d) for d in tmp_dirs],  # noqa: E731
                    "cpu": sum(map(cpu_s, pids)), "t": time.monotonic()}
    out = {"users": users, "seconds": seconds, "warmup": warmup, "after": after,
           "tmp_dirs": [str(d) for d in tmp_dirs], "idle": snap(), "samples": [],
           "page_idle": summary(idle_page)}

    async def main():
        t0 = time.monotonic()
        crowd = [User(i, page, url, rec, tag) for i in range(users)]
        tasks = [asyncio.create_task(u.run(t0 + 2.0 * i / users)) for i, u in enumerate(crowd)]

        async def sampler():
            # the window opens after the warm-up, once every user has opened the page (at most
            # OPEN_BOUND_S more), and the users stop when it closes
            await asyncio.sleep(warmup)
            while rec.opened < users and time.monotonic() - t0 < warmup + OPEN_BOUND_S:
                await asyncio.sleep(0.1)
            out["opened_after_s"] = time.monotonic() - t0
            out["before"] = await asyncio.to_thread(snap)
            start = time.monotonic()
            rec.window = (start, start + seconds)
            while time.monotonic() < rec.window[1]:
                await asyncio.sleep(min(5.0, max(0.0, rec.window[1] - time.monotonic())))
                out["samples"].append(await asyncio.to_thread(snap))

        tasks.append(asyncio.create_task(sampler()))
        try:  # hard bound: the last clicks may each take their timeouts
            await asyncio.wait_for(asyncio.gather(*tasks),
                                   warmup + OPEN_BOUND_S + seconds + CLICK_TIMEOUT_S + 15)
        except asyncio.TimeoutError:
            rec.errors.append(("run", "the users did not stop within their grace period"))

    asyncio.run(main())
    out["end"] = out["samples"][-1] if out["samples"] else snap()
    out["done"] = snap()  # once every user has stopped and closed its connections
    time.sleep(after)
    out["later"] = snap()
    out["kinds"] = {k: {"n": len(v), **summary(v)} for k, v in sorted(rec.items.items())}
    out["errors"] = len(rec.errors)
    out["error_kinds"] = dict(sorted(
        {k: sum(1 for kk, _ in rec.errors if kk == k) for k, _ in rec.errors}.items()))
    out["error_samples"] = rec.errors[:8]
    kinds = [f"click {k}" for k in CLICKS]
    clicks = [ms for k in kinds for ms in rec.items.get(k, [])]
    # to the last server event a click triggers: its own answer, or where the page runs more
    # (interpolate: the strip image and the map redraw), the last of those
    chains = [ms for k in kinds for ms in (rec.items.get(f"{k} chain") or rec.items.get(k, []))]
    out["clicks"] = {"n": len(clicks), **summary(clicks)}
    out["chains"] = {"n": len(chains), **summary(chains)}
    out["cpu_share"] = ((out["end"]["cpu"] - out["before"]["cpu"])
                        / max(1e-9, out["end"]["t"] - out["before"]["t"]))
    return out


def report(r):
    """The figures as text, one line each."""
    b, e, later, idle = r["before"], r["end"], r["later"], r["idle"]
    g = lambda a: 100 * (a / b["rss"] - 1)  # noqa: E731
    c, ch, pi = r["clicks"], r["chains"], r["page_idle"]
    peak = max([s["rss"] for s in r["samples"]] or [e["rss"]])
    lines = [f"{r['users']} users, {r['seconds']:.0f} s measured from {r['opened_after_s']:.1f} s "
             f"(the {r['warmup']:.0f} s warm-up, every page open): {r['errors']} errors "
             f"{r['error_kinds'] or ''}",
             f"  clicks (join to answer): {c['n']} ({c['n'] / r['seconds']:.1f}/s), p50 "
             f"{c['p50']:.0f} / p95 {c['p95']:.0f} / p99 {c['p99']:.0f} ms; to the last server "
             f"event the click triggers: p50 {ch['p50']:.0f} / p95 {ch['p95']:.0f} ms",
             f"  GET / on the idle server before: p50 {pi['p50']:.0f} / p95 {pi['p95']:.0f} ms"]
    for k, s in r["kinds"].items():
        lines.append(f"  {k}: {s['n']}, p50 {s['p50']:.0f} / p95 {s['p95']:.0f} / p99 "
                     f"{s['p99']:.0f} ms")
    lines.append(f"  server CPU during the window: {100 * r['cpu_share']:.0f} % of one core")
    lines.append(f"  server RSS: idle {idle['rss']:.0f}, window start {b['rss']:.0f}, end "
                 f"{e['rss']:.0f} ({g(e['rss']):+.1f} %), max {peak:.0f}, {r['after']:.0f} s "
                 f"after {later['rss']:.0f} MiB ({g(later['rss']):+.1f} %)")
    for i, d in enumerate(r["tmp_dirs"]):
        lines.append(f"  disk used under {d}: idle {idle['tmp'][i]:.1f}, window start "
                     f"{b['tmp'][i]:.1f}, end {e['tmp'][i]:.1f}, {r['after']:.0f} s after "
                     f"{later['tmp'][i]:.1f} MiB")
    lines += [f"  error in {k}: {msg}" for k, msg in r["error_samples"]]
    return "\n".join(lines)


def table_rows(r):
    """make bench's table rows (measure, figure, baseline, target, met) from run_classroom's
    dict."""
    label = f"classroom: {r['users']} page users × {r['seconds']:.0f} s"
    c, ch, idle = r["clicks"], r["chains"], r["page_idle"]
    page = r["kinds"].get("GET /", summary([]))
    images = r["kinds"].get("image API", summary([]))
    b, e, later = r["before"], r["end"], r["later"]
    growth, growth_later = e["rss"] / b["rss"] - 1, later["rss"] / b["rss"] - 1
    tmp = lambda s: " + ".join(f"{v:.1f}" for v in s["tmp"])  # noqa: E731
    return [
        (f"{label}: errors", f"{r['errors']}", "—", "0", r["errors"] == 0),
        (f"{label}: clicks (jump, morph, random, interpolate) through the page's queue, p50 / p95",
         f"{c['p50']:.0f} / {c['p95']:.0f} ms ({c['n']} clicks)",
         f"to the last event each click triggers: {ch['p50']:.0f} / {ch['p95']:.0f} ms",
         f"p95 ≤ {CLICK_P95_MS} ms", c["p95"] <= CLICK_P95_MS),
        (f"{label}: GET / during the load, p50 / p95", f"{page['p50']:.0f} / {page['p95']:.0f} ms",
         f"idle: {idle['p50']:.0f} / {idle['p95']:.0f} ms", f"p95 ≤ {PAGE_P95_MS} ms",
         page["p95"] <= PAGE_P95_MS),
        (f"{label}: image API during the load, p50 / p95",
         f"{images['p50']:.0f} / {images['p95']:.0f} ms", "—", "—", None),
        (f"{label}: server resident memory, window start → end → {r['after']:.0f} s after",
         f"{b['rss']:.0f} → {e['rss']:.0f} → {later['rss']:.0f} MiB ({100 * growth:+.1f} %, "
         f"{100 * growth_later:+.1f} %)",
         f"idle, before any user: {r['idle']['rss']:.0f} MiB", f"growth < {100 * RSS_GROWTH:g} %",
         max(growth, growth_later) < RSS_GROWTH),
        (f"{label}: disk used by the server's temp folders, start → end → "
         f"{r['after']:.0f} s after",
         f"{tmp(b)} → {tmp(e)} → {tmp(later)} MiB",
         f"{' + '.join(r['tmp_dirs'])}; idle {tmp(r['idle'])} MiB", "bounded", None),
    ]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--users", type=int, default=USERS)
    p.add_argument("--seconds", type=float, default=SECONDS, help="the measured window")
    p.add_argument("--warmup", type=float, default=WARMUP_S, help="before the window, not counted")
    p.add_argument("--after", type=float, default=AFTER_S, help="memory and disk read again then")
    p.add_argument("--url", help="a running server instead of starting demo.py")
    p.add_argument("--pid", type=int, help="with --url: the server's pid")
    p.add_argument("--tmp", nargs="*", default=[], help="with --url: its temp folders")
    p.add_argument("--json", type=Path, help="also write every figure here")
    a = p.parse_args()
    if a.url:
        if not a.pid:
            p.error("--url needs --pid")
        r = run_classroom(a.url, [a.pid], a.tmp or [DEFAULT_TMP], a.users, a.seconds, a.warmup,
                          a.after)
    else:
        r = classroom_on_demo(a.users, a.seconds, a.warmup, a.after)
    print(report(r))
    if a.json:
        a.json.write_text(json.dumps(r, indent=1, default=str))


def classroom_on_demo(users=USERS, seconds=SECONDS, warmup=WARMUP_S, after=AFTER_S):
    """Start `python demo.py` with a temp folder of its own, run the classroom on it, stop it.
    -> run_classroom's dict, with "tmp_dirs" and the server's "startup_s"."""
    tmp = Path(tempfile.mkdtemp(prefix="lsn-classroom-"))
    server = start_server(env={**os.environ, "TMPDIR": str(tmp)})
    try:
        r = run_classroom(server.url, [server.proc.pid], [tmp, DEFAULT_TMP], users, seconds,
                          warmup, after)
        assert server.alive(), server.log_tail()
        r["startup_s"] = server.startup_s
        r["server_log_tail"] = server.log_tail(2000)
        return r
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
