"""The Morph tab: move a fraction of the way toward a class centre, animated on the page; its
layout, its wiring and its handler.

Above main_view.py (the navigator, whose value it takes and returns); assembled by demo.py. Tested in
tests/test_demo_handlers.py and in Chromium by tests/test_demo_browser.py.
"""

import gradio as gr
import numpy as np

import api
import ui
from ui import PRIVATE, toasted


def layout(p, lm):
    with gr.Tab("Morph"):
        with gr.Row():
            p.target = gr.Dropdown(lm.classes, value=lm.classes[0], label="morph toward")
            p.amount = gr.Slider(0, 1, 0.25, step=0.05, label="amount per click")
            p.animate = gr.Checkbox(label="animate", value=True)
            p.morph = gr.Button("morph", variant="primary", elem_id="lsn-morph")


def wire(p):
    # preprocess=False: the amount box's value as sent (None while it holds "-"), which
    # api.morph refuses by name where Gradio's own check logged a traceback
    p.morph.click(toasted(ui_morph), [p.nav, p.target, p.amount, p.animate, p.model], p.nav,
                  preprocess=False, show_progress="hidden", **PRIVATE)


def ui_morph(at, target, amount, animate, model):
    """One click moves `amount` of the way toward a class centre from the navigator's position:
    the navigator's value, its end and, with animate, the 16 positions for the page to play
    through its own decoder on the way there (the first where z was, so the trail starts there)."""
    z = np.array(ui.at(at, model))
    z1 = np.array(api.morph(z=z.tolist(), digit=target, amount=amount, model=model))
    end = ui.go_to(z1.tolist(), model)
    if not animate:
        return end
    return {"z": end, "path": [[round(float(v), 4) for v in z + t * (z1 - z)] for t in np.linspace(0, 1, 16)]}
