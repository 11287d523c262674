"""The Latent Space Navigator's handlers: what every API endpoint and page event of demo.py does,
as plain Python callables, with the models they share. No layout and no wiring (demo.py builds
the page and connects these); gradio is used only for gr.Error and for component updates.

    import handlers
    handlers.decode(0.5, -1.0)                  # a 28x28 grey PIL image
    handlers.jump("Sneaker", "fashion_vae_beta4")   # [x, y] of that class centre
    handlers.STORE.reset()                      # forget every loaded model (tests do this)

Parts, each layer using only the ones above it and the lower modules (neural_network,
latent_utils, images, data):
  input checks   every argument goes through shown/number/integer/model_name/class_index/clamp_xy,
                 so each bad input has one gr.Error message naming it (the lower layers' ValueError
                 and ImageError are turned into gr.Error here, with their own text);
  ModelStore     STORE: the loaded models, their decoded manifolds and the download folder, loaded
                 once each (thread-safe) and shared by all requests;
  API handlers   decode, jump, morph, interpolate, random_point, sample, encode, models (each the
                 endpoint of that name; random_point is /random);
  HTTP routes    model_file (GET /api/model/NAME: the decoder and the atlas codes the page runs
                 in the browser) and decode_png (GET /api/decode.png: the image API), each with
                 an ETag and Cache-Control;
  page handlers  go_to, the tabs' ui_* events, map_figure. Moving the position is the page's own
                 work (web/navigator.js decodes in the browser): the server sends positions.

Tested by calling them directly in tests/test_demo_handlers.py (no server), through a live server
in tests/test_demo_server.py, test_fuzz.py and test_security.py, and with broken checkpoints in
tests/test_faults.py.
"""

import hashlib
import io
import json
import math
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import gradio.utils as gr_utils
import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image, ImageDraw, ImageFont, ImageOps
from plotly.colors import qualitative
from safetensors.torch import save
from starlette.responses import JSONResponse, Response

import data
import images
import latent_utils as lu
from neural_network import (DEFAULT_MODEL, CheckpointError, decode_uint8, decoder_tensors,
                            encode_all, list_models, load_model, model_path)

DIGIT_SCALE = 10  # the page's digit: 28 px -> 280 px, nearest-neighbour so pixels stay crisp
MAP_POINTS = 3000  # atlas codes drawn on the map
MANIFOLD_N = 20  # the decoded-manifold background is an n x n grid of digits
STRIPS = 64  # interpolation answers kept for repeats (each ~100 KB of files on disk)
MAX_STEPS, MAX_SAMPLES, MAX_SEED = 64, 256, 2**32 - 1
MAKE_HINT = "make them with `make models` or `python trainer.py --out pretrained/NAME.safetensors`"
OVERLAYS = ["decoded manifold", "interpolation path", "samples", "drawing"]
KEEP_DOWNLOADS_S = 600  # download folders older than this go, as Gradio's cache (demo.py) does
MAX_DOWNLOAD_DIRS = 200  # and the oldest beyond this many (about 20 MB of interpolation files)
FLOOR = Image.new("L", (28, 28), 128)  # /floor's constant answer (bench only)


# --- input checks: every handler goes through these, so each bad input has one message --------

class Refused(gr.Error):
    """A refused input: its message names the problem. Not logged with a traceback: a stranger's
    bad input is no fault of the server's, and each traceback cost 2 KB of log."""

    def __init__(self, message):
        super().__init__(message, print_exception=False)


def shown(value, limit=60):
    """repr(value) cut to `limit` characters, for plain values; any other object by its type
    alone (its repr may hold a memory address). An error message never echoes a huge input."""
    if value is not None and not isinstance(value, (str, int, float, list, dict, tuple, bool)):
        return f"a {type(value).__name__}"
    r = repr(value)
    return r if len(r) <= limit else f"{r[:limit]}... ({len(r)} characters)"


def number(value, name, lo=-math.inf, hi=math.inf):
    """A finite float in [lo, hi]; bools, strings, NaN and inf are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise Refused(f"{name} must be a number, not {shown(value)}")
    try:
        v = float(value)
    except OverflowError:  # JSON integers have no size limit; floats end near 1.8e308
        raise Refused(f"{name} must be a finite number, not an integer of "
                       f"{len(str(abs(value)))} digits") from None
    if not math.isfinite(v):
        raise Refused(f"{name} must be a finite number, not {v}")
    if not lo <= v <= hi:
        raise Refused(f"{name} must be between {lo:g} and {hi:g}, not {v:g}")
    return v


def integer(value, name, lo, hi):
    v = number(value, name, lo, hi)
    if not v.is_integer():
        raise Refused(f"{name} must be a whole number, not {v:g}")
    return int(v)


def model_name(name):
    """A shipped model's name (None or "": the default); paths and unknown names are refused."""
    if name is None or name == "":
        return STORE.default
    if not isinstance(name, str):
        raise Refused(f"model must be a model name, not {shown(name)}")
    if "/" in name or "\\" in name or ".." in name:
        raise Refused(f"model must be a name from pretrained/, not a path: {shown(name)}")
    if name not in STORE and name not in list_models():
        raise Refused(f"unknown model {shown(name)}; the shipped models are "
                       f"{', '.join(list_models()) or 'none'} ({MAKE_HINT})")
    return name


def class_index(lm, digit, name="digit"):
    """A class index from an index (7, 7.0) or a class name ('7', 'Sneaker'): data.class_index,
    its ValueError as a gr.Error."""
    try:
        return data.class_index(lm.classes, digit, name)
    except ValueError as e:
        raise Refused(str(e)) from None


