"""Every data set of the project and where it lives: MNIST and Fashion-MNIST (28x28 grey images,
held whole in memory as float tensors), the three 2-D toy sets of the course's part A, their class
names, and picking example images. No model, no CLI.

    import data
    x, labels = data.load("mnist", "test")           # [10000, 1, 28, 28] in [0, 1], [10000]
    x, labels = data.load("toy3", "val")             # [2000, 2], [2000]

The data root, one rule for every tool and test: the --data-dir flag, else $LSN_DATA_DIR, else
data/ in this folder. torchvision downloads MNIST there when it is missing (so online it just
works); offline, point LSN_DATA_DIR at a folder that holds MNIST/raw/.
"""

import gzip
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

# Fixed toy splits, each drawn with its own seed: the validation split picks the best epoch and
# stops training early, the test split is only reported.
TOY_SPLITS = {"train": (10_000, 0), "val": (2_000, 1), "test": (2_000, 2)}  # (size, seed)
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
    """-> (x, labels) of one split: images [N, 1, 28, 28] float in [0, 1] ("train" or "test"),
    or toy points [N, 2] ("train", "val" or "test"). Whole in memory: no per-item PIL
    transforms, so batches are plain tensor slices."""
    if dataset in TOYS:
        return toy_data(dataset, *TOY_SPLITS[split])
    if dataset not in IMAGE_DATASETS:
        raise ValueError(f"data set must be one of {', '.join(DATASETS)}, not {dataset!r:.60}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r:.60}")
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
        ds = cls(root=str(data_dir(root)), train=split == "train", download=True)
    except Exception as e:  # torchvision raises many kinds: network, md5, parse errors
        raise DataError(
            f"{dataset} data not found under {raw} and it could not be downloaded ({e}). Put the "
            f"four original IDX files (or their .gz) in {raw}, or point --data-dir / "
            f"LSN_DATA_DIR at a folder that holds {cls.__name__}/raw/.") from None
    return ds.data.unsqueeze(1).float().div_(255), ds.targets.clone()


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
