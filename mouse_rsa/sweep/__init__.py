"""Sweeps on Dask: every planned unit on a laptop's cores, a GPU node, or a batch cluster.

>>> from mouse_rsa.settings import Settings
>>> from mouse_rsa.units import plan
>>> from mouse_rsa.sweep import ClusterOptions, sweep
>>> units = plan(["pixels", "gabor"], Settings(dataset="demo"), methods="all", seeds=[0, 1])
>>> report = sweep(units, "results", ClusterOptions(workers=2))
>>> print(report.table())

``clusters`` gets the workers, ``run`` plans the traffic, ``worker`` is what runs on them and
``report`` is what comes back (the end-of-sweep table and ``OUT/sweep-log.csv``). Names are
imported on first use (PEP 562), so the CLI can read ``ClusterOptions`` without loading Dask.
"""
from __future__ import annotations

from model_zoo.lazy import lazy_exports

_API = {
    "sweep": "run", "dry_run": "run", "memory_needed": "run",
    "ClusterOptions": "clusters", "job_script": "clusters", "BATCH_SYSTEMS": "clusters",
    "SweepReport": "report", "UnitRecord": "report", "LOG_COLUMNS": "report", "LOG_NAME": "report",
}
__all__ = list(_API)


__getattr__, __dir__ = lazy_exports(__name__, _API)
