"""Allen Brain Observatory (Visual Coding, 2-photon) natural-scene responses through allensdk.

Every ophys experiment that showed ``natural_scenes`` (session type three_session_B) in the six
visual areas is read through ``BrainObservatoryCache``; NWB downloads go through the SDK's manifest
cache under ``$MOUSE_RSA_CACHE/allen`` so an interrupted fetch resumes where it stopped (a file
truncated by an interruption is detected, removed and downloaded again).

Per experiment: the dF/F traces (``get_dff_traces``) and the natural-scenes stimulus table
(``get_stimulus_table('natural_scenes')``: columns frame, start, end in acquisition frames) give one
response per presentation: the mean dF/F over the window ``[onset + start, onset + end)``.
The default window, 0–0.5 s after onset (15 frames at the ~30 Hz acquisition rate), covers the
250 ms presentation and the slow GCaMP6 response that follows it; it matches the SDK's own
NaturalScenes analysis, which averages 2 × sweep length = 14 frames from onset.
Presentations with ``frame == -1`` (the gray screen) are kept apart as blank responses; the 118
scenes are the template frames 0–117, whose ids are kept as stimulus ids. The template images
(``get_stimulus_template('natural_scenes')``, 118 × 918 × 1174 uint8) are read once.

Area = the experiment's targeted structure. Cortical layer from imaging depth (``cortical_layer``):
< 250 µm → L2/3 (the 175 µm planes), 250–364 µm → L4 (265–350 µm planes of Cux2, Rorb, Scnn1a and
Nr5a1 lines), 365–499 µm → L5 (375–435 µm, Rbp4, Tlx3, Fezf2), ≥ 500 µm → L6 (550–625 µm, Ntsr1).
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..cache import cache_dir
from ..errors import DataUnavailable, InvalidInput
from ..progress import progress_bar
from .dataset import AREAS, LAYER_SITES, NeuralDataset, save
from .presentations import by_scene, pad, to_uint8

NATURAL_SCENES = "natural_scenes"
N_SCENES = 118
DEFAULT_WINDOW_S = (0.0, 0.5)
LAYER_BOUNDARIES_UM = ((250.0, "L2/3"), (365.0, "L4"), (500.0, "L5"), (float("inf"), "L6"))


def cortical_layer(depth_um: float) -> str:
    """Cortical layer of an imaging plane at ``depth_um`` below the pia (see the module docstring)."""
    if not np.isfinite(depth_um) or depth_um <= 0:
        raise InvalidInput(f"imaging depth {depth_um!r} µm is not a positive number")
    for upper, layer in LAYER_BOUNDARIES_UM:
        if depth_um < upper:
            return layer
    raise AssertionError("unreachable: the last boundary is infinite")


def allen_path():
    return cache_dir("datasets", "allen.h5")


def _network_errors() -> tuple[type[BaseException], ...]:
    import requests

    return (OSError, requests.exceptions.RequestException)


def default_cache():
    """The SDK's BrainObservatoryCache with its manifest under ``$MOUSE_RSA_CACHE/allen``."""
    from allensdk.core.brain_observatory_cache import BrainObservatoryCache

    return BrainObservatoryCache(manifest_file=str(cache_dir("allen", "manifest.json")))


def presentation_responses(timestamps: np.ndarray, dff: np.ndarray, starts: np.ndarray,
                           window_s: tuple[float, float] = DEFAULT_WINDOW_S) -> np.ndarray:
    """Mean dF/F of every cell in the window after each presentation onset: cells × presentations.

    ``starts`` are onset frame indices (the stimulus table's ``start``); the window in seconds is
    converted to frames with the median frame interval. Windows running past the trace are NaN.
    """
    dt = float(np.median(np.diff(timestamps)))
    first, last = round(window_s[0] / dt), round(window_s[1] / dt)
    if last <= first:
        raise InvalidInput(f"response window {window_s} s is shorter than one frame ({dt:.4f} s)")
    frames = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(first, last)[None, :]
    valid = (frames >= 0).all(axis=1) & (frames < dff.shape[1]).all(axis=1)
    out = np.full((dff.shape[0], len(starts)), np.nan, dtype=np.float32)
    out[:, valid] = dff[:, frames[valid]].mean(axis=2, dtype=np.float64)
    return out


