"""data.py: the one data-root rule, class names and indices, example picking, the splits (the
image validation split's rule on made-up labels, then on MNIST and Fashion-MNIST where they are
on disk), and the 2-D toy sets against their definitions (the toys need no data on disk).
Run: pytest tests/test_data.py"""

import gzip
import math

import numpy as np
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
    with pytest.raises(ValueError, match="split must be 'train', 'val' or 'test', not 'valid'"):
        data.load("mnist", "valid", tmp_path)
    with pytest.raises(ValueError, match="split must be"):
        data.load("toy1", "valid")


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


# --- the image splits ---------------------------------------------------------------------------

def test_val_indices_are_class_stratified_seeded_and_sorted():
    counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]  # MNIST's training set
    labels = np.random.RandomState(7).permutation(np.repeat(np.arange(10), counts))
    idx = data.val_indices(labels)
    assert len(idx) == len(set(idx.tolist())) == 5_000 and np.all(np.diff(idx) > 0)
    got = np.bincount(labels[idx], minlength=10)
    share = 5_000 * np.array(counts) / 60_000  # each class in proportion, rounded by remainders
    assert np.all(np.abs(got - share) < 1) and got.sum() == 5_000
    assert np.array_equal(idx, data.val_indices(labels))  # a pure function of the labels
    assert not np.array_equal(idx, data.val_indices(labels, seed=1))
    # per class, the first in the seeded order
    order = np.random.RandomState(data.VAL_SEED).permutation(len(labels))
    for c in range(10):
        assert set(idx[labels[idx] == c]) == set(order[labels[order] == c][:got[c]])


def check_image_splits(dataset, root, official_labels):
    splits = {s: data.load(dataset, s, root) for s in data.SPLITS}
    assert [len(x) for x, _ in splits.values()] == [55_000, 5_000, 10_000]
    idx = data.val_indices(official_labels)
    assert data.indices_sha1(idx) == data.VAL_SHA1[dataset]  # the same split as every model's
    rest = np.setdiff1d(np.arange(60_000), idx)
    assert torch.equal(splits["val"][1], torch.as_tensor(official_labels[idx]))
    assert torch.equal(splits["train"][1], torch.as_tensor(official_labels[rest]))
    counts = np.bincount(official_labels, minlength=10)
    got = np.bincount(splits["val"][1].numpy(), minlength=10)
    assert np.all(np.abs(got - 5_000 * counts / 60_000) < 1)
    record = data.split_record(dataset)
    assert record["val_sha1"] == data.VAL_SHA1[dataset] and record["val_seed"] == data.VAL_SEED
    sizes = record["train_size"], record["val_size"], record["test_size"]
    assert sizes == (55_000, 5_000, 10_000)
    assert "class-stratified" in record["rule"] and "RandomState(0)" in record["rule"]
    return splits


def test_mnist_splits_hold_out_5000_training_images_the_same_every_time(mnist_root, mnist_train):
    splits = check_image_splits("mnist", mnist_root,
                                data.official("mnist", True, str(mnist_root))[1].numpy())
    train, val = splits["train"][0], splits["val"][0]
    assert torch.equal(train, mnist_train[0])  # conftest's copy, loaded apart
    assert torch.equal(val, data.load("mnist", "val", mnist_root)[0])
    # disjoint: no validation image among the training images (none of MNIST's repeats either)
    train_rows = {bytes(r) for r in (train * 255).round().to(torch.uint8).flatten(1).numpy()}
    assert not any(bytes(r) in train_rows
                   for r in (val * 255).round().to(torch.uint8).flatten(1).numpy())


def test_fashion_mnist_split_is_pinned_too(tmp_path):
    """From Debian's dataset-fashion-mnist (its labels alone; skipped where it is not installed)."""
    labels_gz = data.FASHION_DEBIAN / "train-labels-idx1-ubyte.gz"
    if not labels_gz.exists():
        pytest.skip(f"{labels_gz} not found (apt-get install dataset-fashion-mnist)")
    labels = np.frombuffer(gzip.open(labels_gz).read()[8:], dtype=np.uint8).astype(np.int64)
    idx = data.val_indices(labels)
    assert data.indices_sha1(idx) == data.VAL_SHA1["fashion"]
    assert np.bincount(labels[idx]).tolist() == [500] * 10


def test_toy_split_record_names_the_fixed_draws():
    record = data.split_record("toy3")
    assert (record["train_size"], record["val_size"], record["test_size"]) == (10_000, 2_000, 2_000)
    assert (record["train_seed"], record["val_seed"], record["test_seed"]) == (0, 1, 2)


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
