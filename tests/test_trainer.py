"""Short real training runs on a slice of MNIST in a temp dir: the files a run writes, and
resume after Ctrl-C continuing exactly where it stopped. Run: pytest tests/test_trainer.py"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import latent_utils as lu
import neural_network as nn

ROOT = Path(__file__).resolve().parents[1]
DATA = os.environ.get("LSN_DATA_DIR", str(ROOT.parent / "shared" / "datasets"))
pytestmark = pytest.mark.skipif(
    not (Path(DATA) / "MNIST" / "raw" / "train-images-idx3-ubyte").exists(),
    reason=f"MNIST not found under {DATA} (set LSN_DATA_DIR)")


def train_cmd(out, *extra):
    return [sys.executable, str(ROOT / "trainer.py"), "--data-dir", DATA, "--limit", "3000",
            "--batch-size", "128", "--warmup-epochs", "1", "--out", str(out), *extra]


def run(cmd, timeout=180):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_one_epoch_run_writes_checkpoint_log_curves_and_atlas(tmp_path):
    out = tmp_path / "m.safetensors"
    r = run(train_cmd(out, "--epochs", "1", "--seed", "3"))
    assert r.returncode == 0, r.stderr
    model, meta = nn.load_model(out, device="cpu")
    assert meta["epochs_run"] == 1 and meta["seed"] == 3 and meta["dataset"] == "mnist"
    assert meta["parameters"] == model.num_params()
    assert 0 <= meta["test"]["knn5_accuracy"] <= 1 and meta["test"]["elbo"] > 0
    rows = [json.loads(line) for line in (tmp_path / "m.log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1]
    assert set(rows[0]["test"]) == {"bce", "kl", "elbo"}
    png = (tmp_path / "m.curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    atlas = lu.load_atlas(out)
    assert len(atlas["mu"]) == 500 and atlas["centres"].shape == (10, 2)


def test_same_seed_same_weights(tmp_path):
    outs = [tmp_path / "a.safetensors", tmp_path / "b.safetensors"]
    for out in outs:
        assert run(train_cmd(out, "--epochs", "1", "--limit", "1000")).returncode == 0
    (a, _), (b, _) = (nn.load_model(o, device="cpu") for o in outs)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_ctrl_c_then_resume_continues_exactly(tmp_path):
    whole = tmp_path / "whole.safetensors"
    assert run(train_cmd(whole, "--epochs", "3")).returncode == 0

    cut = tmp_path / "cut.safetensors"
    proc = subprocess.Popen(train_cmd(cut, "--epochs", "3"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
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
    assert [json.loads(line)["test"] for line in logs[0]] == [json.loads(line)["test"] for line in logs[1]]
    (a, _), (b, _) = (nn.load_model(tmp_path / f"{n}.last.safetensors", device="cpu")
                      for n in ("whole", "cut"))
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_bad_data_dir_names_where_to_put_the_files(tmp_path):
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


def test_nan_loss_stops_naming_the_epoch_and_batch():
    import trainer

    args = trainer.get_args(["--epochs", "2", "--batch-size", "16"])
    model = nn.VAE(nn.VAEConfig())
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = trainer.make_scheduler(opt, args, 64)
    with torch.no_grad():
        model.decoder[-1].bias.fill_(float("nan"))  # every reconstruction, so the first loss
    with pytest.raises(SystemExit) as e:
        trainer.train_epoch(model, opt, scheduler, torch.rand(64, 1, 28, 28), args, 1, "cpu")
    assert str(e.value).startswith("error: the loss became nan in epoch 2, batch 1 ")
    assert "--lr" in str(e.value)
