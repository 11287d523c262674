"""Short real training runs on a slice of MNIST in a temp dir: the files a run writes, the epoch
picked on the validation split (and the test split read only once, after training), the same
seed giving the same weights, resume after Ctrl-C continuing exactly where it stopped, fit()
called from Python as the bench does. Run: pytest tests/test_trainer.py"""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import data
import latent_utils as lu
import neural_network as nn
import trainer

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.train


@pytest.fixture
def train_cmd(mnist_root):
    def command(out, *extra):
        return [sys.executable, str(ROOT / "trainer.py"), "--data-dir", str(mnist_root),
                "--limit", "3000", "--batch-size", "128", "--warmup-epochs", "1", "--out",
                str(out), *extra]
    return command


@pytest.fixture
def run(single_thread_env):
    def run(cmd, timeout=180):
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env=single_thread_env)
    return run


def test_one_epoch_run_writes_checkpoint_log_curves_and_atlas(tmp_path, train_cmd, run):
    out = tmp_path / "m.safetensors"
    r = run(train_cmd(out, "--epochs", "1", "--seed", "3"))
    assert r.returncode == 0, r.stderr
    model, meta = nn.load_model(out, device="cpu")
    assert meta["epochs_run"] == 1 and meta["seed"] == 3 and meta["dataset"] == "mnist"
    assert meta["parameters"] == model.num_params()
    assert 0 <= meta["test"]["knn5_accuracy"] <= 1 and meta["test"]["elbo"] > 0
    rows = [json.loads(line) for line in (tmp_path / "m.log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1]
    assert set(rows[0]) == {"epoch", "train", "val", "lr", "seconds"}  # no test during training
    assert set(rows[0]["val"]) == {"bce", "kl", "elbo"} and meta["val"] == rows[0]["val"]
    assert meta["selected_on"] == "val" and meta["split"] == data.split_record("mnist")
    assert meta["split"]["val_sha1"] == data.VAL_SHA1["mnist"]
    curves = np.asarray(Image.open(tmp_path / "m.curves.png").convert("L"))
    assert curves.shape[1] > 800 and curves.min() < 60 and (curves < 200).mean() > 0.01
    atlas = lu.load_atlas(out)
    assert len(atlas["mu"]) == 500 and atlas["centres"].shape == (10, 2)
    x_test = data.load("mnist", "test")[0][:500]
    torch.testing.assert_close(atlas["mu"], nn.encode_all(model, x_test)[0])  # the test codes


def test_same_seed_same_weights(tmp_path, train_cmd, run):
    outs = [tmp_path / "a.safetensors", tmp_path / "b.safetensors"]
    for out in outs:
        assert run(train_cmd(out, "--epochs", "1", "--limit", "1000")).returncode == 0
    (a, _), (b, _) = (nn.load_model(o, device="cpu") for o in outs)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_ctrl_c_then_resume_continues_exactly(tmp_path, train_cmd, run, single_thread_env):
    whole = tmp_path / "whole.safetensors"
    assert run(train_cmd(whole, "--epochs", "3")).returncode == 0

    cut = tmp_path / "cut.safetensors"
    proc = subprocess.Popen(train_cmd(cut, "--epochs", "3"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=single_thread_env)
    deadline = time.monotonic() + 120
    for line in proc.stdout:  # bounded: the run itself ends within three short epochs
        if line.startswith("epoch   1") or time.monotonic() > deadline:
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stdout.read()
    assert proc.wait(timeout=60) == 130, rest
    assert "resume with: python trainer.py --resume" in rest
    last = tmp_path / "cut.last.safetensors"
    _, meta = nn.load_model(last, device="cpu")
    assert meta["epochs_run"] == 1

    r = run(train_cmd(cut, "--epochs", "3", "--resume", str(last)))
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stdout and "after epoch 1" in r.stdout
    logs = [(tmp_path / f"{n}.log.jsonl").read_text().splitlines() for n in ("whole", "cut")]
    assert len(logs[1]) == 3
    assert [json.loads(line)["val"] for line in logs[0]] == [json.loads(line)["val"] for line in logs[1]]
    # the kept checkpoint is the epoch of the lowest validation objective (beta 4 from epoch 1)
    rows = [json.loads(line) for line in logs[0]]
    picked = min(rows, key=lambda r: r["val"]["bce"] + 4 * r["val"]["kl"])
    meta = nn.load_model(whole, device="cpu")[1]
    assert meta["epochs_run"] == picked["epoch"] and meta["val"] == picked["val"]
    (a, _), (b, _) = (nn.load_model(tmp_path / f"{n}.last.safetensors", device="cpu")
                      for n in ("whole", "cut"))
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_bad_data_dir_names_where_to_put_the_files(tmp_path, run):
    """Four corrupt files: torchvision finds them (so it downloads nothing) and cannot read them."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"garbage")
    r = run([sys.executable, str(ROOT / "trainer.py"), "--data-dir", str(tmp_path), "--epochs", "1",
             "--out", str(tmp_path / "m.safetensors")], timeout=120)
    assert r.returncode != 0
    assert str(tmp_path / "MNIST" / "raw") in r.stderr and "Traceback" not in r.stderr


def test_fit_from_python_returns_the_record_it_saved(tmp_path, mnist_root):
    recipe = trainer.recipe_for("mnist", epochs=1, warmup_epochs=1, batch_size=128, limit=1200,
                                seed=5)
    meta = trainer.fit(recipe, tmp_path / "f.safetensors", device="cpu")
    _, saved = nn.load_model(tmp_path / "f.safetensors", device="cpu")
    assert meta == saved and meta["seed"] == 5 and meta["epochs_run"] == 1
    assert meta["test"]["elbo"] == pytest.approx(meta["test"]["bce"] + meta["test"]["kl"])


def test_training_reads_the_test_split_only_once_after_the_last_epoch(tmp_path, monkeypatch):
    """Made-up data of three sizes, so each evaluation says which split it scored."""
    gen = torch.Generator().manual_seed(0)
    sizes = {"train": 640, "val": 96, "test": 160}
    monkeypatch.setattr(data, "load", lambda dataset, split, root=None: (
        torch.rand(sizes[split], 1, 28, 28, generator=gen), torch.arange(sizes[split]) % 10))
    scored, real = [], trainer.evaluate
    monkeypatch.setattr(trainer, "evaluate", lambda model, x, *a, **k: (
        scored.append(len(x)), real(model, x, *a, **k))[1])
    meta = trainer.fit(trainer.recipe_for("mnist", epochs=3, warmup_epochs=1, batch_size=64),
                       tmp_path / "m.safetensors", device="cpu")
    assert scored == [96, 96, 96, 160]  # validation after each epoch, then the test split once
    rows = [json.loads(line) for line in (tmp_path / "m.log.jsonl").read_text().splitlines()]
    assert all("test" not in r for r in rows)
    assert meta["val"] == rows[meta["epochs_run"] - 1]["val"] and "knn5_accuracy" in meta["test"]


@pytest.mark.parametrize("epoch, bad_batch", [(0, 1), (1, 1), (0, 3), (1, 27)])
def test_nan_loss_stops_naming_the_epoch_and_batch(epoch, bad_batch):
    """The loss is checked every CHECK_EVERY (20) steps, not at each: the message still names the
    first bad batch, with its beta and learning rate. 30 batches of 2."""
    recipe = trainer.Recipe(epochs=2, batch_size=2, warmup_epochs=2)
    model = nn.VAE(nn.VAEConfig())
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    scheduler = trainer.make_scheduler(opt, recipe, 60)
    forward, calls = model.decode_logits, [0]

    def decode_logits(z):  # NaN reconstructions from the bad batch on, as a blown-up net gives
        calls[0] += 1
        return forward(z) * (float("nan") if calls[0] >= bad_batch else 1.0)
    model.decode_logits = decode_logits
    with pytest.raises(trainer.TrainingError) as e:
        trainer.train_epoch(model, opt, scheduler, torch.rand(60, 1, 28, 28), recipe, epoch, "cpu")
    ref_opt = torch.optim.Adam(nn.VAE(nn.VAEConfig()).parameters(), lr=recipe.lr)
    ref = trainer.make_scheduler(ref_opt, recipe, 60)
    for _ in range(bad_batch - 1):  # the learning rate of that step
        ref_opt.step()
        ref.step()
    beta = trainer.beta_at(recipe, epoch + (bad_batch - 1) / 30)
    assert str(e.value).startswith(
        f"the loss became nan in epoch {epoch + 1}, batch {bad_batch} (beta {beta:.3g}, lr "
        f"{ref_opt.param_groups[0]['lr']:.3g}); "), str(e.value)
    assert "--lr" in str(e.value)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (bench/gpu_check.sh)")


def small_fit(tmp_path, name, **changes):
    recipe = trainer.recipe_for("mnist", epochs=2, warmup_epochs=1, batch_size=128, limit=1500,
                                seed=11, **changes.pop("recipe", {}))
    meta = trainer.fit(recipe, tmp_path / f"{name}.safetensors", **changes)
    return nn.load_model(tmp_path / f"{name}.last.safetensors", device="cpu")[0], meta


def test_deterministic_kernels_leave_cpu_training_unchanged(tmp_path, mnist_root):
    """reproducible() changes which CUDA kernels run, never the CPU's results, and puts the
    process's settings back when the run ends."""
    a, meta = small_fit(tmp_path, "det", device="cpu")
    b, _ = small_fit(tmp_path, "fast", device="cpu", recipe=dict(deterministic=False))
    assert meta["deterministic"] is True and meta["step"] == "eager"
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.are_deterministic_algorithms_enabled()


def test_step_flags(tmp_path):
    recipe, args = trainer.get_args(["--fast-nondeterministic", "--step", "eager"])
    assert recipe.deterministic is False and args.step == "eager"
    assert trainer.get_args([])[0].deterministic is True
    with pytest.raises(trainer.TrainingError, match="needs CUDA"):
        trainer.make_step(nn.VAE(nn.VAEConfig()), None, "graph", "cpu")


@needs_cuda
def test_graphed_step_trains_as_the_eager_step_does(tmp_path, mnist_root):
    """The same recipe, noise and data order, the step replayed from a CUDA graph or run
    eagerly: the same model, up to float rounding (the graph's Adam is the capturable one)."""
    g, meta = small_fit(tmp_path, "graph", device="cuda", step="graph")
    e, _ = small_fit(tmp_path, "eager", device="cuda", step="eager")
    assert meta["step"] == "CUDA graph"
    for (name, p), q in zip(g.state_dict().items(), e.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=1e-3, atol=1e-4, msg=name)


@needs_cuda
def test_graphed_runs_with_one_seed_are_bit_identical(tmp_path, mnist_root):
    a, _ = small_fit(tmp_path, "a", device="cuda", step="graph")
    b, _ = small_fit(tmp_path, "b", device="cuda", step="graph")
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_semantic_directions_of_a_shipped_model(mnist_root, monkeypatch):
    """The directions trainer.py stores with an atlas, on a small budget: six attributes, each
    with its R^2 on validation images and its edit check; slant, the attribute a 2-D latent
    holds best, is fitted with some skill and its edits mostly go the right way."""
    monkeypatch.setattr(trainer, "DIRECTION_IMAGES", {"train": 400, "val": 200})
    monkeypatch.setattr(trainer, "DIRECTION_STARTS", 12)
    model, _ = nn.load_model("mnist_vae_beta4", device="cpu")
    atlas = lu.load_atlas("mnist_vae_beta4")
    x_train, x_val = (data.load("mnist", s, mnist_root)[0] for s in ("train", "val"))
    found = trainer.semantic_directions(model, atlas, x_train, x_val)
    assert found["weights"].shape == (6, 2) and found["bias"].shape == (6,)
    table = found["table"]
    assert list(table) == ["area", "length", "thickness", "slant", "width", "height"]
    assert all(t["edits"] == 24 and 0 <= t["right_way"] <= 1 for t in table.values())
    assert table["slant"]["r2"] > 0.05 and table["slant"]["right_way"] >= 0.75
    assert table["slant"]["reliable"] == (table["slant"]["right_way"] >= 0.9
                                          and table["slant"]["kept_class"] >= 0.8)
