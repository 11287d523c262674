"""Latent Space Navigator: a Gradio app to walk the 2-D latent space of the shipped VAEs/AEs.

    python demo.py                       # or `make demo`: http://127.0.0.1:7862
    python demo.py --model mnist_ae --port 7863 --device cpu
    python demo.py --host 0.0.0.0 --share

The page: the encoded test digits as a map (click to go), the decoded digit at the current
position z = (x, y) with X/Y sliders, random/jump/morph moves, interpolation, sampling, model
comparison, and draw-or-upload encoding. Needs only pretrained/ (no dataset, no network).

API, by gradio_client (Client(url).predict(..., api_name="/decode")) or REST (POST
/gradio_api/call/v2/NAME with {"x": 0.5, "y": 1}, then GET /gradio_api/call/NAME/EVENT_ID).
Every endpoint takes an optional `model` (a name from pretrained/, default mnist_vae_beta4).
x and y outside the model's atlas extent are clamped to it; any other bad input (NaN, a string,
an unknown class, steps outside 2-64, ...) is refused with a gr.Error naming it.
    /decode (x, y) -> 28x28 grey PNG       /jump (digit) -> [x, y] of the class centre
    /morph (x, y, digit, amount) -> [x, y] /interpolate (digit_a, digit_b, steps, method) -> [[x, y]..]
    /random (seed) -> [x, y] ~ N(0, I)     /sample (mu_x, mu_y, sigma_x, sigma_y, n, seed) -> [[x, y]..]
    /encode (image) -> {"mu", "sigma"}     /models () -> the shipped models and their metadata
`digit` is a class index or name. The page's slider event is /show (x, y -> the 280 px digit and
its z text; one POST /gradio_api/run/show). /models lists a model whose files are broken with
its error; the others keep serving. Tests: tests/test_demo_*.py, test_fuzz.py, test_security.py,
test_faults.py; speed and load: `make bench` (bench/run_all.py).
"""

import argparse
import base64
import functools
import io
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
import plotly.graph_objects as go
import torch
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from PIL import Image, UnidentifiedImageError

import latent_utils as lu
from neural_network import (DEFAULT_MODEL, CheckpointError, list_models,
                            load_model, pick_device)

DIGIT_SCALE = 10  # the page's digit: 28 px -> 280 px, nearest-neighbour so pixels stay crisp
MAP_POINTS = 3000  # atlas codes drawn on the map
MANIFOLD_N = 20  # the decoded-manifold background is an n x n grid of digits
MAX_STEPS, MAX_SAMPLES, MAX_SEED = 64, 256, 2**32 - 1
MAX_SIDE, MAX_PIXELS = 4096, 16_000_000  # uploads larger than this are refused before decoding
MAX_BODY = 32 * 2**20  # bytes of any one request (a 20 MB upload and its multipart overhead fit)
# PIL refuses to open images over twice its limit (DecompressionBombError). Gradio's own image
# components decode uploads with PIL before any handler sees them (the Sketchpad does), so
# lowering the limit to ours bounds those decodes too: at most 32 MP, not PIL's default 179 MP.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
MAKE_HINT = "make them with `make models` or `python trainer.py --out pretrained/NAME.safetensors`"
OVERLAYS = ["decoded manifold", "interpolation path", "samples", "drawing"]
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
DEVICE = None  # torch.device from --device; None: CUDA when available, else CPU


# --- input checks: every handler goes through these, so each bad input has one message --------

def shown(value, limit=60):
    """repr(value) cut to `limit` characters: an error message never echoes a huge input back."""
    r = repr(value)
    return r if len(r) <= limit else f"{r[:limit]}... ({len(r)} characters)"


