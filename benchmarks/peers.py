"""Honest speed figures: mouse-rsa against its peers on the same data and the same folds, in one process.

Every row is a ratio, peer (or bare-forward) seconds / project seconds, so > 1 means the project is
faster, with the largest difference between the numbers both computed:

* ``nnls_<L>_layers_<target>_vs_sklearn``: cross-validated NNLS of 21 site RDMs on L layer RDMs
  (118 stimuli, 6 folds, 1 repeat) by ``nnls.fit_cv_nnls`` against a loop over sites and folds of
  scikit-learn's ``LinearRegression(positive=True)``, assembling the held-out prediction as the
  project does (a cell touching two held-out folds gets the mean); max_abs_diff = max |Δr|.
* ``nnls_<L>_layers_<target>_vs_rsatoolbox``: against rsatoolbox: ``ModelWeighted`` fitted with
  its non-negative regression (``fit_regress_nn`` in 0.3.2, ``fit_regress_nonneg`` in later
  releases) under ``inference.crossval`` on the same folds, without a noise ceiling. rsatoolbox
  scores each fold on the held-out × held-out cells only, so max_abs_diff compares its evaluations
  with the same evaluation of the project's fold fits. Its active-set loop stops on an absolute
  tolerance (gradient ≤ 100·eps) and never ends when rounding leaves the gradient of a variable
  already in its passive set above that: with ~4,800 training cells and the z-scored, shifted
  (mean ≈ 3) data RDM it builds, the rounding is ~1e-13, and it hangs on these data. The layer
  RDMs are therefore given to it scaled by ``RSATOOLBOX_SCALE``, which scales that rounding down
  and changes neither its fitted RDM's direction nor its correlation scores.
  Layer RDMs come from a seeded random deep network (adjacent layers correlate as a CNN's do);
  targets are ``random`` (RDMs of independent random features) or ``planted`` (a non-negative mix
  of four layer RDMs plus noise).
* ``nnls_<R>_repeats_21_sites_100_layers``: the project alone (seconds; no peer).
* ``ridge_vs_ridgecv``: ``encoding.encode`` against one ``RidgeCV(alphas, alpha_per_target=True)``
  call per layer and fold, on explicit features with exactly the layer's kernel, the same folds and
  the same penalty grid; demo cells, mobilenet_v2 (random weights) layers. max_abs_diff = max |Δr|
  of the held-out r per layer and cell; ``accuracy_*`` = mean held-out r of each.
* ``rsa_layer_vs_rsatoolbox``: the cross-validated single-layer RSA (``rsa_layer.choose_layers``: every
  layer correlated with every site on the training cells, the best scored on the held-out cells) of the
  demo's 21 sites on mobilenet_v2's (random) layer RDMs, 6 folds, against rsatoolbox choosing the layer
  (``compare(..., method='corr')`` of the RDMs ``subsample_pattern``-ed to the training stimuli) and scipy's
  ``pearsonr`` on the held-out cells; max_abs_diff = max |Δ| of the site scores.
* ``cka_vs_kornblith``: the cross-validated debiased linear CKA (``cka.choose_layers``) of the demo sites'
  cell kernels with mobilenet_v2's layer kernels against a loop of Kornblith et al.'s Gram-matrix CKA
  (unbiased centring, ``debiased=True``) per fold, site and layer, written out as in their code.
* ``pls_vs_sklearn``: PLS1 with 25 components (``pls.pls_fit``) of the demo's cells on every 10th
  mobilenet_v2 layer, one fold, against one ``PLSRegression(25, scale=False)`` per layer and cell on
  explicit features with exactly the layer's kernel; max_abs_diff = max |Δ| of the held-out predictions.
* ``extraction_<model>``: ``features.extract`` of every layer against the bare forward pass of the
  same images (224 px, batch 32, CPU), each in its own subprocess with its peak RSS.
* ``benchmark_cold`` / ``benchmark_warm``: the whole ``mouse-rsa benchmark --model mobilenet_v2
  --weights random --dataset demo --method all`` with an empty / a filled feature cache, against
  the bare forward pass of its 118 images (in its process, imports and model building not timed);
  ``score_s`` is the scoring time of its two units.
* ``benchmark_<cold|warm>_vs_forward_script``: the same two commands against the script a user
  would write for the bare forward pass (``FORWARD_SCRIPT``: import torch and torchvision, build
  mobilenet_v2, read the 118 images from an .npy, resize, normalise, forward in batches of 16),
  both timed as whole processes, start-up and imports included. In these rows the bare forward pass,
  the script and the warm command are each the fastest of ``REPEATS`` runs; the cold command runs once.

Usage: python benchmarks/peers.py [--quick] [--only methods] [--json FILE]
(--quick: fewer images for extraction, 4 sites at 300 layers, 100 repeats; under 3 minutes. --only methods:
the rows of rsa_layer, cka and pls alone.)
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from mouse_rsa.features.grams import LayerGrams
from mouse_rsa.methods import cka, nnls, pls, rsa_layer
from mouse_rsa.methods import encoding_ridge as encoding
from mouse_rsa.methods.cells import column_r
from mouse_rsa.methods.folds import fold_labels, stimulus_folds
from mouse_rsa.rdm import rdm, upper

N_STIMULI, N_SITES, FOLDS = 118, 21, 6
EXTRACTION_MODELS = ("mobilenet_v2", "resnet50", "vgg16")
RSATOOLBOX_SCALE = 1e-3
REPEATS = 3  # the whole-command rows: fastest of this many runs of each side (cold: one run)
Row = dict
T = TypeVar("T")


def timed(fn: Callable[..., T], *args: Any) -> tuple[float, T]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def row(comparison: str, project_s: float, peer_s: float, max_abs_diff: float | None, **extra) -> Row:
    return {"comparison": comparison, "ratio": peer_s / project_s, "max_abs_diff": max_abs_diff,
            "project_s": project_s, "peer_s": peer_s, **extra}


# ---------------------------------------------------------------- cross-validated NNLS

def layer_vectors(n_layers: int, seed: int = 0) -> np.ndarray:
    """RDM upper triangles (n_pairs, n_layers) of a random deep tanh network on 118 random stimuli."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N_STIMULI, 64))
    rdms = []
    for _ in range(n_layers):
        x = np.tanh(x @ rng.normal(size=(64, 64)) / 8 + 0.3 * rng.normal(size=x.shape))
        rdms.append(rdm(x))
    return upper(np.stack(rdms)).T


