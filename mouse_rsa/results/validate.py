"""What a reader accepts: the schema of a sidecar and the numbers of a scores table.

A result written by ``files.write_unit`` always passes; anything else (a hand-edited sidecar, a
scores file with NaN or infinite scores, a correlation above 1) is reported as one reason, so the
readers skip that unit with one warning instead of ranking it or crashing on it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

# score columns that are correlations (r or signed r²): finite and within [-1, 1] in every row
BOUNDED_SCORES = ("score", "score_r2")


def sidecar_problem(record: Any) -> str | None:
    """Why ``record`` (a parsed ``.unit.json``) is not a sidecar of this version, or None."""
    if not isinstance(record, dict):
        return f"holds a {type(record).__name__}, not an object"
    for field, kind in (("key", dict), ("files", dict), ("unit", dict)):
        if not isinstance(record.get(field), kind):
            return f"its {field!r} is {type(record.get(field)).__name__}, not an object"
    for part, entry in record["files"].items():
        if not (isinstance(entry, dict) and isinstance(entry.get("name"), str) and isinstance(entry.get("sha256"), str)):
            return f"its file entry {part!r} is not an object with a name and a sha256"
    if "scores" not in record["files"]:
        return "it lists no scores file"
    return None


def table_problem(table: pd.DataFrame, columns: list[str]) -> str | None:
    """Why ``table`` (which this version writes with ``columns``) cannot be read, or None."""
    return "columns differ from this version's" if set(columns) - set(table.columns) else None


def scores_problem(table: pd.DataFrame, columns: list[str]) -> str | None:
    """Why a unit's scores ``table`` (written with ``columns``) cannot be ranked, or None: the columns, and
    every score a finite correlation."""
    problem = table_problem(table, columns)
    if problem:
        return problem
    if table.empty:
        return "it has no rows"
    for column in BOUNDED_SCORES:
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            return f"{column} is not a finite number in {int((~np.isfinite(values)).sum())} of {len(values)} rows"
        if np.abs(values).max(initial=0.0) > 1:
            return f"{column} lies outside [-1, 1] (a correlation)"
    return None
