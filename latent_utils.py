"""Pure functions on latent codes: class centres, lerp/slerp paths, morph, grids, k-NN votes and
accuracy, and the atlas (encoded test set + centres + extent) saved beside each model in
pretrained/. Tensors or arrays in, float32 tensors out; no model, no images, no UI.

    import latent_utils as lu
    path = lu.slerp(z0, z1, steps=16)           # [16, d], path[0] == z0, path[-1] == z1
    path = lu.latent_path(z0, z1, 16, "spherical")   # the same, by the method's name
    atlas = lu.load_atlas("mnist_vae_beta4")    # dict: mu, sigma, labels, centres, extent, ...

Tested in tests/test_latent_utils.py (`pytest tests/test_latent_utils.py`).
"""

from pathlib import Path

import numpy as np
import torch

from neural_network import CheckpointError, load_checkpoint, model_path, save_checkpoint, sibling


def _as_tensor(z):
    return torch.as_tensor(np.asarray(z) if not torch.is_tensor(z) else z, dtype=torch.float64)


def _check_steps(steps):
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"steps must be an integer >= 2, not {steps!r}")


def lerp(z0, z1, steps):
    """Straight line from z0 to z1 in `steps` points (both ends included, exactly)."""
    _check_steps(steps)
    z0, z1 = _as_tensor(z0), _as_tensor(z1)
    t = torch.linspace(0, 1, steps, dtype=torch.float64)[:, None]
    path = (1 - t) * z0 + t * z1
    path[0], path[-1] = z0, z1
    return path.float()


def slerp(z0, z1, steps):
    """Spherical path: the direction turns at a constant rate along the great circle from z0's
    direction to z1's, while the norm goes linearly from |z0| to |z1| (so equal norms stay
    equal, the usual reason to prefer slerp for Gaussian latents: White 2016, "Sampling
    Generative Networks"). Well-defined for every pair:
    - identical or parallel directions, or a zero vector: no angle to turn, the path is lerp;
    - anti-parallel: every great circle fits, so it turns through the axis least aligned with z0.
    Both ends are exact."""
    _check_steps(steps)
    z0, z1 = _as_tensor(z0), _as_tensor(z1)
    r0, r1 = z0.norm(), z1.norm()
    if r0 == 0 or r1 == 0:
        return lerp(z0, z1, steps)
    u0, u1 = z0 / r0, z1 / r1
    cos = torch.clamp(u0 @ u1, -1.0, 1.0)
    omega = torch.arccos(cos)
    if omega < 1e-7:
        return lerp(z0, z1, steps)
    # An orthonormal partner v of u0 in the plane of the turn: u1's part orthogonal to u0, or,
    # when u1 = -u0 gives no such part, the coordinate axis least aligned with u0.
    v = u1 - cos * u0
    if v.norm() < 1e-7:
        v = torch.zeros_like(u0)
        v[torch.argmin(u0.abs())] = 1.0
        v = v - (v @ u0) * u0
    v = v / v.norm()
    t = torch.linspace(0, 1, steps, dtype=torch.float64)[:, None]
    direction = torch.cos(t * omega) * u0 + torch.sin(t * omega) * v
    path = ((1 - t) * r0 + t * r1) * direction
    path[0], path[-1] = z0, z1
    return path.float()


METHODS = {"linear": lerp, "spherical": slerp}


def turn_centre(mu, has_prior):
    """What a spherical path of a model turns about: a VAE's prior mean, the origin (None); an
    autoencoder has no prior, so the mean of its codes mu."""
    return None if has_prior else _as_tensor(mu).mean(0)


def latent_path(z0, z1, steps, method="linear", centre=None):
    """lerp or slerp by name ("linear" or "spherical"); slerp turns about `centre` (None: the
    origin, a VAE's prior mean; an autoencoder has no prior, so about its codes' mean)."""
    if method not in METHODS:
        raise ValueError(f"method must be 'linear' or 'spherical', not {method!r:.60}")
    if centre is None or method == "linear":
        return METHODS[method](z0, z1, steps)
    c = _as_tensor(centre)
    return (slerp(_as_tensor(z0) - c, _as_tensor(z1) - c, steps).double() + c).float()


def morph(z, target, amount):
    """The point `amount` of the way from z to target (0: z, 1: target)."""
    amount = float(amount)
    if not 0.0 <= amount <= 1.0:  # also refuses NaN
        raise ValueError(f"amount must be in [0, 1], not {amount}")
    z, target = _as_tensor(z), _as_tensor(target)
    return (z + amount * (target - z)).float()


