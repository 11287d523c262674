"""figures.py, run as the command into a temp dir on two of the shipped models: it writes every
figure, each a real PNG under 300 KB; and the committed docs/figures are all there and as small.
Run: pytest tests/test_figures.py (reads MNIST test images from the data root, see data.py)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ["latent_scatter.png", "decoded_grid.png", "interpolation.png", "training_curves.png",
           "semantic_edits.png"]


def check_figures(folder):
    for name in FIGURES:
        path = folder / name
        assert path.stat().st_size < 300_000, f"{path}: {path.stat().st_size} bytes"
        with Image.open(path) as img:
            assert img.format == "PNG" and img.width > 400 and img.height > 150, (name, img.size)
            pixels = np.asarray(img.convert("L"))
        # drawn on: dark marks (points, digits, lines, text) on a mostly light page
        assert pixels.min() < 60 and pixels.max() > 240 and (pixels < 200).mean() > 0.01, name


@pytest.mark.slow
def test_figures_command_writes_every_figure(tmp_path, mnist_root, single_thread_env):
    out = tmp_path / "figs"
    cmd = [sys.executable, str(ROOT / "figures.py"), "--out", str(out), "--data-dir", str(mnist_root),
           "--models", "mnist_ae", "mnist_vae_beta4", "--points", "1500", "--spacing", "normal"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=single_thread_env)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(FIGURES)
    assert all(str(out / name) in r.stdout for name in FIGURES)  # it lists what it wrote
    check_figures(out)
    with Image.open(out / "decoded_grid.png") as grid:
        assert grid.width >= 2 * 12 * 28  # two 12 x 12 grids, one screen pixel a pixel


def test_committed_figures_are_all_there_and_small():
    check_figures(ROOT / "docs" / "figures")
