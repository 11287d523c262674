"""The page's main view, above the tabs: the header, the map, the navigator (the one owner of the
position z on the page: the digit, its status line, the X/Y boxes and ranges, the z text; a
gr.HTML whose template, style and script are web/navigator.html, web/navigator.css and the
web/*.js files), the random button and the class buttons; its layout, its wiring and its
handlers (the address restored on load, a class button, the random button). Every move is drawn
in the browser; the server's handlers take the navigator's value and return a new one.

    p = types.SimpleNamespace(demo=blocks)
    main_view.layout(p, lm)     # inside gr.Blocks: adds its components to p
    main_view.wire(p)           # once every tab's layout is built (it reads p.model)

Above ui.py and maps.py; demo.py assembles it with the tab_*.py modules. Tested in
tests/test_demo_handlers.py and in Chromium by tests/test_demo_browser.py and test_page_ux.py.
"""

import functools
import json
from pathlib import Path

import gradio as gr

import api
import maps
import ui
from checks import MAX_SEED, Refused, clamp_note, class_index, integer, number, parsed
from store import STORE
from ui import PRIVATE, toasted

WEB = Path(__file__).resolve().with_name("web")  # the page's own CSS and JS, read at build time
# the navigator's script, in this order: the pure parts, the DOM parts, then the component
SCRIPTS = ("decoder.js", "numbers.js", "nearest.js", "address.js", "digit.js", "glue.js", "map.js",
           "navigator.js")

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


PLANE_LABEL = ("the map's plane: through the centres of three classes (Enter), or empty for the "
               "codes' principal plane")


def page_head(lm):
    """What goes in the page's <head> (demo.build_app): web/prefetch.js, which starts fetching
    the model file the navigator decodes with as the page loads, told the default model."""
    return (f"<script>window.LSN_DEFAULT_MODEL = {json.dumps(lm.name)};</script>\n"
            f"<script>{(WEB / 'prefetch.js').read_text()}</script>")


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
    with gr.Row(equal_height=False, elem_id="lsn-top"):
        p.header = gr.Markdown(header(lm.name), elem_id="lsn-header")
        with gr.Accordion("how to read this map", open=False, elem_id="lsn-note"):
            gr.Markdown(MAP_NOTE)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=560):
            p.plot = gr.Plot(show_label=False, elem_id="lsn-map")
            p.overlays = gr.CheckboxGroup(maps.OVERLAYS, value=maps.OVERLAYS[1:], show_label=False,
                                          container=False, elem_id="lsn-overlays")
            # a latent larger than 2: the map's plane, its principal one or through 3 class centres
            p.plane_by = gr.State(None)
            p.plane_classes = gr.Textbox(label=PLANE_LABEL, placeholder="e.g. 3, 5, 8", visible=lm.dim > 2,
                                         elem_id="lsn-plane-classes")
        with gr.Column(scale=2, min_width=420):
            # its value is the position, at the prior's mean (or nearest to it) to begin with
            p.nav = gr.HTML(ui.go_to([0.0] * lm.dim, lm.name), model=lm.name, extent=lm.extent,
                            plane=ui.plane(lm),
                            html_template=(WEB / "navigator.html").read_text(),
                            js_on_load="\n".join((WEB / name).read_text() for name in SCRIPTS),
                            head=f"<style>{(WEB / 'navigator.css').read_text()}</style>",
                            apply_default_css=False, elem_id="lsn-nav")
            with gr.Row(elem_id="lsn-random-row"):
                p.seed = gr.Number(0, label="seed", precision=0, minimum=0, elem_id="lsn-seed")
                p.random = gr.Button("random z ~ N(0, I)", size="sm", elem_id="lsn-random",
                                     visible=lm.has_prior)
            gr.Markdown("jump to a class centre:", elem_id="lsn-jump-label")
            with gr.Row(elem_id="lsn-jump"):
                p.jumps = [gr.Button(c, size="sm", min_width=0, elem_id=f"lsn-jump-{i}")
                           for i, c in enumerate(lm.classes)]


def redraw(p):
    """The event options that redraw the map from the model, its overlays and its heat map (the
    Edit tab's choice)."""
    return dict(fn=maps.map_figure, inputs=[p.model, p.overlays, p.path, p.samples, p.drawing, p.heat, p.plane_by],
                outputs=p.plot, show_progress="hidden", **PRIVATE)


