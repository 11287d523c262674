"""What the page's tabs share: the event wrappers (a refusal is a toast, an answer keyed by
name), the page-only event options, and the navigator's value (the position z, main_view.py):
reading it, and the value or update a handler returns.

    from ui import PRIVATE, toasted
    button.click(toasted(handler), inputs, outputs, **PRIVATE)

Above api.py; imported by main_view.py and the tab_*.py modules, which demo.py assembles.
Tested in tests/test_demo_handlers.py.
"""

import functools

import gradio as gr

import maps
from checks import clamp, position, shown
from store import STORE

PRIVATE = dict(api_visibility="private")  # page-only events stay out of the API
SKIP = object()  # toasted(): skip every output


def toasted(fn, refused=SKIP):
    """The page event for `fn`: a refusal (gr.Error) is a toast naming the problem, and the
    event's outputs keep their last good values (`refused`: SKIP, or what to send instead).
    Raising would mark every output of the event with Gradio's red "Error" badge."""
    @functools.wraps(fn)
    def event(*args):
        try:
            return fn(*args)
        except gr.Error as e:
            gr.Warning(e.message)
            return gr.skip() if refused is SKIP else refused
    return event


def by_name(fn, components):
    """The event handler for `fn`, which answers {name: value} (tab_models.ui_model): the same
    values keyed by the components of those names, as Gradio takes them."""
    @functools.wraps(fn)
    def event(*args):
        return {components[k]: v for k, v in fn(*args).items()}
    return event


def go_to(z, model=None):
    """The navigator's value at z: clamped to the model's extent, rounded to the 0.01 step (the
    page draws the digit there and writes its z text)."""
    lm = STORE.get(model)
    return [round(v, 2) for v in clamp(lm, z)]


def at(value, model=None):
    """z of the navigator's value (a list of latent_dim numbers), clamped to the model's extent."""
    return position(value, STORE.get(model))


def plane(lm):
    """The navigator's `plane` prop: the map's plane (lm.plane: latent_utils.plane, or the plane
    through three class centres, maps.planed) as lists, with the share of the codes' variance
    it holds, the extent of map coordinates it reaches, the codes' mean, and the classes whose
    centres it passes through (none: the principal plane)."""
    origin, basis, share = lm.plane
    return {"origin": origin.tolist(), "basis": basis.T.tolist(), "share": round(share, 4),
            "extent": [round(v, 2) for v in maps.map_extent(lm)],
            "mean": lm.atlas["mu"].mean(0).tolist(), "through": [lm.classes[c] for c in lm.plane_by]}


def navigator(lm, z=None):
    """The navigator's update for model `lm` (its name, extent and map plane), and position z if
    given (else the page keeps its position, clamped to the new extent)."""
    return gr.HTML(model=lm.name, extent=lm.extent, plane=plane(lm),
                   **({} if z is None else {"value": z}))


def said(evt: gr.EventData):
    """The navigator's "refused" event: what the page refused (a typed non-number, a clamp) as a
    toast; the page has already put the box back."""
    message = getattr(evt, "_data", None)
    message = message.get("message") if isinstance(message, dict) else None
    gr.Warning(message if isinstance(message, str) and len(message) <= 200 else
               f"refused: {shown(message)}")
