"""What a sweep did: one record per unit, the end-of-sweep table, and the per-unit timing log.

The timing log (``OUT/sweep-log.csv``, columns ``LOG_COLUMNS``) gets one row per unit run or failed,
appended as results arrive (each append rewrites the file atomically, so a killed sweep leaves a
whole log). Seconds to build the model, extract features (shared by the units of one feature
group, so repeated on each) and score; peak resident memory of the worker process in MiB; the
worker; how many times the unit was started (more than 1 when a worker died under it); seconds
since the sweep started when the result reached the client.
"""
from __future__ import annotations

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cache import atomic_path

LOG_NAME = "sweep-log.csv"
LOG_COLUMNS = ["unit_key", "model", "weights", "model_seed", "method", "layer_set", "status", "build_s", "extract_s",
               "score_s", "peak_rss_mb", "worker", "attempts", "elapsed_s", "reason"]
STATUSES = ("done", "skipped", "failed")


@dataclass
class UnitRecord:
    """One unit's fate in a sweep: ``status`` done | skipped (already finished, or pretrained weights that
    cannot be had, with ``reason``) | failed (with ``reason``)."""

    key: dict[str, Any]
    status: str
    reason: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    worker: str = ""
    attempts: int = 0
    elapsed_s: float = float("nan")

    @property
    def label(self) -> str:
        k = self.key
        return f"{k['model']} {k['weights']} model seed {k['model_seed']} layers {k['layer_set']} {k['method']}"

    def log_row(self) -> dict[str, Any]:
        row = {c: self.key.get(c, "") for c in ("unit_key", "model", "weights", "model_seed", "method", "layer_set")}
        row.update({c: _rounded(self.timings.get(c)) for c in ("build_s", "extract_s", "score_s", "peak_rss_mb")})
        row.update(status=self.status, worker=self.worker, attempts=self.attempts,
                   elapsed_s=_rounded(self.elapsed_s), reason=self.reason)
        return row


def _rounded(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.3f}"


@dataclass
class SweepReport:
    """Every unit of a sweep with its status, and the sweep's wall time in seconds."""

    records: list[UnitRecord] = field(default_factory=list)
    wall_s: float = 0.0

    def of(self, status: str) -> list[UnitRecord]:
        return [r for r in self.records if r.status == status]

    @property
    def done(self) -> list[UnitRecord]:
        return self.of("done")

    @property
    def skipped(self) -> list[UnitRecord]:
        return self.of("skipped")

    @property
    def failed(self) -> list[UnitRecord]:
        return self.of("failed")

    def table(self) -> str:
        """Units done / skipped / failed per model, then each failed unit with its one-line reason."""
        counts = Counter((r.key["model"], r.status) for r in self.records)
        models = list(dict.fromkeys(r.key["model"] for r in self.records))
        width = max([len(m) for m in models] + [5])
        lines = [f"{'model':<{width}}" + "".join(f"{s:>9}" for s in STATUSES)]
        for model in models:
            lines.append(f"{model:<{width}}" + "".join(f"{counts[model, s]:>9}" for s in STATUSES))
        lines.append(f"{'total':<{width}}" + "".join(f"{len(self.of(s)):>9}" for s in STATUSES))
        for record in self.failed + [r for r in self.skipped if r.reason]:
            lines.append(f"{record.status}: {record.label}: {record.reason}")
        return "\n".join(lines)


def append_log(out: Path | str, records: list[UnitRecord]) -> Path:
    """Append ``records`` to ``out/sweep-log.csv`` (written whole to a temporary file, then renamed)."""
    path = Path(out) / LOG_NAME
    old = path.read_text() if path.is_file() else ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, LOG_COLUMNS, lineterminator="\n")
    if not old:
        writer.writeheader()
    writer.writerows(r.log_row() for r in records)
    with atomic_path(path) as tmp:
        tmp.write_text(old + buffer.getvalue())
    return path
