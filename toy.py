"""The 2-D toy part of the VAE course: three small data sets, and the figures of a ToyVAE (an MLP
VAE with a Gaussian decoder, neural_network.py) trained on each by trainer.py.

    python trainer.py --dataset toy1             # -> runs/toy1.safetensors, .log.jsonl, ...
    python toy.py --out docs/figures/toy         # the figures of runs/toy{1,2,3}.safetensors
    python toy.py --out /tmp/toy --models runs/toy3.safetensors

The data (toy_data, toy_split) are pure functions of (name, size, seed), so the trainer, the
tests and the figures all see the same points. Writes into OUT:
    curves.png    train / validation / test -ELBO, KL and Gaussian NLL per epoch, a row a model
    samples.png   the test data, samples x ~ N(mu_x(z), sigma_x(z)^2) with z ~ N(0, I), and the
                  decoder means mu_x(z) alone (no decoder noise), a row a model
    latent.png    the test set's codes (mu of q(z|x)) coloured by label (toy3: blob, blob, ring)
"""

import argparse
import math
import sys
from pathlib import Path

import torch

from neural_network import CheckpointError, load_model, reparameterize

DATASETS = ("toy1", "toy2", "toy3")
# Fixed splits, each drawn with its own seed: the validation split picks the best epoch and
# stops training early, the test split is only reported.
SPLITS = {"train": (10_000, 0), "val": (2_000, 1), "test": (2_000, 2)}  # (size, seed)

# toy1: an axis-aligned Gaussian N(MEAN, diag(STD^2)), its standard deviations 5:1.
# toy2: the same points rotated by 45 degrees about MEAN: covariance R diag(STD^2) R^T.
MEAN, STD = (1.0, 2.0), (1.0, 0.2)
# toy3, a face: each point's label is drawn uniformly from {0, 1, 2}. Labels 0 and 1 are round
# Gaussian blobs (the eyes) at BLOBS with standard deviation BLOB_STD; label 2 is the lower half
# of a ring (the mouth) about the origin: angle uniform in [pi, 2 pi], radius N(RADIUS, RING_STD^2).
BLOBS, BLOB_STD = ((-1.0, 1.0), (1.0, 1.0)), 0.25
RADIUS, RING_STD = 2.0, 0.1


def rotation(degrees):
    """The 2 x 2 matrix that turns a column vector by `degrees` counter-clockwise."""
    a = math.radians(degrees)
    return torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])


def toy_data(name, n, seed):
    """-> (x [n, 2] float32, labels [n] int64) of toy1, toy2 or toy3 (defined above); toy1 and
    toy2 label every point 0. The same (n, seed) gives toy2 exactly toy1's points rotated."""
    gen = torch.Generator().manual_seed(seed)
    eps = torch.randn(n, 2, generator=gen)
    if name in ("toy1", "toy2"):
        x = eps * torch.tensor(STD)
        if name == "toy2":
            x = x @ rotation(45).T
        return x + torch.tensor(MEAN), torch.zeros(n, dtype=torch.int64)
    if name != "toy3":
        raise ValueError(f"toy data set must be one of {', '.join(DATASETS)}, not {name!r}")
    labels = torch.randint(3, (n,), generator=gen)
    angle = math.pi * (1 + torch.rand(n, generator=gen))
    radius = RADIUS + RING_STD * eps[:, :1]
    ring = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    blob = torch.tensor(BLOBS)[labels.clamp(max=1)] + BLOB_STD * eps
    return torch.where((labels == 2)[:, None], ring, blob), labels


def toy_split(name, split):
    """-> (x, labels) of the fixed 'train', 'val' or 'test' split of a toy data set."""
    return toy_data(name, *SPLITS[split])


# --- figures ------------------------------------------------------------------------------------

def get_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default="docs/figures/toy", help="folder for the PNGs")
    p.add_argument("--models", nargs="+", metavar="PATH",
                   default=[f"runs/{name}.safetensors" for name in DATASETS],
                   help="ToyVAE checkpoints written by trainer.py --dataset toy1|toy2|toy3")
    p.add_argument("--seed", type=int, default=0, help="draws the samples")
    return p.parse_args(argv)


