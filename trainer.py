"""Train a conv VAE (or AE) on MNIST or Fashion-MNIST, its latent 2-D unless --latent-dim says
otherwise, and write its checkpoint, log, training curves, atlas and config files. The defaults
(Recipe) are the shipped default model's recipe. With --dataset toy1|toy2|toy3 it trains a ToyVAE
(Gaussian decoder) on data.py's 2-D toys instead, with toy defaults (TOY_DEFAULTS), and no atlas.

Every data set is handled alike (data.py's splits): the model trains on "train", the validation
split picks the best epoch and stops training early, and the test split is evaluated once, on the
chosen model, after training. Nothing during training reads the test split.

    python trainer.py                                   # -> pretrained/mnist_vae_beta4.*
    python trainer.py --beta 1 --out pretrained/mnist_vae_beta1.safetensors
    python trainer.py --model ae --beta 0 --warmup-epochs 0 --latent-dim 10 --out runs/ae10.safetensors
    python trainer.py --resume pretrained/mnist_vae_beta4.last.safetensors   # after Ctrl-C
    python trainer.py --atlas-only --out pretrained/mnist_vae_beta4.safetensors
    python trainer.py --iwae-only --out pretrained/mnist_vae_beta4.safetensors   # log p(x)
    python trainer.py --dataset toy3                    # -> runs/toy3.*

Beside OUT (NAME.safetensors, the best epoch) it writes NAME.last.safetensors (resumable),
NAME.log.jsonl (one JSON line per epoch: train and val figures), NAME.curves.png,
NAME.atlas.safetensors and the model's config as NAME.json and NAME.yaml. --atlas-only rewrites
the atlas with the semantic directions (directions.py; a few minutes a model), as `make models`
does for every shipped model. The checkpoint's record (meta) holds "val" (the figures that picked the
epoch), "test" (the chosen model's, computed once) and "split" (which examples form each split).
The data root is --data-dir, else $LSN_DATA_DIR, else data/; torchvision downloads MNIST there if
it is missing. From Python (bench/, tests/): `fit(recipe_for("mnist", epochs=2), "runs/m.safetensors")`.
"""

import argparse
import contextlib
import json
import math
import os
import shlex
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import data
import directions as dirs
import latent_utils as lu
import morphometry as mm
import plots
from images import to_uint8
from neural_network import (
    VAE,
    CheckpointError,
    ToyConfig,
    ToyVAE,
    VAEConfig,
    elbo_terms,
    encode_all,
    iwae_log_likelihood,
    load_checkpoint,
    load_model,
    model_state,
    pick_device,
    save_config,
    save_model,
    sibling,
)


@dataclass
class Recipe:
    """How to train: the shipped default model's recipe unless told otherwise."""
    dataset: str = "mnist"  # mnist, fashion, toy1, toy2 or toy3
    model: str = "vae"  # vae, or ae (no KL term, a deterministic code)
    latent_dim: int = 2  # the size of z
    beta: float = 4.0  # weight of the KL term
    warmup_epochs: float = 6  # beta rises linearly from 0 over these epochs
    epochs: int = 30  # most epochs to run
    batch_size: int = 256
    lr: float = 3e-3  # Adam's (peak) learning rate
    schedule: str = "onecycle"  # or "plateau"
    patience: int = 4  # epochs without a better selection loss before stopping early
    seed: int = 0
    deterministic: bool = True  # the same seed gives the same weights on CUDA too (reproducible)
    limit: int = 0  # only the first N training and N/6 validation and test images (quick checks)


# A toy epoch is 10,000 2-D points (79 steps of 128, ~0.15 s): a whole run takes seconds. The
# toys get the plain ELBO (beta 1): beta 4 would blur their small structure (the ring's 0.1 width).
# toy3 gains up to 100 epochs and beyond (test -ELBO 1.80 after 60, 1.71 after 100, 1.66 after
# 150); toy1 and toy2 reach their best in about 10 and stop early.
TOY_DEFAULTS = dict(beta=1.0, warmup_epochs=5, epochs=100, batch_size=128, lr=3e-3, patience=25)

# The likelihood estimate of --iwae-only (record_iwae): k importance samples per test image, on
# a fixed subset of the test split (0: all of it) drawn with IWAE_SEED. In a 2-D latent k = 1000
# has converged: on 100 test images of the default model -log p(x) was 128.78 nats at k = 100,
# 128.73 at 1000, 128.71 at 5000. The subset: 10,000 images x 1000 samples are 10M decodes, about
# 12 minutes on this project's 2-core CPU; 2,000 take about 2.5.
IWAE_K, IWAE_IMAGES, IWAE_SEED = 1000, 2000, 0