def number(value, name, lo=-math.inf, hi=math.inf):
    """A finite float in [lo, hi]; bools, strings, NaN and inf are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise gr.Error(f"{name} must be a number, not {shown(value)}")
    try:
        v = float(value)
    except OverflowError:  # JSON integers have no size limit; floats end near 1.8e308
        raise gr.Error(f"{name} must be a finite number, not an integer of "
                       f"{len(str(abs(value)))} digits") from None
    if not math.isfinite(v):
        raise gr.Error(f"{name} must be a finite number, not {v}")
    if not lo <= v <= hi:
        raise gr.Error(f"{name} must be between {lo:g} and {hi:g}, not {v:g}")
    return v


def integer(value, name, lo, hi):
    v = number(value, name, lo, hi)
    if not v.is_integer():
        raise gr.Error(f"{name} must be a whole number, not {v:g}")
    return int(v)


def model_name(name):
    if name is None or name == "":
        return DEFAULT_MODEL
    if not isinstance(name, str):
        raise gr.Error(f"model must be a model name, not {shown(name)}")
    if "/" in name or "\\" in name or ".." in name:
        raise gr.Error(f"model must be a name from pretrained/, not a path: {shown(name)}")
    if name not in _LOADED and name not in list_models():
        raise gr.Error(f"unknown model {shown(name)}; the shipped models are "
                       f"{', '.join(list_models()) or 'none'} ({MAKE_HINT})")
    return name


def class_index(lm, digit, name="digit"):
    """A class index from an index (int, or a float like 7.0) or a class name ('7', 'Sneaker')."""
    if isinstance(digit, str) and digit in lm.classes:
        return lm.classes.index(digit)
    if (not isinstance(digit, bool) and isinstance(digit, (int, float, np.integer))
            and float(digit).is_integer() and 0 <= digit < len(lm.classes)):
        return int(digit)
    raise gr.Error(f"{name} must be one of the classes {', '.join(lm.classes)} "
                   f"(or its index 0-{len(lm.classes) - 1}), not {shown(digit)}")


def clamp_xy(lm, x, y):
    xmin, xmax, ymin, ymax = lm.extent
    return (min(max(number(x, "x"), xmin), xmax), min(max(number(y, "y"), ymin), ymax))


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


_LOCK = threading.Lock()
_LOADED: dict[str, Loaded] = {}


def get_model(name=None) -> Loaded:
    """The loaded model `name` (None: the default). The lock makes concurrent first requests
    load it once; afterwards eval-mode inference under inference_mode is thread-safe."""
    name = model_name(name)
    if name not in _LOADED:
        with _LOCK:
            if name not in _LOADED:
                try:
                    model, meta = load_model(name, DEVICE)
                    atlas = lu.load_atlas(name)
                except CheckpointError as e:
                    raise gr.Error(f"model {name!r} cannot be loaded: {e}; {MAKE_HINT}") from None
                xmin, xmax, ymin, ymax = atlas["extent"]
                extent = [math.floor(xmin * 100) / 100, math.ceil(xmax * 100) / 100,
                          math.floor(ymin * 100) / 100, math.ceil(ymax * 100) / 100]
                _LOADED[name] = Loaded(name, model, meta, atlas, next(model.parameters()).device,
                                       atlas["classes"], extent, atlas["centres"].numpy())
    return _LOADED[name]


def decode_grey(lm, z):
    """codes [N, 2] -> uint8 images [N, 28, 28] (white ink on black, as MNIST)."""
    z = torch.as_tensor(np.asarray(z, np.float32).reshape(-1, lm.model.config.latent_dim))
    with torch.inference_mode():
        return lu.to_uint8(lm.model.decode(z.to(lm.device)))


def tile(frames, cols, scale=2, gap=2):
    """Images [N, h, w] -> one grid image, `cols` per row, grey gaps between them."""
    return lu.enlarge(lu.mosaic(frames, cols, gap, fill=96), scale)


@functools.lru_cache(maxsize=16)
def manifold(name, n=MANIFOLD_N):
    """The decoded n x n grid over the model's extent, one image [n*28, n*28] (top row: max y)."""
    lm = get_model(name)
    return tile(decode_grey(lm, lu.grid(lm.extent, n)), n, scale=1, gap=0)


@functools.lru_cache(maxsize=16)
def manifold_uri(name):
    """The manifold as dark ink on white (readable under the coloured dots), a PNG data URI."""
    buf = io.BytesIO()
    Image.fromarray(255 - np.asarray(manifold(name))).save(buf, "png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


# --- image input: checked before decoding, then prepared as MNIST was ------------------------

def open_image(image):
    """A file path, PIL image, array or Sketchpad value -> a loaded PIL image; empty, unreadable
    and oversized images (decompression bombs) are refused before their pixels are decoded."""
    if isinstance(image, dict):  # Sketchpad/ImageEditor value
        image = image.get("composite")
    if image is None or (isinstance(image, str) and not image):
        raise gr.Error("image is empty: draw a digit or upload an image")
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image.astype(np.uint8)) if image.ndim in (2, 3) and image.size else None
    elif isinstance(image, (str, os.PathLike)):
        try:
            image = Image.open(image)  # reads the header only
        except Image.DecompressionBombError as e:
            raise gr.Error(f"image is too large: {e}") from None
        except (UnidentifiedImageError, OSError) as e:
            raise gr.Error(f"image is not a readable image file ({type(e).__name__})") from None
    if not isinstance(image, Image.Image) or 0 in image.size:
        raise gr.Error("image is empty or not an image")
    w, h = image.size
    if max(w, h) > MAX_SIDE or w * h > MAX_PIXELS:
        raise gr.Error(f"image is too large ({w}x{h}); at most {MAX_SIDE}x{MAX_SIDE} and "
                       f"{MAX_PIXELS // 1_000_000} MP are accepted")
    try:
        image.load()
    except (OSError, ValueError) as e:
        raise gr.Error(f"image data is corrupt or truncated ({e})") from None
    return image


def grey(image):
    """PIL image -> float [h, w] in [0, 1]. 16-bit grey is scaled by 65535; 32-bit integer and
    float images, which have no fixed white, by their own range (PIL's convert("L") would clip
    them to 255 and lose the digit)."""
    if image.mode.startswith("I;16"):
        return np.asarray(image, np.float32) / 65535
    if image.mode in ("I", "F"):
        a = np.nan_to_num(np.asarray(image, np.float64), nan=0, posinf=0, neginf=0)
        lo, hi = a.min(), a.max()
        return ((a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)).astype(np.float32)
    try:
        return np.asarray(image.convert("L"), np.float32) / 255
    except ValueError:  # PIL converts most modes to grey, not all (LAB)
        raise gr.Error(f"image mode {image.mode} is not supported: upload a grey, RGB or RGBA "
                       "image") from None


