"""The Interpolate tab: the decoded path between two class centres, linear and spherical, as a
strip on the page, a PNG (images.labelled_strip, as interpolation.py writes its strip) and a GIF
to download, the path drawn on the map and played on the digit; its layout, wiring and handlers.

Above main_view.py; assembled by demo.py. Tested in tests/test_demo_handlers.py and in Chromium
by tests/test_demo_browser.py and tests/test_page_ux.py (the downloads).
"""

import re

import gradio as gr
import numpy as np
from PIL import Image

import api
import images
import main_view
import ui
from checks import MAX_STEPS, Refused, class_index
from neural_network import decode_uint8
from store import STORE, fresh_dir
from ui import PRIVATE, toasted

EXPORT_SCALE, GIF_SCALE = 4, 8  # the downloads: 112 px a frame in the PNG, 224 in the GIF
COLS = 16  # frames a row, on the page and in the PNG


def layout(p, lm):
    with gr.Tab("Interpolate"):
        with gr.Row():
            p.start = gr.Dropdown(lm.classes, value=lm.classes[0], label="start")
            p.end = gr.Dropdown(lm.classes, value=lm.classes[-1], label="end")
            p.steps = gr.Slider(2, MAX_STEPS, 10, step=1, label="steps", elem_id="lsn-steps")
            p.method = gr.Radio(["linear", "spherical", "both"], value="both", label="method")
            with gr.Column(min_width=120):
                p.interpolate = gr.Button("interpolate", variant="primary")
                p.play = gr.Button("play on the digit", elem_id="lsn-play")
        p.caption = gr.Markdown()
        p.strip = gr.Image(format="png", type="pil", show_label=False, interactive=False,
                           elem_id="lsn-strip")
        p.files = gr.File(label="strip (PNG) and animation (GIF)", file_count="multiple",
                          elem_id="lsn-files")


def wire(p):
    # preprocess=False: the steps box's value as sent (see tab_morph.wire)
    p.interpolate.click(toasted(ui_interpolate), [p.start, p.end, p.steps, p.method, p.model],
                        [p.strip, p.files, p.path, p.caption], preprocess=False,
                        **PRIVATE).then(**main_view.redraw(p))
    p.play.click(toasted(ui_play), [p.path, p.model], p.nav, show_progress="hidden", **PRIVATE)


def ui_play(paths, model):
    """The play button: the navigator's value with the path just drawn (the linear one when both
    were) for the page to play through its own decoder, ending at its last position."""
    if not paths:
        raise Refused("nothing to play yet: press interpolate first")
    path = paths.get("linear") or next(iter(paths.values()))
    return {"z": ui.go_to(path[-1], model), "path": path}


def ui_interpolate(a, b, steps, method, model):
    """Strip(s) of frames, their PNG (export_png) and GIF (the methods side by side, 224 px a
    frame), the path(s) to draw on the map, and the caption naming the strip's rows. A repeated
    request is answered from STORE.strip (writing the GIF is most of the cost: 19 of 27 ms)."""
    lm = STORE.get(model)
    methods = ["linear", "spherical"] if method == "both" else [method]
    paths = {m: api.interpolate(a, b, steps, m, model) for m in methods}  # every check is here
    key = (lm.name, method, class_index(lm, a), class_index(lm, b), int(steps))
    name = "_".join([lm.name, f"{lm.classes[key[2]]}-to-{lm.classes[key[3]]}", method, f"{key[4]}-steps"])
    return STORE.strip(key, lambda: interpolation_files(lm, methods, paths, file_name(name)))


def file_name(text):
    """A download's file name from what it shows: letters, digits, '-' and '_' only
    (Fashion-MNIST's 'T-shirt/top' has a slash)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text)


def export_png(blocks, cols, scale=EXPORT_SCALE):
    """The interpolation PNG: each method's frames (uint8 [N, 28, 28]) in rows of `cols`, each row
    an images.labelled_strip naming every frame by its method and step, on white."""
    rows = [images.labelled_strip(frames[i:i + cols],
                                  [f"{name} {j + 1}" for j in range(i, min(i + cols, len(frames)))],
                                  scale)
            for name, frames in blocks for i in range(0, len(frames), cols)]
    out = Image.new("L", (max(r.width for r in rows), sum(r.height for r in rows)), 255)
    top = 0
    for r in rows:
        out.paste(r, (0, top))
        top += r.height
    return out


def interpolation_files(lm, methods, paths, name):
    """ui_interpolate's answer, made: the strip, its PNG and GIF files (NAME.png, NAME.gif),
    paths, caption."""
    frames = [decode_uint8(lm.model, p) for p in paths.values()]  # one [steps, 28, 28] per method
    cols = min(len(frames[0]), COLS)
    # each method's frames padded with black cells to whole rows, so each starts a row
    strip = images.tile(np.concatenate([np.pad(f, ((0, -len(f) % cols), (0, 0), (0, 0)))
                                        for f in frames]), cols)
    png = fresh_dir() / f"{name}.png"
    gif = png.with_suffix(".gif")
    export_png(list(zip(methods, frames)), cols).save(png)
    # each frame: the methods side by side, each named underneath
    images.save_gif(np.stack([np.asarray(images.labelled_strip(np.stack(step), methods, GIF_SCALE))
                              for step in zip(*frames)]), gif, scale=1)
    rows = -(-len(frames[0]) // cols)
    caption = " / ".join(f"{m} (row {i * rows + 1})" if rows == 1 else
                         f"{m} (rows {i * rows + 1}-{(i + 1) * rows})" for i, m in enumerate(methods))
    if "spherical" in methods and not lm.has_prior:
        caption += (" (an autoencoder has no N(0, I) prior: its spherical path turns about the "
                    "mean of its codes, not the origin)")
    if len(methods) > 1:
        caption += (" (the PNG names each frame's method and step; the GIF plays them side by "
                    "side, each named underneath)")
    return strip, [str(png), str(gif)], paths, caption
