"""The Sample tab: n codes z = mu + sigma * eps drawn and decoded, with their z as a table and a
bar chart, and marked on the map; its layout, its wiring and its handlers.

Above main_view.py; assembled by demo.py. Tested in tests/test_demo_handlers.py and in Chromium
by tests/test_page_ux.py.
"""

import functools
import math

import gradio as gr
import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

import api
import images
import main_view
from checks import MAX_SAMPLES, MAX_SEED, integer, number
from neural_network import decode_uint8
from store import STORE
from ui import PRIVATE, toasted

PRESETS = ["prior N(0, I)", "resample", "randomize mu"]
# the boxes' (name, lo, hi, whole number?), as api.sample checks them
BOXES = [("mu_x", -3, 3, False), ("mu_y", -3, 3, False), ("sigma_x", 0, 2, False),
         ("sigma_y", 0, 2, False), ("n", 1, MAX_SAMPLES, True), ("seed", 0, MAX_SEED, True)]


def layout(p, lm):
    with gr.Tab("Sample") as p.sample_tab:
        p.sample_note = gr.Markdown(sample_note(lm), elem_id="lsn-sample-note")
        with gr.Row():
            p.mu_x, p.mu_y = (gr.Slider(-3, 3, 0, step=0.01, label=f"mu_{a}") for a in "xy")
            p.sigma_x, p.sigma_y = (gr.Slider(0, 2, 1, step=0.01, label=f"sigma_{a} (0: deterministic)",
                                              elem_id=f"lsn-sigma-{a}") for a in "xy")
        with gr.Row():
            p.n = gr.Slider(1, MAX_SAMPLES, 16, step=1, label="n samples")
            p.sample_seed = gr.Number(0, label="seed", precision=0, minimum=0)
            with gr.Row(elem_id="lsn-sample-presets"):
                p.presets = [gr.Button(b, visible=b != PRESETS[0] or lm.has_prior) for b in PRESETS]
        with gr.Row():
            p.sample_grid = gr.Image(format="png", type="pil", show_label=False, interactive=False,
                                     elem_id="lsn-samples")
            p.sample_bars = gr.Plot(show_label=False, elem_id="lsn-sample-bars")
            p.sample_table = gr.Dataframe(headers=["x", "y"], label="z", max_height=300)


def wire(p):
    inputs = [p.mu_x, p.mu_y, p.sigma_x, p.sigma_y, p.n, p.sample_seed, p.model]
    # preprocess=False: ui_sample reads each box's value as the browser sent it (None while a box
    # holds "-" or nothing), which Gradio's own check would refuse with a traceback in the log.
    draw = dict(fn=toasted(ui_sample), inputs=inputs, preprocess=False,
                outputs=[p.sample_grid, p.sample_table, p.samples, p.sample_bars, *inputs[:6]],
                **PRIVATE)
    # The tab opens with samples drawn, not an empty grid; they are marked on the map only
    # once the person samples (so its first opening costs the page load nothing)
    p.sample_tab.select(**{**draw, "outputs": [p.sample_grid, p.sample_table, p.unmarked,
                                               p.sample_bars, *inputs[:6]]})
    # .change: a drag, a typed value (as it is typed, not when the box loses focus) or a
    # preset; always_last: a burst of them draws once more at its end, not once per event
    gr.on([c.change for c in inputs[:6]], trigger_mode="always_last",
          **draw).then(**main_view.redraw(p))
    for b in p.presets:
        b.click(toasted(functools.partial(sample_preset, b.value)), inputs[:4] + [p.sample_seed],
                inputs[:4] + [p.sample_seed], **PRIVATE)


def sample_note(lm):
    """The tab's line: what its samples are, for this model's kind."""
    if lm.has_prior:
        return ("z = mu + sigma * eps, eps ~ N(0, I): with mu = 0 and sigma = 1 these are draws "
                "from the model's prior; the map marks them with x.")
    return ("This model is an autoencoder: it has no prior, so these are only points scattered "
            "around mu (its codes lie far wider than N(0, I); see the map), not draws from "
            "the model.")


def ui_sample(*values):
    """The decoded samples' grid, their z (a table and a bar chart), the map state, and the
    boxes. A box still being typed into (empty, or "-") waits without a word; a value outside its
    range is clamped to it with a toast naming the clamp, and its box shows the clamp."""
    *given, model = values
    if any(v is None or v == "" for v in given):
        return (gr.skip(),) * (4 + len(given))
    kept = []
    for (name, lo, hi, whole), v in zip(BOXES, given):
        v = number(v, name)
        c = min(max(round(v) if whole else v, lo), hi)
        if c != v:
            gr.Warning(f"{name} = {v:g} is outside {lo:g}..{hi:g}" + (" or not whole" if whole else "")
                       + f": set to {c:g}")
        kept.append(c)
    z = api.sample(*kept, model)
    frames = decode_uint8(STORE.get(model).model, z)
    grid = images.tile(frames, math.ceil(math.sqrt(len(z))), scale=2 if len(z) <= 64 else 1)
    boxes = [c if c != v else gr.skip() for c, v in zip(kept, given)]
    return (grid, [[round(a, 3), round(b, 3)] for a, b in z], z, sample_bars(z, kept[:2]), *boxes)


def sample_bars(z, mu):
    """A bar chart of each sample's z: z1 and z2 side by side per sample, mu as dashed lines (the
    latent vector as a bar chart, as latent-space explorers show it)."""
    z = np.asarray(z)
    index = np.arange(1, len(z) + 1)
    fig = go.Figure([go.Bar(x=index, y=z[:, i], name=f"z{i + 1}", marker_color=qualitative.D3[i])
                     for i in range(2)])
    for i, m in enumerate(mu):
        fig.add_hline(y=m, line=dict(color=qualitative.D3[i], dash="dash", width=1),
                      annotation_text=f"mu_{'xy'[i]}", annotation_position="right")
    fig.update_layout(barmode="group", height=260, margin=dict(l=40, r=40, t=10, b=30),
                      xaxis=dict(title="sample", dtick=1 if len(z) <= 32 else None),
                      yaxis=dict(title="z"), legend=dict(orientation="h", y=1.12),
                      plot_bgcolor="white")
    return fig


def sample_preset(button, mu_x, mu_y, sigma_x, sigma_y, seed):
    """A preset button's new (mu_x, mu_y, sigma_x, sigma_y, seed): the prior N(0, I) (mu 0,
    sigma 1), the same distribution again, or a random mu; each draws afresh (the next seed)."""
    seed = integer(seed, "seed", 0, MAX_SEED)
    if button == PRESETS[0]:
        return 0, 0, 1, 1, seed + 1
    if button == PRESETS[2]:
        mu_x, mu_y = np.random.default_rng(seed).uniform(-3, 3, 2).round(2).tolist()
    return mu_x, mu_y, sigma_x, sigma_y, seed + 1