def mnist_style(image):
    """PIL image -> float [28, 28] in [0, 1] prepared as MNIST's digits were (LeCun et al. 1998):
    white ink on black, cropped to the ink, longest side scaled to 20 px keeping the aspect,
    placed in 28x28 with its centre of mass at the centre."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")  # transparent parts are paper: lay them on white
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)
    g = grey(image)
    paper = lambda a: np.median(np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]))  # the border
    if paper(g) > 0.5:  # light paper: dark ink, so invert to white-on-black
        g = 1 - g
    g = np.clip(g - paper(g), 0, None)  # grey paper is not ink
    if g.max() < 0.1:
        raise gr.Error("image is empty: no ink found (draw a digit, or upload one)")
    g = g / g.max()
    ys, xs = np.nonzero(g > 0.1)
    g = g[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = g.shape
    s = 20 / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = np.clip(np.asarray(Image.fromarray(g).resize(size, Image.LANCZOS)), 0, 1)
    cy, cx = (np.indices(small.shape) * small).reshape(2, -1).sum(1) / small.sum()
    top = int(np.clip(round(13.5 - cy), 0, 28 - small.shape[0]))
    left = int(np.clip(round(13.5 - cx), 0, 28 - small.shape[1]))
    out = np.zeros((28, 28), np.float32)
    out[top:top + small.shape[0], left:left + small.shape[1]] = small
    return out


def encode_x(lm, x):
    """x [28, 28] in [0, 1] -> (mu, sigma) as lists; an AE's sigma is 0."""
    with torch.inference_mode():
        mu, logvar = lm.model.encode(torch.as_tensor(x)[None, None].to(lm.device))
    return mu[0].cpu().tolist(), torch.exp(0.5 * logvar[0]).cpu().tolist()


# --- API handlers (plain functions; each is an endpoint of the same name) ----------------------

def decode(x, y, model=None):
    """The decoded digit at z = (x, y) as a 28x28 grey image; x, y clamped to the extent."""
    lm = get_model(model)
    return Image.fromarray(decode_grey(lm, [clamp_xy(lm, x, y)])[0])


def jump(digit: int | str, model: str | None = None) -> list[float]:
    """[x, y] of a class centre (digit: class index or name)."""
    lm = get_model(model)
    return lm.centres[class_index(lm, digit)].tolist()


def morph(x: float, y: float, digit: int | str, amount: float, model: str | None = None) -> list[float]:
    """The point `amount` (0..1) of the way from (x, y) to the centre of class `digit`."""
    lm = get_model(model)
    target = lm.centres[class_index(lm, digit)]
    return lu.morph(clamp_xy(lm, x, y), target, number(amount, "amount", 0, 1)).tolist()


def interpolate(digit_a: int | str, digit_b: int | str, steps: int, method: str = "linear",
                model: str | None = None) -> list[list[float]]:
    """`steps` (2-64) codes from class a's centre to class b's; method 'linear' or 'spherical'."""
    lm = get_model(model)
    a, b = class_index(lm, digit_a, "digit_a"), class_index(lm, digit_b, "digit_b")
    steps = integer(steps, "steps", 2, MAX_STEPS)
    if method not in ("linear", "spherical"):
        raise gr.Error(f"method must be 'linear' or 'spherical', not {shown(method)}")
    path = (lu.lerp if method == "linear" else lu.slerp)(lm.centres[a], lm.centres[b], steps)
    return path.tolist()


def random_point(seed: int = 0, model: str | None = None) -> list[float]:
    """A code drawn from the prior N(0, I), reproducible by seed."""
    get_model(model)  # refuses an unknown model like every endpoint does
    return np.random.default_rng(integer(seed, "seed", 0, MAX_SEED)).standard_normal(2).tolist()


def sample(mu_x: float, mu_y: float, sigma_x: float, sigma_y: float, n: int = 16, seed: int = 0,
           model: str | None = None) -> list[list[float]]:
    """n (1-256) codes z = mu + sigma * eps, eps ~ N(0, I); sigma 0 repeats mu exactly."""
    get_model(model)
    mu = np.array([number(mu_x, "mu_x", -3, 3), number(mu_y, "mu_y", -3, 3)])
    sigma = np.array([number(sigma_x, "sigma_x", 0, 2), number(sigma_y, "sigma_y", 0, 2)])
    eps = np.random.default_rng(integer(seed, "seed", 0, MAX_SEED)).standard_normal(
        (integer(n, "n", 1, MAX_SAMPLES), 2))
    return (mu + sigma * eps).tolist()


def encode(image, model=None):
    """{"mu": [..], "sigma": [..]} of an image prepared as MNIST (see mnist_style)."""
    mu, sigma = encode_x(get_model(model), mnist_style(open_image(image)))
    return {"mu": mu, "sigma": sigma}


def model_card(name):
    lm = get_model(name)
    cfg = lm.model.config
    return {"name": lm.name, "default": lm.name == DEFAULT_MODEL, "dataset": lm.atlas["dataset"],
            "classes": lm.classes, "kind": cfg.kind, "latent_dim": cfg.latent_dim,
            "beta": lm.meta.get("beta"), "epochs_run": lm.meta.get("epochs_run"),
            "parameters": lm.model.num_params(), "test": lm.meta.get("test", {}),
            "extent": lm.extent}


