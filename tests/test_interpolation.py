"""interpolation.py end to end, run as a subprocess into a temp dir: the files it writes (one PNG a
step, sizes in 28-pixel units, the strip, GIF frame counts) and, for each bad input, exit code 2
with one line "error: ..." and no traceback.
Run: pytest tests/test_interpolation.py (the test-image run reads MNIST from the data root)."""

import importlib.util
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import data
import interpolation
from images import to_uint8

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # each test runs the command, about 3 s a run here


def command(*args):
    return [sys.executable, str(ROOT / "interpolation.py"), *args]


def run(*args):
    r = subprocess.run(command(*args), capture_output=True, text=True, timeout=300,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    return r


def pngs(folder):
    return sorted(p.name for p in folder.glob("step_*.png"))


def cell(strip, i, scale, gap=2):
    """The i-th 28x28 frame of a strip, back at one pixel a pixel."""
    x = i * (28 + gap) * scale
    return np.asarray(strip.crop((x, 0, x + 28 * scale, 28 * scale)))[::scale, ::scale]


def test_test_images_give_frames_a_labelled_strip_and_a_ping_pong_gif(tmp_path, mnist_test):
    out = tmp_path / "out"
    r = run("--digit1", "3", "--digit2", "8", "--steps", "5", "--scale", "2", "--gif",
            "--seed", "1", "--data-dir", str(data.data_dir()), "--output-dir", str(out))
    assert pngs(out) == [f"step_0{i}.png" for i in range(5)]
    frames = [np.asarray(Image.open(out / name)) for name in pngs(out)]
    assert all(f.shape == (56, 56) for f in frames)
    assert not np.array_equal(frames[0], frames[-1])  # the path goes somewhere
    strip = Image.open(out / "strip.png")
    assert strip.width == (7 * 30 - 2) * 2 and strip.height > 56  # 5 steps + 2 ends, labels below
    three, eight = to_uint8(data.pick_images(*mnist_test, [3, 8], seed=1))
    assert np.array_equal(cell(strip, 0, 2), three) and np.array_equal(cell(strip, 6, 2), eight)
    assert np.array_equal(cell(strip, 1, 2), frames[0][::2, ::2])
    gif = Image.open(out / "interpolation.gif")
    assert gif.n_frames == 2 * 5 - 2 and gif.info["loop"] == 0 and gif.size == (56, 56)
    assert "strip.png" in r.stdout and "interpolation.gif" in r.stdout


def test_centroid_source_needs_no_data_and_pads_names_by_steps(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "step_999.png").write_bytes(b"left from an earlier, longer run")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"kind": "vae", "latent_dim": 2}))  # agrees with the checkpoint
    run("--source", "centroid", "--method", "spherical", "--digit1", "4", "--digit2", "9",
        "--steps", "101", "--scale", "1", "--config_path", str(config),
        "--data-dir", str(tmp_path / "none"), "--output_dir", str(out))
    assert pngs(out) == [f"step_{i:03d}.png" for i in range(101)]
    assert Image.open(out / "step_100.png").size == (28, 28)
    strip = Image.open(out / "strip.png")
    first, last = (np.asarray(Image.open(out / f"step_{i:03d}.png")) for i in (0, 100))
    # The ends are the decoded centres: the same images as the first and last steps.
    assert np.array_equal(cell(strip, 0, 1), first) and np.array_equal(cell(strip, 102, 1), last)


def test_tour_of_pi_has_legs_times_frames_plus_one_frames(tmp_path):
    run("--tour", "31415926535", "--frames-per-leg", "3", "--scale", "2", "--no-cuda",
        "--output_dir", str(tmp_path))
    gif = Image.open(tmp_path / "tour.gif")
    assert gif.n_frames == 10 * 3 + 1 and gif.info["loop"] == 0 and gif.size == (56, 56)
    assert not list(tmp_path.glob("step_*.png"))


# --- bad input ----------------------------------------------------------------------------------
# The listed cases run as the CLI, all at once (each mostly waits on importing torch); more run
# through main() in this process, which takes the same path short of the interpreter.

BAD = {
    "digit 11": (["--digit1", "11"], "a digit must be one of the classes 0, 1,"),
    "steps 1": (["--steps", "1"], "--steps: must be a whole number from 2 to 1000"),
    "steps 1001": (["--steps", "1001"], "--steps: must be a whole number from 2 to 1000"),
    "out dir under a file": (["--output_dir", "{tmp}/file.txt/sub"],
                             "cannot create the output folder"),
    "missing model": (["--model_path", "{tmp}/none.safetensors"], "checkpoint file not found"),
    "corrupt model": (["--model_path", "{tmp}/random.safetensors"],
                      "not a readable safetensors file"),
    "config disagrees": (["--config_path", "{tmp}/ae.json"],
                         "disagrees with the checkpoint: kind is 'ae'"),
}


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    (tmp / "file.txt").write_text("a file, not a folder")
    (tmp / "random.safetensors").write_bytes(random.Random(0).randbytes(4096))
    (tmp / "ae.json").write_text(json.dumps({"kind": "ae"}))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = {name: subprocess.Popen(
        command("--source", "centroid", "--output_dir", str(tmp / "out"),
                *[a.format(tmp=tmp) for a in args]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for name, (args, _) in BAD.items()}
    return tmp, {name: (*p.communicate(timeout=300), p.returncode) for name, p in procs.items()}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_error_line_and_exit_code_2(case, bad_runs):
    tmp, results = bad_runs
    stdout, stderr, code = results[case]
    assert code == 2, stderr
    assert "Traceback" not in stderr and stdout == ""
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    assert BAD[case][1] in stderr
    assert not (tmp / "out").exists()  # refused before writing anything


@pytest.mark.parametrize("args, message", [
    (["--config_path", "{tmp}/broken.json"],
     "config file broken.json cannot be read as a VAEConfig"),
    (["--config_path", "{tmp}/wide.yaml"],
     "hidden is 800 there but" if importlib.util.find_spec("yaml") else "pip install pyyaml"),
    (["--tour", "7"], "--tour needs at least two digits"),
    (["--tour", "3.14"], "(or its index 0-9), not '.'"),
    (["--model_path", "fashion_vae_beta4", "--digit1", "12"],
     "one of the classes T-shirt/top, Trouser"),
    (["--steps", "ten"], "--steps: must be a whole number from 2 to 1000, not 'ten'"),
])
def test_more_bad_input_is_one_error_line_and_exit_code_2(args, message, tmp_path, capsys):
    (tmp_path / "broken.json").write_text('{"kind": "vae",')
    (tmp_path / "wide.yaml").write_text("kind: vae\nhidden: 800\n")
    with pytest.raises(SystemExit) as e:
        interpolation.main(["--source", "centroid", "--output_dir", str(tmp_path / "out"),
                            *[a.format(tmp=tmp_path) for a in args]])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert message.format(tmp=tmp_path) in err
    assert not (tmp_path / "out").exists()
