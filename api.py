"""The app's API endpoints, plain values in and out: each function is the endpoint of its name
(random_point is /random), callable without a server. Every argument goes through checks.py, so
a bad one is refused with a message naming it; x and y are clamped to the model's extent.

    import api
    api.decode(0.5, -1.0)                     # a 28x28 grey PIL image
    api.jump("Sneaker", "fashion_vae_beta4")  # [x, y] of that class centre

demo.py registers them (gr.api and the hidden API components). Tested directly in
tests/test_demo_handlers.py and through a live server in tests/test_demo_server.py and
tests/test_fuzz.py.
"""

import gradio as gr
import numpy as np
import torch
from PIL import Image

import checks
import directions as dirs
import latent_utils as lu
import morphometry as mm
from checks import MAX_SAMPLES, MAX_SEED, MAX_STEPS, Refused, class_index, integer, number, prepared, shown
from neural_network import decode_uint8, encode_all
from store import STORE

FLOOR = Image.new("L", (28, 28), 128)  # /floor's constant answer (bench only)


def encoded(lm, x):
    """x [28, 28] in [0, 1] -> (mu, sigma) as lists; an AE's sigma is 0."""
    with torch.inference_mode():
        mu, sigma = encode_all(lm.model, torch.as_tensor(x)[None, None])
    return mu[0].tolist(), sigma[0].tolist()


def decode(x=None, y=None, model=None, z=None):
    """The decoded digit at z (latent_dim numbers; x and y for a 2-D model) as a 28x28 grey
    image; z clamped to the extent."""
    lm = STORE.get(model)
    return Image.fromarray(decode_uint8(lm.model, [checks.latent(lm, z, x, y)])[0])


def jump(digit: int | str, model: str | None = None) -> list[float]:
    """z of a class centre (digit: class index or name), latent_dim numbers."""
    lm = STORE.get(model)
    return lm.centres[class_index(lm, digit)].tolist()


def morph(x: float | None = None, y: float | None = None, digit: int | str = 0, amount: float = 0.25,
          model: str | None = None, z: list[float] | None = None) -> list[float]:
    """The point `amount` (0..1) of the way from z (x, y for a 2-D model) to the centre of
    class `digit`."""
    lm = STORE.get(model)
    target = lm.centres[class_index(lm, digit)]
    return lu.morph(checks.latent(lm, z, x, y), target, number(amount, "amount", 0, 1)).tolist()


def interpolate(digit_a: int | str, digit_b: int | str, steps: int, method: str = "linear",
                model: str | None = None) -> list[list[float]]:
    """`steps` (2-64) codes from class a's centre to class b's; method 'linear' or 'spherical'
    (an autoencoder's turns about its codes' mean: it has no N(0, I) prior)."""
    lm = STORE.get(model)
    a, b = class_index(lm, digit_a, "digit_a"), class_index(lm, digit_b, "digit_b")
    steps = integer(steps, "steps", 2, MAX_STEPS)
    try:
        centre = lu.turn_centre(lm.atlas["mu"], lm.has_prior)
        path = lu.latent_path(lm.centres[a], lm.centres[b], steps, method, centre)
    except (ValueError, TypeError):  # TypeError: a method that is a list or a dict (unhashable)
        raise Refused(f"method must be 'linear' or 'spherical', not {shown(method)}") from None
    return path.tolist()


def random_point(seed: int = 0, model: str | None = None) -> list[float]:
    """A code drawn from the prior N(0, I), latent_dim numbers, reproducible by seed."""
    lm = STORE.get(model)
    return np.random.default_rng(integer(seed, "seed", 0, MAX_SEED)).standard_normal(lm.dim).tolist()


def sample(mu_x: float | None = None, mu_y: float | None = None, sigma_x: float | None = None,
           sigma_y: float | None = None, n: int = 16, seed: int = 0, model: str | None = None,
           mu: list[float] | None = None, sigma: list[float] | None = None) -> list[list[float]]:
    """n (1-256) codes z = mu + sigma * eps, eps ~ N(0, I); sigma 0 repeats mu exactly. mu and
    sigma as lists of latent_dim numbers, or for a 2-D model as mu_x, mu_y, sigma_x, sigma_y."""
    lm = STORE.get(model)
    mu = np.array(per_dimension(lm, "mu", mu, (mu_x, mu_y), -3, 3))
    sigma = np.array(per_dimension(lm, "sigma", sigma, (sigma_x, sigma_y), 0, 2))
    eps = np.random.default_rng(integer(seed, "seed", 0, MAX_SEED)).standard_normal(
        (integer(n, "n", 1, MAX_SAMPLES), lm.dim))
    return (mu + sigma * eps).tolist()