def models() -> list[dict]:
    """The shipped models with their metadata (the default first); a model whose files cannot be
    loaded is listed as {"name", "error"}, so one broken file hides none of the others."""
    cards = []
    for name in sorted(list_models(), key=lambda n: n != DEFAULT_MODEL):
        try:
            cards.append(model_card(name))
        except gr.Error as e:
            cards.append({"name": name, "error": e.message})
    return cards


# --- page handlers ------------------------------------------------------------------------------

def z_text(lm, x, y, k=15):
    """z and the class of the k encoded test digits nearest to it. Their vote, not the nearest
    class centre, says what lives here: a class can have several clusters (the 6s of beta 4 have
    two) and its centre sits in one of them."""
    d = ((lm.atlas["mu"].numpy() - [x, y]) ** 2).sum(1)
    votes = np.bincount(lm.atlas["labels"].numpy()[np.argpartition(d, k)[:k]],
                        minlength=len(lm.classes))
    c = int(votes.argmax())
    return f"z = ({x:+.2f}, {y:+.2f})   {votes[c]} of the {k} nearest test digits: {lm.classes[c]}"


def show(x, y, model=None):
    """The slider event: only the enlarged digit and its z text (the map marker moves in JS)."""
    lm = get_model(model)
    x, y = clamp_xy(lm, x, y)
    return lu.enlarge(decode_grey(lm, [[x, y]])[0], DIGIT_SCALE), z_text(lm, x, y)


def go_to(x, y, model=None):
    """Move the sliders to (x, y), clamped and rounded to their 0.01 step; show the digit there."""
    x, y = (round(v, 2) for v in clamp_xy(get_model(model), x, y))
    return (x, y, *show(x, y, model))


def ui_random(seed, model):
    seed = integer(seed, "seed", 0, MAX_SEED)
    return (*go_to(*random_point(seed, model), model), (seed + 1) % (MAX_SEED + 1))


def ui_morph(x, y, target, amount, animate, model):
    """One click moves `amount` of the way; with animate the move streams as 16 frames."""
    x1, y1 = morph(x, y, target, amount, model)
    for t in np.linspace(0, 1, 16)[1:] if animate else [1.0]:
        yield go_to(x + t * (x1 - x), y + t * (y1 - y), model)
        time.sleep(0.04 if animate else 0)


@functools.cache
def out_dir():
    """Where the PNG/GIF downloads are written (Gradio serves copies of them)."""
    return Path(tempfile.mkdtemp(prefix="lsn-"))


def fresh_dir():
    """A new folder in out_dir(); folders over an hour old go, as Gradio's own cache does."""
    for old in out_dir().iterdir():
        if time.time() - old.stat().st_mtime > 3600:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=out_dir()))


def ui_interpolate(a, b, steps, method, model):
    """Strip(s) of frames, their PNG and GIF, and the path(s) to draw on the map."""
    lm = get_model(model)
    methods = ["linear", "spherical"] if method == "both" else [method]
    paths = {m: interpolate(a, b, steps, m, model) for m in methods}
    frames = [decode_grey(lm, p) for p in paths.values()]  # one [steps, 28, 28] per method
    cols = min(len(frames[0]), 16)
    strip = tile(np.concatenate([np.pad(f, ((0, -len(f) % cols), (0, 0), (0, 0))) for f in frames]),
                 cols)
    png = fresh_dir() / "interpolation.png"
    gif = png.with_suffix(".gif")
    strip.save(png)
    anim = [lu.enlarge(np.concatenate(step, axis=1), 4) for step in zip(*frames)]  # methods side by side
    anim[0].save(gif, save_all=True, append_images=anim[1:], duration=80, loop=0)
    caption = " / ".join(f"{m} (row {i + 1})" for i, m in enumerate(methods))
    return strip, [str(png), str(gif)], paths, caption


def ui_sample(mu_x, mu_y, sigma_x, sigma_y, n, seed, model):
    z = sample(mu_x, mu_y, sigma_x, sigma_y, n, seed, model)
    images = decode_grey(get_model(model), z)
    grid = tile(images, math.ceil(math.sqrt(len(z))), scale=2 if len(z) <= 64 else 1)
    return grid, [[round(a, 3), round(b, 3)] for a, b in z], z


def sample_preset(button, mu_x, mu_y, sigma_x, sigma_y, seed):
    """A sampling button's new (mu_x, mu_y, sigma_x, sigma_y, seed); each draws afresh but reset."""
    seed = integer(seed, "seed", 0, MAX_SEED)
    if button == "reset to N(0, 1)":
        return 0, 0, 1, 1, 0
    if button == "prior N(0, I)":
        return 0, 0, 1, 1, seed + 1
    if button == "randomize mu":
        mu_x, mu_y = np.random.default_rng(seed).uniform(-3, 3, 2).round(2).tolist()
    return mu_x, mu_y, sigma_x, sigma_y, seed + 1


