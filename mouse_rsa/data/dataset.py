"""The neural dataset: stimuli, single-trial responses and a cell table, with one HDF5 file format.

File layout (schema version 1), all written through h5py, nothing pickled::

    /stimuli          uint8   (n_stimuli, height, width)   grayscale images
    /stimulus_ids     int64   (n_stimuli,)                 stable ids (Allen: template frame index)
    /responses        float32 (n_cells, n_trials, n_stimuli) NaN where a trial is missing
    /blank_responses  float32 (n_cells, n_blank)           optional: gray-screen presentations
    /cells/<column>   one dataset per cell-table column (strings as UTF-8)
    attrs: schema_version, name, content_hash (sha256 of every array), metadata (JSON)

A cell is a 2-photon ROI or a sorted Neuropixels unit. Its site is its area and cortical layer
(``L2/3``…``L6`` from imaging depth) or, where the depth below the pia is unknown (Neuropixels),
its whole area (``cortical_layer == "all"``; the thalamic LGd and LP are such areas too).
``metadata['modality']`` is ``2-photon`` (the default when absent) or ``neuropixels``, and
``metadata['site_scheme']`` ``area x cortical layer`` or ``area``; neither enters the content hash.
"""
from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from ..cache import atomic_path, sha256_arrays
from ..errors import InvalidInput

SCHEMA_VERSION = 1
AREAS = ("VISp", "VISl", "VISal", "VISpm", "VISam", "VISrl")
THALAMIC_AREAS = ("LGd", "LP")  # recorded by Neuropixels probes only
SITE_AREAS = AREAS + THALAMIC_AREAS
CORTICAL_LAYERS = ("L2/3", "L4", "L5", "L6")
ALL_DEPTHS = "all"  # cortical_layer of a unit whose depth is unknown: its site is the whole area
LAYER_SITES, AREA_SITES = "area x cortical layer", "area"  # metadata['site_scheme'] of the two kinds
CELL_COLUMNS = {
    "cell_id": "int64",
    "experiment_id": "int64",
    "area": "str",
    "imaging_depth_um": "float64",
    "cortical_layer": "str",
    "cre_line": "str",
}


@dataclass
class NeuralDataset:
    """Single-trial responses of cells to a fixed set of grayscale stimuli.

    ``responses[c, t, s]`` is cell ``c``'s response on trial ``t`` of stimulus ``s``; the cell table
    ``cells`` has one row per cell in the same order (columns in ``CELL_COLUMNS``, extra ones allowed).
    ``metadata`` is JSON-serialisable (source, response window, a demo's ground truth, ...).
    """

    name: str
    stimuli: np.ndarray
    stimulus_ids: np.ndarray
    responses: np.ndarray
    cells: pd.DataFrame
    blank_responses: np.ndarray | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        self.stimuli = np.asarray(self.stimuli)
        self.stimulus_ids = np.asarray(self.stimulus_ids, dtype=np.int64)
        self.responses = np.asarray(self.responses, dtype=np.float32)
        if self.blank_responses is not None:
            self.blank_responses = np.asarray(self.blank_responses, dtype=np.float32)
        self.cells = self.cells.reset_index(drop=True)
        validate(self, source=f"dataset {self.name!r}")

    @property
    def n_stimuli(self) -> int:
        return self.stimuli.shape[0]

    @property
    def n_cells(self) -> int:
        return self.responses.shape[0]

    @property
    def modality(self) -> str:
        """``2-photon`` or ``neuropixels`` (files written before Neuropixels support are 2-photon)."""
        return str(self.metadata.get("modality", "2-photon"))

    def trial_means(self) -> np.ndarray:
        """Trial-averaged responses, cells × stimuli, float64 (missing trials ignored)."""
        return np.nanmean(self.responses, axis=1, dtype=np.float64)

    def content_hash(self) -> str:
        arrays = [self.stimuli, self.stimulus_ids, self.responses]
        arrays += [_column_array(self.cells[c]) for c in sorted(self.cells.columns)]
        if self.blank_responses is not None:
            arrays.append(self.blank_responses)
        return sha256_arrays(*arrays)


def _array_problems(ds: NeuralDataset) -> Iterator[tuple[str, str]]:
    if ds.stimuli.dtype != np.uint8 or ds.stimuli.ndim != 3:
        yield "stimuli", f"must be uint8 (n_stimuli, height, width), got {ds.stimuli.dtype} {ds.stimuli.shape}"
    n_stim = ds.stimuli.shape[0]
    if ds.stimulus_ids.shape != (n_stim,):
        yield "stimulus_ids", f"has shape {ds.stimulus_ids.shape}, expected ({n_stim},)"
    if len(np.unique(ds.stimulus_ids)) != n_stim:
        yield "stimulus_ids", "contains duplicates"
    if ds.responses.ndim != 3 or ds.responses.shape[2] != n_stim:
        yield "responses", f"must be (n_cells, n_trials, {n_stim}), got {ds.responses.shape}"
    if np.isinf(ds.responses).any():
        yield "responses", "contains infinite values"
    blank = ds.blank_responses
    if blank is not None and (blank.ndim != 2 or blank.shape[0] != ds.responses.shape[0]):
        yield "blank_responses", f"must be (n_cells, n_blank), got {blank.shape}"


