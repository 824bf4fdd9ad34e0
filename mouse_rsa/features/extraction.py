"""Features of every layer in one batched forward pass, kept as per-layer Gram matrices.

For each layer and stimulus pattern x (d units) we keep what both analyses need and nothing more:

* ``gram[i, j] = <P x_i, P x_j>`` where ``P`` removes each pattern's mean over units. The RDM
  (1 - Pearson r between patterns) follows from it exactly: ``1 - gram_ij / sqrt(gram_ii gram_jj)``.
* ``unit_mean[i]``, the pattern's mean over units, and ``n_units`` d, so that the raw linear
  kernel ``<x_i, x_j> = gram_ij + d · m_i · m_j`` is available to ridge encoding models.

Layers with more than ``max_dim`` units (default 4,096) are reduced to p dimensions, p the largest
prime ≤ ``max_dim`` (4,093), by a signed count-sketch (Charikar, Chen & Farach-Colton 2002; the
feature hashing of Weinberger et al. 2009): unit j goes to bucket j mod p with a random sign
σ_j = ±1 (seeded), so <Sx, Sy> is an unbiased estimate of <x, y> whose variance,
(‖x‖²‖y‖² + <x, y>²)/p for activations spread over many units, is that of a dense Gaussian
Johnson–Lindenstrauss projection to p dimensions: k ≈ 4,096 keeps the pairwise distances of 118
stimuli within about 1 ± 0.1 (sklearn.random_projection.johnson_lindenstrauss_min_dim(118,
eps=0.1) = 4,089), and projected RDMs correlate > 0.99 with the exact ones (tests/test_features.py).
A prime modulus makes the units that share a bucket come from scattered channels and positions
whatever the layer's shape. The sketch is a fold: the signed batch viewed as (batch, d // p, p) and
summed over its middle axis a few folds at a time, with the centring done afterwards,
S(x − m·1) = Sx − m·S1, so the sketch reads each activation once (the mean is the only other
pass) and no centred copy is made; the signs are drawn once per (d, p, seed) and kept on the host
for the process (each extraction copies the ones it uses to its device once, and drops them after).
Peak memory is then one batch of activations, a few MB of work space, and 118 × p floats per layer,
whatever the layer's size.

Everything stays on the extraction's device (``mouse_rsa.features.placement``): the patterns are
sketched, centred and kept there, and each layer's Gram is formed there in float64 at the end, so a
unit makes one host copy per layer (its Gram and means) instead of two per layer and batch.

The on-disk cache of these summaries is ``mouse_rsa.features.cache``.
"""
from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

import model_zoo
from model_zoo.layers import LayerTap

from ..errors import InvalidInput
from ..progress import progress_bar
from .grams import LayerGrams
from .placement import STORAGE, numerics, placed, release, resolve_device

DEFAULT_MAX_DIM = 4096
LayerPattern = str | Sequence[str] | None   # all layers, a glob, or exact names / globs
DEFAULT_BATCH = 16   # images per pass; activations set the peak memory (vgg16, 224 px: 1.8 GB; 2.4 GB with 32)
_CHUNK = 1 << 19   # values of the signed temporary per sketch step (2 MiB in float32)


@functools.cache
def sketch_size(max_dim: int) -> int:
    """Dimensions a layer with more than ``max_dim`` units is reduced to: the largest prime ≤ max_dim."""
    for p in range(max_dim, 2, -1):
        if all(p % q for q in range(2, math.isqrt(p) + 1)):
            return p
    return max_dim


