"""Walk the 2-D latent space of a trained VAE (or AE) from one digit to another and write what the
decoder draws on the way: one PNG per step, a labelled strip and, on request, an animated GIF.

    python interpolation.py --digit1 3 --digit2 8 --steps 10 --output_dir out
    python interpolation.py --digit1 3 --digit2 8 --source centroid --method spherical --gif
    python interpolation.py --tour 31415926535 --output_dir out    # out/tour.gif: digits of pi
    python interpolation.py --model_path pretrained/mnist_vae_beta1.safetensors --no-cuda --gif

By default each end is one random test image of its digit (--seed picks them; the data root is
--data-dir or $LSN_DATA_DIR, as for trainer.py), encoded to its mean code mu. --source centroid
starts and ends at the class centres of the model's atlas instead and needs no dataset; nor does
--tour. Writes OUTPUT_DIR/step_00.png ... (one per step), OUTPUT_DIR/strip.png (the steps in a row
between the two ends, labelled) and, with --gif, OUTPUT_DIR/interpolation.gif (there and back).
Bad input stops with one line "error: ..." on stderr and exit code 2.
"""

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

import latent_utils as lu
from neural_network import DEFAULT_MODEL, CheckpointError, VAEConfig, load_model, pick_device
from trainer import load_data

MAX_STEPS = 1000
FRAME_MS = 80  # GIF frame time: 12.5 frames/s reads as motion without blurring the steps


class InputError(ValueError):
    """Bad input the user can fix; main() reports it in one line."""


def fail(message):
    """One line on stderr and exit code 2 (argparse's own code for bad input), no traceback."""
    print("error: " + " ".join(str(message).split()), file=sys.stderr)
    sys.exit(2)


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print its usage first: keep errors to one line
        fail(f"{message} (see --help)")


def int_range(lo, hi):
    """An argparse type: a whole number from lo to hi."""
    def parse(text):
        try:
            n = int(text)
        except ValueError:
            n = None
        if n is None or not lo <= n <= hi:
            raise argparse.ArgumentTypeError(f"must be a whole number from {lo} to {hi}, "
                                             f"not {text!r}")
        return n
    return parse


def get_args(argv=None):
    p = Parser(description=__doc__.split("\n\n")[0],
               formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--digit1", default="3", help="first class: its index, or a class name")
    p.add_argument("--digit2", default="8", help="second class")
    p.add_argument("--steps", type=int_range(2, MAX_STEPS), default=10,
                   help="points on the path, ends included")
    p.add_argument("--output_dir", default="runs/interpolation",
                   help="folder for the images (made if missing)")
    p.add_argument("--model_path", default=DEFAULT_MODEL,
                   help="a .safetensors checkpoint, or a model name from pretrained/")
    p.add_argument("--config_path",
                   help="JSON (or YAML) file of VAEConfig fields; must match the checkpoint's")
    p.add_argument("--no-cuda", action="store_true",
                   help="run on the CPU even when CUDA is available")
    p.add_argument("--source", choices=["test", "centroid"], default="test",
                   help="test: a random test image of each digit; centroid: the atlas's "
                        "class centres")
    p.add_argument("--method", choices=["linear", "spherical"], default="linear",
                   help="straight line (lerp) or great-circle turn (slerp) between the codes")
    p.add_argument("--seed", type=int, default=0, help="picks the test images")
    p.add_argument("--data-dir", default=os.environ.get("LSN_DATA_DIR", "data"),
                   help="dataset root for --source test (env LSN_DATA_DIR)")
    p.add_argument("--scale", type=int_range(1, 16), default=4,
                   help="pixels a side per MNIST pixel in the images")
    p.add_argument("--gif", action="store_true",
                   help="also write interpolation.gif, forward then back")
    p.add_argument("--tour", metavar="DIGITS",
                   help="instead, write tour.gif travelling centre to centre through these digits")
    p.add_argument("--frames-per-leg", type=int_range(1, MAX_STEPS), default=12,
                   help="tour frames per leg")
    return p.parse_args(argv)


# --- config -----------------------------------------------------------------------------------

def read_config(path):
    """A VAEConfig from a JSON file, or a YAML one when PyYAML is installed."""
    path = Path(path)
    yaml = None
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml  # optional: JSON needs nothing beyond the standard library
        except ImportError:
            raise InputError(f"{path}: YAML needs PyYAML; use a JSON config, "
                             "or pip install pyyaml") from None
    unreadable = (OSError, ValueError, TypeError) + ((yaml.YAMLError,) if yaml else ())
    try:
        fields = yaml.safe_load(path.read_text()) if yaml else json.loads(path.read_text())
        if not isinstance(fields, dict):
            raise ValueError("expected a mapping of VAEConfig fields")
        fields["channels"] = tuple(fields.get("channels", VAEConfig.channels))  # JSON has no tuples
        return VAEConfig(**fields)
    except unreadable as e:
        raise InputError(f"config file {path} cannot be read as a VAEConfig: {e}") from None


def check_config(config, path):
    """The checkpoint carries its own config; a config file given too must say the same."""
    want, have = asdict(read_config(path)), asdict(config)
    diff = [f"{k} is {want[k]!r} there but {have[k]!r} in the checkpoint"
            for k in have if want[k] != have[k]]
    if diff:
        raise InputError(f"config file {path} disagrees with the checkpoint: " + "; ".join(diff))


# --- codes and images ---------------------------------------------------------------------------

def class_index(classes, name):
    """An index ('3') or a class name ('Sneaker') of the model's dataset -> its index."""
    if name in classes:
        return classes.index(name)
    if name.isdecimal() and int(name) < len(classes):
        return int(name)
    names = "" if classes == lu.MNIST_CLASSES else " or one of " + ", ".join(classes)
    raise InputError(f"{name!r} is not a class of this model: use 0-{len(classes) - 1}{names}")


def pick_images(x, y, wanted, seed=0):
    """One random image of each class in `wanted` (a class twice: two different images)."""
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed)).tolist()
    idx = []
    for c in wanted:
        idx.append(next(i for i in order if y[i] == c and i not in idx))
    return x[idx]


