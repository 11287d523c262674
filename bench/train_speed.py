"""Training speed: the plain recipe, the shipped default recipe, and a bare step loop of the
default recipe, side by side in one run.

    python bench/train_speed.py [--data-dir ../shared/datasets] [--epochs 2] [--limit 10000]
    python bench/train_speed.py --device cuda     # adds the step replayed from a CUDA graph

plain:   trainer.train_epoch on the same conv VAE, batch 128, Adam 1e-3, contiguous (NCHW) tensors;
default: trainer.train_epoch with trainer.py's defaults (batch 256, channels_last, OneCycle to
         3e-3);
bare:    the default recipe's steps and nothing else (forward, backward, Adam, OneCycle on slices
         of the epoch's data permuted once): what the trainer's epoch would cost with no
         bookkeeping of its own, its ceiling;
graph:   (CUDA only) trainer.train_epoch with the default recipe, each step replayed from one
         captured CUDA graph (trainer.GraphedStep); "default" is then the same epoch eager.
Epochs alternate between the recipes so that machine noise hits them alike; the table gives
each epoch's images/s (training steps only, on the 55,000 training images), the median, and
the ratios of the medians.
"""

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import data  # noqa: E402
import trainer  # noqa: E402
from neural_network import VAE, VAEConfig, elbo_terms, pick_device  # noqa: E402

RECIPES = {  # name -> (Recipe changes, memory format)
    "plain": (dict(batch_size=128, lr=1e-3, schedule="plateau", warmup_epochs=10),
              torch.contiguous_format),
    "default": ({}, torch.channels_last),
    "bare": ({}, torch.channels_last),
    "graph": ({}, torch.channels_last),
}


def bare_epoch(model, opt, sched, x, r, epoch, device, fmt):
    """The default recipe's training steps alone, with no checks, sums or progress bar."""
    model.train()
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch))
    xs = x.index_select(0, order.to(x.device)).contiguous(memory_format=fmt)
    size, n = r.batch_size, math.ceil(len(x) / r.batch_size)
    for b in range(n):
        nll, kl = elbo_terms(model, xs[b * size:(b + 1) * size])
        loss = (nll + trainer.beta_at(r, epoch + b / n) * kl).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return {"elbo": (nll + kl).mean().item()}  # the last batch's


def recipe(name, epochs, n_train, device):
    changes, fmt = RECIPES[name]
    r = trainer.recipe_for("mnist", epochs=epochs, **changes)
    torch.manual_seed(r.seed)
    model = VAE(VAEConfig()).to(device, memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=r.lr, capturable=name == "graph")
    sched = trainer.make_scheduler(opt, r, n_train)
    step = trainer.make_step(model, opt, "graph" if name == "graph" else "eager", device)
    return r, model, opt, sched, fmt, step


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(data_dir, epochs, limit=0, device="cpu"):
    """-> {recipe: (batch size, [images/s of each epoch], median)}, printing each epoch.
    limit > 0 trains on the first `limit` images only (quick checks). On CUDA the first epoch
    of each recipe includes its one-off costs (the graph's capture): compare the later ones."""
    device = pick_device(device)
    x, _ = data.load("mnist", "train", data_dir)
    x = (x[:limit] if limit else x).to(device)
    names = [n for n in RECIPES if n != "graph" or device.type == "cuda"]
    recipes = {name: recipe(name, epochs, len(x), device) for name in names}
    rates = {name: [] for name in recipes}
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} cores, {len(x):,} images an epoch")
    for epoch in range(epochs):
        for name, (args, model, opt, sched, fmt, step) in recipes.items():
            sync(device)
            t0 = time.perf_counter()
            if name == "bare":
                m = bare_epoch(model, opt, sched, x, args, epoch, device, fmt)
            else:
                m = trainer.train_epoch(model, opt, sched, x, args, epoch, device, fmt, step)
            sync(device)
            rate = len(x) / (time.perf_counter() - t0)
            rates[name].append(rate)
            print(f"epoch {epoch + 1} {name:8s} {rate:7.0f} images/s ({rate / len(x):6.2f} "
                  f"epochs/s)  train -ELBO {m['elbo']:.1f}", flush=True)
    return {name: (recipes[name][0].batch_size, r, statistics.median(r)) for name, r in rates.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-dir", help="dataset root (else $LSN_DATA_DIR, else data/)")
    p.add_argument("--epochs", type=int, default=2, help="epochs of each recipe")
    p.add_argument("--limit", type=int, default=0, help="train on the first N images only (0: all)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    a = p.parse_args()
    result = measure(a.data_dir, a.epochs, a.limit, a.device)
    print(f"\n| recipe | batch | images/s (median of {a.epochs}) |\n|---|---|---|")
    for name, (batch, _, median) in result.items():
        print(f"| {name} | {batch} | {median:.0f} |")
    print(f"\ndefault / plain images/s: {result['default'][2] / result['plain'][2]:.2f}x")
    print(f"default / bare images/s: {result['default'][2] / result['bare'][2]:.3f}x")
    if "graph" in result:  # the epochs after the first, which holds the capture
        graph, eager = (statistics.median(result[n][1][1:] or result[n][1])
                        for n in ("graph", "default"))
        print(f"graph / eager (default) images/s, epochs 2-{a.epochs}: {graph / eager:.2f}x "
              f"({graph:.0f} against {eager:.0f} images/s)")


if __name__ == "__main__":
    main()
