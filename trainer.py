"""Train a 2-D-latent conv VAE (or AE) on MNIST or Fashion-MNIST and write its checkpoint, log,
training curves and atlas. The defaults are the shipped default model's recipe. With --dataset
toy1|toy2|toy3 it trains a ToyVAE (Gaussian decoder) on toy.py's 2-D data instead, with toy
defaults (TOY_DEFAULTS), a validation split that picks the best epoch, and no atlas.

    python trainer.py                                   # -> pretrained/mnist_vae_beta4.*
    python trainer.py --beta 1 --out pretrained/mnist_vae_beta1.safetensors
    python trainer.py --resume pretrained/mnist_vae_beta4.last.safetensors   # after Ctrl-C
    python trainer.py --atlas-only --out pretrained/mnist_vae_beta4.safetensors
    python trainer.py --dataset toy3                    # -> runs/toy3.*

Beside OUT (NAME.safetensors, the best epoch) it writes NAME.last.safetensors (resumable),
NAME.log.jsonl (one JSON line per epoch), NAME.curves.png and NAME.atlas.safetensors.
The data root is --data-dir or $LSN_DATA_DIR; torchvision downloads MNIST there if it is missing.
"""

import argparse
import gzip
import json
import math
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import torch
from tqdm import tqdm

import latent_utils as lu
import toy
from neural_network import (VAE, CheckpointError, ToyConfig, ToyVAE, VAEConfig, elbo_terms,
                            load_checkpoint, load_model, pick_device, save_model)

FASHION_DEBIAN = Path("/usr/share/datasets/fashion-mnist")
# A toy epoch is 10,000 2-D points (79 steps of 128, ~0.15 s): a whole run takes seconds. The
# toys get the plain ELBO (beta 1): beta 4 would blur their small structure (the ring's 0.1 width).
# toy3 gains up to 100 epochs and beyond (test -ELBO 1.80 after 60, 1.71 after 100, 1.66 after
# 150); toy1 and toy2 reach their best in about 10 and stop early.
TOY_DEFAULTS = dict(beta=1.0, warmup_epochs=5, epochs=100, batch_size=128, lr=3e-3, patience=25)


def get_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", choices=["mnist", "fashion", *toy.DATASETS], default="mnist",
                   help="toy1|toy2|toy3: toy.py's 2-D data, with the defaults " + ", ".join(
                       f"--{k.replace('_', '-')} {v}" for k, v in TOY_DEFAULTS.items())
                   + ", --out runs/DATASET.safetensors")
    p.add_argument("--data-dir", default=os.environ.get("LSN_DATA_DIR", "data"),
                   help="dataset root (env LSN_DATA_DIR)")
    p.add_argument("--model", choices=["vae", "ae"], default="vae")
    p.add_argument("--beta", type=float, default=4.0, help="weight of the KL term")
    p.add_argument("--warmup-epochs", type=float, default=6,
                   help="beta rises linearly from 0 over these epochs")
    p.add_argument("--epochs", type=int, default=28, help="most epochs to run")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=3e-3, help="Adam (peak) learning rate")
    p.add_argument("--schedule", choices=["onecycle", "plateau"], default="onecycle",
                   help="onecycle: the learning rate rises to --lr over the first 25%% of steps, "
                        "then anneals to ~0 by the last epoch (Smith & Topin 2017); plateau: "
                        "--lr, halved when the test loss stalls for patience/2 epochs")
    p.add_argument("--patience", type=int, default=4,
                   help="epochs without a better test (toys: validation) loss before stopping "
                        "early")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--out", default="pretrained/mnist_vae_beta4.safetensors")
    p.add_argument("--resume", metavar="LAST", help="a NAME.last.safetensors to continue")
    p.add_argument("--limit", type=int, default=0,
                   help="use only the first N training and N/6 test images (quick checks)")
    p.add_argument("--atlas-only", action="store_true",
                   help="only (re)write the atlas of the model at --out")
    dataset = p.parse_known_args(argv)[0].dataset  # the toys' defaults yield to flags given
    if dataset in toy.DATASETS:
        p.set_defaults(**TOY_DEFAULTS, out=f"runs/{dataset}.safetensors")
    args = p.parse_args(argv)
    if dataset in toy.DATASETS and (args.model != "vae" or args.atlas_only):
        p.error("the toy data sets train a VAE only, with no atlas (no --model ae, --atlas-only)")
    return args