def ui_encode(image, model):
    """Encode a drawing or upload: its 28x28 input, reconstruction, mu/sigma and map state."""
    lm = get_model(model)
    x = mnist_style(open_image(image))
    mu, sigma = encode_x(lm, x)
    recon = decode_grey(lm, [mu])[0]
    pair = tile(np.stack([(x * 255).round().astype(np.uint8), recon]), 2, scale=5, gap=4)
    text = f"mu = ({mu[0]:+.2f}, {mu[1]:+.2f})   sigma = ({sigma[0]:.2f}, {sigma[1]:.2f})"
    return pair, text, {"mu": mu, "sigma": sigma}


def go_to_drawing(drawing, model):
    if not drawing:
        raise gr.Error("nothing encoded yet: draw or upload a digit, then encode it")
    return go_to(*drawing["mu"], model)


def model_info(name):
    m = model_card(name)
    rows = [("dataset", m["dataset"]), ("kind", m["kind"]), ("latent dim", m["latent_dim"]),
            ("beta", m["beta"]), ("epochs", m["epochs_run"]), ("parameters", f"{m['parameters']:,}"),
            *((f"test {k}", f"{v:.4g}") for k, v in m["test"].items())]
    return f"| model | {name} |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def ui_model(name, x, y):
    """Switch model: slider ranges, class names, info; position kept (clamped)."""
    lm = get_model(name)
    xmin, xmax, ymin, ymax = lm.extent
    x, y, image, text = go_to(x, y, name)
    first, last = (gr.Dropdown(choices=lm.classes, value=c) for c in (lm.classes[0], lm.classes[-1]))
    return (gr.Slider(minimum=xmin, maximum=xmax, value=x), gr.Slider(minimum=ymin, maximum=ymax, value=y),
            image, text, model_info(name), first, first, last, *(gr.Button(value=c) for c in lm.classes),
            None, None, None)


def ui_compare(x, y):
    """The same z decoded by every MNIST model, and each MNIST model's decoded manifold."""
    mnist = [m["name"] for m in models() if m.get("dataset") == "mnist"]
    digits = [(lu.enlarge(decode_grey(get_model(n), [[x, y]])[0], 4), n) for n in mnist]
    return digits, [(manifold(n), n) for n in mnist]


def map_figure(model, overlays=(), path=None, samples=None, drawing=None):
    """The map: atlas codes by class, labelled centres, the chosen overlays. The marker at the
    current z is drawn by the page's JS (see JS), so moving it never resends this figure."""
    lm = get_model(model)
    overlays = overlays or ()
    mu, labels = lm.atlas["mu"][:MAP_POINTS].numpy(), lm.atlas["labels"][:MAP_POINTS].numpy()
    # SVG Scatter, not Scattergl: measured in Chromium, 3000 points draw in 230 ms as SVG and
    # 385 ms through WebGL (its start-up cost), and SVG needs no GPU.
    fig = go.Figure([go.Scatter(x=mu[labels == c, 0], y=mu[labels == c, 1], mode="markers", name=name,
                                marker=dict(size=4, color=COLOURS[c], opacity=0.6),
                                hovertemplate=f"{name}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>")
                     for c, name in enumerate(lm.classes)])
    if path and "interpolation path" in overlays:
        for (method, p), dash in zip(path.items(), ["solid", "dot"]):
            p = np.array(p)
            fig.add_scatter(x=p[:, 0], y=p[:, 1], mode="lines+markers", name=method,
                            line=dict(color="black", dash=dash), marker=dict(size=5))
    if samples and "samples" in overlays:
        s = np.array(samples)
        fig.add_scatter(x=s[:, 0], y=s[:, 1], mode="markers", name="samples",
                        marker=dict(symbol="x", size=7, color="black"))
    if drawing and "drawing" in overlays:
        (mx, my), (sx, sy) = drawing["mu"], drawing["sigma"]
        t = np.linspace(0, 2 * np.pi, 61)
        fig.add_scatter(x=mx + sx * np.cos(t), y=my + sy * np.sin(t), mode="lines",
                        name="drawing (1 sigma)", line=dict(color="crimson", width=2))
        fig.add_scatter(x=[mx], y=[my], mode="markers", name="drawing",
                        marker=dict(symbol="star", size=14, color="crimson"))
    xmin, xmax, ymin, ymax = lm.extent
    if "decoded manifold" in overlays:
        fig.add_layout_image(source=manifold_uri(lm.name), xref="x", yref="y", x=xmin, y=ymax,
                             sizex=xmax - xmin, sizey=ymax - ymin, sizing="stretch",
                             layer="below", opacity=0.55)
    for name, (cx, cy) in zip(lm.classes, lm.centres):
        fig.add_annotation(x=cx, y=cy, text=f"<b>{name}</b>", showarrow=False,
                           bgcolor="rgba(255,255,255,0.75)", font=dict(size=12))
    fig.update_layout(height=560, margin=dict(l=40, r=10, t=10, b=30), uirevision=lm.name,
                      xaxis=dict(range=[xmin, xmax], title=None), yaxis=dict(range=[ymin, ymax], title=None),
                      legend=dict(orientation="h", y=-0.04, font=dict(size=11)), plot_bgcolor="white")
    return fig


# --- the page ---------------------------------------------------------------------------------

