"""Identities and edge cases of latent_utils' pure functions. Run: pytest tests/test_latent_utils.py"""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import latent_utils as lu

coord = st.floats(-50, 50, allow_nan=False, allow_infinity=False)
vec = st.tuples(coord, coord).map(lambda t: torch.tensor(t))
steps = st.integers(2, 64)


@given(vec, vec, steps)
@settings(deadline=None)  # the first call pays torch's warm-up
def test_lerp_endpoints_exact_and_midpoint(z0, z1, n):
    path = lu.lerp(z0, z1, n)
    assert path.shape == (n, 2)
    assert torch.equal(path[0], z0.float()) and torch.equal(path[-1], z1.float())
    if n % 2 == 1:
        torch.testing.assert_close(path[n // 2], (z0 + z1).float() / 2, atol=1e-4, rtol=1e-5)
    # equal spacing
    gaps = (path[1:] - path[:-1]).double().norm(dim=1)
    assert float(gaps.max() - gaps.min()) < 1e-3


@given(vec, vec, steps)
@settings(max_examples=200, deadline=None)
def test_slerp_endpoints_and_norm_is_linear(z0, z1, n):
    path = lu.slerp(z0, z1, n)
    assert path.shape == (n, 2) and torch.isfinite(path).all()
    assert torch.equal(path[0], z0.float()) and torch.equal(path[-1], z1.float())
    t = torch.linspace(0, 1, n)
    expected = (1 - t) * z0.norm() + t * z1.norm()
    torch.testing.assert_close(path.norm(dim=1), expected.float(), atol=1e-3, rtol=1e-4)


def test_slerp_turns_at_a_constant_rate_on_the_circle():
    path = lu.slerp(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), 5)
    angles = torch.atan2(path[:, 1], path[:, 0])
    torch.testing.assert_close(angles, torch.linspace(0, math.pi / 2, 5))
    torch.testing.assert_close(path.norm(dim=1), torch.ones(5))
    # midpoint of a 90 degree turn on the unit circle
    torch.testing.assert_close(path[2], torch.tensor([1.0, 1.0]) / math.sqrt(2))


@pytest.mark.parametrize("z0, z1", [
    ([1.0, 2.0], [1.0, 2.0]),        # identical
    ([1.0, 2.0], [2.0, 4.0]),        # parallel
    ([0.0, 0.0], [1.0, -1.0]),       # zero start
    ([3.0, 1.0], [0.0, 0.0]),        # zero end
    ([0.0, 0.0], [0.0, 0.0]),        # both zero
])
def test_slerp_degenerate_cases_are_the_straight_line(z0, z1):
    torch.testing.assert_close(lu.slerp(z0, z1, 7), lu.lerp(z0, z1, 7))


@pytest.mark.parametrize("z0", [[2.0, 0.0], [0.0, -1.5], [1.0, 1.0], [1e-3, 5.0]])
def test_slerp_anti_parallel_goes_round_not_through_zero(z0):
    z0 = torch.tensor(z0)
    path = lu.slerp(z0, -z0, 9)
    torch.testing.assert_close(path.norm(dim=1), z0.norm().expand(9), atol=1e-5, rtol=1e-5)
    # the midpoint is perpendicular to both ends
    assert abs(float(path[4] @ z0)) < 1e-4
    assert torch.equal(path[-1], -z0)


def test_slerp_higher_dimensions_and_numpy_input():
    z0, z1 = np.array([1.0, 0, 0, 0]), np.array([-1.0, 0, 0, 0])
    path = lu.slerp(z0, z1, 3)
    torch.testing.assert_close(path.norm(dim=1), torch.ones(3))
    assert abs(float(path[1, 0])) < 1e-6


def test_latent_path_picks_the_method_by_name():
    z0, z1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    assert torch.equal(lu.latent_path(z0, z1, 5, "linear"), lu.lerp(z0, z1, 5))
    assert torch.equal(lu.latent_path(z0, z1, 5, "spherical"), lu.slerp(z0, z1, 5))
    with pytest.raises(ValueError, match="method must be 'linear' or 'spherical'"):
        lu.latent_path(z0, z1, 5, "cubic")


@pytest.mark.parametrize("bad", [1, 0, -3, 2.5, True, "4"])
def test_paths_refuse_bad_steps(bad):
    for f in (lu.lerp, lu.slerp):
        with pytest.raises(ValueError, match="steps"):
            f([0, 0], [1, 1], bad)


@given(vec, vec, st.floats(0, 1))
@settings(deadline=None)
def test_morph_moves_the_fraction(z, target, amount):
    m = lu.morph(z, target, amount)
    torch.testing.assert_close(m, (z + amount * (target - z)).float(), atol=1e-4, rtol=1e-5)


def test_morph_identities_and_bad_amount():
    z, t = torch.tensor([1.0, -2.0]), torch.tensor([4.0, 2.0])
    assert torch.equal(lu.morph(z, t, 0), z) and torch.equal(lu.morph(z, t, 1), t)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="amount"):
            lu.morph(z, t, bad)