# --- data -------------------------------------------------------------------------------------

def load_data(dataset, root, train):
    """-> (x [N, 1, 28, 28] float in [0, 1], labels [N]) held whole in memory: no per-item PIL
    transforms, batches are plain tensor slices. A toy data set: its train or test split."""
    if dataset in toy.DATASETS:
        return toy.toy_split(dataset, "train" if train else "test")
    import torchvision  # only the trainer needs it

    root = Path(root)
    if dataset == "fashion":
        raw = root / "FashionMNIST" / "raw"
        if not raw.exists() and FASHION_DEBIAN.exists():
            # Debian's dataset-fashion-mnist ships the original files, recompressed (their .gz
            # md5 differs from torchvision's list, which would then download): unpack them to
            # the raw IDX files that torchvision reads as they are.
            raw.mkdir(parents=True)
            for f in FASHION_DEBIAN.glob("*.gz"):
                with gzip.open(f) as src, open(raw / f.name.removesuffix(".gz"), "wb") as dst:
                    shutil.copyfileobj(src, dst)
    cls = torchvision.datasets.MNIST if dataset == "mnist" else torchvision.datasets.FashionMNIST
    try:
        ds = cls(root=str(root), train=train, download=True)
    except Exception as e:  # torchvision raises many kinds: network, md5, parse errors
        folder = root / cls.__name__ / "raw"
        sys.exit(f"error: {dataset} data not found under {folder} and it could not be downloaded "
                 f"({e}). Put the four original IDX files (or their .gz) in {folder}, or point "
                 f"--data-dir / LSN_DATA_DIR at a folder that holds {cls.__name__}/raw/.")
    return ds.data.unsqueeze(1).float().div_(255), ds.targets.clone()


def make_scheduler(opt, args, n_train):
    if args.schedule == "onecycle":
        steps = math.ceil(n_train / args.batch_size)
        if args.epochs * steps < 8:  # OneCycleLR divides by zero when its warm-up is < 1 step
            sys.exit(f"error: --schedule onecycle needs at least 8 steps, not {args.epochs * steps}"
                     f" ({args.epochs} epochs of {steps}); use more data or epochs, or plateau")
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=args.lr, epochs=args.epochs, pct_start=0.25, div_factor=10,
            steps_per_epoch=steps)
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, factor=0.5, patience=max(args.patience // 2 - 1, 0))


# --- one pass ---------------------------------------------------------------------------------

def beta_at(args, progress):
    """Linear KL warm-up (Bowman et al. 2016): beta grows from 0 over the first warmup epochs,
    so the decoder learns to use z before the KL term pulls the codes to the prior."""
    if args.warmup_epochs <= 0:
        return args.beta
    return args.beta * min(1.0, progress / args.warmup_epochs)


def train_epoch(model, opt, scheduler, x, args, epoch, device, memory_format=torch.channels_last):
    model.train()
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(args.seed * 100003 + epoch))
    n_batches = math.ceil(len(x) / args.batch_size)
    sums = torch.zeros(2)
    bar = tqdm(range(n_batches), desc=f"epoch {epoch + 1}/{args.epochs}", leave=False,
               disable=not sys.stderr.isatty())
    for b in bar:
        xb = x[order[b * args.batch_size:(b + 1) * args.batch_size]].to(device, non_blocking=True)
        xb = xb.contiguous(memory_format=memory_format)
        beta = beta_at(args, epoch + b / n_batches)
        nll, kl = elbo_terms(model, xb)
        loss = (nll + beta * kl).mean()
        if not torch.isfinite(loss):
            sys.exit(f"error: the loss became {loss.item()} in epoch {epoch + 1}, batch {b + 1} "
                     f"(beta {beta:.3g}, lr {opt.param_groups[0]['lr']:.3g}); try a lower --lr. "
                     f"The last good checkpoint is kept.")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if args.schedule == "onecycle":
            scheduler.step()
        sums += torch.stack([nll.sum(), kl.sum()]).detach().cpu()
        if b % 20 == 0:
            bar.set_postfix(loss=f"{loss.item():.1f}", beta=f"{beta:.2f}")
    return elbo_metrics(model, *(sums / len(x)).tolist())


