"""demo.py served live (in-process, 127.0.0.1, a free port: conftest's live_url) and driven over
its API with gradio_client and plain REST: every endpoint, the optional model argument, bad input
answered with a clear error, and the server still serving afterwards. Images are checked by their
pixels against neural_network.decode_uint8 (the server runs in this process, on the same models).
Run: pytest -m live tests/test_demo_server.py (needs the shipped models in pretrained/)."""

import io
import json

import httpx
import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from safetensors.torch import load as safetensors_from_bytes  # no pickle

import api
import checks
import latent_utils as lu
import neural_network as nn
import store

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def client(live_url):
    return Client(live_url, verbose=False)


def pixels(png):
    """The grey pixels of a PNG, given as a file path or as its bytes."""
    img = Image.open(io.BytesIO(png) if isinstance(png, bytes) else png)
    assert img.format == "PNG"
    return np.asarray(img.convert("L"))


def test_the_endpoints_are_listed(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/decode", "/jump", "/morph", "/interpolate", "/random", "/sample", "/encode",
            "/models"} <= names


def test_decode_returns_the_decoders_28x28_grey_png(client):
    img = Image.open(client.predict(0.2, -0.1, api_name="/decode"))
    assert img.size == (28, 28) and img.mode == "L"
    lm, ae = store.STORE.get(), store.STORE.get("mnist_ae")
    centre = lm.centres[7].tolist()  # at a class centre: that class's clearest digit
    seven = pixels(client.predict(*centre, api_name="/decode"))
    assert np.array_equal(seven, nn.decode_uint8(lm.model, [centre])[0])
    assert seven.max() - seven.min() > 200 and 0.05 < (seven > 128).mean() < 0.5  # ink on black
    other = pixels(client.predict(0.2, -0.1, model="mnist_ae", api_name="/decode"))
    assert np.array_equal(other, nn.decode_uint8(ae.model, [checks.clamp_xy(ae, 0.2, -0.1)])[0])


def test_moves_interpolation_and_sampling(client):
    lm = store.STORE.get()
    centre = lm.centres[7].tolist()
    assert client.predict(7, api_name="/jump") == pytest.approx(centre)
    assert client.predict("7", api_name="/jump") == pytest.approx(centre)
    assert client.predict(0, 0, 7, 1.0, api_name="/morph") == pytest.approx(centre, abs=1e-6)
    path = client.predict(1, 7, 12, "spherical", api_name="/interpolate")
    assert len(path) == 12 and path[-1] == pytest.approx(centre, abs=1e-6)
    assert np.allclose(path, api.interpolate(1, 7, 12, "spherical"))
    assert client.predict(3, api_name="/random") == client.predict(3, api_name="/random")
    assert client.predict(0.5, 0.5, 0, 0, 4, 0, api_name="/sample") == [[0.5, 0.5]] * 4
    sneaker = client.predict("Sneaker", model="fashion_vae_beta4", api_name="/jump")
    assert sneaker == pytest.approx(store.STORE.get("fashion_vae_beta4").centres[7].tolist())


def test_encode_and_models(client, seven_png):
    out = client.predict(handle_file(seven_png), api_name="/encode")
    ref = api.encode(seven_png)  # what the handler gives in-process
    assert out["mu"] == pytest.approx(ref["mu"]) and out["sigma"] == pytest.approx(ref["sigma"])
    assert client.predict(handle_file(seven_png), model="mnist_ae", api_name="/encode")["sigma"] == [0, 0]
    models = client.predict(api_name="/models")
    assert {"mnist_vae_beta4", "mnist_ae", "fashion_vae_beta4"} <= {m["name"] for m in models}


BAD = [  # (api_name, args, kwargs, words the error must contain)
    ("/decode", ("abc", 0), {}, "x must be a number"),
    ("/decode", (0, 0), {"model": "../etc/passwd"}, "not a path"),
    ("/decode", (0, 0), {"model": "nope"}, "unknown model"),
    ("/jump", (12,), {}, "digit must be one of the classes"),
    ("/morph", (0, 0, 3, 2), {}, "amount must be between 0 and 1"),
    ("/interpolate", (1, 7, 10**9, "linear"), {}, "steps must be between 2 and 64"),
    ("/interpolate", (1, 7, 8, "cubic"), {}, "method must be"),
    ("/random", (-5,), {}, "seed must be between"),
    ("/sample", (0, 0, -1, 1, 4, 0), {}, "sigma_x must be between 0 and 2"),
    ("/sample", (0, 0, 1, 1, 10**6, 0), {}, "n must be between 1 and 256"),
]


