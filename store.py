"""The app's model store: the loaded models with their atlases, what is built once from them
(decoded manifolds, map bases, the page's model file) and the folder of downloads. Each model
loads once, even under concurrent first requests, and is shared by every request.

    from store import STORE
    lm = STORE.get("mnist_ae")      # a Loaded: model, meta, atlas, extent, centres, has_prior
    STORE.reset()                   # forget every loaded model (tests do this)

Download folders expire one way, in fresh_dir(): older than KEEP_DOWNLOADS_S or beyond the
newest MAX_DOWNLOAD_DIRS; a remembered answer (STORE.strip) lives as long as its files.
Above checks.py; used by api.py, routes.py, maps.py and the page. Tested in
tests/test_demo_handlers.py and, with broken checkpoints, tests/test_faults.py.
"""

import hashlib
import json
import math
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save

import latent_utils as lu
from checks import Refused, shown
from neural_network import DEFAULT_MODEL, CheckpointError, decoder_tensors, list_models, load_model, model_path

MAKE_HINT = "make them with `make models` or `python trainer.py --out pretrained/NAME.safetensors`"
KEEP_DOWNLOADS_S = 600  # download folders older than this go, as Gradio's cache (demo.py) does
MAX_DOWNLOAD_DIRS = 200  # and the oldest beyond this many (about 20 MB of interpolation files)


@dataclass(frozen=True, eq=False)
class Loaded:
    """A model with its atlas; `extent` is the atlas extent, [lo, hi] per dimension of z, rounded
    outward to the 0.01 step; `plane` (origin, basis, share) is the map's default plane
    (latent_utils.plane: z itself for a 2-D latent)."""
    name: str
    model: torch.nn.Module
    meta: dict
    atlas: dict
    device: torch.device
    classes: list
    extent: list
    centres: np.ndarray
    plane: tuple
    nearness: dict  # how near its neighbours a code typically lies (latent_utils.nearness)
    etag: str  # of the checkpoint and atlas files' bytes: a retrained model is a new version
    plane_by: tuple = ()  # the classes whose centres the map's plane passes through (maps.planed)

    @property
    def dim(self):
        """The size of z."""
        return self.model.config.latent_dim

    @property
    def has_prior(self):
        """A VAE has the prior N(0, I); an autoencoder has none, so N(0, I) means nothing for it."""
        return self.model.config.kind == "vae"

    @property
    def noun(self):
        """What the model's test images are called on the page: MNIST's are digits, others images
        (Fashion-MNIST's "nearest test digits: Sneaker" read wrong)."""
        return "digits" if self.atlas["dataset"] == "mnist" else "images"


def page_codes(mu):
    """The atlas codes as the page gets them: a larger latent's in float16 (10-D ones in float32
    would take the page's model file to 1.7 MiB)."""
    return mu.float() if mu.shape[1] == 2 else mu.half()


def model_name(name):
    """A served model's name (None or "": the default): a shipped one, or a checkpoint added with
    STORE.add; paths and unknown names are refused."""
    if name is None or name == "":
        return STORE.default
    if not isinstance(name, str):
        raise Refused(f"model must be a model name, not {shown(name)}")
    if "/" in name or "\\" in name or ".." in name:
        raise Refused(f"model must be a name from pretrained/, not a path: {shown(name)}")
    if name not in STORE and name not in STORE.names():
        raise Refused(f"unknown model {shown(name)}; the served models are "
                      f"{', '.join(STORE.names()) or 'none'} ({MAKE_HINT})")
    return name


