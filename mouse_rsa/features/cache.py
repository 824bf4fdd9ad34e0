"""Layer summaries (``LayerGrams``) on disk, found before any model is built.

A file is keyed by everything that determines its numbers and is known from the request alone:
model, weights and where they come from (seed, weights-file hash or the source's tag), the model
seed, layer set (``all``, ``latent`` or the glob), reduction size, precision, the kind of device
(``cpu``/``cuda``), a hash of the stimuli, the file schema, the package version and the code
fingerprint (``mouse_rsa.version``). So a unit whose features are cached is scored without building its model, and
without importing torch: a repeated ``benchmark`` spends its time on scoring.

Files live under ``$MOUSE_RSA_CACHE/features/<model>/``, are npz read with ``allow_pickle=False``,
written atomically, and rebuilt when their schema or checksum is off (truncated, bit-flipped, ...).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..cache import cache_dir, digest, load_checked, path_part, save_cached, save_checked, sha256_arrays
from .grams import LayerGrams

if TYPE_CHECKING:
    from ..units import Unit

SCHEMA = 5  # 3: count-sketch reduction; 4: keyed by the request (no model needed); 5: device, precision, fingerprint


def path_for(unit: Unit, stimuli: np.ndarray) -> Path:
    """Where the features of ``unit`` on ``stimuli`` are cached (the file may not exist)."""
    spec = {"schema": SCHEMA, **unit.feature_fields(), "stimuli": sha256_arrays(np.ascontiguousarray(stimuli))}
    return cache_dir("features", path_part(unit.model), digest(spec, length=24) + ".npz")


def save(g: LayerGrams, path: Path) -> None:
    """Write ``g`` to ``path`` atomically, with its schema and checksum (a cache that cannot be written is
    warned about once: ``mouse_rsa.cache.save_cached``)."""
    arrays = {"names": np.array(g.names, dtype="U"), "gram": g.gram, "unit_mean": g.unit_mean, "n_units": g.n_units,
              "reduced": g.reduced}
    save_cached(path, lambda p: save_checked(p, SCHEMA, arrays))


def load(path: Path) -> LayerGrams | None:
    """The cached summaries, or None when the file is missing, stale or damaged (then rebuild it)."""
    f = load_checked(path, SCHEMA)
    if f is None:
        return None
    return LayerGrams(list(map(str, f["names"])), f["gram"], f["unit_mean"], f["n_units"], f["reduced"])
