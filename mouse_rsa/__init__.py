"""mouse-rsa: which deep networks best characterize mouse visual cortex?

The library behind the ``mouse-rsa`` command; every command is one call away::

    import mouse_rsa
    ds = mouse_rsa.load_dataset("demo")
    result = mouse_rsa.benchmark("mobilenet_v2", weights="random", dataset="demo")
    table = mouse_rsa.leaderboard.rank("results")

The names below are imported on first use (PEP 562), so ``import mouse_rsa`` is cheap and
CSV-only work (``mouse_rsa.leaderboard``, ``mouse_rsa.results``) never imports torch.
Nothing here touches the network or the disk on import.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

_API = {
    "benchmark": "runner", "BenchmarkResult": "runner",
    "Settings": "settings",
    "Unit": "units", "plan": "units", "run_unit": "units", "run_units": "units",
    "Targets": "targets", "load_targets": "targets",
    "load_dataset": "data", "NeuralDataset": "data",
    "MouseRSAError": "errors", "UserError": "errors", "InvalidInput": "errors", "DataUnavailable": "errors",
    "WeightsUnavailable": "errors",
}
__all__ = [
    "BenchmarkResult",
    "DataUnavailable",
    "InvalidInput",
    "MouseRSAError",
    "NeuralDataset",
    "Settings",
    "Targets",
    "Unit",
    "UserError",
    "WeightsUnavailable",
    "__version__",
    "benchmark",
    "load_dataset",
    "load_targets",
    "plan",
    "run_unit",
    "run_units",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(f".{_API[name]}", __name__), name)
        globals()[name] = value
        return value
    try:
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as err:
        if err.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module 'mouse_rsa' has no attribute {name!r}") from err


def __dir__() -> list[str]:
    return sorted(__all__)
