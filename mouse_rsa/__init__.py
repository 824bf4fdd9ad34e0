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

from model_zoo.lazy import lazy_exports, moved_modules

_API = {
    "__version__": "version",
    "benchmark": "runner", "BenchmarkResult": "runner", "run_units": "runner",
    "Settings": "settings",
    "Unit": "units", "plan": "units",
    "Targets": "neural.targets", "load_targets": "neural.targets",
    "load_dataset": "data", "NeuralDataset": "data",
    "MouseRSAError": "errors", "UserError": "errors", "InvalidInput": "errors", "DataUnavailable": "errors",
    "WeightsUnavailable": "errors", "WriteFailed": "errors", "MouseRSAWarning": "errors",
}
__all__ = [
    "BenchmarkResult",
    "DataUnavailable",
    "InvalidInput",
    "MouseRSAError",
    "MouseRSAWarning",
    "NeuralDataset",
    "Settings",
    "Targets",
    "Unit",
    "UserError",
    "WeightsUnavailable",
    "WriteFailed",
    "__version__",
    "benchmark",
    "load_dataset",
    "load_targets",
    "plan",
    "run_units",
]

__getattr__, __dir__ = lazy_exports(__name__, _API, submodules=True)

# modules of earlier releases → where their names live now, so that their imports keep working
moved_modules(__name__, {"reliability": ("neural.reliability",), "sites": ("neural.sites",),
                         "targets": ("neural.targets",), "grams": ("features.grams",),
                         "feature_cache": ("features.cache",), "encoding": ("methods.encoding_ridge",),
                         "rsa": ("methods.nnls", "methods.folds", "rdm")})
