"""The Dask sweep: same numbers as ``benchmark``, resumable, fault-tolerant, and batch scripts offline.

Clusters here are small local ones (one or two single-threaded worker processes) running the demo
data through the cheapest models (``pixels``, ``random_features``) with the feature cache off, so
every unit really runs on a worker.
"""
from __future__ import annotations

import csv
import json
import logging
import os
import shutil
from pathlib import Path

import pytest
import torch
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin
from threadpoolctl import threadpool_limits

from mouse_rsa import results
from mouse_rsa.cli import main
from mouse_rsa.errors import InvalidInput
from mouse_rsa.runner import benchmark
from mouse_rsa.settings import Settings
from mouse_rsa.sweep import (
    LOG_NAME,
    ClusterOptions,
    SweepReport,
    UnitRecord,
    job_script,
    sweep,
)
from mouse_rsa.sweep.clusters import WORKER_CONFIG_DIR, open_client, worker_memory
from mouse_rsa.sweep.report import append_log
from mouse_rsa.sweep.run import expected_cost
from mouse_rsa.units import plan

MODELS = ["pixels", "random_features"]
SEEDS = [0, 1]
SETTINGS = Settings(dataset="demo", use_cache=False, device="cpu")  # what a sweep without --gpus records
NO_DASHBOARD = {"dashboard_address": ":0"}  # any free port: tests may run side by side


def _units():
    """2 models × their weights × 2 seeds × 2 methods = 8 units in 4 feature groups."""
    return plan(MODELS, SETTINGS, weights="both", methods=["rsa", "encoding"], seeds=SEEDS)


def _tree(directory: Path) -> dict[str, bytes]:
    """Every result file under ``directory`` by relative path; sidecars reduced to key and file digests."""
    files = {}
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.name == LOG_NAME:
            continue
        data = path.read_bytes()
        if path.name.endswith(".unit.json"):
            record = json.loads(data)
            data = json.dumps([record["key"], record["files"], record["unit"]], sort_keys=True).encode()
        files[str(path.relative_to(directory))] = data
    return files


def _log(out: Path) -> list[dict[str, str]]:
    with open(out / LOG_NAME) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def reference(tmp_path_factory, demo):
    """The same units run one after another in this process by ``benchmark`` (one call per seed).

    Single-threaded, as Dask's workers are: float32 sums split over threads round differently (1e-9).
    """
    out = tmp_path_factory.mktemp("serial")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            for seed in SEEDS:
                benchmark(MODELS, SETTINGS.replace(model_seed=seed), weights="both", methods=["rsa", "encoding"], out=out,
                          progress=False)
    finally:
        torch.set_num_threads(threads)
    return _tree(out)


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes shared by the tests that do not kill workers."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, silence_logs=logging.CRITICAL,
                      scheduler_kwargs={"allowed_failures": 2}, **NO_DASHBOARD) as local:
        yield local


def test_local_cluster_sweep_writes_what_benchmark_writes(tmp_path, reference):
    out = tmp_path / "sweep"
    report = sweep(_units(), out, ClusterOptions(workers=2, **NO_DASHBOARD), progress=False)
    assert [r.status for r in report.records] == ["done"] * 8
    assert _tree(out) == reference
    log = _log(out)
    assert len(log) == 8 and {row["status"] for row in log} == {"done"} and {row["attempts"] for row in log} == {"1"}
    assert {row["unit_key"] for row in log} == {r.key["unit_key"] for r in report.records}
    assert all(float(row["peak_rss_mb"]) > 0 and float(row["score_s"]) > 0 for row in log)


class KillOnceInForward(WorkerPlugin):
    """Make the first forward pass of ``module_type`` on any worker end its process (once, marked by a file)."""

    def __init__(self, marker: str, module_type: str):
        self.marker, self.module_type = marker, module_type

    def setup(self, worker):
        from torch.nn.modules.module import register_module_forward_pre_hook

        def kill_once(module, inputs):
            if type(module).__name__ != self.module_type:
                return
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return
            os._exit(1)

        self.hook = register_module_forward_pre_hook(kill_once)

    def teardown(self, worker):
        self.hook.remove()


def _sweep_killing_one_worker(local: LocalCluster, out: Path, marker: Path) -> SweepReport:
    with Client(local) as client:
        client.register_plugin(KillOnceInForward(str(marker), "Downsample"), name="kill-once")  # pixels
        try:
            return sweep(_units(), out, ClusterOptions(scheduler=local.scheduler_address), progress=False)
        finally:
            client.unregister_worker_plugin("kill-once")