@torch.no_grad()
def evaluate(model, x, device, seed=0, batch=2000):
    """Held-out metrics (see elbo_metrics), with one z ~ q(z|x) per example from a fixed generator
    (so every epoch and every run sees the same noise)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    sums = torch.zeros(2)
    for i in range(0, len(x), batch):
        xb = x[i:i + batch].to(device)
        eps = torch.randn((len(xb), model.config.latent_dim), generator=gen).to(device)
        nll, kl = elbo_terms(model, xb, eps)
        sums += torch.stack([nll.sum(), kl.sum()]).cpu()
    return elbo_metrics(model, *(sums / len(x)).tolist())


def nll_key(model):
    """The reconstruction term's name in logs and records: 'bce' for the Bernoulli pixels of a
    VAE, 'nll' for a ToyVAE's Gaussian."""
    return "nll" if isinstance(model, ToyVAE) else "bce"


def elbo_metrics(model, nll, kl):
    """Per example in nats: the reconstruction NLL, the KL and -ELBO = NLL + KL. -ELBO uses
    beta = 1 whatever beta trained the model, so figures compare across beta."""
    return {nll_key(model): nll, "kl": kl, "elbo": nll + kl}


@torch.no_grad()
def encode_all(model, x, device, batch=4000):
    mus, sigmas = [], []
    model.eval()
    for i in range(0, len(x), batch):
        mu, logvar = model.encode(x[i:i + batch].to(device))
        mus.append(mu.cpu())
        sigmas.append(torch.exp(0.5 * logvar).cpu())
    return torch.cat(mus), torch.cat(sigmas)


# --- files beside the checkpoint ----------------------------------------------------------------

def sibling(out, suffix):
    out = Path(out)
    return out.with_name(out.name.removesuffix(".safetensors") + suffix)


def optimizer_tensors(opt, scheduler):
    """Adam's state as flat tensors plus JSON, so resumable checkpoints stay safetensors."""
    sd = opt.state_dict()
    tensors = {f"optim.{i}.{k}": v for i, st in sd["state"].items() for k, v in st.items()}
    tensors["rng.torch"] = torch.get_rng_state()
    return tensors, {"param_groups": sd["param_groups"], "scheduler": scheduler.state_dict()}


def restore_optimizer(opt, scheduler, tensors, state):
    per_param = {}
    for key, v in tensors.items():
        if key.startswith("optim."):
            _, i, name = key.split(".", 2)
            per_param.setdefault(int(i), {})[name] = v
    opt.load_state_dict({"state": per_param, "param_groups": state["param_groups"]})
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(tensors["rng.torch"])


def draw_curves(axes, log_path):
    """-ELBO, KL and the reconstruction NLL (BCE for images) per epoch of a NAME.log.jsonl on
    three axes, a line for each split it logs (train, val for the toys, test)."""
    rows = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line]
    ep = [r["epoch"] for r in rows]
    nll = "nll" if "nll" in rows[0]["test"] else "bce"
    for ax, key, title in zip(axes, ["elbo", "kl", nll], ["-ELBO (nats, beta = 1)", "KL (nats)",
                                                          f"reconstruction {nll.upper()} (nats)"]):
        for split in ("train", "val", "test"):
            if split in rows[0]:
                ax.plot(ep, [r[split][key] for r in rows], label=split)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].legend()


