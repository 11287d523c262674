"""The model of the Latent Space Navigator: a conv VAE (or plain AE) with a 2-D latent space for
28x28 grey images, and its safetensors checkpoint I/O. Nothing else lives here (no CLI, no UI).

    from neural_network import load_model
    model, meta = load_model()        # the shipped default model; CUDA when available, else CPU
    mu, logvar = model.encode(x)      # x: [N, 1, 28, 28] in [0, 1]
    x = model.decode(z)               # z: [N, latent_dim] -> pixel probabilities [N, 1, 28, 28]
    mu, sigma = encode_all(model, x)  # any N, in batches, on the CPU
    digits = decode_uint8(model, z)   # uint8 [N, 28, 28]: what every tool shows or saves

ToyVAE (ToyConfig) is the small MLP VAE with a Gaussian decoder for the 2-D toy data of toy.py;
load_model rebuilds either class from a checkpoint's config.

Run `python -c "import neural_network as nn; print(nn.VAE(nn.VAEConfig()).num_params())"` to see
the parameter count of the default config (1,337,797).
"""

import json
import math
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from images import to_uint8

PRETRAINED = Path(__file__).resolve().parent / "pretrained"
DEFAULT_MODEL = "mnist_vae_beta4"


@dataclass
class VAEConfig:
    kind: str = "vae"  # "vae", or "ae": the same encoder/decoder with a deterministic code
    latent_dim: int = 2
    # Thin convs and a deep fully connected stack: on a 2-core CPU depth buys the most nats per
    # second. Measured after 15 epochs (test -ELBO / 5-NN accuracy, seed 0, 400 units): one
    # hidden layer per side 148.2 / 0.709, two 143.5 / 0.766, three 141.5 / 0.782.
    channels: tuple = (16, 32)  # conv widths at 14x14 and 7x7
    hidden: int = 304  # width of the fully connected layers (1.34M parameters in all)
    depth: int = 3  # fully connected hidden layers on each side
    # Recorded so that a checkpoint names its activation: a later network with the same shapes
    # but another activation must not load these weights silently.
    activation: str = "silu"


class VAE(nn.Module):
    def __init__(self, config: VAEConfig):
        super().__init__()
        if config.kind not in ("vae", "ae"):
            raise ValueError(f"VAEConfig.kind must be 'vae' or 'ae', not {config.kind!r}")
        if config.depth < 1:
            raise ValueError(f"VAEConfig.depth must be at least 1, not {config.depth}")
        if config.activation != "silu":
            raise ValueError(f"VAEConfig.activation must be 'silu', not {config.activation!r}")
        self.config = config
        c1, c2 = config.channels
        h, flat = config.hidden, c2 * 7 * 7
        heads = 2 if config.kind == "vae" else 1  # mu and logvar, or the code alone
        # SiLU rather than ReLU: 1.5 nats better test -ELBO at equal epochs (measured), and a
        # smooth decoder gives smooth walks through the latent space.
        act = nn.SiLU

        def stack():  # the depth - 1 hidden-to-hidden layers of one side
            return [m for _ in range(config.depth - 1) for m in (nn.Linear(h, h), act())]

        # Each stride-2 3x3 conv halves the side: 28 -> 14 -> 7; the transposed convs undo it
        # (output_padding=1 gives back the exact size). 3x3 rather than 4x4 kernels: 1.45x the
        # training images/s on a 2-core CPU.
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 3, 2, 1), act(),
            nn.Conv2d(c1, c2, 3, 2, 1), act(),
            nn.Flatten(),
            nn.Linear(flat, h), act(), *stack(),
            nn.Linear(h, heads * config.latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(config.latent_dim, h), act(), *stack(),
            nn.Linear(h, flat), act(),
            nn.Unflatten(1, (c2, 7, 7)),
            nn.ConvTranspose2d(c2, c1, 3, 2, 1, output_padding=1), act(),
            nn.ConvTranspose2d(c1, 1, 3, 2, 1, output_padding=1),
        )

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def encode(self, x):
        """x [N, 1, 28, 28] in [0, 1] -> (mu, logvar), each [N, latent_dim].
        An AE's code is exact, so its logvar is -inf (sigma = 0)."""
        h = self.encoder(x)
        if self.config.kind == "ae":
            return h, torch.full_like(h, float("-inf"))
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar

    def decode_logits(self, z):
        return self.decoder(z)

    def decode(self, z):
        """z [N, latent_dim] -> Bernoulli means (pixel probabilities) [N, 1, 28, 28]."""
        return torch.sigmoid(self.decoder(z))


def reparameterize(mu, logvar, eps=None):
    """z = mu + sigma * eps, eps ~ N(0, I): the sample is a differentiable function of
    (mu, logvar) (Kingma & Welling 2013, section 2.4). sigma = 0 (an AE) gives z = mu.
    eps may be given (the trainer's evaluation draws it from its own generator)."""
    eps = torch.randn_like(mu) if eps is None else eps
    return mu + torch.exp(0.5 * logvar) * eps


