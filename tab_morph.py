"""The Morph tab: move a fraction of the way toward a class centre, animated on the page; its
layout, its wiring and its handler.

Above main_view.py (its play and position components); assembled by demo.py. Tested in
tests/test_demo_handlers.py and in Chromium by tests/test_demo_browser.py.
"""

import gradio as gr
import numpy as np

import api
import main_view
from ui import PRIVATE, toasted


def layout(p, lm):
    with gr.Tab("Morph"):
        with gr.Row():
            p.target = gr.Dropdown(lm.classes, value=lm.classes[0], label="morph toward")
            p.amount = gr.Slider(0, 1, 0.25, step=0.05, label="amount per click")
            p.animate = gr.Checkbox(label="animate", value=True)
            p.morph = gr.Button("morph", variant="primary", elem_id="lsn-morph")


def wire(p):
    p.morph.click(toasted(ui_morph, None), [p.x, p.y, p.target, p.amount, p.animate, p.model],
                  p.anim, show_progress="hidden", **PRIVATE).then(**main_view.play(p))


def ui_morph(x, y, target, amount, animate, model):
    """One click moves `amount` of the way toward a class centre: the positions for the page to
    play through its own decoder, 16 with animate (the first after the start), else the end."""
    x1, y1 = api.morph(x, y, target, amount, model)
    steps = np.linspace(0, 1, 16)[1:] if animate else [1.0]
    return [[round(x + t * (x1 - x), 4), round(y + t * (y1 - y), 4)] for t in steps]
