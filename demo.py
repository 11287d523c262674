"""Latent Space Navigator: a Gradio app to walk the 2-D latent space of the shipped VAEs/AEs.

    python demo.py                       # or `make demo`: http://127.0.0.1:7862
    python demo.py --model mnist_ae --port 7863 --device cpu
    python demo.py --host 0.0.0.0 --share

The page: the encoded test digits as a map (click to go), the decoded digit at the current
position z = (x, y) with X/Y sliders, random/jump/morph moves, interpolation, sampling, model
comparison, and draw-or-upload encoding. Needs only pretrained/ (no dataset, no network).

API, by gradio_client (Client(url).predict(..., api_name="/decode")) or REST (POST
/gradio_api/call/v2/NAME with {"x": 0.5, "y": 1}, then GET /gradio_api/call/NAME/EVENT_ID).
Every endpoint takes an optional `model` (a name from pretrained/, default mnist_vae_beta4).
x and y outside the model's atlas extent are clamped to it; any other bad input (NaN, a string,
an unknown class, steps outside 2-64, ...) is refused with a gr.Error naming it.
    /decode (x, y) -> 28x28 grey PNG       /jump (digit) -> [x, y] of the class centre
    /morph (x, y, digit, amount) -> [x, y] /interpolate (digit_a, digit_b, steps, method) -> [[x, y]..]
    /random (seed) -> [x, y] ~ N(0, I)     /sample (mu_x, mu_y, sigma_x, sigma_y, n, seed) -> [[x, y]..]
    /encode (image) -> {"mu", "sigma"}     /models () -> the shipped models and their metadata
`digit` is a class index or name. /models lists a model whose files are broken with its error;
the others keep serving. Beside Gradio's API, two plain GET routes (handlers.py): the image API
/api/decode.png?x=..&y=..&model=..&scale=.. (a PNG, cacheable) and /api/model/NAME (the decoder
and atlas codes the page runs: moving the position needs no server round trip).

This file is the page's layout, its event wiring and the command line; what each endpoint and
event does is in handlers.py, the page's own CSS and JS in web/navigator.css and web/navigator.js
(read when the app is built). Tests: tests/test_demo_handlers.py (the handlers, no server),
test_demo_server.py, test_demo_browser.py, test_fuzz.py, test_security.py, test_faults.py; speed
and load: `make bench` (bench/run_all.py).
"""

import argparse
import functools
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import gradio as gr
import torch
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from gradio.route_utils import FnIndexInferError
from starlette.middleware import Middleware
from starlette.routing import Route

import handlers as h
import images
from handlers import MAX_SAMPLES, MAX_STEPS, OVERLAYS
from neural_network import DEFAULT_MODEL, list_models, pick_device

MAX_BODY = 32 * 2**20  # bytes of any one request (a 20 MB upload and its multipart overhead fit)
SKIP = object()  # toasted(): skip every output
WEB = Path(__file__).resolve().with_name("web")  # the page's own CSS and JS, read at build time


