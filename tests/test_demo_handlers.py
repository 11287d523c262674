"""demo.py's handlers called directly (no server): decoding, moves, interpolation, sampling,
encoding and MNIST-style preprocessing, the map, and a clear gr.Error for every bad input.
Run: pytest tests/test_demo_handlers.py (needs the shipped models in pretrained/)."""

import os
import threading
import time

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFile

import demo

FIVE = ["mnist_vae_beta4", "mnist_vae_beta1", "mnist_vae_beta10", "mnist_ae", "fashion_vae_beta4"]


def drawn(kind="one", size=200, ink=0, paper=255, mode="L"):
    """A hand-drawn-looking digit: dark strokes on light paper unless told otherwise."""
    img = Image.new(mode, (size, size), paper)
    d = ImageDraw.Draw(img)
    if kind == "one":
        d.line([(size * 0.45, size * 0.15), (size * 0.55, size * 0.85)], fill=ink, width=size // 12)
    elif kind == "zero":
        d.ellipse([size * 0.3, size * 0.15, size * 0.7, size * 0.85], outline=ink, width=size // 12)
    else:  # a blob in the top-left corner
        d.rectangle([5, 5, 40, 60], fill=ink)
    return img


@pytest.fixture(scope="module")
def lm():
    return demo.get_model()


def inside(lm, fx, fy):
    """The point at fractions (fx, fy) of the model's extent."""
    xmin, xmax, ymin, ymax = lm.extent
    return xmin + fx * (xmax - xmin), ymin + fy * (ymax - ymin)


def test_shipped_models_are_the_five_and_skip_dotted_files():
    names = demo.list_models()  # from neural_network, as the app uses it
    assert set(FIVE) <= set(names)
    assert not any("." in n for n in names)  # NAME.last.safetensors, NAME.atlas.safetensors


def test_decode_is_a_28x28_grey_image(lm):
    img = demo.decode(0.1, -0.2)
    a = np.asarray(img)
    assert img.mode == "L" and a.shape == (28, 28) and a.dtype == np.uint8
    assert a.max() > a.min()  # a digit, not a flat image


def test_show_is_an_enlarged_crisp_digit_and_z_text(lm):
    x, y = inside(lm, 0.3, 0.6)
    img, text = demo.show(x, y)
    a, small = np.asarray(img), np.asarray(demo.decode(x, y))
    assert img.size == (280, 280)
    assert (a[::10, ::10] == small).all() and (a[5::10, 5::10] == small).all()  # nearest-neighbour
    assert text.startswith(f"z = ({x:+.2f}, {y:+.2f})")
    seven = lm.centres[7]  # among its 15 nearest test codes most are 7s (atlas built that way)
    assert demo.show(*seven)[1].endswith("of the 15 nearest test digits: 7")


def test_x_y_outside_the_extent_are_clamped(lm):
    xmin, xmax, ymin, ymax = lm.extent
    assert demo.clamp_xy(lm, 1e9, -1e9) == (xmax, ymin)
    assert np.array_equal(np.asarray(demo.decode(1e9, -1e9)), np.asarray(demo.decode(xmax, ymin)))


def test_jump_returns_each_class_centre_by_index_or_name(lm):
    for i, name in enumerate(lm.classes):
        assert demo.jump(i) == pytest.approx(lm.centres[i].tolist())
        assert demo.jump(name) == demo.jump(i)
    assert demo.jump(7.0) == demo.jump(7)


def test_morph_amount_0_stays_and_1_arrives(lm):
    x, y = inside(lm, 0.7, 0.2)
    assert demo.morph(x, y, 3, 0) == pytest.approx([x, y])
    assert demo.morph(x, y, 3, 1) == pytest.approx(lm.centres[3].tolist(), abs=1e-6)
    half = demo.morph(x, y, 3, 0.5)
    assert half == pytest.approx(((np.array([x, y]) + lm.centres[3]) / 2).tolist(), abs=1e-6)


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_interpolate_runs_from_centre_to_centre(lm, method):
    path = demo.interpolate(1, 7, 9, method)
    assert len(path) == 9
    assert path[0] == pytest.approx(lm.centres[1].tolist(), abs=1e-6)
    assert path[-1] == pytest.approx(lm.centres[7].tolist(), abs=1e-6)


def test_sample_with_sigma_0_repeats_mu():
    assert demo.sample(0.5, -1.0, 0, 0, n=5, seed=3) == [[0.5, -1.0]] * 5


def test_sample_and_random_are_reproducible_by_seed():
    assert demo.sample(0, 0, 1, 1, 8, seed=1) == demo.sample(0, 0, 1, 1, 8, seed=1)
    assert demo.sample(0, 0, 1, 1, 8, seed=1) != demo.sample(0, 0, 1, 1, 8, seed=2)
    assert demo.random_point(5) == demo.random_point(5) != demo.random_point(6)
    z = np.array(demo.sample(0, 0, 1, 0.5, 256, seed=0))
    assert abs(z.mean(0)).max() < 0.2 and z.std(0) == pytest.approx([1, 0.5], rel=0.2)


def test_preprocessing_dark_ink_on_light_paper_becomes_white_on_black():
    x = demo.mnist_style(drawn("one"))
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert x[0].max() == 0 and x[:, 0].max() == 0  # black border
    assert x.max() == pytest.approx(1, abs=0.05)  # white ink
    ys, xs = np.nonzero(x > 0.05)
    assert max(np.ptp(ys), np.ptp(xs)) + 1 in (19, 20, 21)  # longest side scaled to 20 px


def test_preprocessing_keeps_white_on_black_and_centres_by_mass():
    light, dark = demo.mnist_style(drawn("blob")), demo.mnist_style(drawn("blob", ink=255, paper=0))
    assert np.allclose(light, dark, atol=0.02)  # light paper inverted, dark paper left alone
    cy, cx = (np.indices(dark.shape) * dark).reshape(2, -1).sum(1) / dark.sum()
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1  # the corner blob is centred by mass


def test_preprocessing_lays_a_transparent_sketch_on_white_paper():
    sketch = drawn("zero", ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA")  # as Sketchpad gives
    assert np.allclose(demo.mnist_style(sketch), demo.mnist_style(drawn("zero")), atol=0.02)
    assert demo.open_image({"composite": np.asarray(sketch)}).size == (200, 200)


def test_encode_of_a_drawn_one_lands_among_the_ones(lm):
    out = demo.encode(drawn("one"))
    mu, sigma = np.array(out["mu"]), np.array(out["sigma"])
    assert mu.shape == sigma.shape == (2,) and np.isfinite(mu).all() and (sigma > 0).all()
    d = ((lm.atlas["mu"].numpy() - mu) ** 2).sum(1)
    nearest = lm.atlas["labels"].numpy()[np.argsort(d)[:25]]
    assert np.bincount(nearest, minlength=10).argmax() == 1


def test_encode_of_an_ae_has_sigma_0(tmp_path):
    path = tmp_path / "one.png"
    drawn("one").save(path)
    assert demo.encode(str(path), model="mnist_ae")["sigma"] == [0.0, 0.0]


def test_models_lists_the_five_with_metadata():
    found = {m["name"]: m for m in demo.models()}
    assert set(FIVE) <= set(found) and demo.models()[0]["name"] == "mnist_vae_beta4"
    assert found["mnist_ae"]["kind"] == "ae" and found["mnist_vae_beta10"]["beta"] == 10
    assert found["fashion_vae_beta4"]["dataset"] == "fashion"
    assert "Sneaker" in found["fashion_vae_beta4"]["classes"]
    for m in found.values():
        assert {"elbo", "knn5_accuracy"} <= set(m["test"]) and m["parameters"] > 0
    assert demo.jump("Sneaker", model="fashion_vae_beta4") == pytest.approx(
        demo.get_model("fashion_vae_beta4").centres[7].tolist())


def test_each_model_loads_once_under_concurrent_first_requests(monkeypatch):
    calls = []
    load = demo.load_model
    monkeypatch.setattr(demo, "load_model", lambda *a: calls.append(a) or load(*a))
    monkeypatch.delitem(demo._LOADED, "mnist_vae_beta1", raising=False)
    threads = [threading.Thread(target=demo.get_model, args=("mnist_vae_beta1",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(calls) == 1


def test_map_has_classes_centres_and_overlays(lm):
    fig = demo.map_figure(None)
    points = fig.data[:len(lm.classes)]
    assert [t.name for t in points] == lm.classes
    assert sum(len(t.x) for t in points) == min(demo.MAP_POINTS, len(lm.atlas["mu"]))
    assert [a.text for a in fig.layout.annotations] == [f"<b>{c}</b>" for c in lm.classes]
    assert not fig.layout.images
    path = {"linear": demo.interpolate(0, 9, 5, "linear")}
    full = demo.map_figure(None, demo.OVERLAYS, path, [[0, 0], [1, 1]],
                           {"mu": [0.1, 0.2], "sigma": [0.3, 0.4]})
    assert {"linear", "samples", "drawing"} <= {t.name for t in full.data}
    assert full.layout.images[0].source.startswith("data:image/png;base64,")


def test_interpolation_writes_a_strip_png_and_a_gif():
    strip, files, paths, caption = demo.ui_interpolate(1, 7, 20, "both", None)
    assert set(paths) == {"linear", "spherical"} and "spherical" in caption
    assert strip.size[1] > 2 * 28 * 2  # 20 frames in rows of 16, one block per method
    png, gif = (Image.open(f) for f in files)
    assert png.size == strip.size and gif.size == (2 * 28 * 4, 28 * 4)  # methods side by side
    durations = []
    for i in range(gif.n_frames):  # PIL merges identical neighbours, adding their durations
        gif.seek(i)
        durations.append(gif.info["duration"])
    assert sum(durations) == 20 * 80


def test_sampling_buttons():
    assert demo.sample_preset("reset to N(0, 1)", 1, 2, 0.5, 0.5, 7) == (0, 0, 1, 1, 0)
    assert demo.sample_preset("prior N(0, I)", 1, 2, 0.5, 0.5, 7) == (0, 0, 1, 1, 8)
    assert demo.sample_preset("resample", 1, 2, 0.5, 0.5, 7) == (1, 2, 0.5, 0.5, 8)
    mu_x, mu_y, *rest = demo.sample_preset("randomize mu", 1, 2, 0.5, 0.5, 7)
    assert -3 <= mu_x <= 3 and -3 <= mu_y <= 3 and rest == [0.5, 0.5, 8]
    assert demo.sample_preset("randomize mu", 0, 0, 1, 1, 7)[:2] == (mu_x, mu_y)  # seeded


def test_sampling_and_encoding_page_handlers():
    grid, table, z = demo.ui_sample(0, 0, 1, 1, 9, 0, None)
    assert grid.size == (3 * 30 * 2 - 4, 3 * 30 * 2 - 4) and len(table) == len(z) == 9
    pair, text, state = demo.ui_encode(drawn("zero"), None)
    assert pair.size[1] == 28 * 5 and "mu" in text and set(state) == {"mu", "sigma"}
    x, y, img, ztext = demo.go_to_drawing(state, None)
    assert img.size == (280, 280)


def test_main_honours_env_and_flags_and_refuses_bad_models(monkeypatch):
    seen = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: seen.update(kw))
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    demo.main([])
    assert (seen["server_name"], seen["server_port"], seen["share"]) == ("0.0.0.0", 7999, False)
    demo.main(["--host", "127.0.0.1", "--port", "7001"])
    assert (seen["server_name"], seen["server_port"]) == ("127.0.0.1", 7001)
    for bad in ["../pretrained/mnist_vae_beta4", "nope", "mnist_vae_beta4.last"]:
        with pytest.raises(SystemExit, match="not a path|unknown model"):
            demo.main(["--model", bad])
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit, match="CUDA is not available"):
            demo.main(["--device", "cuda"])
    torch.set_num_threads(2)  # main() set 1 for the server; give the other tests their default


def bomb(tmp_path, size):
    """A PNG that is small on disk and huge once decoded."""
    path = tmp_path / f"bomb{size[0]}x{size[1]}.png"
    Image.new("1", size).save(path)
    return str(path)


BAD = [  # (handler, args, kwargs, words the message must contain)
    (demo.decode, (float("nan"), 0), {}, "x must be a finite number"),
    (demo.decode, (0, float("inf")), {}, "y must be a finite number"),
    (demo.decode, ("abc", 0), {}, "x must be a number"),
    (demo.decode, (True, 0), {}, "x must be a number"),
    (demo.decode, (None, 0), {}, "x must be a number"),
    (demo.jump, (10,), {}, "digit must be one of the classes"),
    (demo.jump, (-1,), {}, "digit must be one of the classes"),
    (demo.jump, (3.5,), {}, "digit must be one of the classes"),
    (demo.jump, ("seven",), {}, "digit must be one of the classes"),
    (demo.morph, (0, 0, 3, 1.5), {}, "amount must be between 0 and 1"),
    (demo.morph, (0, 0, 3, float("nan")), {}, "amount must be a finite number"),
    (demo.interpolate, (1, 7, 1), {}, "steps must be between 2 and 64"),
    (demo.interpolate, (1, 7, 65), {}, "steps must be between 2 and 64"),
    (demo.interpolate, (1, 7, 10**12), {}, "steps must be between 2 and 64"),
    (demo.interpolate, (1, 7, 2.5), {}, "steps must be a whole number"),
    (demo.interpolate, (1, 7, "ten"), {}, "steps must be a number"),
    (demo.interpolate, (1, 7, 8, "cubic"), {}, "method must be 'linear' or 'spherical'"),
    (demo.interpolate, (1, 70, 8), {}, "digit_b must be one of the classes"),
    (demo.sample, (0, 0, -1, 1), {}, "sigma_x must be between 0 and 2"),
    (demo.sample, (0, 0, 1, 1, 10**9), {}, "n must be between 1 and 256"),
    (demo.sample, (0, 0, 1, 1, 0), {}, "n must be between 1 and 256"),
    (demo.sample, (4, 0, 1, 1), {}, "mu_x must be between -3 and 3"),
    (demo.sample, (0, 0, 1, 1, 4, -1), {}, "seed must be between 0 and"),
    (demo.random_point, ("x",), {}, "seed must be a number"),
    (demo.random_point, (2**40,), {}, "seed must be between 0 and"),
    (demo.decode, (0, 0), {"model": "nope"}, "unknown model 'nope'"),
    (demo.decode, (0, 0), {"model": "../pretrained/mnist_vae_beta4"}, "not a path"),
    (demo.decode, (0, 0), {"model": "a/b"}, "not a path"),
    (demo.decode, (0, 0), {"model": "mnist_vae_beta4.last"}, "unknown model"),
    (demo.jump, (1,), {"model": 5}, "model must be a model name"),
    (demo.encode, (None,), {}, "image is empty"),
    (demo.encode, ({"composite": None},), {}, "image is empty"),
    (demo.encode, (np.zeros((0, 0), np.uint8),), {}, "image is empty"),
    (demo.encode, (Image.new("L", (50, 50), 255),), {}, "no ink"),
    (demo.encode, (__file__,), {}, "not a readable image"),
    (demo.go_to_drawing, (None, None), {}, "nothing encoded yet"),
]


@pytest.mark.parametrize("fn, args, kwargs, words", BAD, ids=[f"{b[0].__name__}-{b[3]}" for b in BAD])
def test_bad_input_is_a_clear_error(fn, args, kwargs, words):
    with pytest.raises(gr.Error) as e:
        fn(*args, **kwargs)
    assert words in e.value.message


@pytest.mark.parametrize("size", [(5000, 100), (4000, 4100)])  # a side over 4096; over 16 MP
def test_huge_images_are_refused_before_decoding(tmp_path, monkeypatch, size):
    path = bomb(tmp_path, size)
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("pixels decoded"))
    with pytest.raises(gr.Error, match=r"image is too large \(\d+x\d+\)"):
        demo.encode(path)


def test_truncated_image_is_refused(tmp_path):
    path = tmp_path / "cut.png"
    drawn("one").save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(gr.Error, match="image"):
        demo.encode(str(path))


def test_old_download_folders_are_purged():
    old = demo.fresh_dir()
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    new = demo.fresh_dir()
    assert new.is_dir() and not old.exists()