def site_vectors(x: np.ndarray, target: str, n_sites: int, seed: int = 1) -> np.ndarray:
    """Site RDMs (n_pairs, n_sites): independent random ones, or planted non-negative layer mixes."""
    rng = np.random.default_rng(seed)
    if target == "random":
        return upper(np.stack([rdm(rng.normal(size=(N_STIMULI, 30))) for _ in range(n_sites)])).T
    mixes = [x[:, rng.choice(x.shape[1], 4, replace=False)] @ rng.random(4) for _ in range(n_sites)]
    y = np.stack(mixes, axis=1)
    return y + 0.5 * y.std(axis=0) * rng.normal(size=y.shape)


def sklearn_cv_nnls(x: np.ndarray, y: np.ndarray, partitions: list[list[np.ndarray]]) -> np.ndarray:
    """Scores (n_repeats, n_sites) of the plain loop: LinearRegression(positive=True) per site and fold."""
    from sklearn.linear_model import LinearRegression

    i, j = np.triu_indices(N_STIMULI, k=1)
    scores = np.zeros((len(partitions), y.shape[1]))
    for s in range(y.shape[1]):
        for r, folds in enumerate(partitions):
            total, count, any_weight = np.zeros(len(y)), np.zeros(len(y)), False
            for test in folds:
                touches = np.isin(i, test) | np.isin(j, test)
                fit = LinearRegression(positive=True).fit(x[~touches], y[~touches, s])
                any_weight |= bool((fit.coef_ > 0).any())
                total[touches] += fit.predict(x[touches])
                count[touches] += 1
            scores[r, s] = np.corrcoef(total / count, y[:, s])[0, 1] if any_weight else 0.0
    return scores


