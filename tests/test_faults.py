"""Faults: every corrupt checkpoint test_model.py builds, at each place that loads one besides
load_model itself (trainer --resume and --atlas-only, interpolation.py, model_card.py, and the app,
which refuses that model and keeps serving the others); the trainer killed by SIGINT and SIGKILL
mid-epoch, then resumed; a full disk or an unwritable folder during a save.
Run: pytest tests/test_faults.py (the kill tests train on a slice of MNIST from the data root)."""

import errno
import json
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import gradio as gr
import pytest
import torch
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image
from safetensors import SafetensorError

import api
import data
import demo
import interpolation
import latent_utils as lu
import model_card
import neural_network as nn
import trainer
from bench.harness import free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corrupt(corrupt_checkpoints):
    """conftest's broken checkpoints: {case: (path, words its load error contains)}."""
    return corrupt_checkpoints


@pytest.fixture
def small_data(monkeypatch):
    """600 random 'images' instead of MNIST: these trainer runs test file handling, not learning.
    trainer.fit turns SIGTERM into Ctrl-C; the fixture gives pytest its own handler back."""
    gen = torch.Generator().manual_seed(0)
    monkeypatch.setattr(data, "load", lambda dataset, split, root=None: (
        torch.rand(600, 1, 28, 28, generator=gen), torch.arange(600) % 10))
    sigterm = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, sigterm)


def exit_message(fn, *args):
    """The message fn(*args) exits with (a SystemExit with a text code, not a traceback)."""
    with pytest.raises(SystemExit) as e:
        fn(*args)
    assert isinstance(e.value.code, str), e.value.code
    return e.value.code


def one_line_error(text, path):
    assert text.startswith("error:") and "\n" not in text.strip() and str(path) in text, text


# --- corrupt checkpoints beyond load_model (test_model.py covers load_model itself) -----------

def test_trainer_resume_refuses_each_corrupt_checkpoint(corrupt, small_data, tmp_path):
    out = tmp_path / "m.safetensors"
    for case, (path, _) in corrupt.items():
        msg = exit_message(trainer.main, ["--resume", str(path), "--out", str(out), "--epochs", "1",
                                          "--batch-size", "64"])
        one_line_error(msg, path)
    assert not out.exists() and not list(tmp_path.iterdir())  # nothing trained, nothing written


def test_trainer_resume_refuses_a_checkpoint_of_another_model(small_data, tmp_path):
    """A valid resumable checkpoint of an AE handed to a VAE run: weights of the wrong shapes."""
    ae = tmp_path / "ae.safetensors"
    assert trainer.main(["--model", "ae", "--beta", "0", "--warmup-epochs", "0", "--epochs", "1",
                         "--batch-size", "64", "--out", str(ae)]) is None
    last = tmp_path / "ae.last.safetensors"
    msg = exit_message(trainer.main, ["--resume", str(last), "--out", str(tmp_path / "v.safetensors")])
    one_line_error(msg, last)
    assert "size mismatch" in msg


def test_trainer_atlas_only_refuses_each_corrupt_checkpoint(corrupt, small_data):
    for case, (path, words) in corrupt.items():
        msg = exit_message(trainer.main, ["--atlas-only", "--out", str(path)])
        one_line_error(msg, path)
        assert re.search(words, msg), (case, msg)


