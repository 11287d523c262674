"""demo.py served live (in-process, 127.0.0.1, a free port) and driven over its API with
gradio_client and plain REST: every endpoint, the optional model argument, bad input answered
with a clear error, and the server still serving afterwards.
Run: pytest tests/test_demo_server.py (needs the shipped models in pretrained/)."""

import json

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image, ImageDraw

import demo


@pytest.fixture(scope="module")
def client(live_url):
    return Client(live_url, verbose=False)


@pytest.fixture(scope="module")
def seven(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "seven.png"
    img = Image.new("L", (140, 140), 255)
    ImageDraw.Draw(img).line([(35, 30), (105, 30), (60, 120)], fill=0, width=12)
    img.save(path)
    return str(path)


def test_the_endpoints_are_listed(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/decode", "/jump", "/morph", "/interpolate", "/random", "/sample", "/encode",
            "/models"} <= names


def test_decode_returns_a_28x28_grey_png(client):
    img = Image.open(client.predict(0.2, -0.1, api_name="/decode"))
    assert img.size == (28, 28) and img.mode == "L"
    other = Image.open(client.predict(0.2, -0.1, model="mnist_ae", api_name="/decode"))
    assert np.asarray(other).shape == (28, 28)


def test_moves_interpolation_and_sampling(client):
    lm = demo.get_model()
    centre = lm.centres[7].tolist()
    assert client.predict(7, api_name="/jump") == pytest.approx(centre)
    assert client.predict("7", api_name="/jump") == pytest.approx(centre)
    assert client.predict(0, 0, 7, 1.0, api_name="/morph") == pytest.approx(centre, abs=1e-6)
    path = client.predict(1, 7, 12, "spherical", api_name="/interpolate")
    assert len(path) == 12 and path[-1] == pytest.approx(centre, abs=1e-6)
    assert client.predict(3, api_name="/random") == client.predict(3, api_name="/random")
    assert client.predict(0.5, 0.5, 0, 0, 4, 0, api_name="/sample") == [[0.5, 0.5]] * 4
    sneaker = client.predict("Sneaker", model="fashion_vae_beta4", api_name="/jump")
    assert sneaker == pytest.approx(demo.get_model("fashion_vae_beta4").centres[7].tolist())


def test_encode_and_models(client, seven):
    out = client.predict(handle_file(seven), api_name="/encode")
    assert len(out["mu"]) == len(out["sigma"]) == 2
    assert client.predict(handle_file(seven), model="mnist_ae", api_name="/encode")["sigma"] == [0, 0]
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


def test_bad_images_are_refused(client, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(AppError, match="not a readable image"):
        client.predict(handle_file(str(text)), api_name="/encode")
    big = tmp_path / "big.png"
    Image.new("1", (5000, 50)).save(big)
    with pytest.raises(AppError, match="image is too large"):
        client.predict(handle_file(str(big)), api_name="/encode")
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(blank)
    with pytest.raises(AppError, match="no ink"):
        client.predict(handle_file(str(blank)), api_name="/encode")


def test_nan_over_rest_and_the_pages_slider_event(live_url):
    with httpx.Client(base_url=f"{live_url}/gradio_api", timeout=30) as http:
        event = http.post("/call/v2/jump", json={"digit": 3}).json()["event_id"]  # model omitted
        done = http.get(f"/call/jump/{event}").text
        assert "event: complete" in done
        assert json.loads(done.split("data: ")[-1])[0] == pytest.approx(demo.jump(3))
        # JSON has no NaN; Python's json writes it, and the server must still answer sanely
        event = http.post("/call/decode", content='{"data": [NaN, 0, null]}',
                          headers={"content-type": "application/json"}).json()["event_id"]
        assert "x must be a finite number" in http.get(f"/call/decode/{event}").text
        xmin, xmax, ymin, ymax = demo.get_model().extent
        x, y = (xmin + xmax) / 2, (ymin + ymax) / 2
        shown = http.post("/run/show", json={"data": [x, y, None]}).json()["data"]
        assert shown[1].startswith(f"z = ({x:+.2f}, {y:+.2f})")
        assert http.get(shown[0]["url"]).status_code == 200


def test_still_serving_after_bad_input(client, live_url):
    assert Image.open(client.predict(0, 0, api_name="/decode")).size == (28, 28)
    assert httpx.get(live_url, timeout=30).status_code == 200
