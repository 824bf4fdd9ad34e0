"""Wall time of the rank agreement across two datasets at the study's size: the study's 102 entries
(51 models × pretrained and random) on two datasets, overall and in 8 areas, 10,000 bootstrap resamples
over models each, against the same bootstrap through scipy's spearmanr and kendalltau one resample at a
time (on fewer resamples, scaled up), with the largest difference of their CIs' bounds.

Usage: python benchmarks/rank_agreement.py [--models 102] [--resamples 10000] [--areas 8]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import stats

from mouse_rsa.analysis.modalities import bootstrap_agreement, rank_agreement


def pairs(n_models: int, n_areas: int, seed: int = 0) -> pd.DataFrame:
    """Scores of ``n_models`` on two datasets that agree with r ≈ 0.7, overall and per area."""
    rng = np.random.default_rng(seed)
    frames = []
    for area in ["all areas", *[f"area{i}" for i in range(n_areas)]]:
        a = rng.normal(size=n_models)
        frames.append(pd.DataFrame({"dataset_a": "a", "dataset_b": "b", "method": "rsa_nnls", "layer_set": "all",
                                    "settings_key_a": "x", "settings_key_b": "y", "area": area,
                                    "model": [f"m{i}" for i in range(n_models)],
                                    "score_a": a, "score_b": a + rng.normal(size=n_models)}))
    return pd.concat(frames, ignore_index=True)


def scipy_bootstrap(x: np.ndarray, y: np.ndarray, n_resamples: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    rho, tau = [], []
    for _ in range(n_resamples):
        index = rng.integers(0, len(x), len(x))
        rho.append(stats.spearmanr(x[index], y[index]).correlation)
        tau.append(stats.kendalltau(x[index], y[index]).correlation)
    return {"spearman": np.quantile(rho, [0.025, 0.975]), "kendall": np.quantile(tau, [0.025, 0.975])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=102)
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--areas", type=int, default=8)
    args = parser.parse_args()
    table = pairs(args.models, args.areas)
    start = time.perf_counter()
    result = rank_agreement(table, args.resamples, seed=0)
    seconds = time.perf_counter() - start
    print(f"rank_agreement: {len(result)} comparisons × {args.models} models × {args.resamples} resamples: "
          f"{seconds:.2f} s")
    first = table[table["area"] == "all areas"]
    x, y = first["score_a"].to_numpy(), first["score_b"].to_numpy()
    few = max(args.resamples // 20, 100)
    start = time.perf_counter()
    reference = scipy_bootstrap(x, y, few, seed=0)
    per_resample = (time.perf_counter() - start) / few
    ours = bootstrap_agreement(x, y, few, seed=0)
    diff = max(abs(ours[f"{name}_{side}"] - reference[name][i]) for name in ("spearman", "kendall")
               for i, side in enumerate(("low", "high")))
    print(f"scipy spearmanr + kendalltau per resample: {per_resample * 1e3:.2f} ms → "
          f"{per_resample * args.resamples * len(result):.1f} s for the same work; "
          f"max |Δ| of CI bounds on {few} shared resamples: {diff:.1e}")


if __name__ == "__main__":
    main()
