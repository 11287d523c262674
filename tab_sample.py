"""The Sample tab: n codes z = mu + sigma * eps drawn and decoded, with their z as a table and a
bar chart, and marked on the map; its layout, its wiring and its handlers. A 2-D model's mu and
sigma are four sliders; a larger latent's, a table with a row (mu, sigma) per dimension.

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
from checks import MAX_SAMPLES, MAX_SEED, Refused, integer, number, parsed
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
        p.sample_dims = gr.Dataframe(dims_table(lm), headers=DIMS_HEADERS, label="mu and sigma per dimension",
                                     datatype=["str", "number", "number"], static_columns=[0],
                                     visible=lm.dim > 2, max_height=320, elem_id="lsn-sample-dims")
        with gr.Row(visible=lm.dim == 2) as p.sample_xy:
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
    inputs = [p.mu_x, p.mu_y, p.sigma_x, p.sigma_y, p.n, p.sample_seed, p.model, p.sample_dims]
    boxes = [*inputs[:6], p.sample_dims]
    # preprocess=False: ui_sample reads each box's value as the browser sent it (None while a box
    # holds "-" or nothing), which Gradio's own check would refuse with a traceback in the log.
    draw = dict(fn=toasted(ui_sample), inputs=inputs, preprocess=False,
                outputs=[p.sample_grid, p.sample_table, p.samples, p.sample_bars, *boxes], **PRIVATE)
    # The tab opens with samples drawn, not an empty grid; they are marked on the map only
    # once the person samples (so its first opening costs the page load nothing)
    p.sample_tab.select(**{**draw, "outputs": [p.sample_grid, p.sample_table, p.unmarked,
                                               p.sample_bars, *boxes]})
    # .change: a drag, a typed value (as it is typed, not when the box loses focus) or a
    # preset; always_last: a burst of them draws once more at its end, not once per event. The
    # per-dimension table: .input (a person's edit), since a model switch rewrites it too (a
    # preset's new table draws through the seed's change: every preset moves the seed on)
    gr.on([*(c.change for c in boxes[:6]), p.sample_dims.input], trigger_mode="always_last",
          **draw).then(**main_view.redraw(p))
    for b in p.presets:
        b.click(toasted(functools.partial(sample_preset, b.value)),
                [*inputs[:4], p.sample_seed, p.sample_dims, p.model],
                [*inputs[:4], p.sample_seed, p.sample_dims], preprocess=False, **PRIVATE)


DIMS_HEADERS = ["dimension", "mu", "sigma"]


def dims_table(lm, mu=None, sigma=None):
    """The per-dimension table's rows for model lm: [z_i, mu_i, sigma_i] (the prior's N(0, I)
    unless given); a 2-D model's is empty (its sliders serve)."""
    if lm.dim == 2:
        return [["z1", 0.0, 1.0]]
    mu = [0.0] * lm.dim if mu is None else mu
    sigma = [1.0] * lm.dim if sigma is None else sigma
    return [[f"z{i + 1}", round(float(m), 3), round(float(s), 3)] for i, (m, s) in enumerate(zip(mu, sigma))]


def read_dims(lm, table):
    """(mu, sigma) per dimension from the table's value as the browser sent it (preprocess off:
    {"data": rows, ...}), each clamped to api.sample's range with a toast naming the clamp ->
    (mu, sigma, clamped?)."""
    rows = table.get("data") if isinstance(table, dict) else table
    if not isinstance(rows, list) or len(rows) != lm.dim or not all(isinstance(r, list) and len(r) == 3 for r in rows):
        raise Refused(f"the table must hold a row (mu, sigma) for each of the {lm.dim} dimensions")
    columns, clamped = [], False
    for j, (name, lo, hi) in enumerate([("mu", -3, 3), ("sigma", 0, 2)], start=1):
        values = []
        for i, row in enumerate(rows):
            v = row[j]
            v = number(parsed(v, f"{name} of z{i + 1}") if isinstance(v, str) else v, f"{name} of z{i + 1}")
            if not lo <= v <= hi:
                gr.Warning(f"{name} of z{i + 1} = {v:g} is outside {lo:g}..{hi:g}: set to {min(max(v, lo), hi):g}")
                v, clamped = min(max(v, lo), hi), True
            values.append(v)
        columns.append(values)
    return columns[0], columns[1], clamped


def sample_note(lm):
    """The tab's line: what its samples are, for this model's kind."""
    if lm.has_prior:
        return ("z = mu + sigma * eps, eps ~ N(0, I): with mu = 0 and sigma = 1 these are draws "
                "from the model's prior; the map marks them with x.")
    return ("This model is an autoencoder: it has no prior, so these are only points scattered "
            "around mu (its codes lie far wider than N(0, I); see the map), not draws from "
            "the model.")


