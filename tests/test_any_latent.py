"""Models with a latent of any size: the shipped 10-D models through the API (z in and out, the
image route's ?z=), the map's plane and the navigator's props, the address, a switch between
latent sizes, the same-z comparison, and a user's own checkpoint (demo.py --model PATH).
Handlers and routes, no server.

    python -m pytest tests/test_any_latent.py
"""

import base64
import io
import json
import math
import shutil

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image

import api
import checks
import latent_utils as lu
import main_view
import maps
import neural_network as nn
import store
import tab_models
import ui
from store import STORE

D10 = ("mnist_vae_d10", "mnist_ae_d10")


def decoded(lm, z):
    return nn.decode_uint8(lm.model, [z])[0]


def values(v):
    """A figure's array: plotly writes numpy arrays as typed buffers ({"dtype", "bdata"})."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), v["dtype"])
    return np.asarray(v, float)


@pytest.mark.parametrize("name", D10)
def test_the_api_takes_and_returns_z_of_the_models_latent_size(name):
    lm = STORE.get(name)
    assert lm.dim == 10 and len(lm.extent) == 20
    three, eight = api.jump(3, model=name), api.jump(8, model=name)
    assert len(three) == 10 and three == pytest.approx(lm.centres[3].tolist())
    half = api.morph(z=three, digit=8, amount=0.5, model=name)
    assert half == pytest.approx(((np.array(three) + eight) / 2).tolist(), abs=1e-5)
    assert np.array_equal(np.asarray(api.decode(z=three, model=name)), decoded(lm, checks.clamp(lm, three)))
    for method in ("linear", "spherical"):
        path = np.array(api.interpolate(3, 8, 5, method, name))
        assert path.shape == (5, 10) and np.allclose(path[[0, -1]], [three, eight], atol=1e-5)
    assert len(api.edit(z=three, attribute="width", amount=2, model=name)) == 10
    assert set(api.measure(z=three, model=name)) == set(api.dirs.ATTRIBUTES)
    assert len(api.random_point(1, name)) == 10
    z = np.array(api.sample(mu=[0.5] * 10, sigma=[0.0] * 10, n=3, model=name))
    assert z.shape == (3, 10) and (z == 0.5).all()  # sigma 0 repeats mu exactly
    spread = np.array(api.sample(mu=[0] * 10, sigma=[1] * 10, n=200, seed=3, model=name)).std()
    assert spread == pytest.approx(1, abs=0.1)


@pytest.mark.parametrize("call, words", [
    (lambda m: api.decode(0, 0, m), "give z, a list of 10 numbers"),
    (lambda m: api.decode(z=[0] * 9, model=m), "z must be a list of 10 numbers (mnist_vae_d10's latent size)"),
    (lambda m: api.decode(z=[0, 0, math.nan] + [0] * 7, model=m), "z[2] must be a finite number, not nan"),
    (lambda m: api.decode(z=["a"] + [0] * 9, model=m), "z[0] must be a number, not 'a'"),
    (lambda m: api.morph(x=0.5, y=0.5, digit=3, amount=0.5, model=m), "give z, a list of 10 numbers"),
    (lambda m: api.edit(z=[0] * 2, attribute="slant", amount=0.1, model=m), "z must be a list of 10 numbers"),
    (lambda m: api.sample(0, 0, 1, 1, model=m), "give mu, a list of 10 numbers"),
    (lambda m: api.sample(mu=[0] * 10, sigma=[1] * 3, model=m), "sigma must be a list of 10 numbers"),
    (lambda m: api.sample(mu=[0] * 10, sigma=[-1] * 10, model=m), "sigma[0] must be between 0 and 2"),
], ids=range(9))
def test_a_z_of_the_wrong_length_or_not_numbers_is_refused_by_name(call, words):
    with pytest.raises(checks.Refused) as e:
        call("mnist_vae_d10")
    assert words in e.value.message


def test_2d_models_still_take_x_and_y_and_take_z_too():
    lm = STORE.get()
    assert api.decode(0.5, -1).tobytes() == api.decode(z=[0.5, -1]).tobytes()
    assert api.morph(0.5, -1, 7, 0.5) == api.morph(z=[0.5, -1], digit=7, amount=0.5)
    assert api.sample(0, 0, 1, 1, n=4, seed=2) == api.sample(mu=[0, 0], sigma=[1, 1], n=4, seed=2)
    assert len(api.random_point(0)) == 2 and lm.dim == 2


def test_the_image_route_takes_z(http):
    lm = STORE.get("mnist_ae_d10")
    z = lm.centres[5].tolist()
    r = http.get("/api/decode.png", params={"z": ",".join(map(str, z)), "model": lm.name})
    assert r.status_code == 200
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(r.content))),
                          decoded(lm, checks.clamp(lm, z)))
    for bad, words in [("1,2,3", "z must be a list of 10 numbers"), ("1," * 9 + "x", "z[9] must be a number"),
                       ("nan" + ",0" * 9, "z[0] must be a finite number")]:
        r = http.get("/api/decode.png", params={"z": bad, "model": lm.name})
        assert r.status_code == 400 and words in r.json()["error"]
    r = http.get("/api/decode.png", params={"x": 0, "y": 0, "model": lm.name})
    assert r.status_code == 400 and "give z, a list of 10 numbers" in r.json()["error"]


@pytest.mark.parametrize("name", D10)
def test_the_page_file_of_a_10d_model_fits_and_says_how_near_codes_lie(name, http):
    r = http.get(f"/api/model/{name}")
    assert r.status_code == 200 and len(r.content) <= 1.5 * 2**20
    header = json.loads(r.content[8:8 + int.from_bytes(r.content[:8], "little")])  # safetensors' header
    near = json.loads(header["__metadata__"]["nearness"])
    assert near["k"] == 15 and 0 < near["median"] < near["p99"]
    assert header["atlas.mu"]["shape"][1] == 10


@pytest.mark.parametrize("name", D10)
def test_the_map_of_a_10d_model_is_its_codes_on_their_principal_plane(name):
    lm = STORE.get(name)
    origin, basis, share = lm.plane
    mu = lm.atlas["mu"].double()
    assert torch.allclose(origin.double(), mu.mean(0), atol=1e-4) and 0.2 < share < 1
    fig = maps.map_figure(name, overlays=["interpolation path"],
                          path={"linear": api.interpolate(3, 8, 5, "linear", name)})
    dots = [t for t in fig.data if t.name in lm.classes]
    labels = lm.atlas["labels"][:lu.MAP_POINTS].numpy()
    want = lu.project(lm.atlas["mu"][:lu.MAP_POINTS], origin, basis).numpy()
    assert np.allclose(values(dots[3].x), want[labels == 3, 0], atol=1e-5)
    assert np.allclose(values(dots[3].y), want[labels == 3, 1], atol=1e-5)
    # fainter the farther from the plane: the farthest dot fainter than the nearest
    off = np.linalg.norm((mu[:lu.MAP_POINTS] - origin) - torch.as_tensor(want).double() @ basis.T.double(), axis=1)
    opacity = np.concatenate([values(t.marker.opacity) for t in dots])
    order = np.concatenate([np.flatnonzero(labels == c) for c in range(10)])
    assert opacity[np.argmax(off[order])] < 0.2 < 0.6 < opacity[np.argmin(off[order])]
    assert f"{share:.0%} of their variance" in fig.layout.xaxis.title.text
    path = [t for t in fig.data if t.name == "linear"][0]
    want = lu.project(api.interpolate(3, 8, 5, "linear", name), origin, basis)
    assert np.allclose(np.c_[values(path.x), values(path.y)], want, atol=1e-5)


def test_the_navigator_of_a_10d_model_gets_its_plane_and_the_address_takes_z():
    lm = STORE.get("mnist_vae_d10")
    mid = [(lo + hi) / 2 + 0.003 for lo, hi in np.reshape(lm.extent, (-1, 2))]
    nav = ui.navigator(lm, ui.go_to(mid, lm.name))
    assert nav.value == [round(v, 2) for v in mid] and len(nav.props["plane"]["basis"]) == 2
    assert ui.go_to([1e9] * 10, lm.name) == lm.extent[1::2]  # each dimension clamped to its range
    assert len(nav.props["plane"]["basis"][0]) == 10 and len(nav.props["plane"]["extent"]) == 4

    class Request:
        def __init__(self, **q):
            self.query_params = q
    nav, model = main_view.ui_from_url(Request(model=lm.name, z=",".join(f"{v:.2f}" for v in mid)))
    assert model == lm.name and nav.value == [round(v, 2) for v in mid]
    with pytest.raises(checks.Refused, match="z in the address must list 10 numbers"):
        main_view.ui_from_url(Request(model=lm.name, z="1,2"))
    with pytest.raises(checks.Refused, match="z3 in the address must be a number"):
        main_view.ui_from_url(Request(model=lm.name, z="1,2,x,4,5,6,7,8,9,10"))


def test_a_switch_to_another_latent_size_starts_z_afresh_and_the_comparison_keeps_to_one_size():
    d10 = tab_models.ui_model("mnist_ae_d10", [0.5, -0.5])  # from a 2-D model's position
    assert d10["nav"].value == [0.0] * 10
    assert tab_models.ui_model("mnist_vae_beta1", [0.5, -0.5])["nav"].value is None  # kept by the page
    digits, _ = tab_models.ui_compare([0.0] * 10, "mnist_ae_d10")
    assert sorted(c for _, c in digits) == ["mnist_ae_d10 (beta 0)", "mnist_vae_d10 (beta 1)"]
    digits, _ = tab_models.ui_compare([0.0, 0.0], "mnist_vae_beta4")
    assert not any("d10" in c for _, c in digits)


def copy_model(name, folder, as_name):
    for suffix in (".safetensors", ".atlas.safetensors"):
        shutil.copy(nn.sibling(nn.model_path(name), suffix), folder / f"{as_name}{suffix}")
    return folder / f"{as_name}.safetensors"


def test_a_users_own_checkpoint_is_served_under_its_file_name(tmp_path, fresh_store):
    path = copy_model("mnist_ae_d10", tmp_path, "my_ae")
    assert fresh_store.add(str(path)) == "my_ae" and "my_ae" in fresh_store.names()
    lm = fresh_store.get("my_ae")
    assert lm.dim == 10 and api.jump(2, model="my_ae") == pytest.approx(lm.centres[2].tolist())
    assert [m["name"] for m in api.models()][-1] == "my_ae"


def test_a_bad_user_checkpoint_is_one_line_naming_the_file_and_the_fix(tmp_path, fresh_store):
    ok = copy_model("mnist_vae_d10", tmp_path, "ok")
    (tmp_path / "lonely.safetensors").write_bytes(ok.read_bytes())
    (tmp_path / "pickle.safetensors").write_bytes(b"\x80\x04\x95" + b"\x00" * 64)  # a torch.save file
    shutil.copy(nn.sibling(ok, ".atlas.safetensors"), tmp_path / "pickle.atlas.safetensors")
    for path, words in [(tmp_path / "lonely.safetensors", "no atlas beside it (lonely.atlas.safetensors); "
                         "make it with python trainer.py --atlas-only --out"),
                        (tmp_path / "pickle.safetensors", "not a readable safetensors file"),
                        (tmp_path / "model.pt", "not a .safetensors checkpoint"),
                        (tmp_path / "missing.safetensors", "no such file"),
                        (copy_model("mnist_ae", tmp_path, "mnist_ae"), "the name of a shipped model")]:
        with pytest.raises(checks.Refused) as e:
            fresh_store.add(str(path))
        assert words in e.value.message and "\n" not in e.value.message
        assert path.stem not in fresh_store.names() or path.stem == "mnist_ae"
    assert fresh_store.add(str(ok)) == "ok" and store.model_name("ok") == "ok"


def test_the_sample_tab_of_a_10d_model_takes_mu_and_sigma_per_dimension():
    import tab_sample

    lm = STORE.get("mnist_vae_d10")
    rows = tab_sample.dims_table(lm, mu=[0.5] * 10, sigma=[0.0] * 9 + [1.0])
    grid, table, z, bars, *boxes = tab_sample.ui_sample(0, 0, 1, 1, 4, 3, lm.name, {"data": rows})
    z = np.array(z)
    assert z.shape == (4, 10) and (z[:, :9] == 0.5).all() and z[:, 9].std() > 0  # sigma 0: exactly mu
    assert table.value["headers"] == [f"z{i}" for i in range(1, 11)] and len(bars.data) == 10
    assert boxes == [gr.skip()] * 7
    with pytest.warns(UserWarning, match="mu of z2 = 9 is outside -3..3: set to 3"):
        *_, dims = tab_sample.ui_sample(0, 0, 1, 1, 4, 3, lm.name, {"data": [rows[0], ["z2", 9, 1]] + rows[2:]})
    assert dims[1] == ["z2", 3.0, 1.0]
    with pytest.raises(checks.Refused, match="a row .mu, sigma. for each of the 10 dimensions"):
        tab_sample.ui_sample(0, 0, 1, 1, 4, 3, lm.name, {"data": rows[:3]})
    # the presets: N(0, I) sets every row, randomize mu draws a mu per dimension (seeded)
    *_, seed, prior = tab_sample.sample_preset("prior N(0, I)", 0, 0, 1, 1, 7, {"data": rows}, lm.name)
    assert seed == 8 and prior == tab_sample.dims_table(lm)
    *_, mu = tab_sample.sample_preset("randomize mu", 0, 0, 1, 1, 7, {"data": rows}, lm.name)
    assert len({r[1] for r in mu}) == 10 and all(-3 <= r[1] <= 3 and r[2] == 0.0 for r in mu[:9])


def test_the_map_can_be_the_plane_through_three_class_centres():
    lm = STORE.get("mnist_vae_d10")
    by, nav = main_view.ui_plane("3, 5, 8", lm.name)
    assert by == [3, 5, 8] and nav.props["plane"]["through"] == ["3", "5", "8"]
    origin, basis = (np.array(v, float) for v in (nav.props["plane"]["origin"], nav.props["plane"]["basis"]))
    for c in by:  # each centre lies on the plane: its projection lifts back to it
        d = lm.centres[c] - origin
        assert np.abs(basis.T @ (basis @ d) - d).max() < 1e-4
    fig = maps.map_figure(lm.name, plane_by=by)
    marked = [t for t in fig.data if t.name == "the plane's centres"][0]
    want = lu.project(lm.centres[by], *maps.planed(lm, by).plane[:2]).numpy()
    assert np.allclose(np.c_[values(marked.x), values(marked.y)], want, atol=1e-5)
    assert "the plane through the centres of 3, 5, 8" in fig.layout.xaxis.title.text
    assert main_view.ui_plane("", lm.name)[0] is None  # empty: the principal plane again
    for text, words in [("3, 5", "name three classes for the plane, not 2"),
                        ("3, 3, 8", "three different classes"), ("3, 5, cat", "class must be")]:
        with pytest.raises(checks.Refused, match=words):
            main_view.ui_plane(text, lm.name)