CSS = """
.gradio-container { max-width: 100% !important; padding-top: 6px !important; }
#lsn-digit img { image-rendering: pixelated; width: 280px; height: 280px; }
#lsn-jump button { min-width: 0 !important; padding: 4px 2px; font-size: 12px; line-height: 1.1; }
#lsn-map { position: relative; }
#lsn-map .js-plotly-plot { will-change: transform; contain: layout paint; }
#lsn-marker { position: absolute; left: -10px; top: -10px; width: 20px; height: 20px; z-index: 5;
  border: 3px solid black; border-radius: 50%; background: rgba(255, 215, 0, 0.85);
  box-sizing: border-box; pointer-events: none; will-change: transform; }
"""

# Click to go, and the marker following the sliders, all in the browser.
JS = """
const plot = () => document.querySelector('#lsn-map .js-plotly-plot');
const slider = (id) => document.querySelector('#' + id + ' input[type=number]');
// The plot area in page pixels and the axes' ranges: the one mapping between z and a pixel,
// used both ways (a click -> z, z -> the marker).
const frame = () => {
  const gd = plot(), area = gd && gd.querySelector('.nsewdrag');
  if (!area || !gd._fullLayout || !gd._fullLayout.xaxis) return null;
  return {r: area.getBoundingClientRect(), xr: gd._fullLayout.xaxis.range, yr: gd._fullLayout.yaxis.range};
};
// The marker is a plain div over the plot: moving it costs ~0.1 ms, where moving a Plotly shape
// by relayout redraws the plot (measured 35-110 ms: far too slow to follow a drag).
window.lsnMark = (x, y) => {
  const f = frame(), host = document.querySelector('#lsn-map');
  if (!f) return;
  x = x ?? +slider('lsn-x').value;
  y = y ?? +slider('lsn-y').value;
  let m = document.getElementById('lsn-marker');
  if (!m) { m = document.createElement('div'); m.id = 'lsn-marker'; host.appendChild(m); }
  const u = (x - f.xr[0]) / (f.xr[1] - f.xr[0]), v = (f.yr[1] - y) / (f.yr[1] - f.yr[0]);
  const h = host.getBoundingClientRect();
  m.style.display = u >= 0 && u <= 1 && v >= 0 && v <= 1 ? 'block' : 'none';
  // A transform on its own layer: moving it repaints nothing beneath (3000 SVG points)
  m.style.transform = `translate(${f.r.left - h.left + u * f.r.width}px, ${f.r.top - h.top + v * f.r.height}px)`;
};
// Set a slider as a user would (Gradio's .input fires, so the digit is decoded).
const setSlider = (id, v) => {
  const input = slider(id);
  input.value = v.toFixed(2);
  input.dispatchEvent(new Event('input', {bubbles: true}));
};
const goTo = (x, y) => { setSlider('lsn-x', x); setSlider('lsn-y', y); };
const bind = () => {
  const gd = plot();
  if (!gd || gd.lsnBound || !gd.on) return;
  gd.lsnBound = true;
  gd.on('plotly_afterplot', () => window.lsnMark());  // drawn, re-rendered, zoomed or panned
  // A click on a point goes to that digit's code; Plotly then re-dispatches the click as a DOM
  // click, which the second listener turns into the clicked spot when no point was hit.
  gd.on('plotly_click', (ev) => {
    const p = ev.points && ev.points[0];
    if (p) { gd.lsnPointAt = Date.now(); goTo(p.x, p.y); }
  });
  gd.addEventListener('click', (ev) => {
    const f = frame();
    if (!f || Date.now() - (gd.lsnPointAt || 0) < 300) return;
    const {r, xr, yr} = f;
    if (ev.clientX < r.left || ev.clientX > r.right || ev.clientY < r.top || ev.clientY > r.bottom) return;
    goTo(xr[0] + (ev.clientX - r.left) / r.width * (xr[1] - xr[0]),
         yr[1] - (ev.clientY - r.top) / r.height * (yr[1] - yr[0]));
  });
  window.lsnMark();
};
new MutationObserver(bind).observe(document.body, {childList: true, subtree: true});
bind();
"""