@pytest.mark.parametrize("api_name, args, kwargs, words", BAD, ids=[b[3] for b in BAD])
def test_bad_input_is_a_clear_error(client, api_name, args, kwargs, words):
    with pytest.raises(AppError, match=words):
        client.predict(*args, **kwargs, api_name=api_name)


def test_bad_images_are_refused(client, tmp_path, bomb):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(AppError, match="not a readable image"):
        client.predict(handle_file(str(text)), api_name="/encode")
    big = tmp_path / "big.png"
    big.write_bytes(bomb(5000, 50))
    with pytest.raises(AppError, match=r"image is too large \(5000x50\)"):
        client.predict(handle_file(str(big)), api_name="/encode")
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(blank)
    with pytest.raises(AppError, match="no ink"):
        client.predict(handle_file(str(blank)), api_name="/encode")


def test_nan_over_rest_and_the_image_api(live_url):
    with httpx.Client(base_url=f"{live_url}/gradio_api", timeout=30) as http:
        event = http.post("/call/v2/jump", json={"digit": 3}).json()["event_id"]  # model omitted
        done = http.get(f"/call/jump/{event}").text
        assert "event: complete" in done
        assert json.loads(done.split("data: ")[-1])[0] == pytest.approx(api.jump(3))
        # JSON has no NaN; Python's json writes it, and the server must still answer sanely
        event = http.post("/call/decode", content='{"data": [NaN, 0, null]}',
                          headers={"content-type": "application/json"}).json()["event_id"]
        assert "x must be a finite number" in http.get(f"/call/decode/{event}").text
        # a positional call short of /decode's last argument (z, added later) gets its default;
        # and z itself, for a 10-D model, by name
        event = http.post("/call/decode", json={"data": [0.5, 0.5]}).json()["event_id"]
        assert "event: complete" in http.get(f"/call/decode/{event}").text
        d10 = store.STORE.get("mnist_vae_d10")
        event = http.post("/call/v2/jump", json={"digit": 3, "model": d10.name}).json()["event_id"]
        z = json.loads(http.get(f"/call/jump/{event}").text.split("data: ")[-1])[0]
        assert z == pytest.approx(d10.centres[3].tolist())
        event = http.post("/call/v2/decode", json={"z": z, "model": d10.name}).json()["event_id"]
        assert "event: complete" in http.get(f"/call/decode/{event}").text
        lm = store.STORE.get()
        xmin, xmax, ymin, ymax = lm.extent
        x, y = (xmin + xmax) / 2, (ymin + ymax) / 2
        # the image API, as an <img src> or curl uses it (no Gradio session, no queue)
        image = httpx.get(f"{live_url}/api/decode.png", params={"x": x, "y": y, "scale": 10})
        assert image.status_code == 200 and image.headers["etag"]
        big = pixels(image.content)  # the 280 px digit, each pixel a crisp 10 x 10 square
        assert big.shape == (280, 280)
        assert np.array_equal(big[::10, ::10], nn.decode_uint8(lm.model, [[x, y]])[0])
        assert np.array_equal(big[9::10, 9::10], big[::10, ::10])
        model = httpx.get(f"{live_url}/api/model/{lm.name}")  # what the page decodes with
        assert model.status_code == 200 and model.headers["etag"] == lm.etag
        assert httpx.get(f"{live_url}/api/model/{lm.name}",
                         headers={"If-None-Match": lm.etag}).status_code == 304
        # the test images behind the map's dots (the page's dot cards), per model's data set
        for name, dataset in [(lm.name, "mnist"), ("fashion_vae_beta4", "fashion")]:
            shipped = httpx.get(f"{live_url}/api/images/{name}")
            assert shipped.status_code == 200 and shipped.headers["etag"]
            images = safetensors_from_bytes(shipped.content)["images"]
            assert images.shape == (lu.MAP_POINTS, 28, 28)
            assert torch.equal(images, lu.load_test_images(dataset))
        missing = httpx.get(f"{live_url}/api/images/no_such_model")
        assert missing.status_code == 404 and "no_such_model" in missing.json()["error"]


def test_still_serving_after_bad_input(client, live_url):
    lm = store.STORE.get()
    assert np.array_equal(pixels(client.predict(0, 0, api_name="/decode")),
                          nn.decode_uint8(lm.model, [checks.clamp_xy(lm, 0, 0)])[0])
    assert httpx.get(live_url, timeout=30).status_code == 200
