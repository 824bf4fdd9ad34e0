"""Small helpers shared by tests."""
from __future__ import annotations

from pathlib import Path


def unit_file(directory: Path, prefix: str, part: str) -> Path:
    """The one file ``<prefix>-<8 hex>.<part>`` in ``directory`` (unit stems end in their key's digest)."""
    matches = [p for p in Path(directory).glob(f"{prefix}-*.{part}") if len(p.name) == len(prefix) + 10 + len(part)]
    assert len(matches) == 1, (prefix, part, sorted(p.name for p in Path(directory).iterdir()))
    return matches[0]
