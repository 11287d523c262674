"""Each shipped model's figures as the closing note reports them: latent size, weights, test
-ELBO (BCE + KL), 5-NN accuracy, how many of its 10 class centres decode to a digit of their
class, and, for a latent larger than 2, the share of the codes' variance the map's default plane
holds. The judge of a decoded centre shares nothing with the model: the 10-NN vote of the 55,000
MNIST training images in pixel space (as tests/test_model.py judges them).

    .venv/bin/python bench/shipped_models.py --data-dir ../shared/datasets
"""

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import data  # noqa: E402
import latent_utils as lu  # noqa: E402
import neural_network as nn  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", help="dataset root (else $LSN_DATA_DIR, else data/)")
    args = p.parse_args()
    x, labels = data.load("mnist", "train", args.data_dir)
    print("| model | latent | weights | test -ELBO (BCE + KL) | 5-NN acc. | centres decoding to "
          "their class | plane's share of variance |\n|---|---|---|---|---|---|---|")
    for name in nn.list_models():
        model, meta = nn.load_model(name, "cpu")
        atlas = lu.load_atlas(name)
        if atlas["dataset"] != "mnist":
            continue
        with torch.no_grad():
            images = model.decode(atlas["centres"])
        votes = lu.knn_predict(x.flatten(1), labels, images.flatten(1), k=10)
        right = int((votes == torch.arange(10)).sum())
        t, d = meta["test"], model.config.latent_dim
        share = f"{lu.plane(atlas['mu'])[2]:.1%}" if d > 2 else "(the map is z)"
        print(f"| {name} | {d} | {meta.get('weights', 'float32')} | {t['elbo']:.2f} ({t['bce']:.2f} + "
              f"{t['kl']:.2f}) | {t['knn5_accuracy']:.4f} | {right} / 10 | {share} |")


if __name__ == "__main__":
    main()