def wire(p):
    p.demo.load(**redraw(p))
    # ?model=&x=&y=: the navigator's model, extent and z, then the model picker, whose switch
    # (tab_models.ui_model) reads the navigator as set here
    p.demo.load(toasted(ui_from_url), None, [p.nav, p.model], show_progress="hidden", **PRIVATE)
    p.nav.refused(ui.said, None, None, show_progress="hidden", **PRIVATE)
    p.seed.input(lambda: None, None, p.last_seed, show_progress="hidden", **PRIVATE)  # typed: as typed
    p.random.click(toasted(ui_random), [p.seed, p.last_seed, p.model], [p.nav, p.seed, p.last_seed],
                   show_progress="hidden", **PRIVATE)
    for i, b in enumerate(p.jumps):
        b.click(toasted(functools.partial(go_to_class, i)), [p.model], p.nav,
                show_progress="hidden", **PRIVATE)
    p.overlays.change(**redraw(p))
    p.plane_classes.submit(toasted(ui_plane), [p.plane_classes, p.model], [p.plane_by, p.nav],
                           show_progress="hidden", **PRIVATE).then(**redraw(p))


def ui_from_url(request: gr.Request):
    """The page's load: the model and position its address names (?model=NAME&x=X&y=Y, or
    &z=Z1,Z2,... for any latent size, which web/address.js makes of a shared #model=..); what it
    does not name stays (gr.skip()). The model comes first, then z, clamped to that model's
    extent with a toast naming the clamp; a bad value is refused by name, as everywhere.
    Returned as (navigator, model)."""
    q = request.query_params if request is not None else {}
    name = q.get("model")
    lm = STORE.get(name or None)
    chosen = lm.name if name else gr.skip()
    if "z" in q:
        z = [number(parsed(t, f"z{i + 1} in the address"), f"z{i + 1} in the address")
             for i, t in enumerate(q["z"].split(",")[:lm.dim + 1])]
        if len(z) != lm.dim:
            raise Refused(f"z in the address must list {lm.dim} numbers ({lm.name}'s latent size)")
    elif lm.dim == 2 and ("x" in q or "y" in q):
        z = [number(parsed(q[a], f"{a} in the address"), f"{a} in the address") if a in q else 0.0
             for a in "xy"]
    else:
        return gr.skip(), chosen
    for i, v in enumerate(z):
        if note := clamp_note(lm, i, v):
            gr.Warning(note)
    return ui.navigator(lm, ui.go_to(z, lm.name)), chosen


def ui_plane(text, model):
    """The plane box: the map's plane through the centres of the three classes named (indices or
    names, "3, 5, 8"), or, empty, the codes' principal plane -> (the classes, the navigator's
    plane). Two classes, four, or three whose centres lie on a line are refused by name."""
    lm = STORE.get(model)
    names = [t.strip() for t in (text or "").replace(",", " ").split()]
    if not names:
        return None, ui.navigator(lm)
    if len(names) != 3:
        raise Refused(f"name three classes for the plane, not {len(names)}: e.g. 3, 5, 8")
    by = [class_index(lm, n, "class") for n in names]
    if len(set(by)) < 3:
        raise Refused("name three different classes for the plane")
    try:
        return by, ui.navigator(maps.planed(lm, by))
    except ValueError as e:
        raise Refused(f"the centres of {', '.join(names)}: {e}") from None


def go_to_class(i, model):
    """A class button: go to class i's centre."""
    return ui.go_to(api.jump(i, model), model)


def ui_random(seed, last, model):
    """The random button: z ~ N(0, I) drawn with the seed in the box, which then shows the seed
    used (twice: the box and `last`, a state). The box still showing the last seed used draws
    with the next one, so each press is a new point; a seed typed into the box (which clears
    `last`, even when it is the same number) is used as typed, so it reproduces its draw."""
    seed = integer(seed, "seed", 0, MAX_SEED)
    if seed == last:
        seed = (seed + 1) % (MAX_SEED + 1)
    return ui.go_to(api.random_point(seed, model), model), seed, seed
