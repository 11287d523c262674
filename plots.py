"""Every matplotlib figure of the project, as functions that take loaded models and data and save
a PNG: the training curves of a run (written by trainer.py beside each checkpoint), the course
figures of the MNIST models, and the figures of the 2-D toy VAEs. No CLI: figures.py is the
command that writes them into docs/figures.

    import plots
    plots.save(plots.training_curves({"beta4": "pretrained/mnist_vae_beta4.log.jsonl"}), "c.png")

Tested through figures.py (tests/test_figures.py) and the trainer's runs (tests/test_trainer.py).
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed (before pyplot is imported)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import data  # noqa: E402
import directions as dirs  # noqa: E402
import latent_utils as lu  # noqa: E402
import morphometry as mm  # noqa: E402
from images import mosaic, to_uint8  # noqa: E402
from neural_network import decode_uint8, encode_all, reparameterize, sibling  # noqa: E402

DPI = 100
COLOURS = plt.get_cmap("tab10").colors
# Logs hold train and val (older ones test as well): the held-out line solid, train dashed.
SPLIT_STYLE = {"val": "-", "test": ":", "train": "--"}


def save(fig, path):
    """Write the figure as a 256-colour PNG and close it -> path. 256 colours hold every grey of a
    decoded image exactly and the plots' colours closely: a third of the bytes of matplotlib's
    RGBA, for figures that live in the repository."""
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    image = Image.open(path).convert("RGB")
    image = image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(path, optimize=True)
    return path


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


# --- training curves ------------------------------------------------------------------------------

def read_log(log_path):
    """The rows of a NAME.log.jsonl: one dict per epoch (epoch, train, val, lr, seconds)."""
    return [json.loads(line) for line in Path(log_path).read_text().splitlines() if line]


def draw_curves(axes, log_path, colour=COLOURS[0], label=None):
    """-ELBO, KL and the reconstruction NLL (BCE for images) per epoch of one run on three axes:
    a line per split it logs, styled by split (validation solid, train dashed; an older log's
    test dotted). `label` names the run on its first held-out line."""
    rows = read_log(log_path)
    epochs = [r["epoch"] for r in rows]
    nll = "nll" if "nll" in rows[0]["train"] else "bce"
    held_out = next(s for s in SPLIT_STYLE if s in rows[0] and s != "train")
    titles = ["-ELBO (nats, beta = 1)", "KL (nats)", f"reconstruction {nll.upper()} (nats)"]
    for ax, key, title in zip(axes, ["elbo", "kl", nll], titles):
        for split, style in SPLIT_STYLE.items():
            if split in rows[0]:
                name = split if label is None else (label if split == held_out else None)
                ax.plot(epochs, [r[split][key] for r in rows], style, color=colour, label=name,
                        lw=1.5 if split == held_out else 0.9)
        ax.set(title=title, xlabel="epoch")
        ax.grid(alpha=0.3)


def training_curves(logs, title=None):
    """One figure of three panels; `logs` maps a run's name to its NAME.log.jsonl, a colour each."""
    fig, axes = panels(3, height=3.6)
    for i, (name, log) in enumerate(logs.items()):
        draw_curves(axes, log, COLOURS[i % len(COLOURS)], name if len(logs) > 1 else None)
    present = {s for log in logs.values() for s in read_log(log)[0] if s in SPLIT_STYLE}
    styles = ", ".join(f"{s} {'solid' if v == '-' else 'dotted' if v == ':' else 'dashed'}"
                       for s, v in SPLIT_STYLE.items() if s in present)
    axes[0].legend(title=styles if len(logs) > 1 else None, fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# --- the course figures of the MNIST models -------------------------------------------------------

def latent_scatter(loaded, points, seed):
    """The VAEs on the same axes, so their spread compares (the KL term pulls codes toward the
    prior N(0, I), the harder the larger beta). An AE's codes spread far wider: its panel
    gets its own axes, with the VAEs' window drawn in as a dashed square for scale.
    `loaded` maps a name to (model, atlas)."""
    fig, axes = panels(len(loaded))
    vae = [atlas["extent"] for m, atlas in loaded.values() if m.config.kind == "vae"]
    vae = np.array(vae).reshape(-1, 4)
    shared = (vae[:, [0, 2]].min(), vae[:, [1, 3]].max()) if len(vae) else None
    for ax, (name, (model, atlas)) in zip(axes, loaded.items()):
        # The same test digits in every panel (atlases list the test set in its order).
        gen = torch.Generator().manual_seed(seed)
        keep = torch.randperm(len(atlas["mu"]), generator=gen)[:points]
        mu, labels = atlas["mu"][keep].numpy(), atlas["labels"][keep].numpy()
        for c, cls in enumerate(atlas["classes"]):
            ax.scatter(*mu[labels == c].T, s=2, color=COLOURS[c], label=cls, rasterized=True)
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
    return fig


def decoded_grid(loaded, n, spacing):
    """An n x n grid of decoded codes a model: the AE over [-5, 5]², the VAEs over [-3, 3]²."""
    side = n * 28
    fig, axes = image_panels(len(loaded), side, side)
    for ax, (name, (model, _)) in zip(axes, loaded.items()):
        r = 5 if model.config.kind == "ae" else 3  # the AE has no prior to stay near
        image = mosaic(decode_uint8(model, lu.grid([-r, r, -r, r], n, spacing)), n)
        ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set(xticks=[], yticks=[], title=name, xlabel=f"z in [-{r}, {r}]², top row at z2 = {r}")
    fig.suptitle(f"decoded {n} x {n} grids, {spacing} spacing")
    return fig


def interpolation_rows(loaded, images, steps):
    """One row a model: the test 0, its path to the test 1 in `steps` decoded steps, the test 1."""
    rows = []
    for model, _ in loaded.values():
        z = encode_all(model, images)[0]
        between = decode_uint8(model, lu.lerp(z[0], z[1], steps))
        rows += [to_uint8(images[:1]), between, to_uint8(images[1:])]
    gap = 2
    image = mosaic(np.concatenate(rows), steps + 2, gap)
    fig, (ax,) = image_panels(1, 2 * image.shape[1], 2 * image.shape[0], top=0.4)  # 2 px a pixel
    ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    centres = np.arange(steps + 2) * (28 + gap) + 13.5  # of the cells, in image pixels
    ax.set_xticks(centres, ["test 0", *range(steps), "test 1"], fontsize=8)
    ax.set_yticks(centres[:len(loaded)], list(loaded))
    ax.tick_params(length=0)
    ax.set_title(f"linear interpolation of mu from a test 0 to a test 1 in {steps} steps")
    return fig


def semantic_edits(name, model, atlas, digits=(1, 4, 7), clicks=2):
    """One row an attribute: from the centres of three classes, `clicks` edits down and up along
    the attribute's local direction (directions.edit, each AMOUNTS[attribute]), decoded; the
    row names the attribute, its edit and, where the atlas holds them, its checked figures."""
    scale = dirs.spread(atlas)
    table = atlas.get("directions", {}).get("table", {})
    rows, labels = [], []
    for a in dirs.ATTRIBUTES:
        for c in digits:
            z, path = atlas["centres"][c].numpy().astype(np.float64), {}
            for sign in (-1, 1):
                step = z
                for k in range(1, clicks + 1):
                    step = path[sign * k] = dirs.edit(model, step, a, sign * dirs.AMOUNTS[a], scale)
            rows.append([path[k] for k in range(-clicks, 0)] + [z] + [path[k] for k in
                                                                     range(1, clicks + 1)])
        t = table.get(a)
        figures = (f"\n{t['right_way']:.0%} right way, {t['kept_class']:.0%} kept class"
                   + ("" if t["reliable"] else " (unreliable)")) if t else ""
        labels.append(f"{a} ± {dirs.AMOUNTS[a]:g} {mm.ATTRIBUTES[a]}{figures}")
    per_row = len(digits) * (2 * clicks + 1)
    frames = decode_uint8(model, np.concatenate(rows).reshape(-1, atlas["centres"].shape[1]))
    gap = 2
    image = mosaic(frames, per_row, gap)
    fig, (ax,) = image_panels(1, 2 * image.shape[1], 2 * image.shape[0], top=0.5, bottom=0.5)
    ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    cell = 28 + gap
    ax.set_yticks(np.arange(len(labels)) * cell + 13.5, labels, fontsize=8)
    ticks = [f"{k:+d}" if k else f"centre {c}" for c in digits for k in range(-clicks, clicks + 1)]
    ax.set_xticks(np.arange(per_row) * cell + 13.5, ticks, fontsize=7)
    ax.tick_params(length=0)
    ax.set_title(f"{name}: edits along each attribute's local direction, from three class centres")
    return fig


# --- the 2-D toy VAEs (course part A) ------------------------------------------------------------

def toy_curves(loaded):
    """A row a model: the curves of its run, from the log beside its checkpoint. `loaded` maps a
    checkpoint path to (model, meta)."""
    fig, axes = plt.subplots(len(loaded), 3, figsize=(12, 3 * len(loaded)), squeeze=False)
    for row, (path, (_, meta)) in zip(axes, loaded.items()):
        draw_curves(row, sibling(path, ".log.jsonl"))
        row[0].set_ylabel(meta["dataset"], fontsize=12)
    axes[0][0].legend()
    fig.tight_layout()
    return fig


@torch.no_grad()
def toy_samples(loaded, seed):
    """A row a model: its test data, then as many samples of the model on the same axes. With
    decoder noise they should look like the data; the means alone show the decoder's manifold."""
    fig, axes = plt.subplots(len(loaded), 3, figsize=(10.5, 3.5 * len(loaded)), squeeze=False)
    gen = torch.Generator().manual_seed(seed)
    titles = ["test data", "samples x ~ N(mu_x, sigma_x^2)", "decoder means mu_x (no noise)"]
    for row, (model, meta) in zip(axes, loaded.values()):
        x, _ = data.load(meta["dataset"], "test")
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


def toy_latent(loaded):
    """A panel a model: the test set's codes (mu), coloured by label, on the same window of the
    prior N(0, I), so a collapsed posterior (every mu near 0) shows as one."""
    fig, axes = plt.subplots(1, len(loaded), figsize=(4 * len(loaded), 4.2), squeeze=False)
    for ax, (model, meta) in zip(axes[0], loaded.values()):
        x, labels = data.load(meta["dataset"], "test")
        mu, _ = encode_all(model, x)
        for c in labels.unique().tolist():
            ax.scatter(*mu[labels == c].T, s=1, color=COLOURS[c], label=str(c), rasterized=True)
        ax.set(xlim=(-4, 4), ylim=(-4, 4), aspect="equal", xlabel="z1", ylabel="z2",
               title=meta["dataset"])
        ax.grid(alpha=0.3)
        if len(labels.unique()) > 1:
            ax.legend(title="label", markerscale=6, fontsize=8)
    fig.suptitle("test codes mu of q(z|x)")
    fig.tight_layout()
    return fig
