"""Every data set of the project and where it lives: MNIST and Fashion-MNIST (28x28 grey images,
held whole in memory as float tensors), the three 2-D toy sets of the course's part A, their class
names, and picking example images. No model, no CLI.

    import data
    x, labels = data.load("mnist", "test")           # [10000, 1, 28, 28] in [0, 1], [10000]
    x, labels = data.load("mnist", "val")            # [5000, 1, 28, 28]: held out of training
    x, labels = data.load("toy3", "val")             # [2000, 2], [2000]

Every data set has the same three splits, "train", "val" and "test". The validation split picks
the best epoch and stops training early; the test split is only reported, once, on the chosen
model. MNIST and Fashion-MNIST: "val" is 5,000 of the official 60,000 training images (VAL_SIZE,
chosen by val_indices: class-stratified and seeded, VAL_SEED, the same for every model), "train"
the other 55,000, "test" the official 10,000. The toys: three fixed draws (TOY_SPLITS).
split_record(dataset) says which, for a checkpoint's record.

The data root, one rule for every tool and test: the --data-dir flag, else $LSN_DATA_DIR, else
data/ in this folder. torchvision downloads MNIST there when it is missing (so online it just
works); offline, point LSN_DATA_DIR at a folder that holds MNIST/raw/.
"""

import functools
import gzip
import hashlib
import math
import os
import shutil
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent
DEFAULT_DATA_DIR = ROOT / "data"
FASHION_DEBIAN = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist

CLASSES = {
    "mnist": [str(d) for d in range(10)],
    "fashion": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}
IMAGE_DATASETS = tuple(CLASSES)
TOYS = ("toy1", "toy2", "toy3")
DATASETS = IMAGE_DATASETS + TOYS
# torchvision's class (by name) and the IDX file a complete copy must hold, per image data set
TORCHVISION = {"mnist": "MNIST", "fashion": "FashionMNIST"}

SPLITS = ("train", "val", "test")
# The image validation split: VAL_SIZE of the official training images, drawn by val_indices with
# VAL_SEED. VAL_SHA1 pins the outcome per data set (the sha1 of its indices, see val_indices), so
# that a changed rule or random stream cannot slip by (tests/test_data.py checks it).
VAL_SIZE, VAL_SEED = 5_000, 0
VAL_SHA1 = {"mnist": "84a3745d9a76e120d4207e7bd7271e5824a1ed9a",
            "fashion": "b3b673e92d7f63bfd2ccc484c45079a711e5fdc1"}
VAL_RULE = ("val: {val:,} of the {official:,} official training images, class-stratified (each "
            "class in proportion to its count, largest remainders rounded up), per class the "
            "first in the order numpy.random.RandomState({seed}).permutation({official}); train: "
            "the other {train:,}; test: the official {test:,}")
# Fixed toy splits, each drawn with its own seed (toy_data): every split is its own draw.
TOY_SPLITS = {"train": (10_000, 0), "val": (2_000, 1), "test": (2_000, 2)}  # (size, seed)
TOY_RULE = ("fixed draws of toy_data: train {train[0]:,} points (seed {train[1]}), val {val[0]:,} "
            "(seed {val[1]}), test {test[0]:,} (seed {test[1]})")
# toy1: an axis-aligned Gaussian N(MEAN, diag(STD^2)), its standard deviations 5:1.
# toy2: the same points rotated by 45 degrees about MEAN: covariance R diag(STD^2) R^T.
MEAN, STD = (1.0, 2.0), (1.0, 0.2)
# toy3, a face: each point's label is drawn uniformly from {0, 1, 2}. Labels 0 and 1 are round
# Gaussian blobs (the eyes) at BLOBS with standard deviation BLOB_STD; label 2 is the lower half
# of a ring (the mouth) about the origin: angle uniform in [pi, 2 pi], radius N(RADIUS, RING_STD^2).
BLOBS, BLOB_STD = ((-1.0, 1.0), (1.0, 1.0)), 0.25
RADIUS, RING_STD = 2.0, 0.1


class DataError(Exception):
    """A data set that is missing and could not be fetched; the message says where to put it."""


def data_dir(flag=None) -> Path:
    """The data root: the flag, else $LSN_DATA_DIR, else data/ beside this file."""
    return Path(flag or os.environ.get("LSN_DATA_DIR") or DEFAULT_DATA_DIR)


def raw_folder(dataset, root=None) -> Path:
    return data_dir(root) / TORCHVISION[dataset] / "raw"


def has_images(dataset="mnist", root=None) -> bool:
    """Whether the data root already holds the data set (so nothing would be downloaded)."""
    return (raw_folder(dataset, root) / "t10k-images-idx3-ubyte").exists()


def load(dataset, split, root=None):
    """-> (x, labels) of one split ("train", "val" or "test", see the module's docstring):
    images [N, 1, 28, 28] float in [0, 1], or toy points [N, 2]. Whole in memory: no per-item
    PIL transforms, so batches are plain tensor slices."""
    if split not in SPLITS:
        raise ValueError(f"split must be 'train', 'val' or 'test', not {split!r:.60}")
    if dataset in TOYS:
        return toy_data(dataset, *TOY_SPLITS[split])
    if dataset not in IMAGE_DATASETS:
        raise ValueError(f"data set must be one of {', '.join(DATASETS)}, not {dataset!r:.60}")
    images, labels = official(dataset, split != "test", str(data_dir(root)))
    if split != "test":
        val = val_indices(labels)
        keep = torch.from_numpy(val if split == "val" else
                                np.setdiff1d(np.arange(len(labels)), val))
        images, labels = images[keep], labels[keep]
    return images.unsqueeze(1).float().div_(255), labels.clone()


