"""What the tests share: the repo root on sys.path (so plain `pytest` finds the modules, as
`python -m pytest` does), the markers of the test tiers, and the fixtures that more than one test
file needs (MNIST or a clear skip, a single-threaded environment for subprocesses, test images,
decompression bombs, a live app, a headless Chromium).

Tiers (markers registered in pyproject.toml):
    pytest -m "not slow"     the fast tier: pure functions, handlers, checkpoints (under 30 s)
    pytest -m live           a live server driven as clients do (gradio_client, REST, fuzz)
    pytest -m browser        a real Chromium driven by real mouse, touch and key input
    pytest -m train          short real training runs
    pytest -m js             the page's JavaScript (node's test runner, conformance with torch)
A test marked live, browser, train or js is also slow.
"""

import io
import json
import os
import struct
import sys
import zlib
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import data  # noqa: E402  (needs ROOT on sys.path)
import neural_network as nn  # noqa: E402
from bench.harness import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

TIERS = ("live", "browser", "train", "js")  # each also slow


def pytest_collection_modifyitems(items):
    for item in items:
        if any(item.get_closest_marker(name) for name in TIERS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def no_download_folder_left():
    """The app's handlers, where a test loaded them, keep their downloads in a /tmp/lsn-* folder
    of this process: removed when the tests end, as demo.py removes its own when it stops."""
    yield
    if "store" in sys.modules:
        sys.modules["store"].STORE.reset()


# --- data -------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def mnist_root():
    """The data root holding MNIST (data.data_dir()); skips the test, saying why, without it."""
    if not data.has_images("mnist"):
        pytest.skip(f"MNIST not found under {data.data_dir()} (set LSN_DATA_DIR)")
    return data.data_dir()


@pytest.fixture(scope="session")
def mnist_test(mnist_root):
    return data.load("mnist", "test")


@pytest.fixture(scope="session")
def mnist_train(mnist_root):
    return data.load("mnist", "train")


@pytest.fixture(scope="session")
def single_thread_env():
    """The environment for a subprocess that should use one core (two run side by side here)."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# --- images -------------------------------------------------------------------------------------

def drawn(kind="one", size=200, ink=0, paper=255, mode="L"):
    """A hand-drawn-looking digit: dark strokes on light paper unless told otherwise. kind: "one",
    "zero", "seven", or "blob" (a patch in the top-left corner)."""
    img = Image.new(mode, (size, size), paper)
    d = ImageDraw.Draw(img)
    if kind == "one":
        d.line([(size * 0.45, size * 0.15), (size * 0.55, size * 0.85)], fill=ink, width=size // 12)
    elif kind == "zero":
        d.ellipse([size * 0.3, size * 0.15, size * 0.7, size * 0.85], outline=ink, width=size // 12)
    elif kind == "seven":
        d.line([(size * 0.25, size * 0.2), (size * 0.75, size * 0.2), (size * 0.43, size * 0.86)],
               fill=ink, width=size // 12)
    else:
        d.rectangle([5, 5, 40, 60], fill=ink)
    return img


def png_bytes(img):
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def png_declaring(width, height):
    """A 1-bit grey PNG that declares width x height but holds one row of data: tiny on disk,
    `width * height` pixels once decoded (a decompression bomb, built without its memory cost)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * (1 + width // 8))) + chunk(b"IEND", b""))


@pytest.fixture(scope="session")
def draw():
    """drawn(kind, size, ink, paper, mode) -> a PIL image of a digit-like drawing."""
    return drawn


@pytest.fixture(scope="session")
def as_png():
    """PIL image -> PNG bytes."""
    return png_bytes


@pytest.fixture(scope="session")
def bomb():
    """png_declaring(width, height) -> PNG bytes that decode to width x height pixels."""
    return png_declaring


@pytest.fixture(scope="session")
def seven_png(tmp_path_factory):
    """The path of a drawn 7 (dark ink on white paper, 140 px)."""
    path = tmp_path_factory.mktemp("img") / "seven.png"
    drawn("seven", 140).save(path)
    return str(path)


@pytest.fixture(scope="session")
def corrupt_checkpoints(tmp_path_factory):
    """{case: (path, words its load error contains)}: missing, zero bytes, truncated, random bytes,
    a pickle renamed .safetensors, wrong shapes, missing keys, the first release's network,
    metadata that is not JSON, no config, an unknown kind."""
    tmp_path = tmp_path_factory.mktemp("corrupt")
    torch.manual_seed(0)
    model = nn.VAE(nn.VAEConfig())
    good = tmp_path / "good.safetensors"
    nn.save_model(model, good, {})
    whole = good.read_bytes()
    cases = {}

    def case(name, content, pattern):
        p = tmp_path / f"{name}.safetensors"
        if content is not None:
            p.write_bytes(content) if isinstance(content, bytes) else content(p)
        cases[name] = (p, pattern)

    case("missing", None, "not found")
    case("empty", b"", "empty")
    case("truncated", whole[: len(whole) // 2], "not a readable safetensors")
    case("random", os.urandom(4096), "not a readable safetensors")
    case("pickle", lambda p: torch.save({"weights": torch.zeros(3)}, p), "not a readable safetensors")
    small = nn.VAE(nn.VAEConfig(hidden=16))
    case("wrong_shapes", lambda p: save_file(
        {f"model.{k}": v for k, v in small.state_dict().items()}, p,
        {"config": json.dumps({"kind": "vae", "latent_dim": 2, "channels": [32, 64], "hidden": 200,
                               "activation": "silu"})}), "do not fit")
    case("missing_keys", lambda p: save_file(
        {"model.encoder.0.weight": torch.zeros(32, 1, 3, 3)}, p,
        {"config": json.dumps({"kind": "vae", "activation": "silu"})}), "do not fit")
    case("old_network", lambda p: save_file(  # the first release's config: no activation, depth
        {f"model.{k}": v for k, v in small.state_dict().items()}, p,
        {"config": json.dumps({"kind": "vae", "latent_dim": 2, "channels": [16, 32], "hidden": 400})}),
        "earlier version of the network")
    case("bad_json", lambda p: save_file({"x": torch.zeros(1)}, p, {"config": "{not json"}),
         "not JSON")
    case("no_config", lambda p: save_file({"x": torch.zeros(1)}, p, {}), "no 'config'")
    case("bad_kind", lambda p: save_file({"x": torch.zeros(1)}, p,
                                         {"config": json.dumps({"kind": "gan"})}), "bad config")
    return cases


# --- the app, live ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live_url():
    """demo.py's app served in this process on a free 127.0.0.1 port, as main() serves it."""
    import demo

    port = free_port()
    app = demo.build_app()
    demo.serve(app, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    yield f"http://127.0.0.1:{port}"
    app.close()


@pytest.fixture(scope="module")
def http():
    """The GET routes beside Gradio's (as routes.serve mounts them), through a test client."""
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.testclient import TestClient

    import routes

    app = Starlette(routes=[Route("/api/decode.png", routes.decode_png),
                            Route("/api/model/{name}", routes.model_file)])
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="session")
def chromium():
    """A headless Debian Chromium driven by Playwright; skips without /usr/bin/chromium."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium): browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def shots():
    """The folder for screenshots: $LSN_SCREENSHOTS or tests/screenshots/."""
    folder = Path(os.environ.get("LSN_SCREENSHOTS", ROOT / "tests" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def fresh_store():
    """store.STORE emptied for one test that points it at other files (a monkeypatched
    pretrained/), and emptied again after it, so no later test sees that test's models."""
    import store

    store.STORE.reset()
    yield store.STORE
    store.STORE.reset()
