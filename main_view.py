"""The page's main view, above the tabs: the header, the map, the digit with its z text, the
position's X/Y controls, the class buttons and the random button; its layout, its wiring and
its handlers (the address restored on load, a class button, the random button). The digit,
the marker and every move are drawn in the browser (web/navigator.js, loaded here).

    p = types.SimpleNamespace()
    main_view.layout(p, lm)     # inside gr.Blocks: adds its components to p
    main_view.wire(p)           # once every tab's layout is built (it reads p.model)

Above ui.py and maps.py; demo.py assembles it with the tab_*.py modules. Tested in
tests/test_demo_handlers.py and in Chromium by tests/test_demo_browser.py and test_page_ux.py.
"""

import functools
from pathlib import Path

import gradio as gr

import api
import maps
from checks import MAX_SEED, clamp_xy, integer, parsed
from ui import PRIVATE, go_to, toasted
from store import STORE

WEB = Path(__file__).resolve().with_name("web")  # the page's own CSS and JS, read at build time
SCRIPTS = ("decoder.js", "navigator.js")  # the page's JS, in this order (the decoder first)

MAP_NOTE = """\
* **A point** is one test image's code: the mean mu of what the encoder says about it (a plain
  autoencoder's code is that point exactly). Its colour is the image's true class.
* **A class can form two clusters**: the model was never told the classes, so two common ways
  of writing the same digit can land apart (the 6s of mnist_vae_beta4 form two clusters), and
  its labelled centre (the mean of its codes) then sits in one of them or between them.
* **beta** weighs the pull of every code toward N(0, I): a larger beta packs the codes closer to
  the origin and makes the map smoother (nearby points decode alike), at the price of blurrier
  digits; beta 1 keeps sharper digits with gaps between the classes; an AE has no such pull.
* **z1, z2** are the two latent coordinates; the digit beside the map is the decoder's output
  at the current z (the yellow marker)."""


def header(name):
    """The page's header (Markdown): the title, what the map is and what to do, and the model in
    use (tab_models.ui_model rewrites it on a switch)."""
    return (f"## Latent Space Navigator\n"
            f"Each dot is one test image's code; press or drag on the map to move z and see what "
            f"the decoder draws there. Model in use: **{name}**")


def layout(p, lm):
    """The main view's components, added to p."""
    p.path, p.samples, p.drawing = gr.State(None), gr.State(None), gr.State(None)
    p.last_seed = gr.State(None)  # the seed the random button used last
    p.unmarked = gr.State(None)  # the Sample tab's first samples, not drawn on the map
    xmin, xmax, ymin, ymax = lm.extent
    with gr.Row(equal_height=False, elem_id="lsn-top"):
        p.header = gr.Markdown(header(lm.name), elem_id="lsn-header")
        with gr.Accordion("how to read this map", open=False, elem_id="lsn-note"):
            gr.Markdown(MAP_NOTE)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=560):
            p.plot = gr.Plot(show_label=False, elem_id="lsn-map")
            p.overlays = gr.CheckboxGroup(maps.OVERLAYS, value=maps.OVERLAYS[1:], show_label=False,
                                          container=False)
        with gr.Column(scale=2, min_width=420):
            with gr.Row():
                # web/navigator.js draws the digit here: a 28x28 canvas shown 280 px wide
                gr.HTML("", elem_id="lsn-digit", padding=False)
                with gr.Column(min_width=120):
                    p.z = gr.Textbox(label="z", lines=3, interactive=False, elem_id="lsn-z")
                    p.seed = gr.Number(0, label="seed", precision=0, minimum=0, elem_id="lsn-seed")
                    p.random = gr.Button("random z ~ N(0, I)", size="sm", elem_id="lsn-random",
                                         visible=lm.has_prior)
            x0, y0 = clamp_xy(lm, 0, 0)  # start at the prior's mean, or nearest to it
            p.x = gr.Slider(xmin, xmax, x0, step=0.01, label="X", elem_id="lsn-x")
            p.y = gr.Slider(ymin, ymax, y0, step=0.01, label="Y", elem_id="lsn-y")
            gr.Markdown("jump to a class centre:", elem_id="lsn-jump-label")
            with gr.Row(elem_id="lsn-jump"):
                p.jumps = [gr.Button(c, size="sm", min_width=0, elem_id=f"lsn-jump-{i}")
                           for i, c in enumerate(lm.classes)]
    with gr.Column(visible=False):
        p.anim = gr.JSON(label="positions to play")  # morph and play: the page animates them
    # The page's own CSS (in <head>) and JS (run once when the page mounts): the decoder, then
    # the navigation that uses it (web/).
    css = (WEB / "navigator.css").read_text()
    js = "\n".join((WEB / name).read_text() for name in SCRIPTS)
    gr.HTML("", head=f"<style>{css}</style>", js_on_load=js, elem_id="lsn-hook")