def experiment_responses(data_set, window_s=DEFAULT_WINDOW_S) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scene responses cells × trials × 118, blank responses cells × n_blank, cell ids) of one experiment."""
    timestamps, dff = data_set.get_dff_traces()
    table = data_set.get_stimulus_table(NATURAL_SCENES).sort_values("start")
    per_presentation = presentation_responses(np.asarray(timestamps, dtype=np.float64),
                                              np.asarray(dff, dtype=np.float32), table["start"].to_numpy(), window_s)
    scenes, blanks = by_scene(per_presentation, table["frame"].to_numpy(), N_SCENES)
    return scenes, blanks, np.asarray(data_set.get_cell_specimen_ids()).astype(np.int64)


def _open_experiment(boc, experiment_id: int):
    """``get_ophys_experiment_data``; a truncated NWB left by an interrupted download is replaced once."""
    errors = _network_errors()
    for attempt in range(2):
        try:
            data_set = boc.get_ophys_experiment_data(int(experiment_id))
            data_set.get_metadata()  # opens the file: fails on a truncated download
            return data_set
        except errors as err:
            path = boc.get_nwb_filepath(int(experiment_id))
            if attempt == 0 and path and _remove(path):
                continue
            raise DataUnavailable(
                f"could not download or read Allen experiment {experiment_id} ({type(err).__name__}: {err}); "
                "check the network connection and run `mouse-rsa dataset fetch allen` again (finished files are kept)"
            ) from err


def _remove(path) -> bool:
    try:
        os.remove(path)
        return True
    except OSError:
        return False


def fetch_allen(max_experiments: int | None = None, window_s=DEFAULT_WINDOW_S, boc=None,
                out=None, progress: bool = True) -> NeuralDataset:
    """Download (or reuse) the natural-scene experiments and write the prepared dataset atomically.

    ``boc`` defaults to the SDK's BrainObservatoryCache (tests pass a fake with the same methods);
    ``out`` defaults to ``$MOUSE_RSA_CACHE/datasets/allen.h5``.
    """
    boc = boc if boc is not None else default_cache()
    try:
        experiments = boc.get_ophys_experiments(stimuli=[NATURAL_SCENES], targeted_structures=list(AREAS))
    except _network_errors() as err:
        raise DataUnavailable(
            f"cannot reach the Allen Brain Observatory API ({type(err).__name__}); connect to the internet "
            "and run `mouse-rsa dataset fetch allen` again, or use the demo dataset"
        ) from err
    experiments = sorted(experiments, key=lambda e: e["id"])
    if max_experiments is not None:
        experiments = experiments[:max_experiments]
    if not experiments:
        raise DataUnavailable("the Allen API listed no natural-scenes experiments in the six visual areas")
    blocks, blank_blocks, rows, template = [], [], [], None
    for exp in progress_bar(experiments, desc="Allen experiments", unit="exp", disable=not progress):
        data_set = _open_experiment(boc, exp["id"])
        scenes, blanks, cell_ids = experiment_responses(data_set, window_s)
        if template is None:
            template = np.asarray(data_set.get_stimulus_template(NATURAL_SCENES))
        depth = float(exp["imaging_depth"])
        for cid in cell_ids:
            rows.append({"cell_id": int(cid), "experiment_id": int(exp["id"]), "area": exp["targeted_structure"],
                         "imaging_depth_um": depth, "cortical_layer": cortical_layer(depth),
                         "cre_line": exp.get("cre_line") or "", "container_id": int(exp["experiment_container_id"])})
        blocks.append(scenes)
        blank_blocks.append(blanks)
    if template is None:
        raise DataUnavailable("the Allen API returned no natural-scenes stimulus template")
    n_trials = max(b.shape[1] for b in blocks)
    n_blank = max(b.shape[1] for b in blank_blocks)
    responses = np.concatenate([pad(b, n_trials, axis=1) for b in blocks])
    blank = np.concatenate([pad(b, n_blank, axis=1) for b in blank_blocks])
    cells = pd.DataFrame(rows)
    # a cell imaged in several sessions keeps its first experiment (cell ids must be unique)
    keep = ~cells["cell_id"].duplicated().to_numpy()
    ds = NeuralDataset(
        "allen", to_uint8(template, "stimulus template"), np.arange(template.shape[0]), responses[keep],
        cells[keep], blank[keep],
        {"source": "allen", "modality": "2-photon", "site_scheme": LAYER_SITES, "stimulus": NATURAL_SCENES,
         "window_s": list(window_s),
         "experiments": [int(e["id"]) for e in experiments],
         "layer_boundaries_um": [[u if np.isfinite(u) else None, layer] for u, layer in LAYER_BOUNDARIES_UM]},
    )
    save(ds, out or allen_path())
    return ds
