"""Semantic directions in a model's latent space, for the digit attributes that morphometry.py
measures (area, length, thickness, slant, width, height):

- global: the linear regression of each attribute on z over training codes (its images
  measured), with its R^2 on the validation split: one direction per attribute for the map;
- local: the gradient at z of the attribute measured on the decoded digit (central differences
  of decodes), which an edit follows, so that it keeps to the attribute where the global line
  bends;
- the check: from starting points (class centres, then draws of the codes' spread), a step of
  +amount and of -amount; how often the measured attribute moved the right way, and how often
  the decoded digit kept its class (the vote of the 15 nearest atlas codes).

    import directions as dirs
    found = dirs.fit(model, z_train, x_train, z_val, x_val)    # {"weights", "bias", "r2"}
    z2 = dirs.edit(model, z, "thickness", +0.5)                # bolder by about half a pixel
    dirs.check(model, atlas, n=200)                            # {attribute: {right_way, kept_class}}

trainer.py stores what fit and check find with the atlas (latent_utils.save_atlas);
tests/test_directions.py checks the maths against a made-up decoder whose answers are known.
"""

import numpy as np

import latent_utils as lu
import morphometry as mm
from neural_network import decode_uint8

ATTRIBUTES = list(mm.ATTRIBUTES)
# The edit a user asks for in one click, in the attribute's unit: about a fifth of the
# attribute's spread over MNIST's training digits (its standard deviation).
AMOUNTS = {"area": 8.0, "length": 2.0, "thickness": 0.3, "slant": 0.1, "width": 1.0,
           "height": 0.5}
MAX_AMOUNT = 5  # an edit of more than MAX_AMOUNT clicks at once is refused: far from linear
STEP = 0.15  # the central differences' half-step, in units of the codes' standard deviation
MOVE = 0.5  # the longest move of one edit, in the same units (see along)
K = 15  # the class vote, as the page's z text
SUBSTEPS = 3  # an edit's moves, each along the gradient where the last ended


def measure_decoded(model, z):
    """[N, D] codes -> [N, 6] attributes of the decoded digits (NaN for a blank decode)."""
    return mm.measure_many(decode_uint8(model, z), blank=np.nan)


def fit(z_train, attrs_train, z_val, attrs_val):
    """Least squares attribute = weights . z + bias on the training codes -> {"weights" [6, D],
    "bias" [6], "r2" [6] on the validation codes}. Rows with a NaN attribute are left out."""
    z_train, z_val = np.asarray(z_train, np.float64), np.asarray(z_val, np.float64)
    weights, bias, r2 = [], [], []
    for j in range(len(ATTRIBUTES)):
        ok = np.isfinite(attrs_train[:, j])
        a = np.c_[z_train[ok], np.ones(ok.sum())]
        coef = np.linalg.lstsq(a, attrs_train[ok, j], rcond=None)[0]
        weights.append(coef[:-1])
        bias.append(coef[-1])
        ok = np.isfinite(attrs_val[:, j])
        truth, guess = attrs_val[ok, j], z_val[ok] @ coef[:-1] + coef[-1]
        r2.append(1 - ((truth - guess) ** 2).sum() / ((truth - truth.mean()) ** 2).sum())
    return {"weights": np.array(weights), "bias": np.array(bias), "r2": np.array(r2)}


def jacobian(model, z, scale=1.0):
    """d attributes / d z of the decoded digit at z -> [6, D], by central differences with a
    half-step of STEP * scale (scale: the codes' standard deviation)."""
    z = np.asarray(z, np.float64).reshape(-1)
    h = STEP * scale
    probes = np.concatenate([z + h * np.eye(len(z)), z - h * np.eye(len(z))])
    m = measure_decoded(model, probes)
    return ((m[:len(z)] - m[len(z):]) / (2 * h)).T


def edit(model, z, attribute, amount, scale=1.0, substeps=None):
    """z moved so that `attribute` of the decoded digit changes by about `amount` (its unit):
    SUBSTEPS moves along the local gradient (see along), each re-measured where the last ended,
    so the path bends with the attribute -> [D] array."""
    return edit_path(model, z, attribute, amount, scale, substeps)[-1]


