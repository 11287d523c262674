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

import api
import checks
import directions as dirs
import images
import main_view
import morphometry as mm
from checks import Refused, prepared, uploaded
from neural_network import decode_uint8
from store import STORE
from ui import PRIVATE, go_to, toasted


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
                p.pair = gr.Image(format="png", type="pil", show_label=False, interactive=False)
                p.encoding = gr.Textbox(label="encoding (above: the 28x28 input | its reconstruction | edited)",
                                        interactive=False, elem_id="lsn-draw-out")
                with gr.Row(equal_height=True):
                    p.draw_attribute = gr.Dropdown(dirs.ATTRIBUTES, value="thickness", scale=3,
                                                   label="then edit it along", elem_id="lsn-draw-attr")
                    p.draw_edits = [gr.Button(text, size="sm", min_width=44, elem_id=f"lsn-draw-{text}")
                                    for text in ("−", "+")]
                p.there = gr.Button("go there")


def wire(p):
    encoded = [p.pair, p.encoding, p.drawing]
    # preprocess=False: ui_encode reads the uploaded file itself (checks.uploaded): Gradio would
    # decode every layer a drawing's value lists before any check.
    p.encode.click(toasted(ui_encode), [p.sketch, p.model], encoded, preprocess=False,
                   **PRIVATE).then(**main_view.redraw(p))
    p.upload.upload(toasted(ui_encode), [p.upload, p.model], encoded, preprocess=False,
                    **PRIVATE).then(**main_view.redraw(p))
    for sign, button in zip((-1, 1), p.draw_edits):
        button.click(toasted(functools.partial(ui_edit_drawing, sign)),
                     [p.drawing, p.draw_attribute, p.model], encoded, **PRIVATE
                     ).then(**main_view.redraw(p))
    p.there.click(toasted(go_to_drawing), [p.drawing, p.model], p.nav, **PRIVATE)


def ui_encode(image, model):
    """Encode a drawing or upload (the value the browser sent, see checks.uploaded): its 28x28
    input, reconstruction, mu/sigma and map state."""
    lm = STORE.get(model)
    x = prepared(uploaded(image))
    mu, sigma = api.encoded(lm, x)
    drawing = {"mu": mu, "sigma": sigma, "z": mu, "input": (x * 255).round().astype(np.uint8),
               "text": f"mu = ({mu[0]:+.2f}, {mu[1]:+.2f})   sigma = ({sigma[0]:.2f}, {sigma[1]:.2f})"}
    return shown(lm, drawing), drawing["text"], drawing


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
    text = (f"{drawing['text']}\nedited ({', '.join(drawing['edits'])}): z = ({z[0]:+.2f}, "
            f"{z[1]:+.2f})\n{attribute}, measured: {before:.2f} {unit} reconstructed, "
            f"{after:.2f} {unit} edited" + (" (nan: a blank digit)" if np.isnan([before, after]).any() else ""))
    return shown(lm, drawing), text, drawing


def go_to_drawing(drawing, model):
    if not drawing:
        raise Refused("nothing encoded yet: draw or upload a digit, then encode it")
    return go_to(*drawing.get("z", drawing["mu"]), model)
