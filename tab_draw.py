"""The Draw or upload tab: a digit drawn or uploaded, prepared as MNIST's were, encoded, shown
beside its reconstruction and marked on the map; - and + edit its code along a digit attribute
(bolder, more slanted, wider: the Edit tab's checked edits), the edited digit shown beside the
two; "go there" moves the position to its code, edited or not. Its layout, its wiring and its
handlers.

Above main_view.py; assembled by demo.py. Tested in tests/test_demo_handlers.py, through a live
server in tests/test_hostile.py, and in Chromium by tests/test_page_ux.py.
"""

import functools

import gradio as gr
import numpy as np
import torch

import api
import checks
import directions as dirs
import images
import latent_utils as lu
import main_view
import morphometry as mm
from checks import Refused, integer, prepared, uploaded
from neural_network import decode_uint8, elbo_terms
from store import STORE
from ui import PRIVATE, go_to, toasted

MAX_Q_SAMPLES = 16  # samples of one image's q(z|x), on the map and in the strip


def layout(p, lm):
    with gr.Tab("Draw or upload"):
        with gr.Row():
            p.sketch = gr.Sketchpad(type="numpy", canvas_size=(280, 280), label="draw a digit",
                                    brush=gr.Brush(18, colors=["#000000"], color_mode="fixed"),
                                    elem_id="lsn-sketch")
            p.upload = gr.Image(type="filepath", image_mode=None, sources=["upload", "clipboard"],
                                label="or upload an image", height=300, elem_id="lsn-upload")
            with gr.Column():
                p.encode = gr.Button("encode drawing", variant="primary")
                p.pair = gr.Image(format="png", type="pil", show_label=False, interactive=False,
                                  elem_id="lsn-pair")
                p.encoding = gr.Textbox(label="encoding (above: the 28x28 input | its reconstruction | edited)",
                                        interactive=False, elem_id="lsn-draw-out")
                with gr.Row(equal_height=True):
                    p.draw_attribute = gr.Dropdown(dirs.ATTRIBUTES, value="thickness", scale=3,
                                                   label="then edit it along", elem_id="lsn-draw-attr")
                    p.draw_edits = [gr.Button(text, size="sm", min_width=44, elem_id=f"lsn-draw-{text}")
                                    for text in ("−", "+")]
                p.there = gr.Button("go there")
                with gr.Row(equal_height=True):
                    p.test_index = gr.Number(None, precision=0, minimum=0, maximum=lu.MAP_POINTS - 1,
                                             label=f"or a test image (a map dot), by its index: 0-"
                                                   f"{lu.MAP_POINTS - 1}", scale=3, elem_id="lsn-test-index")
                    p.encode_test = gr.Button("encode it", scale=1, elem_id="lsn-encode-test")
                p.sample_q = gr.Button("sample z ~ q(z|x), one at a time", elem_id="lsn-sample-q")
                p.q_strip = gr.Image(format="png", type="pil", show_label=False, interactive=False,
                                     elem_id="lsn-q-strip")


def wire(p):
    encoded = [p.pair, p.encoding, p.drawing, p.q_strip]
    # preprocess=False: ui_encode reads the uploaded file itself (checks.uploaded): Gradio would
    # decode every layer a drawing's value lists before any check.
    p.encode.click(toasted(ui_encode), [p.sketch, p.model], encoded, preprocess=False,
                   **PRIVATE).then(**main_view.redraw(p))
    # a refused upload clears itself and the result (an older upload's would sit beside it)
    p.upload.upload(toasted(ui_upload, refused=(None, "", None, None, None)), [p.upload, p.model],
                    [*encoded, p.upload], preprocess=False, **PRIVATE).then(**main_view.redraw(p))
    p.encode_test.click(toasted(ui_encode_test), [p.test_index, p.model], encoded,
                        **PRIVATE).then(**main_view.redraw(p))
    for sign, button in zip((-1, 1), p.draw_edits):
        button.click(toasted(functools.partial(ui_edit_drawing, sign)),
                     [p.drawing, p.draw_attribute, p.model], encoded[:3], **PRIVATE
                     ).then(**main_view.redraw(p))
    p.sample_q.click(toasted(ui_sample), [p.drawing, p.model], [p.encoding, p.drawing, p.q_strip],
                     **PRIVATE).then(**main_view.redraw(p))
    p.there.click(toasted(go_to_drawing), [p.drawing, p.model], p.nav, **PRIVATE)


def ui_encode(image, model):
    """Encode a drawing or upload (the value the browser sent, see checks.uploaded): its 28x28
    input, reconstruction, q(z|x) and loss terms, and map state (see encoder_at_work)."""
    return encoder_at_work(STORE.get(model), prepared(uploaded(image)))


def ui_encode_test(index, model):
    """Encode test image #index, one of the map's dots, as ui_encode does a drawing."""
    lm = STORE.get(model)
    i = integer(index, "the test image's index", 0, lu.MAP_POINTS - 1)
    return encoder_at_work(lm, lu.load_test_images(lm.atlas["dataset"])[i].numpy() / 255.0)


def loss_terms(lm, x, eps):
    """(BCE, KL) in nats of x [28, 28] in [0, 1] for z = mu + sigma * eps (neural_network.elbo_terms)."""
    device = next(lm.model.parameters()).device
    with torch.inference_mode():
        bce, kl = elbo_terms(lm.model, torch.as_tensor(x, dtype=torch.float32, device=device)[None, None],
                             torch.as_tensor(eps, dtype=torch.float32, device=device)[None])
    return float(bce[0]), float(kl[0])


