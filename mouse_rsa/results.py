"""Result files: column contracts, the unit sidecar, atomic writing and reading a results directory.

A unit (model × weights × seed × method × layer set, under one set of settings and one neural
target) writes under ``OUT/<dataset>/<model>/<stem>``:

* ``.scores.csv``: one row per site, ``SCORE_COLUMNS`` (every key column, then the site's numbers);
* ``.layers.csv``: one row per site × layer, ``LAYER_COLUMNS``;
* ``.nnls.csv`` (RSA): the NNLS weight of every layer and the intercept in every fold, ``NNLS_COLUMNS``;
* ``.rdms.npz`` (RSA with the ``latent`` layer set): the unit's layer RDMs, for joint analyses;
* ``.unit.json``: the sidecar, written last: the full unit key and every file with its row count and
  sha256. A unit is whole only when its sidecar is readable and every file matches it.

The site RDMs of a neural target go once to ``OUT/<dataset>/targets-<targets_key>.npz``.
Readers return whole units only; a malformed or partial unit is skipped with a
``MalformedResultWarning`` naming it, so one bad file never hides the others. No torch here.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .cache import atomic_path, digest
from .errors import InvalidInput

KEY_COLUMNS = ["unit_key", "dataset", "dataset_hash", "targets_key", "model", "weights", "weights_source", "seed",
               "method", "layer_set", "folds", "repeats", "max_dim", "reliability_threshold", "min_cells",
               "reliability_splits", "code_version"]
SITE_COLUMNS = ["area", "cortical_layer", "site", "n_cells", "score", "score_r2", "ceiling", "score_normalized",
                "best_layer", "best_layer_index", "best_layer_depth", "best_layer_score", "n_layers"]
SCORE_COLUMNS = KEY_COLUMNS + SITE_COLUMNS
# layer and NNLS files carry the unit key and the columns needed to read them alone; readers join the rest
SHORT_KEY = ["unit_key", "dataset", "model", "weights", "seed", "method", "layer_set"]
LAYER_COLUMNS = SHORT_KEY + ["area", "cortical_layer", "site", "layer", "layer_index", "layer_depth", "rsa_pearson",
                             "rsa_spearman", "encoding_median_r", "encoding_alpha_at_edge"]
NNLS_COLUMNS = SHORT_KEY + ["site", "repeat", "fold", "regressor", "weight"]
TABLES = {"scores": SCORE_COLUMNS, "layers": LAYER_COLUMNS, "nnls": NNLS_COLUMNS}
METHOD_NAMES = {"rsa": "rsa_nnls", "encoding": "encoding_ridge"}


class MalformedResultWarning(UserWarning):
    """A result file that is unreadable, partial or from another layout; it is skipped."""


@dataclass
class UnitResult:
    """What one unit produced: its key, its tables (without key columns) and how long it took.

    ``scores`` has ``SITE_COLUMNS``; ``layers`` and ``nnls`` the non-key columns of their contracts;
    ``rdms`` maps layer name → upper-triangle RDM vector (latent RSA units only); ``unit`` holds the
    model, weights, method and every Settings field that made it (so a directory reads back into units).
    """

    key: dict[str, Any]
    unit: dict[str, Any]
    scores: pd.DataFrame
    layers: pd.DataFrame
    nnls: pd.DataFrame
    rdms: dict[str, np.ndarray] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The three tables with their key columns, in contract column order (nnls empty for encoding)."""
        out = {}
        for part, frame in (("scores", self.scores), ("layers", self.layers), ("nnls", self.nnls)):
            columns = TABLES[part]
            key = {c: self.key[c] for c in columns if c in self.key}
            out[part] = frame.assign(**key)[columns] if len(frame) else pd.DataFrame(columns=columns)
        return out


def unit_key(key: dict[str, Any]) -> str:
    """16-hex digest of a key's fields (every field but ``unit_key`` itself)."""
    return digest({k: v for k, v in key.items() if k != "unit_key"})


def layer_set_slug(layer_set: str) -> str:
    """``all`` and ``latent`` as they are; a glob as ``glob-<8 hex>`` (safe in a file name)."""
    if layer_set in ("all", "latent"):
        return layer_set
    return "glob-" + hashlib.sha256(layer_set.encode()).hexdigest()[:8]


