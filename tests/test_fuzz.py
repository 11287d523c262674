"""Property-based fuzz (hypothesis) of every API endpoint through a live server: demo.py started as
`python demo.py` on a free 127.0.0.1 port (so its own memory is measured), called over REST with
floats (NaN, inf, -0.0, 1e308), integers far beyond float's range, strings, None, lists, wrong
arity, and, for /encode, images of odd sizes and modes (1-bit, 16-bit, 32-bit, float, RGBA, CMYK,
LAB), empty files, bytes that are no image, truncated files and decompression bombs.
Every call must answer with a result or a clear error; afterwards the server is still up and its
memory has not run away. The number of cases tried is printed at the end of the run.
Marked live. Run: pytest -m live tests/test_fuzz.py (needs the shipped default model in
pretrained/); a deeper run: LSN_FUZZ_EXAMPLES=500 pytest tests/test_fuzz.py (examples per
endpoint, default 40)."""

import hashlib
import io
import json
import math
import os

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import api
import neural_network as nn
import routes
from bench.harness import rss_mb, start_server

pytestmark = pytest.mark.live

EXAMPLES = int(os.environ.get("LSN_FUZZ_EXAMPLES", 40))  # per endpoint; more for a deeper run
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CASES = {}  # endpoint -> calls made, reported at the end
# The server keeps at most SESSIONS sessions (~170 KiB each) and every call here makes a new one,
# as a REST call without a session_hash does: past SESSIONS cases its memory must level off.
SESSIONS = 100
# Server RSS growth over the run: 5 more models loaded (~40 MB), 100 sessions (~17 MB), and the
# attribute endpoints' first measurements (scikit-image's buffers). Measured +92 and +122 MiB with
# 40 examples an endpoint and +104 with 80: it levels off, where a leak would grow with the cases.
MAX_GROWTH_MB = 160

JUNK = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-0.0, 1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf]),
    st.integers(-10**400, 10**400),  # JSON integers have no size limit; floats end near 1.8e308
    st.integers(-300, 300),
    st.text(max_size=30),
    st.sampled_from(["../etc/passwd", "/etc/passwd", "..", "a\\b", "\x00", "mnist_vae_beta4.last",
                     "7", "Sneaker", "linear", "x" * 100_000]),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
XY = st.floats(-5, 5)
MODEL = st.sampled_from([None, "", nn.DEFAULT_MODEL, *nn.list_models()])
DIGIT = st.one_of(st.integers(0, 9), st.sampled_from([*"0123456789", "Sneaker"]))
SEED = st.integers(0, 2**32 - 1)
SLOTS = {  # each endpoint's arguments, in order, as a caller would fill them in
    "decode": [XY, XY, MODEL],
    "jump": [DIGIT, MODEL],
    "morph": [XY, XY, DIGIT, st.floats(0, 1), MODEL],
    "interpolate": [DIGIT, DIGIT, st.integers(2, 64), st.sampled_from(["linear", "spherical"]), MODEL],
    "random": [SEED, MODEL],
    "sample": [st.floats(-3, 3), st.floats(-3, 3), st.floats(0, 2), st.floats(0, 2),
               st.integers(1, 256), SEED, MODEL],
    "models": [],
    "attributes": [MODEL],
    "edit": [st.lists(XY, max_size=3), st.sampled_from(["thickness", "slant", "area", "bold"]),
             st.floats(-3, 3), MODEL, XY, XY],
    "measure": [st.none(), st.lists(XY, max_size=3), XY, XY, MODEL],
}


@st.composite
def call_data(draw, slots):
    """The request's "data": each argument plausible or junk; now and then too few or too many
    arguments, or no list at all."""
    values = [draw(st.one_of(slot, JUNK)) for slot in slots]
    shape = draw(st.sampled_from(["right"] * 7 + ["short", "long", "not a list"]))
    if shape == "short" and values:
        return values[:draw(st.integers(0, len(values) - 1))]
    if shape == "long":
        return values + draw(st.lists(JUNK, min_size=1, max_size=3))
    if shape == "not a list":
        return draw(JUNK)
    return values


@pytest.fixture(scope="module")
def server():
    s = start_server("--max-sessions", str(SESSIONS))
    s.rss_start = rss_mb(s.proc.pid)  # after startup and one /decode
    yield s
    s.stop()


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=f"{server.url}/gradio_api", timeout=60) as client:
        yield client


