"""data.py: the one data-root rule, class names and indices, example picking, and the 2-D toy
sets against their definitions (the toys need no data on disk). Run: pytest tests/test_data.py"""

import math

import pytest
import torch

import data


def test_data_root_is_the_flag_then_the_environment_then_data(monkeypatch, tmp_path):
    monkeypatch.setenv("LSN_DATA_DIR", str(tmp_path / "env"))
    assert data.data_dir(tmp_path / "flag") == tmp_path / "flag"
    assert data.data_dir() == tmp_path / "env"
    monkeypatch.delenv("LSN_DATA_DIR")
    assert data.data_dir() == data.ROOT / "data"


def test_a_missing_data_set_names_the_folder_to_fill(monkeypatch, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(b"not idx")  # present but broken: no download
    with pytest.raises(data.DataError, match=str(raw)):
        data.load("mnist", "test", tmp_path)
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        data.load("mnist", "val", tmp_path)


@pytest.mark.parametrize("value, index", [(7, 7), (7.0, 7), ("7", 7), ("Sneaker", 7), ("0", 0)])
def test_class_index_takes_names_and_indices(value, index):
    classes = data.CLASSES["fashion"] if value == "Sneaker" else data.CLASSES["mnist"]
    assert data.class_index(classes, value) == index


@pytest.mark.parametrize("value", [10, -1, 2.5, True, None, "Sneaker", "seven", float("nan"),
                                   10**400, "1" * 500])
def test_class_index_refuses_everything_else_naming_the_classes(value):
    with pytest.raises(ValueError, match=r"digit must be one of the classes 0, 1, .*0-9\), not"):
        data.class_index(data.CLASSES["mnist"], value)


def test_pick_images_one_of_each_wanted_class_and_repeats_differ():
    x, labels = torch.arange(20.0), torch.tensor([0, 1] * 10)
    picked = data.pick_images(x, labels, [1, 0, 1], seed=3)
    assert [int(p) % 2 for p in picked] == [1, 0, 1] and picked[0] != picked[2]
    assert torch.equal(picked, data.pick_images(x, labels, [1, 0, 1], seed=3))


# --- the toys ---------------------------------------------------------------------------------

def cov(x):
    return torch.cov(x.T)


# --- the data -------------------------------------------------------------------------------------
# Tolerances: four or more standard errors of each estimate at these sizes (10,000 points: a mean
# to 0.01 sigma, a variance to 0.014 sigma^2).

def test_toy1_is_the_axis_aligned_gaussian_stretched_5_to_1():
    x, labels = data.load("toy1", "train")
    assert x.shape == (10_000, 2) and x.dtype == torch.float32 and labels.dtype == torch.int64
    assert torch.all(labels == 0)
    torch.testing.assert_close(x.mean(0), torch.tensor([1.0, 2.0]), atol=0.04, rtol=0)
    torch.testing.assert_close(cov(x), torch.tensor([[1.0, 0.0], [0.0, 0.04]]), atol=0.05,
                               rtol=0.05)
    assert 4.8 < (x[:, 0].std() / x[:, 1].std()).item() < 5.2


def test_toy2_is_toy1_rotated_45_degrees_about_its_mean():
    x1, _ = data.load("toy1", "train")
    x2, labels = data.load("toy2", "train")
    assert torch.all(labels == 0)
    mean = torch.tensor(data.MEAN)
    c, s = math.cos(math.pi / 4), math.sin(math.pi / 4)
    rotated = (x1 - mean) @ torch.tensor([[c, s], [-s, c]]) + mean  # row vectors: x R^T
    torch.testing.assert_close(x2, rotated)
    torch.testing.assert_close(x2.mean(0), mean, atol=0.04, rtol=0)
    # R diag(1, 0.04) R^T; its long axis at 45 degrees
    torch.testing.assert_close(cov(x2), torch.tensor([[0.52, 0.48], [0.48, 0.52]]), atol=0.05,
                               rtol=0)
    values, vectors = torch.linalg.eigh(cov(x2))
    long_axis = vectors[:, values.argmax()]
    angle = math.degrees(math.atan2(long_axis[1], long_axis[0])) % 180
    assert abs(angle - 45) < 1


def test_toy3_is_two_blobs_and_a_lower_half_ring_with_their_labels():
    x, labels = data.load("toy3", "train")
    assert set(labels.tolist()) == {0, 1, 2}
    for c in range(3):
        assert abs((labels == c).float().mean().item() - 1 / 3) < 0.02
    for c, centre in enumerate(data.BLOBS):
        blob = x[labels == c]
        torch.testing.assert_close(blob.mean(0), torch.tensor(centre), atol=0.02, rtol=0)
        torch.testing.assert_close(cov(blob), data.BLOB_STD ** 2 * torch.eye(2), atol=0.006, rtol=0)
    ring = x[labels == 2]
    radius = ring.norm(dim=1)
    assert abs(radius.mean().item() - data.RADIUS) < 0.01
    assert abs(radius.std().item() - data.RING_STD) < 0.01
    assert torch.all(ring[:, 1] <= 0)  # the lower half: angles in [pi, 2 pi]
    assert ring[:, 0].min() < -1.9 and ring[:, 0].max() > 1.9  # all of it, end to end


def test_the_toy_splits_are_fixed_sized_and_disjoint():
    for name in data.TOYS:
        splits = {s: data.load(name, s)[0] for s in data.TOY_SPLITS}
        assert [len(x) for x in splits.values()] == [10_000, 2_000, 2_000]
        assert torch.equal(splits["test"], data.load(name, "test")[0])  # a pure function
        for a, b in [("train", "val"), ("train", "test"), ("val", "test")]:
            d = torch.cdist(splits[a], splits[b], compute_mode="donot_use_mm_for_euclid_dist")
            assert d.min() > 0, (name, a, b)  # no point in two splits
    with pytest.raises(ValueError, match="toy1, toy2, toy3"):
        data.toy_data("toy4", 10, 0)