def build_app(default=None, bench_floor=False):
    """The Blocks app for model `default` (None: mnist_vae_beta4). bench_floor adds /floor, a
    constant 28x28 image: Gradio's own cost, the floor for bench/demo_latency.py."""
    lm = h.STORE.get(default)
    xmin, xmax, ymin, ymax = lm.extent
    ui = dict(api_visibility="private")  # page-only events stay out of the API
    # Gradio's cache (uploads, served copies of the downloads): files over 10 minutes old go,
    # checked every 10 minutes, and all of it when the app closes.
    with gr.Blocks(title="Latent Space Navigator", fill_width=True,
                   delete_cache=(h.KEEP_DOWNLOADS_S, h.KEEP_DOWNLOADS_S)) as demo:
        path, samples, drawing = gr.State(None), gr.State(None), gr.State(None)
        last_seed = gr.State(None)  # the seed the random button used last
        unmarked = gr.State(None)  # the Sample tab's first samples, not drawn on the map
        with gr.Row(equal_height=False, elem_id="lsn-top"):
            title = gr.Markdown(h.header(lm.name), elem_id="lsn-header")
            with gr.Accordion("how to read this map", open=False, elem_id="lsn-note"):
                gr.Markdown(h.MAP_NOTE)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=560):
                plot = gr.Plot(show_label=False, elem_id="lsn-map")
                overlays = gr.CheckboxGroup(OVERLAYS, value=OVERLAYS[1:], show_label=False, container=False)
            with gr.Column(scale=2, min_width=420):
                with gr.Row():
                    # web/navigator.js draws the digit here: a 28x28 canvas shown 280 px wide
                    gr.HTML("", elem_id="lsn-digit", padding=False)
                    with gr.Column(min_width=120):
                        ztext = gr.Textbox(label="z", lines=3, interactive=False, elem_id="lsn-z")
                        seed = gr.Number(0, label="seed", precision=0, minimum=0, elem_id="lsn-seed")
                        rand = gr.Button("random z ~ N(0, I)", size="sm", elem_id="lsn-random",
                                         visible=lm.model.config.kind == "vae")
                x0, y0 = h.clamp_xy(lm, 0, 0)  # start at the prior's mean, or nearest to it
                x = gr.Slider(xmin, xmax, x0, step=0.01, label="X", elem_id="lsn-x")
                y = gr.Slider(ymin, ymax, y0, step=0.01, label="Y", elem_id="lsn-y")
                gr.Markdown("jump to a class centre:", elem_id="lsn-jump-label")
                with gr.Row(elem_id="lsn-jump"):
                    jumps = [gr.Button(c, size="sm", min_width=0, elem_id=f"lsn-jump-{i}")
                             for i, c in enumerate(lm.classes)]
        with gr.Tabs(overflow_behavior="wrap", elem_id="lsn-tabs"):  # every tab one tap away
            with gr.Tab("Morph"):
                with gr.Row():
                    target = gr.Dropdown(lm.classes, value=lm.classes[0], label="morph toward")
                    amount = gr.Slider(0, 1, 0.25, step=0.05, label="amount per click")
                    animate = gr.Checkbox(label="animate", value=True)
                    morph_btn = gr.Button("morph", variant="primary", elem_id="lsn-morph")
            with gr.Tab("Interpolate"):
                with gr.Row():
                    start = gr.Dropdown(lm.classes, value=lm.classes[0], label="start")
                    end = gr.Dropdown(lm.classes, value=lm.classes[-1], label="end")
                    steps = gr.Slider(2, MAX_STEPS, 10, step=1, label="steps", elem_id="lsn-steps")
                    method = gr.Radio(["linear", "spherical", "both"], value="both", label="method")
                    with gr.Column(min_width=120):
                        interp_btn = gr.Button("interpolate", variant="primary")
                        play_btn = gr.Button("play on the digit", elem_id="lsn-play")
                interp_caption = gr.Markdown()
                strip = gr.Image(format="png", type="pil", show_label=False, interactive=False,
                                 elem_id="lsn-strip")
                interp_files = gr.File(label="strip (PNG) and animation (GIF)", file_count="multiple",
                                       elem_id="lsn-files")
            with gr.Tab("Sample") as sample_tab:
                sample_note = gr.Markdown(h.sample_note(lm), elem_id="lsn-sample-note")
                with gr.Row():
                    mu_x, mu_y = (gr.Slider(-3, 3, 0, step=0.01, label=f"mu_{a}") for a in "xy")
                    sigma_x, sigma_y = (gr.Slider(0, 2, 1, step=0.01, label=f"sigma_{a} (0: deterministic)",
                                                  elem_id=f"lsn-sigma-{a}") for a in "xy")
                with gr.Row():
                    n = gr.Slider(1, MAX_SAMPLES, 16, step=1, label="n samples")
                    sample_seed = gr.Number(0, label="seed", precision=0, minimum=0)
                    with gr.Row(elem_id="lsn-sample-presets"):
                        presets = [gr.Button(b, visible=b != "prior N(0, I)" or lm.model.config.kind == "vae")
                                   for b in ["prior N(0, I)", "resample", "randomize mu"]]
                with gr.Row():
                    sample_grid = gr.Image(format="png", type="pil", show_label=False, interactive=False,
                                           elem_id="lsn-samples")
                    sample_bars = gr.Plot(show_label=False, elem_id="lsn-sample-bars")
                    sample_table = gr.Dataframe(headers=["x", "y"], label="z", max_height=300)
            with gr.Tab("Models"):
                with gr.Row():
                    model = gr.Dropdown(list_models(), value=lm.name, label="model", elem_id="lsn-model")
                    info = gr.Markdown(h.model_info(lm.name))
                compare_btn = gr.Button("compare the MNIST models at this z")
                compare_digits, compare_grids = (
                    gr.Gallery(label=label, columns=4, height="auto", object_fit="contain")
                    for label in ["the same z, decoded by each model", "each model's decoded manifold"])
            with gr.Tab("Draw or upload"):
                with gr.Row():
                    sketch = gr.Sketchpad(type="numpy", canvas_size=(280, 280), label="draw a digit",
                                          brush=gr.Brush(18, colors=["#000000"], color_mode="fixed"),
                                          elem_id="lsn-sketch")
                    upload = gr.Image(type="filepath", image_mode=None, sources=["upload", "clipboard"],
                                      label="or upload an image", height=300, elem_id="lsn-upload")
                    with gr.Column():
                        encode_btn = gr.Button("encode drawing", variant="primary")
                        pair = gr.Image(format="png", type="pil", show_label=False, interactive=False)
                        enc_text = gr.Textbox(label="encoding (above: the 28x28 input | its reconstruction)",
                                              interactive=False, elem_id="lsn-draw-out")
                        there_btn = gr.Button("go there")
        with gr.Column(visible=False):  # API-only components
            api_x, api_y, api_model = gr.JSON(label="x"), gr.JSON(label="y"), gr.JSON(label="model")
            api_image = gr.Image(format="png", type="pil", image_mode="L", label="image")
            api_file, api_encoded, api_btn = gr.File(label="image"), gr.JSON(label="encoding"), gr.Button()
            anim = gr.JSON(label="positions to play")  # morph and play: the page animates them
        # The page's own CSS (in <head>) and JS (run once when the page mounts): the decoder,
        # then the navigation that uses it (web/).
        css = (WEB / "navigator.css").read_text()
        js = "\n".join((WEB / name).read_text() for name in ("decoder.js", "navigator.js"))
        gr.HTML("", head=f"<style>{css}</style>", js_on_load=js, elem_id="lsn-hook")

        model_in = [model]
        pos = [x, y, ztext]
        map_in = [model, overlays, path, samples, drawing]
        redraw = dict(fn=h.map_figure, inputs=map_in, outputs=plot, show_progress="hidden", **ui)
        # Gradio calls the function each js= expression names (web/navigator.js) with the inputs.
        load_model = dict(fn=None, inputs=[model], outputs=None, js="window.lsnModel")
        play = dict(fn=None, inputs=[anim], outputs=None, js="window.lsnPlay")

        demo.load(**load_model)  # the page's decoder loads while the server draws the map
        demo.load(**redraw)
        # ?model=&x=&y=: x and y are set before the model, whose switch (ui_model) reads them
        demo.load(toasted(h.ui_from_url), None, [x, y, model], show_progress="hidden", **ui)
        # Moving the position is the page's own work: a slider's .change (a drag, or the server
        # setting it) redraws the digit and the marker in the browser, with no request.
        gr.on([x.change, y.change], None, [x, y], None, js="window.lsnMark")
        rand.click(toasted(h.ui_random), [seed, last_seed, model], pos + [seed, last_seed], show_progress="hidden", **ui)
        for i, b in enumerate(jumps):
            b.click(toasted(functools.partial(h.go_to_class, i)), model_in, pos, show_progress="hidden", **ui)
        morph_btn.click(toasted(h.ui_morph, None), [x, y, target, amount, animate, model], anim,
                        show_progress="hidden", **ui).then(**play)
        interp_btn.click(toasted(h.ui_interpolate), [start, end, steps, method, model],
                         [strip, interp_files, path, interp_caption], **ui).then(**redraw)
        play_btn.click(toasted(h.ui_play, None), [path], anim, show_progress="hidden", **ui).then(**play)
        sample_in = [mu_x, mu_y, sigma_x, sigma_y, n, sample_seed, model]
        draw_samples = dict(fn=toasted(h.ui_sample), inputs=sample_in,
                            outputs=[sample_grid, sample_table, samples, sample_bars], **ui)
        # The tab opens with samples drawn, not an empty grid; they are marked on the map only
        # once the person samples (so its first opening costs the page load nothing)
        sample_tab.select(**{**draw_samples, "outputs": [sample_grid, sample_table, unmarked, sample_bars]})
        # .change: a drag, a typed value (as it is typed, not when the box loses focus) or a
        # preset; always_last: a burst of them draws once more at its end, not once per event
        gr.on([c.change for c in (mu_x, mu_y, sigma_x, sigma_y, n, sample_seed)],
              trigger_mode="always_last", **draw_samples).then(**redraw)
        for b in presets:
            b.click(toasted(functools.partial(h.sample_preset, b.value)), sample_in[:4] + [sample_seed],
                    sample_in[:4] + [sample_seed], **ui)
        switched = {"random": rand, "prior": presets[0], "sample_note": sample_note,
                    "x": x, "y": y, "z": ztext, "info": info, "header": title, "target": target,
                    "start": start, "end": end, **{f"jump_{i}": b for i, b in enumerate(jumps)},
                    "path": path, "samples": samples, "drawing": drawing,
                    "compared": compare_digits, "compared_grids": compare_grids}
        model.change(toasted(by_name(h.ui_model, switched)), [model, x, y], list(switched.values()),
                     **ui).then(**redraw).then(**load_model)
        compare_btn.click(toasted(h.ui_compare), [x, y], [compare_digits, compare_grids], **ui)
        encoded = [pair, enc_text, drawing]
        # preprocess=False: ui_encode reads the uploaded file itself (h.uploaded): Gradio would
        # decode every layer a drawing's value lists before any check.
        encode_btn.click(toasted(h.ui_encode), [sketch, model], encoded, preprocess=False, **ui).then(**redraw)
        upload.upload(toasted(h.ui_encode), [upload, model], encoded, preprocess=False, **ui).then(**redraw)
        there_btn.click(toasted(h.go_to_drawing), [drawing, model], pos, **ui)
        overlays.change(**redraw)

        api_btn.click(h.decode, [api_x, api_y, api_model], api_image, api_name="decode")
        api_btn.click(h.encode, [api_file, api_model], api_encoded, api_name="encode")
        for fn, name in [(h.jump, "jump"), (h.morph, "morph"), (h.interpolate, "interpolate"),
                         (h.random_point, "random"), (h.sample, "sample"), (h.models, "models")]:
            gr.api(fn, api_name=name)
        if bench_floor:
            api_btn.click(h.floor, None, api_image, api_name="floor")
    return demo


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
    """The event handler for `fn`, which answers {name: value} (h.ui_model): the same values
    keyed by the components of those names, as Gradio takes them."""
    @functools.wraps(fn)
    def event(*args):
        return {components[k]: v for k, v in fn(*args).items()}
    return event