def test_grid_linear_corners_and_order():
    g = lu.grid((-3, 3, -2, 2), 4)
    assert g.shape == (16, 2)
    torch.testing.assert_close(g[0], torch.tensor([-3.0, 2.0]))   # top-left: smallest x, largest y
    torch.testing.assert_close(g[3], torch.tensor([3.0, 2.0]))
    torch.testing.assert_close(g[-1], torch.tensor([3.0, -2.0]))
    assert torch.all(g[:4, 1] == 2.0)                              # first row shares y


def test_grid_normal_spacing_is_symmetric_and_denser_in_the_middle():
    g = lu.grid((-3, 3, -3, 3), 12, spacing="normal")
    xs = g[:12, 0]
    torch.testing.assert_close(xs[0], torch.tensor(-3.0))
    torch.testing.assert_close(xs[-1], torch.tensor(3.0))
    torch.testing.assert_close(xs, -xs.flip(0), atol=1e-6, rtol=0)
    gaps = xs[1:] - xs[:-1]
    assert gaps[5] < gaps[0]  # inverse-CDF spacing crowds the centre
    with pytest.raises(ValueError):
        lu.grid((-1, 1, -1, 1), 1)
    with pytest.raises(ValueError, match="spacing"):
        lu.grid((-1, 1, -1, 1), 4, spacing="log")


def _rings():
    """Class 0 on a ring around class 1's blob: the mean of class 0 lands inside class 1."""
    gen = torch.Generator().manual_seed(0)
    angle = torch.rand(2000, generator=gen) * 2 * math.pi
    ring = 3 * torch.stack([angle.cos(), angle.sin()], 1) + 0.1 * torch.randn(2000, 2, generator=gen)
    blob = 0.3 * torch.randn(2000, 2, generator=gen)
    return torch.cat([ring, blob]), torch.cat([torch.zeros(2000), torch.ones(2000)]).long()


def test_class_centres_stay_inside_their_class_where_the_mean_does_not():
    mu, labels = _rings()
    mean0 = mu[labels == 0].mean(0)
    assert lu.knn_predict(mu, labels, mean0[None], k=15)[0] == 1  # the mean fails
    centres = lu.class_centres(mu, labels, num_classes=2)
    assert centres.shape == (2, 2)
    assert lu.knn_predict(mu, labels, centres, k=15).tolist() == [0, 1]
    assert abs(float(centres[0].norm()) - 3) < 0.5  # on the ring
    assert float(centres[1].norm()) < 0.5           # in the blob


def test_class_centres_refuse_an_empty_class():
    mu, labels = _rings()
    with pytest.raises(ValueError, match="class 2"):
        lu.class_centres(mu, labels, num_classes=3)


def test_knn_votes_count_the_labels_of_the_k_nearest():
    ref = torch.tensor([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [5.0, 5.0], [5.1, 5.0]])
    labels = torch.tensor([0, 0, 1, 1, 1])
    votes = lu.knn_votes(ref, labels, [[0.0, 0.0], [5.0, 5.0]], k=3)
    assert votes.tolist() == [[2, 1], [0, 3]]
    assert lu.knn_predict(ref, labels, [[0.0, 0.0], [5.0, 5.0]], k=3).tolist() == [0, 1]
    assert lu.knn_votes(ref, labels, [0.0, 0.0], k=1, num_classes=4).tolist() == [[1, 0, 0, 0]]


def test_knn_accuracy_on_separated_and_mixed_data():
    mu, labels = _rings()
    assert lu.knn_accuracy(mu, labels, mu, labels, k=5) > 0.99
    shuffled = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(1))]
    assert 0.3 < lu.knn_accuracy(mu, shuffled, mu, labels, k=5) < 0.7


def test_extent_ignores_outliers_and_pads():
    mu = torch.cat([torch.rand(1000, 2) * 2 - 1, torch.tensor([[100.0, -100.0]])])
    xmin, xmax, ymin, ymax = lu.extent(mu)
    assert -1.4 < xmin < -1.0 and 1.0 < xmax < 1.4 and -1.4 < ymin < -1.0 and 1.0 < ymax < 1.4


def test_extent_has_a_range_for_every_dimension():
    mu = torch.randn(2000, 5, generator=torch.Generator().manual_seed(0)) * torch.arange(1.0, 6.0)
    e = lu.extent(mu)
    assert len(e) == 10
    for i in range(5):  # N(0, s^2): the 0.5 % quantiles at -+2.58 s, padded by 10 % of the span
        assert e[2 * i] == pytest.approx(-3.09 * (i + 1), rel=0.08)
        assert e[2 * i + 1] == pytest.approx(3.09 * (i + 1), rel=0.08)


