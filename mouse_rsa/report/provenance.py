"""How the results were made: the commands that reproduce them (rebuilt from the unit sidecars), the
settings of each comparison, the code that computed them, and the software that built the report."""
from __future__ import annotations

import platform
from collections import defaultdict
from dataclasses import fields
from importlib import metadata
from typing import Any

import pandas as pd

from ..settings import Settings

SOFTWARE = ("mouse-rsa", "numpy", "pandas", "scipy", "scikit-learn", "statsmodels", "torch", "torchvision", "timm",
            "allensdk", "matplotlib", "Jinja2", "fontpkg-atkinson-hyperlegible")
VENDORED = [("Vega", "6.4.0", "vega"), ("Vega-Lite", "6.5.0", "vega-lite"), ("vega-embed", "7.3.0", "vega-embed")]
# settings that never change numbers, or that the command line spells differently
NOT_OPTIONS = {"model_seed", "layers", "batch_size", "device", "use_cache"}
DEFAULTS = {f.name: f.default for f in fields(Settings)}


def unit_settings(record: dict[str, Any]) -> dict[str, Any]:
    """A unit's settings: those its sidecar recorded, else those its key holds."""
    key = record["key"]
    from_key = {name: key[name] for name in DEFAULTS if name in key}
    return {**from_key, "model_seed": key["model_seed"], "layers": key["layer_set"],
            **record.get("unit", {}).get("settings", {})}


def _options(settings: dict[str, Any]) -> list[str]:
    """The command-line options that give ``settings`` (those different from the defaults; the dataset always)."""
    options = []
    for name, value in settings.items():
        if name in NOT_OPTIONS or name not in DEFAULTS or value is None or \
                (value == DEFAULTS[name] and name != "dataset"):
            continue
        options.append(f"--{name.replace('_', '-')} {value}")
    return options


def _weights_option(kinds: set[str]) -> str:
    learned = kinds - {"fixed"}
    if learned == {"pretrained", "random"}:
        return "both"
    return next(iter(learned)) if learned else "random"


def commands(units: list[dict[str, Any]], directory: str) -> list[str]:
    """One ``mouse-rsa benchmark`` command per group of models run with the same settings, weights, seeds,
    methods and layer set, that together redo every unit of ``units`` into ``directory``."""
    per_model: dict[tuple, dict[str, Any]] = defaultdict(lambda: {"weights": set(), "seeds": set(), "methods": set()})
    for record in units:
        key, settings = record["key"], unit_settings(record)
        fixed = tuple(sorted((k, str(v)) for k, v in settings.items() if k not in ("model_seed",)))
        entry = per_model[(key["model"], fixed)]
        entry["weights"].add(key["weights"])
        entry["seeds"].add(int(settings["model_seed"]))
        entry["methods"].add(key["method"])
        entry["settings"] = settings
    groups: dict[tuple, list[str]] = defaultdict(list)
    options: dict[tuple, dict[str, Any]] = {}
    for (model, fixed), entry in per_model.items():
        learned = entry["weights"] - {"fixed"}
        key = (fixed, _weights_option(entry["weights"]) if learned else None, tuple(sorted(entry["seeds"])),
               tuple(sorted(entry["methods"])))
        groups[key].append(model)
        options[key] = entry["settings"]
    # a baseline (fixed weights) runs with any --weights: it joins a group of the same settings, seeds and methods
    for key in [k for k in groups if k[1] is None]:
        host = next((k for k in groups if k[1] is not None and (k[0], k[2], k[3]) == (key[0], key[2], key[3])), None)
        if host is not None:
            groups[host] += groups.pop(key)
    lines = []
    for (fixed, weights, seeds, methods), models in groups.items():
        settings = options[(fixed, weights, seeds, methods)]
        method = "all" if len(methods) > 1 else methods[0]
        parts = ["mouse-rsa benchmark --model", *sorted(models), "--weights", weights or "random",
                 "--method", method, "--layers", settings["layers"], "--seeds", *map(str, seeds),
                 *_options(settings), "--out", directory]
        lines.append(" ".join(parts))
    return sorted(lines)


def settings_table(units: list[dict[str, Any]]) -> pd.DataFrame:
    """One column per settings key: every field of the unit key that is a setting (not the model)."""
    keep = ["dataset", "dataset_hash", "targets_key", "cv_seed", "target_seed", "folds", "repeats", "max_dim",
            "reliability_threshold", "min_cells", "reliability_splits", "precision", "device", "code_version",
            "code_fingerprint"]
    rows: dict[str, dict[str, Any]] = {}
    for record in units:
        key = record["key"]
        rows.setdefault(key["settings_key"], {c: key.get(c) for c in keep})
    return pd.DataFrame(rows).rename_axis("setting").reset_index()


def software() -> list[tuple[str, str]]:
    """(distribution, version) of the software that built this report (the results record their own
    mouse-rsa version and code fingerprint)."""
    found = [("Python", platform.python_version())]
    for name in SOFTWARE:
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            found.append((name, "not installed"))
    return found
