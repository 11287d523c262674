"""The model, its loss terms and checkpoint I/O, and the shipped models in pretrained/.
Run: pytest tests/test_model.py (the shipped-model check reads MNIST from the data root)."""

import os

import pytest
import torch

import latent_utils as lu
import neural_network as nn

MNIST_MODELS = ["mnist_vae_beta4", "mnist_vae_beta1", "mnist_vae_beta10", "mnist_ae"]
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
    assert len(atlas["mu"]) >= 2000 and atlas["centres"].shape == (10, 2)
    xmin, xmax, ymin, ymax = atlas["extent"]
    assert xmin < xmax and ymin < ymax


@pytest.mark.slow
@pytest.mark.parametrize("name", MNIST_MODELS)
def test_shipped_class_centres_decode_to_their_class(name, mnist_train):
    """Judge each decoded centre with a classifier that shares nothing with the model: the
    10-NN vote of the 60k MNIST training images in pixel space (about 97 % accurate on the
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