def _check_one_retry(report: SweepReport, out: Path, marker: Path, reference: dict[str, bytes]) -> None:
    assert marker.exists()
    assert [r.status for r in report.records] == ["done"] * 8
    assert _tree(out) == reference
    attempts = {(row["model"], row["model_seed"]): int(row["attempts"]) for row in _log(out)}
    assert sorted(attempts.values()) == [1, 1, 1, 2]
    assert max(attempts, key=attempts.get)[0] == "pixels"


def test_a_worker_killed_mid_unit_is_retried_elsewhere_with_the_same_results(tmp_path, cluster, reference):
    """Two workers: the scheduler gives the unit to the other one."""
    report = _sweep_killing_one_worker(cluster, tmp_path / "sweep", tmp_path / "killed")
    _check_one_retry(report, tmp_path / "sweep", tmp_path / "killed", reference)


def test_the_only_worker_killed_mid_unit_is_retried_with_the_same_results(tmp_path, reference):
    """One worker: the neural targets died with it, so the client ships them again and resubmits."""
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, silence_logs=logging.CRITICAL,
                      scheduler_kwargs={"allowed_failures": 2}, **NO_DASHBOARD) as local:
        report = _sweep_killing_one_worker(local, tmp_path / "sweep", tmp_path / "killed")
    _check_one_retry(report, tmp_path / "sweep", tmp_path / "killed", reference)


def test_an_interrupted_sweep_redoes_no_finished_unit(tmp_path, cluster, monkeypatch, reference):
    out = tmp_path / "sweep"
    options = ClusterOptions(scheduler=cluster.scheduler_address)
    write_unit = results.write_unit
    calls = []

    def interrupt_on_third_unit(*args):
        calls.append(args)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return write_unit(*args)

    monkeypatch.setattr(results, "write_unit", interrupt_on_third_unit)
    with pytest.raises(KeyboardInterrupt):
        sweep(_units(), out, options, progress=False)
    monkeypatch.undo()
    finished = {p: p.stat().st_mtime_ns for p in out.rglob("*.unit.json")}
    assert len(finished) == 2 and len(_log(out)) == 2  # the first feature group, written and logged whole

    report = sweep(_units(), out, options, progress=False)
    assert len(report.skipped) == 2 and len(report.done) == 6 and not report.failed
    assert {p: p.stat().st_mtime_ns for p in finished} == finished
    assert _tree(out) == reference
    assert len(_log(out)) == 8


def test_a_failing_unit_is_reported_and_the_others_are_done(tmp_path, cluster):
    # GoogLeNet's auxiliary classifiers exist (the check before any work passes) but never run in eval mode:
    # the unit fails on its worker, after the sweep started
    units = plan(["pixels"], SETTINGS, methods="rsa") + plan(
        ["googlenet"], SETTINGS.replace(layers="aux1.*"), weights="random", methods="rsa")
    out = tmp_path / "sweep"
    report = sweep(units, out, ClusterOptions(scheduler=cluster.scheduler_address), progress=False)
    assert [r.key["model"] for r in report.done] == ["pixels"]
    [failed] = report.failed
    assert failed.key["model"] == "googlenet" and "match no layer of googlenet" in failed.reason
    table = report.table().splitlines()
    assert sorted(line.split() for line in table[1:3]) == [["googlenet", "0", "0", "1"], ["pixels", "1", "0", "0"]]
    assert table[-1] == f"failed: googlenet random model seed 0 layers aux1.* rsa_nnls: {failed.reason}"
    assert not (out / "demo" / "googlenet").exists()
    [row] = [row for row in _log(out) if row["status"] == "failed"]
    assert row["model"] == "googlenet" and row["reason"] == failed.reason