def clamp_xy(lm, x, y):
    """(x, y) as numbers, clamped to the model's extent."""
    xmin, xmax, ymin, ymax = lm.extent
    return (min(max(number(x, "x"), xmin), xmax), min(max(number(y, "y"), ymin), ymax))


# At most this many images are prepared at once: a 16-megapixel upload costs ~0.5 s of CPU and
# ~100 MB while it is read, so 16 at once grew the server by 4 GB (measured before this bound).
ENCODING = threading.BoundedSemaphore(2)
MAX_LAYERS = 8  # a drawing's layers: the composite alone is read, but a payload listing more is refused


def prepared(image):
    """An uploaded or drawn image as MNIST's 28x28 input (images.mnist_style); an image that
    cannot be used is a gr.Error saying why. The refusal is raised outside the except block: an
    error raised inside keeps the ImageError as its __context__, whose traceback holds the frames
    and so the full-size image; Gradio keeps the error, and 16 refused 16-megapixel uploads kept
    2 GB (measured)."""
    with ENCODING:
        try:
            return images.mnist_style(images.open_image(image))
        except images.ImageError as e:
            problem = str(e)
    raise Refused(problem)


def uploaded(payload):
    """The file path of a page upload or drawing, from the value the browser sent (Gradio's
    FileData, or a Sketchpad value of which only the composite is used: its layers are never
    opened). The page's events take it unprocessed, so that Gradio decodes no layer before these
    checks; the path must be a file in Gradio's upload folder."""
    if isinstance(payload, dict) and "composite" in payload:
        layers = payload.get("layers") or []
        if not isinstance(layers, list) or len(layers) > MAX_LAYERS:
            raise Refused(f"a drawing has at most {MAX_LAYERS} layers; this one lists "
                          f"{len(layers) if isinstance(layers, list) else shown(layers)}")
        payload = payload["composite"]
    path = payload.get("path") if isinstance(payload, dict) else payload
    if not path:
        raise Refused("image is empty: draw a digit or upload an image")
    if not isinstance(path, str):
        raise Refused(f"image must be an uploaded file, not {shown(path)}")
    folder = Path(gr_utils.get_upload_folder()).resolve()
    if not Path(path).resolve().is_relative_to(folder):
        raise Refused("image must be a file uploaded to this page")
    return path


# --- models, loaded once each and shared by all requests --------------------------------------

@dataclass(frozen=True, eq=False)
class Loaded:
    """A model with its atlas; `extent` is the atlas extent rounded outward to the sliders' step."""
    name: str
    model: torch.nn.Module
    meta: dict
    atlas: dict
    device: torch.device
    classes: list
    extent: list
    centres: np.ndarray
    etag: str  # of the checkpoint and atlas files' bytes: a retrained model is a new version


class ModelStore:
    """The app's shared state: the loaded models, their decoded manifolds and the folder of
    downloads. Each model loads once, even under concurrent first requests (the lock); afterwards
    eval-mode inference under inference_mode is thread-safe. reset() forgets everything."""

    def __init__(self, device=None):
        self._lock = threading.Lock()
        self.reset(device)

    def reset(self, device=None, root=None):
        """Forget every loaded model and manifold, and remove the download folder; load on
        `device` from now on (None: CUDA when available, else CPU) and keep downloads in `root`
        (None: the system's temp folder)."""
        with self._lock:
            self.device, self.root = device, root
            self.default = DEFAULT_MODEL  # main() makes it the first shipped model that loads
            self._failed: dict[str, tuple] = {}  # name -> (its files' mtimes, the error)
            self._loaded: dict[str, Loaded] = {}
            self._manifolds: dict[str, Image.Image] = {}
            self._pages: dict[str, bytes] = {}
            self._maps: dict[tuple, dict] = {}  # (name, with the manifold) -> base_map's dict
            self._strips: OrderedDict = OrderedDict()  # ui_interpolate's recent answers
            old, self._out = getattr(self, "_out", None), None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def __contains__(self, name):
        return name in self._loaded

    def get(self, name=None) -> Loaded:
        """The loaded model `name` (None: the default); its files broken: a gr.Error saying so,
        remembered until the files change (not read again on every call)."""
        name = model_name(name)
        if name not in self._loaded:
            with self._lock:
                if name not in self._loaded:
                    self._loaded[name] = self._load(name)
        return self._loaded[name]

    def _load(self, name):
        stamp = tuple(p.stat().st_mtime_ns if p.exists() else None
                      for p in (model_path(name), lu.atlas_path(name)))
        if name in self._failed and self._failed[name][0] == stamp:
            raise Refused(self._failed[name][1])
        try:
            model, meta = load_model(name, self.device)
            atlas = lu.load_atlas(name)
        except CheckpointError as e:
            # the file's name, not where the server keeps it
            error = str(e).replace(f"{model_path(name).parent}{os.sep}", "")
            self._failed[name] = (stamp, f"model {name!r} cannot be loaded: {error}; {MAKE_HINT}")
            raise Refused(self._failed[name][1]) from None
        xmin, xmax, ymin, ymax = atlas["extent"]
        extent = [math.floor(xmin * 100) / 100, math.ceil(xmax * 100) / 100,
                  math.floor(ymin * 100) / 100, math.ceil(ymax * 100) / 100]
        digest = hashlib.sha1()
        for path in (model_path(name), lu.atlas_path(name)):
            digest.update(path.read_bytes())
        return Loaded(name, model, meta, atlas, next(model.parameters()).device, atlas["classes"],
                      extent, atlas["centres"].numpy(), f'"{digest.hexdigest()[:20]}"')

    def manifold(self, name=None):
        """The decoded MANIFOLD_N x MANIFOLD_N grid over manifold_square(model), one grey image
        (top row: max y), decoded once per model."""
        lm = self.get(name)
        if lm.name not in self._manifolds:  # two first requests may both decode it: harmless
            frames = decode_uint8(lm.model, lu.grid(manifold_square(lm), MANIFOLD_N))
            self._manifolds[lm.name] = images.tile(frames, MANIFOLD_N, scale=1, gap=0)
        return self._manifolds[lm.name]

    def map_base(self, name, manifold):
        """base_map of model `name` (with or without the decoded manifold), built once."""
        lm = self.get(name)
        key = (lm.name, manifold)
        if key not in self._maps:  # two first requests may both build it: harmless
            self._maps[key] = base_map(lm, manifold)
        return self._maps[key]

    def strip(self, key, make):
        """ui_interpolate's answer for `key` (model, method, classes, steps): the last STRIPS
        are kept while their files are (fresh_dir removes old ones); else make() -> it."""
        with self._lock:
            hit = self._strips.get(key)
            if hit and all(Path(f).exists() for f in hit[1]):
                self._strips.move_to_end(key)
                return hit
        answer = make()
        with self._lock:
            self._strips[key] = answer
            while len(self._strips) > STRIPS:
                self._strips.popitem(last=False)
        return answer

    def page_file(self, name=None):
        """The model as the page runs it, one safetensors file: the decoder in float16
        (neural_network.decoder_tensors) and the atlas codes and labels for the z text's vote,
        with the config, class names and the sliders' extent as metadata (1.4 MB)."""
        lm = self.get(name)
        if lm.name not in self._pages:
            tensors, meta = decoder_tensors(model_path(lm.name))
            tensors.update({"atlas.mu": lm.atlas["mu"].float().contiguous(),
                            "atlas.labels": lm.atlas["labels"].to(torch.uint8)})
            meta = {"config": meta["config"], "name": lm.name, "classes": lm.classes,
                    "extent": lm.extent, "kind": lm.model.config.kind, "noun": noun(lm)}
            self._pages[lm.name] = save(tensors, {k: json.dumps(v) for k, v in meta.items()})
        return self._pages[lm.name]

    def out_dir(self):
        """Where the PNG/GIF downloads are written (Gradio serves copies of them)."""
        with self._lock:
            if self._out is None:
                self._out = Path(tempfile.mkdtemp(prefix="lsn-", dir=self.root))
            return self._out