def per_dimension(lm, name, values, xy, lo, hi):
    """A list of latent_dim numbers in [lo, hi] named `name`, or for a 2-D model its two
    per-axis values `xy` (name_x, name_y)."""
    if values is None:
        if lm.dim != 2 or None in xy:
            raise Refused(f"give {name}, a list of {lm.dim} numbers"
                          + (f", or {name}_x and {name}_y" if lm.dim == 2 else ""))
        return [number(v, f"{name}_{a}", lo, hi) for v, a in zip(xy, "xy")]
    if not isinstance(values, (list, tuple)) or len(values) != lm.dim:
        raise Refused(f"{name} must be a list of {lm.dim} numbers ({lm.name}'s latent size), "
                      f"not {shown(values)}")
    return [number(v, f"{name}[{i}]", lo, hi) for i, v in enumerate(values)]


def encode(image, model=None):
    """{"mu": [..], "sigma": [..]} of an image prepared as MNIST (see images.mnist_style)."""
    mu, sigma = encoded(STORE.get(model), prepared(image))
    return {"mu": mu, "sigma": sigma}


def attributes(model: str | None = None) -> list[dict]:
    """The digit attributes a position can be edited along, for one model: each one's name,
    unit, one click's amount and the most one edit takes, its global direction (the regression
    attribute = weights . z + bias over training codes, R^2 on validation codes) and the check of
    its local edits (right_way, kept_class, edits, reliable), as in the model card."""
    lm = STORE.get(model)
    found = lm.atlas.get("directions")
    if found is None:
        raise Refused(f"{lm.name}'s atlas holds no semantic directions: rebuild it with "
                      f"python trainer.py --atlas-only --model {lm.name}")
    return [{"name": a, "unit": mm.ATTRIBUTES[a], "step": dirs.AMOUNTS[a],
             "max_amount": dirs.MAX_AMOUNT * dirs.AMOUNTS[a],
             "weights": found["weights"][j].tolist(), "bias": float(found["bias"][j]),
             **{k: v for k, v in found["table"][a].items() if k not in ("unit", "amount")}}
            for j, a in enumerate(dirs.ATTRIBUTES)]


def edit_path(lm, z, attribute, amount):
    """The checked edit from z: its way there, each point clamped to the model's extent."""
    path = dirs.edit_path(lm.model, z, checks.attribute(attribute),
                          checks.amount(amount, attribute), dirs.spread(lm.atlas))
    return [checks.latent(lm, p.tolist()) for p in path]


def edit(z: list[float] | None = None, attribute: str | None = None, amount: float | None = None,
         model: str | None = None, x: float | None = None, y: float | None = None) -> list[float]:
    """The position after an edit that changes `attribute` of the decoded digit by about
    `amount` (in its unit, at most 5 clicks of /attributes' step either way), following the
    attribute's local direction: z in and out as latent_dim numbers (x and y for a 2-D model)."""
    lm = STORE.get(model)
    return edit_path(lm, checks.latent(lm, z, x, y), attribute, amount)[-1]


def measure(image=None, z=None, x=None, y=None, model=None):
    """{attribute: value} of an image prepared as MNIST (see images.mnist_style), or else of the
    digit decoded at z (x and y for a 2-D model); a blank one is refused."""
    lm = STORE.get(model)
    if image is None:
        image = decode_uint8(lm.model, [checks.latent(lm, z, x, y)])[0]
    else:
        image = prepared(image)
    return checks.measured(image)


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
    for name in sorted(STORE.names(), key=lambda n: n != STORE.default):
        try:
            cards.append(model_card(name))
        except gr.Error as e:
            cards.append({"name": name, "error": e.message})
    return cards


def floor():
    """/floor (bench only): a constant 28x28 image, Gradio's own cost for such an endpoint."""
    return FLOOR
