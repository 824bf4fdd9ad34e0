"""What the statistics cost: the permutation chance level and the stimulus bootstrap, at the study's sizes.

Synthetic data of the real shapes (118 stimuli, 21 sites): the RSA chance level (cross-validated NNLS
refitted on permuted site RDMs, ``rsa_nnls.null_scores``) for a 100-layer model; the stimulus bootstrap
of 20 units' kept predictions (``rsa_nnls.resampled_r``, what ``leaderboard`` and ``compare`` run); and
the encoding chance level (every cell refitted per permutation) per permutation for 106 layers × 589
cells, the demo's mobilenet_v2 unit. Prints one table; ``--quick`` uses a tenth of the permutations and
resamples.

    python benchmarks/statistics.py [--quick]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from mouse_rsa.features import LayerGrams
from mouse_rsa.methods import Design, encoding_ridge, rsa_nnls
from mouse_rsa.methods.folds import stimulus_folds
from mouse_rsa.rdm import rdm, upper
from mouse_rsa.resampling import stimulus_counts

N_STIMULI, N_SITES = 118, 21


def _rdms(rng: np.random.Generator, shared: np.ndarray, count: int) -> np.ndarray:
    """Upper triangles (n_pairs, count) of RDMs that share part of their code with ``shared``."""
    return upper(np.stack([rdm(shared @ rng.normal(size=(shared.shape[1], 20)) + rng.normal(size=(N_STIMULI, 20)))
                           for _ in range(count)])).T


def rsa_null(permutations: int, rng: np.random.Generator) -> tuple[float, str]:
    shared = rng.normal(size=(N_STIMULI, 6))
    layers, sites = _rdms(rng, shared, 100), _rdms(rng, shared, N_SITES)
    design = Design(stimulus_folds(N_STIMULI, 6, 1, 0), 0, permutations)
    start = time.perf_counter()
    null = rsa_nnls.null_scores(layers, sites, N_STIMULI, design)
    return time.perf_counter() - start, f"chance level {null.mean():+.3f} ± {null.std():.3f}"


def bootstrap(resamples: int, rng: np.random.Generator) -> tuple[float, str]:
    shared = rng.normal(size=(N_STIMULI, 6))
    sites = _rdms(rng, shared, N_SITES)
    units = [sites + 0.05 * rng.normal(size=sites.shape) * k for k in range(1, 21)]
    counts = stimulus_counts(N_STIMULI, resamples, 0)
    start = time.perf_counter()
    widths = [np.ptp(np.percentile(rsa_nnls.resampled_r(p[None].astype(np.float32), np.ones((1, N_SITES), bool),
                                                        sites, counts).mean(axis=1), [2.5, 97.5])) for p in units]
    return time.perf_counter() - start, f"CI width {min(widths):.3f}–{max(widths):.3f}"


def encoding_null(permutations: int, rng: np.random.Generator) -> tuple[float, str]:
    n_layers, n_cells = 106, 589
    features = [rng.normal(size=(N_STIMULI, 64)) for _ in range(n_layers)]
    means = np.stack([f.mean(axis=1) for f in features])
    grams = LayerGrams([f"l{k}" for k in range(n_layers)],
                       np.stack([(f - m[:, None]) @ (f - m[:, None]).T for f, m in zip(features, means)]), means,
                       np.full(n_layers, 64), np.zeros(n_layers, bool))
    responses = features[0] @ rng.normal(size=(64, n_cells)) + 3 * rng.normal(size=(N_STIMULI, n_cells))
    design = Design(stimulus_folds(N_STIMULI, 6, 1, 0), 0, permutations)
    start = time.perf_counter()
    encoding_ridge.encode(grams, responses, design.partitions)
    fit = time.perf_counter() - start
    encoding_ridge.encode(grams, responses, design.partitions, null_orders=design.permutation_orders(N_STIMULI))
    per = (time.perf_counter() - start - 2 * fit) / permutations
    return per, f"the fit alone {fit:.2f} s; 100 permutations ≈ {100 * per:.0f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the permutations and resamples")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    rng = np.random.default_rng(0)
    permutations, resamples = 1000 // scale, 10_000 // scale
    rows = [(f"RSA chance level: {permutations} permutations × 21 sites × 100 layers", *rsa_null(permutations, rng)),
            (f"stimulus bootstrap: {resamples} resamples × 21 sites × 20 units", *bootstrap(resamples, rng)),
            ("encoding chance level: one permutation × 589 cells × 106 layers", *encoding_null(20 // scale or 2, rng))]
    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'seconds':>8}  note")
    for what, seconds, note in rows:
        print(f"{what:<{width}}  {seconds:>8.2f}  {note}")


if __name__ == "__main__":
    main()