STORE = ModelStore()


def fresh_dir():
    """A new folder in STORE.out_dir(). Folders older than KEEP_DOWNLOADS_S go, and beyond the
    newest MAX_DOWNLOAD_DIRS the oldest go too: at a classroom's rate (60 users, an
    interpolation each every 8 s, ~100 KB of files each) ten minutes would keep ~300 MB."""
    folders = []
    for old in STORE.out_dir().iterdir():
        try:
            folders.append((old.stat().st_mtime, old))
        except FileNotFoundError:  # another request removed it meanwhile
            continue
    folders.sort(reverse=True)
    for i, (mtime, old) in enumerate(folders):
        if i >= MAX_DOWNLOAD_DIRS - 1 or time.time() - mtime > KEEP_DOWNLOADS_S:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=STORE.out_dir()))


def encoded(lm, x):
    """x [28, 28] in [0, 1] -> (mu, sigma) as lists; an AE's sigma is 0."""
    with torch.inference_mode():
        mu, sigma = encode_all(lm.model, torch.as_tensor(x)[None, None])
    return mu[0].tolist(), sigma[0].tolist()


# --- API handlers (each is the endpoint of the same name) ---------------------------------------

def decode(x, y, model=None):
    """The decoded digit at z = (x, y) as a 28x28 grey image; x, y clamped to the extent."""
    lm = STORE.get(model)
    return Image.fromarray(decode_uint8(lm.model, [clamp_xy(lm, x, y)])[0])


def jump(digit: int | str, model: str | None = None) -> list[float]:
    """[x, y] of a class centre (digit: class index or name)."""
    lm = STORE.get(model)
    return lm.centres[class_index(lm, digit)].tolist()


def morph(x: float, y: float, digit: int | str, amount: float, model: str | None = None) -> list[float]:
    """The point `amount` (0..1) of the way from (x, y) to the centre of class `digit`."""
    lm = STORE.get(model)
    target = lm.centres[class_index(lm, digit)]
    return lu.morph(clamp_xy(lm, x, y), target, number(amount, "amount", 0, 1)).tolist()


def interpolate(digit_a: int | str, digit_b: int | str, steps: int, method: str = "linear",
                model: str | None = None) -> list[list[float]]:
    """`steps` (2-64) codes from class a's centre to class b's; method 'linear' or 'spherical'."""
    lm = STORE.get(model)
    a, b = class_index(lm, digit_a, "digit_a"), class_index(lm, digit_b, "digit_b")
    steps = integer(steps, "steps", 2, MAX_STEPS)
    try:
        path = lu.latent_path(lm.centres[a], lm.centres[b], steps, method)
    except (ValueError, TypeError):  # TypeError: a method that is a list or a dict (unhashable)
        raise Refused(f"method must be 'linear' or 'spherical', not {shown(method)}") from None
    return path.tolist()


def random_point(seed: int = 0, model: str | None = None) -> list[float]:
    """A code drawn from the prior N(0, I), reproducible by seed."""
    STORE.get(model)  # refuses an unknown model like every endpoint does
    return np.random.default_rng(integer(seed, "seed", 0, MAX_SEED)).standard_normal(2).tolist()