def test_a_2d_latent_is_its_own_plane():
    mu = torch.randn(500, 2)
    origin, basis, share = lu.plane(mu)
    assert origin.tolist() == [0, 0] and basis.tolist() == [[1, 0], [0, 1]] and share == 1
    assert torch.equal(lu.project(mu, origin, basis), mu)


def test_the_default_plane_holds_the_codes_first_two_principal_components():
    gen = torch.Generator().manual_seed(1)
    # codes spread 5 and 3 along two oblique directions, 0.5 along the other 8
    q = torch.linalg.qr(torch.randn(10, 10, generator=gen))[0]
    scales = torch.tensor([5.0, 3.0] + [0.5] * 8)
    mu = (torch.randn(4000, 10, generator=gen) * scales) @ q.T + 7
    origin, basis, share = lu.plane(mu)
    assert torch.allclose(origin, mu.mean(0), atol=1e-4)
    assert torch.allclose(basis.T @ basis, torch.eye(2), atol=1e-5)  # orthonormal
    # it spans the two wide directions (each column's part in them near 1)
    assert (basis.T @ q[:, :2]).square().sum(1).min() > 0.99
    assert share == pytest.approx((25 + 9) / (25 + 9 + 8 * 0.25), abs=0.02)
    # projecting onto it, then lifting back, keeps a point of the plane exactly
    p = torch.tensor([[1.5, -2.0]])
    assert torch.allclose(lu.project(origin + p @ basis.T, origin, basis), p, atol=1e-5)


def test_a_plane_through_three_points_passes_through_them():
    a, b, c = torch.tensor([1.0, 0, 0, 2]), torch.tensor([0.0, 3, 0, 2]), torch.tensor([0.0, 0, 4, 2])
    origin, basis, _ = lu.plane(torch.randn(100, 4), through=(a, b, c))
    for point in (a, b, c):
        p = lu.project(point[None], origin, basis)
        assert torch.allclose(origin + p @ basis.T, point[None], atol=1e-5)  # on the plane
    with pytest.raises(ValueError, match="on a line"):
        lu.plane(torch.randn(100, 4), through=(a, b, 2 * b - a))


def test_nearness_measures_how_far_codes_lie_from_their_neighbours():
    gen = torch.Generator().manual_seed(2)
    mu = torch.rand(3000, 3, generator=gen)  # uniform in a unit cube: 15 codes in a ball of ~0.11
    near = lu.nearness(mu)
    assert near["k"] == 15 and 0.08 < near["median"] < 0.16 < near["p99"] < 0.3
    assert lu.knn_distance(mu, torch.tensor([[5.0, 5, 5]]))[0] > 7  # far off the data


def test_atlas_round_trip(tmp_path):
    mu, labels = _rings()
    sigma = torch.rand_like(mu)
    centres = lu.class_centres(mu, labels, num_classes=2)
    path = tmp_path / "m.atlas.safetensors"
    lu.save_atlas(path, mu, sigma, labels, centres, ["ring", "blob"], "toy")
    atlas = lu.load_atlas(tmp_path / "m.safetensors")
    assert torch.equal(atlas["mu"], mu) and torch.equal(atlas["labels"], labels)
    assert torch.equal(atlas["centres"], centres) and atlas["classes"] == ["ring", "blob"]
    assert atlas["extent"] == lu.extent(mu)
    assert "directions" not in atlas  # an atlas written before them: the app must do without


def test_atlas_keeps_the_semantic_directions(tmp_path):
    mu, labels = _rings()
    centres = lu.class_centres(mu, labels, num_classes=2)
    weights, bias = torch.randn(6, 2), torch.randn(6)
    table = {"slant": {"unit": "rad", "amount": 0.1, "r2": 0.5, "right_way": 0.95,
                       "kept_class": 0.85, "edits": 400, "reliable": True}}
    lu.save_atlas(tmp_path / "m.atlas.safetensors", mu, torch.zeros_like(mu), labels, centres,
                  ["ring", "blob"], "toy", {"weights": weights.numpy(), "bias": bias, "table": table})
    found = lu.load_atlas(tmp_path / "m.safetensors")["directions"]
    assert torch.equal(found["weights"], weights) and torch.equal(found["bias"], bias)
    assert found["table"] == table


def test_a_spherical_path_about_a_centre_is_the_slerp_of_the_shifted_ends():
    z0, z1, c = torch.tensor([3.0, 1, 0]), torch.tensor([1.0, 4, 2]), torch.tensor([1.0, 1, 1])
    path = lu.latent_path(z0, z1, 9, "spherical", centre=c)
    assert torch.allclose(path, lu.slerp(z0 - c, z1 - c, 9) + c, atol=1e-6)
    assert torch.equal(lu.latent_path(z0, z1, 9, "linear", centre=c), lu.lerp(z0, z1, 9))
    mu = torch.randn(100, 3) + 5
    assert lu.turn_centre(mu, has_prior=True) is None
    assert torch.allclose(lu.turn_centre(mu, has_prior=False).float(), mu.mean(0), atol=1e-6)