def ui_sample(mu_x, mu_y, sigma_x, sigma_y, n, seed, model, dims=None):
    """The decoded samples' grid, their z (a table and a bar chart), the map state, and the
    boxes (then the per-dimension table). A box still being typed into (empty, or "-") waits
    without a word; a value outside its range is clamped to it with a toast naming the clamp,
    and its box shows the clamp. A latent larger than 2 takes mu and sigma from the table."""
    lm = STORE.get(model)
    given = [mu_x, mu_y, sigma_x, sigma_y, n, seed]
    if lm.dim > 2:
        return sample_dims(lm, dims, *given[4:])
    if any(v is None or v == "" for v in given):
        return (gr.skip(),) * (5 + len(given))
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
    return (grid, table(z), z, sample_bars(z, kept[:2]), *boxes, gr.skip())


def sample_dims(lm, dims, n, seed):
    """ui_sample for a latent larger than 2: mu and sigma from the per-dimension table."""
    if n is None or n == "" or seed is None or seed == "":
        return (gr.skip(),) * 11
    mu, sigma, clamped = read_dims(lm, dims)
    n, seed = integer(n, "n", 1, MAX_SAMPLES), integer(seed, "seed", 0, MAX_SEED)
    z = api.sample(n=n, seed=seed, model=lm.name, mu=mu, sigma=sigma)
    grid = images.tile(decode_uint8(lm.model, z), math.ceil(math.sqrt(len(z))), scale=2 if len(z) <= 64 else 1)
    return (grid, table(z), z, sample_bars(z, mu), *(gr.skip(),) * 6,
            dims_table(lm, mu, sigma) if clamped else gr.skip())


def table(z):
    """The samples' z as the table shows them: a column per dimension."""
    z = np.asarray(z)
    names = ["x", "y"] if z.shape[1] == 2 else [f"z{i + 1}" for i in range(z.shape[1])]
    return gr.Dataframe(z.round(3).tolist(), headers=names)


def sample_bars(z, mu):
    """A bar chart of each sample's z: its dimensions side by side per sample, mu as dashed lines
    for a 2-D model (the latent vector as a bar chart, as latent-space explorers show it)."""
    z = np.asarray(z)
    index = np.arange(1, len(z) + 1)
    fig = go.Figure([go.Bar(x=index, y=z[:, i], name=f"z{i + 1}", marker_color=qualitative.D3[i % 10])
                     for i in range(z.shape[1])])
    for i, m in enumerate(mu if z.shape[1] == 2 else ()):
        fig.add_hline(y=m, line=dict(color=qualitative.D3[i], dash="dash", width=1),
                      annotation_text=f"mu_{'xy'[i]}", annotation_position="right")
    fig.update_layout(barmode="group", height=260, margin=dict(l=40, r=40, t=10, b=30),
                      xaxis=dict(title="sample", dtick=1 if len(z) <= 32 else None),
                      yaxis=dict(title="z"), legend=dict(orientation="h", y=1.12),
                      plot_bgcolor="white")
    return fig


def sample_preset(button, mu_x, mu_y, sigma_x, sigma_y, seed, dims=None, model=None):
    """A preset button's new (mu_x, mu_y, sigma_x, sigma_y, seed, per-dimension table): the prior
    N(0, I) (mu 0, sigma 1), the same distribution again, or a random mu; each draws afresh (the
    next seed). A latent larger than 2 changes the table (its rows as the model's size), a 2-D
    one the sliders."""
    seed, lm = integer(seed, "seed", 0, MAX_SEED), STORE.get(model)
    if lm.dim > 2:
        mu, sigma, _ = read_dims(lm, dims)
        if button == PRESETS[0]:
            mu, sigma = [0.0] * lm.dim, [1.0] * lm.dim
        elif button == PRESETS[2]:
            mu = np.random.default_rng(seed).uniform(-3, 3, lm.dim).round(2).tolist()
        return gr.skip(), gr.skip(), gr.skip(), gr.skip(), seed + 1, dims_table(lm, mu, sigma)
    if button == PRESETS[0]:
        return 0, 0, 1, 1, seed + 1, gr.skip()
    if button == PRESETS[2]:
        mu_x, mu_y = np.random.default_rng(seed).uniform(-3, 3, 2).round(2).tolist()
    return mu_x, mu_y, sigma_x, sigma_y, seed + 1, gr.skip()