def sample(mu_x: float, mu_y: float, sigma_x: float, sigma_y: float, n: int = 16, seed: int = 0,
           model: str | None = None) -> list[list[float]]:
    """n (1-256) codes z = mu + sigma * eps, eps ~ N(0, I); sigma 0 repeats mu exactly."""
    STORE.get(model)
    mu = np.array([number(mu_x, "mu_x", -3, 3), number(mu_y, "mu_y", -3, 3)])
    sigma = np.array([number(sigma_x, "sigma_x", 0, 2), number(sigma_y, "sigma_y", 0, 2)])
    eps = np.random.default_rng(integer(seed, "seed", 0, MAX_SEED)).standard_normal(
        (integer(n, "n", 1, MAX_SAMPLES), 2))
    return (mu + sigma * eps).tolist()


def encode(image, model=None):
    """{"mu": [..], "sigma": [..]} of an image prepared as MNIST (see images.mnist_style)."""
    mu, sigma = encoded(STORE.get(model), prepared(image))
    return {"mu": mu, "sigma": sigma}


def model_card(name):
    """One model's metadata, as /models lists it."""
    lm = STORE.get(name)
    cfg = lm.model.config
    return {"name": lm.name, "default": lm.name == STORE.default, "dataset": lm.atlas["dataset"],
            "classes": lm.classes, "kind": cfg.kind, "latent_dim": cfg.latent_dim,
            "beta": lm.meta.get("beta"), "epochs_run": lm.meta.get("epochs_run"),
            "parameters": lm.model.num_params(), "test": lm.meta.get("test", {}),
            "extent": lm.extent}


def models() -> list[dict]:
    """The shipped models with their metadata (the default first); a model whose files cannot be
    loaded is listed as {"name", "error"}, so one broken file hides none of the others."""
    cards = []
    for name in sorted(list_models(), key=lambda n: n != STORE.default):
        try:
            cards.append(model_card(name))
        except gr.Error as e:
            cards.append({"name": name, "error": e.message})
    return cards


def floor():
    """/floor (bench only): a constant 28x28 image, Gradio's own cost for such an endpoint."""
    return FLOOR


# --- HTTP routes beside Gradio's: plain GETs that any HTTP cache, <img src> or notebook can use -

MAX_SCALE = 20  # /api/decode.png: at most 560 px a side
# An hour, then the ETag is checked again: a retrained model answers with a new one.
CACHE_CONTROL = "public, max-age=3600"


def cached(request, etag, body, media_type):
    """The answer with its ETag and Cache-Control; 304 (no body) when the caller holds it."""
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body() if callable(body) else body, media_type=media_type, headers=headers)


def query_number(request, name, default=None):
    """A query parameter as a float (its checks, finite and in range, are number()'s)."""
    text = request.query_params.get(name)
    if text is None:
        if default is None:
            raise Refused(f"{name} is missing: give it as ?{name}=NUMBER")
        return default
    try:
        return float(text)
    except ValueError:
        raise Refused(f"{name} must be a number, not {shown(text)}") from None


def decode_png(request):
    """GET /api/decode.png?x=X&y=Y[&model=NAME][&scale=1..20]: the decoded digit as a PNG, checked
    as /decode is (x, y clamped to the extent), 28 * scale pixels a side. 400 with {"error"}
    naming a bad parameter."""
    try:
        lm = STORE.get(request.query_params.get("model"))
        x, y = clamp_xy(lm, query_number(request, "x"), query_number(request, "y"))
        scale = integer(query_number(request, "scale", 1), "scale", 1, MAX_SCALE)
    except gr.Error as e:
        return JSONResponse({"error": e.message}, status_code=400)

    def png():
        buf = io.BytesIO()
        images.enlarge(decode_uint8(lm.model, [[x, y]])[0], scale).save(buf, "png")
        return buf.getvalue()
    return cached(request, f'{lm.etag[:-1]}-{x:.6g}-{y:.6g}-{scale}"', png, "image/png")


def model_file(request):
    """GET /api/model/NAME: the file the page decodes with (STORE.page_file), fetched once per
    model and then answered from the browser's cache (304 on revalidation)."""
    try:
        lm = STORE.get(request.path_params["name"])
        return cached(request, lm.etag, lambda: STORE.page_file(lm.name),
                      "application/octet-stream")
    except gr.Error as e:
        return JSONResponse({"error": e.message}, status_code=404 if "unknown" in e.message else 400)


# An upload request may carry one 20 MB file and its multipart framing; all uploads kept at once
# (Gradio deletes them after demo.py's delete_cache age) may fill at most MAX_UPLOADS_BYTES.
MAX_UPLOAD_REQUEST, MAX_UPLOADS_BYTES = 21 * 2**20, 2 * 2**30


class UploadGuard:
    """ASGI middleware bounding what Gradio's upload route writes to disk: each request must
    declare its length, at most MAX_UPLOAD_REQUEST (Gradio itself bounds each file, not how many
    a request carries: one request wrote 1000 files of 20 MB); while the upload folder holds
    MAX_UPLOADS_BYTES, uploads are refused (507) until the cache cleaning frees room."""

    def __init__(self, app):
        self.app = app
        self._measured = (0.0, 0)  # (when, bytes): the folder is walked at most every 2 s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].endswith("/upload"):
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if not length.isdigit():
            refusal = (411, "an upload must declare its Content-Length")
        elif int(length) > MAX_UPLOAD_REQUEST:
            refusal = (413, "an upload request may carry one file of at most 20 MB "
                            f"({MAX_UPLOAD_REQUEST // 2**20} MiB with its framing)")
        elif self.uploads_bytes() > MAX_UPLOADS_BYTES:
            refusal = (507, "the server's upload space is full; try again in a few minutes")
        else:
            return await self.app(scope, receive, send)
        await JSONResponse({"error": refusal[1]}, status_code=refusal[0])(scope, receive, send)

    def uploads_bytes(self):
        when, size = self._measured
        if time.monotonic() - when > 2:
            folder = Path(gr_utils.get_upload_folder())
            size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) \
                if folder.exists() else 0
            self._measured = (time.monotonic(), size)
        return size