def rsatoolbox_cv_nnls(x: np.ndarray, y: np.ndarray, folds: list[np.ndarray]) -> np.ndarray:
    """rsatoolbox's evaluation (n_sites, n_folds) of ModelWeighted + fit_regress_nn under crossval."""
    from rsatoolbox.inference import crossval
    from rsatoolbox.model import ModelWeighted, fit_regress_nn
    from rsatoolbox.rdm import RDMs

    index = {"index": np.arange(N_STIMULI)}
    model = ModelWeighted("layers", RDMs(RSATOOLBOX_SCALE * x.T, dissimilarity_measure="correlation",
                                         pattern_descriptors=index))
    evaluations = np.zeros((y.shape[1], len(folds)))
    for s in range(y.shape[1]):
        data = RDMs(y[:, s][None], dissimilarity_measure="correlation", pattern_descriptors=index)
        train = [np.setdiff1d(np.arange(N_STIMULI), test) for test in folds]
        train_set = [(data.subsample_pattern("index", t), t) for t in train]
        test_set = [(data.subsample_pattern("index", t), t) for t in folds]
        result = crossval(model, data, train_set, test_set, method="corr", fitter=fit_regress_nn,
                          calc_noise_ceil=False)
        evaluations[s] = result.evaluations[0, 0]
    return evaluations


def held_out_block_r(x: np.ndarray, y: np.ndarray, fit: nnls.CVNNLSFit, folds: list[np.ndarray]) -> np.ndarray:
    """rsatoolbox's evaluation of the project's fits: r over the held-out × held-out cells (sites, folds)."""
    i, j = np.triu_indices(N_STIMULI, k=1)
    out = np.zeros((y.shape[1], len(folds)))
    for k, test in enumerate(folds):
        cells = np.isin(i, test) & np.isin(j, test)
        pred = x[cells] @ fit.weights[0, k].T                               # (cells, sites)
        for s in range(y.shape[1]):
            out[s, k] = np.corrcoef(pred[:, s], y[cells, s])[0, 1]
    return out


def warm_up() -> None:
    """Import the peers before any timing (an import is not part of a fit)."""
    import rsatoolbox.inference
    import rsatoolbox.model  # noqa: F401
    import sklearn.linear_model  # noqa: F401


def nnls_rows(n_layers: int, target: str, n_sites: int) -> list[Row]:
    x = layer_vectors(n_layers)
    y = site_vectors(x, target, n_sites)
    partitions = stimulus_folds(N_STIMULI, FOLDS, 1, seed=0)
    nnls.fit_cv_nnls(x[:, :5], y[:, :2], N_STIMULI, partitions)              # warm-up (imports, caches)
    t_project, fit = timed(nnls.fit_cv_nnls, x, y, N_STIMULI, partitions)
    t_sklearn, sk_scores = timed(sklearn_cv_nnls, x, y, partitions)
    t_rsatoolbox, rt_eval = timed(rsatoolbox_cv_nnls, x, y, partitions[0])
    tag = f"nnls_{n_layers}_layers_{target}"
    sites = {"sites": n_sites, "layers": n_layers}
    return [row(f"{tag}_vs_sklearn", t_project, t_sklearn, float(np.abs(fit.scores - sk_scores).max()), **sites),
            row(f"{tag}_vs_rsatoolbox", t_project, t_rsatoolbox,
                float(np.nanmax(np.abs(held_out_block_r(x, y, fit, partitions[0]) - rt_eval))), **sites)]


def nnls_scaling_row(repeats: int) -> Row:
    x = layer_vectors(100)
    y = site_vectors(x, "random", N_SITES)
    partitions = stimulus_folds(N_STIMULI, FOLDS, repeats, seed=0)
    seconds, _ = timed(nnls.fit_cv_nnls, x, y, N_STIMULI, partitions)
    return {"comparison": f"nnls_{repeats}_repeats_21_sites_100_layers", "ratio": None, "max_abs_diff": None,
            "project_s": seconds, "peer_s": None}


# ---------------------------------------------------------------- ridge encoding

def ridgecv_layer_r(kernels: np.ndarray, y: np.ndarray, partitions: list[list[np.ndarray]]) -> tuple[float, np.ndarray]:
    """Seconds of the RidgeCV calls and held-out r (layers, cells) of one vectorised RidgeCV per layer and fold."""
    from sklearn.linear_model import RidgeCV

    seconds, n_folds = 0.0, sum(len(f) for f in partitions)
    layer_r = np.zeros((len(kernels), y.shape[1]))
    for layer, kernel in enumerate(kernels):
        evals, evecs = np.linalg.eigh(kernel)
        x = evecs * np.sqrt(np.clip(evals, 0, None))                        # features with exactly this kernel
        for test in (t for folds in partitions for t in folds):
            train = np.setdiff1d(np.arange(len(y)), test)
            xc = x[train] - x[train].mean(axis=0)
            scale = max(np.linalg.eigvalsh(xc @ xc.T).clip(0).sum() / (len(train) - 1), 1e-300)
            start = time.perf_counter()
            fit = RidgeCV(alphas=encoding.DEFAULT_ALPHAS * scale, alpha_per_target=True).fit(x[train], y[train])
            pred = fit.predict(x[test])
            seconds += time.perf_counter() - start
            layer_r[layer] += column_r(pred, y[test]) / n_folds
    return seconds, layer_r


