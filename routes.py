"""The HTTP routes beside Gradio's API, and how the app is served with them: plain GETs that any
HTTP cache, <img src> or notebook can use, the upload guard, positional calls' missing trailing
values, and the answers to malformed calls.

    GET /api/decode.png?x=X&y=Y[&model=NAME][&scale=1..20]   the decoded digit (the image API),
                            or ?z=Z1,Z2,.. for a latent of any size
    GET /api/model/NAME     the decoder and atlas codes the page runs (store.STORE.page_file)
    GET /api/images/NAME    the test images behind model NAME's map dots (its dot cards)

serve(app, **launch) queues and launches a Blocks app with these (demo.main and the tests).
Tested through a live server in tests/test_demo_server.py, test_security.py and test_hostile.py;
bench/workers.py serves the two GET routes alone under uvicorn workers.
"""

import io
import json
import re
import time
from pathlib import Path

import gradio as gr
import gradio.utils as gr_utils
from fastapi.exceptions import RequestValidationError
from gradio.route_utils import FnIndexInferError
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import checks
import images
from checks import Refused, integer, parsed
from neural_network import decode_uint8
from store import STORE

MAX_SCALE = 20  # /api/decode.png: at most 560 px a side
# An hour, then the ETag is checked again: a retrained model answers with a new one.
CACHE_CONTROL = "public, max-age=3600"
MAX_BODY = 32 * 2**20  # bytes of any one request (a 20 MB upload and its multipart overhead fit)
# An upload request may carry one 20 MB file and its multipart framing; all uploads kept at once
# (Gradio deletes them after demo.py's delete_cache age) may fill at most MAX_UPLOADS_BYTES.
MAX_UPLOAD_REQUEST, MAX_UPLOADS_BYTES = 21 * 2**20, 2 * 2**30


def cached(request, etag, body, media_type):
    """The answer with its ETag and Cache-Control; 304 (no body) when the caller holds it."""
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body() if callable(body) else body, media_type=media_type, headers=headers)


def query_number(request, name, default=None):
    """A query parameter as a float (checks.parsed; in range is number()'s check)."""
    text = request.query_params.get(name)
    if text is None:
        if default is None:
            raise Refused(f"{name} is missing: give it as ?{name}=NUMBER")
        return default
    return parsed(text, name)


def decode_png(request):
    """GET /api/decode.png?x=X&y=Y[&model=NAME][&scale=1..20], or ?z=Z1,Z2,... for a latent of
    any size: the decoded digit as a PNG, checked as /decode is (z clamped to the extent), 28 *
    scale pixels a side. 400 with {"error"} naming a bad parameter."""
    try:
        lm = STORE.get(request.query_params.get("model"))
        text = request.query_params.get("z")
        if text is None:
            z = checks.latent(lm, None, query_number(request, "x"), query_number(request, "y"))
        else:
            z = checks.latent(lm, [parsed(t, f"z[{i}]") for i, t in enumerate(text.split(",")[:lm.dim + 1])])
        scale = integer(query_number(request, "scale", 1), "scale", 1, MAX_SCALE)
    except gr.Error as e:
        return JSONResponse({"error": e.message}, status_code=400)

    def png():
        buf = io.BytesIO()
        images.enlarge(decode_uint8(lm.model, [z])[0], scale).save(buf, "png")
        return buf.getvalue()
    return cached(request, f'{lm.etag[:-1]}-{",".join(f"{v:.6g}" for v in z)}-{scale}"', png, "image/png")


def model_file(request):
    """GET /api/model/NAME: the file the page decodes with (STORE.page_file), fetched once per
    model and then answered from the browser's cache (304 on revalidation)."""
    try:
        lm = STORE.get(request.path_params["name"])
        return cached(request, lm.etag, lambda: STORE.page_file(lm.name),
                      "application/octet-stream")
    except gr.Error as e:
        return JSONResponse({"error": e.message}, status_code=404 if "unknown" in e.message else 400)


def test_images(request):
    """GET /api/images/NAME: the images behind the map's dots for model NAME (uint8
    [3000, 28, 28] in one safetensors file, 2.3 MB), fetched when the page first shows a dot's
    card, then answered from the browser's cache."""
    try:
        etag, body = STORE.test_images_file(request.path_params["name"])
        return cached(request, etag, body, "application/octet-stream")
    except gr.Error as e:
        return JSONResponse({"error": e.message}, status_code=404)