def grid(extent, n, spacing="linear"):
    """An n x n grid of 2-D codes over extent (xmin, xmax, ymin, ymax), [n*n, 2], row-major from
    the top row (largest y) so that it tiles into an image as a person reads it.
    spacing="normal" places the points at equal prior probability mass instead: the inverse
    normal CDF of evenly spaced quantiles, scaled so the outermost point meets the extent (as in
    the Keras VAE example's plot_latent_space)."""
    if n < 2:
        raise ValueError(f"grid needs n >= 2, not {n}")
    xmin, xmax, ymin, ymax = (float(e) for e in extent)
    if spacing == "linear":
        xs, ys = torch.linspace(xmin, xmax, n), torch.linspace(ymax, ymin, n)
    elif spacing == "normal":
        q = torch.linspace(0.5 / n, 1 - 0.5 / n, n, dtype=torch.float64)
        s = torch.special.ndtri(q) / torch.special.ndtri(q[-1])  # in [-1, 1]
        xs = ((xmin + xmax) / 2 + s * (xmax - xmin) / 2).float()
        ys = ((ymin + ymax) / 2 - s * (ymax - ymin) / 2).float()
    else:
        raise ValueError(f"spacing must be 'linear' or 'normal', not {spacing!r}")
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], dim=1)


def class_centres(mu, labels, num_classes=10, k=50, max_candidates=400, accept=None):
    """One code per class that sits where that class is dense AND unmixed, [num_classes, d].
    The mean of a class's codes can fall in a gap or on another class (a 2-D latent space
    wraps classes around each other), so for each candidate code of the class we measure the
    class density there (Gaussian KDE, Scott's bandwidth) and the class's share among its k
    nearest codes of all classes;
    keep the candidates whose share is within 0.05 of the best, and take the densest of them:
    a density mode, restricted to the region the class owns most clearly.
    accept(c, candidates) -> bool mask, when given, rules candidates out first (the trainer
    passes "its decode re-encodes among class c"); if it accepts none, it is ignored."""
    mu, labels = _as_tensor(mu), torch.as_tensor(np.asarray(labels)).long()
    gen = torch.Generator().manual_seed(0)
    centres = []
    for c in range(num_classes):
        own = mu[labels == c]
        if len(own) == 0:
            raise ValueError(f"class {c} has no codes; cannot place its centre")
        cand = own[torch.randperm(len(own), generator=gen)[:max_candidates]]
        d = own.shape[1]
        h = own.std(0).mean() * len(own) ** (-1 / (d + 4))  # Scott's rule
        log_density = torch.logsumexp(-torch.cdist(cand, own).pow(2) / (2 * h * h), dim=1)
        nearest = torch.cdist(cand, mu).topk(min(k, len(mu)), largest=False).indices
        share = (labels[nearest] == c).double().mean(1)
        if accept is not None:
            ok = torch.as_tensor(accept(c, cand.float()), dtype=torch.bool)
            share = torch.where(ok, share, share - 2) if ok.any() else share
        # Purity first (within 5 points of the purest candidate), then the densest of those.
        pure = share >= share.max() - 0.05
        centres.append(cand[torch.argmax(torch.where(pure, log_density, -torch.inf))])
    return torch.stack(centres).float()


def knn_votes(ref_z, ref_labels, z, k=5, num_classes=None, chunk=1024):
    """[N, num_classes]: how many of each z's k nearest reference codes carry each label."""
    ref_z = torch.as_tensor(ref_z).float()
    z = torch.as_tensor(z).float().reshape(-1, ref_z.shape[1])
    ref_labels = torch.as_tensor(ref_labels).long()
    num_classes = num_classes or int(ref_labels.max()) + 1
    out = []
    for i in range(0, len(z), chunk):
        idx = torch.cdist(z[i:i + chunk], ref_z).topk(k, largest=False).indices
        out.append(torch.nn.functional.one_hot(ref_labels[idx], num_classes).sum(1))
    return torch.cat(out)


def knn_distance(ref_z, z, k=15, chunk=1024):
    """[N]: the distance from each z to its k-th nearest reference code."""
    ref_z = torch.as_tensor(ref_z).float()
    z = torch.as_tensor(z).float().reshape(-1, ref_z.shape[1])
    return torch.cat([torch.cdist(z[i:i + chunk], ref_z).topk(k, largest=False).values[:, -1]
                      for i in range(0, len(z), chunk)])


def nearness(mu, k=15, n=2000):
    """How near its neighbours a code typically lies: the median and the 99th percentile, over
    the first n codes, of the distance to their k-th nearest other code. A z farther from its
    k-th nearest code than the 99th percentile lies off the data."""
    d = knn_distance(mu, torch.as_tensor(mu)[:n], k + 1)  # k + 1: each code is its own nearest
    return {"k": k, "median": float(d.median()), "p99": float(torch.quantile(d.double(), 0.99))}


def knn_predict(ref_z, ref_labels, z, k=5):
    """Majority label of each z's k nearest reference codes (ties: the smaller label)."""
    return knn_votes(ref_z, ref_labels, z, k).argmax(1)


def knn_accuracy(ref_z, ref_labels, z, labels, k=5):
    """Share of z whose k-NN label among the reference codes is their own label."""
    pred = knn_predict(ref_z, ref_labels, z, k)
    return float((pred == torch.as_tensor(labels).long()).double().mean())


