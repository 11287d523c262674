"""The 2-D toy part: toy.py's data sets against their definitions, the ToyVAE and its Gaussian
NLL, a short real toy training run through trainer.py, and toy.py's figures of it.
Run: pytest tests/test_toy.py (about 20 s; needs no data set on disk)."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import neural_network as nn
import toy
import trainer

ROOT = Path(__file__).resolve().parents[1]


def cov(x):
    return torch.cov(x.T)


# --- the data -------------------------------------------------------------------------------------
# Tolerances: four or more standard errors of each estimate at these sizes (10,000 points: a mean
# to 0.01 sigma, a variance to 0.014 sigma^2).

def test_toy1_is_the_axis_aligned_gaussian_stretched_5_to_1():
    x, labels = toy.toy_split("toy1", "train")
    assert x.shape == (10_000, 2) and x.dtype == torch.float32 and labels.dtype == torch.int64
    assert torch.all(labels == 0)
    torch.testing.assert_close(x.mean(0), torch.tensor([1.0, 2.0]), atol=0.04, rtol=0)
    torch.testing.assert_close(cov(x), torch.tensor([[1.0, 0.0], [0.0, 0.04]]), atol=0.05,
                               rtol=0.05)
    assert 4.8 < (x[:, 0].std() / x[:, 1].std()).item() < 5.2


def test_toy2_is_toy1_rotated_45_degrees_about_its_mean():
    x1, _ = toy.toy_split("toy1", "train")
    x2, labels = toy.toy_split("toy2", "train")
    assert torch.all(labels == 0)
    mean = torch.tensor(toy.MEAN)
    c, s = math.cos(math.pi / 4), math.sin(math.pi / 4)
    rotated = (x1 - mean) @ torch.tensor([[c, s], [-s, c]]) + mean  # row vectors: x R^T
    torch.testing.assert_close(x2, rotated)
    torch.testing.assert_close(x2.mean(0), mean, atol=0.04, rtol=0)
    # R diag(1, 0.04) R^T; its long axis at 45 degrees
    torch.testing.assert_close(cov(x2), torch.tensor([[0.52, 0.48], [0.48, 0.52]]), atol=0.05,
                               rtol=0)
    values, vectors = torch.linalg.eigh(cov(x2))
    long_axis = vectors[:, values.argmax()]
    angle = math.degrees(math.atan2(long_axis[1], long_axis[0])) % 180
    assert abs(angle - 45) < 1


def test_toy3_is_two_blobs_and_a_lower_half_ring_with_their_labels():
    x, labels = toy.toy_split("toy3", "train")
    assert set(labels.tolist()) == {0, 1, 2}
    for c in range(3):
        assert abs((labels == c).float().mean().item() - 1 / 3) < 0.02
    for c, centre in enumerate(toy.BLOBS):
        blob = x[labels == c]
        torch.testing.assert_close(blob.mean(0), torch.tensor(centre), atol=0.02, rtol=0)
        torch.testing.assert_close(cov(blob), toy.BLOB_STD ** 2 * torch.eye(2), atol=0.006, rtol=0)
    ring = x[labels == 2]
    radius = ring.norm(dim=1)
    assert abs(radius.mean().item() - toy.RADIUS) < 0.01
    assert abs(radius.std().item() - toy.RING_STD) < 0.01
    assert torch.all(ring[:, 1] <= 0)  # the lower half: angles in [pi, 2 pi]
    assert ring[:, 0].min() < -1.9 and ring[:, 0].max() > 1.9  # all of it, end to end


def test_the_splits_are_fixed_sized_and_disjoint():
    for name in toy.DATASETS:
        splits = {s: toy.toy_split(name, s)[0] for s in toy.SPLITS}
        assert [len(x) for x in splits.values()] == [10_000, 2_000, 2_000]
        assert torch.equal(splits["test"], toy.toy_split(name, "test")[0])  # a pure function
        for a, b in [("train", "val"), ("train", "test"), ("val", "test")]:
            d = torch.cdist(splits[a], splits[b], compute_mode="donot_use_mm_for_euclid_dist")
            assert d.min() > 0, (name, a, b)  # no point in two splits
    with pytest.raises(ValueError, match="toy1, toy2, toy3"):
        toy.toy_data("toy4", 10, 0)


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
    args = trainer.get_args(["--dataset", "toy2", "--beta", "2"])
    assert (args.beta, args.out) == (2.0, "runs/toy2.safetensors")
    assert all(getattr(args, k) == v for k, v in trainer.TOY_DEFAULTS.items() if k != "beta")
    mnist = trainer.get_args([])
    assert (mnist.beta, mnist.epochs, mnist.batch_size) == (4.0, 28, 256)  # the MNIST recipe
    with pytest.raises(SystemExit):
        trainer.get_args(["--dataset", "toy1", "--model", "ae"])


@pytest.fixture(scope="module")
def toy3_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("toy") / "toy3.safetensors"
    r = subprocess.run([sys.executable, str(ROOT / "trainer.py"), "--dataset", "toy3",
                        "--epochs", "8", "--warmup-epochs", "1", "--out", str(out)],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    return out


def test_a_short_toy_run_improves_its_elbo_and_writes_a_loadable_checkpoint(toy3_run):
    log = toy3_run.with_suffix(".log.jsonl")
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["epoch"] for r in rows] == list(range(1, 9))
    assert all(set(r[s]) == {"nll", "kl", "elbo"} for r in rows for s in ("train", "val", "test"))
    assert rows[-1]["test"]["elbo"] < rows[0]["test"]["elbo"] - 0.3  # 3.11 -> 2.48 nats (seed 0)
    model, meta = nn.load_model(toy3_run, device="cpu")
    assert isinstance(model, nn.ToyVAE) and meta["dataset"] == "toy3" and meta["beta"] == 1.0
    assert set(meta["test"]) == {"nll", "kl", "elbo"}
    assert math.isclose(meta["test"]["elbo"], meta["test"]["nll"] + meta["test"]["kl"])
    assert (toy3_run.parent / "toy3.curves.png").exists()
    assert not (toy3_run.parent / "toy3.atlas.safetensors").exists()  # no atlas for a toy


def test_the_figure_command_writes_its_pngs(toy3_run, tmp_path):
    toy.main(["--out", str(tmp_path), "--models", str(toy3_run)])
    for name in ("curves.png", "samples.png", "latent.png"):
        png = (tmp_path / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000, name
