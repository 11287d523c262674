"""The Models tab: switch the page's model (every part of the page follows: ranges, class names,
header, overlays) and compare the MNIST models at the current z; its layout, wiring and handlers.

Above the other tabs (a switch updates their components); assembled by demo.py. Tested in
tests/test_demo_handlers.py and in Chromium by tests/test_page_ux.py.
"""

import gradio as gr

import api
import images
import main_view
import maps
import tab_edit
import tab_sample
import ui
from checks import clamp
from neural_network import decode_uint8
from store import STORE
from ui import PRIVATE, by_name, toasted


def layout(p, lm):
    with gr.Tab("Models"):
        with gr.Row():
            p.model = gr.Dropdown(STORE.names(), value=lm.name, label="model", elem_id="lsn-model")
            p.info = gr.Markdown(model_info(lm.name))
        p.compare = gr.Button("compare the course's models at this z (AE, beta 1, 3, 10)")
        p.compared, p.compared_grids = (
            gr.Gallery(label=label, columns=len(COURSE), height="auto", object_fit="contain",
                       elem_id=f"lsn-{key}")
            for key, label in [("compared", "the same z, decoded by each model of this latent size "
                                            "(trained apart, their axes are unrelated)"),
                               ("compared-grids", "each model's decoded manifold")])


# The course's models (its second part: an AE and VAEs with beta 1, 3 and 10), compared by beta.
COURSE = ("mnist_ae", "mnist_vae_beta1", "mnist_vae_beta3", "mnist_vae_beta10")
THUMB = 8  # the comparison's digits: 224 px, readable at a gallery cell's width


def switched(p):
    """{name in ui_model's answer: the component it updates}."""
    return {"random": p.random, "prior": p.presets[0], "sample_note": p.sample_note,
            "sample_xy": p.sample_xy, "sample_dims": p.sample_dims,
            "plane_by": p.plane_by, "plane_classes": p.plane_classes,
            "nav": p.nav, "info": p.info, "header": p.header,
            "target": p.target, "start": p.start, "end": p.end,
            **{f"jump_{i}": b for i, b in enumerate(p.jumps)},
            "path": p.path, "samples": p.samples, "drawing": p.drawing,
            "strip": p.strip, "files": p.files, "caption": p.caption,
            "compared": p.compared, "compared_grids": p.compared_grids,
            **{f"edit_{a}": c for a, c in p.edit_labels.items()}}


def wire(p):
    outputs = switched(p)
    p.model.change(toasted(by_name(ui_model, outputs)), [p.model, p.nav], list(outputs.values()),
                   **PRIVATE).then(**main_view.redraw(p))
    p.compare.click(toasted(ui_compare), [p.nav, p.model], [p.compared, p.compared_grids], **PRIVATE)


def model_info(name):
    """The tab's table of one model's metadata (Markdown)."""
    m = api.model_card(name)
    rows = [("dataset", m["dataset"]), ("kind", m["kind"]), ("latent dim", m["latent_dim"]),
            ("beta", m["beta"]), ("epochs", m["epochs_run"]), ("parameters", f"{m['parameters']:,}"),
            *((f"test {k}", f"{v:.4g}") for k, v in m["test"].items())]
    return f"| model | {name} |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def ui_model(name, at=None):
    """Switch model: the navigator's model and extent (the page loads its decoder, clamps the
    position to the new extent and stops a path it was playing), class names, info; what belonged
    to the old model cleared (overlays, the interpolation strip and its downloads, the comparison).
    Returns {name: value}, keyed by what each value is for (switched() maps each name onto its
    component): the update touches 35 components, 10 of them class buttons. The position `at` is
    kept (clamped by the page) unless the new model's latent has another size: then z starts at
    0 (a VAE's prior mean)."""
    lm = STORE.get(name)
    z = at.get("z") if isinstance(at, dict) else at
    kept = not isinstance(z, list) or len(z) == lm.dim
    first, last = lm.classes[0], lm.classes[-1]
    return {"random": gr.Button(visible=lm.has_prior), "prior": gr.Button(visible=lm.has_prior),
            "sample_note": tab_sample.sample_note(lm), "sample_xy": gr.Row(visible=lm.dim == 2),
            "sample_dims": gr.Dataframe(tab_sample.dims_table(lm), visible=lm.dim > 2),
            "plane_by": None, "plane_classes": gr.Textbox(value="", visible=lm.dim > 2),
            "nav": ui.navigator(lm, None if kept else ui.go_to([0.0] * lm.dim, lm.name)),
            "info": model_info(name), "header": main_view.header(name),
            "target": gr.Dropdown(choices=lm.classes, value=first),
            "start": gr.Dropdown(choices=lm.classes, value=first),
            "end": gr.Dropdown(choices=lm.classes, value=last),
            **{f"jump_{i}": gr.Button(value=c) for i, c in enumerate(lm.classes)},
            "path": None, "samples": None, "drawing": None, "compared": None, "compared_grids": None,
            "strip": None, "files": None, "caption": "",
            **tab_edit.labels(lm)}


def ui_compare(at, model):
    """The navigator's z decoded by each of the course's models that is shipped (for a latent of
    another size than 2, by each shipped model of that size: a z means nothing to the others),
    and each one's decoded manifold, ordered by beta (the AE's is 0), each captioned with its
    name and beta."""
    z = ui.at(at, model)
    dim = STORE.get(model).dim
    shipped = ([n for n in COURSE if n in STORE.names()] if dim == 2 else
               [m["name"] for m in api.models() if m.get("latent_dim") == dim])  # a broken one left out
    cards = sorted((STORE.get(n) for n in shipped), key=lambda lm: lm.meta.get("beta") or 0.0)
    caption = {lm.name: f"{lm.name} (beta {lm.meta.get('beta') or 0:g})" for lm in cards}
    digits = [(images.enlarge(decode_uint8(lm.model, [clamp(lm, z)])[0], THUMB), caption[lm.name])
              for lm in cards]
    return digits, [(maps.manifold(lm.name), caption[lm.name]) for lm in cards]