def test_slurm_dry_run_prints_the_job_script_without_slurm(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch, squeue, ... anywhere
    assert shutil.which("sbatch") is None
    out = tmp_path / "never"
    code = main(["sweep", "--model", "pixels", "random_features", "--dataset", "demo", "--seeds", "0", "1",
                 "--method", "rsa", "encoding", "--out", str(out), "--cluster", "slurm", "--jobs", "4", "--cores", "8",
                 "--memory", "32GiB", "--walltime", "01:30:00", "--gpus", "1", "--queue", "gpu",
                 "--job-extra=--account=lab", "--dry-run"])
    printed = capsys.readouterr().out
    assert code == 0
    for line in ("#SBATCH -p gpu", "#SBATCH --cpus-per-task=8", "#SBATCH --mem=32G", "#SBATCH -t 01:30:00",
                 "#SBATCH --gres=gpu:1", "#SBATCH --account=lab"):
        assert line in printed.splitlines()
    assert "--nthreads 8" in printed and "--resources GPU=1" in printed
    assert printed.startswith("8 units in 4 feature groups") and "4 slurm job(s)" in printed
    assert "  random_features random model seed 1 layers all: rsa_nnls, encoding_ridge" in printed.splitlines()
    assert not out.exists()


def test_cli_sweep_prints_the_table_and_resumes(tmp_path, capsys, cluster):
    argv = ["sweep", "--model", "pixels", "--dataset", "demo", "--out", str(tmp_path), "--no-cache", "--quiet",
            "--scheduler", cluster.scheduler_address]
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[1].split() == ["pixels", "1", "0", "0"]
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[1].split() == ["pixels", "0", "1", "0"]


def test_cli_names_the_bad_cluster_flag(capsys):
    code = main(["sweep", "--model", "pixels", "--dataset", "demo", "--workers", "0", "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--workers must be an integer of at least 1" in err


@pytest.mark.parametrize("system,lines", [
    ("pbs", ["#PBS -q short", "#PBS -l select=1:ncpus=4:mem=7630MB:ngpus=1", "#PBS -l walltime=02:00:00"]),
    ("sge", ["#$ -q short", "#$ -l gpu=1", "#$ -l h_rt=02:00:00"]),
    ("lsf", ["#BSUB -q short", "#BSUB -n 4", '#BSUB -gpu "num=1"', "#BSUB -W 02:00:00"]),
])
def test_batch_job_scripts_carry_the_resources(system, lines):
    options = ClusterOptions(cluster=system, cores=4, memory="8GB", walltime="02:00:00", queue="short", gpus=1,
                             job_extra=("-V",), **NO_DASHBOARD)
    script = job_script(options, need=2**30).splitlines()
    for line in lines:
        assert line in script


def test_cpu_batch_jobs_run_one_single_threaded_worker_per_core():
    options = ClusterOptions(cluster="slurm", cores=4, **NO_DASHBOARD)
    script = job_script(options, need=3 * 2**30)
    assert "#SBATCH --mem=12G" in script.splitlines()  # 4 workers × what the largest model needs
    assert "--nthreads 1" in script and "--memory-limit 3.00GiB" in script and "GPU" not in script


def test_local_gpu_workers_each_see_one_gpu():
    with open_client(ClusterOptions(gpus=2, **NO_DASHBOARD), need=2**30) as client:
        client.wait_for_workers(2)
        seen = client.run(lambda: os.environ["CUDA_VISIBLE_DEVICES"])
        resources = [w["resources"] for w in client.scheduler_info()["workers"].values()]
    assert sorted(seen.values()) == ["0", "1"] and resources == [{"GPU": 1}, {"GPU": 1}]


def test_local_workers_keep_the_default_malloc_thresholds_and_see_no_gpu(monkeypatch):
    """Dask's MALLOC_TRIM_THRESHOLD_ (1.7x slower extraction) is dropped; its thread caps stay; without
    --gpus a worker sees no GPU."""
    # a nanny started earlier in this process (the plain LocalCluster fixture) leaves Dask's value in
    # os.environ, and workers inherit the environment: start from a user's shell, which has none
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with open_client(ClusterOptions(workers=1, **NO_DASHBOARD), need=2**30) as client:
        client.wait_for_workers(1)
        seen = client.run(lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS"),
                                   os.environ.get("CUDA_VISIBLE_DEVICES")))
    assert list(seen.values()) == [(None, "1", "")]


def test_on_a_gpu_host_workers_are_cpu_only_unless_given_gpus(monkeypatch):
    """A client that sees a GPU (faked) still keys and runs a sweep's units on the CPU without --gpus; with
    --gpus each unit runs on its worker's one GPU."""
    from mouse_rsa.features import device
    from mouse_rsa.sweep.run import on_workers

    monkeypatch.setattr(device, "_nvidia_driver", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    units = plan(MODELS[:1], Settings(dataset="demo"), weights="fixed")
    assert units[0].feature_fields()["device"] == "cuda"  # what benchmark would run here
    cpu = on_workers(units, ClusterOptions())
    assert cpu[0].settings.device == "cpu" and cpu[0].feature_fields()["device"] == "cpu"
    assert on_workers(units, ClusterOptions(gpus=2))[0].settings.device == "cuda"
    with pytest.raises(InvalidInput, match="needs GPU workers: give --gpus N"):
        on_workers(plan(MODELS[:1], Settings(dataset="demo", device="cuda"), weights="fixed"), ClusterOptions())
    with pytest.raises(InvalidInput, match="sees its one GPU as cuda"):
        on_workers(plan(MODELS[:1], Settings(dataset="demo", device="cuda:1"), weights="fixed"),
                   ClusterOptions(gpus=2))


def test_batch_workers_read_the_malloc_setting_unless_the_user_has_a_dask_config(monkeypatch):
    import dask.config

    monkeypatch.delenv("DASK_CONFIG", raising=False)
    script = job_script(ClusterOptions(cluster="slurm", **NO_DASHBOARD), need=2**30).splitlines()
    assert f"export DASK_CONFIG={WORKER_CONFIG_DIR}" in script
    read = dask.config.collect(paths=[str(WORKER_CONFIG_DIR)], env={})
    assert read["distributed"]["nanny"]["pre-spawn-environ"] == {"MALLOC_TRIM_THRESHOLD_": None}
    monkeypatch.setenv("DASK_CONFIG", "/lab/dask")
    assert "DASK_CONFIG" not in job_script(ClusterOptions(cluster="slurm", **NO_DASHBOARD), need=2**30)


def test_groups_start_largest_model_first():
    costs = {m: expected_cost(m) for m in ("vgg16", "resnet50", "squeezenet1_1", "taskonomy_edge_texture", "pixels")}
    assert costs["vgg16"] > costs["resnet50"] > costs["squeezenet1_1"] > costs["pixels"] >= 0
    assert costs["taskonomy_edge_texture"] == pytest.approx(4.1 * 23.66 / 25.6, rel=0.01)  # a ResNet-50 trunk


@pytest.mark.parametrize("kwargs,argument", [
    ({"scheduler": "tcp://host:8786", "cluster": "slurm"}, "scheduler"),
    ({"cluster": "condor"}, "cluster"),
    ({"cluster": "slurm", "gpus": 2}, "gpus"),
    ({"cluster": "slurm", "workers": 2}, "workers"),
    ({"gpus": 2, "workers": 3}, "workers"),
    ({"jobs": 0}, "jobs"),
    ({"retries": -1}, "retries"),
    ({"workers": 1.5}, "workers"),
])
def test_cluster_options_name_the_bad_argument(kwargs, argument):
    with pytest.raises(InvalidInput) as err:
        ClusterOptions(**kwargs)
    assert err.value.argument == argument


def test_worker_memory_fits_the_largest_model():
    assert worker_memory([]) == worker_memory([1e6, 1.4e8]) == 6 * 2**30  # every study model fits, one after another
    assert worker_memory([1e6, float("nan"), 4e8]) == 3 * 2**29 + 16 * 4 * 10**8


def test_log_appends_rows_under_one_header(tmp_path):
    key = {"unit_key": "0123456789abcdef", "model": "m", "weights": "random", "model_seed": 3, "method": "rsa_nnls",
           "layer_set": "all"}
    append_log(tmp_path, [UnitRecord(key, "done", timings={"build_s": 1.23456, "peak_rss_mb": 100.0},
                                     worker="w0", attempts=1, elapsed_s=5.0)])
    append_log(tmp_path, [UnitRecord(key, "failed", reason="boom", worker="w1", attempts=3)])
    rows = _log(tmp_path)
    assert [r["status"] for r in rows] == ["done", "failed"] and rows[0]["build_s"] == "1.235"
    assert rows[0]["extract_s"] == "" and rows[1]["reason"] == "boom" and rows[1]["attempts"] == "3"
    assert (tmp_path / LOG_NAME).read_text().count("unit_key") == 1


def test_report_table_counts_each_status_per_model():
    def record(model, status, reason=""):
        return UnitRecord({"model": model, "weights": "random", "model_seed": 0, "layer_set": "all", "method": "rsa_nnls"},
                          status, reason=reason)

    report = SweepReport([record("a", "done"), record("a", "skipped"), record("bb", "failed", "no weights"),
                          record("a", "done")])
    assert report.table().splitlines() == [
        "model     done  skipped   failed",
        "a            2        1        0",
        "bb           0        0        1",
        "total        2        1        1",
        "failed: bb random model seed 0 layers all rsa_nnls: no weights",
    ]
