"""The offline demo dataset: natural-image crops and simulated cells with a known generative model.

Stimuli: 118 grayscale crops (96 × 120 px, the Allen scenes' aspect ratio) cut at seeded random
positions and scales from the photographs scikit-image ships (astronaut, camera, coffee, ...).

Cells: the 21 area × layer sites of the Allen data (VISp, VISl, VISpm with L2/3–L6; VISal, VISam,
VISrl with L2/3–L5), 45–74 cells each. Every site reads out one known feature space F
(``GROUND_TRUTH``): a cell's drive over stimuli is a random Gaussian linear readout of F's
(pattern-centred) features, i.e. a draw from N(0, G) with G the Gram matrix mouse_rsa.features
computes for that layer, and the trial-averaged response is that drive times a gain a ∈ [0.5, 2]
(dF/F-like: zero baseline, positive and negative deflections). The readout is linear on purpose:
the site's RDM then converges to the feature space's RDM as cells are added, so the only gaps
between ground truth and data are the finite sample of cells and the trial noise. (A rectifying
readout with cell-specific baselines puts a fixed cell profile into every stimulus pattern, which
caps the RDM match near r = 0.2 even for noiseless cells.)
Single trials add Gaussian noise whose variance sets the cell's full 50-trial reliability to a
target ρ drawn uniformly from [0.45, 0.97] (noise var = 50 · signal var · (1/ρ − 1)), so split-half
reliabilities straddle the 0.75 threshold; ρ is kept in the cell table as ``true_reliability``.
0.5 % of trials are missing (NaN). The ground truth travels in ``metadata['ground_truth']``.

The file is the same on every machine: the ground-truth features are computed on the CPU in float64
(whatever GPU the machine has), their Grams rounded to 10 binary-scaled decimals, the readouts drawn
through the unique symmetric square root of each Gram (not eigenvectors, whose signs a LAPACK may
flip), and the responses rounded to 1e-6 before they are stored as float32. ``REFERENCE_HASH`` is the
content hash this builds; ``load_demo`` warns when a machine builds another one.
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..cache import cache_dir, check_cache, save_cached
from ..errors import InvalidInput, MouseRSAWarning
from ..progress import status
from .dataset import LAYER_SITES, NeuralDataset, load, save

VERSION = 4  # 3: ground-truth Grams from exact features (no random projection); 4: built the same everywhere
SEED = 0
N_STIMULI = 118
N_TRIALS = 50
SHAPE = (96, 120)
PHOTOS = ("astronaut", "brick", "camera", "chelsea", "clock", "coffee", "coins", "grass", "gravel",
          "hubble_deep_field", "immunohistochemistry", "moon", "retina", "rocket", "stereo_motorcycle")
SITES = [(a, layer) for a in ("VISp", "VISl", "VISpm") for layer in ("L2/3", "L4", "L5", "L6")] + \
        [(a, layer) for a in ("VISal", "VISam", "VISrl") for layer in ("L2/3", "L4", "L5")]
# feature spaces: (model, weights, seed, layer)
GABOR = ("gabor", "fixed", 0, "energy")
EARLY = ("mobilenet_v2", "random", 0, "features.3")
LATE = ("mobilenet_v2", "random", 0, "features.13")
GROUND_TRUTH = {"VISp": GABOR, "VISl": EARLY, "VISal": EARLY, "VISrl": EARLY, "VISpm": LATE, "VISam": LATE}
LAYER_DEPTH = {"L2/3": 175.0, "L4": 275.0, "L5": 375.0, "L6": 550.0}
LAYER_CRE = {"L2/3": "Cux2-CreERT2", "L4": "Rorb-IRES2-Cre", "L5": "Rbp4-Cre_KL100", "L6": "Ntsr1-Cre_GN220"}
MISSING_FRACTION = 0.005
EXACT = 2**62  # max_dim above any layer size: no projection
REFERENCE_HASH = "c690b67ea195ca063e6847b697e4033d57de00a0649cbc6b5879b5bf0786b37d"  # content hash of the demo this module builds (tests/test_dataset.py checks it)


def demo_path():
    return cache_dir("datasets", f"demo-v{VERSION}.h5")


def load_demo() -> NeuralDataset:
    """The demo dataset, built on first use (about a minute, with a note on stderr) and cached.

    A read-only cache without it gets it built in memory, each time (``mouse_rsa.cache.check_cache``).
    """
    return load_or_build(demo_path(), build_demo, REFERENCE_HASH)


def load_or_build(path, build: Callable[[], NeuralDataset], reference_hash: str) -> NeuralDataset:
    """The dataset cached at ``path``, else ``build()`` saved there (warning when it is not the reference build)."""
    if path.exists():
        try:
            return load(path)
        except InvalidInput as err:  # a cache that fails its checks is rebuilt, never reported as the user's problem
            warnings.warn(f"the cached dataset {path.name} was unreadable ({err}); rebuilding it", MouseRSAWarning,
                          stacklevel=3)
    writable = check_cache()
    status(f"building the {path.stem} dataset{f' into {path}' if writable else ''} (about a minute, once)")
    ds = build()
    if ds.content_hash() != reference_hash:
        warnings.warn(f"the {ds.name} dataset built on this machine differs from the reference build (its numbers "
                      "and keys will not match other machines'); please report it", MouseRSAWarning, stacklevel=3)
    if writable:
        save_cached(path, lambda p: save(ds, p))
    return ds


def demo_stimuli(rng: np.random.Generator) -> np.ndarray:
    from skimage import data as skdata
    from skimage.color import rgb2gray
    from skimage.transform import resize

    images = []
    for name in PHOTOS:
        img = getattr(skdata, name)()
        img = img[0] if isinstance(img, tuple) else img
        images.append(rgb2gray(img[..., :3]) if img.ndim == 3 else img / 255.0)
    aspect = SHAPE[1] / SHAPE[0]
    crops = np.empty((N_STIMULI, *SHAPE), dtype=np.uint8)
    for i in range(N_STIMULI):
        img = images[i % len(images)]
        h = int(min(img.shape[0], img.shape[1] / aspect) * rng.uniform(0.35, 0.95))
        w = int(h * aspect)
        y, x = rng.integers(0, img.shape[0] - h + 1), rng.integers(0, img.shape[1] - w + 1)
        crop = resize(img[y:y + h, x:x + w], SHAPE, anti_aliasing=True)
        crops[i] = np.clip(np.round(crop * 255), 0, 255).astype(np.uint8)
    return crops[rng.permutation(N_STIMULI)]


def feature_grams(spaces, stimuli: np.ndarray) -> dict:
    """The Gram matrix (stimuli × stimuli) of each ground-truth feature space, one pass per model."""
    import model_zoo

    from ..features.extraction import Run, extract

    grams = {}
    for model_name, weights, seed in sorted({s[:3] for s in spaces}):
        layers = sorted({s[3] for s in spaces if s[:3] == (model_name, weights, seed)})
        model = model_zoo.create(model_name, weights=weights, seed=seed)
        # exact features (no projection), in float64 on the CPU: the same Grams on every machine
        result = extract(model, stimuli, layers, EXACT, seed, Run(device="cpu", precision="float64", progress=False))
        for name, gram in zip(result.names, result.gram):
            grams[(model_name, weights, seed, name)] = _rounded(gram, 10)
    return grams


def _rounded(values: np.ndarray, decimals: int) -> np.ndarray:
    """``values`` rounded to ``decimals`` decimals of a power-of-two scale above their largest magnitude, so
    that float noise far below that precision (another BLAS, another CPU) gives the same numbers."""
    scale = 2.0 ** np.ceil(np.log2(np.abs(values).max()))
    return np.round(values / scale, decimals) * scale


def _square_root(gram: np.ndarray) -> np.ndarray:
    """The symmetric positive square root of a Gram matrix (unique, unlike eigenvectors' signs)."""
    vals, vecs = np.linalg.eigh(gram)
    return _rounded((vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T, 10)


@functools.cache
def ground_truth_design() -> tuple[Mapping[str, Any], np.ndarray, dict]:
    """The state of the demo's random stream after drawing the stimuli, the 118 stimuli, and the square
    root of the Gram matrix of each ground-truth feature space; read-only and computed once per process
    (the spiking demo reads out the same feature spaces from the same stimuli)."""
    rng = np.random.default_rng(SEED)
    stimuli = demo_stimuli(rng)
    spaces = feature_grams(set(GROUND_TRUTH.values()), stimuli)
    roots = {space: _square_root(gram) for space, gram in spaces.items()}
    for array in (stimuli, *roots.values()):
        array.setflags(write=False)
    return rng.bit_generator.state, stimuli, roots


def readout_drive(root: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` cells' drives over stimuli (cells × stimuli, unit SD): random Gaussian linear readouts of the
    feature space whose Gram square root is ``root``, i.e. draws from N(0, G)."""
    drive = (root @ rng.standard_normal((root.shape[0], n))).T
    return drive / drive.std(axis=1, keepdims=True)


def truth_entry(space: tuple) -> dict:
    """A feature space (model, weights, seed, layer) as the ground-truth record of ``metadata``."""
    return dict(zip(("model", "weights", "model_seed", "layer"), space))


def build_demo() -> NeuralDataset:
    state, stimuli, roots = ground_truth_design()
    rng = np.random.default_rng(SEED)
    rng.bit_generator.state = state
    responses: list[np.ndarray] = []
    blanks: list[np.ndarray] = []
    rows: list[dict] = []
    truth: dict[str, dict] = {}
    for s, (area, layer) in enumerate(SITES):
        space = GROUND_TRUTH[area]
        n = int(rng.integers(45, 75))
        drive = readout_drive(roots[space], n, rng)
        mean = rng.uniform(0.5, 2.0, (n, 1)) * drive
        rho = rng.uniform(0.45, 0.97, n)
        noise_sd = np.sqrt(N_TRIALS * mean.var(axis=1) * (1.0 / rho - 1.0))
        trials = mean[:, None, :] + noise_sd[:, None, None] * rng.standard_normal((n, N_TRIALS, N_STIMULI))
        trials[rng.random(trials.shape) < MISSING_FRACTION] = np.nan
        responses.append(np.round(trials, 6).astype(np.float32))
        blanks.append(np.round(noise_sd[:, None] * rng.standard_normal((n, N_TRIALS)), 6).astype(np.float32))
        for c in range(n):
            rows.append({"cell_id": 100000 + len(rows), "experiment_id": 5000 + s, "area": area,
                         "imaging_depth_um": LAYER_DEPTH[layer], "cortical_layer": layer,
                         "cre_line": LAYER_CRE[layer], "true_reliability": rho[c]})
        truth[f"{area}_{layer.replace('/', '')}"] = truth_entry(space)
    metadata = {"source": "demo", "modality": "2-photon", "site_scheme": LAYER_SITES, "version": VERSION,
                "seed": SEED, "photos": list(PHOTOS),
                "built_with": {"device": "cpu", "precision": "float64"},
                "ground_truth": truth, "n_trials": N_TRIALS,
                "description": "simulated cells reading out known feature spaces; see mouse_rsa.data.demo"}
    return NeuralDataset("demo", stimuli.copy(), np.arange(N_STIMULI), np.concatenate(responses),
                         pd.DataFrame(rows), np.concatenate(blanks), metadata)
