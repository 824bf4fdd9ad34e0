"""Ridge encoding for every layer of mobilenet_v2 (random weights) against every reliable demo cell:
mouse-rsa's shared-eigendecomposition solver versus a per-cell scikit-learn RidgeCV loop.

Both see the same data: the sklearn loop gets, per layer, explicit features with exactly the layer's
kernel (the kernel's eigenvectors scaled by the square roots of its eigenvalues), the same outer
folds, and the same penalty grid (scaled per fold as mouse-rsa does), so the two give identical
predictions; only speed differs. The loop over all layers takes long, so it is timed on the first
--sklearn-layers layers and extrapolated linearly (both figures are printed).
Usage: python benchmarks/encoding_speed.py [--sklearn-layers N]
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    from sklearn.linear_model import RidgeCV

    import model_zoo
    from mouse_rsa import encoding, rsa
    from mouse_rsa.features import cached_extract
    from mouse_rsa.targets import dataset_targets

    parser = argparse.ArgumentParser()
    parser.add_argument("--sklearn-layers", type=int, default=5)
    args = parser.parse_args()

    targets = dataset_targets("demo", 0.75, 10, 10, 0)
    grams = cached_extract(model_zoo.create("mobilenet_v2", "random", seed=0), targets.stimuli, progress=False)
    y = targets.cell_means
    partitions = rsa.stimulus_folds(len(y), 6, 1, 0)
    start = time.perf_counter()
    encoding.encode(grams, y, partitions)
    t_ours = time.perf_counter() - start

    n_layers = min(args.sklearn_layers, grams.n_layers)
    start = time.perf_counter()
    max_diff = 0.0
    for layer in range(n_layers):
        vals, vecs = np.linalg.eigh(grams.kernel(layer))
        x = vecs * np.sqrt(np.clip(vals, 0, None))
        for test in partitions[0]:
            train = np.setdiff1d(np.arange(len(y)), test)
            xc = x[train] - x[train].mean(axis=0)
            scale = np.linalg.eigvalsh(xc @ xc.T).clip(0).sum() / (len(train) - 1)
            preds = np.empty((len(test), y.shape[1]))
            for cell in range(y.shape[1]):
                model = RidgeCV(alphas=encoding.DEFAULT_ALPHAS * scale).fit(x[train], y[train, cell])
                preds[:, cell] = model.predict(x[test])
            fast = encoding.ridge_fold(grams.kernel(layer), y, train, test)
            max_diff = max(max_diff, float(np.abs(fast.predictions - preds).max()))
    t_sklearn = time.perf_counter() - start
    t_sklearn_all = t_sklearn * grams.n_layers / n_layers
    print(f"{grams.n_layers} layers x {y.shape[1]} cells x 6 folds x {len(encoding.DEFAULT_ALPHAS)} penalties")
    print(f"mouse-rsa encode (all layers):            {t_ours:8.2f} s")
    print(f"sklearn RidgeCV per-cell loop, {n_layers} layers:  {t_sklearn:8.2f} s "
          f"-> all {grams.n_layers} layers ~ {t_sklearn_all:8.1f} s (extrapolated)")
    print(f"speed-up ~ {t_sklearn_all / t_ours:.0f}x; max |prediction difference| = {max_diff:.2e}")


if __name__ == "__main__":
    main()
