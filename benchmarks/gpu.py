"""The zoo on one device: extraction against the bare forward pass, a whole unit cold and warm, scoring on
the host against the device, and the full study projected from the measured unit, as one table.

Measured on ``--device`` (cpu, cuda or cuda:N), demo data (118 scenes), random weights (nothing is
downloaded), batch 16, float32:

* ``forward``: the bare forward pass of every stimulus (no hooks), after one warm-up batch;
* ``extract``: ``features.extract`` of every layer on the same device (hooks, sketch, Grams, one host copy);
* ``unit cold``/``unit warm``: ``mouse_rsa.benchmark(model, methods='all')`` with an empty feature cache
  (build, extract, score both methods with their default permutations) and again with the features cached;
* ``score host``/``score device``: the study's two methods (rsa_nnls, encoding_ridge) on the same features with numpy on the host and on the
  device's scoring path (``mouse_rsa.arrays``; a CPU unit scores on the host, so on a CPU only the host is
  timed: tests/test_arrays.py checks the torch path against numpy), and the largest |difference| of their
  site scores and chance levels;
* peak device memory (``torch.cuda.max_memory_allocated``), or peak resident memory on a CPU;
* ``study``: the full study's 1,224 units (README) at the measured cold seconds per unit of the unit's
  model; a projection, since the study's models differ in size.

Usage: python benchmarks/gpu.py --device cuda [--models mobilenet_v2 resnet50 vgg16] [--unit-model mobilenet_v2]
(under 5 minutes on one GPU; on a 2-core CPU the three models' extraction alone takes several minutes:
``--models mobilenet_v2`` runs a subset).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np

SCORED = ("rsa_nnls", "encoding_ridge")  # timed host vs device: the study's two methods
STUDY_UNITS = 1224  # 51 models × pretrained and random × 3 seeds × 2 methods × 2 layer sets (README)


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timed(device: str, work) -> tuple[float, object]:
    _sync(device)
    start = time.perf_counter()
    out = work()
    _sync(device)
    return time.perf_counter() - start, out


def forward_seconds(zoo, images: np.ndarray, device: str, batch: int) -> float:
    """The bare forward pass of ``images`` on ``device`` (one warm-up batch first); the module is put back."""
    import torch

    from mouse_rsa.features.placement import numerics, placed, resolve_device

    dev = resolve_device(device)
    with placed(zoo.module, dev, torch.float32) as module, torch.no_grad(), numerics("float32", dev):
        module(zoo.preprocess(images[:batch], dev))

        def run() -> None:
            for start in range(0, len(images), batch):
                module(zoo.preprocess(images[start:start + batch], dev))

        seconds, _ = _timed(device, run)
    return seconds


def extraction_rows(models: list[str], images: np.ndarray, device: str, batch: int) -> list[tuple[str, str]]:
    import model_zoo
    from mouse_rsa.features import Run, extract

    rows = []
    for name in models:
        zoo = model_zoo.create(name, "random", seed=0)
        bare = forward_seconds(zoo, images, device, batch)
        run = Run(batch, device, "float32", progress=False)
        seconds, grams = _timed(device, lambda zoo=zoo, run=run: extract(zoo, images, None, 4096, 0, run))
        rows.append((f"{name}: forward / extract, {grams.n_layers} layers",
                     f"{bare:.2f} s / {seconds:.2f} s ({seconds / bare:.1f}x)"))
    return rows


def unit_rows(model: str, device: str) -> tuple[list[tuple[str, str]], float]:
    """A whole ``--method all`` unit, cold (its features not cached) then warm; returns rows and cold s per unit.
    Features go to the user's cache (``MOUSE_RSA_CACHE``), as a benchmark run's would."""
    from mouse_rsa import benchmark
    from mouse_rsa.data import load_dataset
    from mouse_rsa.features import cache as feature_cache
    from mouse_rsa.settings import Settings
    from mouse_rsa.units import plan

    settings = Settings(dataset="demo", device=device)
    stimuli = load_dataset("demo").stimuli
    for unit in plan(model, settings, weights="random", methods="all"):
        feature_cache.path_for(unit, stimuli).unlink(missing_ok=True)  # cold: the features are not cached
    rows, cold_per_unit = [], 0.0
    for label in ("cold", "warm"):
        seconds, result = _timed(device, lambda: benchmark(model, settings, weights="random", methods="all",
                                                           out=None, progress=False))
        n_units = len(result.scores.drop_duplicates("unit_key"))
        rows.append((f"unit {label}: {model}, --method all ({n_units} units)", f"{seconds:.1f} s"))
        if label == "cold":
            cold_per_unit = seconds / n_units
    return rows, cold_per_unit


def scoring_rows(model: str, device: str) -> list[tuple[str, str]]:
    """Both methods on one model's features: numpy on the host vs the device's path; largest |difference|."""
    import model_zoo
    from mouse_rsa import arrays, methods
    from mouse_rsa.features import Run, extract
    from mouse_rsa.methods.folds import stimulus_folds
    from mouse_rsa.neural.targets import load_targets
    from mouse_rsa.settings import Settings

    targets = load_targets(Settings(dataset="demo"))
    grams = extract(model_zoo.create(model, "random", seed=0), targets.stimuli, None, 4096, 0,
                    Run(device=device, progress=False))
    there = arrays.scoring_device(device)
    partitions = stimulus_folds(targets.n_stimuli, 6, 1, 0)
    rows = []
    for method in map(methods.get, SCORED):
        label = f"score {method.name} ({method.permutations} permutations): host numpy"
        host_s, host = _timed(device, lambda method=method: method.score(grams, targets, methods.Design(
            partitions, 0, method.permutations, {"ridge_criterion": "loo"})))
        if there is None:  # a CPU unit scores with numpy: the device path is the host's
            rows.append((label, f"{host_s:.1f} s (a CPU unit scores on the host)"))
            continue
        dev_s, dev = _timed(device, lambda method=method: method.score(grams, targets, methods.Design(
            partitions, 0, method.permutations, {"ridge_criterion": "loo"}, there)))
        diff = max(float(np.abs(host.sites["score"].to_numpy() - dev.sites["score"].to_numpy()).max()),
                   float(np.abs(host.null - dev.null).max()) if host.null is not None else 0.0)
        rows.append((f"{label} / {there}", f"{host_s:.1f} s / {dev_s:.1f} s, max |diff| {diff:.1e}"))
    return rows


def peak_memory(device: str) -> tuple[str, str]:
    if device.startswith("cuda"):
        import torch

        return "peak device memory", f"{torch.cuda.max_memory_allocated() / 2**20:.0f} MiB"
    return "peak resident memory (this process)", f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"


def describe(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name(torch.device(device))}, torch {torch.__version__}"
    return f"CPU, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cpu, cuda or cuda:N")
    parser.add_argument("--models", nargs="+", default=["mobilenet_v2", "resnet50", "vgg16"])
    parser.add_argument("--unit-model", default="mobilenet_v2", help="the model of the whole unit and the scoring")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args(argv)

    from mouse_rsa.data import load_dataset
    from mouse_rsa.errors import UserError
    from mouse_rsa.features.placement import resolve_device

    try:
        resolve_device(args.device)
    except UserError as err:
        print(f"gpu.py: error: {err}", file=sys.stderr)
        return 2
    images = load_dataset("demo").stimuli
    start = time.perf_counter()
    rows = extraction_rows(args.models, images, args.device, args.batch_size)
    units, per_unit = unit_rows(args.unit_model, args.device)
    rows += units + scoring_rows(args.unit_model, args.device) + [peak_memory(args.device)]
    rows.append((f"study: {STUDY_UNITS} units at {per_unit:.1f} s per {args.unit_model} unit (projection)",
                 f"{STUDY_UNITS * per_unit / 3600:.2f} h"))
    width = max(len(r[0]) for r in rows)
    print(f"benchmarks/gpu.py --device {args.device}: {describe(args.device)}; {len(images)} demo images, "
          f"batch {args.batch_size}, float32, random weights")
    print(f"| {'measure'.ljust(width)} | value |\n|{'-' * (width + 2)}|-------|")
    for label, value in rows:
        print(f"| {label.ljust(width)} | {value} |")
    print(f"(script wall time {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
