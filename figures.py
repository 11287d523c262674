"""Write the figures of the VAE course on MNIST into one folder, for the shipped AE and the
VAEs with beta 1, 4 and 10 side by side.

    python figures.py --out docs/figures                  # MNIST test images from $LSN_DATA_DIR
    python figures.py --out /tmp/figs --spacing normal --models mnist_ae mnist_vae_beta4

Writes into OUT:
    latent_scatter.png   test digits' codes (mu, from each model's atlas) coloured by digit
    decoded_grid.png     a 12 x 12 grid of decoded codes a model: AE over [-5, 5]², VAEs [-3, 3]²
    interpolation.png    a test 0 to a test 1 in 15 steps, one row a model (MNIST test images)
    training_curves.png  -ELBO, KL and reconstruction BCE per epoch, from each NAME.log.jsonl
"""

import argparse
import json
import os
import sys
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

import latent_utils as lu
from interpolation import decode, encode, latent_path, pick_images
from neural_network import PRETRAINED, CheckpointError, list_models, load_model, pick_device
from trainer import load_data

MODELS = ["mnist_ae", "mnist_vae_beta1", "mnist_vae_beta4", "mnist_vae_beta10"]
GRID_N = 12
STEPS = 15
DPI = 100


def get_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default="docs/figures", help="folder for the PNGs")
    p.add_argument("--data-dir", default=os.environ.get("LSN_DATA_DIR", "data"),
                   help="dataset root holding MNIST/raw (env LSN_DATA_DIR)")
    p.add_argument("--spacing", choices=["linear", "normal"], default="linear",
                   help="decoded grid: evenly spaced, or at equal prior mass (inverse normal CDF)")
    p.add_argument("--models", nargs="+", choices=list_models(), default=MODELS, metavar="NAME",
                   help="MNIST models from pretrained/")
    p.add_argument("--points", type=int, default=3000, help="test digits drawn per scatter panel")
    p.add_argument("--seed", type=int, default=0,
                   help="picks the scatter's digits and the test 0 and 1")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="auto: CUDA when available, else CPU")
    args = p.parse_args(argv)
    if args.points < 1:
        p.error(f"--points must be at least 1, not {args.points}")
    return args


def panels(n, height=4.2):
    fig, axes = plt.subplots(1, n, figsize=(3.9 * n, height), squeeze=False)
    return fig, axes[0]


def image_panels(n, width, height, gap=0.3, top=0.7, bottom=0.4):
    """n axes side by side, each exactly width x height pixels at DPI: an image of that size
    drawn with nearest interpolation then keeps every pixel crisp and its file small."""
    w, h = width / DPI, height / DPI
    fig = plt.figure(figsize=(n * w + (n - 1) * gap, h + top + bottom))
    fw, fh = fig.get_size_inches()
    return fig, [fig.add_axes((i * (w + gap) / fw, bottom / fh, w / fw, h / fh)) for i in range(n)]


def save(fig, path):
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    # 256 colours hold every grey of a decoded image exactly and the plots' colours closely:
    # a third of the bytes of matplotlib's RGBA, for figures that live in the repository.
    image = Image.open(path).convert("RGB")
    image = image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(path, optimize=True)
    return path


def latent_scatter(loaded, path, points, seed):
    """The VAEs on the same axes, so their spread compares (the KL term pulls codes toward the
    prior N(0, I), the harder the larger beta). An AE's codes spread far wider: its panel
    gets its own axes, with the VAEs' window drawn in as a dashed square for scale."""
    fig, axes = panels(len(loaded))
    colours = plt.get_cmap("tab10").colors
    vae = [atlas["extent"] for m, atlas in loaded.values() if m.config.kind == "vae"]
    vae = np.array(vae).reshape(-1, 4)
    shared = (vae[:, [0, 2]].min(), vae[:, [1, 3]].max()) if len(vae) else None
    for ax, (name, (model, atlas)) in zip(axes, loaded.items()):
        # The same test digits in every panel (atlases list the test set in its order).
        gen = torch.Generator().manual_seed(seed)
        keep = torch.randperm(len(atlas["mu"]), generator=gen)[:points]
        mu, labels = atlas["mu"][keep].numpy(), atlas["labels"][keep].numpy()
        for c, cls in enumerate(atlas["classes"]):
            ax.scatter(*mu[labels == c].T, s=2, color=colours[c], label=cls, rasterized=True)
        if model.config.kind == "vae":
            lo, hi = shared
        else:
            lo, hi = min(atlas["extent"][::2]), max(atlas["extent"][1::2])  # a square round it
            if shared:
                side = shared[1] - shared[0]
                ax.add_patch(plt.Rectangle((shared[0], shared[0]), side, side, fill=False, ls="--",
                                           zorder=3))
        ax.set(xlim=(lo, hi), ylim=(lo, hi), aspect="equal", xlabel="z1", title=name)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("z2")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="center right", title="digit",
               markerscale=5, frameon=False)
    fig.suptitle(f"{points} test digits encoded (mu)\n"
                 "the VAE panels share axes; the dashed square in the AE panel is their window")
    fig.subplots_adjust(right=0.93, top=0.8)
    return save(fig, path)