def ridge_row(grams: LayerGrams, responses: np.ndarray) -> Row:
    partitions = stimulus_folds(len(responses), FOLDS, 1, seed=0)
    t_project, result = timed(encoding.encode, grams, responses, partitions)
    t_sklearn, sk_r = ridgecv_layer_r(grams.kernels(), responses, partitions)
    return row("ridge_vs_ridgecv", t_project, t_sklearn, float(np.abs(result.layer_r - sk_r).max()),
               layers=grams.n_layers, cells=responses.shape[1], accuracy_project=float(result.layer_r.mean()),
               accuracy_peer=float(sk_r.mean()))


# ---------------------------------------------------------------- rsa_layer, cka and pls

def rsatoolbox_rsa_layer(x: np.ndarray, y: np.ndarray, folds: list[np.ndarray]) -> np.ndarray:
    """Site scores of single-layer RSA with rsatoolbox choosing the layer on the training stimuli and scipy's
    pearsonr on the held-out cells (each touching a held-out stimulus)."""
    from rsatoolbox.rdm import RDMs, compare
    from scipy import stats

    index = {"index": np.arange(N_STIMULI)}
    models = RDMs(x.T, dissimilarity_measure="correlation", pattern_descriptors=index)
    i, j = np.triu_indices(N_STIMULI, k=1)
    scores = np.zeros(y.shape[1])
    for test in folds:
        train = np.setdiff1d(np.arange(N_STIMULI), test)
        held = np.isin(i, test) | np.isin(j, test)
        candidates = models.subsample_pattern("index", train)
        for s in range(y.shape[1]):
            site = RDMs(y[:, s][None], dissimilarity_measure="correlation", pattern_descriptors=index)
            best = int(np.argmax(compare(candidates, site.subsample_pattern("index", train), method="corr")[:, 0]))
            scores[s] += stats.pearsonr(x[held, best], y[held, s])[0] / len(folds)
    return scores


def kornblith_cka(gram_x: np.ndarray, gram_y: np.ndarray) -> float:
    """Debiased linear CKA of two Gram matrices as Kornblith et al.'s code computes it (unbiased centring)."""
    def centre(gram: np.ndarray) -> np.ndarray:
        gram = gram.copy()
        n = len(gram)
        np.fill_diagonal(gram, 0)
        means = gram.sum(axis=0) / (n - 2)
        means -= means.sum() / (2 * (n - 1))
        gram -= means[:, None] + means[None, :]
        np.fill_diagonal(gram, 0)
        return gram
    gx, gy = centre(gram_x), centre(gram_y)
    return float(gx.ravel() @ gy.ravel() / (np.linalg.norm(gx) * np.linalg.norm(gy)))


def kornblith_cv_cka(layers: np.ndarray, sites: np.ndarray, folds: list[np.ndarray]) -> np.ndarray:
    """Site scores of the cross-validated CKA as a loop of ``kornblith_cka`` over folds, sites and layers."""
    scores = np.zeros(len(sites))
    for test in folds:
        train = np.setdiff1d(np.arange(N_STIMULI), test)
        for s, site in enumerate(sites):
            on_train = [kornblith_cka(k[np.ix_(train, train)], site[np.ix_(train, train)]) for k in layers]
            best = int(np.argmax(on_train))
            scores[s] += kornblith_cka(layers[best][np.ix_(test, test)], site[np.ix_(test, test)]) / len(folds)
    return scores