class ModelStore:
    """The app's shared state: the loaded models, what is built once from each (memo) and the
    folder of downloads. Each model loads once, even under concurrent first requests (the lock);
    afterwards eval-mode inference under inference_mode is thread-safe. reset() forgets all."""

    def __init__(self, device=None):
        self._lock = threading.Lock()
        self.reset(device)

    def reset(self, device=None, root=None):
        """Forget every loaded model and what was built from it, and remove the download folder;
        load on `device` from now on (None: CUDA when available, else CPU) and keep downloads in
        `root` (None: the system's temp folder)."""
        with self._lock:
            self.device, self.root = device, root
            self.default = DEFAULT_MODEL  # main() makes it the first shipped model that loads
            self._failed: dict[str, tuple] = {}  # name -> (its files' mtimes, the error)
            self._loaded: dict[str, Loaded] = {}
            self._memo: dict[tuple, object] = {}
            self._strips: OrderedDict = OrderedDict()  # the interpolation answers, with files
            self._added: dict[str, Path] = {}  # a user's own checkpoints (demo.py --model PATH)
            old, self._out = getattr(self, "_out", None), None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def __contains__(self, name):
        return name in self._loaded

    def names(self):
        """The served models: the shipped ones, then the checkpoints added (STORE.add)."""
        return list_models() + [n for n in self._added if n not in list_models()]

    def path(self, name):
        """The checkpoint file of a served model."""
        return self._added.get(name) or model_path(name)

    def add(self, path):
        """Serve a checkpoint trained by trainer.py from anywhere, with its atlas beside it, under
        its file name -> that name. It loads now, so that a bad file stops the start with one
        line naming the file and the fix (never unpickled: safetensors only)."""
        path = Path(path)
        name, fix = path.name.removesuffix(".safetensors"), f"python trainer.py --atlas-only --out {path}"
        if path.suffix != ".safetensors":
            raise Refused(f"{path}: not a .safetensors checkpoint; give a file trainer.py wrote")
        if not path.is_file():
            raise Refused(f"{path}: no such file")
        if name in list_models():
            raise Refused(f"{path}: {name} is the name of a shipped model; rename the file and its atlas")
        if not lu.atlas_path(path).is_file():
            raise Refused(f"{path}: no atlas beside it ({lu.atlas_path(path).name}); make it with {fix}")
        self._added[name] = path
        try:
            self.get(name)
        except Refused:
            del self._added[name]
            raise
        return name

    def get(self, name=None) -> Loaded:
        """The loaded model `name` (None: the default); its files broken: a gr.Error saying so,
        remembered until the files change (not read again on every call)."""
        name = model_name(name)
        if name not in self._loaded:
            with self._lock:
                if name not in self._loaded:
                    self._loaded[name] = self._load(name)
        return self._loaded[name]

    def _load(self, name):
        path = self.path(name)
        stamp = tuple(p.stat().st_mtime_ns if p.exists() else None
                      for p in (path, lu.atlas_path(path)))
        if name in self._failed and self._failed[name][0] == stamp:
            raise Refused(self._failed[name][1])
        try:
            model, meta = load_model(path, self.device)
            atlas = lu.load_atlas(path)
        except CheckpointError as e:
            # the file's name, not where the server keeps it
            error = str(e).replace(f"{path.parent}{os.sep}", "")
            self._failed[name] = (stamp, f"model {name!r} cannot be loaded: {error}; {MAKE_HINT}")
            raise Refused(self._failed[name][1]) from None
        if len(atlas["extent"]) != 2 * model.config.latent_dim:
            self._failed[name] = (stamp, f"model {name!r} cannot be loaded: its atlas is not for a "
                                         f"{model.config.latent_dim}-D latent; {MAKE_HINT}")
            raise Refused(self._failed[name][1])
        extent = [(math.floor if i % 2 == 0 else math.ceil)(v * 100) / 100
                  for i, v in enumerate(atlas["extent"])]
        digest = hashlib.sha1()
        for file in (path, lu.atlas_path(path)):
            digest.update(file.read_bytes())
        # measured on the codes the page votes with, so that its "off the data" agrees
        nearness = lu.nearness(page_codes(atlas["mu"]).float())
        return Loaded(name, model, meta, atlas, next(model.parameters()).device, atlas["classes"],
                      extent, atlas["centres"].numpy(), lu.plane(atlas["mu"]), nearness,
                      f'"{digest.hexdigest()[:20]}"')

    def memo(self, key, make):
        """make(), built once for `key` (a tuple naming the model first) until reset(); two first
        requests may both build it, which is harmless."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def strip(self, key, make):
        """The interpolation answer for `key` (model, method, classes, steps), kept while its files
        are (fresh_dir expires them); else make() -> (..., [file paths], ...)."""
        with self._lock:
            hit = self._strips.get(key)
            if hit and all(Path(f).exists() for f in hit[1]):
                self._strips.move_to_end(key)
                return hit
        answer = make()
        with self._lock:
            self._strips[key] = answer
            for old in [k for k, v in self._strips.items() if not Path(v[1][0]).exists()]:
                del self._strips[old]
        return answer

    def page_file(self, name=None):
        """The model as the page runs it, one safetensors file: the decoder in float16
        (neural_network.decoder_tensors) and the atlas codes and labels for the z text's vote,
        with the config, class names, the extent and how near its neighbours a code typically
        lies (latent_utils.nearness) as metadata (1.4 MB)."""
        lm = self.get(name)

        def make():
            tensors, meta = decoder_tensors(self.path(lm.name))
            tensors.update({"atlas.mu": page_codes(lm.atlas["mu"]).contiguous(),
                            "atlas.labels": lm.atlas["labels"].to(torch.uint8)})
            meta = {"config": meta["config"], "name": lm.name, "classes": lm.classes,
                    "extent": lm.extent, "kind": lm.model.config.kind, "noun": lm.noun,
                    "map_points": lu.MAP_POINTS, "nearness": lm.nearness}
            return save(tensors, {k: json.dumps(v) for k, v in meta.items()})
        return self.memo((lm.name, "page file"), make)

    def test_images_file(self, name=None):
        """(etag, bytes) of the images behind the map's dots of model `name`'s data set
        (lu.save_test_images), for the page's dot cards; a Refused naming it when missing."""
        lm = self.get(name)
        path = lu.test_images_path(lm.atlas["dataset"])

        def make():
            try:
                body, stat = path.read_bytes(), path.stat()
            except OSError:
                raise Refused(f"the test images of {lm.atlas['dataset']} are not shipped: "
                              f"{MAKE_HINT}") from None
            return f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"', body
        return self.memo((lm.atlas["dataset"], "test images"), make)

    def out_dir(self):
        """Where the PNG/GIF downloads are written (Gradio serves copies of them)."""
        with self._lock:
            if self._out is None:
                self._out = Path(tempfile.mkdtemp(prefix="lsn-", dir=self.root))
            return self._out


STORE = ModelStore()


def fresh_dir():
    """A new folder in STORE.out_dir(). Folders older than KEEP_DOWNLOADS_S go, and beyond the
    newest MAX_DOWNLOAD_DIRS the oldest go too: at a classroom's rate (60 users, an
    interpolation each every 8 s, ~100 KB of files each) ten minutes would keep ~300 MB."""
    folders = []
    for old in STORE.out_dir().iterdir():
        try:
            folders.append((old.stat().st_mtime, old))
        except FileNotFoundError:  # another request removed it meanwhile
            continue
    folders.sort(reverse=True)
    for i, (mtime, old) in enumerate(folders):
        if i >= MAX_DOWNLOAD_DIRS - 1 or time.time() - mtime > KEEP_DOWNLOADS_S:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=STORE.out_dir()))
