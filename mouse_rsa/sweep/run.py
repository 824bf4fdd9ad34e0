"""``sweep``: run planned units on a Dask cluster, resumably, writing each unit as it arrives.

The client prepares every distinct neural target once (``load_targets``), skips units already
whole under ``out`` (the same unit key as ``benchmark --resume``), ships each target to the workers
once (``Client.scatter(..., broadcast=True)``) and submits one task per feature group
(``mouse_rsa.units.feature_groups``: one model × weights × seed × layer set, every method scored on
one extraction by ``run_units``, the code path ``benchmark`` runs). Results are written atomically
by the client as they complete, so a sweep stopped at any moment leaves only whole units.

Faults: a group that raises is reported with its reason and the others go on; a worker that dies is
replaced and its group started again elsewhere, up to ``ClusterOptions.retries`` times; when the
death also lost the only copy of a target, the target is shipped again and the group resubmitted.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import results
from ..progress import progress_bar
from ..units import prepare_targets, target_id
from .clusters import ClusterOptions, check_scheduler, describe, job_script, open_client, worker_memory
from .report import SweepReport, UnitRecord, append_log
from .worker import START_TOPIC, GroupOutcome, one_line, run_group

if TYPE_CHECKING:
    from ..neural.targets import Targets
    from ..units import Unit

RESUBMITTABLE = ("cancelled", "lost")  # a future whose input (the scattered target) was lost with its worker
GFLOPS_PER_PARAMETER = 4.1 / 25.6e6  # ResNet-50's ratio: the cost guess for models the catalogue has no GFLOPs for


def expected_cost(model: str) -> float:
    """A model's forward GFLOPs per image (catalogue, or guessed from its parameters): the sweep's order.

    Groups are submitted, and start, largest first, so the sweep does not end on one worker running
    a VGG while the others wait (longest-processing-time order).
    """
    import math

    import model_zoo

    meta = model_zoo.info(model)
    cost = meta.gflops if math.isfinite(meta.gflops) else meta.n_params * GFLOPS_PER_PARAMETER
    return cost if math.isfinite(cost) else 0.0


def memory_needed(units: Sequence[Unit]) -> int:
    """Bytes a worker needs for the largest model among ``units`` (``clusters.worker_memory``)."""
    import model_zoo

    return worker_memory([float(model_zoo.info(m).n_params) for m in {u.model for u in units}])


def sweep(units: Sequence[Unit], out: str | Path, options: ClusterOptions | None = None,
          progress: bool = True, weights: str = "both") -> SweepReport:
    """Run ``units`` (from ``mouse_rsa.units.plan``) on Dask and write each under ``out``.

    Every option is checked first (``mouse_rsa.preflight``, and the scheduler's address answers). Units
    already finished under ``out`` are skipped; the rest run on the cluster ``options`` describes
    (default: a LocalCluster sized to this machine). ``weights``: what the units were planned with;
    under ``both`` a pretrained unit whose weights cannot be had is skipped with its reason, otherwise
    it stops the sweep before any work. Units run, and are keyed, on the workers' device
    (``ClusterOptions.device_for``: CPU unless ``gpus``). Returns every unit's status (done / skipped / failed with a
    one-line reason); timings go to ``out/sweep-log.csv``.
    """
    from ..preflight import check_before_work, without_unavailable_weights

    start = time.perf_counter()
    options = options or ClusterOptions()
    units = on_workers(units, options)
    check_before_work(units, out)
    check_scheduler(options)
    targets = prepare_targets(units)
    units, unavailable = without_unavailable_weights(units, targets, weights, out)
    report = SweepReport()
    report.records += [UnitRecord(unit.key(targets[target_id(unit)]), "skipped", reason=why)
                       for unit, why in unavailable.items()]
    todo = []
    for unit in units:
        key = unit.key(targets[target_id(unit)])
        if results.finished(out, key):
            report.records.append(UnitRecord(key, "skipped"))
        else:
            todo.append(unit)
    if todo:
        with open_client(options, memory_needed(todo)) as client:
            _Dispatch(client, options, Path(out), targets, start).run(todo, report, progress)
    report.wall_s = time.perf_counter() - start
    return report


def on_workers(units: Sequence[Unit], options: ClusterOptions) -> list[Unit]:
    """``units`` with the device they run on with these workers (``ClusterOptions.device_for``), which their
    keys record: a CPU worker on a GPU host never computes what a key calls cuda."""
    return [dataclasses.replace(u, settings=u.settings.replace(device=options.device_for(u.settings.device)))
            for u in units]


def dry_run(units: Sequence[Unit], options: ClusterOptions | None = None) -> str:
    """What ``sweep`` would do, computing and submitting nothing: the job script and the unit plan."""
    from ..units import feature_groups

    options = options or ClusterOptions()
    units = on_workers(units, options)
    need = memory_needed(units)
    groups = feature_groups(units)
    lines = [(f"{len(units)} units in {len(groups)} feature groups (one Dask task each); "
              f"a worker needs about {need / 2**30:.1f} GiB for the largest model")]
    if options.cluster:
        lines += [f"{options.jobs} {options.cluster} job(s), each running:", job_script(options, need)]
    elif options.scheduler:
        lines.append(f"on the running scheduler {options.scheduler}")
    for group in groups:
        s = group[0].settings
        methods = ", ".join(u.method for u in group)
        size = "" if s.image_size is None else f" image size {s.image_size_label} px"
        lines.append(f"  {group[0].model} {group[0].weights} model seed {s.model_seed} layers {s.layers}{size}: "
                     f"{methods}")
    return "\n".join(lines)


class _Dispatch:
    """One sweep's traffic with the cluster: ship targets, submit groups, take results as they come."""

    def __init__(self, client: Any, options: ClusterOptions, out: Path, targets: dict[str, Targets],
                 start: float) -> None:
        self.client, self.options, self.out, self.targets, self.start = client, options, out, targets, start
        self.shipped: dict[str, Any] = {}
        self.keys: dict[int, list[str]] = {}  # group index → every task key it ran under

    def run(self, todo: list[Unit], report: SweepReport, progress: bool) -> None:
        from distributed import as_completed

        from ..units import feature_groups

        if progress:
            print(describe(self.client), file=sys.stderr)
        self.client.wait_for_workers(1)
        groups = sorted(feature_groups(todo), key=lambda g: -expected_cost(g[0].model))  # largest first
        pending = {self._submit(groups[i], i): i for i in range(len(groups))}
        bar = progress_bar(total=len(todo), desc="sweep", unit="unit", disable=not progress)
        try:
            done = as_completed(list(pending))
            for future in done:
                index = pending.pop(future)
                starts = self._starts(index)
                if future.status in RESUBMITTABLE and starts <= self.options.retries:
                    retry = self._submit(groups[index], index)
                    pending[retry] = index
                    done.add(retry)
                    continue
                records = self._records(groups[index], future, starts)
                report.records += records
                append_log(self.out, records)
                bar.update(len(records))
                bar.set_postfix(failed=len(report.failed), refresh=False)
        finally:
            bar.close()

    def _submit(self, group: list[Unit], index: int) -> Any:
        tid = target_id(group[0])
        if tid not in self.shipped or self.shipped[tid].status != "finished":
            self.shipped[tid] = self.client.scatter(self.targets[tid], broadcast=True, hash=False)
        future = self.client.submit(run_group, group, self.shipped[tid], self.options.unit_threads,
                                    resources=self.options.resources, pure=False,
                                    priority=round(1000 * expected_cost(group[0].model)))
        self.keys.setdefault(index, []).append(future.key)
        return future

    def _starts(self, index: int) -> int:
        """How many times group ``index`` was started on a worker (each start is logged by ``run_group``)."""
        keys = set(self.keys[index])
        return sum(1 for _, event in self.client.get_events(START_TOPIC) if event.get("key") in keys)

    def _records(self, group: list[Unit], future: Any, starts: int) -> list[UnitRecord]:
        """Write the group's results (or note its failure) and return one record per unit."""
        elapsed = time.perf_counter() - self.start
        keys = [u.key(self.targets[target_id(u)]) for u in group]
        outcome = self._outcome(future, starts)
        base = UnitRecord({}, "failed", reason=outcome.error or "", worker=outcome.worker, attempts=starts,
                          elapsed_s=elapsed)
        if outcome.error is not None:
            return [dataclasses.replace(base, key=key) for key in keys]
        records = []
        for result in outcome.results:
            results.write_targets(self.out, self.targets[target_id(group[0])])  # with the first unit, never before
            results.write_unit(self.out, result)
            records.append(dataclasses.replace(base, key=result.key, status="done", timings=dict(result.timings)))
        return records

    def _outcome(self, future: Any, starts: int) -> GroupOutcome:
        from distributed import KilledWorker

        if future.status == "finished":
            outcome: GroupOutcome = future.result()
            return outcome
        if future.status in RESUBMITTABLE or isinstance(future.exception(), KilledWorker):
            return GroupOutcome("", error=f"its worker died each of the {starts} times it started (killed, or out "
                                          "of memory: give workers more memory or run fewer per machine)")
        return GroupOutcome("", error=one_line(future.exception()))