def clear(message):
    """A clear error: a sentence, not null, not a traceback."""
    assert isinstance(message, str) and len(message) >= 10 and "Traceback" not in message, message
    return message


def call(http, name, data):
    """POST /call/NAME, then read its event stream -> ("result", data) or ("error", message);
    anything else (a 500, a null error, no answer) fails the test."""
    CASES[name] = CASES.get(name, 0) + 1
    r = http.post(f"/call/{name}", content=json.dumps({"data": data}),  # NaN and inf as JS does
                  headers={"content-type": "application/json"})
    if r.status_code == 422:  # Gradio's request validation: the body is not {"data": [...]}
        detail = r.json()["detail"]
        return "error", clear(json.dumps(detail))
    assert r.status_code == 200, (name, data, r.status_code, r.text[:300])
    stream = http.get(f"/call/{name}/{r.json()['event_id']}").text
    event = payload = None
    for line in stream.splitlines():  # server-sent events: the last event and its data line
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            payload = json.loads(line.removeprefix("data: "))
    assert event in ("complete", "error"), (name, data, stream[:300])
    if event == "error":
        return "error", clear(payload["error"])
    return "result", payload


@pytest.mark.parametrize("name", SLOTS)
@FUZZ
@given(data=st.data())
def test_every_endpoint_answers_a_result_or_a_clear_error(http, name, data):
    args = data.draw(call_data(SLOTS[name]))
    kind, payload = call(http, name, args)
    if kind == "result":
        assert isinstance(payload, list) and len(payload) == 1, payload


@FUZZ
@given(data=st.data())
def test_the_image_api_answers_a_png_or_a_clear_error(server, http, data):
    """GET /api/decode.png with any query: each parameter a number, text, or left out."""
    # as text, each at most 8 KB (a URL's practical limit: httpx itself refuses a query over 64 KB,
    # so JUNK's 100,000-character string cannot be sent this way)
    value = st.one_of(XY, JUNK.map(str).filter(lambda v: len(v) <= 8192),
                      st.sampled_from(["nan", "inf", "-1e400", "", "0x10", "9" * 8000]))
    params = {k: v for k, v in data.draw(st.fixed_dictionaries(
        {}, optional={"x": value, "y": value, "scale": st.one_of(st.integers(-2, 30), value),
                      "model": MODEL.map(str)})).items()}
    CASES["image API"] = CASES.get("image API", 0) + 1
    r = http.get(f"{server.url}/api/decode.png", params=params)
    if r.status_code == 200:
        assert r.content[:8] == b"\x89PNG\r\n\x1a\n" and r.headers["etag"]
        assert Image.open(io.BytesIO(r.content)).size[0] % 28 == 0
    else:
        assert r.status_code == 400, r.text[:300]
        clear(r.json()["error"])


# --- images for /encode ----------------------------------------------------------------------

MODES = [("1", "PNG"), ("L", "PNG"), ("LA", "PNG"), ("P", "PNG"), ("RGB", "PNG"), ("RGBA", "PNG"),
         ("I;16", "PNG"), ("I", "TIFF"), ("F", "TIFF"), ("CMYK", "JPEG"), ("LAB", "TIFF"),
         ("L", "BMP"), ("P", "GIF"), ("RGBA", "WEBP"), ("RGB", "JPEG")]
PEAK = {"1": 1, "I;16": 65535, "I": 2**31 - 1, "F": 1.0}  # white, per mode


