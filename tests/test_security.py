"""Security defaults: the app listens on 127.0.0.1 with share off unless told otherwise, model
names that are paths are refused, the model chooser offers only pretrained/, the server hands out
no file outside Gradio's cache, no pickle is loaded anywhere (an AST scan of every .py file), and
a decompression bomb is refused before its pixels are decoded. The tests that need a server use
conftest's live_url and are marked live.
Run: pytest tests/test_security.py (needs the shipped default model in pretrained/)."""

import ast
import os
from pathlib import Path

import gradio as gr
import httpx
import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image, ImageFile

import api
import demo
import neural_network as nn

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client(live_url):
    return Client(live_url, verbose=False)


@pytest.mark.slow  # about 1 s: it builds the app twice
def test_default_host_is_loopback_and_share_is_off(monkeypatch):
    seen = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: seen.update(kw))
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    threads = torch.get_num_threads()
    try:
        demo.main([])
        assert (seen["server_name"], seen["share"]) == ("127.0.0.1", False)
        demo.main(["--host", "0.0.0.0", "--share"])  # only when asked
        assert (seen["server_name"], seen["share"]) == ("0.0.0.0", True)
    finally:
        torch.set_num_threads(threads)  # main() sets 1 for the server


PATHS = ["../pretrained/mnist_vae_beta4", "/etc/passwd", str(nn.PRETRAINED / nn.DEFAULT_MODEL),
         "pretrained/mnist_vae_beta4", "..", "mnist_vae_beta4/..", "..\\mnist_vae_beta4",
         "C:\\pretrained\\mnist_vae_beta4"]


@pytest.mark.live
@pytest.mark.parametrize("name", PATHS)
def test_model_names_that_are_paths_are_refused_over_the_api(client, name):
    with pytest.raises(AppError, match="must be a name from pretrained/, not a path"):
        client.predict(0, 0, model=name, api_name="/decode")


@pytest.mark.live
@pytest.mark.parametrize("name", [f"{nn.DEFAULT_MODEL}.last", f"{nn.DEFAULT_MODEL}.atlas",
                                  "README", "mnist_vae_beta4.log"])
def test_files_in_pretrained_that_are_not_models_are_unknown(client, name):
    with pytest.raises(AppError, match="unknown model"):
        client.predict(3, model=name, api_name="/jump")


def test_model_chooser_offers_only_the_models_in_pretrained():
    app = demo.build_app()
    chooser = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "lsn-model")
    offered = [value for _, value in chooser.choices]
    assert offered == nn.list_models() and offered
    for name in offered:
        assert (nn.PRETRAINED / f"{name}.safetensors").resolve().parent == nn.PRETRAINED.resolve()


@pytest.mark.live
@pytest.mark.parametrize("path", [ROOT / "demo.py", ROOT / "store.py", ROOT / "neural_network.py",
                                  Path("/etc/passwd"), nn.PRETRAINED / f"{nn.DEFAULT_MODEL}.safetensors"])
def test_the_server_hands_out_no_file_outside_its_cache(live_url, path):
    for url in (f"{live_url}/gradio_api/file={path}", f"{live_url}/gradio_api/file=../../..{path}"):
        r = httpx.get(url, timeout=30)
        assert r.status_code in (403, 404), (url, r.status_code)
        assert path.read_bytes()[:64] not in r.content


@pytest.mark.live
def test_encode_refuses_a_file_it_did_not_receive(live_url):
    """A FileData naming a server path: Gradio refuses it before the handler opens anything."""
    with httpx.Client(base_url=f"{live_url}/gradio_api", timeout=30) as http:
        event = http.post("/call/encode", json={"data": [
            {"path": str(ROOT / "demo.py"), "meta": {"_type": "gradio.FileData"}}, None]}).json()
        assert "event: error" in http.get(f"/call/encode/{event['event_id']}").text


def python_files():
    """Every .py file of the repo; the folders in `skip` are not even walked (.venv is huge)."""
    skip = {".venv", ".git", "node_modules"}
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in skip]
        found += [Path(folder, f) for f in files if f.endswith(".py")]
    return found


def test_no_pickle_is_loaded_anywhere():
    """torch.load only with weights_only=True, np.load never with allow_pickle=True, and no
    pickle-family module imported, in every .py file of the repo (tests and bench included)."""
    unsafe_modules = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve",
                      "marshal"}
    found = []
    files = python_files()
    assert {ROOT / "demo.py", ROOT / "store.py", ROOT / "tests" / "test_security.py"} <= set(files)
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import):
                found += [f"{where} imports {a.name}" for a in node.names
                          if a.name.split(".")[0] in unsafe_modules]
            elif isinstance(node, ast.ImportFrom):
                if (node.module or "").split(".")[0] in unsafe_modules:
                    found.append(f"{where} imports from {node.module}")
                if node.module == "torch" and any(a.name == "load" for a in node.names):
                    found.append(f"{where} imports torch.load by name (unchecked calls)")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = getattr(node.func.value, "id", None)
                kw = {k.arg: getattr(k.value, "value", None) for k in node.keywords}
                if owner == "torch" and node.func.attr == "load" and kw.get("weights_only") is not True:
                    found.append(f"{where} torch.load without weights_only=True")
                if owner in ("np", "numpy") and node.func.attr == "load" and kw.get("allow_pickle"):
                    found.append(f"{where} np.load with allow_pickle")
    assert not found, found


def test_a_decompression_bomb_is_refused_before_decoding(tmp_path, monkeypatch, bomb):
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb(30000, 30000))
    assert path.stat().st_size < 1000
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("pixels decoded"))
    with pytest.raises(gr.Error) as e:
        api.encode(str(path))
    assert e.value.message.startswith("image is too large")


@pytest.mark.live
def test_a_decompression_bomb_is_refused_over_the_api(client, tmp_path, bomb):
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb(30000, 30000))
    with pytest.raises(AppError, match="image is too large"):
        client.predict(handle_file(str(path)), api_name="/encode")
    digit = np.asarray(Image.open(client.predict(0, 0, api_name="/decode")))  # still serving
    assert digit.shape == (28, 28) and digit.max() - digit.min() > 100
