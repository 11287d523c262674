"""images.py: uint8 conversion, mosaics, enlarging, labelled strips, GIFs, and the MNIST-style
preparation of uploads, each checked pixel by pixel. Run: pytest tests/test_images.py"""

import numpy as np
import pytest
from PIL import Image

import images


def test_to_uint8_scales_rounds_half_to_even_and_drops_the_channel():
    x = np.array([0.0, 1.0, 0.5, 1.5 / 255, 2.5 / 255], np.float32).reshape(1, 1, 1, 5)
    out = images.to_uint8(x)
    assert out.dtype == np.uint8 and out.shape == (1, 1, 5)
    assert out[0, 0].tolist() == [0, 255, 128, 2, 2]  # 127.5 -> 128, 1.5 -> 2, 2.5 -> 2
    assert images.to_uint8(np.zeros((3, 28, 28))).shape == (3, 28, 28)


def test_mosaic_puts_gaps_only_between_frames():
    frames = np.arange(6 * 2 * 3, dtype=np.uint8).reshape(6, 2, 3)
    m = images.mosaic(frames, cols=3, gap=1, fill=255)
    assert m.shape == (2 * 2 + 1, 3 * 3 + 2)
    assert np.array_equal(m[3:5, 4:7], frames[4]) and (m[2] == 255).all() and (m[:, 3] == 255).all()


def test_mosaic_fills_the_cells_a_short_last_row_lacks():
    m = images.mosaic(np.zeros((4, 2, 2), np.uint8), cols=3, fill=7)
    assert m.shape == (4, 6) and (m[2:, 2:] == 7).all() and (m[2:, :2] == 0).all()


def test_enlarge_makes_crisp_squares():
    a = np.array([[0, 255], [128, 64]], np.uint8)
    big = np.asarray(images.enlarge(a, 3))
    assert big.shape == (6, 6)
    assert (big[:3, :3] == 0).all() and (big[:3, 3:] == 255).all() and (big[3:, :3] == 128).all()


def test_tile_grey_gaps_between_enlarged_frames():
    frames = np.full((2, 2, 2), 200, np.uint8)
    t = np.asarray(images.tile(frames, cols=2, scale=2, gap=1))
    assert t.shape == (4, 10) and (t[:, 4:6] == 96).all() and (t[:, :4] == 200).all()


def test_labelled_strip_draws_frames_then_dark_labels_underneath():
    frames = np.full((3, 28, 28), 255, np.uint8)
    frames[:, 10:18, 10:18] = 0
    strip = np.asarray(images.labelled_strip(frames, ["a", "centre Ankle boot", "c"], scale=2))
    assert strip.shape[1] == (3 * 28 + 2 * 2) * 2 and strip.shape[0] > 56
    assert np.array_equal(strip[:56, :56], np.asarray(images.enlarge(frames[0], 2)))
    assert strip[56:].min() < 128  # some label ink below the frames


def test_save_gif_keeps_every_frame_enlarged(tmp_path):
    frames = np.stack([np.full((4, 4), v, np.uint8) for v in (0, 100, 200)])
    path = images.save_gif(frames, tmp_path / "a.gif", scale=5)
    gif = Image.open(path)
    assert gif.n_frames == 3 and gif.size == (20, 20) and gif.info["loop"] == 0
    for i, v in enumerate((0, 100, 200)):
        gif.seek(i)
        assert np.asarray(gif.convert("L")).mean() == pytest.approx(v, abs=1)


def test_mnist_style_centres_the_ink_in_a_20_pixel_box(draw):
    x = images.mnist_style(images.open_image(draw("zero", 200)))  # dark ink on white paper
    assert x.shape == (28, 28) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    ys, xs = np.nonzero(x > 0.1)
    assert ys.max() - ys.min() < 21 and xs.max() - xs.min() < 21
    cy, cx = (np.indices(x.shape) * x).reshape(2, -1).sum(1) / x.sum()
    assert abs(cy - 13.5) < 1 and abs(cx - 13.5) < 1
    assert x[0].max() == 0 and x[:, 0].max() == 0  # white-on-black: the border is paper


def test_mnist_style_reads_white_on_black_and_transparent_paper_alike(draw):
    a = images.mnist_style(draw("one", 200))
    b = images.mnist_style(draw("one", 200, ink=255, paper=0))
    rgba = draw("one", 200, ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA")
    c = images.mnist_style(rgba)
    assert np.abs(a - b).max() < 0.02 and np.abs(a - c).max() < 0.02


@pytest.mark.parametrize("value, words", [
    (None, "image is empty"), ("", "image is empty"), (np.zeros((0, 0)), "empty or not an image"),
    (Image.new("L", (50, 50), 255), "no ink found"),
])
def test_unusable_images_are_refused_with_the_reason(value, words):
    with pytest.raises(images.ImageError, match=words):
        images.mnist_style(images.open_image(value))


def test_files_that_are_not_images_or_too_large_are_refused_before_decoding(tmp_path, bomb):
    (tmp_path / "t.png").write_text("not an image")
    with pytest.raises(images.ImageError, match="not a readable image file"):
        images.open_image(str(tmp_path / "t.png"))
    (tmp_path / "b.png").write_bytes(bomb(5000, 5000))  # 25 MP: over 4096 a side and 16 MP
    with pytest.raises(images.ImageError, match=r"too large \(5000x5000\)"):
        images.open_image(str(tmp_path / "b.png"))
    (tmp_path / "c.png").write_bytes(bomb(2000, 2000)[:40])  # header only: truncated data
    with pytest.raises(images.ImageError, match="corrupt or truncated|not a readable"):
        images.open_image(str(tmp_path / "c.png"))