def build_app(default=None, bench_floor=False):
    """The Blocks app for model `default` (None: mnist_vae_beta4). bench_floor adds /floor, a
    constant 28x28 image: Gradio's own cost, the floor for bench/demo_latency.py."""
    lm = get_model(default)
    xmin, xmax, ymin, ymax = lm.extent
    ui = dict(api_visibility="private")  # page-only events stay out of the API
    with gr.Blocks(title="Latent Space Navigator", fill_width=True, delete_cache=(3600, 3600)) as demo:
        path, samples, drawing = gr.State(None), gr.State(None), gr.State(None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=560):
                plot = gr.Plot(show_label=False, elem_id="lsn-map")
                overlays = gr.CheckboxGroup(OVERLAYS, value=OVERLAYS[1:], show_label=False, container=False)
            with gr.Column(scale=2, min_width=420):
                with gr.Row():
                    side = DIGIT_SCALE * 28 + 8  # the 280 px image and the frame around it
                    digit = gr.Image(format="png", type="pil", height=side, width=side, scale=0,
                                     min_width=side + 8, interactive=False, show_label=False,
                                     buttons=["download"], elem_id="lsn-digit")
                    with gr.Column(min_width=120):
                        ztext = gr.Textbox(label="z", lines=3, interactive=False, elem_id="lsn-z")
                        seed = gr.Number(0, label="seed", precision=0, minimum=0)
                        rand = gr.Button("random z ~ N(0, I)", size="sm")
                x0, y0 = clamp_xy(lm, 0, 0)  # start at the prior's mean, or nearest to it
                x = gr.Slider(xmin, xmax, x0, step=0.01, label="X", elem_id="lsn-x")
                y = gr.Slider(ymin, ymax, y0, step=0.01, label="Y", elem_id="lsn-y")
                with gr.Row(elem_id="lsn-jump"):
                    jumps = [gr.Button(c, size="sm", min_width=0, elem_id=f"lsn-jump-{i}")
                             for i, c in enumerate(lm.classes)]
        with gr.Tabs():
            with gr.Tab("Morph"):
                with gr.Row():
                    target = gr.Dropdown(lm.classes, value=lm.classes[0], label="morph toward")
                    amount = gr.Slider(0, 1, 0.25, step=0.05, label="amount per click")
                    animate = gr.Checkbox(label="animate", value=True)
                    morph_btn = gr.Button("morph", variant="primary")
            with gr.Tab("Interpolate"):
                with gr.Row():
                    start = gr.Dropdown(lm.classes, value=lm.classes[0], label="start")
                    end = gr.Dropdown(lm.classes, value=lm.classes[-1], label="end")
                    steps = gr.Slider(2, MAX_STEPS, 10, step=1, label="steps")
                    method = gr.Radio(["linear", "spherical", "both"], value="both", label="method")
                    interp_btn = gr.Button("interpolate", variant="primary")
                interp_caption = gr.Markdown()
                strip = gr.Image(format="png", type="pil", show_label=False, interactive=False,
                                 elem_id="lsn-strip")
                interp_files = gr.File(label="strip (PNG) and animation (GIF)", file_count="multiple",
                                       elem_id="lsn-files")
            with gr.Tab("Sample"):
                with gr.Row():
                    mu_x, mu_y = (gr.Slider(-3, 3, 0, step=0.01, label=f"mu_{a}") for a in "xy")
                    sigma_x, sigma_y = (gr.Slider(0, 2, 1, step=0.01, label=f"sigma_{a} (0: deterministic)")
                                        for a in "xy")
                with gr.Row():
                    n = gr.Slider(1, MAX_SAMPLES, 16, step=1, label="n samples")
                    sample_seed = gr.Number(0, label="seed", precision=0, minimum=0)
                    presets = [gr.Button(b) for b in
                               ["prior N(0, I)", "resample", "reset to N(0, 1)", "randomize mu"]]
                with gr.Row():
                    sample_grid = gr.Image(format="png", type="pil", show_label=False, interactive=False)
                    sample_table = gr.Dataframe(headers=["x", "y"], label="z", max_height=300)
            with gr.Tab("Models"):
                with gr.Row():
                    model = gr.Dropdown(list_models(), value=lm.name, label="model", elem_id="lsn-model")
                    info = gr.Markdown(model_info(lm.name))
                compare_btn = gr.Button("compare the MNIST models at this z")
                compare_digits, compare_grids = (
                    gr.Gallery(label=label, columns=4, height="auto", object_fit="contain")
                    for label in ["the same z, decoded by each model", "each model's decoded manifold"])
            with gr.Tab("Draw or upload"):
                with gr.Row():
                    sketch = gr.Sketchpad(type="numpy", canvas_size=(280, 280), label="draw a digit",
                                          brush=gr.Brush(18, colors=["#000000"], color_mode="fixed"),
                                          elem_id="lsn-sketch")
                    upload = gr.Image(type="filepath", image_mode=None, sources=["upload", "clipboard"],
                                      label="or upload an image", height=300)
                    with gr.Column():
                        encode_btn = gr.Button("encode drawing", variant="primary")
                        pair = gr.Image(format="png", type="pil", show_label=False, interactive=False)
                        enc_text = gr.Textbox(label="encoding (above: the 28x28 input | its reconstruction)",
                                              interactive=False, elem_id="lsn-draw-out")
                        there_btn = gr.Button("go there")
        with gr.Column(visible=False):  # API-only components
            api_x, api_y, api_model = gr.JSON(label="x"), gr.JSON(label="y"), gr.JSON(label="model")
            api_image = gr.Image(format="png", type="pil", image_mode="L", label="image")
            api_file, api_encoded, api_btn = gr.File(label="image"), gr.JSON(label="encoding"), gr.Button()
        gr.HTML("", head=f"<style>{CSS}</style>", js_on_load=JS, elem_id="lsn-hook")

        model_in = [model]
        pos = [x, y, digit, ztext]
        map_in = [model, overlays, path, samples, drawing]
        redraw = dict(fn=map_figure, inputs=map_in, outputs=plot, show_progress="hidden", **ui)

        demo.load(**redraw).then(show, [x, y, model], [digit, ztext], **ui)
        # Dragging decodes on every .input (user moves only; programmatic updates don't fire it);
        # the figure is not resent: the JS .change listener moves the marker in the browser.
        # preprocess=False: show() checks and clamps x, y itself, whatever the sliders' range.
        gr.on([x.input, y.input], show, [x, y, model], [digit, ztext], trigger_mode="always_last",
              show_progress="hidden", queue=False, preprocess=False, api_name="show",
              api_visibility="undocumented")
        gr.on([x.change, y.change], None, [x, y], None,
              js="(x, y) => { window.lsnMark && window.lsnMark(x, y); }")
        rand.click(ui_random, [seed, model], pos + [seed], show_progress="hidden", **ui)
        for i, b in enumerate(jumps):
            b.click(lambda m, i=i: go_to(*jump(i, m), m), model_in, pos, show_progress="hidden", **ui)
        morph_btn.click(ui_morph, [x, y, target, amount, animate, model], pos, show_progress="hidden", **ui)
        interp_btn.click(ui_interpolate, [start, end, steps, method, model],
                         [strip, interp_files, path, interp_caption], **ui).then(**redraw)
        sample_in = [mu_x, mu_y, sigma_x, sigma_y, n, sample_seed, model]
        draw_samples = dict(fn=ui_sample, inputs=sample_in, outputs=[sample_grid, sample_table, samples],
                            **ui)
        gr.on([s.release for s in (mu_x, mu_y, sigma_x, sigma_y, n)] + [sample_seed.submit],
              **draw_samples).then(**redraw)
        for b in presets:
            b.click(functools.partial(sample_preset, b.value), sample_in[:4] + [sample_seed],
                    sample_in[:4] + [sample_seed], **ui).then(**draw_samples).then(**redraw)
        model.change(ui_model, [model, x, y], [x, y, digit, ztext, info, target, start, end, *jumps,
                                               path, samples, drawing], **ui).then(**redraw)
        compare_btn.click(ui_compare, [x, y], [compare_digits, compare_grids], **ui)
        encoded = [pair, enc_text, drawing]
        encode_btn.click(ui_encode, [sketch, model], encoded, **ui).then(**redraw)
        upload.upload(ui_encode, [upload, model], encoded, **ui).then(**redraw)
        there_btn.click(go_to_drawing, [drawing, model], pos, **ui)
        overlays.change(**redraw)

        api_btn.click(decode, [api_x, api_y, api_model], api_image, api_name="decode")
        api_btn.click(encode, [api_file, api_model], api_encoded, api_name="encode")
        for fn, name in [(jump, "jump"), (morph, "morph"), (interpolate, "interpolate"),
                         (random_point, "random"), (sample, "sample"), (models, "models")]:
            gr.api(fn, api_name=name)
        if bench_floor:
            constant = Image.new("L", (28, 28), 128)
            api_btn.click(lambda: constant, None, api_image, api_name="floor")
    return demo


