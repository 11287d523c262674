"""The page's and the API's handlers (api.py, ui.py, main_view.py, tab_*.py) called directly
(no server): decoding, moves, interpolation, sampling, encoding, model switching and comparison,
the map, the shared ModelStore, and a clear gr.Error for every bad input; and demo.py's build
(element ids, API names, the page's CSS/JS read from web/) and command line. Images are checked
by their pixels against neural_network.decode_uint8, the one decode path.
Run: pytest tests/test_demo_handlers.py (needs the shipped models in pretrained/)."""

import base64
import io
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

import api
import checks
import demo
import directions as dirs
import images
import latent_utils as lu
import main_view
import maps
import neural_network as nn
import store
import tab_draw
import tab_edit
import tab_interpolate
import tab_models
import tab_morph
import tab_sample
import ui

SHIPPED = ["mnist_vae_beta4", "mnist_vae_beta1", "mnist_vae_beta3", "mnist_vae_beta10", "mnist_ae",
           "fashion_vae_beta4"]
ELEM_IDS = {"lsn-map", "lsn-nav", "lsn-jump", *(f"lsn-jump-{i}" for i in range(10)),
            "lsn-model", "lsn-sketch", "lsn-strip", "lsn-files", "lsn-draw-out",
            "lsn-header", "lsn-note", "lsn-jump-label", "lsn-seed", "lsn-random", "lsn-tabs",
            "lsn-sample-note", "lsn-samples", "lsn-sample-bars", "lsn-sample-presets", "lsn-steps",
            "lsn-sigma-x", "lsn-sigma-y", "lsn-upload", "lsn-morph"}
API_NAMES = {"decode", "encode", "jump", "morph", "interpolate", "random", "sample", "models", "floor",
             "attributes", "edit", "measure"}


@pytest.fixture(scope="module")
def lm():
    return store.STORE.get()


def inside(lm, fx, fy):
    """The point at fractions (fx, fy) of the model's extent."""
    xmin, xmax, ymin, ymax = lm.extent
    return xmin + fx * (xmax - xmin), ymin + fy * (ymax - ymin)


def decoded(lm, *z):
    """The one decode path's uint8 digits [N, 28, 28] at the codes z."""
    return nn.decode_uint8(lm.model, [list(p) for p in z])


def cell(img, i, j, scale, gap):
    """Cell (row i, column j) of an images.tile grid, shrunk back to 28x28."""
    a, step = np.asarray(img), (28 + gap) * scale
    return a[i * step:i * step + 28 * scale:scale, j * step:j * step + 28 * scale:scale]


def test_shipped_models_are_the_six_and_skip_dotted_files():
    names = nn.list_models()  # as the app lists them
    assert set(SHIPPED) <= set(names)
    assert not any("." in n for n in names)  # NAME.last.safetensors, NAME.atlas.safetensors


def test_decode_is_the_decoders_28x28_grey_digit(lm):
    x, y = inside(lm, 0.55, 0.45)
    img = api.decode(x, y)
    a = np.asarray(img)
    assert img.mode == "L" and a.shape == (28, 28) and a.dtype == np.uint8
    assert np.array_equal(a, decoded(lm, (x, y))[0])
    assert a.max() - a.min() > 100  # a digit, not a flat image


def test_go_to_rounds_to_the_0_01_step_and_clamps_to_the_extent(lm):
    x, y = inside(lm, 0.3, 0.6)
    assert ui.go_to([x, y]) == [round(x, 2), round(y, 2)]
    assert ui.go_to([1e9, -1e9]) == [lm.extent[1], lm.extent[2]]


def test_the_navigator_value_is_read_as_a_position_or_refused_by_name(lm):
    assert ui.at([0.5, -0.25]) == [0.5, -0.25]
    assert ui.at({"z": [0.5, -0.25], "path": [[0, 0]]}) == [0.5, -0.25]
    assert ui.at([1e9, 0]) == [lm.extent[1], 0]
    for bad in (None, "0.5,1", [1], [1, 2, 3], {"path": []}):
        with pytest.raises(gr.Error, match="position must be a list of 2 numbers"):
            ui.at(bad)
    with pytest.raises(gr.Error, match="x must be a number"):
        ui.at(["a", 0])


def test_x_y_outside_the_extent_are_clamped(lm):
    xmin, xmax, ymin, ymax = lm.extent
    assert checks.clamp_xy(lm, 1e9, -1e9) == (xmax, ymin)
    assert np.array_equal(np.asarray(api.decode(1e9, -1e9)), decoded(lm, (xmax, ymin))[0])


def test_jump_returns_each_class_centre_by_index_or_name(lm):
    for i, name in enumerate(lm.classes):
        assert api.jump(i) == pytest.approx(lm.centres[i].tolist())
        assert api.jump(name) == api.jump(i)
    assert api.jump(7.0) == api.jump(7)


def test_a_class_button_goes_to_its_centre(lm):
    assert main_view.go_to_class(3, None) == [round(v, 2) for v in checks.clamp_xy(lm, *lm.centres[3])]


def test_morph_amount_0_stays_and_1_arrives(lm):
    x, y = inside(lm, 0.7, 0.2)
    assert api.morph(x, y, 3, 0) == pytest.approx([x, y])
    assert api.morph(x, y, 3, 1) == pytest.approx(lm.centres[3].tolist(), abs=1e-6)
    half = api.morph(x, y, 3, 0.5)
    assert half == pytest.approx(((np.array([x, y]) + lm.centres[3]) / 2).tolist(), abs=1e-6)


def test_ui_morph_sends_15_positions_to_play_with_animate_and_the_end_without(lm):
    x, y = inside(lm, 0.7, 0.2)
    x, y = round(x, 2), round(y, 2)
    end = api.morph(x, y, 3, 0.5)
    assert tab_morph.ui_morph([x, y], 3, 0.5, False, None) == [round(v, 2) for v in end]
    played = tab_morph.ui_morph([x, y], 3, 0.5, True, None)
    frames = played["path"]
    assert played["z"] == [round(v, 2) for v in end]
    # 16 positions, from where z was (the trail starts there) to the end
    assert len(frames) == 16 and frames[0] == [x, y] and frames[-1] == [round(v, 4) for v in end]
    steps = np.diff(np.array(frames), axis=0)
    assert np.allclose(steps, steps[0], atol=2e-4)  # evenly spaced along the straight line


