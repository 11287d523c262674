"""The Edit tab: make the digit at z bolder, more slanted, wider..., one click at a time. Each
attribute is measured on the decoded digit as Morpho-MNIST does (morphometry.py); a click moves
z along the attribute's local direction (directions.py), animated on the page like a morph. Each
row shows how often the model's checked edits did what they say (the model card's figures) and
marks an attribute that misses the bar unreliable for that model. Its layout, wiring and handler.

Also where z settles, the digit's measured attributes and the map's arrows (ui_local, shown by
the navigator), and the map's heat map of an attribute. Above main_view.py (the navigator, whose
value it takes and returns); assembled by demo.py. Tested
in tests/test_demo_handlers.py and in Chromium by tests/test_page_ux.py.
"""

import functools

import gradio as gr
import numpy as np

import api
import checks
import directions as dirs
import main_view
import maps
import morphometry as mm
import ui
from store import STORE
from ui import PRIVATE, toasted

INTRO = """\
Each attribute is **measured on the decoded digit** (area, stroke length and thickness, slant,
width, height; Castro et al. 2019, Morpho-MNIST). A click moves z so that the attribute changes
by about the amount, following its direction *where z is* (the gradient of the measurement), in
3 small moves. Beside each: of 400 checked edits from 200 starting points, how many went the
right way and how many kept the digit's class. The map's arrows show one + click from z, dashed
where the edit is unreliable for the model."""


def label(lm, attribute):
    """An attribute's row label (Markdown): its name, unit and the model's checked figures."""
    t = lm.atlas.get("directions", {}).get("table", {}).get(attribute)
    head = f"**{attribute}**, amount in {mm.ATTRIBUTES[attribute]}"
    if t is None:
        return f"{head}: not checked for {lm.name}"
    verdict = "reliable" if t["reliable"] else "**unreliable** for this model"
    return (f"{head}: {t['right_way']:.0%} right way, {t['kept_class']:.0%} kept class, "
            f"{verdict}")


def labels(lm):
    """{name in tab_models.ui_model's answer: an attribute's label} for model lm."""
    return {f"edit_{a}": label(lm, a) for a in dirs.ATTRIBUTES}


def layout(p, lm):
    p.edit_labels, p.edit_amounts, p.edit_buttons = {}, {}, []
    with gr.Tab("Edit"):
        gr.Markdown(INTRO)
        for a in dirs.ATTRIBUTES:
            with gr.Row(equal_height=True, elem_classes="lsn-edit-row"):
                with gr.Column(scale=5):
                    p.edit_labels[a] = gr.Markdown(label(lm, a), elem_id=f"lsn-edit-label-{a}")
                p.edit_amounts[a] = gr.Number(dirs.AMOUNTS[a], label=f"amount, {mm.ATTRIBUTES[a]}",
                                              show_label=False, container=False, scale=1,
                                              minimum=0, maximum=dirs.MAX_AMOUNT * dirs.AMOUNTS[a],
                                              min_width=70, elem_id=f"lsn-edit-amount-{a}")
                for sign, text in ((-1, "−"), (1, "+")):
                    p.edit_buttons.append((a, sign, gr.Button(text, size="sm", min_width=48, scale=0,
                                                              elem_id=f"lsn-edit-{a}-{text}")))
        with gr.Row(equal_height=True):
            p.edit_animate = gr.Checkbox(label="animate", value=True, elem_id="lsn-edit-animate")
            p.arrows = gr.Checkbox(label="arrows on the map", value=True, elem_id="lsn-arrows-on")
            p.heat = gr.Dropdown([maps.NO_HEAT, *dirs.ATTRIBUTES], value=maps.NO_HEAT,
                                 label="colour the map by the decoded digits'", elem_id="lsn-heat")


def wire(p):
    p.heat.change(**main_view.redraw(p))
    # where z settles, and once a model's first digit is drawn (the navigator's "loaded"): its
    # digit's measured attributes and the attributes' arrows (web/map.js)
    for event in (p.nav.loaded, p.nav.change, p.arrows.change):
        event(toasted(ui_local), [p.nav, p.arrows, p.model], p.nav, show_progress="hidden",
              trigger_mode="always_last", **PRIVATE)
    for a, sign, button in p.edit_buttons:
        # preprocess=False: the amount as sent (None while the box holds "-"), refused by name
        button.click(toasted(functools.partial(ui_edit, a, sign)),
                     [p.nav, p.edit_amounts[a], p.edit_animate, p.model], p.nav,
                     preprocess=False, show_progress="hidden", **PRIVATE)


def ui_edit(attribute, sign, at, amount, animate, model):
    """One click: z moved so that `attribute` changes by sign * amount (api.edit_path), the
    navigator's value at its end and, with animate, 16 positions along its way for the page to
    play through its own decoder (the first where z was)."""
    lm = STORE.get(model)
    amount = checks.amount(amount, attribute)
    path = np.array(api.edit_path(lm, list(ui.at(at, model)), attribute, sign * amount))
    end = ui.go_to(path[-1], model)
    if not animate:
        return end
    # the polyline of the edit's moves, at 16 points evenly spaced along its length
    length = np.r_[0, np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))]
    if length[-1] == 0:
        return end
    t = np.linspace(0, length[-1], 16)
    return {"z": end, "path": [[round(float(np.interp(s, length, path[:, i])), 4)
                                for i in range(path.shape[1])] for s in t]}


def ui_local(at, arrows, model):
    """The navigator's `local` prop for its value: the decoded digit's measured attributes and,
    with arrows, one + click's move of each attribute from there (directions.local_moves), with
    whether the model's checks found it reliable."""
    lm = STORE.get(model)
    z = ui.at(at, model)
    moves, measured = dirs.local_moves(lm.model, z, dirs.spread(lm.atlas))
    table = lm.atlas.get("directions", {}).get("table", {})
    return gr.HTML(local={
        "at": ui.go_to(z, model), "model": lm.name,
        "measured": [[a, None if v != v else round(v, 2), mm.ATTRIBUTES[a]]  # NaN: a blank decode
                     for a, v in measured.items()],
        "arrows": [[a, [round(float(d), 4) for d in moves[a]], table.get(a, {}).get("reliable")]
                   for a in dirs.ATTRIBUTES] if arrows else []})
