"""The model, its loss terms, the importance-weighted log p(x) estimate, checkpoint I/O, and the
shipped models in pretrained/ (their records: validation, test and split).
Run: pytest tests/test_model.py (the shipped-model check reads MNIST from the data root)."""

import math
import os

import numpy as np
import pytest
import torch

import data
import latent_utils as lu
import neural_network as nn

MNIST_MODELS = ["mnist_vae_beta4", "mnist_vae_beta1", "mnist_vae_beta10", "mnist_ae", "mnist_vae_d10", "mnist_ae_d10"]
SHIPPED = MNIST_MODELS + ["fashion_vae_beta4"]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return nn.VAE(nn.VAEConfig())


def test_shapes_and_parameter_count(model):
    x = torch.rand(5, 1, 28, 28)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 2)
    out = model.decode(mu)
    assert out.shape == (5, 1, 28, 28) and out.min() >= 0 and out.max() <= 1
    assert model.num_params() == 1_337_797
    ae = nn.VAE(nn.VAEConfig(kind="ae"))
    mu, logvar = ae.encode(x)
    assert mu.shape == (5, 2) and torch.all(logvar == float("-inf"))
    assert torch.equal(nn.reparameterize(mu, logvar), mu)  # sigma 0: the code is exact


def test_kl_matches_torch_distributions():
    torch.manual_seed(1)
    mu, logvar = torch.randn(64, 2) * 2, torch.randn(64, 2)
    _, kl = nn.loss_terms(torch.zeros(64, 1, 28, 28), torch.zeros(64, 1, 28, 28), mu, logvar)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(2), torch.ones(2))
    torch.testing.assert_close(kl, torch.distributions.kl_divergence(q, p).sum(1))
    _, kl0 = nn.loss_terms(torch.zeros(1, 1, 28, 28), torch.zeros(1, 1, 28, 28),
                           torch.zeros(1, 2), torch.zeros(1, 2))
    assert kl0.item() == 0  # the prior itself


def test_an_autoencoders_kl_is_zero_and_its_gradients_finite():
    """The AE's logvar is -inf: its KL term is 0 (no posterior), decided element by element
    (no host read, so a CUDA graph can capture it), and the loss's gradients hold no NaN."""
    ae = nn.VAE(nn.VAEConfig(kind="ae"))
    bce, kl = nn.elbo_terms(ae, torch.rand(6, 1, 28, 28))
    assert torch.equal(kl, torch.zeros(6))
    (bce + 4 * kl).mean().backward()
    grads = [p.grad for p in ae.parameters()]
    assert all(torch.isfinite(g).all() for g in grads) and sum(g.abs().sum() for g in grads) > 0


def test_bce_from_logits_matches_bernoulli_log_likelihood():
    torch.manual_seed(2)
    logits, x = torch.randn(3, 1, 28, 28), torch.rand(3, 1, 28, 28).round()
    bce, _ = nn.loss_terms(logits, x, torch.zeros(3, 2), torch.zeros(3, 2))
    ll = torch.distributions.Bernoulli(logits=logits).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(bce, -ll)


def test_gradients_flow_through_the_reparameterisation(model):
    mu = torch.zeros(4, 2, requires_grad=True)
    logvar = torch.zeros(4, 2, requires_grad=True)
    z = nn.reparameterize(mu, logvar)
    z.pow(2).sum().backward()
    assert mu.grad.abs().sum() > 0 and logvar.grad.abs().sum() > 0
    model.zero_grad()
    bce, kl = nn.elbo_terms(model, torch.rand(4, 1, 28, 28))  # the trainer's loss
    (bce + kl).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


# --- the importance-weighted estimate of log p(x) (Burda et al. 2015) ---------------------------

def test_iwae_with_one_sample_is_that_samples_elbo(model):
    """k = 1: log p(x|z) + log p(z) - log q(z|x) of the one z = mu + sigma * eps, the terms
    written out with torch.distributions and loss_terms' BCE."""
    torch.manual_seed(4)
    x, eps = torch.rand(6, 1, 28, 28), torch.randn(6, 1, 2)
    got = nn.iwae_log_likelihood(model, x, k=1, eps=eps)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        sigma = torch.exp(0.5 * logvar)
        z = mu + sigma * eps[:, 0]
        bce, _ = nn.loss_terms(model.decode_logits(z), x, mu, logvar)
        prior = torch.distributions.Normal(torch.zeros(2), torch.ones(2)).log_prob(z).sum(1)
        posterior = torch.distributions.Normal(mu, sigma).log_prob(z).sum(1)
    torch.testing.assert_close(got, -bce + prior - posterior, rtol=0, atol=1e-4)


def test_iwae_is_exact_where_log_p_x_is_known():
    """q(z|x) = the prior and a decoder that ignores z: every weight p(x|z) p(z) / q(z|x) is
    p(x) itself, so the estimate is exactly the Bernoulli log-likelihood of its logits, for
    any k."""
    model = nn.VAE(nn.VAEConfig())
    with torch.no_grad():
        for layer in (model.encoder[-1], model.decoder[-1]):
            layer.weight.zero_()
        model.encoder[-1].bias.zero_()  # mu = 0, logvar = 0
        model.decoder[-1].bias.fill_(-1.5)  # every pixel's logit
    x = torch.rand(3, 1, 28, 28)
    bernoulli = torch.distributions.Bernoulli(logits=torch.tensor(-1.5), validate_args=False)
    exact = bernoulli.log_prob(x).flatten(1).sum(1)  # of grey levels too: x log p + (1 - x) log q
    for k in (1, 7, 300):
        got = nn.iwae_log_likelihood(model, x, k=k, generator=torch.Generator().manual_seed(k))
        torch.testing.assert_close(got, exact, rtol=1e-5, atol=1e-3)