async def malformed(request, error):
    """A request body that is not {"data": [...]}: 422 naming where and what is wrong. FastAPI's
    own handler echoes each bad input back, and one holding NaN or inf cannot be written as
    JSON, so the caller got a bare 500; echoing a huge input back is no better."""
    detail = [{k: e[k] for k in ("loc", "msg", "type")} for e in error.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


def first_loadable():
    """DEFAULT_MODEL, or, when its files are missing or broken, the first shipped model that
    loads: one bad file must not take the app down. None loading raises the default's error."""
    error = None
    for name in [DEFAULT_MODEL] + [n for n in list_models() if n != DEFAULT_MODEL]:
        try:
            get_model(name)
        except gr.Error as e:
            print(f"demo.py: {e.message}", file=sys.stderr)
            error = error or e
        else:
            return name
    raise error


def positive(text):
    """argparse type: an integer >= 1."""
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def main(argv=None):
    global DEVICE
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                   help="address to listen on (env GRADIO_SERVER_NAME)")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7862)),
                   help="port (env GRADIO_SERVER_PORT)")
    p.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    p.add_argument("--model", help=f"the model shown first, a name from pretrained/ (default: "
                   f"{DEFAULT_MODEL}, or the first shipped model that loads)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    # Gradio keeps a copy of every component's config per session, 170 KiB here (measured), and
    # a REST call without a session_hash makes a new session: its default of 10,000 sessions
    # would let callers grow the server by 1.7 GB. The least recently used session goes first.
    p.add_argument("--max-sessions", type=positive, default=1000,
                   help="sessions kept in memory (about 170 KiB each)")
    p.add_argument("--bench-floor", action="store_true", help="add the /floor endpoint (bench only)")
    args = p.parse_args(argv)
    # One decode is ~1 ms of tiny ops: splitting it over threads only adds contention.
    torch.set_num_threads(1)
    try:
        DEVICE = pick_device(args.device)
        app = build_app(args.model or first_loadable(), bench_floor=args.bench_floor)
    except (ValueError, gr.Error) as e:
        raise SystemExit(f"demo.py: {getattr(e, 'message', e)}")
    # Uploads over 20 MB are refused by Gradio itself; smaller ones are checked by open_image.
    # Any request body over MAX_BODY is refused before it is read whole into memory.
    # show_error: Gradio's own refusals (too few inputs, a file outside its upload folder) then
    # carry their reason to the caller instead of {"error": null}; handlers raise gr.Error anyway.
    app.queue(default_concurrency_limit=8).launch(
        server_name=args.host, server_port=args.port, share=args.share, max_file_size="20mb",
        state_session_capacity=args.max_sessions, show_error=True,
        app_kwargs={"max_body_size": MAX_BODY,
                    "exception_handlers": {RequestValidationError: malformed}})


if __name__ == "__main__":
    main()