def test_play_sends_the_linear_path_or_the_only_one():
    paths = {"linear": [[0, 0], [1, 1]], "spherical": [[0, 0], [0.5, 1.2]]}
    assert tab_interpolate.ui_play(paths, None) == {"z": [1, 1], "path": paths["linear"]}
    assert tab_interpolate.ui_play({"spherical": paths["spherical"]}, None)["path"] == paths["spherical"]
    with pytest.raises(gr.Error, match="press interpolate first"):
        tab_interpolate.ui_play(None, None)


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_interpolate_runs_from_centre_to_centre(lm, method):
    path = api.interpolate(1, 7, 9, method)
    assert len(path) == 9
    assert path[0] == pytest.approx(lm.centres[1].tolist(), abs=1e-6)
    assert path[-1] == pytest.approx(lm.centres[7].tolist(), abs=1e-6)
    middle = np.array(path[4])
    if method == "linear":
        assert middle == pytest.approx((lm.centres[1] + lm.centres[7]) / 2, abs=1e-5)
    else:  # the norm goes linearly from one end's to the other's
        norms = np.linalg.norm(lm.centres[[1, 7]], axis=1)
        assert np.linalg.norm(middle) == pytest.approx(norms.mean(), abs=1e-5)


def test_sample_with_sigma_0_repeats_mu():
    assert api.sample(0.5, -1.0, 0, 0, n=5, seed=3) == [[0.5, -1.0]] * 5


def test_sample_and_random_are_reproducible_by_seed():
    assert api.sample(0, 0, 1, 1, 8, seed=1) == api.sample(0, 0, 1, 1, 8, seed=1)
    assert api.sample(0, 0, 1, 1, 8, seed=1) != api.sample(0, 0, 1, 1, 8, seed=2)
    assert api.random_point(5) == api.random_point(5) != api.random_point(6)
    z = np.array(api.sample(0, 0, 1, 0.5, 256, seed=0))
    assert abs(z.mean(0)).max() < 0.2 and z.std(0) == pytest.approx([1, 0.5], rel=0.2)


def test_ui_random_goes_to_the_seeds_point_and_advances_the_seed(lm):
    (x, y), seed, last = main_view.ui_random(5, None, None)
    assert (x, y) == tuple(round(v, 2) for v in checks.clamp_xy(lm, *api.random_point(5)))
    assert seed == last == 5  # the box shows the seed used
    (x2, y2), seed, last = main_view.ui_random(5, 5, None)  # pressed again: the next seed
    assert seed == last == 6 and (x2, y2) == tuple(round(v, 2) for v in checks.clamp_xy(lm, *api.random_point(6)))
    assert main_view.ui_random(checks.MAX_SEED, checks.MAX_SEED, None)[-1] == 0
    assert main_view.ui_random(3, 6, None)[-1] == 3  # a typed seed is used as typed


def test_encode_of_a_drawn_one_lands_among_the_ones(lm, draw):
    out = api.encode(draw("one"))
    mu, sigma = np.array(out["mu"]), np.array(out["sigma"])
    assert mu.shape == sigma.shape == (2,) and np.isfinite(mu).all() and (sigma > 0).all()
    d = ((lm.atlas["mu"].numpy() - mu) ** 2).sum(1)
    nearest = lm.atlas["labels"].numpy()[np.argsort(d)[:25]]
    assert np.bincount(nearest, minlength=10).argmax() == 1