@pytest.fixture(scope="module")
def shipped_vae():
    """The default shipped model, and digits it decodes itself (images it explains well: no
    data set needed)."""
    trained, _ = nn.load_model("mnist_vae_beta4", device="cpu")
    with torch.no_grad():
        x = trained.decode(torch.randn(40, 2, generator=torch.Generator().manual_seed(5)) * 0.8)
    return trained, x


def test_iwae_rises_with_k_from_the_elbo(shipped_vae):
    """Averaged over images, the k = 1 estimate is the ELBO (closed-form KL) within sampling
    error, and the bound tightens with k: k = 10 above k = 1, k = 300 above k = 10."""
    trained, x = shipped_vae
    est = {k: nn.iwae_log_likelihood(trained, x, k=k, generator=torch.Generator().manual_seed(k))
           for k in (1, 10, 300)}
    torch.manual_seed(7)
    with torch.no_grad():
        bce, kl = nn.elbo_terms(trained, x.repeat(50, 1, 1, 1))  # 50 samples of each image
    elbo = -(bce + kl).mean()
    one = nn.iwae_log_likelihood(trained, x.repeat(50, 1, 1, 1), k=1,
                                 generator=torch.Generator().manual_seed(1))
    assert abs(one.mean() - elbo) < 4 * one.std() / math.sqrt(len(one))  # the same expectation
    assert est[1].mean() < est[10].mean() < est[300].mean()


def test_iwae_does_not_depend_on_how_many_decodes_a_pass(shipped_vae):
    trained, x = shipped_vae
    eps = torch.randn(len(x), 50, 2, generator=torch.Generator().manual_seed(6))
    a, b = (nn.iwae_log_likelihood(trained, x, k=50, eps=eps, decodes=d) for d in (50, 4096))
    torch.testing.assert_close(a, b)


def test_iwae_refuses_an_ae():
    with pytest.raises(ValueError, match="AE has no q"):
        nn.iwae_log_likelihood(nn.VAE(nn.VAEConfig(kind="ae")), torch.rand(2, 1, 28, 28), k=2)


def test_save_load_round_trip_is_bit_exact(tmp_path, model):
    path = tmp_path / "m.safetensors"
    meta = {"dataset": "mnist", "beta": 4.0, "test": {"elbo": 143.2}}
    nn.save_model(model, path, meta)
    loaded, meta2 = nn.load_model(path, device="cpu")
    assert meta2 == meta and loaded.config == model.config
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    z = torch.randn(8, 2)
    assert torch.equal(model.decode(z), loaded.decode(z))
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left no temp file
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not a private one


def test_save_is_atomic_when_the_write_fails(tmp_path, model, monkeypatch):
    path = tmp_path / "m.safetensors"
    nn.save_model(model, path, {"epoch": 1})
    before = path.read_bytes()

    def broken(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(nn, "save_file", broken)
    with pytest.raises(OSError, match="No space"):
        nn.save_model(model, path, {"epoch": 2})
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp"))


def test_each_corrupt_checkpoint_gives_its_clear_error(corrupt_checkpoints):
    for name, (path, pattern) in corrupt_checkpoints.items():
        with pytest.raises(nn.CheckpointError, match=pattern) as e:
            nn.load_model(path, device="cpu")
        assert str(path) in str(e.value), name


def test_device_rule():
    assert nn.pick_device("cpu").type == "cpu"
    assert nn.pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError):
        nn.pick_device("tpu")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_loads_with_its_atlas_and_record(name):
    model, meta = nn.load_model(name, device="cpu")
    atlas = lu.load_atlas(name)
    assert meta["dataset"] == atlas["dataset"] == ("fashion" if name.startswith("fashion") else "mnist")
    assert meta["model"] == model.config.kind
    assert {"elbo", "bce", "kl", "knn5_accuracy"} <= set(meta["test"])
    # picked on the validation split, which the record names; tested once, after
    assert meta["selected_on"] == "val" and {"elbo", "bce", "kl"} <= set(meta["val"])
    assert meta["split"] == data.split_record(meta["dataset"])
    if model.config.kind == "vae" and model.config.latent_dim == 2:  # log p(x) (trainer.py --iwae-only)
        iwae = meta["iwae"]
        assert iwae["k"] == 1000 and iwae["images"] >= 2000
        assert 0 < meta["test"]["iwae"] <= iwae["elbo_same_images"]  # tighter than the ELBO
    elif model.config.kind == "ae":
        assert "iwae" not in meta["test"]
    d = model.config.latent_dim
    assert len(atlas["mu"]) >= 2000 and atlas["centres"].shape == (10, d) and atlas["mu"].shape[1] == d
    lo, hi = np.reshape(atlas["extent"], (d, 2)).T
    assert (lo < hi).all()


@pytest.mark.slow
@pytest.mark.parametrize("name", MNIST_MODELS)
def test_shipped_class_centres_decode_to_their_class(name, mnist_train):
    """Judge each decoded centre with a classifier that shares nothing with the model: the
    10-NN vote of the 55k MNIST training images in pixel space (about 97 % accurate on the
    test set). Also check the decode re-encodes among its own class on the atlas."""
    model, _ = nn.load_model(name, device="cpu")
    atlas = lu.load_atlas(name)
    x, labels = mnist_train
    with torch.no_grad():
        images = model.decode(atlas["centres"])
        again, _ = model.encode(images)
    pixel_votes = lu.knn_predict(x.flatten(1), labels, images.flatten(1), k=10)
    assert pixel_votes.tolist() == list(range(10))
    latent_votes = lu.knn_predict(atlas["mu"], atlas["labels"], again, k=15)
    assert latent_votes.tolist() == list(range(10))