def decoded_grid(loaded, path, spacing):
    side = GRID_N * 28
    fig, axes = image_panels(len(loaded), side, side)
    for ax, (name, (model, _)) in zip(axes, loaded.items()):
        r = 5 if model.config.kind == "ae" else 3  # the AE has no prior to stay near
        image = lu.mosaic(decode(model, lu.grid([-r, r, -r, r], GRID_N, spacing)), GRID_N)
        ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set(xticks=[], yticks=[], title=name, xlabel=f"z in [-{r}, {r}]², top row at z2 = {r}")
    fig.suptitle(f"decoded {GRID_N} x {GRID_N} grids, {spacing} spacing")
    return save(fig, path)


def interpolation_rows(loaded, path, images, steps=STEPS):
    """One row a model: the test 0, its path to the test 1 in `steps` decoded steps, the test 1."""
    rows = []
    for model, _ in loaded.values():
        z = encode(model, images)
        between = decode(model, latent_path(z[0], z[1], steps))
        rows += [lu.to_uint8(images[:1]), between, lu.to_uint8(images[1:])]
    gap = 2
    image = lu.mosaic(np.concatenate(rows), steps + 2, gap)
    fig, (ax,) = image_panels(1, 2 * image.shape[1], 2 * image.shape[0], top=0.4)  # 2 px a pixel
    ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    centres = np.arange(steps + 2) * (28 + gap) + 13.5  # of the cells, in image pixels
    ax.set_xticks(centres, ["test 0", *range(steps), "test 1"], fontsize=8)
    ax.set_yticks(centres[:len(loaded)], list(loaded))
    ax.tick_params(length=0)
    ax.set_title(f"linear interpolation of mu from a test 0 to a test 1 in {steps} steps")
    return save(fig, path)


def training_curves(names, path):
    """Test (solid) and train (dashed) per epoch; -ELBO with beta = 1 whatever beta trained."""
    fig, axes = panels(3, height=3.6)
    colours = plt.get_cmap("tab10").colors
    for i, name in enumerate(names):
        log = PRETRAINED / f"{name}.log.jsonl"
        rows = [json.loads(line) for line in log.read_text().splitlines() if line]
        epochs = [r["epoch"] for r in rows]
        for ax, key in zip(axes, ["elbo", "kl", "bce"]):
            ax.plot(epochs, [r["test"][key] for r in rows], color=colours[i], label=name)
            ax.plot(epochs, [r["train"][key] for r in rows], color=colours[i], ls="--", lw=0.8)
    for ax, t in zip(axes, ["-ELBO (nats, beta = 1)", "KL (nats)", "reconstruction BCE (nats)"]):
        ax.set(title=t, xlabel="epoch")
        ax.grid(alpha=0.3)
    axes[0].legend(title="test (train dashed)", fontsize=8)
    return save(fig, path)


def main(argv=None):
    args = get_args(argv)
    matplotlib.use("Agg")  # files only: no display needed
    device = pick_device(args.device)
    try:
        loaded = {name: (load_model(name, device)[0], lu.load_atlas(name)) for name in args.models}
    except CheckpointError as e:
        sys.exit(f"error: {e}")
    not_mnist = [name for name, (_, atlas) in loaded.items() if atlas["dataset"] != "mnist"]
    if not_mnist:
        sys.exit(f"error: these figures are of MNIST models; not {', '.join(not_mnist)}")
    x, y = load_data("mnist", args.data_dir, train=False)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = [
        latent_scatter(loaded, out / "latent_scatter.png", args.points, args.seed),
        decoded_grid(loaded, out / "decoded_grid.png", args.spacing),
        interpolation_rows(loaded, out / "interpolation.png", pick_images(x, y, [0, 1], args.seed)),
        training_curves(args.models, out / "training_curves.png"),
    ]
    print("wrote", *written, sep="\n  ")


if __name__ == "__main__":
    main()
