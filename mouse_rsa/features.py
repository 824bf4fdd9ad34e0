"""Features of every layer in one batched forward pass, kept as per-layer Gram matrices.

For each layer and stimulus pattern x (d units) we keep what both analyses need and nothing more:

* ``gram[i, j] = <P x_i, P x_j>`` where ``P`` removes each pattern's mean over units. The RDM
  (1 - Pearson r between patterns) follows from it exactly: ``1 - gram_ij / sqrt(gram_ii gram_jj)``.
* ``unit_mean[i]``, the pattern's mean over units, and ``n_units`` d, so that the raw linear
  kernel ``<x_i, x_j> = gram_ij + d · m_i · m_j`` is available to ridge encoding models.

Layers with more than ``max_dim`` units (default 4,096) are centred and then reduced by a very
sparse random projection (Li, Hastie & Church 2006; density 1/sqrt(d), entries ±sqrt(sqrt(d)/k)).
By the Johnson–Lindenstrauss lemma, k = 4,096 dimensions keep every pairwise squared distance of
118 stimuli within a factor 1 ± 0.1 (sklearn.random_projection.johnson_lindenstrauss_min_dim(118,
eps=0.1) = 4,089), with the lemma's usual probability; inner products move by at most about
ε·|x_i||x_j|. Peak memory is then bounded by one batch of activations plus 118 × 4,096 floats per
layer, whatever the layer's size.

Results are cached under ``$MOUSE_RSA_CACHE/features`` keyed by model, weights, seed, weights
source, layer pattern, input size, reduction and a hash of the stimuli; files are npz read with
``allow_pickle=False``, written atomically and rebuilt when their schema or checksum is off.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

import model_zoo
from model_zoo.layers import LayerTap

from .cache import atomic_path, cache_dir, sha256_arrays
from .errors import InvalidInput
from .grams import LayerGrams

DEFAULT_MAX_DIM = 4096
DEFAULT_BATCH = 32
_SCHEMA = 1


def sparse_projection(n_features: int, n_components: int, seed: int, device="cpu") -> torch.Tensor:
    """Very sparse random projection matrix (n_components × n_features) as a torch CSR tensor.

    Entries are ±sqrt(1 / (density · k)) with probability density/2 each and 0 otherwise,
    density = 1/sqrt(d) (scikit-learn's SparseRandomProjection with density='auto'); drawn here
    directly because scikit-learn's per-row sampler takes ~13 s for a 3.2M-unit layer.
    """
    density = 1.0 / math.sqrt(n_features)
    rng = np.random.default_rng([seed, n_features, n_components])
    nnz = rng.binomial(n_features * n_components, density)
    flat = np.unique(rng.integers(0, n_features * n_components, size=nnz, dtype=np.int64))
    rows, cols = np.divmod(flat, n_features)
    values = np.where(rng.random(len(flat)) < 0.5, -1.0, 1.0) * math.sqrt(1.0 / (density * n_components))
    index = np.int32 if n_features < 2**31 and len(flat) < 2**31 else np.int64  # int32 halves the index memory
    crow = np.zeros(n_components + 1, dtype=index)
    np.cumsum(np.bincount(rows, minlength=n_components), out=crow[1:])
    cols = cols.astype(index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(torch.from_numpy(crow), torch.from_numpy(cols),
                                       torch.from_numpy(values.astype(np.float32)),
                                       size=(n_components, n_features), device=device)


def resolve_device(device: str | None) -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise InvalidInput("--device cuda was asked for but no CUDA GPU is visible; use --device cpu")
    if device not in ("cpu", "cuda"):
        raise InvalidInput(f"unknown device {device!r}; use cpu, cuda or auto")
    return torch.device(device)


class _Collector:
    """Receives each layer's output batch, centres and (if large) projects it, and stores it."""

    def __init__(self, max_dim: int, seed: int, device: torch.device):
        self.max_dim, self.seed, self.device = max_dim, seed, device
        self.parts: dict[str, list[torch.Tensor]] = {}
        self.means: dict[str, list[torch.Tensor]] = {}
        self.n_units: dict[str, int] = {}
        self._projections: dict[int, torch.Tensor] = {}

    def __call__(self, name: str, output: torch.Tensor) -> None:
        x = output.detach().flatten(1).to(torch.float32)
        mean = x.mean(dim=1, keepdim=True)
        x = x - mean
        d = x.shape[1]
        if d > self.max_dim:
            if d not in self._projections:
                self._projections[d] = sparse_projection(d, self.max_dim, self.seed, self.device)
            x = (self._projections[d] @ x.T).T
        if name not in self.parts:
            self.parts[name], self.means[name], self.n_units[name] = [], [], d
        self.parts[name].append(x.cpu())
        self.means[name].append(mean[:, 0].double().cpu())

    def result(self) -> LayerGrams:
        names = list(self.parts)
        grams, means = [], []
        for name in names:
            z = torch.cat(self.parts.pop(name)).double()
            grams.append((z @ z.T).numpy())
            means.append(torch.cat(self.means[name]).numpy())
        n_units = np.array([self.n_units[n] for n in names], dtype=np.int64)
        return LayerGrams(names, np.stack(grams), np.stack(means), n_units, n_units > self.max_dim)


def extract(
    model: model_zoo.ZooModel,
    images: np.ndarray,
    layers: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    device: str | None = None,
    max_dim: int = DEFAULT_MAX_DIM,
    seed: int = 0,
    progress: bool = True,
) -> LayerGrams:
    """Run ``images`` (uint8, N × H × W) through ``model`` once, in eval mode without gradients, and
    summarise every layer (or those matching the glob ``layers``) in forward order."""
    dev = resolve_device(device)
    module = model.module.to(dev).eval()
    collector = _Collector(max_dim, seed, dev)
    batches = range(0, len(images), batch_size)
    with torch.no_grad(), LayerTap(module, collector, layers):
        for start in tqdm(batches, desc=f"{model.name} ({model.weights})", unit="batch",
                          disable=not progress, leave=False):
            module(model.preprocess(images[start:start + batch_size], dev))
    if not collector.parts:
        raise InvalidInput(f"no layer of {model.name} matches {layers!r}; "
                           f"list them with `mouse-rsa layers {model.name}`")
    return collector.result()


def cache_key(model: model_zoo.ZooModel, images: np.ndarray, layers: str | None, max_dim: int, seed: int) -> str:
    source = model.weights_source
    if os.path.isfile(source):
        stat = os.stat(source)
        source = f"{os.path.abspath(source)}:{stat.st_size}:{stat.st_mtime_ns}"
    spec = {"schema": _SCHEMA, "model": model.name, "weights": model.weights, "seed": seed,
            "source": source, "layers": layers, "input_size": model.input_size, "max_dim": max_dim,
            "stimuli": sha256_arrays(np.ascontiguousarray(images))}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]