async def malformed(request, error):
    """A request body that is not {"data": [...]}: 422 naming where and what is wrong. FastAPI's
    own handler echoes each bad input back, and one holding NaN or inf cannot be written as
    JSON, so the caller got a bare 500; echoing a huge input back is no better."""
    detail = [{k: e[k] for k in ("loc", "msg", "type")} for e in error.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


async def unknown_endpoint(request, error):
    """A call naming no endpoint: 404 saying so (Gradio's own answer is a 500 and a traceback
    in the log for each such call)."""
    return JSONResponse({"error": "no such endpoint; GET /gradio_api/info lists them"},
                        status_code=404)


def first_loadable():
    """DEFAULT_MODEL, or, when its files are missing or broken, the first shipped model that
    loads: one bad file must not take the app down. None loading raises the default's error."""
    error = None
    for name in [DEFAULT_MODEL] + [n for n in list_models() if n != DEFAULT_MODEL]:
        try:
            h.STORE.get(name)
        except gr.Error as e:
            print(f"demo.py: {e.message}", file=sys.stderr)
            error = error or e
        else:
            h.STORE.default = name  # the API's default too, not only the page's
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
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                   help="address to listen on (env GRADIO_SERVER_NAME)")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7862)),
                   help="port (env GRADIO_SERVER_PORT)")
    p.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    p.add_argument("--model", help=f"the model shown first, a name from pretrained/ (default: "
                   f"{DEFAULT_MODEL}, or the first shipped model that loads)")
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
        h.STORE.reset(pick_device(args.device), root=work)
        app = build_app(args.model or first_loadable(), bench_floor=args.bench_floor)
        serve(app, server_name=args.host, server_port=args.port, share=args.share,
              state_session_capacity=args.max_sessions)
    except (ValueError, gr.Error) as e:
        raise SystemExit(f"demo.py: {getattr(e, 'message', e)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        h.STORE.reset()  # its download folder was in `work`: no later caller may use it
        # nor Gradio's cache (a test calling main() and then serving again recreated it)
        if before is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = before


def serve(app, **launch):
    """Queue and launch the app with the project's routes and limits (main() and the tests).
    Uploads over 20 MB are refused by Gradio itself; smaller ones are checked by
    images.open_image. Any request body over MAX_BODY is refused before it is read whole into
    memory. show_error: Gradio's own refusals (too few inputs, a file outside its upload folder)
    then carry their reason to the caller instead of {"error": null}; handlers raise gr.Error."""
    routes = [Route("/api/decode.png", h.decode_png), Route("/api/model/{name}", h.model_file)]
    # api_open=False: every queued event is reached through the queue only, never a direct
    # POST /gradio_api/run/NAME, which skipped its concurrency limit (the README's REST calls and
    # gradio_client use the queue). The page's own events are queued (demo.py's `ui`).
    return app.queue(default_concurrency_limit=8, api_open=False).launch(
        max_file_size="20mb", show_error=True, **launch,
        app_kwargs={"max_body_size": MAX_BODY, "routes": routes,
                    "middleware": [Middleware(h.UploadGuard)],
                    "exception_handlers": {RequestValidationError: malformed,
                                           FnIndexInferError: unknown_endpoint}})


if __name__ == "__main__":
    main()
