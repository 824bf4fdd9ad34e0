"""Result tables as the report shows them: human column headers, formatted cells that sort by their
value, missing values shown as missing, and each row's raw values for the CSV download.

Interval column pairs (``ci_low``/``ci_high``, ``rank_low``/``rank_high``) are shown as one
"[low, high]" column; the download keeps both raw columns.
"""
from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import labels


@dataclass
class Column:
    key: str
    label: str
    title: str
    numeric: bool


@dataclass
class Cell:
    text: str
    sort: Any  # a number, a string, or None when missing (sorted last)
    href: str | None = None
    missing: bool = False


@dataclass
class Row:
    cells: list[Cell]
    csv: dict[str, Any]
    attrs: dict[str, str] = field(default_factory=dict)
    note: str = ""


@dataclass
class Table:
    """One HTML table: ``id`` (unique on its page), ``name`` (of the CSV download), columns, rows, the raw
    columns of the download, and whether the page's filters apply to it."""

    id: str
    name: str
    columns: list[Column]
    rows: list[Row]
    csv_columns: list[str]
    filterable: bool = False


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _cell(value: Any, column: str, href: str | None = None) -> Cell:
    missing = labels.is_missing(value)
    sort = None if missing else (float(value) if isinstance(value, numbers.Real) else str(value))
    return Cell(labels.fmt(value, column), sort, None if missing else href, missing)


def _interval(low: Any, high: Any, column: str) -> Cell:
    if labels.is_missing(low) or labels.is_missing(high):
        return Cell(labels.MISSING, None, missing=True)
    return Cell(f"[{labels.fmt(low, column)}, {labels.fmt(high, column)}]", float(low))


def display_columns(frame: pd.DataFrame, hidden: Iterable[str] = ()) -> list[Column]:
    """The columns of ``frame`` shown, in order: intervals merged, ``hidden`` left out."""
    hidden = set(hidden)
    merged = {high for low, (high, _) in labels.INTERVALS.items() if low in frame and high in frame}
    shown = []
    for key in frame.columns:
        if key in hidden or key in merged:
            continue
        if key in labels.INTERVALS and labels.INTERVALS[key][0] in frame:
            shown.append(Column(key, labels.INTERVALS[key][1], labels.describe(key).replace("lower end of the ", ""),
                                True))
        else:
            shown.append(Column(key, labels.label(key), labels.describe(key), _numeric(frame[key])))
    return shown


def make_table(frame: pd.DataFrame, table_id: str, name: str, hidden: Iterable[str] = (),
               links: dict[str, Callable[[dict], str | None]] | None = None,
               attrs: Callable[[dict], dict[str, str]] | None = None, filterable: bool = False,
               notes: Callable[[dict], str] | None = None) -> Table:
    """``frame`` as a Table. ``links``: per column, the href of a cell given its row; ``attrs``: a row's
    filter attributes; ``notes``: a row's note (e.g. "not run"); the download holds every column of
    ``frame``."""
    columns = display_columns(frame, hidden)
    links = links or {}
    rows = []
    for record in frame.to_dict("records"):
        cells = []
        for column in columns:
            if column.key in labels.INTERVALS and labels.INTERVALS[column.key][0] in record:
                cells.append(_interval(record[column.key], record[labels.INTERVALS[column.key][0]], column.key))
            else:
                link = links.get(column.key)
                cells.append(_cell(record[column.key], column.key, link(record) if link else None))
        rows.append(Row(cells, {k: labels.raw(v) for k, v in record.items()},
                        attrs(record) if attrs else {}, notes(record) if notes else ""))
    return Table(table_id, name, columns, rows, list(frame.columns), filterable)