def _checksum(g: LayerGrams) -> str:
    return sha256_arrays(np.array(g.names, dtype="U"), g.gram, g.unit_mean, g.n_units, g.reduced)


def save_grams(g: LayerGrams, path: Path) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, schema=np.int64(_SCHEMA), names=np.array(g.names, dtype="U"), gram=g.gram,
                     unit_mean=g.unit_mean, n_units=g.n_units, reduced=g.reduced,
                     checksum=np.array(_checksum(g)))


def load_grams(path: Path) -> LayerGrams | None:
    """The cached summaries, or None when the file is missing, stale or corrupt (then rebuilt)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if int(f["schema"]) != _SCHEMA:
                return None
            g = LayerGrams(list(map(str, f["names"])), f["gram"], f["unit_mean"], f["n_units"], f["reduced"])
            ok = str(f["checksum"]) == _checksum(g)
    except (OSError, KeyError, ValueError):
        return None
    return g if ok else None


def cached_extract(model: model_zoo.ZooModel, images: np.ndarray, layers: str | None = None,
                   batch_size: int = DEFAULT_BATCH, device: str | None = None,
                   max_dim: int = DEFAULT_MAX_DIM, seed: int = 0, progress: bool = True,
                   use_cache: bool = True) -> LayerGrams:
    """``extract`` with the on-disk cache: a repeated request reads the file instead of recomputing."""
    path = cache_dir("features", model.name, cache_key(model, images, layers, max_dim, seed) + ".npz")
    if use_cache and path.exists():
        cached = load_grams(path)
        if cached is not None:
            return cached
    grams = extract(model, images, layers, batch_size, device, max_dim, seed, progress)
    if use_cache:
        save_grams(grams, path)
    return grams
