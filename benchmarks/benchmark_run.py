"""Wall time of a full `mouse-rsa benchmark --model mobilenet_v2 --dataset demo` (both weights; offline
the pretrained half reports itself unavailable) and of the scoring stage alone for a 100-layer model
against the 21 demo sites.

The CLI runs in a subprocess with a fresh feature cache (cold) and then again (warm); the demo dataset
itself is built beforehand so that its one-time build is not counted.
Usage: python benchmarks/benchmark_run.py
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def time_cli(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mouse_rsa.cli", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def time_scoring(n_layers: int = 100) -> dict:
    from types import SimpleNamespace

    from mouse_rsa import rsa
    from mouse_rsa.benchmark import _score_unit
    from mouse_rsa.features import LayerGrams
    from mouse_rsa.targets import dataset_targets

    targets = dataset_targets("demo", 0.75, 10, 10, 0)
    rng = np.random.default_rng(0)
    n = len(targets.stimuli)
    grams = []
    for _ in range(n_layers):
        x = rng.normal(size=(n, 256)) @ rng.normal(size=(256, 512))
        x -= x.mean(axis=1, keepdims=True)
        grams.append(x @ x.T)
    layers = LayerGrams([f"layer{i}" for i in range(n_layers)], np.stack(grams), np.zeros((n_layers, n)),
                        np.full(n_layers, 512), np.zeros(n_layers, bool))
    zoo = SimpleNamespace(name="synthetic", weights="random")
    partitions = rsa.stimulus_folds(n, 6, 1, 0)
    out = {}
    for method in ("rsa", "encoding"):
        start = time.perf_counter()
        _score_unit(zoo, layers, targets, method, partitions, 0, 6, 1, False)
        out[method] = time.perf_counter() - start
    out["cells"] = len(targets.cell_reliability)
    out["sites"] = len(targets.sites)
    return out


def main() -> None:
    import torch

    from mouse_rsa.data import load_dataset

    load_dataset("demo")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, cpu")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MOUSE_RSA_CACHE=str(Path(tmp) / "cache"))
        demo_src = Path(os.environ.get("MOUSE_RSA_CACHE", Path.home() / ".cache" / "mouse-rsa")) / "datasets"
        (Path(tmp) / "cache").mkdir()
        os.symlink(demo_src, Path(tmp) / "cache" / "datasets")
        base = ["benchmark", "--model", "mobilenet_v2", "--dataset", "demo", "--quiet", "--out", str(Path(tmp) / "out")]
        cold = time_cli(base, env)
        warm = time_cli(base, env)
        both = time_cli(base + ["--method", "all", "--no-cache"], env)
    print(f"mobilenet_v2 --dataset demo (rsa, both weights), cold feature cache: {cold:6.1f} s")
    print(f"mobilenet_v2 --dataset demo (rsa, both weights), warm feature cache: {warm:6.1f} s")
    print(f"mobilenet_v2 --dataset demo --method all, features recomputed:     {both:6.1f} s")
    s = time_scoring()
    print(f"scoring alone, 100 layers x {s['sites']} sites: RSA (6-fold NNLS + profiles) {s['rsa']:.2f} s; "
          f"encoding ({s['cells']} cells, 17 penalties) {s['encoding']:.2f} s")


if __name__ == "__main__":
    main()