@st.composite
def images(draw):
    """The bytes of an image file of a random mode, size and content (noise, blank or a bar)."""
    mode, fmt = draw(st.sampled_from(MODES))
    w, h = draw(st.integers(1, 300)), draw(st.integers(1, 300))
    content = draw(st.sampled_from(["noise", "blank", "bar"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    img = Image.new(mode, (w, h), PEAK.get(mode, 255) if content != "noise" else 0)
    if content == "noise":
        img = Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8)).convert(mode)
    elif content == "bar":
        img.paste(0, (w // 3, h // 5, max(w // 3 + 1, w // 2), max(h // 5 + 1, 4 * h // 5)))
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


NASTY = ["empty", "text", "random", "truncated png", "8000x8000", "5000x10", "1x4096",
         "declares 30000x30000", "declares 0x0", "16-bit 4090x4000", "svg"]
UPLOADED = {}  # sha1 of the bytes -> the server's path


@pytest.fixture(scope="module")
def nasty(draw, as_png, bomb):
    """{name in NASTY: the file's bytes}, built once (some are megabytes) when first needed."""
    def blank(size, mode="1"):  # really that many pixels, all paper
        return as_png(Image.new(mode, size))

    files = {
        "empty": b"",
        "text": b"this is not an image\n" * 10,
        "random": np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "truncated png": as_png(draw("seven", 80))[:120],
        "8000x8000": blank((8000, 8000)),
        "5000x10": blank((5000, 10)),
        "1x4096": blank((1, 4096), "L"),
        "declares 30000x30000": bomb(30000, 30000),
        "declares 0x0": bomb(0, 0),
        "16-bit 4090x4000": blank((4090, 4000), "I;16"),  # sides allowed, 16.4 MP not
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="9e9" height="9e9"/>',
    }
    assert set(files) == set(NASTY)
    return files


def upload(http, data, name="image.png"):
    key = hashlib.sha1(data).hexdigest()
    if key not in UPLOADED:
        r = http.post("/upload", files={"files": (name, data)})
        assert r.status_code == 200, r.text[:300]
        UPLOADED[key] = r.json()[0]
    return {"path": UPLOADED[key], "meta": {"_type": "gradio.FileData"}}


IMAGE_SLOT = st.one_of(images(), st.sampled_from(sorted(NASTY)), JUNK,
                       st.just({"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}))


@settings(FUZZ, max_examples=3 * EXAMPLES)
@given(image=IMAGE_SLOT, model=st.one_of(MODEL, JUNK))
def test_encode_answers_a_result_or_a_clear_error_for_any_image(http, nasty, image, model):
    if isinstance(image, bytes):
        image = upload(http, image)
    elif isinstance(image, str) and image in nasty:
        image = upload(http, nasty[image], name=image.replace(" ", "_") + ".png")
    kind, payload = call(http, "encode", [image, model])
    if kind == "result":
        mu, sigma = payload[0]["mu"], payload[0]["sigma"]
        assert len(mu) == len(sigma) == 2 and all(math.isfinite(v) for v in mu + sigma)


@pytest.mark.parametrize("name", NASTY)
def test_each_nasty_file_is_refused_clearly_or_encoded(http, nasty, name):
    kind, payload = call(http, "encode", [upload(http, nasty[name], "f.png"), None])
    if name in ("1x4096",):
        assert kind == "result" or "no ink" in payload
    else:
        assert kind == "error", (name, payload)
        if name.startswith(("8000", "5000", "declares 3", "16-bit")):
            assert payload.startswith("image is too large"), (name, payload)


def test_an_upload_over_20_mb_is_refused(http):
    r = http.post("/upload", files={"files": ("big.png", b"\0" * (21 * 2**20))})
    assert r.status_code == 413 and "20" in r.text, (r.status_code, r.text[:300])


def test_a_request_body_over_the_limit_is_refused_unread(http):
    body = b'{"data": ["' + b"x" * (routes.MAX_BODY + 1) + b'"]}'
    r = http.post("/call/decode", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413, (r.status_code, r.text[:300])


def test_the_server_survived_with_bounded_memory(server, http, capsys):
    """Last in this file: after every case above, the server is up, answers, and its memory grew
    by at most MAX_GROWTH_MB."""
    assert server.alive(), server.log_tail()
    kind, payload = call(http, "decode", [0.5, -0.5, None])
    assert kind == "result"
    # still the right digit: the decoder's, up to one grey level (another process, other threads)
    digit = np.asarray(Image.open(io.BytesIO(http.get(payload[0]["url"]).content)), np.int16)
    assert np.abs(digit - np.asarray(api.decode(0.5, -0.5))).max() <= 1
    growth = rss_mb(server.proc.pid) - server.rss_start
    counts = ", ".join(f"{k} {v}" for k, v in sorted(CASES.items()))
    with capsys.disabled():  # the count is part of the result: print it even when pytest captures
        print(f"\nfuzz: {sum(CASES.values())} cases through the live server ({counts}); server RSS "
              f"{server.rss_start:.0f} MiB at start, {growth:+.0f} MiB after")
    assert growth < MAX_GROWTH_MB
