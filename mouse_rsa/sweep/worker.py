"""What runs on a Dask worker: one feature group of units through ``mouse_rsa.runner.run_units``.

The worker only computes; the client writes every result. A unit that raises (weights unavailable,
a model that does not build) comes back as a one-line reason instead of an exception, so it is
reported once rather than retried: only a worker's death makes Dask start a group again. Each start
is logged on the scheduler, so the client can tell how many times a unit was started.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

START_TOPIC = "mouse-rsa-unit-start"  # one event per task start: how often a unit was started

if TYPE_CHECKING:
    from ..neural.targets import Targets
    from ..results import UnitResult
    from ..units import Unit


@dataclass
class GroupOutcome:
    """The results of one feature group (or why it failed) and the worker that ran it."""

    worker: str
    results: list[UnitResult] = field(default_factory=list)
    error: str | None = None


def one_line(err: BaseException) -> str:
    """``err`` as one line: its message's first line, prefixed by its type unless it is a UserError."""
    from ..errors import UserError

    lines = str(err).strip().splitlines()
    text = lines[0] if lines else ""
    return text if isinstance(err, UserError) and text else f"{type(err).__name__}: {text}".rstrip(": ")


def _announce_start() -> str:
    """Log this task's start on the scheduler (topic ``START_TOPIC``) and return the worker's name."""
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # called outside a worker (tests, debugging)
        return "client"
    worker.log_event(START_TOPIC, {"key": str(worker.get_current_task())})
    return str(worker.name)


def run_group(units: list[Unit], targets: Targets, threads: int | None = None) -> GroupOutcome:
    """Run ``units`` (one feature group) on ``targets``; ``threads`` caps torch and BLAS threads."""
    worker = _announce_start()
    try:
        return GroupOutcome(worker, _run(units, targets, threads))
    except Exception as err:  # noqa: BLE001 (any unit's failure is reported, none stops the sweep)
        return GroupOutcome(worker, error=one_line(err))
    finally:
        release_freed_memory()


def release_freed_memory() -> None:
    """Hand the memory a finished group freed back to the system (glibc ``malloc_trim``; elsewhere a no-op).

    A worker runs model after model; glibc keeps freed activation buffers for reuse, so without this
    a one-thread process that ran resnext101_32x8d went into vgg13_bn holding 2.6 GB and peaked at
    3.6 GB, against 0.8 GB and 2.5 GB with it (measured here). Dask's own default
    (``MALLOC_TRIM_THRESHOLD_``) trims at every free and slows extraction 1.7x (``clusters``);
    trimming once per group costs nothing measurable.
    """
    import ctypes
    import ctypes.util
    import gc

    gc.collect()  # a model's module graph can hold reference cycles: free its weights before trimming
    name = ctypes.util.find_library("c")
    with contextlib.suppress(OSError, AttributeError):  # no C library found, or one without malloc_trim (not glibc)
        ctypes.CDLL(name).malloc_trim(0)


def _run(units: list[Unit], targets: Targets, threads: int | None) -> list[Any]:
    from ..runner import run_units

    if threads is None:
        return run_units(units, targets, progress=False)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    with threadpool_limits(limits=threads):
        return run_units(units, targets, progress=False)
