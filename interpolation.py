"""Walk the latent space (of any size) of a trained VAE (or AE) from one digit to another and write
what the decoder draws on the way: one PNG per step, a labelled strip and, on request, an animated
GIF.

    python interpolation.py --digit1 3 --digit2 8 --steps 10 --output-dir out
    python interpolation.py --digit1 3 --digit2 8 --source centroid --method spherical --gif
    python interpolation.py --tour 31415926535 --output-dir out    # out/tour.gif: digits of pi
    python interpolation.py --model-path pretrained/mnist_vae_beta1.safetensors --device cpu --gif
    python interpolation.py --model_path pretrained/mnist_ae_d10.safetensors \
        --config_path pretrained/mnist_ae_d10.yaml --digit1 3 --digit2 8 --steps 10 --output_dir out --no-cuda

By default each end is one random test image of its digit (--seed picks them; the data root is
--data-dir, else $LSN_DATA_DIR, else data/, as for every tool), encoded to its mean code mu. --source centroid
starts and ends at the class centres of the model's atlas instead and needs no dataset; nor does
--tour. Writes OUTPUT_DIR/step_00.png ... (one per step), OUTPUT_DIR/strip.png (the steps in a row
between the two ends, labelled) and, with --gif, OUTPUT_DIR/interpolation.gif (there and back).
Bad input stops with one line "error: ..." on stderr and exit code 2. The underscore spellings of
the first release (--output_dir, --model_path, --config_path) still work.
"""

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

import data
import latent_utils as lu
from images import enlarge, labelled_strip, save_gif, to_uint8
from neural_network import DEFAULT_MODEL, CheckpointError, decode_uint8, encode_all, load_model
from neural_network import read_config as nn_read_config

MAX_STEPS = 1000


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
    p.add_argument("--output-dir", "--output_dir", dest="output_dir", default="runs/interpolation",
                   help="folder for the images (made if missing)")
    p.add_argument("--model-path", "--model_path", dest="model_path", default=DEFAULT_MODEL,
                   help="a .safetensors checkpoint, or a model name from pretrained/")
    p.add_argument("--config-path", "--config_path", dest="config_path",
                   help="JSON (or YAML) file of VAEConfig fields; must match the checkpoint's")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="auto: CUDA when available, else CPU")
    p.add_argument("--no-cuda", dest="device", action="store_const", const="cpu",
                   help="the same as --device cpu")
    p.add_argument("--source", choices=["test", "centroid"], default="test",
                   help="test: a random test image of each digit; centroid: the atlas's "
                        "class centres")
    p.add_argument("--method", choices=["linear", "spherical"], default="linear",
                   help="straight line (lerp) or great-circle turn (slerp) between the codes")
    p.add_argument("--seed", type=int, default=0, help="picks the test images")
    p.add_argument("--data-dir", help="dataset root for --source test (else $LSN_DATA_DIR, "
                                      "else data/)")
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
    """A VAEConfig from a JSON or YAML file (neural_network.read_config)."""
    try:
        return nn_read_config(path)
    except ValueError as e:
        raise InputError(str(e)) from None


def check_config(config, path):
    """The checkpoint carries its own config; a config file given too must say the same."""
    want, have = asdict(read_config(path)), asdict(config)
    diff = [f"{k} is {want[k]!r} there but {have[k]!r} in the checkpoint"
            for k in have if want[k] != have[k]]
    if diff:
        raise InputError(f"config file {path} disagrees with the checkpoint: " + "; ".join(diff))


# --- the two jobs -----------------------------------------------------------------------------


def interpolate(args, model, atlas, a, b, out):
    classes = atlas["classes"]
    if args.source == "centroid":
        ends = atlas["centres"][[a, b]]
        originals, kind = decode_uint8(model, ends), "centre"
    else:
        x, labels = data.load(atlas["dataset"], "test", args.data_dir)
        images = data.pick_images(x, labels, [a, b], args.seed)
        ends, originals, kind = encode_all(model, images)[0], to_uint8(images), "test"
    centre = lu.turn_centre(atlas["mu"], model.config.kind == "vae")
    frames = decode_uint8(model, lu.latent_path(ends[0], ends[1], args.steps, args.method, centre))

    for old in out.glob("step_*.png"):  # a longer earlier run would leave frames past the last step
        old.unlink()
    width = max(2, len(str(args.steps - 1)))
    for i, f in enumerate(frames):
        enlarge(f, args.scale).save(out / f"step_{i:0{width}d}.png")
    labels = [f"{kind} {classes[a]}", *map(str, range(args.steps)), f"{kind} {classes[b]}"]
    row = np.concatenate([originals[:1], frames, originals[1:]])
    labelled_strip(row, labels, args.scale).save(out / "strip.png")
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
    legs = [lu.latent_path(centres[s], centres[t], args.frames_per_leg + 1, args.method,
                           lu.turn_centre(atlas["mu"], model.config.kind == "vae"))[:-1]
            for s, t in zip(stops, stops[1:])]
    save_gif(decode_uint8(model, torch.cat([*legs, centres[stops[-1:]]])), out / "tour.gif",
             args.scale)
    return [out / "tour.gif"]


def main(argv=None):
    args = get_args(argv)
    try:
        model, _ = load_model(args.model_path, args.device)
        if args.config_path:
            check_config(model.config, args.config_path)
        atlas = lu.load_atlas(args.model_path)  # class names, centres and the dataset's name
        wanted = args.tour or [args.digit1, args.digit2]
        stops = [data.class_index(atlas["classes"], d, "a digit") for d in wanted]
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
    except (InputError, ValueError, CheckpointError, data.DataError, OSError) as e:
        fail(e)
    print("wrote", *written, sep="\n  ")


if __name__ == "__main__":
    main()