def vector(v, spec):
    """A vector of any length as the text shows it: (+0.12, -1.30, ...)."""
    return "(" + ", ".join(f"{float(a):{spec}}" for a in v) + ")"


def encoder_at_work(lm, x):
    """An image x [28, 28] in [0, 1] encoded: (the input | its reconstruction, the text of
    q(z|x) and its loss terms, the drawing state, no samples yet). The loss terms are those of
    -ELBO at z = mu (beta = 1): the reconstruction BCE and KL(q(z|x) || N(0, I)) in nats."""
    mu, sigma = api.encoded(lm, x)
    bce, kl = loss_terms(lm, x, np.zeros(len(mu)))
    text = f"mu = {vector(mu, '+.2f')}   sigma = {vector(sigma, '.2f')}\n" + (
        f"-ELBO at z = mu: reconstruction BCE {bce:.1f} + KL {kl:.1f} = {bce + kl:.1f} nats"
        if lm.has_prior else f"reconstruction BCE {bce:.1f} nats (an autoencoder: no KL, no "
                             f"posterior to sample)")
    drawing = {"mu": mu, "sigma": sigma, "z": mu, "x": x, "kl": kl, "samples": [],
               "input": (x * 255).round().astype(np.uint8), "text": text}
    return shown(lm, drawing), text, drawing, None


def ui_sample(drawing, model):
    """One more z = mu + sigma * eps from the encoded image's q(z|x) (eps seeded by the sample's
    number, so the n-th sample is always the same): the text with the mean BCE over the samples
    so far (their -ELBO estimate), the state, and the strip of their decodes labelled by eps."""
    if not drawing:
        raise Refused("nothing encoded yet: draw, upload or pick a test image, then encode it")
    lm = STORE.get(model)
    if not lm.has_prior:
        raise Refused(f"{lm.name} is an autoencoder: its code is a point, with no q(z|x) to sample")
    samples = drawing.get("samples", [])
    if len(samples) >= MAX_Q_SAMPLES:
        raise Refused(f"at most {MAX_Q_SAMPLES} samples: encode again to start over")
    eps = np.random.default_rng(len(samples)).standard_normal(len(drawing["mu"]))
    z = (np.array(drawing["mu"]) + np.array(drawing["sigma"]) * eps).tolist()
    bce, kl = loss_terms(lm, drawing["x"], eps)
    samples = [*samples, {"eps": eps.tolist(), "z": z, "bce": bce}]
    drawing = {**drawing, "samples": samples}
    mean = float(np.mean([s["bce"] for s in samples]))
    text = (f"{drawing['text']}\n{len(samples)} sample(s) of q(z|x): mean BCE {mean:.1f} + KL "
            f"{kl:.1f} = -ELBO {mean + kl:.1f} nats (the Monte Carlo estimate training uses)\n"
            + "  ".join(f"#{k + 1} eps {vector(s['eps'], '+.2f')}"
                        for k, s in enumerate(samples)))
    strip = images.labelled_strip(decode_uint8(lm.model, [s["z"] for s in samples]),
                                  [f"#{k + 1} BCE {s['bce']:.0f}" for k, s in enumerate(samples)], 4)
    return text, drawing, strip


def ui_upload(image, model):
    """An upload, encoded as ui_encode does; the upload box keeps it."""
    return (*ui_encode(image, model), gr.skip())


def shown(lm, drawing):
    """The tab's image: the 28x28 input, its reconstruction and, once edited, the edited digit."""
    frames = [drawing["input"], *decode_uint8(lm.model, [drawing["mu"]] + (
        [drawing["z"]] if drawing["z"] != drawing["mu"] else []))]
    return images.tile(np.stack(frames), len(frames), scale=5, gap=4)


def ui_edit_drawing(sign, drawing, attribute, model):
    """- or +: the encoded digit's code edited by one click of `attribute` (directions.AMOUNTS),
    from where the last edit left it; the text lists the edits so far and the attribute measured
    on the reconstruction and on the edited digit."""
    if not drawing:
        raise Refused("nothing encoded yet: draw or upload a digit, then encode it")
    lm = STORE.get(model)
    attribute = checks.attribute(attribute)
    amount, unit = sign * dirs.AMOUNTS[attribute], mm.ATTRIBUTES[attribute]
    z = api.edit(drawing["z"], attribute, amount, model)
    before, after = dirs.measure_decoded(lm.model, np.array([drawing["mu"], z]))[
        :, dirs.ATTRIBUTES.index(attribute)]
    drawing = {**drawing, "z": z, "edits": [*drawing.get("edits", []), f"{attribute} {amount:+g} {unit}"]}
    text = (f"{drawing['text']}\nedited ({', '.join(drawing['edits'])}): z = {vector(z, '+.2f')}"
            f"\n{attribute}, measured: {before:.2f} {unit} reconstructed, "
            f"{after:.2f} {unit} edited" + (" (nan: a blank digit)" if np.isnan([before, after]).any() else ""))
    return shown(lm, drawing), text, drawing


def go_to_drawing(drawing, model):
    if not drawing:
        raise Refused("nothing encoded yet: draw or upload a digit, then encode it")
    return go_to(drawing.get("z", drawing["mu"]), model)