def loss_terms(logits, x, mu, logvar):
    """Per-image (bce, kl), each [N].
    bce: Bernoulli negative log-likelihood summed over pixels, computed from logits for stability.
    kl: kl_to_prior(mu, logvar)."""
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    return bce, kl_to_prior(mu, logvar)


def kl_to_prior(mu, logvar):
    """KL(N(mu, sigma^2) || N(0, I)) per example [N], in closed form (Kingma & Welling 2013,
    appendix B): -1/2 * sum(1 + logvar - mu^2 - exp(logvar)); zero for an AE, which has no
    posterior (its logvar is -inf). Decided per element on the device, not by reading logvar
    back to the host, so that a CUDA graph can capture the training step."""
    terms = 1 + logvar - mu.pow(2) - logvar.exp()
    return -0.5 * torch.where(torch.isneginf(logvar), 0.0, terms).sum(1)


def gaussian_nll(x, mu, logvar):
    """-log N(x; mu, diag(exp(logvar))) per example [N], summed over x's dimensions:
    0.5 * sum(log(2 pi) + logvar + (x - mu)^2 / exp(logvar)), the log-density of the Gaussian
    decoder of Kingma & Welling 2013, appendix C.2."""
    return 0.5 * (math.log(2 * math.pi) + logvar + (x - mu).pow(2) * torch.exp(-logvar)).sum(1)


@dataclass
class ToyConfig:
    kind: str = "gaussian"  # tells load_model this is a ToyVAE, not a VAE
    data_dim: int = 2
    latent_dim: int = 2
    # Measured on toy3, 100 epochs, test -ELBO (seed 0 / 1): depth 2 1.84; depth 3 1.71 / 1.71;
    # depth 4 1.58 / 2.01 (less stable); 128 units at depth 2 1.81, for twice the time.
    hidden: int = 64  # width of the MLP layers
    depth: int = 3  # hidden layers on each side


class ToyVAE(nn.Module):
    """An MLP VAE for low-dimensional real data: q(z|x) = N(mu, sigma^2) as in VAE, and a
    Gaussian decoder p(x|z) = N(mu_x(z), diag(sigma_x(z)^2)) that outputs both mu_x and
    log sigma_x^2 (Kingma & Welling 2013, appendix C.2)."""

    num_params = VAE.num_params  # the same count of parameters

    def __init__(self, config: ToyConfig):
        super().__init__()
        self.config = config

        def mlp(n_in, n_out):  # depth SiLU layers of `hidden` units, then a linear head
            sizes = [n_in] + [config.hidden] * config.depth
            hidden = [m for a, b in zip(sizes, sizes[1:]) for m in (nn.Linear(a, b), nn.SiLU())]
            return nn.Sequential(*hidden, nn.Linear(sizes[-1], n_out))

        self.encoder = mlp(config.data_dim, 2 * config.latent_dim)  # -> (mu, logvar) of z
        self.decoder = mlp(config.latent_dim, 2 * config.data_dim)  # -> (mu_x, logvar_x)

    def encode(self, x):
        """x [N, data_dim] -> (mu, logvar) of q(z|x), each [N, latent_dim]."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode_params(self, z):
        """z [N, latent_dim] -> (mu_x, logvar_x) of p(x|z), each [N, data_dim]."""
        mu_x, logvar_x = self.decoder(z).chunk(2, dim=1)
        return mu_x, logvar_x

    def decode(self, z):
        """z [N, latent_dim] -> the decoder's mean mu_x [N, data_dim] (no decoder noise)."""
        return self.decode_params(z)[0]


def elbo_terms(model, x, eps=None):
    """The two terms of -ELBO per example, each [N]: the reconstruction NLL -log p(x|z) of one
    z ~ q(z|x) drawn by reparameterisation (eps as in reparameterize), and the KL to the prior.
    p(x|z) is Bernoulli over pixels for a VAE (the BCE of loss_terms), a Gaussian for a ToyVAE."""
    mu, logvar = model.encode(x)
    z = reparameterize(mu, logvar, eps)
    if isinstance(model, ToyVAE):
        return gaussian_nll(x, *model.decode_params(z)), kl_to_prior(mu, logvar)
    return loss_terms(model.decode_logits(z), x, mu, logvar)