class UploadGuard:
    """ASGI middleware bounding what Gradio's upload route writes to disk: each request must
    declare its length, at most MAX_UPLOAD_REQUEST (Gradio itself bounds each file, not how many
    a request carries: one request wrote 1000 files of 20 MB); while the upload folder holds
    MAX_UPLOADS_BYTES, uploads are refused (507) until the cache cleaning frees room."""

    def __init__(self, app):
        self.app = app
        self._measured = (0.0, 0)  # (when, bytes): the folder is walked at most every 2 s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].endswith("/upload"):
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if not length.isdigit():
            refusal = (411, "an upload must declare its Content-Length")
        elif int(length) > MAX_UPLOAD_REQUEST:
            refusal = (413, "an upload request may carry one file of at most 20 MB "
                            f"({MAX_UPLOAD_REQUEST // 2**20} MiB with its framing)")
        elif self.uploads_bytes() > MAX_UPLOADS_BYTES:
            refusal = (507, "the server's upload space is full; try again in a few minutes")
        else:
            return await self.app(scope, receive, send)
        await JSONResponse({"error": refusal[1]}, status_code=refusal[0])(scope, receive, send)

    def uploads_bytes(self):
        when, size = self._measured
        if time.monotonic() - when > 2:
            folder = Path(gr_utils.get_upload_folder())
            size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) \
                if folder.exists() else 0
            self._measured = (time.monotonic(), size)
        return size


class TrailingDefaults:
    """ASGI middleware: a positional call (POST /gradio_api/call/NAME with {"data": [...]})
    carrying fewer values than the endpoint takes gets the missing trailing ones as null, their
    defaults, as gradio_client and the named form (/call/v2/NAME) fill them. So a call written
    before an endpoint took one more argument (/decode's z) still works; Gradio itself refuses
    it with a message naming its components by memory address. Only a small body is read."""

    PATH = re.compile(r"^(?:/gradio_api)?/call/([A-Za-z0-9_]+)$")

    def __init__(self, app, arity):
        self.app, self.arity = app, arity  # {api name: how many inputs it takes}

    async def __call__(self, scope, receive, send):
        match = self.PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        length = dict(scope.get("headers", [])).get(b"content-length", b"")
        if (not match or scope["method"] != "POST" or match[1] not in self.arity
                or not length.isdigit() or int(length) > 2**16):
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        try:
            payload = json.loads(body)
            short = self.arity[match[1]] - len(payload["data"]) if isinstance(payload["data"], list) else 0
        except (ValueError, TypeError, KeyError):
            short = 0  # not {"data": [...]}: Gradio's own check names the problem (malformed)
        if short > 0:
            payload["data"] += [None] * short
            body = json.dumps(payload).encode()
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
            scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await self.app(scope, replay, send)


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


def serve(app, **launch):
    """Queue and launch the app with the project's routes and limits (main() and the tests).
    Uploads over 20 MB are refused by Gradio itself; smaller ones are checked by
    images.open_image. Any request body over MAX_BODY is refused before it is read whole into
    memory. show_error: Gradio's own refusals (too few inputs, a file outside its upload folder)
    then carry their reason to the caller instead of {"error": null}; handlers raise gr.Error.
    The page's <head> is the app's own (demo.build_app sets app.lsn_head)."""
    arity = {f.api_name: len(f.inputs) for f in app.fns.values() if f.api_name}
    routes = [Route("/api/decode.png", decode_png), Route("/api/model/{name}", model_file),
              Route("/api/images/{name}", test_images)]
    # api_open=False: every queued event is reached through the queue only, never a direct
    # POST /gradio_api/run/NAME, which skipped its concurrency limit (the README's REST calls and
    # gradio_client use the queue). The page's own events are queued (demo.py's `ui`).
    return app.queue(default_concurrency_limit=8, api_open=False).launch(
        max_file_size="20mb", show_error=True, head=getattr(app, "lsn_head", None), **launch,
        app_kwargs={"max_body_size": MAX_BODY, "routes": routes,
                    "middleware": [Middleware(UploadGuard), Middleware(TrailingDefaults, arity=arity)],
                    "exception_handlers": {RequestValidationError: malformed,
                                           FnIndexInferError: unknown_endpoint}})
