"""morphometry.py against images whose answers are known: round-capped strokes of a given length
and width (drawn 16x larger, then box-averaged to 28x28, anti-aliased as MNIST's digits are),
strokes sheared by a known angle, a blank image, and MNIST digits of known character (a 1 is
long and narrow, a 0 wide). Run: pytest tests/test_morphometry.py"""

import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

import morphometry as mm

K = 16  # drawing scale


def drawn(a, b, width):
    """A straight stroke from a to b (28x28 pixel coordinates), `width` px wide, round ends,
    drawn K times larger."""
    im = Image.new("L", (28 * K, 28 * K), 0)
    draw = ImageDraw.Draw(im)
    ends = [(x * K, y * K) for x, y in (a, b)]
    draw.line(ends, fill=255, width=round(width * K))
    r = width * K / 2
    for x, y in ends:
        draw.ellipse([x - r, y - r, x + r, y + r], fill=255)
    return im


def stroke(a, b, width):
    return np.asarray(drawn(a, b, width).resize((28, 28), Image.BOX))


def trimmed_width(a, b, width, trim=0.02):
    """The answer for a horizontal stroke: the span of the columns of the K-times drawing's ink
    between its trim/2 and 1 - trim/2 quantiles, in 28x28 pixels."""
    cols = np.nonzero(np.asarray(drawn(a, b, width)))[1]
    return np.subtract(*np.quantile(cols, [1 - trim / 2, trim / 2])) / K


@pytest.mark.parametrize("length, width", [(14, 2), (14, 4), (18, 3)])
def test_a_horizontal_stroke_of_known_length_and_width(length, width):
    a, b = (14 - length / 2, 14), (14 + length / 2, 14)
    m = mm.measure(stroke(a, b, width))
    area = length * width + math.pi * width**2 / 4  # a rectangle and two half discs
    assert m["area"] == pytest.approx(area, rel=0.03)
    assert m["thickness"] == pytest.approx(width, abs=0.1)
    assert abs(m["length"] - length) <= width / 2  # the skeleton ends inside the round caps
    assert m["width"] == pytest.approx(trimmed_width(a, b, width), abs=0.25)
    assert m["height"] == pytest.approx(width, abs=0.15)
    assert abs(m["slant"]) < 0.01


@pytest.mark.parametrize("angle", [0.0, 0.2, 0.4, -0.3])
def test_a_stroke_sheared_by_a_known_angle(angle):
    """A vertical stroke from row 5 to row 23, its top moved right by tan(angle) per row: the
    slant is the angle (radians, positive to the right) and the parallelogram undoes the shear."""
    t = math.tan(angle)
    m = mm.measure(stroke((14 + 9 * t, 5), (14 - 9 * t, 23), 3))
    assert m["slant"] == pytest.approx(angle, abs=0.02)
    assert m["thickness"] == pytest.approx(3, abs=0.1)
    assert m["height"] == pytest.approx(21, abs=1.1)  # 18 between the caps' centres, plus 3
    assert m["width"] == pytest.approx(3, abs=0.3)  # the unsheared width, not the lean's span
    assert m["length"] == pytest.approx(18 / math.cos(angle), rel=0.08)  # chain-code bias


def test_blank_images_are_refused_by_name():
    for blank in (np.zeros((28, 28)), np.full((28, 28), 255, np.uint8)):
        with pytest.raises(mm.BlankImage, match="blank"):
            mm.measure(blank)
    with pytest.raises(ValueError, match="NaN"):
        mm.measure(np.full((28, 28), np.nan))
    with pytest.raises(ValueError, match="2-D"):
        mm.measure(np.zeros((3, 28, 28)))


def test_uint8_and_floats_measure_alike_and_the_columns_follow_attributes():
    img = stroke((8, 14), (20, 14), 3)
    as_float = mm.measure(img / 255.0)
    assert as_float == pytest.approx(mm.measure(img))
    row = mm.measure_many(np.stack([img, img[:, ::-1]]))
    assert row.shape == (2, 6) and row[0] == pytest.approx([as_float[k] for k in mm.ATTRIBUTES])
    assert mm.measure(img[None]) == pytest.approx(as_float)  # [1, 28, 28], as tensors hold it


def test_mnist_ones_are_long_and_narrow_and_zeros_wide(mnist_root):
    import data  # noqa: PLC0415  (MNIST only where the data root has it)
    x, y = data.load("mnist", "test", mnist_root)
    ones, zeros = (mm.measure_many(x[y == c][:40].numpy()) for c in (1, 0))
    col = list(mm.ATTRIBUTES).index
    assert np.median(ones[:, col("width")]) < 0.5 * np.median(zeros[:, col("width")])
    assert np.median(ones[:, col("height")]) > 15 and np.median(zeros[:, col("area")]) > np.median(
        ones[:, col("area")])