def curves(loaded):
    """A row a model: the curves trainer.py drew beside its checkpoint, from the same log."""
    import matplotlib.pyplot as plt
    from trainer import draw_curves, sibling

    fig, axes = plt.subplots(len(loaded), 3, figsize=(12, 3 * len(loaded)), squeeze=False)
    for row, (path, (_, meta)) in zip(axes, loaded.items()):
        draw_curves(row, sibling(path, ".log.jsonl"))
        row[0].set_ylabel(meta["dataset"], fontsize=12)
    fig.tight_layout()
    return fig


@torch.no_grad()
def samples(loaded, seed):
    """A row a model: its test data, then as many samples of the model on the same axes. With
    decoder noise they should look like the data; the means alone show the decoder's manifold."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(loaded), 3, figsize=(10.5, 3.5 * len(loaded)), squeeze=False)
    gen = torch.Generator().manual_seed(seed)
    titles = ["test data", "samples x ~ N(mu_x, sigma_x^2)", "decoder means mu_x (no noise)"]
    for row, (model, meta) in zip(axes, loaded.values()):
        x, _ = toy_split(meta["dataset"], "test")
        z = torch.randn(len(x), model.config.latent_dim, generator=gen)
        mu_x, logvar_x = model.decode_params(z)
        noisy = reparameterize(mu_x, logvar_x, torch.randn(mu_x.shape, generator=gen))
        # One square window round the data for the row: equal axes keep toy1's 5:1 stretch.
        lo, hi = x.min(0).values, x.max(0).values
        half = (hi - lo).max().item() / 2 + 0.3
        xlim, ylim = [(c - half, c + half) for c in ((lo + hi) / 2).tolist()]
        for ax, points, title in zip(row, [x, noisy, mu_x], titles):
            ax.scatter(*points.T, s=1, alpha=0.5, rasterized=True)
            ax.set(xlim=xlim, ylim=ylim, aspect="equal", title=title)
            ax.grid(alpha=0.3)
        row[0].set_ylabel(meta["dataset"], fontsize=12)
    fig.suptitle(f"{len(x)} points a panel; z ~ N(0, I)")
    fig.tight_layout()
    return fig


@torch.no_grad()
def latent(loaded):
    """A panel a model: the test set's codes (mu), coloured by label, on the same window of the
    prior N(0, I), so a collapsed posterior (every mu near 0) shows as one."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(loaded), figsize=(4 * len(loaded), 4.2), squeeze=False)
    colours = plt.get_cmap("tab10").colors
    for ax, (model, meta) in zip(axes[0], loaded.values()):
        x, labels = toy_split(meta["dataset"], "test")
        mu, _ = model.encode(x)
        for c in labels.unique().tolist():
            ax.scatter(*mu[labels == c].T, s=1, color=colours[c], label=str(c), rasterized=True)
        ax.set(xlim=(-4, 4), ylim=(-4, 4), aspect="equal", xlabel="z1", ylabel="z2",
               title=meta["dataset"])
        ax.grid(alpha=0.3)
        if len(labels.unique()) > 1:
            ax.legend(title="label", markerscale=6, fontsize=8)
    fig.suptitle("test codes mu of q(z|x)")
    fig.tight_layout()
    return fig


def main(argv=None):
    args = get_args(argv)
    import matplotlib
    matplotlib.use("Agg")  # files only: no display needed
    from figures import save  # imports the trainer, which imports this file: not at the top

    try:
        loaded = {Path(p): load_model(p, "cpu") for p in args.models}
    except CheckpointError as e:
        sys.exit(f"error: {e}")
    not_toys = [str(p) for p, (_, meta) in loaded.items() if meta.get("dataset") not in DATASETS]
    if not_toys:
        sys.exit(f"error: these figures are of toy models; not {', '.join(not_toys)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = [save(curves(loaded), out / "curves.png"),
               save(samples(loaded, args.seed), out / "samples.png"),
               save(latent(loaded), out / "latent.png")]
    print("wrote", *written, sep="\n  ")


if __name__ == "__main__":
    main()