# --- page handlers ------------------------------------------------------------------------------

def z_text(lm, x, y, k=15):
    """z and the class of the k encoded test digits nearest to it. Their vote, not the nearest
    class centre, says what lives here: a class can have several clusters (the 6s of beta 4 have
    two) and its centre sits in one of them."""
    votes = lu.knn_votes(lm.atlas["mu"], lm.atlas["labels"], [[x, y]], k, len(lm.classes))[0]
    c = int(votes.argmax())
    return (f"z = ({x:+.2f}, {y:+.2f})   {int(votes[c])} of the {k} nearest test {noun(lm)}: "
            f"{lm.classes[c]}")


def noun(lm):
    """What the model's test images are called on the page: MNIST's are digits, others images
    (Fashion-MNIST's "nearest test digits: Sneaker" read wrong)."""
    return "digits" if lm.atlas["dataset"] == "mnist" else "images"


def header(name):
    """The page's header (Markdown): the title, what the map is and what to do, and the model in
    use (ui_model rewrites it on a switch)."""
    return (f"## Latent Space Navigator\n"
            f"Each dot is one test image's code; press or drag on the map to move z and see what "
            f"the decoder draws there. Model in use: **{name}**")


MAP_NOTE = """\
* **A point** is one test image's code: the mean mu of what the encoder says about it (a plain
  autoencoder's code is that point exactly). Its colour is the image's true class.
* **A class can form two clusters**: the model was never told the classes, so two common ways
  of writing the same digit can land apart (the 6s of mnist_vae_beta4 form two clusters), and
  its labelled centre (the mean of its codes) then sits in one of them or between them.
* **beta** weighs the pull of every code toward N(0, I): a larger beta packs the codes closer to
  the origin and makes the map smoother (nearby points decode alike), at the price of blurrier
  digits; beta 1 keeps sharper digits with gaps between the classes; an AE has no such pull.
* **z1, z2** are the two latent coordinates; the digit beside the map is the decoder's output
  at the current z (the yellow marker)."""


def go_to(x, y, model=None):
    """Move the sliders to (x, y), clamped and rounded to their 0.01 step, with its z text (the
    page's JS decodes the digit there when the sliders change)."""
    lm = STORE.get(model)
    x, y = (round(v, 2) for v in clamp_xy(lm, x, y))
    return x, y, z_text(lm, x, y)


def go_to_class(i, model):
    """A class button: go to class i's centre."""
    return go_to(*jump(i, model), model)


def ui_random(seed, last, model):
    """The random button: z ~ N(0, I) drawn with the seed in the box, which then shows the seed
    used (twice: the box and `last`, a state). The box still showing the last seed used draws
    with the next one, so each press is a new point and a typed seed is used as typed."""
    seed = integer(seed, "seed", 0, MAX_SEED)
    if seed == last:
        seed = (seed + 1) % (MAX_SEED + 1)
    return (*go_to(*random_point(seed, model), model), seed, seed)


def ui_morph(x, y, target, amount, animate, model):
    """One click moves `amount` of the way toward a class centre: the positions for the page to
    play through its own decoder, 16 with animate (the first after the start), else the end."""
    x1, y1 = morph(x, y, target, amount, model)
    steps = np.linspace(0, 1, 16)[1:] if animate else [1.0]
    return [[round(x + t * (x1 - x), 4), round(y + t * (y1 - y), 4)] for t in steps]


def ui_play(paths):
    """The Interpolate tab's play button: the positions of the path just drawn (the linear one
    when both were), for the page to play through its own decoder."""
    if not paths:
        raise Refused("nothing to play yet: press interpolate first")
    return paths.get("linear") or next(iter(paths.values()))


EXPORT_SCALE, GIF_SCALE = 4, 8  # the downloads: 112 px a frame in the PNG, 224 in the GIF
LABEL_W, RULE = 120, 4  # the PNG's column naming each row's method; the rule between methods


def export_strip(blocks, cols, scale=EXPORT_SCALE):
    """The interpolation PNG: each method's frames (uint8 [N, 28, 28]) in rows of `cols`,
    `scale` times enlarged, its name left of each of its rows, and a black rule between the
    methods."""
    font = ImageFont.load_default(size=20)
    parts = []
    for i, (name, frames) in enumerate(blocks):
        grid = images.enlarge(images.mosaic(frames, cols, gap=2, fill=96), scale)
        rows = math.ceil(len(frames) / cols)
        part = Image.new("L", (LABEL_W + grid.width, grid.height), 255)
        part.paste(grid, (LABEL_W, 0))
        draw = ImageDraw.Draw(part)
        cell = grid.height / rows
        for r in range(rows):
            draw.text((8, (r + 0.5) * cell), name, fill=0, font=font, anchor="lm")
        if i:
            rule = Image.new("L", (part.width, 3 * RULE), 255)
            rule.paste(0, (0, RULE, part.width, 2 * RULE))
            parts.append(rule)
        parts.append(part)
    out = Image.new("L", (parts[0].width, sum(p.height for p in parts)), 255)
    top = 0
    for p in parts:
        out.paste(p, (0, top))
        top += p.height
    return out


def ui_interpolate(a, b, steps, method, model):
    """Strip(s) of frames, their PNG (export_strip) and GIF (the methods side by side, 224 px a
    frame), the path(s) to draw on the map, and the caption naming the strip's rows. A repeated
    request is answered from STORE.strip (writing the GIF is most of the cost: 19 of 27 ms)."""
    lm = STORE.get(model)
    methods = ["linear", "spherical"] if method == "both" else [method]
    paths = {m: interpolate(a, b, steps, m, model) for m in methods}  # every check is here
    key = (lm.name, method, class_index(lm, a), class_index(lm, b), int(steps))
    return STORE.strip(key, lambda: interpolation_files(lm, methods, paths))


