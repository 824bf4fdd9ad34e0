"""``mouse-rsa report``: a static site made from a results directory alone, that works opened from disk.

Pages: the leaderboard (one sortable, filterable table per dataset × method × layer set, every column
``leaderboard.rank`` returns under a human label, results not run shown as missing, CSV download of the
rows shown), a page per model (per-site scores with every seed and the ceilings, layer profiles per
area, best layer per site, pretrained vs random, provenance of every unit), a two-model comparison
(paired per-site differences, and the tables of ``mouse-rsa compare`` found under DIR), the analyses
(what ``analyze`` wrote, with the figures), and how it was made (commands, settings, versions, citations).

Modules: ``content`` (what each page shows, read through ``mouse_rsa.results`` and
``mouse_rsa.leaderboard``; no scoring code), ``tables`` and ``labels`` (how values are shown),
``charts`` (Vega-Lite specifications), ``provenance`` (commands and versions), ``site`` (Jinja2
templates rendered into a folder that replaces OUT whole).
"""
from __future__ import annotations

from pathlib import Path


def build(directory: str | Path = "results", out: str | Path | None = None) -> Path:
    """Write the site of the results under ``directory`` into ``out`` (default DIR/report); returns the
    path of its index.html. InvalidInput when ``directory`` holds no whole result."""
    from . import content, site

    directory = Path(directory)
    return site.write_site(content.read(directory), Path(out) if out is not None else directory / "report")


__all__ = ["build"]