def _cell_problems(ds: NeuralDataset) -> Iterator[tuple[str, str]]:
    missing = [c for c in CELL_COLUMNS if c not in ds.cells.columns]
    if missing:
        yield "cells", f"lacks columns {missing}"
    if len(ds.cells) != ds.responses.shape[0]:
        yield "cells", f"has {len(ds.cells)} rows but responses has {ds.responses.shape[0]} cells"
    if ds.cells["cell_id"].duplicated().any():
        yield "cells/cell_id", "contains duplicates"
    allowed = (*CORTICAL_LAYERS, ALL_DEPTHS)
    unknown_layers = set(ds.cells["cortical_layer"]) - set(allowed)
    if unknown_layers:
        yield "cells/cortical_layer", f"has values {sorted(unknown_layers)}; allowed: {list(allowed)}"


def validate(ds: NeuralDataset, source: str) -> None:
    """Raise InvalidInput naming ``source`` and the first field whose shape, dtype or ids disagree."""
    for fieldname, problem in itertools.chain(_array_problems(ds), _cell_problems(ds)):
        raise InvalidInput(f"{source}: field '{fieldname}' {problem}")


def _column_array(col: pd.Series) -> np.ndarray:
    if col.dtype == object or pd.api.types.is_string_dtype(col):
        return col.astype(str).to_numpy().astype("U")
    return col.to_numpy()


def save(ds: NeuralDataset, path: Path | str) -> Path:
    """Write ``ds`` to an HDF5 file atomically (temporary file renamed into place)."""
    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION
        f.attrs["name"] = ds.name
        f.attrs["content_hash"] = ds.content_hash()
        f.attrs["metadata"] = json.dumps(ds.metadata)
        f.create_dataset("stimuli", data=ds.stimuli, compression="gzip", compression_opts=1)
        f.create_dataset("stimulus_ids", data=ds.stimulus_ids)
        chunks = (1, ds.responses.shape[1], ds.responses.shape[2]) if ds.n_cells else None
        f.create_dataset("responses", data=ds.responses, chunks=chunks, compression="gzip",
                         compression_opts=1)
        if ds.blank_responses is not None:
            f.create_dataset("blank_responses", data=ds.blank_responses)
        cells = f.create_group("cells")
        cells.attrs["columns"] = json.dumps(list(map(str, ds.cells.columns)))
        for col in ds.cells.columns:
            values = _column_array(ds.cells[col])
            if values.dtype.kind == "U":
                values = values.astype(h5py.string_dtype())
            cells.create_dataset(col, data=values)
    return path


def load(path: Path | str) -> NeuralDataset:
    """Read and validate a dataset file; any problem raises InvalidInput naming the file and field."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"dataset file {path} does not exist; give a dataset name (demo, allen) or an .h5 path")
    try:
        with h5py.File(path, "r") as f:
            version = f.attrs.get("schema_version")
            if version != SCHEMA_VERSION:
                raise InvalidInput(
                    f"{path}: schema_version is {version!r}, this mouse-rsa reads {SCHEMA_VERSION}; "
                    "re-create the file with this version"
                )
            for key in ("stimuli", "stimulus_ids", "responses", "cells"):
                if key not in f:
                    raise InvalidInput(f"{path}: field '{key}' is missing; re-create the file")
            cells = pd.DataFrame({
                col: (f["cells"][col].asstr()[()] if f["cells"][col].dtype.kind == "O" else f["cells"][col][()])
                for col in json.loads(f["cells"].attrs.get("columns", "[]")) or list(f["cells"])
            })
            ds = NeuralDataset(
                name=str(f.attrs.get("name", path.stem)),
                stimuli=f["stimuli"][()],
                stimulus_ids=f["stimulus_ids"][()],
                responses=f["responses"][()],
                cells=cells,
                blank_responses=f["blank_responses"][()] if "blank_responses" in f else None,
                metadata=json.loads(f.attrs.get("metadata", "{}")),
            )
            expected = f.attrs.get("content_hash")
    except InvalidInput as err:
        if str(path) in str(err):
            raise
        raise InvalidInput(f"{path}: {err}") from err
    except (OSError, KeyError, ValueError, json.JSONDecodeError) as err:
        raise InvalidInput(f"{path} is not a readable mouse-rsa dataset ({err}); re-create or re-fetch it") from err
    if ds.content_hash() != expected:
        raise InvalidInput(f"{path}: content hash mismatch (file corrupt or edited); re-create or re-fetch it")
    return ds