def sklearn_pls(kernels: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Held-out predictions (layers, n_test, cells) of one PLSRegression(25, scale=False) per layer and cell, on
    features with exactly the layer's kernel."""
    import warnings

    from sklearn.cross_decomposition import PLSRegression

    out = np.zeros((len(kernels), len(test), y.shape[1]))
    for layer, kernel in enumerate(kernels):
        evals, evecs = np.linalg.eigh(kernel)
        x = evecs * np.sqrt(np.clip(evals, 0, None))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for c in range(y.shape[1]):
                fit = PLSRegression(pls.COMPONENTS, scale=False).fit(x[train], y[train, c])
                out[layer, :, c] = fit.predict(x[test]).ravel()
    return out


def method_rows(grams: LayerGrams, targets) -> list[Row]:
    folds = stimulus_folds(N_STIMULI, FOLDS, 1, seed=0)
    labels = fold_labels(folds[0], N_STIMULI)[None]
    x, y = upper(grams.rdms()).T, targets.site_vectors()
    t_project, (_, _, held) = timed(rsa_layer.choose_layers, x, y, labels)
    t_peer, peer = timed(rsatoolbox_rsa_layer, x, y, folds[0])
    rows = [row("rsa_layer_vs_rsatoolbox", t_project, t_peer, float(np.abs(held.mean(axis=(0, 1)) - peer).max()),
                layers=grams.n_layers, sites=y.shape[1])]
    kernels = grams.kernels()
    sites = cka.site_kernels(targets.cell_means, targets.cell_site, [s.key for s in targets.sites])
    t_project, (_, _, held) = timed(cka.choose_layers, kernels, sites, labels)
    t_peer, peer = timed(kornblith_cv_cka, kernels, sites, folds[0])
    rows.append(row("cka_vs_kornblith", t_project, t_peer, float(np.abs(held.mean(axis=(0, 1)) - peer).max()),
                    layers=grams.n_layers, sites=len(sites)))
    every = kernels[::10]
    test = folds[0][0]
    train = np.setdiff1d(np.arange(N_STIMULI), test)
    t_project, ours = timed(pls.pls_fit, every, targets.cell_means, train, test)
    t_peer, peer = timed(sklearn_pls, every, targets.cell_means, train, test)
    rows.append(row("pls_vs_sklearn", t_project, t_peer, float(np.abs(ours - peer).max()), layers=len(every),
                    cells=targets.cell_means.shape[1], prediction_sd=float(peer.std())))
    return rows


# ---------------------------------------------------------------- extraction (one subprocess each)

def child(kind: str, model_name: str, n_images: int) -> None:
    """In a fresh process: time the bare forward pass or the extraction; print seconds and peak RSS."""
    import torch

    import model_zoo
    from mouse_rsa.data import load_dataset
    from mouse_rsa.features import DEFAULT_BATCH, Run, extract

    images = load_dataset("demo").stimuli[:n_images]
    model = model_zoo.create(model_name, "random", seed=0)
    start = time.perf_counter()
    if kind == "forward":
        module = model.module.eval()
        with torch.no_grad():
            for b in range(0, len(images), DEFAULT_BATCH):
                module(model.preprocess(images[b:b + DEFAULT_BATCH], torch.device("cpu")))
    else:
        extract(model, images, run=Run(device="cpu", progress=False))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))