def redraw(p):
    """The event options that redraw the map from the model and its overlays."""
    return dict(fn=maps.map_figure, inputs=[p.model, p.overlays, p.path, p.samples, p.drawing],
                outputs=p.plot, show_progress="hidden", **PRIVATE)


def load_model(p):
    """The event options that load the model's decoder into the page (web/navigator.js)."""
    return dict(fn=None, inputs=[p.model], outputs=None, js="window.lsnModel")


def play(p):
    """The event options that animate the positions in p.anim on the page."""
    return dict(fn=None, inputs=[p.anim], outputs=None, js="window.lsnPlay")


def wire(p):
    pos = [p.x, p.y, p.z]
    p.demo.load(**load_model(p))  # the page's decoder loads while the server draws the map
    p.demo.load(**redraw(p))
    # ?model=&x=&y=: x and y are set before the model, whose switch (ui_model) reads them
    p.demo.load(toasted(ui_from_url), None, [p.x, p.y, p.model], show_progress="hidden", **PRIVATE)
    # Moving the position is the page's own work: a slider's .change (a drag, or the server
    # setting it) redraws the digit and the marker in the browser, with no request.
    gr.on([p.x.change, p.y.change], None, [p.x, p.y], None, js="window.lsnMark")
    p.random.click(toasted(ui_random), [p.seed, p.last_seed, p.model], pos + [p.seed, p.last_seed],
                   show_progress="hidden", **PRIVATE)
    for i, b in enumerate(p.jumps):
        b.click(toasted(functools.partial(go_to_class, i)), [p.model], pos,
                show_progress="hidden", **PRIVATE)
    p.overlays.change(**redraw(p))


def ui_from_url(request: gr.Request):
    """The page's load: the model and position its address names (?model=NAME&x=X&y=Y, written
    by web/navigator.js when the position settles); what it does not name
    stays (gr.skip()). A bad value is refused by name, as everywhere. Returned as (x, y, model):
    the page sets x and y first, then the model, whose switch (ui_model) reads them."""
    q = request.query_params if request is not None else {}
    name = q.get("model")
    lm = STORE.get(name or None)
    given = {axis: parsed(q[axis], f"{axis} in the address") for axis in "xy" if axis in q}
    z = clamp_xy(lm, given.get("x", 0.0), given.get("y", 0.0))
    return (*(round(v, 2) if axis in given else gr.skip() for axis, v in zip("xy", z)),
            lm.name if name else gr.skip())


def go_to_class(i, model):
    """A class button: go to class i's centre."""
    return go_to(*api.jump(i, model), model)


def ui_random(seed, last, model):
    """The random button: z ~ N(0, I) drawn with the seed in the box, which then shows the seed
    used (twice: the box and `last`, a state). The box still showing the last seed used draws
    with the next one, so each press is a new point and a typed seed is used as typed."""
    seed = integer(seed, "seed", 0, MAX_SEED)
    if seed == last:
        seed = (seed + 1) % (MAX_SEED + 1)
    return (*go_to(*api.random_point(seed, model), model), seed, seed)