@torch.inference_mode()
def iwae_log_likelihood(model, x, k=1000, generator=None, eps=None, decodes=8192):
    """The importance-weighted estimate of log p(x) per image, in nats, as a CPU tensor [N]
    (Burda et al. 2015, eq. 8): log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), with
    z_i = mu + sigma * eps_i ~ q(z|x), p(x|z) the Bernoulli pixels of loss_terms, p(z) = N(0, I)
    and q the encoder's diagonal Gaussian. Its expectation is a lower bound on log p(x) that rises with k toward it;
    k = 1 is the one-sample ELBO (with the KL term sampled, not in closed form).
    eps [N, k, latent_dim] may be given; else it is drawn from `generator` (CPU) a few images at
    a time, about `decodes` z per pass. A VAE only: an AE has no q(z|x) to sample."""
    if getattr(model.config, "kind", None) != "vae":
        raise ValueError("log p(x) by importance sampling needs a VAE: an AE has no q(z|x)")
    device = next(model.parameters()).device
    model.eval()
    step = max(1, decodes // k)
    out = []
    for i in range(0, len(x), step):
        xb = torch.as_tensor(x[i:i + step]).float().to(device)
        mu, logvar = model.encode(xb)
        e = (eps[i:i + step].to(device) if eps is not None else
             torch.randn((len(xb), k, mu.shape[1]), generator=generator).to(device))
        z = mu[:, None] + torch.exp(0.5 * logvar)[:, None] * e  # [B, k, latent_dim]
        logits = model.decode_logits(z.flatten(0, 1)).view(len(xb), k, -1)
        target = xb.flatten(1)[:, None].expand_as(logits)
        log_px_z = -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(2)
        # log p(z) - log q(z|x): the log(2 pi) terms cancel, and (z - mu)^2 / sigma^2 = eps^2
        log_pz_qz = 0.5 * (logvar[:, None] + e.pow(2) - z.pow(2)).sum(2)
        out.append((torch.logsumexp(log_px_z + log_pz_qz, dim=1) - math.log(k)).cpu())
    return torch.cat(out) if out else torch.zeros(0)


@torch.inference_mode()
def encode_all(model, x, batch=4000):
    """Images [N, 1, 28, 28] (or toy points [N, d]) -> (mu, sigma) of q(z|x), each [N, latent_dim]
    on the CPU, in batches on the model's device. An AE's sigma is 0."""
    device = next(model.parameters()).device
    model.eval()
    mus, sigmas = [], []
    for i in range(0, len(x), batch):
        mu, logvar = model.encode(torch.as_tensor(x[i:i + batch]).float().to(device))
        mus.append(mu.cpu())
        sigmas.append(torch.exp(0.5 * logvar).cpu())
    return torch.cat(mus), torch.cat(sigmas)


@torch.inference_mode()
def decode_uint8(model, z):
    """Codes [N, latent_dim] (array, list or tensor) -> the decoded digits as uint8 [N, 28, 28]:
    the one decode path of the app, the interpolation tool, the figures and the trainer."""
    device = next(model.parameters()).device
    z = z.float() if torch.is_tensor(z) else torch.as_tensor(np.asarray(z, np.float32))
    z = z.reshape(-1, model.config.latent_dim)
    return to_uint8(model.decode(z.to(device)).cpu())


def model_state(tensors):
    """The model's own weights from a checkpoint's tensors (saved under "model."; optimizer state
    and RNG ride beside them under other keys)."""
    return {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}


def pick_device(name="auto") -> torch.device:
    """The one device rule: CUDA when available, else CPU; 'cpu' or 'cuda' overrides."""
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but CUDA is not available here")
    return torch.device(name)


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt or does not fit the model; the message names it."""


def list_models() -> list[str]:
    """Model names in pretrained/: NAME.safetensors with no dot in NAME (NAME.atlas.* and
    NAME.last.* are not models), in natural order (beta4 before beta10)."""
    names = [p.name.removesuffix(".safetensors") for p in PRETRAINED.glob("*.safetensors")]
    return sorted((n for n in names if "." not in n), key=natural_key)


def natural_key(name):
    """Sort key that orders the numbers inside a name by value: beta4 before beta10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def model_path(name_or_path=None) -> Path:
    """A model name from pretrained/ (e.g. 'mnist_vae_beta4'), or a path to a .safetensors file."""
    if name_or_path is None:
        name_or_path = DEFAULT_MODEL
    p = Path(name_or_path)
    if p.suffix != ".safetensors":
        p = PRETRAINED / f"{name_or_path}.safetensors"
    return p


def sibling(path, suffix) -> Path:
    """A file beside a checkpoint: NAME.safetensors -> NAME + suffix (".atlas.safetensors",
    ".log.jsonl", ...)."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".safetensors") + suffix)


def save_config(config, path):
    """Write a model's config beside its checkpoint, NAME.json and NAME.yaml, for tools that
    take a config file (interpolation.py --config-path) -> the two paths. The checkpoint holds
    its config too; these are for reading and for checking against."""
    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}
    written = [sibling(path, ".json"), sibling(path, ".yaml")]
    for target, text in zip(written, (json.dumps(fields, indent=2) + "\n",
                                      yaml.safe_dump(fields, sort_keys=False))):
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)  # atomic, as save_checkpoint
    return written


def read_config(path) -> "VAEConfig":
    """A VAEConfig from a JSON or YAML file (save_config's, or written by hand); ValueError
    naming the file and the problem."""
    path = Path(path)
    try:
        text = path.read_text()
        fields = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
        if not isinstance(fields, dict):
            raise ValueError("expected a mapping of VAEConfig fields")
        fields["channels"] = tuple(fields.get("channels", VAEConfig.channels))  # no tuples there
        return VAEConfig(**fields)
    except (OSError, ValueError, TypeError, yaml.YAMLError) as e:
        raise ValueError(f"config file {path.name} cannot be read as a VAEConfig: "
                         f"{' '.join(str(e).split())}") from None


def save_checkpoint(path, tensors: dict, metadata: dict):
    """Write tensors and JSON-able metadata atomically: a temp file in the same folder, flushed
    to disk, then renamed over the target, so a crash leaves the old file or the new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {k: json.dumps(v) for k, v in metadata.items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        try:
            save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, tmp, header)
        except SafetensorError as e:  # safetensors reports a failed write (a full disk) as its
            code = re.search(r"os error (\d+)", str(e))  # own type: make it the OSError it is
            if code is None:
                raise
            raise OSError(int(code[1]), os.strerror(int(code[1])), str(path)) from e
        umask = os.umask(0)
        os.umask(umask)
        # mkstemp and safetensors both make the file private; a checkpoint is an ordinary file
        os.chmod(tmp, 0o666 & ~umask)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path):
    """-> (tensors, metadata) of a safetensors file, never unpickling. Any defect raises
    CheckpointError naming the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: checkpoint file is empty (0 bytes)")
    try:
        with safe_open(path, framework="pt") as f:
            raw = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable safetensors file "
                              f"(truncated or another format): {e}") from None
    try:
        metadata = {k: json.loads(v) for k, v in raw.items()}
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: header metadata is not JSON: {e}") from None
    return tensors, metadata


def save_model(model: VAE | ToyVAE, path, meta: dict | None = None, extra: dict | None = None,
               dtype=None):
    """Save weights, config and the training record `meta`; `extra` tensors (optimizer state)
    ride along under their own keys for resumable checkpoints. dtype (torch.float16): the
    weights stored so, half the file; load_model reads them back into a float32 model."""
    tensors = {f"model.{k}": v.to(dtype) if dtype is not None and v.is_floating_point() else v
               for k, v in model.state_dict().items()}
    tensors.update(extra or {})
    save_checkpoint(path, tensors, {"config": asdict(model.config), "meta": meta or {}})


def decoder_tensors(path, dtype=torch.float16):
    """-> (tensors, metadata): the decoder half of a checkpoint and its own metadata (config and
    record), what the page fetches to decode in the browser. float16 halves the transfer (1.3 MB
    instead of 2.7 MB for the default network) and the page's digits still agree with torch's
    float32 decode within 1/255 per pixel (tests/test_decoder_js.py)."""
    tensors, metadata = load_checkpoint(path)
    decoder = {k: v.to(dtype).contiguous() for k, v in tensors.items()
               if k.startswith("model.decoder.")}
    if not decoder:
        raise CheckpointError(f"{path}: holds no decoder weights")
    return decoder, metadata


def load_model(path=None, device=None):
    """-> (model in eval mode on `device`, meta dict). `path`: a file or a name in pretrained/;
    None is the shipped default model. `device`: None is CUDA when available, else CPU. The
    model is a ToyVAE where the config's kind is "gaussian", else a VAE."""
    path = model_path(path)
    tensors, metadata = load_checkpoint(path)
    if "config" not in metadata:
        raise CheckpointError(f"{path}: metadata has no 'config' entry (not a model checkpoint)")
    try:
        cfg = dict(metadata["config"])
        if cfg.get("kind") == "gaussian":
            model = ToyVAE(ToyConfig(**cfg))
        else:
            if "activation" not in cfg:  # the one-layer ReLU network of the first release
                raise ValueError("it was made by an earlier version of the network (no "
                                 "'activation' in its config); retrain it with trainer.py")
            cfg["channels"] = tuple(cfg.get("channels", VAEConfig.channels))
            model = VAE(VAEConfig(**cfg))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: bad config in metadata: {e}") from None
    try:
        model.load_state_dict(model_state(tensors))
    except RuntimeError as e:
        detail = " ".join(str(e).split())
        raise CheckpointError(f"{path}: weights do not fit the config {cfg}: {detail}") from None
    device = device if isinstance(device, torch.device) else pick_device(device)
    return model.to(device).eval(), metadata.get("meta", {})
