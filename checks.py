"""The app's input checks: every value a caller or the page sends goes through these, so each bad
input has one message naming it (a gr.Error that is not logged with a traceback). The lower
layers' ValueError and ImageError are turned into that error here, with their own text.

    checks.number("1.5", "x")            # Refused: x must be a number, not '1.5'
    checks.number(checks.parsed("1.5", "x"), "x", -3, 3)   # 1.5: text (a query, the address)
    checks.integer(7, "steps", 2, 64)    # 7

The one number parser for text (the image API's query, the page's address) is parsed(); the
API takes numbers as JSON gives them. Imported by store.py and everything above it; tested in
tests/test_demo_handlers.py and through a live server in tests/test_fuzz.py.
"""

import math
import threading
from pathlib import Path

import gradio as gr
import gradio.utils as gr_utils
import numpy as np

import data
import directions as dirs
import images
import morphometry as mm

MAX_STEPS, MAX_SAMPLES, MAX_SEED = 64, 256, 2**32 - 1


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


def parsed(text, name):
    """A number written as text (a query parameter, the address) as a float; its other checks,
    finite and in range, are number()'s."""
    try:
        return float(text)
    except (TypeError, ValueError):
        raise Refused(f"{name} must be a number, not {shown(text)}") from None


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


def class_index(lm, digit, name="digit"):
    """A class index from an index (7, 7.0) or a class name ('7', 'Sneaker'): data.class_index,
    its ValueError as a gr.Error."""
    try:
        return data.class_index(lm.classes, digit, name)
    except ValueError as e:
        raise Refused(str(e)) from None


def axis_name(lm, i):
    """What axis i of z is called on the page and in messages: x and y in 2-D, else z1, z2, ..."""
    return "xy"[i] if lm.dim == 2 else f"z{i + 1}"


def clamp(lm, z):
    """z (latent_dim numbers) as floats, each clamped to the model's extent on its axis."""
    e = lm.extent
    return [min(max(number(v, axis_name(lm, i)), e[2 * i]), e[2 * i + 1]) for i, v in enumerate(z)]


def clamp_xy(lm, x, y):
    """(x, y) of a 2-D model as numbers, clamped to its extent."""
    return tuple(clamp(lm, [x, y]))


def position(value, lm):
    """The navigator's value (main_view.py: z as a list, or {"z": z, "path": ...} while the
    page plays a path) as a list of latent_dim numbers, clamped to the model's extent."""
    z = value.get("z") if isinstance(value, dict) else value
    if not isinstance(z, (list, tuple)) or len(z) != lm.dim:
        raise Refused(f"position must be a list of {lm.dim} numbers, not {shown(value)}")
    return clamp(lm, z)


def latent(lm, z=None, x=None, y=None):
    """A position as a list of the model's latent_dim numbers: z, or for a 2-D model x and y,
    clamped to its extent as everywhere; a z of the wrong length, holding NaN or text, or
    neither z nor x and y, is refused by name."""
    d = lm.dim
    if z is None:
        if d != 2 or (x is None and y is None):
            raise Refused(f"give z, a list of {d} numbers" + (", or x and y" if d == 2 else ""))
        return clamp(lm, [x, y])
    if not isinstance(z, (list, tuple)) or len(z) != d:
        raise Refused(f"z must be a list of {d} numbers ({lm.name}'s latent size), not {shown(z)}")
    return clamp(lm, [number(v, f"z[{i}]") for i, v in enumerate(z)])


def attribute(name):
    """A digit attribute's name (morphometry.ATTRIBUTES)."""
    if not isinstance(name, str) or name not in mm.ATTRIBUTES:
        raise Refused(f"attribute must be one of {', '.join(mm.ATTRIBUTES)}, not {shown(name)}")
    return name


def amount(value, attribute):
    """An edit's amount, in the attribute's unit, within MAX_AMOUNT clicks either way."""
    most = dirs.MAX_AMOUNT * dirs.AMOUNTS[attribute]
    return number(value, f"amount ({attribute}, in {mm.ATTRIBUTES[attribute]})", -most, most)


def measured(image):
    """morphometry.measure's attributes of a 28x28 image, {attribute: value}; a blank image is
    refused by name."""
    try:
        return {a: float(v) for a, v in mm.measure(image).items()}
    except mm.BlankImage as e:
        raise Refused(str(e)) from None


def clamp_note(lm, i, given):
    """The toast naming a clamp when `given` on axis i lies outside the model's extent; None
    when it lies inside."""
    lo, hi = lm.extent[2 * i:2 * i + 2]
    if lo <= given <= hi:
        return None
    return (f"{axis_name(lm, i)} = {given:g} is outside {lm.name}'s range {lo:g}..{hi:g}: "
            f"set to {min(max(given, lo), hi):g}")


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
