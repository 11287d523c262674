"""What the page's tabs share: the event wrappers (a refusal is a toast, an answer keyed by
name), the page-only event options, and moving the position (go_to, with its z text).

    from ui import PRIVATE, toasted
    button.click(toasted(handler), inputs, outputs, **PRIVATE)

Above api.py; imported by main_view.py and the tab_*.py modules, which demo.py assembles.
Tested in tests/test_demo_handlers.py.
"""

import functools

import gradio as gr

import latent_utils as lu
from checks import clamp_xy
from store import STORE

PRIVATE = dict(api_visibility="private")  # page-only events stay out of the API
SKIP = object()  # toasted(): skip every output
K_NEAREST = 15  # the z text's vote


def toasted(fn, refused=SKIP):
    """The page event for `fn`: a refusal (gr.Error) is a toast naming the problem, and the
    event's outputs keep their last good values (`refused`: SKIP, or what to send instead, e.g.
    None for the positions to play). Raising would mark every output of the event with Gradio's
    red "Error" badge and blank the digit, z, X and Y."""
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


def z_text(lm, x, y, k=K_NEAREST):
    """z and the class of the k encoded test digits nearest to it. Their vote, not the nearest
    class centre, says what lives here: a class can have several clusters (the 6s of beta 4 have
    two) and its centre sits in one of them."""
    votes = lu.knn_votes(lm.atlas["mu"], lm.atlas["labels"], [[x, y]], k, len(lm.classes))[0]
    c = int(votes.argmax())
    return (f"z = ({x:+.2f}, {y:+.2f})   {int(votes[c])} of the {k} nearest test {lm.noun}: "
            f"{lm.classes[c]}")


def go_to(x, y, model=None):
    """Move the position to (x, y), clamped and rounded to the 0.01 step, with its z text (the
    page's JS decodes the digit there)."""
    lm = STORE.get(model)
    x, y = (round(v, 2) for v in clamp_xy(lm, x, y))
    return x, y, z_text(lm, x, y)