def edit_path(model, z, attribute, amount, scale=1.0, substeps=None):
    """edit's way there: z, then where each of its moves ended -> [substeps + 1, D] array."""
    path = [np.asarray(z, np.float64).reshape(-1)]
    j, n = ATTRIBUTES.index(attribute), substeps or SUBSTEPS
    for _ in range(n):
        path.append(along(path[-1], jacobian(model, path[-1], scale)[j], amount / n, scale / n))
    return np.array(path)


def local_moves(model, z, scale=1.0):
    """The move of one click's edit of each attribute (AMOUNTS[a] along its local gradient, a
    single move, see along) from z, with the digit's measured attributes there -> ({attribute:
    [D] move}, {attribute: value}); a blank decode measures NaN and moves 0."""
    z = np.asarray(z, np.float64).reshape(-1)
    grads = jacobian(model, z, scale)
    measured = measure_decoded(model, z[None])[0]
    moves = {a: along(z, grads[j], AMOUNTS[a], scale) - z for j, a in enumerate(ATTRIBUTES)}
    return moves, dict(zip(ATTRIBUTES, measured.tolist()))


def spread(atlas):
    """The codes' typical spread (the mean of their per-dimension standard deviations): the unit
    of STEP and MOVE."""
    return float(atlas["mu"].std(0).mean())


def reliable(figures):
    """An attribute's checked edits pass (check's figures): at least 90 % went the right way
    and 80 % kept their class, the bar the issue set."""
    return figures["right_way"] >= 0.9 and figures["kept_class"] >= 0.8


def along(z, g, amount, scale=1.0):
    """z + amount * g / |g|^2: the shortest move after which an attribute of gradient g, were
    it linear, would have changed by `amount`; at most MOVE * scale long, so a flat attribute
    does not fling z far off the data. z itself where g is flat or undefined (a blank decode)."""
    if not np.isfinite(g).all() or not g.any():
        return z
    move = amount * g / (g @ g)
    return z + move * min(1.0, MOVE * scale / np.linalg.norm(move))


def starting_points(atlas, n, seed=0):
    """The class centres, then draws from N(mean, cov) of the atlas codes, n in all -> [n, D]."""
    mu = atlas["mu"].numpy().astype(np.float64)
    draws = np.random.default_rng(seed).multivariate_normal(
        mu.mean(0), np.cov(mu, rowvar=False), size=max(n - len(atlas["centres"]), 0))
    return np.concatenate([atlas["centres"].numpy(), draws])[:n]


def check(model, atlas, n=200, seed=0):
    """From n starting points, an edit of +AMOUNTS[a] and of -AMOUNTS[a] per attribute a ->
    {a: {"right_way": share of edits whose measured change has the asked sign, "kept_class":
    share whose class vote stayed, "edits": how many}}. A start that decodes blank counts as
    a failure of both."""
    starts = starting_points(atlas, n, seed)
    scale = spread(atlas)
    before = measure_decoded(model, starts)
    votes = lu.knn_predict(atlas["mu"], atlas["labels"], starts, K).numpy()
    right = {a: [] for a in ATTRIBUTES}
    kept = {a: [] for a in ATTRIBUTES}
    for z, m0, c in zip(starts, before, votes):
        ends = [edit(model, z, a, sign * AMOUNTS[a], scale)
                for a in ATTRIBUTES for sign in (1, -1)]
        after = measure_decoded(model, np.array(ends))
        classes = lu.knn_predict(atlas["mu"], atlas["labels"], np.array(ends), K).numpy()
        for i, (a, sign) in enumerate((a, s) for a in ATTRIBUTES for s in (1, -1)):
            change = (after[i] - m0)[ATTRIBUTES.index(a)]
            right[a].append(bool(np.isfinite(change) and np.sign(change) == sign))
            kept[a].append(bool(classes[i] == c))
    return {a: {"right_way": float(np.mean(right[a])), "kept_class": float(np.mean(kept[a])),
                "edits": len(right[a])} for a in ATTRIBUTES}
