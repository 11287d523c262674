"""The Draw or upload tab: a digit drawn or uploaded, prepared as MNIST's were, encoded, shown
beside its reconstruction and marked on the map; "go there" moves the position to its code. Its
layout, its wiring and its handlers.

Above main_view.py; assembled by demo.py. Tested in tests/test_demo_handlers.py, through a live
server in tests/test_hostile.py, and in Chromium by tests/test_page_ux.py.
"""

import gradio as gr
import numpy as np

import api
import images
import main_view
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
                p.encoding = gr.Textbox(label="encoding (above: the 28x28 input | its reconstruction)",
                                        interactive=False, elem_id="lsn-draw-out")
                p.there = gr.Button("go there")


def wire(p):
    encoded = [p.pair, p.encoding, p.drawing]
    # preprocess=False: ui_encode reads the uploaded file itself (checks.uploaded): Gradio would
    # decode every layer a drawing's value lists before any check.
    p.encode.click(toasted(ui_encode), [p.sketch, p.model], encoded, preprocess=False,
                   **PRIVATE).then(**main_view.redraw(p))
    p.upload.upload(toasted(ui_encode), [p.upload, p.model], encoded, preprocess=False,
                    **PRIVATE).then(**main_view.redraw(p))
    p.there.click(toasted(go_to_drawing), [p.drawing, p.model], p.nav, **PRIVATE)


def ui_encode(image, model):
    """Encode a drawing or upload (the value the browser sent, see checks.uploaded): its 28x28
    input, reconstruction, mu/sigma and map state."""
    lm = STORE.get(model)
    x = prepared(uploaded(image))
    mu, sigma = api.encoded(lm, x)
    recon = decode_uint8(lm.model, [mu])[0]
    pair = images.tile(np.stack([(x * 255).round().astype(np.uint8), recon]), 2, scale=5, gap=4)
    text = f"mu = ({mu[0]:+.2f}, {mu[1]:+.2f})   sigma = ({sigma[0]:.2f}, {sigma[1]:.2f})"
    return pair, text, {"mu": mu, "sigma": sigma}


def go_to_drawing(drawing, model):
    if not drawing:
        raise Refused("nothing encoded yet: draw or upload a digit, then encode it")
    return go_to(*drawing["mu"], model)
