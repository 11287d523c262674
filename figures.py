"""Write the course figures into one folder: for the shipped AE and the VAEs with beta 1, 3 and 10
side by side, or (--toy) for the 2-D toy VAEs that `trainer.py --dataset toy1|toy2|toy3` writes.
The drawing itself lives in plots.py.

    python figures.py --out docs/figures                  # MNIST test images from the data root
    python figures.py --out /tmp/figs --spacing normal --models mnist_ae mnist_vae_beta4
    python figures.py --toy --out docs/figures/toy        # runs/toy{1,2,3}.safetensors

Writes into OUT:
    latent_scatter.png   test digits' codes (mu, from each model's atlas) coloured by digit
    decoded_grid.png     a 12 x 12 grid of decoded codes a model: AE over [-5, 5]², VAEs [-3, 3]²
    interpolation.png    a test 0 to a test 1 in 15 steps, one row a model (MNIST test images)
    training_curves.png  -ELBO, KL and reconstruction BCE per epoch, from each NAME.log.jsonl
    semantic_edits.png   the default model's edits along each digit attribute (directions.py)
                         from the centres of the 1s, 4s and 7s, two clicks down and up
With --toy:
    curves.png    train / validation / test -ELBO, KL and Gaussian NLL per epoch, a row a model
    samples.png   the test data, samples x ~ N(mu_x(z), sigma_x(z)^2) with z ~ N(0, I), and the
                  decoder means mu_x(z) alone (no decoder noise), a row a model
    latent.png    the test set's codes (mu of q(z|x)) coloured by label (toy3: blob, blob, ring)
The data root is --data-dir, else $LSN_DATA_DIR, else data/ (see data.py).
"""

import argparse
import sys
from pathlib import Path

import data
import latent_utils as lu
import plots
from neural_network import CheckpointError, list_models, load_model, model_path, pick_device, sibling

MODELS = ["mnist_ae", "mnist_vae_beta1", "mnist_vae_beta3", "mnist_vae_beta10"]  # the course's
EDITED = "mnist_vae_beta4"  # the semantic edits' figure: the app's default model
TOY_MODELS = [f"runs/{name}.safetensors" for name in data.TOYS]
GRID_N = 12
STEPS = 15


def get_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default="docs/figures", help="folder for the PNGs")
    p.add_argument("--toy", action="store_true", help="the toy figures of toy VAE checkpoints")
    p.add_argument("--models", nargs="+", metavar="NAME",
                   help=f"MNIST models from pretrained/ (default {' '.join(MODELS)}), or with "
                        f"--toy ToyVAE checkpoints (default {' '.join(TOY_MODELS)})")
    p.add_argument("--data-dir", help="dataset root holding MNIST/raw (else $LSN_DATA_DIR, "
                                      "else data/)")
    p.add_argument("--spacing", choices=["linear", "normal"], default="linear",
                   help="decoded grid: evenly spaced, or at equal prior mass (inverse normal CDF)")
    p.add_argument("--points", type=int, default=3000, help="test digits drawn per scatter panel")
    p.add_argument("--seed", type=int, default=0,
                   help="picks the scatter's digits and the test 0 and 1; draws the toy samples")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="auto: CUDA when available, else CPU")
    args = p.parse_args(argv)
    if args.points < 1:
        p.error(f"--points must be at least 1, not {args.points}")
    if not args.toy and args.models and set(args.models) - set(list_models()):
        p.error(f"--models must be names from pretrained/: {', '.join(list_models())}")
    args.models = args.models or (TOY_MODELS if args.toy else MODELS)
    return args


def course_figures(args, out):
    device = pick_device(args.device)
    loaded = {name: (load_model(name, device)[0], lu.load_atlas(name)) for name in args.models}
    not_mnist = [name for name, (_, atlas) in loaded.items() if atlas["dataset"] != "mnist"]
    if not_mnist:
        raise ValueError(f"these figures are of MNIST models; not {', '.join(not_mnist)}")
    x, labels = data.load("mnist", "test", args.data_dir)
    ends = data.pick_images(x, labels, [0, 1], args.seed)
    logs = {name: sibling(model_path(name), ".log.jsonl") for name in args.models}
    return [
        plots.save(plots.latent_scatter(loaded, args.points, args.seed), out / "latent_scatter.png"),
        plots.save(plots.decoded_grid(loaded, GRID_N, args.spacing), out / "decoded_grid.png"),
        plots.save(plots.interpolation_rows(loaded, ends, STEPS), out / "interpolation.png"),
        plots.save(plots.training_curves(logs), out / "training_curves.png"),
        plots.save(plots.semantic_edits(EDITED, load_model(EDITED, device)[0],
                                        lu.load_atlas(EDITED)), out / "semantic_edits.png"),
    ]


def toy_figures(args, out):
    loaded = {Path(p): load_model(p, "cpu") for p in args.models}
    not_toys = [str(p) for p, (_, meta) in loaded.items() if meta.get("dataset") not in data.TOYS]
    if not_toys:
        raise ValueError(f"these figures are of toy models; not {', '.join(not_toys)}")
    return [plots.save(plots.toy_curves(loaded), out / "curves.png"),
            plots.save(plots.toy_samples(loaded, args.seed), out / "samples.png"),
            plots.save(plots.toy_latent(loaded), out / "latent.png")]


def main(argv=None):
    args = get_args(argv)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = (toy_figures if args.toy else course_figures)(args, out)
    except (CheckpointError, data.DataError, ValueError, OSError) as e:
        sys.exit(f"error: {e}")
    print("wrote", *written, sep="\n  ")


if __name__ == "__main__":
    main()
