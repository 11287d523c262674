"""directions.py against a made-up decoder whose answers are known: it draws a ring whose stroke
is 2 + z1 px thick and whose radius is 7 + z2 px, so the thickness grows 1 px per unit of z1 and
not with z2, and the width (2 radius + thickness) 1 px per unit of z1 and 2 per unit of z2.
Run: pytest tests/test_directions.py"""

import numpy as np
import pytest
import torch

import directions as dirs
import morphometry as mm

THICKNESS, WIDTH = dirs.ATTRIBUTES.index("thickness"), dirs.ATTRIBUTES.index("width")


class Ring(torch.nn.Module):
    """z [N, 2] -> a soft-edged ring about the image's centre: its stroke 2 + z1 px thick, its
    radius (to the stroke's middle) 7 + z2 px. A round stroke, so that the thickness is an
    average over many skeleton points rather than one distance on a pixel grid."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))  # decode_uint8 reads its device
        self.config = type("Config", (), {"latent_dim": 2})()

    def decode(self, z):
        centre = torch.arange(28) + 0.5 - 14
        r = (centre[:, None] ** 2 + centre[None, :] ** 2).sqrt()[None]
        thick, radius = 2 + z[:, :1, None], 7 + z[:, 1:, None]
        return torch.sigmoid(3 * (thick / 2 - (r - radius).abs()))[:, None]


def test_fit_recovers_a_linear_attribute_exactly():
    rng = np.random.default_rng(0)
    z_train, z_val = rng.normal(size=(300, 3)), rng.normal(size=(100, 3))
    truth = np.array([1.5, -2.0, 0.25])

    def attrs(z):  # column j is (j + 1) * (truth . z) + j, plus NaN rows fit must skip
        a = np.stack([(j + 1) * (z @ truth) + j for j in range(6)], 1)
        a[::17] = np.nan
        return a
    found = dirs.fit(z_train, attrs(z_train), z_val, attrs(z_val))
    np.testing.assert_allclose(found["weights"], np.outer(np.arange(1, 7), truth), atol=1e-9)
    np.testing.assert_allclose(found["bias"], np.arange(6), atol=1e-9)
    np.testing.assert_allclose(found["r2"], np.ones(6), atol=1e-12)


def test_the_local_gradient_is_the_decoders_own():
    g = dirs.jacobian(Ring(), [0.5, 0.0], scale=2.0)  # a half-step of 0.3
    # the soft edge (binarised at half the peak) takes a little off the thickness's slope
    assert g[THICKNESS] == pytest.approx([1.0, 0.0], abs=0.25)
    assert g[WIDTH] == pytest.approx([1.0, 2.0], abs=0.8) and g[WIDTH][1] > 1.5


@pytest.mark.parametrize("attribute, amount", [("thickness", 0.5), ("thickness", -0.5),
                                               ("width", 1.0), ("width", -1.0)])
def test_an_edit_changes_its_attribute_by_about_the_amount(attribute, amount):
    model, z = Ring(), np.array([0.5, 0.0])
    z2 = dirs.edit(model, z, attribute, amount, scale=2.0)
    before, after = (mm.measure(model.decode(torch.tensor(np.array([c])).float())[0, 0].numpy())
                     for c in (z, z2))
    assert after[attribute] - before[attribute] == pytest.approx(amount, rel=0.35)
    knob = 0 if attribute == "thickness" else 1  # the z that drives it moved; the other barely
    assert abs(z2 - z)[knob] > 0.2 and abs(z2 - z)[1 - knob] < 0.5 * abs(z2 - z)[knob]


def test_along_is_capped_and_stays_put_where_flat():
    z = np.zeros(2)
    np.testing.assert_allclose(dirs.along(z, np.array([2.0, 0.0]), 1.0), [0.5, 0.0])
    far = dirs.along(z, np.array([0.01, 0.0]), 1.0, scale=1.0)  # would move 100 units
    assert np.linalg.norm(far) == pytest.approx(dirs.MOVE)
    assert np.array_equal(dirs.along(z, np.zeros(2), 1.0), z)
    assert np.array_equal(dirs.along(z, np.array([np.nan, 1.0]), 1.0), z)


def test_check_counts_right_way_and_kept_class_on_the_made_up_decoder():
    """Codes on a line of one class: every thickness and width edit goes the right way and
    keeps the class; the starting points are the centres, then draws of the codes' spread."""
    rng = np.random.default_rng(1)
    mu = torch.tensor(rng.normal(0, 0.6, size=(400, 2)), dtype=torch.float32)
    atlas = {"mu": mu, "labels": torch.zeros(400, dtype=torch.long),
             "centres": torch.zeros(1, 2)}
    starts = dirs.starting_points(atlas, 12)
    assert starts.shape == (12, 2) and np.array_equal(starts[0], [0, 0])
    found = dirs.check(Ring(), atlas, n=12)
    for a in ("thickness", "width"):
        assert found[a] == {"right_way": 1.0, "kept_class": 1.0, "edits": 24}
