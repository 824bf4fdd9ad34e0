"""Wall time of the joint NNLS signatures at the study's size: 21 model RDMs × 21 sites × 1000 random
6-fold splits of 118 stimuli (plus the 100-permutation null), on RDMs with planted weight shares.

Each site RDM is a known non-negative mix of three of the model RDMs plus noise; the script prints the
time and how far the recovered mean weight shares are from the planted ones.
Usage: python benchmarks/signatures.py [--splits 1000] [--permutations 100]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from mouse_rsa.analysis.signatures import SplitDesign, joint_fit, shares
from mouse_rsa.rdm import rdm, upper

N_STIMULI, N_MODELS, N_SITES = 118, 21, 21


def planted(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(model RDM vectors (pairs, models), site RDM vectors (pairs, sites), planted shares (sites, models))."""
    rng = np.random.default_rng(seed)
    models = np.stack([upper(rdm(rng.normal(size=(N_STIMULI, 64)))) for _ in range(N_MODELS)], axis=1)
    z = (models - models.mean(0)) / models.std(0)
    truth = np.zeros((N_SITES, N_MODELS))
    for site in range(N_SITES):
        truth[site, rng.choice(N_MODELS, 3, replace=False)] = rng.dirichlet(np.ones(3))
    sites = z @ truth.T + 0.3 * rng.normal(size=(len(z), N_SITES))
    return models, sites, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=1000)
    parser.add_argument("--permutations", type=int, default=100)
    args = parser.parse_args()
    models, sites, truth = planted()
    membership = np.eye(N_MODELS)
    for permutations in (0, args.permutations):
        design = SplitDesign(splits=args.splits, folds=6, seed=0, permutations=permutations)
        start = time.perf_counter()
        fit = joint_fit(models, membership, sites, design)
        seconds = time.perf_counter() - start
        recovered = np.nanmean(shares(fit.weights), axis=0)
        print(f"joint NNLS {N_MODELS} regressors x {N_SITES} sites x {args.splits} splits "
              f"+ {permutations} permutations: {seconds:6.2f} s; "
              f"max |recovered - planted share| = {np.abs(recovered - truth).max():.3f}")


if __name__ == "__main__":
    main()
