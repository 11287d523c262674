"""Latent Space Navigator: a Gradio app to walk the latent space of the shipped VAEs/AEs (2-D,
and 10-D on a plane through z), or of your own checkpoint.

    python demo.py                       # or `make demo`: http://127.0.0.1:7862
    python demo.py --model mnist_ae --port 7863 --device cpu
    python demo.py --model runs/ae10.safetensors --model mnist_vae_beta4   # your own, listed first
    python demo.py --host 0.0.0.0 --share

The page: the encoded test digits as a map (click to go), the decoded digit at the current
position z (X/Y controls; a larger latent: a box and slider per dimension and a bar chart) and
its measured attributes, random/jump/morph moves,
edits along digit attributes, interpolation, sampling, model comparison, and draw-or-upload
encoding. Needs only pretrained/ (no dataset, no network).

API, by gradio_client (Client(url).predict(..., api_name="/decode")) or REST (POST
/gradio_api/call/v2/NAME with {"x": 0.5, "y": 1}, then GET /gradio_api/call/NAME/EVENT_ID).
Every endpoint takes an optional `model` (a name from pretrained/, default mnist_vae_beta4).
A position is `z`, a list of the model's latent_dim numbers (x and y still work for a 2-D model);
positions come back as such lists. z outside the model's atlas extent is clamped to it; any
other bad input (NaN, a string, a z of the wrong length, an unknown class, steps outside 2-64,
...) is refused with a gr.Error naming it.
    /decode (z | x, y) -> 28x28 grey PNG   /jump (digit) -> z of the class centre
    /morph (z | x, y, digit, amount) -> z  /interpolate (digit_a, digit_b, steps, method) -> [z..]
    /random (seed) -> z ~ N(0, I)          /sample (mu, sigma | mu_x, mu_y, sigma_x, sigma_y, n, seed) -> [z..]
    /encode (image) -> {"mu", "sigma"}     /models () -> the shipped models and their metadata
    /attributes () -> the digit attributes, their directions and checked figures
    /edit (z, attribute, amount) -> z      /measure (image, or z) -> {attribute: value}
`digit` is a class index or name. /models lists a model whose files are broken with its error;
the others keep serving. Beside Gradio's API, two plain GET routes (routes.py): the image API
/api/decode.png?x=..&y=..&model=..&scale=.. or ?z=z1,z2,..&model=.. (a PNG, cacheable) and /api/model/NAME (the decoder
and atlas codes the page runs: moving the position needs no server round trip).

This file only assembles the page (main_view.py and one tab_*.py module per tab, each holding
its layout, wiring and handlers), registers the API (api.py) and runs main(); routes.py serves
it. Tests: tests/test_demo_handlers.py (the handlers, no server), test_demo_server.py,
test_demo_browser.py, test_page_ux.py, test_fuzz.py, test_security.py, test_faults.py; speed
and load: `make bench` (bench/run_all.py).
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import torch

import api
import images
import main_view
import tab_draw
import tab_edit
import tab_interpolate
import tab_models
import tab_morph
import tab_sample
from neural_network import DEFAULT_MODEL, list_models, pick_device
from routes import serve
from store import KEEP_DOWNLOADS_S, STORE

TABS = (tab_morph, tab_edit, tab_interpolate, tab_sample, tab_models, tab_draw)  # in the page's order


def build_app(default=None, bench_floor=False):
    """The Blocks app for model `default` (None: mnist_vae_beta4). bench_floor adds /floor, a
    constant 28x28 image: Gradio's own cost, the floor for bench/demo_latency.py."""
    lm = STORE.get(default)
    # Gradio's cache (uploads, served copies of the downloads): files over 10 minutes old go,
    # checked every 10 minutes, and all of it when the app closes.
    with gr.Blocks(title="Latent Space Navigator", fill_width=True,
                   delete_cache=(KEEP_DOWNLOADS_S, KEEP_DOWNLOADS_S)) as demo:
        p = SimpleNamespace(demo=demo)
        main_view.layout(p, lm)
        with gr.Tabs(overflow_behavior="wrap", elem_id="lsn-tabs"):  # every tab one tap away
            for tab in TABS:
                tab.layout(p, lm)
        for part in (main_view, *TABS):
            part.wire(p)
        with gr.Column(visible=False):  # API-only components
            x, y, z, model = (gr.JSON(label=n) for n in ("x", "y", "z", "model"))
            image = gr.Image(format="png", type="pil", image_mode="L", label="image")
            file, encoding, button = gr.File(label="image"), gr.JSON(label="encoding"), gr.Button()
            measured = gr.JSON(label="attributes")
        button.click(api.decode, [x, y, model, z], image, api_name="decode")
        button.click(api.encode, [file, model], encoding, api_name="encode")
        button.click(api.measure, [file, z, x, y, model], measured, api_name="measure")
        for fn, name in [(api.jump, "jump"), (api.morph, "morph"), (api.interpolate, "interpolate"),
                         (api.random_point, "random"), (api.sample, "sample"), (api.models, "models"),
                         (api.attributes, "attributes"), (api.edit, "edit")]:
            gr.api(fn, api_name=name)
        if bench_floor:
            button.click(api.floor, None, image, api_name="floor")
    demo.lsn_head = main_view.page_head(lm)  # the page's <head>, which routes.serve launches with
    return demo


