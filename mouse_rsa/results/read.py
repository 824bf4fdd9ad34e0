"""Reading a results directory back: every whole unit, its tables, arrays and neural targets.

Readers return whole units only; a malformed or partial unit is skipped with a
``MalformedResultWarning`` naming it, so one bad file never hides the others. No torch here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidInput, MouseRSAWarning, warn_once
from .files import KEY_COLUMNS, SHORT_KEY, TABLES, path_part, read_csv, read_sidecar
from .validate import table_problem


class MalformedResultWarning(MouseRSAWarning):
    """A result file that is unreadable, partial or from another layout; it is skipped."""


def scan(directory: Path | str) -> tuple[list[tuple[Path, dict[str, Any]]], list[str]]:
    """(sidecar path, record) of every whole unit under ``directory``, and one line per malformed one."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InvalidInput(f"results directory {directory} does not exist; run `mouse-rsa benchmark --model NAME "
                           f"--out {directory}` first", argument="directory")
    units, problems, bad = [], [], set()
    for path in sorted(directory.rglob("*.unit.json")):
        try:
            units.append((path, read_sidecar(path)))
        except ValueError as err:
            problems.append(f"{path}: {err}")
            bad.add(path.parent / path.name.removesuffix(".unit.json"))
    described = {path.parent / entry["name"] for path, record in units for entry in record["files"].values()}
    problems += [f"{orphan}: no matching .unit.json (partial, or written by an older mouse-rsa)"
                 for orphan in sorted(set(directory.rglob("*.scores.csv")) - described)
                 if orphan.parent / orphan.name.removesuffix(".scores.csv") not in bad]  # said once, by its sidecar
    return units, problems


def warn_malformed(problem: str) -> None:
    """One MalformedResultWarning for ``problem``, however many readers meet it (``errors.warn_once``)."""
    warn_once(f"skipped {problem}; re-run that unit", MalformedResultWarning, stacklevel=2)


def whole_units(directory: Path | str) -> list[tuple[Path, dict[str, Any]]]:
    """Every whole unit under ``directory``; each malformed one gets a MalformedResultWarning naming it."""
    units, problems = scan(directory)
    for problem in problems:
        warn_malformed(problem)
    return units


def _read_part(directory: Path | str, part: str) -> pd.DataFrame:
    frames, keys = [], []
    for path, record in whole_units(directory):
        entry = record["files"].get(part)
        keys.append(record["key"])
        if entry is None:
            continue
        table = read_csv(path.parent / entry["name"])
        problem = table_problem(table, TABLES.get(part, SHORT_KEY))
        if problem:
            warn_malformed(f"{path.parent / entry['name']}: {problem}")
            continue
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=TABLES.get(part, SHORT_KEY))
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
        raise InvalidInput(f"no whole result under {directory}{skipped}; run `mouse-rsa benchmark --model NAME "
                           f"--out {directory}`", argument="directory")
    return _read_part(directory, "scores")


def read_layers(directory: Path | str) -> pd.DataFrame:
    """Per-layer profiles of every whole unit, with every key column joined."""
    return _read_part(directory, "layers")


def read_table(directory: Path | str, part: str) -> pd.DataFrame:
    """A method's own table (e.g. ``nnls``) of every whole unit that has one, with every key column joined."""
    return _read_part(directory, part)


def read_arrays(directory: Path | str, key: str, part: str = "arrays") -> dict[str, np.ndarray]:
    """The arrays (``part`` ``arrays``, or ``rdms``) saved by the unit whose unit_key is ``key``; InvalidInput
    naming the file when it cannot be read (truncated, object arrays, which are never unpickled)."""
    for path, record in whole_units(directory):
        if record["key"]["unit_key"] == key and part in record["files"]:
            return load_arrays(path.parent / record["files"][part]["name"], "re-run that unit")
    raise InvalidInput(f"no saved {part} for unit {key} under {directory}; run that unit again",
                       argument="directory")


def load_arrays(path: Path, remedy: str, names: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The numeric and string arrays of the npz ``path`` (with ``names`` among them); InvalidInput saying
    ``remedy`` for anything else (missing, truncated, object arrays, which are never unpickled)."""
    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as f:  # closed however it fails
            arrays = {name: f[name] for name in f.files}
    except Exception as err:
        raise InvalidInput(f"{path} is missing or unreadable ({type(err).__name__}); {remedy}",
                           argument="directory") from err
    missing = [name for name in names if name not in arrays]
    odd = [name for name, array in arrays.items() if array.dtype.kind not in "biufU"]
    if missing or odd:
        raise InvalidInput(f"{path} lacks {missing} or holds arrays of other types {odd}; {remedy}",
                           argument="directory")
    return arrays


def read_model_rdms(directory: Path | str, key: str) -> tuple[list[str], np.ndarray]:
    """(layer names, upper-triangle RDMs (n_pairs, n_layers)) saved by the latent unit whose unit_key is ``key``."""
    arrays = read_arrays(directory, key, "rdms")
    if not {"names", "vectors"} <= set(arrays):
        raise InvalidInput(f"the layer RDMs of unit {key} under {directory} lack names or vectors; re-run that unit",
                           argument="directory")
    return [str(n) for n in arrays["names"]], arrays["vectors"]


def read_targets(directory: Path | str, dataset: str, targets_key: str) -> dict[str, np.ndarray]:
    """Every array of one neural target's file (``results.write_targets``): sites, vectors, ceilings,
    n_stimuli, and for cell data cell_means and cell_site."""
    path = Path(directory) / path_part(dataset) / f"targets-{targets_key}.npz"
    return load_arrays(path, "delete it and re-run any unit of that dataset", ("sites", "vectors", "ceilings"))


def read_site_rdms(directory: Path | str, dataset: str, targets_key: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(site keys, upper-triangle site RDMs (n_pairs, n_sites), ceilings) of one neural target."""
    target = read_targets(directory, dataset, targets_key)
    return [str(s) for s in target["sites"]], target["vectors"], target["ceilings"]