def test_interpolation_tool_refuses_each_corrupt_checkpoint(corrupt, tmp_path, capsys):
    for case, (path, words) in corrupt.items():
        with pytest.raises(SystemExit) as e:
            interpolation.main(["--model_path", str(path), "--source", "centroid",
                                "--output_dir", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert e.value.code == 2, case
        one_line_error(err, path)
        assert re.search(words, err), (case, err)
    assert not (tmp_path / "out").exists()


def save_good(path):
    """An untrained model with the record trainer.py writes and an atlas of random codes."""
    model = nn.VAE(nn.VAEConfig(kind="ae"))
    nn.save_model(model, path, {
        "dataset": "mnist", "model": "ae", "beta": 0.0, "warmup_epochs": 0, "epochs_run": 1,
        "seed": 0, "parameters": model.num_params(), "total_seconds": 1.0,
        "test": {"bce": 200.0, "kl": 0.0, "elbo": 200.0, "knn5_accuracy": 0.1}})
    mu = torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(500) % 10
    centres = torch.stack([mu[labels == c].mean(0) for c in range(10)])
    lu.save_atlas(lu.atlas_path(path), mu, torch.zeros_like(mu), labels, centres,
                  data.CLASSES["mnist"], "mnist")


def pretrained_with(folder, broken):
    """A pretrained/ folder holding a good model and each broken checkpoint as broken_CASE; one
    more model has good weights and a corrupt atlas."""
    folder.mkdir()
    save_good(folder / "good.safetensors")
    shutil.copy(folder / "good.safetensors", folder / "bad_atlas.safetensors")
    (folder / "bad_atlas.atlas.safetensors").write_bytes(b"\0" * 100)
    for case, (path, _) in broken.items():
        if path.exists():  # "missing" has no file, so it is no model
            shutil.copy(path, folder / f"broken_{case}.safetensors")
    return folder


@pytest.fixture
def pretrained(tmp_path, corrupt, monkeypatch, fresh_store):
    folder = pretrained_with(tmp_path / "pretrained", corrupt)
    monkeypatch.setattr(nn, "PRETRAINED", folder)  # list_models and model_path read it per call
    monkeypatch.setattr(model_card, "PRETRAINED", folder)
    return folder


def test_model_card_tool_names_the_broken_file(pretrained):
    msg = exit_message(model_card.main)
    assert msg.startswith("model_card.py: ") and "\n" not in msg
    assert re.search(rf"{pretrained}/broken_\w+\.safetensors", msg), msg
    assert not (pretrained / "README.md").exists()


def test_app_refuses_each_broken_model_and_serves_the_others(pretrained, corrupt):
    broken = [f"broken_{case}" for case, (path, _) in corrupt.items() if path.exists()]
    for name in broken + ["bad_atlas"]:
        with pytest.raises(gr.Error) as e:
            api.decode(0, 0, name)
        # the file's name, never the server's path
        assert re.match(f"model '{name}' cannot be loaded: {name}\\.", e.value.message), e.value.message
        assert str(pretrained) not in e.value.message
    assert api.decode(0, 0, "good").size == (28, 28)
    cards = {m["name"]: m for m in api.models()}
    assert set(cards) == set(broken) | {"good", "bad_atlas"}
    assert cards["good"]["kind"] == "ae" and "error" not in cards["good"]
    assert all("cannot be loaded" in cards[n]["error"] for n in broken + ["bad_atlas"])


def test_app_starts_on_another_model_when_the_default_is_broken(pretrained, capsys):
    (pretrained / f"{nn.DEFAULT_MODEL}.safetensors").write_bytes(os.urandom(1000))
    assert demo.first_loadable() == "good"  # after bad_atlas and the broken_* in name order
    assert f"model '{nn.DEFAULT_MODEL}' cannot be loaded" in capsys.readouterr().err


@pytest.mark.live
def test_live_app_refuses_a_broken_model_and_keeps_serving(pretrained):
    app = demo.build_app("good")
    port = free_port()
    demo.serve(app, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}", verbose=False)
        for name in ["broken_truncated", "broken_pickle", "broken_bad_json", "bad_atlas"]:
            with pytest.raises(AppError, match=f"model '{name}' cannot be loaded"):
                client.predict(0, 0, model=name, api_name="/decode")
        assert Image.open(client.predict(0.1, 0.2, model="good", api_name="/decode")).size == (28, 28)
        listed = {m["name"]: m for m in client.predict(api_name="/models")}
        assert "error" in listed["broken_truncated"] and listed["good"]["dataset"] == "mnist"
    finally:
        app.close()


# --- the trainer killed mid-epoch ---------------------------------------------------------------

def train_cmd(root, out, *extra):
    return [sys.executable, str(ROOT / "trainer.py"), "--data-dir", str(root), "--limit", "2000",
            "--batch-size", "128", "--warmup-epochs", "1", "--epochs", "3", "--out", str(out), *extra]


@pytest.mark.train
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_mid_epoch_keeps_the_last_good_checkpoint_and_resumes(tmp_path, sig, mnist_root,
                                                                   single_thread_env):
    out = tmp_path / "m.safetensors"
    last, log = tmp_path / "m.last.safetensors", tmp_path / "m.log.jsonl"
    proc = subprocess.Popen(train_cmd(mnist_root, out), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=single_thread_env)
    watchdog = threading.Timer(240, proc.kill)  # a hung run ends its output, and so the reads
    watchdog.start()
    try:
        epoch_s = None
        for line in proc.stdout:
            if line.startswith("epoch   1"):
                epoch_s = float(line.split()[-1].rstrip("s"))
                break
        assert epoch_s is not None, "the run ended before epoch 1 did"
        time.sleep(epoch_s / 2)  # half way through epoch 2
        proc.send_signal(sig)
        rest = proc.stdout.read()
        assert proc.wait(timeout=60) == (130 if sig == signal.SIGINT else -signal.SIGKILL), rest
    finally:
        watchdog.cancel()
        if proc.poll() is None:  # a failed assert above must not leave the trainer running
            proc.kill()
            proc.wait()

    model, meta = nn.load_model(last, device="cpu")  # intact, and it is epoch 1's
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert meta["epochs_run"] == meta["resume"]["epoch"] == len(rows) == 1
    assert meta["val"] == rows[0]["val"]
    if sig == signal.SIGINT:  # an orderly stop leaves no temp file and says how to go on
        assert not list(tmp_path.glob(".*.tmp"))
        python, script, *args = shlex.split(rest.split("resume with: ")[1].splitlines()[0])
        assert (python, script) == ("python", "trainer.py")
        cmd = [sys.executable, str(ROOT / script), *args]
    else:
        cmd = train_cmd(mnist_root, out, "--resume", str(last))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=single_thread_env)
    assert r.returncode == 0, r.stderr
    assert f"resuming {last} after epoch 1" in r.stdout
    after = [json.loads(line) for line in log.read_text().splitlines()]
    assert [a["epoch"] for a in after] == [1, 2, 3] and after[0] == rows[0]
    assert nn.load_model(last, device="cpu")[1]["epochs_run"] == 3


def test_the_resume_hint_of_a_resumed_run_is_a_valid_command(small_data, tmp_path, monkeypatch,
                                                           capsys):
    """Ctrl-C twice: the second hint must replace the first --resume, not leave its file behind."""
    out, last = tmp_path / "m.safetensors", tmp_path / "m.last.safetensors"
    real_epoch, stop_at = trainer.train_epoch, [1]

    def train_epoch(model, opt, scheduler, x, args, epoch, *rest):
        if epoch == stop_at[0]:
            raise KeyboardInterrupt
        return real_epoch(model, opt, scheduler, x, args, epoch, *rest)

    monkeypatch.setattr(trainer, "train_epoch", train_epoch)
    argv = ["--warmup-epochs", "1", "--epochs", "3", "--out", str(out)]
    hints = []
    for stop in (1, 2):
        stop_at[0] = stop
        with pytest.raises(SystemExit) as e:
            trainer.main(argv)
        assert e.value.code == 130
        argv = shlex.split(capsys.readouterr().out.split("resume with: ")[1].splitlines()[0])[2:]
        hints.append(argv)
    assert hints[0] == hints[1] == ["--resume", str(last), "--warmup-epochs", "1", "--epochs", "3",
                                    "--out", str(out)]
    assert nn.load_model(last, device="cpu")[1]["epochs_run"] == 2


# --- a full disk or an unwritable folder during a save ---------------------------------------

def test_full_disk_mid_run_is_a_clear_error_and_keeps_the_last_checkpoint(small_data, tmp_path,
                                                                          monkeypatch):
    out, last = tmp_path / "m.safetensors", tmp_path / "m.last.safetensors"
    real_save, kept = nn.save_file, {}

    def save_file(tensors, path, metadata):
        if not kept and last.exists():  # epoch 1 saved both; epoch 2's first save fails
            kept.update({p: p.read_bytes() for p in (out, last)})
        if kept:  # what safetensors raises when a write fails (its own type, not OSError)
            raise SafetensorError("Error while serializing: I/O error: No space left on device "
                                  "(os error 28)")
        real_save(tensors, path, metadata)

    monkeypatch.setattr(nn, "save_file", save_file)
    msg = exit_message(trainer.main, ["--warmup-epochs", "1", "--epochs", "3", "--out", str(out)])
    assert msg.startswith("error:") and "No space left on device" in msg and str(last) in msg, msg
    assert kept and all(p.read_bytes() == b for p, b in kept.items())
    assert nn.load_model(last, device="cpu")[1]["epochs_run"] == 1
    assert not list(tmp_path.glob(".*.tmp"))


def test_unwritable_output_folder_fails_before_training(small_data, tmp_path, capsys):
    (tmp_path / "file").write_text("a regular file, not a folder")
    out = tmp_path / "file" / "m.safetensors"  # as root chmod blocks nothing; this does
    msg = exit_message(trainer.main, ["--epochs", "1", "--out", str(out)])
    assert msg.startswith("error:") and str(out.parent) in msg, msg
    assert "epoch" not in capsys.readouterr().out  # refused before any training


def test_a_real_failed_write_is_an_oserror_naming_the_file(tmp_path):
    """A write that really fails: a 1 MB file-size limit (RLIMIT_FSIZE, which binds root too)
    makes the kernel refuse the 5 MB checkpoint's bytes with EFBIG, as a full disk does with
    ENOSPC."""
    path = tmp_path / "m.safetensors"
    model = nn.VAE(nn.VAEConfig())
    nn.save_model(model, path, {"epoch": 1})
    before = path.read_bytes()
    limits, handler = resource.getrlimit(resource.RLIMIT_FSIZE), signal.getsignal(signal.SIGXFSZ)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the writer
    resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, limits[1]))
    try:
        with pytest.raises(OSError) as e:
            nn.save_model(model, path, {"epoch": 2})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)
    assert e.value.errno == errno.EFBIG and e.value.filename == str(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_failed_rename_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    """The other half of an atomic save (test_model.py fails the write): the rename fails."""
    path = tmp_path / "m.safetensors"
    model = nn.VAE(nn.VAEConfig())
    nn.save_model(model, path, {"epoch": 1})
    before = path.read_bytes()

    def full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(nn.os, "replace", full)
    with pytest.raises(OSError, match="No space left"):
        nn.save_model(model, path, {"epoch": 2})
    assert path.read_bytes() == before and nn.load_model(path, device="cpu")[1] == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]