def run_child(kind: str, model_name: str, n_images: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, model_name, str(n_images)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def extraction_rows(n_images: int) -> list[Row]:
    rows = []
    for name in EXTRACTION_MODELS:
        forward, extracted = run_child("forward", name, n_images), run_child("extract", name, n_images)
        rows.append(row(f"extraction_{name}", extracted["seconds"], forward["seconds"], None, images=n_images,
                        peak_rss_gb=extracted["peak_rss_gb"], forward_peak_rss_gb=forward["peak_rss_gb"]))
    return rows


# ---------------------------------------------------------------- the whole command

FORWARD_SCRIPT = """
import sys
import numpy as np, torch, torch.nn.functional as F, torchvision
images = np.load(sys.argv[1])
model = torchvision.models.get_model("mobilenet_v2", weights=None).eval()
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
with torch.no_grad():
    for start in range(0, len(images), 16):
        x = torch.from_numpy(images[start:start + 16]).float().div(255)[:, None]
        x = F.interpolate(x, size=(224, 224), mode="bilinear", antialias=True).expand(-1, 3, -1, -1)
        model((x - mean) / std)
"""

def command_rows(work: Path) -> list[Row]:
    """`mouse-rsa benchmark` cold and warm against the bare forward pass of the demo's images."""
    from mouse_rsa.cache import cache_dir
    from mouse_rsa.data import load_dataset

    load_dataset("demo")                                                  # prepared once, not timed
    (work / "cache").mkdir()
    os.symlink(cache_dir("datasets"), work / "cache" / "datasets")
    env = dict(os.environ, MOUSE_RSA_CACHE=str(work / "cache"))
    forward = min(run_child("forward", "mobilenet_v2", N_STIMULI)["seconds"] for _ in range(REPEATS))
    np.save(work / "stimuli.npy", load_dataset("demo").stimuli)
    script = min(run_process(["-c", FORWARD_SCRIPT, str(work / "stimuli.npy")], env) for _ in range(REPEATS))
    rows = []
    for label, repeats in (("cold", 1), ("warm", REPEATS)):  # cold: once, it fills the cache
        out = work / f"out-{label}"
        args = ["-m", "mouse_rsa.cli", "benchmark", "--model", "mobilenet_v2", "--weights", "random",
                "--dataset", "demo", "--method", "all", "--quiet", "--out", str(out)]
        seconds = min(run_process(args, env) for _ in range(repeats))
        score = sum(json.loads(p.read_text())["timings"]["score_s"] for p in out.rglob("*.unit.json"))
        rows.append(row(f"benchmark_{label}", seconds, forward, None, score_s=score))
        rows.append(row(f"benchmark_{label}_vs_forward_script", seconds, script, None))
    return rows


def run_process(args: list[str], env: dict) -> float:
    """Wall seconds of ``python ARGS`` as a whole process (interpreter start and imports included)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def demo_grams_and_targets(cache: Path | None = None) -> tuple[LayerGrams, Any]:
    """mobilenet_v2 (random) layers of the demo stimuli from the feature cache under ``cache`` (default: the
    user's), extracted if missing, and the demo's neural targets."""
    from mouse_rsa.neural.targets import load_targets
    from mouse_rsa.runner import unit_features, usable_layers
    from mouse_rsa.settings import Settings
    from mouse_rsa.units import Unit

    if cache is not None:
        os.environ["MOUSE_RSA_CACHE"] = str(cache)
    settings = Settings(dataset="demo")
    targets = load_targets(settings)
    grams, _ = unit_features(Unit("mobilenet_v2", "random", "encoding", settings), targets.stimuli, progress=False)
    assert targets.cell_means is not None
    return usable_layers(grams, "mobilenet_v2"), targets


# ---------------------------------------------------------------- report

def print_table(rows: list[Row]) -> None:
    print(f"{'comparison':<42} {'project s':>10} {'peer s':>10} {'ratio':>8} {'max |Δ|':>9}  notes")
    for r in rows:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}"
        diff = "" if r["max_abs_diff"] is None else f"{r['max_abs_diff']:.1e}"
        peer = "" if r["peer_s"] is None else f"{r['peer_s']:.2f}"
        notes = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()
                          if k not in ("comparison", "ratio", "max_abs_diff", "project_s", "peer_s"))
        print(f"{r['comparison']:<42} {r['project_s']:>10.2f} {peer:>10} {ratio:>8} {diff:>9}  {notes}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, under 3 minutes")
    parser.add_argument("--json", metavar="FILE", help="write the table as a JSON list")
    parser.add_argument("--only", choices=["methods"], help="the rows of rsa_layer, cka and pls alone")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    if args.only == "methods":
        warm_up()
        print_table(method_rows(*demo_grams_and_targets()))
        return
    import torch

    start = time.perf_counter()
    print(f"{os.cpu_count()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} threads, numpy "
          f"{np.__version__}; ratio = peer (or bare forward) seconds / project seconds\n")
    warm_up()
    rows: list[Row] = []
    for n_layers in (20, 100, 300):
        for target in ("random", "planted"):
            rows += nnls_rows(n_layers, target, 4 if args.quick and n_layers == 300 else N_SITES)
            print_table(rows[-2:])
    rows.append(nnls_scaling_row(100 if args.quick else 1000))
    print_table(rows[-1:])
    with tempfile.TemporaryDirectory() as tmp:
        rows += command_rows(Path(tmp))
        print_table(rows[-4:])
        grams, targets = demo_grams_and_targets(Path(tmp) / "cache")
        rows.append(ridge_row(grams, targets.cell_means))
        print_table(rows[-1:])
        rows += method_rows(grams, targets)
        print_table(rows[-3:])
    rows += extraction_rows(32 if args.quick else N_STIMULI)
    print_table(rows[-3:])
    print()
    print_table(rows)
    print(f"\n{time.perf_counter() - start:.0f} s in all")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
