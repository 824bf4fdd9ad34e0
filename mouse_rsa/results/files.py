"""How one unit is written: the column contracts, file names, the sidecar, atomic writes.

A unit (model × weights × model seed × method × layer set, under one set of settings and one neural
target) writes under ``OUT/<dataset>/<model>/<stem>``, the stem
``<weights>-seed<model seed>-<layer set>-<method>-<unit key, 8 hex>``: readable, and distinct for
every key, so two runs that differ in any setting never overwrite each other.

* ``.scores.csv``: one row per site, ``SCORE_COLUMNS`` (every key column, then the site's numbers);
* ``.layers.csv``: one row per site × layer, ``LAYER_COLUMNS`` plus the method's own layer columns;
* ``.<table>.csv``: any further table the method keeps (``rsa_nnls``: ``.nnls.csv``, the weights);
* ``.rdms.npz``: the layer RDMs of a latent unit whose method keeps them (joint analyses);
* ``.arrays.npz``: any arrays the method keeps;
* ``.unit.json``: the sidecar, written last: the full unit key, every settings field, each file
  with its row count and sha256, and the timings. A unit is whole only when its sidecar is readable
  and every file matches it.

The site RDMs of a neural target go once to ``OUT/<dataset>/targets-<targets_key>.npz``.
No torch here.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..cache import atomic_path, check_folder, digest, path_part
from ..methods.base import LAYER_BASE, SITE_COLUMNS
from ..settings import METHOD_SETTINGS

MODEL_FIELDS = ["model", "weights", "weights_source", "model_seed", "method", "layer_set"]
# every field of a unit's key; ``settings_key`` digests those that make two models' rows comparable
KEY_COLUMNS = ["unit_key", "settings_key", "dataset", "dataset_hash", "targets_key", *MODEL_FIELDS, "cv_seed",
               "target_seed", "folds", "repeats", "permutations", *METHOD_SETTINGS, "max_dim", "image_size",
               "bn_calibration", "reliability_threshold", "min_cells", "reliability_splits", "precision", "device",
               "code_version", "code_fingerprint"]
NOT_SETTINGS = {"unit_key", "settings_key", *MODEL_FIELDS, "device"}  # identity of the model, or how it ran
SCORE_COLUMNS = KEY_COLUMNS + SITE_COLUMNS
# layer and method tables carry the unit key and the columns needed to read them alone; readers join the rest
SHORT_KEY = ["unit_key", "dataset", "model", "weights", "model_seed", "method", "layer_set", "image_size"]
LAYER_COLUMNS = SHORT_KEY + LAYER_BASE
TABLES = {"scores": SCORE_COLUMNS, "layers": LAYER_COLUMNS}
TEXT = {"image_size": str, "layer": str, "best_layer": str}  # names that may look like numbers ("64", a layer "0")


def read_csv(path: Path) -> pd.DataFrame:
    """One of a unit's tables, its name columns read as text."""
    return pd.read_csv(path, dtype=TEXT)


@dataclass
class UnitResult:
    """What one unit produced: its key, its tables (without key columns) and how long it took.

    ``scores`` has ``SITE_COLUMNS``; ``layers`` the site and layer columns of ``LAYER_COLUMNS`` plus
    the method's; ``extra`` the method's further tables; ``rdms`` maps layer name → upper-triangle
    RDM vector (latent units of methods that keep them); ``arrays`` the method's arrays; ``unit`` holds
    the model, weights, method and every Settings field that made it (so a directory reads back into
    units).
    """

    key: dict[str, Any]
    unit: dict[str, Any]
    scores: pd.DataFrame
    layers: pd.DataFrame
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)
    rdms: dict[str, np.ndarray] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table with its key columns in front (``scores`` and ``layers`` first)."""
        out = {}
        for part, frame in (("scores", self.scores), ("layers", self.layers), *self.extra.items()):
            columns = TABLES.get(part, SHORT_KEY)
            key = {c: self.key[c] for c in columns if c in self.key}
            rest = [c for c in frame.columns if c not in columns]
            out[part] = frame.assign(**key)[[*columns, *rest]] if len(frame) else pd.DataFrame(columns=columns)
        return out


def with_digests(key: dict[str, Any]) -> dict[str, Any]:
    """``key`` with ``unit_key`` (every field) and ``settings_key`` (the settings fields) put in front."""
    fields = {k: v for k, v in key.items() if k not in ("unit_key", "settings_key")}
    settings = {k: v for k, v in fields.items() if k not in NOT_SETTINGS}
    return {"unit_key": unit_key(fields), "settings_key": digest(settings, length=12), **fields}


def unit_key(key: dict[str, Any]) -> str:
    """16-hex digest of a key's fields (every field but ``unit_key`` and ``settings_key``)."""
    return digest({k: v for k, v in key.items() if k not in ("unit_key", "settings_key")})


def layer_set_slug(layer_set: str) -> str:
    """``all`` and ``latent`` as they are; a glob as ``glob-<8 hex>`` (safe in a file name)."""
    if layer_set in ("all", "latent"):
        return layer_set
    return "glob-" + hashlib.sha256(layer_set.encode()).hexdigest()[:8]


