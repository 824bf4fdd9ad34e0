"""Sweep scaling: the study architectures with random weights on the demo data, serial vs Dask sweep.

Measured here (this machine):

* serial: ``mouse-rsa benchmark --model <all of them> --weights random --no-cache`` in one process:
  wall time, units per minute, peak resident memory of that process; once as a user runs it (torch
  and BLAS use every core) and once on one thread (``OMP_NUM_THREADS=1``), the per-core baseline;
* sweep: ``mouse_rsa.sweep.sweep`` on a LocalCluster of ``--workers`` single-threaded workers (cluster
  start included): wall time, units per minute, peak resident memory of each worker (sweep-log.csv);
* seconds per unit (build + extract + score, from the units' own timings) and how often the client
  loaded neural targets (once per distinct target; workers get them by scatter, never recompute them).

Projected (not measured; the assumptions are printed): the full study's units (models × pretrained
and random × seeds × methods × layer sets) and its wall time on 1 GPU and on 32 GPUs, taking the
measured CPU seconds per unit and dividing only the extraction part by ``--gpu-speedup``.

Usage: python benchmarks/sweep_scaling.py [--models resnet18 alexnet ...] [--workers 2] [--method rsa]
The default is ``study:zoo`` (the study's 30 ImageNet architectures; add ``--models study:zoo
inception_v3`` for all 31 of torchvision's 2020 zoo). It takes a while; ``--models`` runs a subset.
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STUDY_SEEDS = 3
STUDY_METHODS = 2
STUDY_LAYER_SETS = 2  # all layers and the latent layer
TASKONOMY_STAND_IN = "resnet50"  # taskonomy encoders are ResNet-50 trunks: timed as resnet50 when it ran


def resolve(names: list[str]) -> list[str]:
    """Model names from names, presets (``study:zoo``) and globs, as ``--model`` takes them."""
    import model_zoo

    return list(model_zoo.resolve_models(names))


def run_serial(models: list[str], args: argparse.Namespace, out: Path, threads: int | None = None
               ) -> tuple[float, float]:
    """``mouse-rsa benchmark`` over every model in a child process: (wall seconds, peak RSS MiB).

    ``threads``: torch and BLAS threads (``OMP_NUM_THREADS``); None leaves them at every core."""
    command = [sys.executable, "-m", "mouse_rsa.cli", "benchmark", "--model", *models, "--weights", "random",
               "--method", args.method, "--dataset", args.dataset, "--no-cache", "--quiet", "--out", str(out)]
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not the largest of all children
    if status != 0:
        raise SystemExit(f"serial benchmark failed ({status}): {' '.join(command)}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def run_sweep(models: list[str], args: argparse.Namespace, out: Path) -> tuple[float, list[dict[str, str]], int]:
    """``sweep`` on a local cluster: (wall seconds, the timing log rows, calls of load_targets on the client)."""
    import mouse_rsa.neural.targets
    from mouse_rsa.settings import Settings
    from mouse_rsa.sweep import ClusterOptions, sweep
    from mouse_rsa.units import plan

    loads = []
    load_targets = mouse_rsa.neural.targets.load_targets

    def counted(*a, **k):
        loads.append(1)
        return load_targets(*a, **k)

    mouse_rsa.neural.targets.load_targets = counted
    units = plan(models, Settings(dataset=args.dataset, use_cache=False), weights="random", methods=args.method)
    start = time.perf_counter()
    report = sweep(units, out, ClusterOptions(workers=args.workers, dashboard_address=None), progress=False)
    wall = time.perf_counter() - start
    mouse_rsa.targets.load_targets = load_targets
    if report.failed:
        print(report.table(), file=sys.stderr)
    with open(out / "sweep-log.csv") as f:
        return wall, list(csv.DictReader(f)), len(loads)


def unit_seconds(row: dict[str, str]) -> tuple[float, float]:
    """(seconds outside extraction, extraction seconds) of one logged unit."""
    return float(row["build_s"]) + float(row["score_s"]), float(row["extract_s"])


def projection(rows: list[dict[str, str]], args: argparse.Namespace) -> list[str]:
    """The full study's units and projected wall time on 1 and 32 GPUs (see the module docstring)."""
    zoo, taskonomy = resolve(["study:zoo"]), resolve(["study:taskonomy"])
    per_model = {r["model"]: unit_seconds(r) for r in rows if r["status"] == "done"}
    mean = tuple(sum(v[i] for v in per_model.values()) / len(per_model) for i in (0, 1))
    stand_in = per_model.get(TASKONOMY_STAND_IN, mean)
    per_arch = STUDY_SEEDS * 2 * STUDY_METHODS * STUDY_LAYER_SETS
    measured = [per_model.get(m, mean) for m in zoo] + [stand_in] * len(taskonomy)
    cpu = per_arch * sum(other + extract for other, extract in measured)
    gpu = per_arch * sum(other + extract / args.gpu_speedup for other, extract in measured)
    n_units = per_arch * (len(zoo) + len(taskonomy))
    return [
        (f"study: {len(zoo)} ImageNet + {len(taskonomy)} Taskonomy models × pretrained/random × {STUDY_SEEDS} seeds "
         f"× {STUDY_METHODS} methods × {STUDY_LAYER_SETS} layer sets = {n_units} units"),
        (f"measured here: {cpu / n_units:.1f} s per unit on one CPU core (build + extract + score; models not run "
         f"here timed as the mean, Taskonomy as {TASKONOMY_STAND_IN})"),
        f"projected, 1 CPU worker: {cpu / 3600:.1f} h",
        (f"projected, 1 GPU (assumes extraction {args.gpu_speedup:g}x faster than one CPU core, build and scoring "
         f"unchanged; not measured): {gpu / 3600:.1f} h ({gpu / n_units:.1f} s per unit)"),
        f"projected, 32 GPUs (the same, perfectly divided; no queue wait or job start): {gpu / 32 / 60:.1f} min",
    ]