def recipe_for(dataset, **changes) -> Recipe:
    """The recipe of a data set (the toys have their own defaults), with `changes` applied."""
    base = Recipe(dataset=dataset, **(TOY_DEFAULTS if dataset in data.TOYS else {}))
    return replace(base, **changes)


class TrainingError(Exception):
    """A run that cannot go on (bad recipe, a non-finite loss, a broken resume point)."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: the last whole epoch is kept in `last_path`."""

    def __init__(self, epoch, last_path):
        super().__init__(f"interrupted after epoch {epoch}")
        self.epoch, self.last_path = epoch, last_path


def get_args(argv=None):
    """Flags -> (Recipe, the run's options: out, data_dir, device, resume, atlas_only)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    d = Recipe()
    p.add_argument("--dataset", choices=data.DATASETS, default=d.dataset,
                   help="toy1|toy2|toy3: 2-D toy data, with the defaults " + ", ".join(
                       f"--{k.replace('_', '-')} {v}" for k, v in TOY_DEFAULTS.items())
                   + ", --out runs/DATASET.safetensors")
    p.add_argument("--data-dir", help="dataset root (else $LSN_DATA_DIR, else data/)")
    p.add_argument("--model", choices=["vae", "ae"], default=d.model)
    p.add_argument("--latent-dim", type=int, default=d.latent_dim, help="the size of z")
    p.add_argument("--beta", type=float, default=d.beta, help="weight of the KL term")
    p.add_argument("--warmup-epochs", type=float, default=d.warmup_epochs,
                   help="beta rises linearly from 0 over these epochs")
    p.add_argument("--epochs", type=int, default=d.epochs, help="most epochs to run")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr, help="Adam (peak) learning rate")
    p.add_argument("--schedule", choices=["onecycle", "plateau"], default=d.schedule,
                   help="onecycle: the learning rate rises to --lr over the first 25%% of steps, "
                        "then anneals to ~0 by the last epoch (Smith & Topin 2017); plateau: "
                        "--lr, halved when the validation loss stalls for patience/2 epochs")
    p.add_argument("--patience", type=int, default=d.patience,
                   help="epochs without a better validation loss before stopping early")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--fast-nondeterministic", dest="deterministic", action="store_false",
                   help="on CUDA, allow nondeterministic kernels: the same seed may then give "
                        "other weights (the CPU is deterministic either way)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--step", choices=STEPS, default="eager",
                   help="graph: on CUDA, each training step replayed from one captured CUDA "
                        "graph (not yet measured on a GPU, so not the default: "
                        "bench/gpu_check.sh measures it)")
    p.add_argument("--out", default="pretrained/mnist_vae_beta4.safetensors")
    p.add_argument("--resume", metavar="LAST", help="a NAME.last.safetensors to continue")
    p.add_argument("--limit", type=int, default=d.limit,
                   help="use only the first N training and N/6 validation and test images "
                        "(quick checks)")
    p.add_argument("--atlas-only", action="store_true",
                   help="only (re)write the atlas of the model at --out, with its semantic "
                        "directions (a few minutes)")
    p.add_argument("--iwae-only", action="store_true",
                   help="only estimate log p(x) of the VAE at --out on the test split "
                        "(importance weighted, Burda et al. 2015) and record it in its checkpoint")
    p.add_argument("--float16-only", action="store_true",
                   help="only store the weights of the model at --out in float16 (half the file), "
                        "evaluated again on the test split as stored; rewrite its atlas after")
    p.add_argument("--iwae-k", type=int, default=IWAE_K, help="samples per image for --iwae-only")
    p.add_argument("--iwae-images", type=int, default=IWAE_IMAGES,
                   help="test images for --iwae-only (0: all; else a fixed seeded subset)")
    dataset = p.parse_known_args(argv)[0].dataset  # the toys' defaults yield to flags given
    if dataset in data.TOYS:
        p.set_defaults(**TOY_DEFAULTS, out=f"runs/{dataset}.safetensors")
    args = p.parse_args(argv)
    if dataset in data.TOYS and (args.model != "vae" or args.atlas_only or args.iwae_only
                                 or args.float16_only or args.latent_dim != 2):
        p.error("the toy data sets train a 2-D VAE only, with no atlas (no --model ae, "
                "--latent-dim, --atlas-only, --iwae-only, --float16-only)")
    if not 1 <= args.latent_dim <= 512:
        p.error(f"--latent-dim must be from 1 to 512, not {args.latent_dim}")
    recipe = Recipe(**{f.name: getattr(args, f.name) for f in fields(Recipe)})
    return recipe, args


def make_scheduler(opt, recipe, n_train):
    if recipe.schedule == "onecycle":
        steps = math.ceil(n_train / recipe.batch_size)
        if recipe.epochs * steps < 8:  # OneCycleLR divides by zero when its warm-up is < 1 step
            raise TrainingError(f"--schedule onecycle needs at least 8 steps, not "
                                f"{recipe.epochs * steps} ({recipe.epochs} epochs of {steps}); "
                                "use more data or epochs, or plateau")
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=recipe.lr, epochs=recipe.epochs, pct_start=0.25, div_factor=10,
            steps_per_epoch=steps)
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, factor=0.5, patience=max(recipe.patience // 2 - 1, 0))


# --- one pass ---------------------------------------------------------------------------------

def beta_at(recipe, progress):
    """Linear KL warm-up (Bowman et al. 2016): beta grows from 0 over the first warmup epochs,
    so the decoder learns to use z before the KL term pulls the codes to the prior."""
    if recipe.warmup_epochs <= 0:
        return recipe.beta
    return recipe.beta * min(1.0, progress / recipe.warmup_epochs)


def train_epoch(model, opt, scheduler, x, recipe, epoch, device, memory_format=torch.channels_last,
                step=None):
    """One pass over x in an order seeded by (seed, epoch) -> the epoch's mean train metrics.
    The loop holds only the steps: the data are permuted once (one gather into a tensor on
    `device` in `memory_format`, so each batch is a slice of it, not a gather and a copy), and
    the loss terms are summed on the device and read once at the end. A non-finite loss is
    caught at the next check (every CHECK_EVERY steps and at the end: each is a host sync on a
    GPU) and named by its epoch and batch. `step` (EagerStep unless given) runs each step. On
    CUDA the epoch's noise eps is drawn up front from a generator seeded by (seed, epoch), so a
    resumed run draws what the whole run drew and a CUDA graph can read it; on the CPU each step
    draws its own, as always."""
    model.train()
    step = step or EagerStep(model, opt)
    gen = torch.Generator().manual_seed(epoch_seed(recipe, epoch))
    order = torch.randperm(len(x), generator=gen)
    xs = x.index_select(0, order.to(x.device)).to(device).contiguous(memory_format=memory_format)
    eps = epoch_noise(model, len(x), recipe, epoch, device)
    size = recipe.batch_size
    n_batches = math.ceil(len(x) / size)
    losses = torch.zeros(n_batches, device=device)
    sums = torch.zeros(2, device=device)
    lrs = []  # each step's learning rate, to name it if that step's loss was bad
    bar = tqdm(range(n_batches), desc=f"epoch {epoch + 1}/{recipe.epochs}", leave=False,
               disable=not sys.stderr.isatty())
    for b in bar:
        beta = beta_at(recipe, epoch + b / n_batches)
        lrs.append(opt.param_groups[0]["lr"])
        batch = slice(b * size, (b + 1) * size)
        loss, nll_sum, kl_sum = step(xs[batch], beta, None if eps is None else eps[batch])
        if recipe.schedule == "onecycle":
            scheduler.step()
        with torch.no_grad():
            losses[b] = loss
            sums += torch.stack([nll_sum, kl_sum])
        if (b + 1) % CHECK_EVERY == 0 or b + 1 == n_batches:
            check_finite(losses[:b + 1], recipe, epoch, n_batches, lrs)
            bar.set_postfix(loss=f"{losses[b].item():.1f}", beta=f"{beta:.2f}")
    return elbo_metrics(model, *(sums / len(x)).tolist())


def epoch_seed(recipe, epoch):
    return recipe.seed * 100003 + epoch


def epoch_noise(model, n, recipe, epoch, device):
    """The epoch's eps [n, latent_dim] on CUDA, one draw from a generator seeded by (seed,
    epoch); None on the CPU, where each step draws its own from the global generator (the
    shipped models were trained so, and resume restores that generator's state)."""
    if torch.device(device).type != "cuda":
        return None
    gen = torch.Generator(device).manual_seed(epoch_seed(recipe, epoch))
    return torch.randn((n, model.config.latent_dim), generator=gen, device=device)


# --- the step ---------------------------------------------------------------------------------

STEPS = ("eager", "graph")


class EagerStep:
    """One training step as plain calls: forward, the loss, backward, Adam."""
    kind = "eager"

    def __init__(self, model, opt):
        self.model, self.opt = model, opt

    def __call__(self, x, beta, eps=None):
        """-> (the batch's loss, its summed NLL, its summed KL): device tensors, none read."""
        nll, kl = elbo_terms(self.model, x, eps)
        loss = (nll + beta * kl).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss.detach(), nll.detach().sum(), kl.detach().sum()


class GraphedStep:
    """The same step captured once as a CUDA graph and replayed. Eagerly, each step launches
    a few hundred small kernels and the GPU waits on the launches; a replay is one launch
    (PyTorch's "CUDA Graphs" notes, whole-network capture). The batch and its eps are copied
    into the graph's own input tensors; the learning rate, Adam's beta1 (both set by the
    OneCycle schedule on the host, as in the eager step) and the KL weight beta are device
    tensors filled before each replay, so the schedule drives the graph. The optimizer must be
    Adam(capturable=True). A batch of another size (an epoch's last) takes the eager step."""
    kind = "CUDA graph"

    def __init__(self, model, opt, warmup=2):
        self.model, self.opt, self.eager = model, opt, EagerStep(model, opt)
        self.warmup, self.graph, self.x = warmup, None, None

    def __call__(self, x, beta, eps):
        if self.x is None:  # the first batch: capture, or say why not and stay eager
            try:
                self.capture(x, eps)
            except RuntimeError as e:
                self.kind = "eager (the CUDA graph could not be captured)"
                print(f"training step: {self.kind}: {str(e).splitlines()[0]}")
        if self.graph is None or x.shape != self.x.shape:
            return self.eager(x, beta, eps)
        group = self.opt.param_groups[0]
        self.lr.fill_(group["lr"])
        self.beta1.fill_(group["betas"][0])
        self.beta.fill_(beta)
        self.x.copy_(x)
        self.eps.copy_(eps)
        self.graph.replay()
        return self.out

    def _step(self):
        nll, kl = elbo_terms(self.model, self.x, self.eps)
        loss = (nll + self.beta * kl).mean()
        loss.backward()
        self.opt.step()
        return loss.detach(), nll.detach().sum(), kl.detach().sum()

    def capture(self, x, eps):
        """Warm up (Adam's state, cuBLAS's workspaces: made outside the graph), capture, and put
        the model and Adam back as they were: the warm-up steps must not train."""
        group, params = self.opt.param_groups[0], list(self.model.parameters())
        self.x, self.eps = x.clone(), eps.clone()
        self.beta = torch.zeros((), device=x.device)
        self.lr, self.beta1, beta2 = (torch.tensor(float(v), device=x.device)
                                      for v in (group["lr"], *group["betas"]))
        with torch.no_grad():
            weights = [p.clone() for p in params]
            state = {p: {k: v.clone() for k, v in self.opt.state[p].items()} for p in params
                     if self.opt.state[p]}
        floats = group["lr"], group["betas"]
        group["lr"], group["betas"] = self.lr, (self.beta1, beta2)
        try:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(self.warmup):
                    self.opt.zero_grad(set_to_none=True)
                    self._step()
            torch.cuda.current_stream().wait_stream(side)
            self.opt.zero_grad(set_to_none=True)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self.out = self._step()
            self.graph = graph
        finally:
            group["lr"], group["betas"] = floats
            with torch.no_grad():
                for p, w in zip(params, weights):
                    p.copy_(w)
                    for k, v in self.opt.state[p].items():
                        if p in state:
                            v.copy_(state[p][k])
                        else:  # Adam's fresh state is all zeros
                            v.zero_()


def make_step(model, opt, kind, device):
    """The training step of that kind: "eager", or "graph" (CUDA only)."""
    if kind == "eager":
        return EagerStep(model, opt)
    if torch.device(device).type != "cuda":
        raise TrainingError("--step graph needs CUDA: a CUDA graph cannot run on the CPU")
    return GraphedStep(model, opt)


CHECK_EVERY = 20  # steps between checks for a non-finite loss


def check_finite(losses, recipe, epoch, n_batches, lrs):
    """Raise TrainingError naming the first non-finite loss among `losses` (this epoch's)."""
    bad = (~torch.isfinite(losses)).nonzero()
    if len(bad):
        b = int(bad[0])
        raise TrainingError(
            f"the loss became {losses[b].item()} in epoch {epoch + 1}, batch {b + 1} (beta "
            f"{beta_at(recipe, epoch + b / n_batches):.3g}, lr {lrs[b]:.3g}); try a lower --lr. "
            "The last good checkpoint is kept.")


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


# --- files beside the checkpoint ----------------------------------------------------------------

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


def write_atlas(model, dataset, out, x_test, y_test, x_train=None, x_val=None):
    """Encode the test set and place the class centres; check each centre decodes to a digit
    that, re-encoded, lands among its own class (15-NN vote of the test codes). Given the
    training and validation images, add the semantic directions (semantic_directions). A model
    written to pretrained/ also writes the images behind the map's dots (lu.save_test_images)."""
    mu, sigma = encode_all(model, x_test)
    device = next(model.parameters()).device

    @torch.no_grad()
    def reencodes_as(c, z):
        again, _ = model.encode(model.decode(z.to(device)))
        return lu.knn_predict(mu, y_test, again.cpu(), k=15) == c

    centres = lu.class_centres(mu, y_test, accept=reencodes_as)
    wrong = [c for c in range(10) if not reencodes_as(c, centres[c:c + 1])[0]]
    if wrong:
        print(f"warning: the centres of classes {wrong} re-encode among other classes")
    atlas = {"mu": mu, "labels": y_test, "centres": centres}
    found = None if x_train is None else semantic_directions(model, atlas, x_train, x_val)
    lu.save_atlas(sibling(out, ".atlas.safetensors"), mu, sigma, y_test, centres,
                  data.CLASSES[dataset], dataset, found)
    if Path(out).resolve().parent == lu.test_images_path(dataset).parent:  # a shipped model
        lu.save_test_images(dataset, to_uint8(x_test[:lu.MAP_POINTS].cpu()))
    return mu


# Images measured for the global directions (a seeded draw from each split): the fit of 6 x
# (D + 1) numbers needs far fewer, and measuring costs ~5 ms an image. Then the edits are
# checked from DIRECTION_STARTS starting points.
DIRECTION_IMAGES = {"train": 3000, "val": 1000}
DIRECTION_STARTS = 200


def semantic_directions(model, atlas, x_train, x_val, seed=0):
    """The attributes' global directions, fitted on training codes and scored (R^2) on
    validation codes, and the check of local edits from DIRECTION_STARTS points (directions.py)
    -> {"weights", "bias", "table": {attribute: {unit, amount, r2, right_way, kept_class,
    edits, reliable}}}. reliable: at least 90 % of edits went the right way and 80 % kept
    their class."""
    rng = np.random.default_rng(seed)
    coded = []
    for split, x in (("train", x_train), ("val", x_val)):
        keep = torch.from_numpy(np.sort(rng.permutation(len(x))[:DIRECTION_IMAGES[split]]))
        x = x.cpu()[keep]
        coded += [encode_all(model, x)[0].numpy(), mm.measure_many(to_uint8(x), blank=np.nan)]
    found = dirs.fit(*coded)
    checked = dirs.check(model, atlas, n=DIRECTION_STARTS, seed=seed)
    table = {a: {"unit": mm.ATTRIBUTES[a], "amount": dirs.AMOUNTS[a], "r2": float(found["r2"][j]),
                 **checked[a], "reliable": dirs.reliable(checked[a])}
             for j, a in enumerate(dirs.ATTRIBUTES)}
    return {"weights": found["weights"], "bias": found["bias"], "table": table}


def check_writable(folder):
    """Refuse an output folder that cannot be written before any data is loaded or trained."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as e:
        raise TrainingError(f"cannot write to the output folder {folder}: {e.strerror}") from None


def resume_from(path, model, opt, scheduler):
    """Load a NAME.last.safetensors into model, optimizer and scheduler -> (epoch, best, bad,
    seconds); a file that is broken, not resumable or of another model raises TrainingError."""
    try:
        tensors, metadata = load_checkpoint(path)
        state = metadata.get("meta", {}).get("resume")
        if state is None:
            raise TrainingError(f"{path}: holds no training state to resume from")
        model.load_state_dict(model_state(tensors))
        restore_optimizer(opt, scheduler, tensors, state)
        return state["epoch"], state["best"], state["bad"], state["seconds"]
    except CheckpointError as e:
        raise TrainingError(str(e)) from None
    except (RuntimeError, KeyError, ValueError, TypeError, AttributeError) as e:
        # load_state_dict: shapes of another model; the rest: training state missing or malformed
        raise TrainingError(f"{path}: cannot resume from it: {' '.join(str(e).split())}") from None


def load_splits(recipe, data_dir):
    """-> (train, val, test), each (x, labels): data.py's three splits of the recipe's data set
    (with --limit, the first `limit` training and limit/6 validation and test examples)."""
    train, val, test = (data.load(recipe.dataset, split, data_dir) for split in data.SPLITS)
    if recipe.limit:
        n_held = max(recipe.limit // 6, 100)
        train = [t[:recipe.limit] for t in train]
        val, test = ([t[:n_held] for t in split] for split in (val, test))
    return train, val, test


def objective(metrics, recipe, key):
    """The loss that picks the epoch: the trained objective, reconstruction + beta * KL."""
    return metrics[key] + recipe.beta * metrics["kl"]


# --- the run ----------------------------------------------------------------------------------

def fit(recipe: Recipe, out, data_dir=None, device="auto", resume=None, step="eager"):
    """Train per `recipe`, writing beside `out` (NAME.safetensors) its best checkpoint (by the
    validation objective), the resumable NAME.last.safetensors, NAME.log.jsonl, NAME.curves.png
    and, for image data, NAME.atlas.safetensors -> the best checkpoint's record (meta), whose
    "test" figures are computed once, on that model, after training. Raises TrainingError,
    data.DataError, Interrupted (Ctrl-C or SIGTERM: the last whole epoch is kept), OSError.
    `step`: eager, or graph (CUDA only; see GraphedStep)."""
    with reproducible(recipe.deterministic):
        return _fit(recipe, Path(out), data_dir, device, resume, step)


@contextlib.contextmanager
def reproducible(on=True):
    """Deterministic kernels while training, as PyTorch's "Reproducibility" notes ask: cuDNN's
    deterministic convolutions without autotuning, and cuBLAS with a fixed workspace (read when
    CUDA starts, so main() sets it first; here it serves a fit() that is the process's first
    CUDA work). On the CPU the kernels are deterministic already and the results unchanged."""
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    before = torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark
    torch.use_deterministic_algorithms(on)
    torch.backends.cudnn.benchmark = False if on else before[1]
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0])
        torch.backends.cudnn.benchmark = before[1]


def _fit(recipe, out, data_dir, device, resume, step):
    check_writable(out.parent)
    torch.manual_seed(recipe.seed)
    device = pick_device(device)
    (x_train, y_train), (x_val, _), (x_test, y_test) = load_splits(recipe, data_dir)
    x_train = x_train.to(device)  # once, not an epoch's worth of copies each epoch
    is_toy = recipe.dataset in data.TOYS

    # channels_last: about 8 % more images/s for these convs on CPU (bench/train_speed.py); the
    # toys' [N, 2] batches have no channels to reorder.
    fmt = torch.contiguous_format if is_toy else torch.channels_last
    model = (ToyVAE(ToyConfig()) if is_toy else
             VAE(VAEConfig(kind=recipe.model, latent_dim=recipe.latent_dim)))
    model, key = model.to(device, memory_format=fmt), nll_key(model)
    # capturable: Adam keeps its step count on the device, so a CUDA graph can replay it
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr, capturable=step == "graph")
    scheduler = make_scheduler(opt, recipe, len(x_train))
    stepper = make_step(model, opt, step, device)
    log_path, last_path = sibling(out, ".log.jsonl"), sibling(out, ".last.safetensors")
    start, best, bad, seconds = 0, math.inf, 0, 0.0
    if resume:
        start, best, bad, seconds = resume_from(resume, model, opt, scheduler)
        lines = log_path.read_text().splitlines()[:start] if log_path.exists() else []
        log_path.write_text("".join(line + "\n" for line in lines))
        print(f"resuming {resume} after epoch {start}")
    else:  # a fresh run: an older run's log and resume point are not this run's
        log_path.unlink(missing_ok=True)
        last_path.unlink(missing_ok=True)
    print(f"{recipe.model} on {recipe.dataset}, {model.num_params():,} parameters, "
          f"{len(x_train):,} training and {len(x_val):,} validation examples, device {device}")
    print(f"training step: {stepper.kind}"
          + (", deterministic" if recipe.deterministic and device.type == "cuda" else ""))
    split = data.split_record(recipe.dataset)

    def record(epoch, val, note=None):
        kept = {k: v for k, v in asdict(recipe).items() if k != "limit"}
        return {**kept, "step": stepper.kind, "epochs_run": epoch, "seconds": round(seconds, 1),
                "parameters": model.num_params(), "selected_on": "val", "val": val,
                "split": split, **(note or {})}

    # Ctrl-C: finish nothing half-way; the last checkpoint (end of the last whole epoch) is the
    # resume point. SIGTERM is treated the same. SIGINT is set too because a run started in the
    # background (`cmd &`, nohup) inherits it ignored, and Python then installs no handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    epoch = start
    try:
        for epoch in range(start, recipe.epochs):
            t0 = time.perf_counter()
            train = train_epoch(model, opt, scheduler, x_train, recipe, epoch, device, fmt,
                                stepper)
            val = evaluate(model, x_val, device, seed=recipe.seed)
            seconds += time.perf_counter() - t0
            # The target objective at full beta, on the validation split; while beta still warms
            # up the model is not yet optimising it, so neither the best checkpoint nor the
            # plateau counter starts.
            loss = objective(val, recipe, key)
            warm = epoch + 1 >= recipe.warmup_epochs
            if warm:
                if recipe.schedule == "plateau":
                    scheduler.step(loss)
                if loss < best - 1e-3:
                    best, bad = loss, 0
                    save_model(model, out, record(epoch + 1, val))
                else:
                    bad += 1
            row = {"epoch": epoch + 1, "train": train, "val": val,
                   "lr": opt.param_groups[0]["lr"], "seconds": round(seconds, 1)}
            with open(log_path, "a") as f:
                f.write(json.dumps(row) + "\n")
            tensors, opt_state = optimizer_tensors(opt, scheduler)
            resume_state = {**opt_state, "epoch": epoch + 1, "best": best, "bad": bad,
                            "seconds": seconds}
            save_model(model, last_path, record(epoch + 1, val, {"resume": resume_state}), tensors)
            print(f"epoch {epoch + 1:3d}  train -ELBO {train['elbo']:7.2f}  val -ELBO "
                  f"{val['elbo']:7.2f} ({key.upper()} {val[key]:6.2f} + KL {val['kl']:5.2f})  "
                  f"lr {opt.param_groups[0]['lr']:.2g}  {seconds:6.1f}s", flush=True)
            if warm and bad >= recipe.patience:
                print(f"no better validation loss for {bad} epochs: stopping early")
                break
    except KeyboardInterrupt:
        raise Interrupted(epoch, last_path) from None

    plots.save(plots.training_curves({out.name: log_path}, title=out.name.removesuffix(
        ".safetensors")), sibling(out, ".curves.png"))
    try:
        model, meta = load_model(out, device)
    except CheckpointError:
        raise TrainingError(f"no checkpoint was written to {out} (the run ended before beta "
                            "warmed up)") from None
    # The test split, once, on the chosen model.
    t0 = time.perf_counter()
    final = evaluate(model, x_test, device, seed=recipe.seed)
    if not is_toy:  # the atlas and the 5-NN accuracy are of image classes
        # without the semantic directions: measuring and checking them takes minutes (--atlas-only)
        test_mu = write_atlas(model, recipe.dataset, out, x_test, y_test)
        train_mu, _ = encode_all(model, x_train)
        final["knn5_accuracy"] = lu.knn_accuracy(train_mu, y_train, test_mu, y_test, k=5)
    meta.update(test=final, total_seconds=round(seconds + time.perf_counter() - t0, 1))
    save_model(model, out, meta)
    if not is_toy:
        save_config(model.config, out)
    return meta


def iwae_images(dataset, n, data_dir=None, seed=IWAE_SEED):
    """-> (x, indices or None, how they were chosen): the whole test split (n = 0, or at least
    its size), or a fixed subset of n of its images: the first n of
    numpy.random.RandomState(seed).permutation, kept in test order."""
    x, _ = data.load(dataset, "test", data_dir)
    if not n or n >= len(x):
        return x, None, f"all {len(x):,} test images"
    keep = np.sort(np.random.RandomState(seed).permutation(len(x))[:n])
    return (x[torch.from_numpy(keep)], keep, f"{n:,} of the {len(x):,} test images, the first "
            f"{n:,} of numpy.random.RandomState({seed}).permutation({len(x)})")


def record_iwae(out, k=IWAE_K, n_images=IWAE_IMAGES, data_dir=None, device="auto"):
    """Estimate -log p(x) of the VAE at `out` on the test split with k importance samples per
    image (iwae_log_likelihood) and record it in its checkpoint: meta["test"]["iwae"] (nats per
    image, the mean of -log p(x)) and meta["iwae"] (how: k, which images, the -ELBO of the same
    images, seconds) -> meta. An AE, which has no posterior, is refused."""
    model, meta = load_model(out, device)
    if model.config.kind != "vae":
        raise TrainingError(f"{out}: an {model.config.kind.upper()} has no posterior q(z|x): "
                            "log p(x) cannot be estimated by importance sampling")
    x, keep, which = iwae_images(meta["dataset"], n_images, data_dir)
    device = next(model.parameters()).device
    t0 = time.perf_counter()
    log_px = iwae_log_likelihood(model, x, k, generator=torch.Generator().manual_seed(IWAE_SEED))
    seconds = time.perf_counter() - t0
    same = evaluate(model, x, device, seed=meta["seed"])
    meta["test"]["iwae"] = -log_px.mean().item()
    # the standard error of that mean over the chosen images (of the subset's sampling)
    sem = (-log_px).std().item() / math.sqrt(len(x)) if len(x) > 1 else None
    meta["iwae"] = {
        "k": k, "images": len(x), "which": which, "seed": IWAE_SEED,
        "indices_sha1": None if keep is None else data.indices_sha1(keep),
        "sem": sem, "seconds": round(seconds, 1),
        "elbo_same_images": same["elbo"], "device": str(device),
        "threads": torch.get_num_threads()}
    save_model(model, out, meta)
    return meta


def store_float16(out, data_dir=None, device="auto"):
    """Round the weights of the model at `out` to float16 and store them so (half the file); its
    test figures are computed again, once, on the rounded model -> meta. Its atlas is then stale:
    rewrite it (--atlas-only)."""
    model, meta = load_model(out, device)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.half().float())
    (x_train, y_train), (x_test, y_test) = (data.load(meta["dataset"], s, data_dir) for s in ("train", "test"))
    device = next(model.parameters()).device
    final = evaluate(model, x_test, device, seed=meta["seed"])
    final["knn5_accuracy"] = lu.knn_accuracy(encode_all(model, x_train)[0], y_train,
                                             encode_all(model, x_test)[0], y_test, k=5)
    meta.update(test=final, weights="float16")
    save_model(model, out, meta, dtype=torch.float16)
    return meta


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


def main(argv=None):
    recipe, args = get_args(argv)
    if recipe.deterministic:  # before CUDA starts: cuBLAS reads it then (see reproducible)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    try:
        if args.atlas_only:
            model, _ = load_model(args.out, args.device)
            (x_train, _), (x_val, _), (x_test, y_test) = load_splits(recipe, args.data_dir)
            write_atlas(model, recipe.dataset, args.out, x_test, y_test, x_train, x_val)
            save_config(model.config, args.out)
            print(f"wrote {sibling(args.out, '.atlas.safetensors')}")
            return
        if args.float16_only:
            t = store_float16(args.out, args.data_dir, args.device)["test"]
            print(f"{args.out}: float16 weights, test -ELBO {t['elbo']:.2f}, "
                  f"5-NN accuracy {t['knn5_accuracy']:.4f}")
            return
        if args.iwae_only:
            meta = record_iwae(args.out, args.iwae_k, args.iwae_images, args.data_dir,
                               args.device)
            t, i = meta["test"], meta["iwae"]
            print(f"{args.out}: -log p(x) {t['iwae']:.2f} nats (k = {i['k']}, {i['which']}; "
                  f"-ELBO of the same images {i['elbo_same_images']:.2f}), {i['seconds']:.0f}s")
            return
        meta = fit(recipe, args.out, args.data_dir, args.device, args.resume, args.step)
    except Interrupted as e:
        done = f"after epoch {e.epoch}" if e.epoch else "before the first epoch ended"
        print(f"\ninterrupted {done}; resume with: {resume_command(argv, e.last_path)}")
        sys.exit(130)
    except OSError as e:  # a full disk or a folder gone read-only mid-run
        last = sibling(args.out, ".last.safetensors")
        kept = (f"the last good checkpoint {last} is kept; once the folder can be written, "
                f"resume with: {resume_command(argv, last)}") if last.exists() else \
            "no epoch was saved"
        sys.exit(f"error: {e}; {kept}")
    except (TrainingError, CheckpointError, data.DataError) as e:
        sys.exit(f"error: {e}")
    t, key = meta["test"], "nll" if recipe.dataset in data.TOYS else "bce"
    knn = f", 5-NN accuracy {t['knn5_accuracy']:.4f}" if "knn5_accuracy" in t else ""
    print(f"best epoch {meta['epochs_run']} on validation (-ELBO {meta['val']['elbo']:.2f}): "
          f"test -ELBO {t['elbo']:.2f} ({key.upper()} {t[key]:.2f} + KL {t['kl']:.2f}){knn}, "
          f"{meta['total_seconds']:.0f}s -> {args.out}")


if __name__ == "__main__":
    main()