def test_a_sketchpad_value_encodes_as_the_same_drawing_on_paper(draw):
    """The Sketchpad gives {"composite": RGBA array}, transparent where nothing is drawn."""
    sketch = draw("zero", ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA")
    out, paper = api.encode({"composite": np.asarray(sketch)}), api.encode(draw("zero"))
    assert out["mu"] == pytest.approx(paper["mu"], abs=0.05)


def test_encode_of_an_ae_has_sigma_0(seven_png):
    assert api.encode(seven_png, model="mnist_ae")["sigma"] == [0.0, 0.0]


def test_models_lists_the_six_with_metadata():
    found = {m["name"]: m for m in api.models()}
    assert set(SHIPPED) <= set(found) and api.models()[0]["name"] == "mnist_vae_beta4"
    assert found["mnist_ae"]["kind"] == "ae" and found["mnist_vae_beta10"]["beta"] == 10
    assert found["fashion_vae_beta4"]["dataset"] == "fashion"
    assert "Sneaker" in found["fashion_vae_beta4"]["classes"]
    for m in found.values():
        assert {"elbo", "knn5_accuracy"} <= set(m["test"]) and m["parameters"] > 0
    assert api.jump("Sneaker", model="fashion_vae_beta4") == pytest.approx(
        store.STORE.get("fashion_vae_beta4").centres[7].tolist())


def test_each_model_loads_once_under_concurrent_first_requests(monkeypatch):
    calls, load = [], nn.load_model
    monkeypatch.setattr(store, "load_model", lambda *a: calls.append(a) or load(*a))
    fresh = store.ModelStore()
    threads = [threading.Thread(target=fresh.get, args=("mnist_vae_beta1",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(calls) == 1 and "mnist_vae_beta1" in fresh


def test_reset_forgets_the_models_and_the_downloads():
    fresh = store.ModelStore()
    first, folder = fresh.get(), fresh.out_dir()
    made = fresh.memo(("x", "page file"), object)
    assert fresh.get() is first and fresh.memo(("x", "page file"), object) is made
    fresh.reset(torch.device("cpu"))
    assert nn.DEFAULT_MODEL not in fresh and not folder.exists()
    again = fresh.get()
    assert again is not first and again.device == torch.device("cpu") and fresh.out_dir() != folder
    assert fresh.memo(("x", "page file"), object) is not made
    fresh.reset()


def test_map_has_classes_centres_and_overlays(lm):
    fig = maps.map_figure(None)
    points = fig.data[:len(lm.classes)]
    assert [t.name for t in points] == lm.classes
    # plotly writes arrays as typed buffers ({"dtype", "bdata"}), which plotly.js reads
    xs = [np.frombuffer(base64.b64decode(t.x["bdata"]), t.x["dtype"]) for t in points]
    assert sum(map(len, xs)) == min(maps.MAP_POINTS, len(lm.atlas["mu"]))
    mu, labels = lm.atlas["mu"][:maps.MAP_POINTS].numpy(), lm.atlas["labels"][:maps.MAP_POINTS].numpy()
    assert np.array_equal(xs[3], mu[labels == 3, 0])  # class 3's codes, as the atlas holds them
    assert [a.text for a in fig.layout.annotations if a.text.startswith("<b>")] == [
        f"<b>{c}</b>" for c in lm.classes]
    assert not fig.layout.images
    path = {"linear": api.interpolate(0, 9, 5, "linear")}
    full = maps.map_figure(None, maps.OVERLAYS, path, [[0, 0], [1, 1]],
                        {"mu": [0.1, 0.2], "sigma": [0.3, 0.4]})
    assert {"linear", "samples", "drawing"} <= {t.name for t in full.data}
    uri = full.layout.images[0].source
    assert uri.startswith("data:image/png;base64,")
    background = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
    manifold = np.asarray(maps.manifold())  # the decoded 20 x 20 grid, dark ink on white
    assert background.shape == (20 * 28, 20 * 28) and np.array_equal(background, 255 - manifold)
    x0, _, _, y1 = maps.manifold_square(lm)  # its top-left cell: the decode at that corner
    assert np.abs(manifold[:28, :28].astype(int) - decoded(lm, (x0, y1))[0]).max() <= 1


def test_interpolation_writes_a_strip_png_and_a_gif(lm):
    strip, files, paths, caption = tab_interpolate.ui_interpolate(1, 7, 20, "both", None)
    assert set(paths) == {"linear", "spherical"} and "spherical" in caption
    # 20 frames in rows of 16, each method from a new row: 4 rows, cells 2x with 2 px gaps
    assert strip.size == (16 * 30 * 2 - 4, 4 * 30 * 2 - 4)
    first, last = decoded(lm, lm.centres[1], lm.centres[7])
    assert np.array_equal(cell(strip, 0, 0, 2, 2), first)  # linear, first frame
    assert np.array_equal(cell(strip, 1, 3, 2, 2), last)  # linear, frame 20
    assert np.array_equal(cell(strip, 2, 0, 2, 2), first)  # spherical, first frame
    assert np.array_equal(cell(strip, 1, 15, 2, 2), np.zeros((28, 28)))  # padding: black
    assert caption.startswith("linear (rows 1-2) / spherical (rows 3-4)")  # as the strip's rows
    png, gif = (Image.open(f) for f in files)
    # the PNG: images.labelled_strip's rows (4x frames, white gaps of 8 px, each frame named by
    # its method and step underneath), each method's 2 rows in turn
    row = images.labelled_strip(np.stack([first]), ["linear 1"], 4).height
    assert png.size == ((16 * 30 - 2) * 4, 4 * row)
    png = np.asarray(png)
    assert np.array_equal(png[:112:4, :112:4], first)  # linear, frame 1
    assert np.array_equal(png[row:row + 112:4, 360:472:4], last)  # linear, frame 20
    assert np.array_equal(png[2 * row:2 * row + 112:4, :112:4], first)  # spherical, frame 1
    labels = [png[r * row + 112:(r + 1) * row, :112] for r in range(4)]
    assert all((a < 128).any() and (a == 255).mean() > 0.8 for a in labels)  # a name under each
    assert not np.array_equal(labels[0], labels[2])  # "linear 1" and "spherical 1"
    # the GIF: 224 px a frame, the methods side by side, each named underneath
    named = images.labelled_strip(np.stack([first, first]), ["linear", "spherical"], 8)
    assert gif.size == named.size
    assert np.array_equal(np.asarray(gif.convert("L")), np.asarray(named))
    durations = []
    for i in range(gif.n_frames):  # PIL merges identical neighbours, adding their durations
        gif.seek(i)
        durations.append(gif.info["duration"])
    assert sum(durations) == 20 * 80


def test_a_refused_page_event_is_a_toast_and_its_outputs_keep_their_values():
    with pytest.warns(UserWarning, match="nothing encoded yet"):  # a toast, in a page event
        assert ui.toasted(tab_draw.go_to_drawing)(None, None) == gr.skip()
    with pytest.warns(UserWarning, match="press interpolate first"):
        assert ui.toasted(tab_interpolate.ui_play)(None, None) == gr.skip()  # nothing plays
    assert ui.toasted(tab_draw.go_to_drawing)({"mu": [0.5, 0.5], "sigma": [1, 1]}, None) == [0.5, 0.5]


def test_sampling_buttons():
    assert tab_sample.sample_preset("prior N(0, I)", 1, 2, 0.5, 0.5, 7) == (0, 0, 1, 1, 8, gr.skip())
    assert tab_sample.sample_preset("resample", 1, 2, 0.5, 0.5, 7) == (1, 2, 0.5, 0.5, 8, gr.skip())
    mu_x, mu_y, *rest = tab_sample.sample_preset("randomize mu", 1, 2, 0.5, 0.5, 7)
    assert -3 <= mu_x <= 3 and -3 <= mu_y <= 3 and rest == [0.5, 0.5, 8, gr.skip()]
    assert tab_sample.sample_preset("randomize mu", 0, 0, 1, 1, 7)[:2] == (mu_x, mu_y)  # seeded


def test_sample_grid_shows_the_decodes_of_its_codes(lm):
    grid, table, z, bars, *boxes = tab_sample.ui_sample(0.5, -0.25, 1, 1, 9, 0, None)
    assert boxes == [gr.skip()] * 7  # each box keeps what was typed
    assert grid.size == (3 * 30 * 2 - 4, 3 * 30 * 2 - 4) and len(table.value["data"]) == len(z) == 9
    assert table.value["data"] == [[round(a, 3), round(b, 3)] for a, b in z]
    # the bar chart: each sample's z1 and z2, and mu as two dashed lines
    assert [list(t.y) for t in bars.data] == [[p[0] for p in z], [p[1] for p in z]]
    assert [s.y0 for s in bars.layout.shapes] == [0.5, -0.25]
    digits = decoded(lm, *z)
    for k in (0, 4, 8):
        assert np.array_equal(cell(grid, k // 3, k % 3, 2, 2), digits[k])


def test_sample_boxes_being_typed_wait_and_values_beyond_are_clamped_with_a_toast(lm):
    """Defect 2 of issue 16: "-" or an emptied box (None as the browser sends it) is no error, and
    "-7" is clamped with a toast naming it, the box showing the clamp."""
    for partial in (None, ""):
        assert tab_sample.ui_sample(partial, 0, 1, 1, 16, 0, None) == (gr.skip(),) * 11
        assert tab_sample.ui_sample(0, 0, 1, 1, partial, 0, None) == (gr.skip(),) * 11
    with pytest.warns(UserWarning, match="mu_x = -7 is outside -3..3: set to -3"):
        grid, table, z, bars, *boxes = tab_sample.ui_sample(-7, 0, 0, 0, 4, 0, None)
    assert z == [[-3.0, 0.0]] * 4 and boxes == [-3] + [gr.skip()] * 6
    with pytest.warns(UserWarning, match="n = 2.5 is outside 1..256 or not whole: set to 2"):
        assert len(tab_sample.ui_sample(0, 0, 1, 1, 2.5, 0, None)[2]) == 2
    with pytest.raises(gr.Error, match="sigma_x must be a number"):
        tab_sample.ui_sample(0, 0, "abc", 1, 16, 0, None)


@pytest.fixture
def uploads(tmp_path_factory):
    """PIL image -> the FileData value the page sends for it, its file in Gradio's upload folder
    (where the page's uploads land before an event reads them)."""
    folder = Path(gr.utils.get_upload_folder())
    folder.mkdir(parents=True, exist_ok=True)
    made = []

    def put(img):
        path = Path(tempfile.mkdtemp(dir=folder)) / "image.png"
        img.save(path)
        made.append(path.parent)
        return {"path": str(path), "meta": {"_type": "gradio.FileData"}}
    yield put
    for d in made:
        shutil.rmtree(d, ignore_errors=True)


def test_encoding_shows_the_input_and_its_reconstruction(lm, draw, uploads):
    pair, text, state, samples = tab_draw.ui_encode(uploads(draw("zero")), None)
    assert {"mu", "sigma", "z", "input", "text", "x", "kl", "samples"} == set(state)
    assert state["z"] == state["mu"] and state["samples"] == [] and samples is None
    assert text.startswith(f"mu = ({state['mu'][0]:+.2f}, ")
    assert pair.size == (2 * 28 * 5 + 4 * 5, 28 * 5)
    x = (checks.prepared(draw("zero")) * 255).round().astype(np.uint8)
    assert np.array_equal(cell(pair, 0, 0, 5, 4), x) and x.max() == 255
    assert np.array_equal(cell(pair, 0, 1, 5, 4), decoded(lm, state["mu"])[0])
    assert tab_draw.go_to_drawing(state, None) == [round(v, 2) for v in checks.clamp_xy(lm, *state["mu"])]


def test_the_page_encodes_only_an_uploaded_file_and_only_a_drawings_composite(draw, uploads):
    sketch = uploads(draw("zero", ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA"))
    as_sketch = tab_draw.ui_encode({"background": None, "layers": [sketch] * 3, "composite": sketch}, None)
    assert as_sketch[2]["mu"] == pytest.approx(tab_draw.ui_encode(uploads(draw("zero")), None)[2]["mu"],
                                               abs=0.05)
    with pytest.raises(gr.Error, match="no ink"):
        tab_draw.ui_encode(uploads(Image.new("L", (50, 50), 0)), None)
    with pytest.raises(gr.Error, match="must be a file uploaded to this page"):
        tab_draw.ui_encode({"path": "/etc/passwd"}, None)
    with pytest.raises(gr.Error, match="at most 8 layers; this one lists 9"):
        tab_draw.ui_encode({"layers": [sketch] * 9, "composite": sketch}, None)
    with pytest.raises(gr.Error, match="image is empty"):
        tab_draw.ui_encode({"layers": [], "composite": None}, None)


def test_a_refusal_is_not_logged_with_a_traceback_and_names_no_object_address():
    with pytest.raises(gr.Error) as e:
        api.decode(object(), 0)
    assert e.value.print_exception is False
    assert e.value.message == "x must be a number, not a object" and "0x" not in e.value.message


def test_comparison_refuses_nan():
    with pytest.raises(gr.Error, match="x must be a finite number"):
        tab_models.ui_compare([float("nan"), 0], None)


def test_switching_model_updates_ranges_classes_and_clears_overlays():
    fashion = store.STORE.get("fashion_vae_beta4")
    new = tab_models.ui_model("fashion_vae_beta4")
    assert set(new) == {"random", "prior", "sample_note", "sample_xy", "sample_dims", "plane_by", "plane_classes",
                        "nav", "info", "header", "target", "start", "end", "path", "samples",
                        "drawing", "compared", "compared_grids", *(f"jump_{i}" for i in range(10)),
                        "strip", "files", "caption",
                        *(f"edit_{a}" for a in dirs.ATTRIBUTES)}
    # the Edit tab's rows show the new model's checked figures
    assert new["edit_slant"] == tab_edit.label(fashion, "slant") and "Morpho" not in new["edit_slant"]
    # the navigator takes the model's name and extent; the page keeps z, clamped to it
    assert new["nav"].props == {"model": "fashion_vae_beta4", "extent": fashion.extent,
                                "plane": ui.plane(fashion)}
    assert [new[f"jump_{i}"].value for i in range(10)] == fashion.classes
    assert new["start"].choices == new["end"].choices == [(c, c) for c in fashion.classes]
    assert (new["start"].value, new["end"].value) == ("T-shirt/top", "Ankle boot")
    assert new["path"] is new["samples"] is new["drawing"] is None
    assert new["compared"] is new["compared_grids"] is None  # the comparison was of the old z
    assert new["strip"] is new["files"] is None and new["caption"] == ""  # the old model's strip
    assert "| model | fashion_vae_beta4 |" in new["info"]
    assert "Latent Space Navigator" in new["header"] and "**fashion_vae_beta4**" in new["header"]
    assert "value" not in new["nav"].constructor_args


def test_compare_decodes_the_same_z_with_each_course_model_ordered_by_beta():
    digits, grids = tab_models.ui_compare([0.3, -0.4], None)
    names = [n for n in tab_models.COURSE if n in nn.list_models()]
    betas = [store.STORE.get(n).meta.get("beta") or 0 for n in names]
    expected = [f"{n} (beta {b:g})" for b, n in sorted(zip(betas, names))]
    assert [c for _, c in digits] == expected == [c for _, c in grids]
    assert expected[0].startswith("mnist_ae (beta 0)") and len(expected) >= 3
    for img, caption in digits:
        m = store.STORE.get(caption.split()[0])
        assert img.size == (224, 224)
        assert np.array_equal(np.asarray(img)[::8, ::8], decoded(m, checks.clamp_xy(m, 0.3, -0.4))[0])
    assert all(g.size == (20 * 28, 20 * 28) for g, _ in grids)


def test_the_page_keeps_its_ids_api_names_css_and_js():
    app = demo.build_app(bench_floor=True)
    blocks = {b.elem_id: b for b in app.blocks.values() if getattr(b, "elem_id", None)}
    assert ELEM_IDS <= set(blocks)
    public = {f.api_name for f in app.fns.values() if f.api_visibility == "public"}
    assert public == API_NAMES
    assert not any(f.api_name.startswith("show") for f in app.fns.values())  # no slider event
    nav = blocks["lsn-nav"]
    # every script in web/ ships once: in the navigator's js_on_load, the component's own script
    # last, after every part it uses; prefetch.js in the page's head, told the default model
    head = (main_view.WEB / "prefetch.js").read_text()
    shipped = {p.name: nav.js_on_load.count(p.read_text()) + app.lsn_head.count(p.read_text())
               for p in main_view.WEB.glob("*.js")}
    assert shipped and set(shipped.values()) == {1}, shipped
    assert head in app.lsn_head and 'window.LSN_DEFAULT_MODEL = "mnist_vae_beta4"' in app.lsn_head
    assert nav.js_on_load.endswith((main_view.WEB / "navigator.js").read_text())
    assert (main_view.WEB / "navigator.css").read_text() in nav.head
    assert nav.props == {"model": nn.DEFAULT_MODEL, "extent": store.STORE.get().extent,
                         "plane": ui.plane(store.STORE.get())}
    assert nav.props["plane"]["basis"] == [[1, 0], [0, 1]] and nav.props["plane"]["share"] == 1
    assert not [f.js for f in app.fns.values() if f.js]  # no event runs page script by name
    # the model switch's {name: value} lands on the components of those names
    switch = next(f for f in app.fns.values() if f.name == "ui_model")
    out = switch.fn("mnist_ae")
    assert set(out) == set(switch.outputs) and blocks["lsn-jump-9"] in out and nav in out


@pytest.mark.slow  # over 1 s: it builds the app twice
def test_main_honours_env_and_flags_and_refuses_bad_models(monkeypatch):
    seen = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: seen.update(kw))
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    threads = torch.get_num_threads()
    try:
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
    finally:
        torch.set_num_threads(threads)  # main() set 1 for the server; the other tests keep theirs


BAD = [  # (handler, args, kwargs, words the message must contain)
    (api.decode, (float("nan"), 0), {}, "x must be a finite number"),
    (api.decode, (0, float("inf")), {}, "y must be a finite number"),
    (api.decode, ("abc", 0), {}, "x must be a number"),
    (api.decode, (True, 0), {}, "x must be a number"),
    (api.decode, (None, 0), {}, "x must be a number"),
    (api.decode, (10**400, 0), {}, "x must be a finite number, not an integer of 401 digits"),
    (api.jump, (10,), {}, "digit must be one of the classes"),
    (api.jump, (-1,), {}, "digit must be one of the classes"),
    (api.jump, (3.5,), {}, "digit must be one of the classes"),
    (api.jump, ("seven",), {}, "digit must be one of the classes"),
    (api.jump, ([7],), {}, "digit must be one of the classes"),
    (api.morph, (0, 0, 3, 1.5), {}, "amount must be between 0 and 1"),
    (api.morph, (0, 0, 3, float("nan")), {}, "amount must be a finite number"),
    (api.interpolate, (1, 7, 1), {}, "steps must be between 2 and 64"),
    (api.interpolate, (1, 7, 65), {}, "steps must be between 2 and 64"),
    (api.interpolate, (1, 7, 10**12), {}, "steps must be between 2 and 64"),
    (api.interpolate, (1, 7, 2.5), {}, "steps must be a whole number"),
    (api.interpolate, (1, 7, "ten"), {}, "steps must be a number"),
    (api.interpolate, (1, 7, 8, "cubic"), {}, "method must be 'linear' or 'spherical'"),
    (api.interpolate, (1, 7, 8, ["linear"]), {}, "method must be 'linear' or 'spherical'"),
    (api.interpolate, (1, 7, 8, {"a": 1}), {}, "method must be 'linear' or 'spherical'"),
    (api.interpolate, (1, 70, 8), {}, "digit_b must be one of the classes"),
    (api.sample, (0, 0, -1, 1), {}, "sigma_x must be between 0 and 2"),
    (api.sample, (0, 0, 1, 1, 10**9), {}, "n must be between 1 and 256"),
    (api.sample, (0, 0, 1, 1, 0), {}, "n must be between 1 and 256"),
    (api.sample, (4, 0, 1, 1), {}, "mu_x must be between -3 and 3"),
    (api.sample, (0, 0, 1, 1, 4, -1), {}, "seed must be between 0 and"),
    (api.random_point, ("x",), {}, "seed must be a number"),
    (api.random_point, (2**40,), {}, "seed must be between 0 and"),
    (api.decode, (0, 0), {"model": "nope"}, "unknown model 'nope'"),
    (api.decode, (0, 0), {"model": "../pretrained/mnist_vae_beta4"}, "not a path"),
    (api.decode, (0, 0), {"model": "a/b"}, "not a path"),
    (api.decode, (0, 0), {"model": "mnist_vae_beta4.last"}, "unknown model"),
    (api.jump, (1,), {"model": 5}, "model must be a model name"),
    (api.encode, (None,), {}, "image is empty"),
    (api.encode, ({"composite": None},), {}, "image is empty"),
    (api.encode, (np.zeros((0, 0), np.uint8),), {}, "image is empty"),
    (api.encode, (Image.new("L", (50, 50), 255),), {}, "no ink"),
    (api.encode, (__file__,), {}, "not a readable image"),
    (tab_draw.go_to_drawing, (None, None), {}, "nothing encoded yet"),
]


@pytest.mark.parametrize("fn, args, kwargs, words", BAD, ids=[f"{b[0].__name__}-{b[3]}" for b in BAD])
def test_bad_input_is_a_clear_error(fn, args, kwargs, words):
    with pytest.raises(gr.Error) as e:
        fn(*args, **kwargs)
    assert words in e.value.message


@pytest.mark.parametrize("size", [(5000, 100), (4000, 4100)])  # a side over 4096; over 16 MP
def test_huge_images_are_refused_before_decoding(tmp_path, monkeypatch, bomb, size):
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb(*size))
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("pixels decoded"))
    with pytest.raises(gr.Error, match=rf"image is too large \({size[0]}x{size[1]}\)"):
        api.encode(str(path))


def test_truncated_image_is_refused(tmp_path, seven_png):
    path = tmp_path / "cut.png"
    path.write_bytes(open(seven_png, "rb").read()[:200])
    with pytest.raises(gr.Error, match="image"):
        api.encode(str(path))


def test_old_download_folders_are_purged():
    old = store.fresh_dir()
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    new = store.fresh_dir()
    assert new.is_dir() and not old.exists()


def test_download_folders_are_bounded_in_number(monkeypatch):
    monkeypatch.setattr(store, "MAX_DOWNLOAD_DIRS", 5)
    for earlier in store.STORE.out_dir().iterdir():  # other tests' downloads
        shutil.rmtree(earlier)
    made = []
    for i in range(12):
        made.append(store.fresh_dir())
        os.utime(made[-1], (time.time() - 100 + i, time.time() - 100 + i))  # in order of making
    kept = sorted(store.STORE.out_dir().iterdir())
    assert len(kept) == 5 and set(kept) == set(made[-5:])


# --- the GET routes beside Gradio's (as demo.serve mounts them), through a test client ---------

def test_the_image_api_is_the_decoders_digit_enlarged_with_a_cacheable_etag(lm, http):
    x, y = inside(lm, 0.4, 0.6)
    r = http.get("/api/decode.png", params={"x": x, "y": y, "scale": 3})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["cache-control"] == "public, max-age=3600"
    a = np.asarray(Image.open(io.BytesIO(r.content)))
    assert a.shape == (84, 84) and np.array_equal(a[::3, ::3], decoded(lm, (x, y))[0])
    again = http.get("/api/decode.png", params={"x": x, "y": y, "scale": 3},
                     headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other = http.get("/api/decode.png", params={"x": x, "y": y, "model": "mnist_vae_beta1"})
    assert other.headers["etag"] != r.headers["etag"]  # another checkpoint, another version
    far = http.get("/api/decode.png", params={"x": 1e9, "y": -1e9})  # clamped, as /decode
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(far.content))),
                          np.asarray(api.decode(1e9, -1e9)))


@pytest.mark.parametrize("params, words", [
    ({"y": 0}, "x is missing"), ({"x": "nan", "y": 0}, "x must be a finite number"),
    ({"x": "abc", "y": 0}, "x must be a number"), ({"x": 0, "y": 0, "scale": 0}, "scale must be"),
    ({"x": 0, "y": 0, "scale": 2.5}, "scale must be a whole number"),
    ({"x": 0, "y": 0, "model": "../etc"}, "not a path"), ({"x": 0, "y": 0, "model": "nope"}, "unknown model"),
])
def test_the_image_api_refuses_bad_parameters_by_name(http, params, words):
    r = http.get("/api/decode.png", params=params)
    assert r.status_code == 400 and words in r.json()["error"], r.text


def test_the_model_file_holds_the_float16_decoder_and_the_atlas_codes(lm, http):
    from safetensors.torch import load

    r = http.get(f"/api/model/{lm.name}")
    assert r.status_code == 200 and r.headers["etag"] == lm.etag
    tensors = load(r.content)
    decoder = {k: v for k, v in tensors.items() if k.startswith("model.decoder.")}
    assert decoder and all(v.dtype == torch.float16 for v in decoder.values())
    assert sum(v.numel() for v in decoder.values()) == sum(p.numel() for p in lm.model.decoder.parameters())
    assert torch.equal(tensors["atlas.mu"], lm.atlas["mu"].float())
    assert torch.equal(tensors["atlas.labels"].long(), lm.atlas["labels"])
    assert len(r.content) < 1.5 * 2**20  # the transfer a model costs the page
    assert http.get(f"/api/model/{lm.name}", headers={"If-None-Match": lm.etag}).status_code == 304
    assert http.get("/api/model/nope").status_code == 404


def test_with_the_default_model_broken_the_api_defaults_to_the_one_that_loads(tmp_path, monkeypatch,
                                                                          fresh_store):
    """The page and the API share one default (demo.first_loadable); a broken model's error is
    remembered until its files change, and names the file, not where the server keeps it."""
    for suffix in (".safetensors", ".atlas.safetensors"):
        shutil.copy(nn.PRETRAINED / f"mnist_ae{suffix}", tmp_path / f"mnist_ae{suffix}")
    (tmp_path / f"{nn.DEFAULT_MODEL}.safetensors").write_bytes(b"not a checkpoint")
    monkeypatch.setattr(nn, "PRETRAINED", tmp_path)
    reads = []
    real = nn.load_checkpoint
    monkeypatch.setattr(nn, "load_checkpoint", lambda path: reads.append(path) or real(path))
    assert demo.first_loadable() == "mnist_ae"
    assert np.array_equal(np.asarray(api.decode(0, 0)), np.asarray(api.decode(0, 0, "mnist_ae")))
    assert api.models()[0]["name"] == "mnist_ae" and api.models()[0]["default"] is True
    for _ in range(3):
        with pytest.raises(gr.Error) as e:
            api.decode(0, 0, nn.DEFAULT_MODEL)
    assert str(tmp_path) not in e.value.message and f"{nn.DEFAULT_MODEL}.safetensors" in e.value.message
    assert sum(nn.DEFAULT_MODEL in str(p) for p in reads) == 1  # read once, not on every call


def test_the_address_names_the_model_and_position_the_page_opens_at():
    class Request:  # what ui_from_url reads of gr.Request
        def __init__(self, **q):
            self.query_params = q
    beta1 = store.STORE.get("mnist_vae_beta1")
    # the navigator (the model's name and extent, then z) before the model picker's switch
    nav, model = main_view.ui_from_url(Request(model="mnist_vae_beta1", x="1.5", y="-1"))
    assert model == "mnist_vae_beta1" and nav.value == [1.5, -1.0]
    assert nav.props == {"model": "mnist_vae_beta1", "extent": beta1.extent, "plane": ui.plane(beta1)}
    assert main_view.ui_from_url(Request()) == (gr.skip(), gr.skip())
    assert main_view.ui_from_url(Request(model="mnist_ae")) == (gr.skip(), "mnist_ae")
    with pytest.warns(UserWarning, match=f"x = 99 is outside mnist_vae_beta1's range "
                                         f"{beta1.extent[0]:g}..{beta1.extent[1]:g}: set to"):
        nav, _ = main_view.ui_from_url(Request(model="mnist_vae_beta1", x="99"))
    assert nav.value == [beta1.extent[1], 0]
    # defect 1 of issue 16: the AE's own range, not the default model's
    nav, model = main_view.ui_from_url(Request(model="mnist_ae", x="28.37", y="17.16"))
    assert (nav.value, model) == ([28.37, 17.16], "mnist_ae")
    for q, words in [({"model": "nope"}, "unknown model"), ({"x": "abc"}, "x in the address"),
                     ({"y": "nan"}, "y in the address must be a finite number")]:
        with pytest.raises(gr.Error, match=words):
            main_view.ui_from_url(Request(**q))


def test_an_ae_is_offered_no_prior_and_its_map_opens_on_its_classes():
    ae, vae = store.STORE.get("mnist_ae"), store.STORE.get("mnist_vae_beta4")
    new, back = tab_models.ui_model("mnist_ae"), tab_models.ui_model("mnist_vae_beta4")
    assert new["random"].visible is new["prior"].visible is False and "no prior" in new["sample_note"]
    assert back["random"].visible is back["prior"].visible is True
    # a VAE's map is its extent; the AE's (extent -52..85) its class centres, padded
    assert maps.map_view(vae) == vae.extent
    xmin, xmax, ymin, ymax = maps.map_view(ae)
    assert (ae.centres[:, 0] > xmin).all() and (ae.centres[:, 0] < xmax).all()
    assert (ae.centres[:, 1] > ymin).all() and (ae.centres[:, 1] < ymax).all()
    assert xmax - xmin < 0.5 * (ae.extent[1] - ae.extent[0])
    fig = maps.map_figure("mnist_ae")
    assert list(fig.layout.xaxis.range) == [xmin, xmax] and fig.layout.yaxis.scaleanchor == "x"


def test_the_manifold_cells_are_square_and_centred_on_their_codes():
    lm = store.STORE.get("mnist_ae")
    x0, x1, y0, y1 = maps.manifold_square(lm)
    assert x1 - x0 == pytest.approx(y1 - y0)
    (img,) = maps.map_figure("mnist_ae", ["decoded manifold"]).layout.images
    cell = (x1 - x0) / (maps.MANIFOLD_N - 1)
    assert img.sizex == pytest.approx(img.sizey) == pytest.approx(maps.MANIFOLD_N * cell)
    assert img.x == pytest.approx(x0 - cell / 2) and img.y == pytest.approx(y1 + cell / 2)
    grid = np.asarray(maps.manifold("mnist_ae"))  # its top-left cell is the decode there
    assert np.abs(grid[:28, :28].astype(int) - decoded(lm, (x0, y1))[0]).max() <= 1


def test_class_labels_are_pushed_apart_and_point_at_their_centres():
    fashion = store.STORE.get("fashion_vae_beta4")
    # (that no two labels overlap on the drawn map is checked in Chromium: test_page_ux.py)
    fig = maps.map_figure("fashion_vae_beta4")
    moved = 0
    for a, (cx, cy) in zip(fig.layout.annotations, fashion.centres):
        assert (a.x, a.y) == pytest.approx((cx, cy))  # an arrow (if moved) ends at the centre
        moved += bool(a.showarrow)
    assert moved >= 2  # the shirts, pullovers and coats share a corner: some had to move
    assert fashion.noun == "images" and store.STORE.get().noun == "digits"


def test_samples_stacked_by_sigma_0_are_named_on_the_map():
    z = api.sample(0.5, 0.5, 0, 0, 16, 0)
    fig = maps.map_figure(None, ["samples"], samples=z)
    assert any(a.text == "16 samples, 1 distinct (sigma 0)" for a in fig.layout.annotations)
    z = api.sample(0.5, 0.5, 1, 1, 16, 0)
    assert not any("distinct" in str(a.text) for a in maps.map_figure(None, ["samples"], samples=z).layout.annotations)


# --- semantic directions: the Edit tab, the drawing's edits, the measured attributes, the API --

def test_an_edit_moves_the_measured_attribute_of_the_decoded_digit_the_asked_way(lm):
    z = lm.centres[1].tolist()  # slant is checked reliable for no model at 90/80; it goes the right way
    j = dirs.ATTRIBUTES.index("slant")
    for sign in (1, -1):
        z2 = api.edit(z, "slant", sign * 0.2)
        assert len(z2) == 2 and z2 != z
        change = api.measure(z=z2)["slant"] - api.measure(z=z)["slant"]
        assert np.sign(change) == sign, (sign, change)
    # x and y are accepted for a 2-D model, and give the same edit as z
    assert api.edit(None, "slant", 0.2, None, *z) == api.edit(z, "slant", 0.2)
    assert api.measure(z=z) == api.measure(x=z[0], y=z[1])
    assert api.measure(z=z)["slant"] == pytest.approx(dirs.measure_decoded(lm.model, np.array([z]))[0, j])


@pytest.mark.parametrize("call, named", [
    (lambda: api.edit([0.5], "thickness", 0.3), "z must be a list of 2 numbers"),
    (lambda: api.edit([0.5, float("nan")], "thickness", 0.3), "z[1] must be a finite number"),
    (lambda: api.edit(["a", 0], "thickness", 0.3), "z[0] must be a number, not 'a'"),
    (lambda: api.edit([0, 0], "bold", 0.3), "attribute must be one of area, length"),
    (lambda: api.edit([0, 0], "thickness", 9), "amount (thickness, in px) must be between -1.5 and 1.5"),
    (lambda: api.edit([0, 0], "thickness", float("nan")), "amount (thickness, in px) must be a finite"),
    (lambda: api.edit(None, "thickness", 0.3), "give z, a list of 2 numbers, or x and y"),
    (lambda: api.measure(z=[0, 0, 0]), "z must be a list of 2 numbers"),
    (lambda: api.attributes("nope"), "nope"),
])
def test_edit_and_measure_refuse_bad_input_by_name(call, named):
    with pytest.raises(gr.Error) as e:
        call()
    assert named in e.value.message


def test_measure_refuses_a_blank_image_and_measures_a_drawn_one(draw):
    with pytest.raises(gr.Error, match="empty: no ink"):
        api.measure(Image.new("L", (28, 28), 255))
    one, zero = api.measure(draw("one")), api.measure(draw("zero"))
    assert set(one) == set(dirs.ATTRIBUTES) and one["width"] < zero["width"] and one["area"] < zero["area"]


def test_attributes_lists_each_attribute_with_the_model_cards_figures():
    for name in nn.list_models():
        listed = api.attributes(name)
        table = store.STORE.get(name).atlas["directions"]["table"]
        assert [a["name"] for a in listed] == dirs.ATTRIBUTES
        for a in listed:
            t = table[a["name"]]
            assert (a["r2"], a["right_way"], a["kept_class"], a["reliable"]) == (
                t["r2"], t["right_way"], t["kept_class"], t["reliable"])
            assert a["max_amount"] == pytest.approx(dirs.MAX_AMOUNT * a["step"])
            assert len(a["weights"]) == store.STORE.get(name).dim


def test_ui_edit_plays_16_positions_along_the_edits_moves_to_its_end(lm):
    at = [round(v, 2) for v in lm.centres[7].tolist()]
    end = api.edit(at, "width", 1.0)
    assert tab_edit.ui_edit("width", 1, at, 1.0, False, None) == [round(v, 2) for v in end]
    played = tab_edit.ui_edit("width", 1, at, 1.0, True, None)
    assert played["z"] == [round(v, 2) for v in end] and len(played["path"]) == 16
    assert played["path"][0] == at and played["path"][-1] == pytest.approx(end, abs=1e-4)
    back = tab_edit.ui_edit("width", -1, at, 1.0, False, None)
    assert np.sign(np.subtract(back, at) @ np.subtract(end, at)) == -1  # - goes the other way
    with pytest.raises(gr.Error, match="amount"):
        tab_edit.ui_edit("width", 1, at, None, True, None)  # the box holds "-"


def test_the_navigator_gets_the_measured_attributes_and_the_arrows_where_z_settles(lm):
    at = [round(v, 2) for v in lm.centres[2].tolist()]
    local = tab_edit.ui_local(at, True, None).props["local"]
    assert local["at"] == at and local["model"] == lm.name
    measured = api.measure(z=at)
    assert [m[0] for m in local["measured"]] == dirs.ATTRIBUTES
    assert [m[1] for m in local["measured"]] == [round(measured[a], 2) for a in dirs.ATTRIBUTES]
    table = lm.atlas["directions"]["table"]
    for name, move, reliable in local["arrows"]:
        assert reliable == table[name]["reliable"] and len(move) == 2
    # an arrow points where one + click's first move goes: along the local gradient
    g = dirs.jacobian(lm.model, at, dirs.spread(lm.atlas))[dirs.ATTRIBUTES.index("width")]
    move = dict((a, m) for a, m, _ in local["arrows"])["width"]
    assert np.dot(move, g) > 0 and move[0] * g[1] - move[1] * g[0] == pytest.approx(0, abs=1e-3 * np.linalg.norm(g))
    # with the arrows off, none
    assert tab_edit.ui_local(at, False, None).props["local"]["arrows"] == []


def test_a_drawing_is_edited_from_where_its_last_edit_left_it(lm, draw, uploads):
    _, _, state, _ = tab_draw.ui_encode(uploads(draw("zero")), None)
    image, text, once = tab_draw.ui_edit_drawing(1, state, "width", None)
    assert once["z"] == api.edit(state["mu"], "width", 1.0) and once["mu"] == state["mu"]
    assert image.size == (3 * 28 * 5 + 2 * 4 * 5, 28 * 5)  # input | reconstruction | edited
    assert np.array_equal(cell(image, 0, 2, 5, 4), decoded(lm, once["z"])[0])
    _, text, twice = tab_draw.ui_edit_drawing(1, once, "width", None)
    assert twice["z"] == api.edit(once["z"], "width", 1.0)
    assert "edited (width +1 px, width +1 px)" in text
    assert tab_draw.go_to_drawing(twice, None) == [round(v, 2) for v in twice["z"]]
    with pytest.raises(gr.Error, match="nothing encoded yet"):
        tab_draw.ui_edit_drawing(1, None, "width", None)


def test_the_heat_map_colours_the_grid_by_the_measured_attribute(lm):
    xs, ys, values = maps.heat(lm.name, "area")
    assert values.shape == (maps.HEAT_N, maps.HEAT_N) and ys[0] < ys[-1]
    # the cell at row i, column j is the digit decoded at (xs[j], ys[i])
    i, j = 3, 11
    assert values[i, j] == pytest.approx(api.measure(z=[xs[j], ys[i]])["area"], rel=1e-6)
    fig = maps.map_figure(lm.name, maps.OVERLAYS, heat_by="area")
    assert fig.data[0].type == "heatmap" and "area" in fig.data[0].colorbar.title.text
    assert maps.map_figure(lm.name, maps.OVERLAYS).data[0].type == "scatter"
    with pytest.raises(gr.Error, match="attribute must be one of"):
        maps.map_figure(lm.name, maps.OVERLAYS, heat_by="boldness")


# --- the page a student learns from: the map's limits, the encoder at work ---------------------

def test_the_map_outlines_where_z_can_go_and_a_vaes_prior_circles(lm):
    fig = maps.map_figure(lm.name, maps.OVERLAYS)
    xmin, xmax, ymin, ymax = lm.extent
    outline = [s for s in fig.layout.shapes if s.type == "rect" and s.line.dash == "dash"]
    assert [(s.x0, s.x1, s.y0, s.y1) for s in outline] == [(xmin, xmax, ymin, ymax)]
    circles = sorted(s.x1 for s in fig.layout.shapes if s.type == "circle")
    assert circles == [1, 2]  # the prior N(0, I): 1 and 2 sigma
    assert "prior 1σ" in [a.text for a in fig.layout.annotations]
    assert fig.layout.meta["view"] == maps.map_view(lm) and fig.layout.meta["model"] == lm.name
    assert "click a class to hide it" in fig.layout.legend.title.text
    ae = maps.map_figure("mnist_ae", maps.OVERLAYS)
    assert not [s for s in ae.layout.shapes if s.type == "circle"]  # an AE has no prior


def test_a_test_image_is_encoded_with_its_loss_terms(lm):
    pair, text, state, strip = tab_draw.ui_encode_test(17, None)
    x = lu.load_test_images("mnist")[17].numpy() / 255.0
    assert np.array_equal(state["input"], lu.load_test_images("mnist")[17].numpy())
    mu, logvar = lm.model.encode(torch.as_tensor(x, dtype=torch.float32)[None, None])
    assert state["mu"] == pytest.approx(mu[0].tolist(), abs=1e-6) and strip is None
    bce, kl = nn.elbo_terms(lm.model, torch.as_tensor(x, dtype=torch.float32)[None, None],
                            torch.zeros(1, 2))
    assert f"reconstruction BCE {float(bce[0]):.1f} + KL {float(kl[0]):.1f}" in text
    assert float(kl[0]) == pytest.approx(float(nn.kl_to_prior(mu, logvar)[0]))
    for bad in (3000, -1, 1.5, None):
        with pytest.raises(gr.Error, match="the test image's index"):
            tab_draw.ui_encode_test(bad, None)


def test_samples_of_q_are_seeded_by_their_number_and_marked_on_the_map(lm):
    _, _, state, _ = tab_draw.ui_encode_test(17, None)
    for n in range(1, 4):
        text, state, strip = tab_draw.ui_sample(state, None)
        assert len(state["samples"]) == n and strip.size[0] >= n * 28 * 4
    eps = np.random.default_rng(1).standard_normal(2)  # the second sample's
    second = state["samples"][1]
    assert second["eps"] == pytest.approx(eps.tolist())
    assert second["z"] == pytest.approx((np.array(state["mu"]) + np.array(state["sigma"]) * eps).tolist())
    mean = np.mean([s["bce"] for s in state["samples"]])
    assert f"3 sample(s) of q(z|x): mean BCE {mean:.1f}" in text
    fig = maps.map_figure(lm.name, maps.OVERLAYS, drawing=state)
    names = [t.name for t in fig.data]
    assert {"q(z|x) 1σ", "q(z|x) 2σ", "q(z|x) samples"} <= set(names)
    # sigma ~0.05 is a few pixels on the map: an inset magnifies it, with the samples numbered
    assert fig.layout.xaxis2.domain == (0.70, 0.99)
    inset = [t for t in fig.data if t.xaxis == "x2" and t.name == "q(z|x) samples"][0]
    assert list(inset.text) == ["1", "2", "3"]
    _, _, ae_state, _ = tab_draw.ui_encode_test(17, "mnist_ae")
    with pytest.raises(gr.Error, match="autoencoder"):
        tab_draw.ui_sample(ae_state, "mnist_ae")
    with pytest.raises(gr.Error, match="nothing encoded yet"):
        tab_draw.ui_sample(None, None)