def unit_stem(key: dict[str, Any]) -> str:
    """``<weights>-seed<model seed>-<layer set>[-<image size>px]-<method>-<8 hex of the unit key>``."""
    weights = key["weights"]
    source = str(key["weights_source"])
    if source.startswith("file:"):
        weights = f"{weights}-file{source.rsplit(':', 1)[-1][:8]}"
    size = "" if key.get("image_size", "native") == "native" else f"-{path_part(key['image_size'])}px"
    return (f"{weights}-seed{key['model_seed']}-{layer_set_slug(key['layer_set'])}{size}-{path_part(key['method'])}-"
            f"{key['unit_key'][:8]}")


def unit_dir(out: Path | str, key: dict[str, Any]) -> Path:
    return Path(out) / path_part(key["dataset"]) / path_part(key["model"])


def sidecar_path(out: Path | str, key: dict[str, Any]) -> Path:
    return unit_dir(out, key) / f"{unit_stem(key)}.unit.json"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_writable(directory: Path | str, argument: str = "out") -> Path:
    """Raise WriteFailed unless ``directory`` is, or can be created as, a writable directory
    (``mouse_rsa.cache.check_folder``). Creates nothing, so a run stopped by later bad input leaves nothing."""
    return check_folder(directory, argument)


def _readable_npz(path: Path) -> bool:
    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as f:
            for name in f.files:
                f[name]
    except Exception:  # noqa: BLE001 - whatever a missing or damaged npz raises
        return False
    return True


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def write_unit(out: Path | str, result: UnitResult) -> list[Path]:
    """Write a unit's files atomically, the sidecar last; returns the paths written."""
    key = result.key
    directory = unit_dir(out, key)
    stem = unit_stem(key)
    written, files = [], {}
    for part, table in result.tables().items():
        if part not in TABLES and not len(table):
            continue
        path = directory / f"{stem}.{part}.csv"
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False, float_format="%.10g")
        files[part] = {"name": path.name, "rows": len(table), "sha256": sha256_file(path)}
        written.append(path)
    npz = {}
    if result.rdms:
        npz["rdms"] = {"names": np.array(list(result.rdms), dtype="U"),
                       "vectors": np.stack(list(result.rdms.values()), 1)}
    if result.arrays:
        npz["arrays"] = result.arrays
    for part, arrays in npz.items():
        path = directory / f"{stem}.{part}.npz"
        _write_npz(path, arrays)
        files[part] = {"name": path.name, "rows": len(next(iter(arrays.values()))), "sha256": sha256_file(path)}
        written.append(path)
    sidecar = directory / f"{stem}.unit.json"
    with atomic_path(sidecar) as tmp:
        tmp.write_text(json.dumps({"key": key, "unit": result.unit, "files": files, "timings": result.timings},
                                  indent=1, default=str))
    return written + [sidecar]


def read_sidecar(path: Path) -> dict[str, Any]:
    """A sidecar whose files are all present and unchanged; anything else raises ValueError (the reason)."""
    from .validate import scores_problem, sidecar_problem

    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"unreadable sidecar ({type(err).__name__})") from err
    problem = sidecar_problem(record)
    if problem:
        raise ValueError(f"malformed sidecar: {problem}")
    key, files = record["key"], record["files"]
    if unit_key(key) != key.get("unit_key"):
        raise ValueError("sidecar key does not match its digest")
    for part, entry in files.items():
        data = path.parent / entry["name"]
        if data.parent != path.parent or not data.is_file() or sha256_file(data) != entry["sha256"]:
            raise ValueError(f"{part} file {entry['name']} is missing or changed")
    try:
        problem = scores_problem(pd.read_csv(path.parent / files["scores"]["name"]), SCORE_COLUMNS)
    except (OSError, ValueError) as err:  # pandas' ParserError is a ValueError
        problem = f"unreadable ({type(err).__name__})"
    if problem:
        raise ValueError(f"scores file {files['scores']['name']}: {problem}")
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
    path = sidecar_path(out, key)
    record = read_sidecar(path)
    return {part: read_csv(path.parent / entry["name"]) for part, entry in record["files"].items()
            if entry["name"].endswith(".csv")}


def write_targets(out: Path | str, targets) -> Path:
    """What scores are measured against, once per target key: the site RDMs (upper triangles) and
    ceilings (with their lower and upper bounds), and for cell data each reliable cell's trial means and
    site (the stimulus bootstrap of cell-wise scores reads them); written again when the file there cannot
    be read (truncated, damaged)."""
    path = Path(out) / path_part(targets.name) / f"targets-{targets.key}.npz"
    if not _readable_npz(path):
        arrays = {"sites": np.array([s.key for s in targets.sites], dtype="U"), "vectors": targets.site_vectors(),
                  "ceilings": np.array([s.ceiling for s in targets.sites]),
                  "ceilings_lower": np.array([s.ceiling_lower for s in targets.sites]),
                  "ceilings_upper": np.array([s.ceiling_upper for s in targets.sites]),
                  "n_stimuli": np.array(targets.n_stimuli, dtype=np.int64)}
        if targets.cell_means is not None:
            arrays |= {"cell_means": targets.cell_means, "cell_site": np.asarray(targets.cell_site, dtype="U")}
        _write_npz(path, arrays)
    return path
