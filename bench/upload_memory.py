"""Upload memory: how much the server grows while it reads 16-megapixel uploads, measured from
outside the server process. Starts demo.py (of this checkout, or of --root) on a free 127.0.0.1
port, makes one 4000x4000 drawn 7 per format (2 KB to 250 KB on disk), and for each
sends --clients concurrent /encode calls as the README documents them (gradio_client,
`client.predict(handle_file(path), api_name="/encode")`), sampling the resident memory of the
server and its child processes every 20 ms (/proc/PID/status). Prints, per format, the baseline
before the calls, the peak during them, the growth (peak - baseline), what was kept a second
after, and the mu each call returned.

    .venv/bin/python bench/upload_memory.py                      # this checkout's demo.py
    .venv/bin/python bench/upload_memory.py --root /tmp/base     # an older checkout's (a worktree)
"""

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from gradio_client import Client, handle_file
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.harness import ROOT, rss_tree_mb, start_server  # noqa: E402

SIDE = 4000  # 16 MP, the largest upload images.open_image accepts
SAMPLE_S = 0.02
# format name -> (PIL format, paper, save options). The paper: white ("L"), transparent (RGBA: 4
# bytes a pixel once decoded, the dearest case for PNG), or a light colour gradient (RGB: over 256
# colours, so lossless WebP keeps no palette and libwebp holds 4 bytes a pixel while it decodes).
FORMATS = {
    "webp": ("WEBP", "white", {"lossless": True}),
    "webp-grad": ("WEBP", "gradient", {"lossless": True, "method": 0}),
    "jpeg": ("JPEG", "white", {"quality": 90}),
    "png": ("PNG", "white", {}),
    "png-rgba": ("PNG", "clear", {}),
}


def seven(paper, side=SIDE):
    """A 7 drawn with a thick dark stroke on `paper` ("white", "clear" or "gradient")."""
    if paper == "gradient":
        y, x = np.mgrid[0:side, 0:side]
        img = Image.fromarray(np.stack([200 + x % 56, 200 + y % 56, np.full_like(x, 230)], -1)
                              .astype(np.uint8))
    elif paper == "clear":
        img = Image.new("RGBA", (side, side), (255, 255, 255, 0))
    else:
        img = Image.new("L", (side, side), 255)
    corners = [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]
    ImageDraw.Draw(img).line([(x * side, y * side) for x, y in corners], fill="black", width=side // 12)
    return img


class Sampler:
    """The resident memory (MiB) of `pid` and its children, sampled every SAMPLE_S in a thread."""

    def __init__(self, pid):
        self.pid, self.samples, self._stop = pid, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.samples.append(rss_tree_mb(self.pid))
            time.sleep(SAMPLE_S)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def baseline(pid, seconds=0.5):
    """The median resident memory over `seconds` of quiet, sampled as the Sampler does."""
    with Sampler(pid) as s:
        time.sleep(seconds)
    return statistics.median(s.samples)


def burst(client, pid, path, clients):
    """-> (baseline, peak, kept a second after) in MiB and the mu of each of `clients` concurrent
    /encode calls of the file at `path`."""
    before = baseline(pid)
    with Sampler(pid) as s:
        jobs = [client.submit(handle_file(path), api_name="/encode") for _ in range(clients)]
        results = [job.result(timeout=300) for job in jobs]
    time.sleep(1)
    return before, max(s.samples), baseline(pid), [r["mu"] for r in results]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout whose demo.py is served")
    ap.add_argument("--clients", type=int, default=4, help="concurrent /encode calls per format")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="upload-memory-"))
    paths = {}
    for name, (fmt, paper, options) in FORMATS.items():
        paths[name] = folder / f"seven-{name}.{fmt.lower()}"
        seven(paper).save(paths[name], fmt, **options)
    warm = folder / "warm.png"  # loads the model and warms the upload path before any figure
    seven("white", 140).save(warm)
    server = start_server(root=args.root)
    client = Client(server.url, verbose=False)
    try:
        client.predict(handle_file(str(warm)), api_name="/encode")
        print(f"demo.py of {args.root}; {args.clients} concurrent /encode calls per format; RSS "
              f"(MiB) of the server and its children, sampled every {SAMPLE_S * 1000:.0f} ms")
        print(f"{'format':9s} {'file':>9s} {'baseline':>9s} {'peak':>7s} {'growth':>7s} "
              f"{'kept':>6s}  mu (as every call returned it)")
        for name, path in paths.items():
            before, peak, after, mus = burst(client, server.proc.pid, str(path), args.clients)
            same = all(mu == mus[0] for mu in mus)
            print(f"{name:9s} {path.stat().st_size / 1024:7.1f}KB {before:9.0f} {peak:7.0f} "
                  f"{peak - before:+7.0f} {after - before:+6.0f}  "
                  f"{[round(v, 4) for v in mus[0]]}{'' if same else f' (differ: {mus})'}")
    finally:
        client.close()
        server.stop()
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