def val_indices(labels, size=VAL_SIZE, seed=VAL_SEED):
    """The validation images of an official training set, as sorted indices into it (numpy
    int64): `size` of them, class-stratified (each class gets size * its share, rounded down, and
    the classes with the largest remainders one more), and within each class the first ones in
    the order numpy.random.RandomState(seed).permutation(len(labels)), a stream numpy keeps
    fixed across versions. A pure function of the labels: the same split for every model."""
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * size / len(labels)
    take = np.floor(quota).astype(np.int64)
    take[np.argsort(-(quota - take), kind="stable")[:size - take.sum()]] += 1
    order = np.random.RandomState(seed).permutation(len(labels))
    ranked = labels[order]
    return np.sort(np.concatenate([order[ranked == c][:k] for c, k in zip(classes, take)]))


def indices_sha1(indices) -> str:
    """The sha1 of indices written as decimal numbers joined by commas, in ascending order (so
    anyone can check a split without numpy)."""
    return hashlib.sha1(",".join(str(int(i)) for i in sorted(indices)).encode()).hexdigest()


def split_record(dataset) -> dict:
    """Which examples form each split of `dataset`, for a checkpoint's record (needs no data)."""
    if dataset in TOYS:
        return {"rule": TOY_RULE.format(**TOY_SPLITS),
                **{f"{s}_size": n for s, (n, _) in TOY_SPLITS.items()},
                **{f"{s}_seed": seed for s, (_, seed) in TOY_SPLITS.items()}}
    official_n, test_n = 60_000, 10_000  # both image data sets' official splits
    return {"rule": VAL_RULE.format(val=VAL_SIZE, official=official_n, seed=VAL_SEED,
                                    train=official_n - VAL_SIZE, test=test_n),
            "train_size": official_n - VAL_SIZE, "val_size": VAL_SIZE, "test_size": test_n,
            "val_seed": VAL_SEED, "val_sha1": VAL_SHA1[dataset]}


@functools.lru_cache(maxsize=2)
def official(dataset, train, root):
    """-> (uint8 images [N, 28, 28], labels [N]) of the official training or test set, read from
    the data root `root` (the last two are kept: train, val and test read the files once)."""
    # Only loading images needs torchvision: the app, which never does, stays without it.
    import torchvision

    raw = raw_folder(dataset, root)
    if dataset == "fashion" and not raw.exists() and FASHION_DEBIAN.exists():
        # Debian ships the original files, recompressed (their .gz md5 differs from
        # torchvision's list, which would then download): unpack them to the raw IDX files
        # that torchvision reads as they are.
        raw.mkdir(parents=True)
        for f in FASHION_DEBIAN.glob("*.gz"):
            with gzip.open(f) as src, open(raw / f.name.removesuffix(".gz"), "wb") as dst:
                shutil.copyfileobj(src, dst)
    cls = getattr(torchvision.datasets, TORCHVISION[dataset])
    try:
        ds = cls(root=root, train=train, download=True)
    except Exception as e:  # torchvision raises many kinds: network, md5, parse errors
        raise DataError(
            f"{dataset} data not found under {raw} and it could not be downloaded ({e}). Put the "
            f"four original IDX files (or their .gz) in {raw}, or point --data-dir / "
            f"LSN_DATA_DIR at a folder that holds {cls.__name__}/raw/.") from None
    return ds.data, ds.targets


def rotation(degrees):
    """The 2 x 2 matrix that turns a column vector by `degrees` counter-clockwise."""
    a = math.radians(degrees)
    return torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])


def toy_data(name, n, seed):
    """-> (x [n, 2] float32, labels [n] int64) of toy1, toy2 or toy3 (defined above); toy1 and
    toy2 label every point 0. The same (n, seed) gives toy2 exactly toy1's points rotated."""
    gen = torch.Generator().manual_seed(seed)
    eps = torch.randn(n, 2, generator=gen)
    if name in ("toy1", "toy2"):
        x = eps * torch.tensor(STD)
        if name == "toy2":
            x = x @ rotation(45).T
        return x + torch.tensor(MEAN), torch.zeros(n, dtype=torch.int64)
    if name != "toy3":
        raise ValueError(f"toy data set must be one of {', '.join(TOYS)}, not {name!r:.60}")
    labels = torch.randint(3, (n,), generator=gen)
    angle = math.pi * (1 + torch.rand(n, generator=gen))
    radius = RADIUS + RING_STD * eps[:, :1]
    ring = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    blob = torch.tensor(BLOBS)[labels.clamp(max=1)] + BLOB_STD * eps
    return torch.where((labels == 2)[:, None], ring, blob), labels


def pick_images(x, labels, wanted, seed=0):
    """One random image of each class in `wanted` (a class twice: two different images)."""
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed)).tolist()
    idx = []
    for c in wanted:
        idx.append(next(i for i in order if labels[i] == c and i not in idx))
    return x[idx]


def class_index(classes, value, name="digit"):
    """A class index from its name ('7', 'Sneaker') or its index (7, 7.0 or '7'); anything else
    raises ValueError naming the classes."""
    if isinstance(value, str):
        if value in classes:
            return classes.index(value)
        if value.isdecimal() and len(value) < 4:
            value = int(value)
    if (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
            and 0 <= value < len(classes) and float(value).is_integer()):
        return int(value)
    raise ValueError(f"{name} must be one of the classes {', '.join(classes)} (or its index "
                     f"0-{len(classes) - 1}), not {value!r:.60}")