def latent_path(z0, z1, steps, method="linear"):
    return (lu.lerp if method == "linear" else lu.slerp)(z0, z1, steps)


@torch.no_grad()
def encode(model, x):
    """Images [N, 1, 28, 28] in [0, 1] -> their mean codes mu [N, d], on the CPU."""
    return model.encode(x.to(next(model.parameters()).device))[0].cpu()


@torch.no_grad()
def decode(model, z):
    """Codes [N, d] -> the decoded images as uint8 [N, 28, 28]."""
    return lu.to_uint8(model.decode(torch.as_tensor(z).float().to(next(model.parameters()).device)))


def strip(frames, labels, scale, gap=2):
    """Frames [N, 28, 28] in a row on white, each with its label centred underneath (on two
    lines when one is wider than the frame, as 'centre Ankle boot' is)."""
    row = lu.enlarge(lu.mosaic(frames, len(frames), gap), scale)
    size = 10 + scale  # text height in pixels
    font = ImageFont.load_default(size=size)
    img = Image.new("L", (row.width, row.height + 2 * size + 10), 255)
    img.paste(row)
    draw = ImageDraw.Draw(img)
    for i, label in enumerate(labels):
        if draw.textlength(label, font=font) > 28 * scale:
            label = label.replace(" ", "\n", 1)
        x = (i * (28 + gap) + 14) * scale  # the frame's centre
        draw.multiline_text((x, row.height + 4), label, fill=0, font=font, anchor="ma",
                            align="center")
    return img


def save_gif(frames, path, scale):
    images = [lu.enlarge(f, scale) for f in frames]
    # loop=0: play forever
    images[0].save(path, save_all=True, append_images=images[1:], duration=FRAME_MS, loop=0)


# --- the two jobs -----------------------------------------------------------------------------

def interpolate(args, model, atlas, a, b, out):
    classes = atlas["classes"]
    if args.source == "centroid":
        ends = atlas["centres"][[a, b]]
        originals, kind = decode(model, ends), "centre"
    else:
        x, y = load_data(atlas["dataset"], args.data_dir, train=False)
        images = pick_images(x, y, [a, b], args.seed)
        ends, originals, kind = encode(model, images), lu.to_uint8(images), "test"
    frames = decode(model, latent_path(ends[0], ends[1], args.steps, args.method))

    for old in out.glob("step_*.png"):  # a longer earlier run would leave frames past the last step
        old.unlink()
    width = max(2, len(str(args.steps - 1)))
    for i, f in enumerate(frames):
        lu.enlarge(f, args.scale).save(out / f"step_{i:0{width}d}.png")
    labels = [f"{kind} {classes[a]}", *map(str, range(args.steps)), f"{kind} {classes[b]}"]
    row = np.concatenate([originals[:1], frames, originals[1:]])
    strip(row, labels, args.scale).save(out / "strip.png")
    written = [f"{out}/step_{0:0{width}d}.png .. step_{args.steps - 1:0{width}d}.png "
               f"({args.steps} frames)", out / "strip.png"]
    if args.gif:
        # Ping-pong: forward, then back without repeating the ends, so the loop never stutters.
        save_gif(np.concatenate([frames, frames[-2:0:-1]]), out / "interpolation.gif", args.scale)
        written.append(out / "interpolation.gif")
    return written


def tour(args, model, atlas, stops, out):
    """A GIF from centre to centre through `stops`: frames-per-leg frames a leg, then the last
    centre once more (legs * frames-per-leg + 1 frames)."""
    centres = atlas["centres"]
    legs = [latent_path(centres[s], centres[t], args.frames_per_leg + 1, args.method)[:-1]
            for s, t in zip(stops, stops[1:])]
    save_gif(decode(model, torch.cat([*legs, centres[stops[-1:]]])), out / "tour.gif", args.scale)
    return [out / "tour.gif"]


def main(argv=None):
    args = get_args(argv)
    try:
        model, _ = load_model(args.model_path, pick_device("cpu" if args.no_cuda else "auto"))
        if args.config_path:
            check_config(model.config, args.config_path)
        atlas = lu.load_atlas(args.model_path)  # class names, centres and the dataset's name
        wanted = args.tour or [args.digit1, args.digit2]
        stops = [class_index(atlas["classes"], d) for d in wanted]
        if len(stops) < 2:
            raise InputError(f"--tour needs at least two digits, not {args.tour!r}")
        out = Path(args.output_dir)
        try:  # only now, so that bad input leaves no empty folder behind
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"cannot create the output folder {out}: {e.strerror}") from None
        if args.tour:
            written = tour(args, model, atlas, stops, out)
        else:
            written = interpolate(args, model, atlas, *stops, out)
    except (InputError, CheckpointError, OSError) as e:
        fail(e)
    print("wrote", *written, sep="\n  ")


if __name__ == "__main__":
    main()