def report(models: list[str], serials: dict[str, tuple[float, float]], swept: tuple, workers: int) -> list[str]:
    """The measured lines: throughput of every run, memory, the sweep's speed-up over each serial run."""
    sweep_wall, rows, loads = swept
    done = [r for r in rows if r["status"] == "done"]
    n = len(models)
    peaks: dict[str, float] = {}
    for r in done:
        peaks[r["worker"]] = max(peaks.get(r["worker"], 0.0), float(r["peak_rss_mb"]))
    lines = [f"units: {n} models × random weights × 1 method; sweep done {len(done)}, failed {len(rows) - len(done)}"]
    lines += [f"serial benchmark, {name}: {wall:.0f} s, {60 * n / wall:.2f} units/min, peak RSS {peak:.0f} MiB"
              for name, (wall, peak) in serials.items()]
    lines += [
        (f"sweep on {workers} workers: {sweep_wall:.0f} s, {60 * len(done) / sweep_wall:.2f} units/min, peak RSS "
         "per worker " + ", ".join(f"{w}: {p:.0f} MiB" for w, p in sorted(peaks.items()))),
        *(f"sweep / serial ({name}): {wall / sweep_wall:.2f}x" for name, (wall, _) in serials.items()),
        f"neural targets loaded {loads} time(s) on the client, shipped to workers by scatter",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None, help="names, presets or globs (default: study:zoo)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--method", default="rsa", choices=["rsa", "encoding", "all"])
    parser.add_argument("--dataset", default="demo")
    parser.add_argument("--gpu-speedup", type=float, default=20.0,
                        help="assumed extraction speed-up of one GPU over one CPU core (projection only)")
    parser.add_argument("--out", default=None, help="keep results here (default: a temporary directory)")
    args = parser.parse_args()
    models = resolve(args.models or ["study:zoo"])
    root = Path(args.out or tempfile.mkdtemp(prefix="sweep-scaling-"))
    os.environ.setdefault("MOUSE_RSA_CACHE", str(root / "cache"))  # the demo dataset, never features
    print(f"{len(models)} models, results under {root}", flush=True)
    from mouse_rsa.data import load_dataset

    load_dataset(args.dataset)  # built or read once before any timing
    serials = {}
    for name, threads in (("every core", None), ("one thread", 1)):
        serials[name] = run_serial(models, args, root / f"serial-{threads or 'all'}", threads)
        print(f"serial ({name}) done in {serials[name][0]:.0f} s", flush=True)
    swept = run_sweep(models, args, root / "sweep")
    for line in report(models, serials, swept, args.workers) + projection(swept[1], args):
        print(line)


if __name__ == "__main__":
    main()