def interpolation_files(lm, methods, paths):
    """ui_interpolate's answer, made: the strip, its PNG and GIF files, paths, caption."""
    frames = [decode_uint8(lm.model, p) for p in paths.values()]  # one [steps, 28, 28] per method
    cols = min(len(frames[0]), 16)
    # each method's frames padded with black cells to whole rows, so each starts a row
    strip = images.tile(np.concatenate([np.pad(f, ((0, -len(f) % cols), (0, 0), (0, 0)))
                                        for f in frames]), cols)
    png = fresh_dir() / "interpolation.png"
    gif = png.with_suffix(".gif")
    export_strip(list(zip(methods, frames)), cols).save(png)
    # the methods side by side, a 1-pixel grey line (8 px in the GIF) between them
    line = np.full((len(frames[0]), 28, 1), 96, np.uint8)
    side_by_side = np.concatenate([x for f in frames for x in (line, f)][1:], axis=2)
    images.save_gif(side_by_side, gif, scale=GIF_SCALE)
    rows = -(-len(frames[0]) // cols)
    caption = " / ".join(f"{m} (row {i * rows + 1})" if rows == 1 else
                         f"{m} (rows {i * rows + 1}-{(i + 1) * rows})" for i, m in enumerate(methods))
    if len(methods) > 1:
        caption += " (the PNG names each row's method; the GIF plays them side by side, left to right)"
    return strip, [str(png), str(gif)], paths, caption


def ui_from_url(request: gr.Request):
    """The page's load: the model and position its address names (?model=NAME&x=X&y=Y, written
    by web/navigator.js when the position settles); what it does not name
    stays (gr.skip()). A bad value is refused by name, as everywhere. Returned as (x, y, model):
    the page sets x and y first, then the model, whose switch (ui_model) reads them."""
    q = request.query_params if request is not None else {}
    name = q.get("model")
    lm = STORE.get(name or None)
    given = {}
    for axis in "xy":
        if (text := q.get(axis)) is not None:
            try:
                given[axis] = float(text)
            except ValueError:
                raise Refused(f"{axis} in the address must be a number, not {shown(text)}") from None
    z = clamp_xy(lm, given.get("x", 0.0), given.get("y", 0.0))
    return (*(round(v, 2) if axis in given else gr.skip() for axis, v in zip("xy", z)),
            lm.name if name else gr.skip())


def ui_sample(mu_x, mu_y, sigma_x, sigma_y, n, seed, model):
    """The Sample tab: the decoded samples' grid, their z (a table and a bar chart) and the map
    state."""
    z = sample(mu_x, mu_y, sigma_x, sigma_y, n, seed, model)
    frames = decode_uint8(STORE.get(model).model, z)
    grid = images.tile(frames, math.ceil(math.sqrt(len(z))), scale=2 if len(z) <= 64 else 1)
    return (grid, [[round(a, 3), round(b, 3)] for a, b in z], z,
            sample_bars(z, (float(mu_x), float(mu_y))))


def sample_bars(z, mu):
    """A bar chart of each sample's z: z1 and z2 side by side per sample, mu as dashed lines (the
    latent vector as a bar chart, as latent-space explorers show it)."""
    z = np.asarray(z)
    index = np.arange(1, len(z) + 1)
    fig = go.Figure([go.Bar(x=index, y=z[:, i], name=f"z{i + 1}", marker_color=qualitative.D3[i])
                     for i in range(2)])
    for i, m in enumerate(mu):
        fig.add_hline(y=m, line=dict(color=qualitative.D3[i], dash="dash", width=1),
                      annotation_text=f"mu_{'xy'[i]}", annotation_position="right")
    fig.update_layout(barmode="group", height=260, margin=dict(l=40, r=40, t=10, b=30),
                      xaxis=dict(title="sample", dtick=1 if len(z) <= 32 else None),
                      yaxis=dict(title="z"), legend=dict(orientation="h", y=1.12),
                      plot_bgcolor="white")
    return fig


def sample_preset(button, mu_x, mu_y, sigma_x, sigma_y, seed):
    """A sampling button's new (mu_x, mu_y, sigma_x, sigma_y, seed): the prior N(0, I) (mu 0,
    sigma 1), the same distribution again, or a random mu; each draws afresh (the next seed)."""
    seed = integer(seed, "seed", 0, MAX_SEED)
    if button == "prior N(0, I)":
        return 0, 0, 1, 1, seed + 1
    if button == "randomize mu":
        mu_x, mu_y = np.random.default_rng(seed).uniform(-3, 3, 2).round(2).tolist()
    return mu_x, mu_y, sigma_x, sigma_y, seed + 1


def ui_encode(image, model):
    """Encode a drawing or upload (the value the browser sent, see uploaded): its 28x28 input,
    reconstruction, mu/sigma and map state."""
    lm = STORE.get(model)
    x = prepared(uploaded(image))
    mu, sigma = encoded(lm, x)
    recon = decode_uint8(lm.model, [mu])[0]
    pair = images.tile(np.stack([(x * 255).round().astype(np.uint8), recon]), 2, scale=5, gap=4)
    text = f"mu = ({mu[0]:+.2f}, {mu[1]:+.2f})   sigma = ({sigma[0]:.2f}, {sigma[1]:.2f})"
    return pair, text, {"mu": mu, "sigma": sigma}


def go_to_drawing(drawing, model):
    if not drawing:
        raise Refused("nothing encoded yet: draw or upload a digit, then encode it")
    return go_to(*drawing["mu"], model)


def model_info(name):
    """The Models tab's table of one model's metadata (Markdown)."""
    m = model_card(name)
    rows = [("dataset", m["dataset"]), ("kind", m["kind"]), ("latent dim", m["latent_dim"]),
            ("beta", m["beta"]), ("epochs", m["epochs_run"]), ("parameters", f"{m['parameters']:,}"),
            *((f"test {k}", f"{v:.4g}") for k, v in m["test"].items())]
    return f"| model | {name} |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def ui_model(name, x, y):
    """Switch model: slider ranges, class names, info; position kept (clamped); overlays of the
    old model cleared. Returns {name: value}, keyed by what each value is for, not by position:
    the update touches 18 components (10 of them class buttons), and demo.py maps each name onto
    its component (random and prior: the buttons of N(0, I), shown for a VAE only; sample_note;
    x, y, z, info, header, target, start, end, jump_0.., path, samples, drawing, compared,
    compared_grids: the comparison galleries, of a z that may have moved)."""
    lm = STORE.get(name)
    xmin, xmax, ymin, ymax = lm.extent
    x, y, text = go_to(x, y, name)
    first, last = lm.classes[0], lm.classes[-1]
    vae = lm.model.config.kind == "vae"  # an AE has no prior: N(0, I) means nothing for it
    return {"random": gr.Button(visible=vae), "prior": gr.Button(visible=vae),
            "sample_note": sample_note(lm),
            "x": gr.Slider(minimum=xmin, maximum=xmax, value=x),
            "y": gr.Slider(minimum=ymin, maximum=ymax, value=y),
            "z": text, "info": model_info(name), "header": header(name),
            "target": gr.Dropdown(choices=lm.classes, value=first),
            "start": gr.Dropdown(choices=lm.classes, value=first),
            "end": gr.Dropdown(choices=lm.classes, value=last),
            **{f"jump_{i}": gr.Button(value=c) for i, c in enumerate(lm.classes)},
            "path": None, "samples": None, "drawing": None, "compared": None, "compared_grids": None}


def sample_note(lm):
    """The Sample tab's line: what its samples are, for this model's kind."""
    if lm.model.config.kind == "vae":
        return ("z = mu + sigma * eps, eps ~ N(0, I): with mu = 0 and sigma = 1 these are draws "
                "from the model's prior; the map marks them with x.")
    return ("This model is an autoencoder: it has no prior, so these are only points scattered "
            "around mu (its codes lie far wider than N(0, I); see the map), not draws from "
            "the model.")


def ui_compare(x, y):
    """The same z decoded by every MNIST model, and each MNIST model's decoded manifold."""
    x, y = number(x, "x"), number(y, "y")
    mnist = [m["name"] for m in models() if m.get("dataset") == "mnist"]
    digits = [(images.enlarge(decode_uint8(STORE.get(n).model, [clamp_xy(STORE.get(n), x, y)])[0], 4), n)
              for n in mnist]
    return digits, [(STORE.manifold(n), n) for n in mnist]


def map_view(lm):
    """(xmin, xmax, ymin, ymax) the map opens on. A VAE's extent holds its codes; an AE's codes
    have long tails (mnist_ae: the middle half within -1..4, the extent -52..85), so its map
    opens on its class centres, padded by a quarter of their span (the toolbar's zoom-out shows
    the rest, and the sliders still span the whole extent)."""
    if lm.model.config.kind != "ae":
        return list(lm.extent)
    lo, hi = lm.centres.min(0), lm.centres.max(0)
    pad = 0.25 * (hi - lo)
    xmin, xmax, ymin, ymax = lm.extent
    return [max(xmin, float(lo[0] - pad[0])), min(xmax, float(hi[0] + pad[0])),
            max(ymin, float(lo[1] - pad[1])), min(ymax, float(hi[1] + pad[1]))]


def manifold_square(lm):
    """The square the decoded manifold covers: map_view's centre, its longer side (so each cell
    of the grid is square on the map's equal-aspect axes)."""
    xmin, xmax, ymin, ymax = map_view(lm)
    cx, cy, half = (xmin + xmax) / 2, (ymin + ymax) / 2, max(xmax - xmin, ymax - ymin) / 2
    return [cx - half, cx + half, cy - half, cy + half]


MAP_AREA_PX = (712, 451)  # the map's plot area on a 1366 px wide page, which the labels are sized for


def label_positions(centres, names, view, rounds=200):
    """Where the class labels go: at their centres, pushed apart until no two label boxes
    overlap, so that none hides another (Fashion-MNIST's shirts, pullovers and coats share a
    corner). The boxes are in pixels of the desktop map (MAP_AREA_PX, whose equal-aspect axes
    show `view` at max(x span / width, y span / height) units a pixel): 7.2 px a character at
    the map's 12 px bold, plus 14 px; 22 px a line. Each overlapping pair moves apart, half each,
    along the axis that frees it with the smaller move."""
    units = max((view[1] - view[0]) / MAP_AREA_PX[0], (view[3] - view[2]) / MAP_AREA_PX[1])
    p = np.asarray(centres, float) / units
    half_w, half_h = np.array([7.2 * len(n) + 14 for n in names]) / 2, 11.0
    for _ in range(rounds):
        moved = False
        for i in range(len(p)):
            for j in range(i):
                d = p[i] - p[j]
                over = np.array([half_w[i] + half_w[j] - abs(d[0]), 2 * half_h - abs(d[1])])
                if (over <= 0).any():
                    continue
                axis = int(over[1] < over[0])
                sign = 1.0 if d[axis] >= 0 else -1.0
                p[i, axis] += sign * (over[axis] / 2 + 0.5)
                p[j, axis] -= sign * (over[axis] / 2 + 0.5)
                moved = True
        if not moved:
            break
    return p * units


def map_figure(model, overlays=(), path=None, samples=None, drawing=None):
    """The map: atlas codes by class, labelled centres, the chosen overlays. The marker at the
    current z is drawn by the page's JS (web/navigator.js), so moving it never resends this
    figure. The parts that depend on the model alone come from STORE.map_base (built once by
    base_map); the overlays are added as plain dicts, and the figure is not validated again
    (plotly's validation of the 3000 points cost 20 ms a redraw, measured)."""
    lm = STORE.get(model)
    overlays = overlays or ()
    base = STORE.map_base(lm.name, "decoded manifold" in overlays)
    data, notes = list(base["data"]), list(base["layout"].get("annotations", ()))
    if path and "interpolation path" in overlays:
        for (method, p), dash in zip(path.items(), ["solid", "dot"]):
            p = np.array(p)
            data.append(dict(type="scatter", x=p[:, 0], y=p[:, 1], mode="lines+markers",
                             name=method, line=dict(color="black", dash=dash), marker=dict(size=5)))
    if samples and "samples" in overlays:
        s = np.array(samples)
        data.append(dict(type="scatter", x=s[:, 0], y=s[:, 1], mode="markers", name="samples",
                         marker=dict(symbol="x", size=8, color="black",
                                     line=dict(width=1, color="white"))))
        distinct = len(np.unique(s, axis=0))
        if distinct < len(s):  # sigma 0 stacks them: say so, beside the marker
            notes.append(dict(x=s[0, 0], y=s[0, 1], text=f"{len(s)} samples, {distinct} distinct "
                              "(sigma 0)", showarrow=True, ax=60, ay=-36,
                              bgcolor="rgba(255,255,255,0.85)", font=dict(size=11)))
    if drawing and "drawing" in overlays:
        (mx, my), (sx, sy) = drawing["mu"], drawing["sigma"]
        t = np.linspace(0, 2 * np.pi, 61)
        data.append(dict(type="scatter", x=mx + sx * np.cos(t), y=my + sy * np.sin(t),
                         mode="lines", name="drawing (1 sigma)",
                         line=dict(color="crimson", width=2)))
        data.append(dict(type="scatter", x=[mx], y=[my], mode="markers", name="drawing",
                         marker=dict(symbol="star", size=14, color="crimson")))
    return go.Figure({"data": data, "layout": {**base["layout"], "annotations": notes}},
                     _validate=False)


def base_map(lm, manifold):
    """The model's part of the map, as a dict (STORE.map_base keeps it): its codes by class, the
    decoded manifold (if asked), the class labels, the axes."""
    mu, labels = lm.atlas["mu"][:MAP_POINTS].numpy(), lm.atlas["labels"][:MAP_POINTS].numpy()
    # SVG Scatter, not Scattergl: measured in Chromium, 3000 points draw in 230 ms as SVG and
    # 385 ms through WebGL (its start-up cost), and SVG needs no GPU.
    fig = go.Figure([go.Scatter(x=mu[labels == c, 0], y=mu[labels == c, 1], mode="markers", name=name,
                                marker=dict(size=4, color=qualitative.D3[c], opacity=0.6))
                     for c, name in enumerate(lm.classes)])
    view = map_view(lm)
    if manifold:
        # dark ink on white, faint under the coloured dots; each digit's cell centred on the z it
        # was decoded at (lu.grid puts the points on the square's edges, so the image reaches half
        # a cell past them); Plotly writes it as a PNG data URI
        x0, x1, y0, y1 = manifold_square(lm)
        half = (x1 - x0) / (MANIFOLD_N - 1) / 2
        fig.add_layout_image(source=ImageOps.invert(STORE.manifold(lm.name)), xref="x", yref="y",
                             x=x0 - half, y=y1 + half, sizex=x1 - x0 + 2 * half,
                             sizey=y1 - y0 + 2 * half, sizing="stretch", layer="below",
                             opacity=0.4)
    for name, (cx, cy), (lx, ly) in zip(lm.classes, lm.centres,
                                        label_positions(lm.centres, lm.classes, view)):
        moved = bool(abs(lx - cx) + abs(ly - cy) > 1e-9)
        fig.add_annotation(x=cx, y=cy, ax=lx, ay=ly, axref="x", ayref="y", showarrow=moved,
                           arrowwidth=1, arrowcolor="#555", text=f"<b>{name}</b>",
                           bgcolor="rgba(255,255,255,0.75)", font=dict(size=12))
    # dragmode False: a press or a drag on the map moves the position (web/navigator.js), so
    # zooming is the toolbar's +/-/reset (always shown) or the wheel; the hover preview shows the
    # digit under the pointer, so Plotly's own hover labels are off.
    fig.update_layout(dragmode=False, hovermode=False,
                      modebar=dict(remove=["zoom", "pan", "select", "lasso", "autoScale"],
                                   orientation="v"))
    axis = dict(font=dict(size=13), standoff=2)
    # No height: the map fills its box, whose height web/navigator.css sets (560 px, smaller on a
    # phone). Equal aspect: a unit of z1 is as long as a unit of z2, so the shapes are true.
    xmin, xmax, ymin, ymax = view
    fig.update_layout(margin=dict(l=48, r=10, t=10, b=30), uirevision=lm.name,
                      xaxis=dict(range=[xmin, xmax], title=dict(text="z1", **axis)),
                      yaxis=dict(range=[ymin, ymax], title=dict(text="z2", **axis),
                                 scaleanchor="x", scaleratio=1),
                      legend=dict(orientation="h", y=-0.09, font=dict(size=11)), plot_bgcolor="white")
    return fig.to_dict()