@functools.lru_cache(maxsize=64)
def count_sketch(n_features: int, n_components: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Signs σ (n_features,) float32 of the count-sketch that sends unit j to bucket j mod
    ``n_components``, and the sketch S1 (n_components,) of a pattern of ones, on the host.

    Drawn from ``seed`` and the two sizes only, so every model and weight set with a layer of this
    size shares them; kept for the process (host memory only: an extraction copies them to its device).
    """
    rng = np.random.default_rng([seed, n_features, n_components])
    signs = torch.from_numpy(rng.integers(0, 2, n_features, dtype=np.int8).astype(np.float32) * 2 - 1)
    return signs, sketch(torch.ones(1, n_features), signs, n_components)[0]


def sketch(x: torch.Tensor, signs: torch.Tensor, n_components: int) -> torch.Tensor:
    """Count-sketch (b, n_components) of the rows of x (b, d): Σ_j σ_j x_j over the units j ≡ r mod
    n_components, for every bucket r. x is read once, a few folds of all rows at a time, so the signed
    temporary stays under ``_CHUNK`` values (in cache) and the running sums are added in place."""
    n, d = x.shape
    whole = d - d % n_components
    folded, folded_signs = x[:, :whole].view(n, -1, n_components), signs[:whole].view(-1, n_components)
    out = torch.zeros(n, n_components, dtype=x.dtype, device=x.device)
    out[:, :d - whole] = x[:, whole:] * signs[whole:]
    step = max(1, _CHUNK // (n * n_components))
    for t in range(0, folded.shape[1], step):
        out += (folded[:, t:t + step] * folded_signs[t:t + step]).sum(dim=1)
    return out


@dataclass(frozen=True)
class Run:
    """How an extraction runs: images per pass, device, floating-point precision, progress bar.

    ``precision``: float32 (the networks' own; TF32 off), tf32, bfloat16 or float64
    (``mouse_rsa.features.placement`` says what each computes).
    ``bn_calibration``: set every batch-norm layer's statistics from the stimuli first (``calibrate_batchnorm``).
    ``image_size``: the side (px) the stimuli are resized to, None for the model's own input size.
    """

    batch_size: int = DEFAULT_BATCH
    device: str | None = None
    precision: str = "float32"
    progress: bool = True
    bn_calibration: bool = False
    image_size: int | None = None


def calibrate_batchnorm(module: torch.nn.Module, batches: Iterator[torch.Tensor]) -> int:
    """Replace every batch-norm layer's running mean and variance with those of ``batches`` (one pass,
    cumulative average, the rest of the network in eval mode); returns how many layers changed.

    Randomly initialised batch norm has running mean 0 and variance 1, so in eval mode it only divides
    by sqrt(1 + eps): a random vgg16_bn computes the same features as a random vgg16. Calibrated, each
    layer standardises its channels over the stimuli, as training would have.
    """
    norms = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None           # cumulative moving average: the exact mean over all batches
        m.train()
    try:
        for batch in batches:
            module(batch)
    finally:
        for m, momentum in zip(norms, saved):
            m.momentum = momentum
            m.eval()
    return len(norms)


class _Collector:
    """Receives each layer's output batch, centres it (sketching it first if large) and keeps it on the
    device; ``result`` forms every layer's Gram there and copies it to the host once."""

    def __init__(self, max_dim: int, seed: int, device: torch.device, dtype: torch.dtype):
        self.max_dim, self.seed, self.device, self.dtype = max_dim, seed, device, dtype
        self.parts: dict[str, list[torch.Tensor]] = {}
        self.means: dict[str, list[torch.Tensor]] = {}
        self.n_units: dict[str, int] = {}
        self.signs: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # this extraction's copies, by layer size

    def _signs(self, d: int, p: int) -> tuple[torch.Tensor, torch.Tensor]:
        if d not in self.signs:
            self.signs[d] = tuple(t.to(self.device) for t in count_sketch(d, p, self.seed))  # type: ignore[assignment]
        return self.signs[d]

    def __call__(self, name: str, output: torch.Tensor) -> None:
        x = output.detach().flatten(1).to(self.dtype)
        mean = x.mean(dim=1, keepdim=True)
        d = x.shape[1]
        if d > self.max_dim:
            p = sketch_size(self.max_dim)
            signs, ones = self._signs(d, p)
            z = sketch(x, signs, p) - mean * ones          # = sketch of the centred pattern
        else:
            z = x - mean
        if name not in self.parts:
            self.parts[name], self.means[name], self.n_units[name] = [], [], d
        self.parts[name].append(z)
        self.means[name].append(mean[:, 0])

    def result(self) -> LayerGrams:
        names = list(self.parts)
        grams, means = [], []
        for name in names:
            z = torch.cat(self.parts.pop(name)).double()
            grams.append((z @ z.T).cpu().numpy())
            means.append(torch.cat(self.means.pop(name)).double().cpu().numpy())
        n_units = np.array([self.n_units[n] for n in names], dtype=np.int64)
        return LayerGrams(names, np.stack(grams), np.stack(means), n_units, n_units > self.max_dim)


@contextlib.contextmanager
def _sized(model: model_zoo.ZooModel, image_size: int | None) -> Iterator[None]:
    """A forward pass that fails at an image size other than the model's own becomes InvalidInput."""
    try:
        yield
    except (RuntimeError, ValueError) as err:
        if image_size is None or image_size == model.input_size:
            raise
        raise InvalidInput(f"{model.name} cannot run on {image_size} px images ({str(err).splitlines()[0]}); "
                           f"use a larger image_size (its own is {model.input_size} px)",
                           argument="image_size") from err


def extract(
    model: model_zoo.ZooModel,
    images: np.ndarray,
    layers: LayerPattern = None,
    max_dim: int = DEFAULT_MAX_DIM,
    seed: int = 0,
    run: Run = Run(),
) -> LayerGrams:
    """Run ``images`` (uint8, N × H × W) through ``model`` once, in eval mode without gradients, and
    summarise every layer (or those matching ``layers``: a glob, or a list of exact names and globs)
    in forward order; layers above ``max_dim`` units are count-sketched with signs from ``seed``.
    ``model.module`` is lent to ``run.device`` and put back where it was; the device's cached memory is
    released afterwards."""
    dev = resolve_device(run.device)
    if run.precision not in STORAGE:
        raise InvalidInput(f"precision must be one of {', '.join(STORAGE)}, not {run.precision!r}",
                           argument="precision")
    dtype = STORAGE[run.precision]
    collector = _Collector(max_dim, seed, dev, dtype)
    batches = range(0, len(images), run.batch_size)
    def inputs(start: int) -> torch.Tensor:
        return model.preprocess(images[start:start + run.batch_size], dev, run.image_size).to(dtype)

    try:
        with placed(model.module, dev, dtype) as module, _sized(model, run.image_size):
            if run.bn_calibration:
                with torch.no_grad(), numerics(run.precision, dev):
                    calibrate_batchnorm(module, (inputs(start) for start in batches))
            # no_grad, not inference_mode: LayerTap tells an in-place layer from a pass-through by the tensors'
            # version counters, which inference tensors lack (the forward pass costs the same either way)
            with torch.no_grad(), numerics(run.precision, dev), LayerTap(module, collector, layers):
                for start in progress_bar(batches, desc=f"{model.name} ({model.weights})", unit="batch",
                                          disable=not run.progress, leave=False):
                    module(inputs(start))
        if not collector.parts:
            raise InvalidInput(f"layers {layers!r} match no layer of {model.name}; "
                               f"list them with `mouse-rsa layers {model.name}`", argument="layers")
        return collector.result()
    finally:
        del collector
        release(dev)