def first_loadable():
    """DEFAULT_MODEL, or, when its files are missing or broken, the first shipped model that
    loads: one bad file must not take the app down. None loading raises the default's error."""
    error = None
    for name in [DEFAULT_MODEL] + [n for n in list_models() if n != DEFAULT_MODEL]:
        try:
            STORE.get(name)
        except gr.Error as e:
            print(f"demo.py: {e.message}", file=sys.stderr)
            error = error or e
        else:
            STORE.default = name  # the API's default too, not only the page's
            return name
    raise error


def positive(text):
    """argparse type: an integer >= 1."""
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # A Hugging Face Space ($SPACE_ID set) reaches the app through its own proxy on 0.0.0.0:7860.
    space = "SPACE_ID" in os.environ
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME",
                                                    "0.0.0.0" if space else "127.0.0.1"),
                   help="address to listen on (env GRADIO_SERVER_NAME)")
    p.add_argument("--port", type=int,
                   default=int(os.environ.get("GRADIO_SERVER_PORT", 7860 if space else 7862)),
                   help="port (env GRADIO_SERVER_PORT)")
    p.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    p.add_argument("--model", action="append", default=[],
                   help=f"a model to show: a name from pretrained/, or the path of a checkpoint "
                   f"trained by trainer.py, with its atlas beside it (any latent size), listed by "
                   f"its file name; repeatable, the first is shown first (default: {DEFAULT_MODEL}, "
                   f"or the first shipped model that loads)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    # Gradio keeps a copy of every component's config per session, 170 KiB here (measured), and
    # a REST call without a session_hash makes a new session: its default of 10,000 sessions
    # would let callers grow the server by 1.7 GB. The least recently used session goes first.
    p.add_argument("--max-sessions", type=positive, default=1000,
                   help="sessions kept in memory (about 170 KiB each)")
    p.add_argument("--bench-floor", action="store_true", help="add the /floor endpoint (bench only)")
    args = p.parse_args(argv)
    # One decode is ~1 ms of tiny ops: splitting it over threads only adds contention.
    torch.set_num_threads(1)
    images.return_large_buffers()  # a large upload's memory goes back when it is done
    # Everything this process writes (Gradio's uploads and cache, the downloads) goes in one
    # folder of its own, removed when it stops: Ctrl-C or SIGTERM (as Ctrl-C) close the server.
    work = Path(tempfile.mkdtemp(prefix="lsn-"))
    before = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(work / "gradio")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        STORE.reset(pick_device(args.device), root=work)
        names = [STORE.add(m) if m.endswith(".safetensors") else m for m in args.model]
        app = build_app(names[0] if names else first_loadable(), bench_floor=args.bench_floor)
        serve(app, server_name=args.host, server_port=args.port, share=args.share,
              state_session_capacity=args.max_sessions)
    except (ValueError, gr.Error) as e:
        raise SystemExit(f"demo.py: {getattr(e, 'message', e)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        STORE.reset()  # its download folder was in `work`: no later caller may use it
        # nor Gradio's cache (a test calling main() and then serving again recreated it)
        if before is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = before


if __name__ == "__main__":
    main()