def unit_stem(key: dict[str, Any]) -> str:
    weights = key["weights"]
    source = str(key["weights_source"])
    if source.startswith("file:"):
        weights = f"{weights}-file{source.rsplit(':', 1)[-1][:8]}"
    method = next((short for short, full in METHOD_NAMES.items() if full == key["method"]), key["method"])
    return f"{weights}-seed{key['seed']}-{layer_set_slug(key['layer_set'])}-{method}"


def unit_dir(out: Path | str, key: dict[str, Any]) -> Path:
    return Path(out) / str(key["dataset"]) / str(key["model"])


def sidecar_path(out: Path | str, key: dict[str, Any]) -> Path:
    return unit_dir(out, key) / f"{unit_stem(key)}.unit.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_writable(directory: Path | str, argument: str = "out") -> Path:
    """Raise InvalidInput unless ``directory`` is, or can be created as, a writable directory.

    Creates nothing, so a run stopped by later bad input leaves nothing on disk.
    """
    directory = Path(directory)
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    problem = None
    if not existing.is_dir():
        problem = "is a regular file" if existing == directory else f"is under the regular file {existing}"
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = f"cannot be written ({existing} is read-only)"
    if problem:
        raise InvalidInput(f"{argument} {directory} {problem}; choose another path", argument=argument)
    return directory


def write_unit(out: Path | str, result: UnitResult) -> list[Path]:
    """Write a unit's files atomically, the sidecar last; returns the paths written."""
    key = result.key
    directory = unit_dir(out, key)
    stem = unit_stem(key)
    written, files = [], {}
    for part, table in result.tables().items():
        if part == "nnls" and not len(table):
            continue
        path = directory / f"{stem}.{part}.csv"
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False, float_format="%.10g")
        files[part] = {"name": path.name, "rows": len(table), "sha256": _sha256(path)}
        written.append(path)
    if result.rdms:
        path = directory / f"{stem}.rdms.npz"
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, names=np.array(list(result.rdms), dtype="U"), vectors=np.stack(list(result.rdms.values()), 1))
        files["rdms"] = {"name": path.name, "rows": len(result.rdms), "sha256": _sha256(path)}
        written.append(path)
    sidecar = directory / f"{stem}.unit.json"
    with atomic_path(sidecar) as tmp:
        tmp.write_text(json.dumps({"key": key, "unit": result.unit, "files": files, "timings": result.timings},
                                  indent=1, default=str))
    return written + [sidecar]


def read_sidecar(path: Path) -> dict[str, Any]:
    """A sidecar whose files are all present and unchanged; MalformedResultWarning-worthy errors raise ValueError."""
    try:
        record = json.loads(path.read_text())
        key, files = record["key"], record["files"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"unreadable sidecar ({type(err).__name__})") from err
    if unit_key(key) != key.get("unit_key") or "scores" not in files:
        raise ValueError("sidecar key does not match its digest")
    for part, entry in files.items():
        data = path.parent / entry["name"]
        if not data.is_file() or _sha256(data) != entry["sha256"]:
            raise ValueError(f"{part} file {entry['name']} is missing or changed")
    return record


def finished(out: Path | str, key: dict[str, Any]) -> bool:
    """Whether the unit with ``key`` is whole under ``out`` (same key, every file intact)."""
    path = sidecar_path(out, key)
    if not path.is_file():
        return False
    try:
        return read_sidecar(path)["key"] == json.loads(json.dumps(key, default=str))
    except ValueError:
        return False


