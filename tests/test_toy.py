"""The 2-D toy part: the ToyVAE and its Gaussian NLL, a short real toy training run through
trainer.py, and figures.py --toy's figures of it (the toy data sets are tested in test_data.py).
Run: pytest tests/test_toy.py (about 20 s; needs no data set on disk)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import data
import figures
import neural_network as nn
import trainer

ROOT = Path(__file__).resolve().parents[1]


# --- the model --------------------------------------------------------------------------------

def test_toy_vae_shapes():
    torch.manual_seed(0)
    model = nn.ToyVAE(nn.ToyConfig())
    mu, logvar = model.encode(torch.randn(5, 2))
    assert mu.shape == logvar.shape == (5, 2)
    x_mu, x_logvar = model.decode_params(mu)
    assert x_mu.shape == x_logvar.shape == (5, 2)
    assert torch.equal(model.decode(mu), x_mu)
    assert model.num_params() == 17_544


def test_gaussian_nll_matches_torch_distributions():
    torch.manual_seed(1)
    x, mu, logvar = torch.randn(64, 2) * 3, torch.randn(64, 2), torch.randn(64, 2) * 2
    expected = -torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).log_prob(x).sum(1)
    torch.testing.assert_close(nn.gaussian_nll(x, mu, logvar), expected)


def test_elbo_terms_of_a_toy_vae_are_its_gaussian_nll_and_kl():
    torch.manual_seed(2)
    model, x, eps = nn.ToyVAE(nn.ToyConfig()), torch.randn(16, 2), torch.randn(16, 2)
    nll, kl = nn.elbo_terms(model, x, eps)
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * eps
    torch.testing.assert_close(nll, nn.gaussian_nll(x, *model.decode_params(z)))
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(2), torch.ones(2))
    torch.testing.assert_close(kl, torch.distributions.kl_divergence(q, p).sum(1))


def test_toy_save_load_round_trip(tmp_path):
    torch.manual_seed(3)
    model = nn.ToyVAE(nn.ToyConfig(hidden=16, depth=1))
    path = tmp_path / "toy.safetensors"
    nn.save_model(model, path, {"dataset": "toy2"})
    loaded, meta = nn.load_model(path, device="cpu")
    assert isinstance(loaded, nn.ToyVAE) and loaded.config == model.config
    assert meta == {"dataset": "toy2"}
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    z = torch.randn(8, 2)
    assert all(torch.equal(a, b) for a, b in zip(model.decode_params(z), loaded.decode_params(z)))


# --- the trainer and the figures -----------------------------------------------------------------

def test_a_toy_sets_its_own_defaults_and_flags_still_win():
    recipe, args = trainer.get_args(["--dataset", "toy2", "--beta", "2"])
    assert (recipe.beta, args.out) == (2.0, "runs/toy2.safetensors")
    assert all(getattr(recipe, k) == v for k, v in trainer.TOY_DEFAULTS.items() if k != "beta")
    assert recipe == trainer.recipe_for("toy2", beta=2.0)
    mnist, _ = trainer.get_args([])
    assert mnist == trainer.Recipe()
    assert (mnist.beta, mnist.epochs, mnist.batch_size) == (4.0, 30, 256)  # the MNIST recipe
    with pytest.raises(SystemExit):
        trainer.get_args(["--dataset", "toy1", "--model", "ae"])


@pytest.fixture(scope="module")
def toy3_run(tmp_path_factory, single_thread_env):
    out = tmp_path_factory.mktemp("toy") / "toy3.safetensors"
    r = subprocess.run([sys.executable, str(ROOT / "trainer.py"), "--dataset", "toy3",
                        "--epochs", "8", "--warmup-epochs", "1", "--out", str(out)],
                       capture_output=True, text=True, timeout=120, env=single_thread_env)
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.train
def test_a_short_toy_run_improves_its_elbo_and_writes_a_loadable_checkpoint(toy3_run):
    log = toy3_run.with_suffix(".log.jsonl")
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["epoch"] for r in rows] == list(range(1, 9))
    assert all(set(r[s]) == {"nll", "kl", "elbo"} for r in rows for s in ("train", "val"))
    assert all("test" not in r for r in rows)  # the test split is scored once, after training
    assert rows[-1]["val"]["elbo"] < rows[0]["val"]["elbo"] - 0.3  # 3.11 -> 2.48 nats (seed 0)
    model, meta = nn.load_model(toy3_run, device="cpu")
    assert isinstance(model, nn.ToyVAE) and meta["dataset"] == "toy3" and meta["beta"] == 1.0
    assert set(meta["test"]) == {"nll", "kl", "elbo"}
    # the same selection as the image data sets: on the validation split, which it records
    assert meta["selected_on"] == "val" and meta["val"] == rows[meta["epochs_run"] - 1]["val"]
    assert meta["split"] == data.split_record("toy3")
    assert math.isclose(meta["test"]["elbo"], meta["test"]["nll"] + meta["test"]["kl"])
    assert (toy3_run.parent / "toy3.curves.png").exists()
    assert not (toy3_run.parent / "toy3.atlas.safetensors").exists()  # no atlas for a toy


@pytest.mark.train
def test_the_figure_command_writes_its_pngs(toy3_run, tmp_path):
    figures.main(["--toy", "--out", str(tmp_path), "--models", str(toy3_run)])
    for name in ("curves.png", "samples.png", "latent.png"):
        pixels = np.asarray(Image.open(tmp_path / name).convert("L"))
        assert min(pixels.shape) > 200, name
        assert pixels.min() < 100 and pixels.max() > 240 and (pixels < 250).mean() > 0.01, name