def extent(mu, pad=0.1, q=0.005):
    """[lo1, hi1, lo2, hi2, ...] per dimension of the codes: all but the outer 0.5 % of codes,
    padded by 10 % of the span: the sliders' ranges (and, in 2-D, the map's view)."""
    mu = torch.as_tensor(mu).double()
    lo, hi = torch.quantile(mu, q, dim=0), torch.quantile(mu, 1 - q, dim=0)
    span = hi - lo
    lo, hi = lo - pad * span, hi + pad * span
    return [float(v) for pair in zip(lo, hi) for v in pair]


def plane(mu, through=None):
    """A plane through latent space for the map -> (origin [D], basis [D, 2] with orthonormal
    columns, share): by default the plane of the codes' first two principal components through
    their mean; `through` three points (class centres, say): the plane through them, origin the
    first. share is the part of the codes' variance that lies along the plane. A 2-D latent is
    its own plane: origin 0, basis I, share 1, so map coordinates are z itself."""
    mu = torch.as_tensor(mu).double()
    d = mu.shape[1]
    if d == 2 and through is None:
        origin, basis = torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)
    elif through is None:
        origin = mu.mean(0)
        basis = torch.linalg.svd(mu - origin, full_matrices=False)[2][:2].T
    else:
        a, b, c = (_as_tensor(t) for t in through)
        basis, r = torch.linalg.qr(torch.stack([b - a, c - a], 1))
        if d < 2 or r.diagonal().abs().min() < 1e-9 * max(1.0, float(r.abs().max())):
            raise ValueError("the three points lie on a line: they span no plane")
        origin = a
    centred = mu - mu.mean(0)
    share = float(((centred @ basis) ** 2).sum() / (centred ** 2).sum())
    return origin.float(), basis.float(), share


def project(z, origin, basis):
    """Codes [N, D] -> their map coordinates [N, 2] on the plane (origin, basis): the
    coordinates of their orthogonal projection onto it."""
    return ((_as_tensor(z) - _as_tensor(origin)) @ _as_tensor(basis)).float()


def atlas_path(model_name_or_path=None) -> Path:
    return sibling(model_path(model_name_or_path), ".atlas.safetensors")


def save_atlas(path, mu, sigma, labels, centres, classes, dataset, directions=None):
    """directions (optional): {"weights" [A, D], "bias" [A], "table": {attribute: figures}}, the
    semantic directions of directions.py, kept as tensors directions.weights/.bias and meta."""
    # a larger latent's sigma in float16 (read by no part of the app; it keeps pretrained/ within
    # its 45 MB); mu, which the app reads, in float32
    sigma = torch.as_tensor(sigma).float()
    tensors = {"mu": torch.as_tensor(mu).float(), "sigma": sigma if sigma.shape[1] == 2 else sigma.half(),
               "labels": torch.as_tensor(labels).to(torch.uint8),
               "centres": torch.as_tensor(centres).float()}
    meta = {"classes": list(classes), "dataset": dataset, "extent": extent(mu)}
    if directions is not None:
        tensors.update({f"directions.{k}": torch.as_tensor(np.asarray(directions[k])).float()
                        for k in ("weights", "bias")})
        meta["directions"] = directions["table"]
    save_checkpoint(path, tensors, meta)


MAP_POINTS = 3000  # the test codes the map draws (the first of the test split), whose images ship


def test_images_path(dataset):
    """pretrained/DATASET.test_images.safetensors (its dot keeps it off the list of models)."""
    return model_path(f"{dataset}.test_images")


def save_test_images(dataset, x):
    """The images behind the map's dots, uint8 [MAP_POINTS, 28, 28], the page's dot cards."""
    save_checkpoint(test_images_path(dataset), {"images": torch.as_tensor(x).to(torch.uint8)},
                    {"dataset": dataset})


def load_test_images(dataset):
    """-> uint8 tensor [MAP_POINTS, 28, 28]: the first test images of `dataset`."""
    tensors, _ = load_checkpoint(test_images_path(dataset))
    return tensors["images"]


def load_atlas(model_name_or_path=None):
    """-> dict(mu, sigma, labels, centres as tensors; classes, dataset, extent; and, where the
    atlas has them, directions: {"weights", "bias", "table"}) of a model."""
    path = atlas_path(model_name_or_path)
    tensors, meta = load_checkpoint(path)
    missing = {"mu", "sigma", "labels", "centres"} - set(tensors)
    if missing or "extent" not in meta:
        raise CheckpointError(f"{path}: not an atlas (missing {sorted(missing) or ['extent']})")
    atlas = {k: v for k, v in tensors.items() if not k.startswith("directions.")}
    atlas.update({**meta, "labels": tensors["labels"].long()})
    if "directions" in meta:
        atlas["directions"] = {"weights": tensors["directions.weights"],
                               "bias": tensors["directions.bias"], "table": meta["directions"]}
    return atlas