def read_unit(out: Path | str, key: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """The tables of a finished unit (see ``finished``), with key columns."""
    stem = unit_dir(out, key) / unit_stem(key)
    return {part: pd.read_csv(f"{stem}.{part}.csv") if Path(f"{stem}.{part}.csv").is_file()
            else pd.DataFrame(columns=TABLES[part]) for part in TABLES}


def scan(directory: Path | str) -> tuple[list[tuple[Path, dict[str, Any]]], list[str]]:
    """(sidecar path, record) of every whole unit under ``directory``, and one line per malformed one."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InvalidInput(f"results directory {directory} does not exist; run `mouse-rsa benchmark` first",
                           argument="directory")
    units, problems = [], []
    for path in sorted(directory.rglob("*.unit.json")):
        try:
            units.append((path, read_sidecar(path)))
        except ValueError as err:
            problems.append(f"{path}: {err}")
    described = {path.parent / entry["name"] for path, record in units for entry in record["files"].values()}
    problems += [f"{orphan}: no matching .unit.json (partial, or written by an older mouse-rsa)"
                 for orphan in sorted(set(directory.rglob("*.scores.csv")) - described)]
    return units, problems


def whole_units(directory: Path | str) -> list[tuple[Path, dict[str, Any]]]:
    """Every whole unit under ``directory``; each malformed one gets a MalformedResultWarning naming it."""
    units, problems = scan(directory)
    for problem in problems:
        warnings.warn(f"skipped {problem}; re-run that unit", MalformedResultWarning, stacklevel=2)
    return units


def _read_part(directory: Path | str, part: str) -> pd.DataFrame:
    frames, keys = [], []
    for path, record in whole_units(directory):
        entry = record["files"].get(part)
        keys.append(record["key"])
        if entry is None:
            continue
        table = pd.read_csv(path.parent / entry["name"])
        if set(TABLES[part]) - set(table.columns):
            warnings.warn(f"skipped {path.parent / entry['name']}: columns differ from this version's",
                          MalformedResultWarning, stacklevel=3)
            continue
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=TABLES[part])
    table = pd.concat(frames, ignore_index=True)
    if part == "scores":
        return table
    # join the key columns that the compact files leave out
    extra = [c for c in KEY_COLUMNS if c not in table.columns]
    return table.merge(pd.DataFrame(keys)[["unit_key", *extra]].drop_duplicates("unit_key"), on="unit_key")


def read_scores(directory: Path | str) -> pd.DataFrame:
    """Site scores of every whole unit under ``directory`` (``SCORE_COLUMNS``); InvalidInput if none."""
    units, problems = scan(directory)
    if not units:
        skipped = f" ({len(problems)} malformed, e.g. {problems[0]})" if problems else ""
        raise InvalidInput(f"no whole result under {directory}{skipped}; run `mouse-rsa benchmark --out {directory}`",
                           argument="directory")
    return _read_part(directory, "scores")


def read_layers(directory: Path | str) -> pd.DataFrame:
    """Per-layer profiles of every whole unit, with every key column joined."""
    return _read_part(directory, "layers")


def read_nnls(directory: Path | str) -> pd.DataFrame:
    """NNLS weights of every whole RSA unit, with every key column joined."""
    return _read_part(directory, "nnls")


def read_model_rdms(directory: Path | str, key: str) -> tuple[list[str], np.ndarray]:
    """(layer names, upper-triangle RDMs (n_pairs, n_layers)) saved by the unit whose unit_key is ``key``."""
    for path, record in whole_units(directory):
        if record["key"]["unit_key"] == key and "rdms" in record["files"]:
            with np.load(path.parent / record["files"]["rdms"]["name"], allow_pickle=False) as f:
                return [str(n) for n in f["names"]], f["vectors"]
    raise InvalidInput(f"no saved RDMs for unit {key} under {directory}; run that model with layers='latent'",
                       argument="directory")


def write_targets(out: Path | str, targets) -> Path:
    """The site RDMs (upper triangles) and ceilings of ``targets``, once per target key."""
    path = Path(out) / targets.name / f"targets-{targets.key}.npz"
    if not path.is_file():
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, sites=np.array([s.key for s in targets.sites], dtype="U"), vectors=targets.site_vectors(),
                     ceilings=np.array([s.ceiling for s in targets.sites]), n_stimuli=np.int64(targets.n_stimuli))
    return path


def read_site_rdms(directory: Path | str, dataset: str, targets_key: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(site keys, upper-triangle site RDMs (n_pairs, n_sites), ceilings) of one neural target."""
    path = Path(directory) / dataset / f"targets-{targets_key}.npz"
    try:
        with np.load(path, allow_pickle=False) as f:
            return [str(s) for s in f["sites"]], f["vectors"], f["ceilings"]
    except (OSError, ValueError, KeyError) as err:
        raise InvalidInput(f"site RDMs {path} are missing or unreadable; re-run any unit of that dataset",
                           argument="directory") from err