def plot_curves(log_path, png_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    draw_curves(axes, log_path)
    fig.suptitle(Path(png_path).name.removesuffix(".curves.png"))
    fig.tight_layout()
    fig.savefig(png_path, dpi=90)
    plt.close(fig)


def write_atlas(model, args, device, x_test, y_test):
    """Encode the test set and place the class centres; check each centre decodes to a digit
    that, re-encoded, lands among its own class (15-NN vote of the test codes)."""
    mu, sigma = encode_all(model, x_test, device)

    @torch.no_grad()
    def reencodes_as(c, z):
        again, _ = model.encode(model.decode(z.to(device)))
        return lu.knn_predict(mu, y_test, again.cpu(), k=15) == c

    centres = lu.class_centres(mu, y_test, accept=reencodes_as)
    wrong = [c for c in range(10) if not reencodes_as(c, centres[c:c + 1])[0]]
    if wrong:
        print(f"warning: the centres of classes {wrong} re-encode among other classes")
    classes = lu.MNIST_CLASSES if args.dataset == "mnist" else lu.FASHION_CLASSES
    lu.save_atlas(sibling(args.out, ".atlas.safetensors"), mu, sigma, y_test, centres,
                  classes, args.dataset)
    return mu


# --- main -------------------------------------------------------------------------------------

def main(argv=None):
    args = get_args(argv)
    check_writable(Path(args.out).parent)
    torch.manual_seed(args.seed)
    device = pick_device(args.device)
    x_train, y_train = load_data(args.dataset, args.data_dir, train=True)
    x_test, y_test = load_data(args.dataset, args.data_dir, train=False)
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
        x_test, y_test = x_test[:max(args.limit // 6, 100)], y_test[:max(args.limit // 6, 100)]
    is_toy = args.dataset in toy.DATASETS
    x_val = toy.toy_split(args.dataset, "val")[0] if is_toy else None

    if args.atlas_only:
        try:
            model, _ = load_model(args.out, device)
        except CheckpointError as e:
            sys.exit(f"error: {e}")
        write_atlas(model, args, device, x_test, y_test)
        print(f"wrote {sibling(args.out, '.atlas.safetensors')}")
        return

    # channels_last: about 8 % more images/s for these convs on CPU (bench/train_speed.py); the
    # toys' [N, 2] batches have no channels to reorder.
    fmt = torch.contiguous_format if is_toy else torch.channels_last
    model = ToyVAE(ToyConfig()) if is_toy else VAE(VAEConfig(kind=args.model))
    model, key = model.to(device, memory_format=fmt), nll_key(model)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = make_scheduler(opt, args, len(x_train))
    log_path, last_path = sibling(args.out, ".log.jsonl"), sibling(args.out, ".last.safetensors")
    start, best, bad, seconds = 0, math.inf, 0, 0.0
    if args.resume:
        start, best, bad, seconds = resume_from(args.resume, model, opt, scheduler)
        lines = log_path.read_text().splitlines()[:start] if log_path.exists() else []
        log_path.write_text("".join(line + "\n" for line in lines))
        print(f"resuming {args.resume} after epoch {start}")
    else:  # a fresh run: an older run's log and resume point are not this run's
        log_path.unlink(missing_ok=True)
        last_path.unlink(missing_ok=True)
    print(f"{args.model} on {args.dataset}, {model.num_params():,} parameters, "
          f"{len(x_train):,} training examples, device {device}")

    def record(epoch, metrics, note=None):
        return {"dataset": args.dataset, "model": args.model, "beta": args.beta,
                "warmup_epochs": args.warmup_epochs, "epochs_run": epoch, "seed": args.seed,
                "batch_size": args.batch_size, "lr": args.lr, "schedule": args.schedule,
                "seconds": round(seconds, 1),
                "parameters": model.num_params(), "test": metrics, **(note or {})}

    # Ctrl-C: finish nothing half-way; the last checkpoint (end of the last whole epoch) is the
    # resume point. SIGTERM is treated the same.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    epoch = start
    try:
        for epoch in range(start, args.epochs):
            t0 = time.perf_counter()
            train = train_epoch(model, opt, scheduler, x_train, args, epoch, device, fmt)
            val = {"val": evaluate(model, x_val, device, seed=args.seed)} if is_toy else {}
            test = evaluate(model, x_test, device, seed=args.seed)
            seconds += time.perf_counter() - t0
            # The target objective at full beta; while beta still warms up the model is not yet
            # optimising it, so neither the best checkpoint nor the plateau counter starts. The
            # toys select on their validation split; the MNIST recipe of the shipped models on test.
            chosen = val.get("val", test)
            objective = chosen[key] + args.beta * chosen["kl"]
            warm = epoch + 1 >= args.warmup_epochs
            if warm:
                if args.schedule == "plateau":
                    scheduler.step(objective)
                if objective < best - 1e-3:
                    best, bad = objective, 0
                    save_model(model, args.out, record(epoch + 1, test))
                else:
                    bad += 1
            row = {"epoch": epoch + 1, "train": train, **val, "test": test,
                   "lr": opt.param_groups[0]["lr"], "seconds": round(seconds, 1)}
            with open(log_path, "a") as f:
                f.write(json.dumps(row) + "\n")
            tensors, opt_state = optimizer_tensors(opt, scheduler)
            resume = {**opt_state, "epoch": epoch + 1, "best": best, "bad": bad, "seconds": seconds}
            save_model(model, last_path, record(epoch + 1, test, {"resume": resume}), tensors)
            print(f"epoch {epoch + 1:3d}  train -ELBO {train['elbo']:7.2f}  test -ELBO "
                  f"{test['elbo']:7.2f} ({key.upper()} {test[key]:6.2f} + KL {test['kl']:5.2f})  "
                  f"lr {opt.param_groups[0]['lr']:.2g}  {seconds:6.1f}s", flush=True)
            if warm and bad >= args.patience:
                print(f"no better {'validation' if is_toy else 'test'} loss for {bad} epochs: "
                      "stopping early")
                break
    except KeyboardInterrupt:
        done = f"after epoch {epoch}" if epoch > start or start else "before the first epoch ended"
        print(f"\ninterrupted {done}; resume with: {resume_command(argv, last_path)}")
        sys.exit(130)
    except OSError as e:
        kept = (f"the last good checkpoint {last_path} is kept; once the folder can be written, "
                f"resume with: {resume_command(argv, last_path)}") if last_path.exists() else \
            "no epoch was saved"
        sys.exit(f"error: {e}; {kept}")

    plot_curves(log_path, sibling(args.out, ".curves.png"))
    model, meta = load_model_for_final(args.out, device)
    t0 = time.perf_counter()
    final, knn = evaluate(model, x_test, device, seed=args.seed), ""
    if not is_toy:  # the atlas and the 5-NN accuracy are of image classes
        test_mu = write_atlas(model, args, device, x_test, y_test)
        train_mu, _ = encode_all(model, x_train, device)
        final["knn5_accuracy"] = lu.knn_accuracy(train_mu, y_train, test_mu, y_test, k=5)
        knn = f", 5-NN accuracy {final['knn5_accuracy']:.4f}"
    meta.update(test=final, total_seconds=round(seconds + time.perf_counter() - t0, 1))
    save_model(model, args.out, meta)
    print(f"best epoch {meta['epochs_run']}: test -ELBO {final['elbo']:.2f} ({key.upper()} "
          f"{final[key]:.2f} + KL {final['kl']:.2f}){knn}, {meta['total_seconds']:.0f}s "
          f"-> {args.out}")


def check_writable(folder):
    """Refuse an output folder that cannot be written before any data is loaded or trained."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as e:
        sys.exit(f"error: cannot write to the output folder {folder}: {e.strerror}")


def resume_from(path, model, opt, scheduler):
    """Load a NAME.last.safetensors into model, optimizer and scheduler -> (epoch, best, bad,
    seconds); a file that is broken, not resumable or of another model exits with one line."""
    try:
        tensors, metadata = load_checkpoint(path)
        state = metadata.get("meta", {}).get("resume")
        if state is None:
            raise CheckpointError(f"{path}: holds no training state to resume from")
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        restore_optimizer(opt, scheduler, tensors, state)
        return state["epoch"], state["best"], state["bad"], state["seconds"]
    except CheckpointError as e:
        sys.exit(f"error: {e}")
    except (RuntimeError, KeyError, ValueError, TypeError, AttributeError) as e:
        # load_state_dict: shapes of another model; the rest: training state missing or malformed
        sys.exit(f"error: {path}: cannot resume from it: {' '.join(str(e).split())}")


def resume_command(argv, last_path):
    """The command line that continues this run from last_path (an earlier --resume replaced)."""
    args, skip = [], False
    for a in argv if argv is not None else sys.argv[1:]:
        if skip or a.startswith("--resume="):
            skip = False
        elif a == "--resume":
            skip = True
        else:
            args.append(a)
    return shlex.join(["python", "trainer.py", "--resume", str(last_path), *args])


def load_model_for_final(path, device):
    try:
        return load_model(path, device)
    except CheckpointError:
        sys.exit(f"error: no checkpoint was written to {path} (the run ended before beta warmed up)")


if __name__ == "__main__":
    main()
