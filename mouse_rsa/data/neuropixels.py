"""Allen Brain Observatory (Visual Coding – Neuropixels) spiking responses to the 118 natural scenes.

Every ``brain_observatory_1.1`` session of ``EcephysProjectCache.get_session_table()`` showed the
118 natural scenes 50 times each and the gray screen (frame -1, the blank) about as often, 250 ms
each, back to back, while up to six probes recorded the visual areas and the thalamus. Session
NWB files (2–3 GB each) go through the SDK's cache under ``$MOUSE_RSA_CACHE/allen-neuropixels``
(``EcephysProjectCache.from_warehouse``): a file whose download failed is removed and fetched again
by the SDK (``fetch_tries`` tries, each timed out after ``timeout`` seconds), one left truncated
by a killed process fails the SDK's read and is fetched again, finished files are kept, and the
prepared dataset is written atomically once every session is read. (The SDK times a download
as a whole, checked as its chunks arrive; a connection that stalls without sending anything is
not timed out: interrupt it and run the fetch again.)

Units: the SDK's quality filters (``allensdk.brain_observatory.ecephys.UNIT_FILTER_DEFAULTS``),
passed to ``get_session_data`` and overridable: amplitude cutoff ≤ 0.1, presence ratio ≥ 0.95,
ISI violations ≤ 0.5, plus the SDK's own ``quality == 'good'`` and in-brain filters. They are applied
once more to the unit table the session returns (``quality_units``), because the SDK reads a limit
of 0 as no limit. Units on channels whose ``ecephys_structure_acronym`` is one of the six visual
areas (and LGd and LP with ``thalamus=True``) are kept.

Response: ``presentationwise_spike_counts`` in one bin ``[onset + start, onset + end]`` (the SDK's
own NaturalScenes analysis counts in the same single bin of its 0.25 s trial duration; one bin
also never counts a spike on a shared edge twice) divided by the window's length: spikes/s. The
default window, 0–0.25 s, is the presentation itself. Then the unit's mean rate over the blank
presentations, its spontaneous rate in the same window (``blank_rate_hz`` in the cell table), is
subtracted from every presentation, scenes and blanks alike: responses are evoked rates, the
spiking counterpart of dF/F, which is relative to each cell's own baseline. (Otherwise every
unit's spontaneous rate is a pattern shared by all 118 stimuli, and the correlation distances of
the site RDMs mostly measure how far each stimulus moves the population away from it.)
Presentations that overlap an invalid interval of the unit's probe (``session.invalid_times``
tagged with the probe or ``all_probes``) are missing (NaN); those the SDK marks invalid for the
stimulus are not in its stimulus table.

Sites: the SDK gives each unit's structure (the area, never a layer) and its position along the
probe, not its depth below the pia, and the probes do not run perpendicular to the cortex, so a
unit has no cortical layer (``cortical_layer == "all"``, ``imaging_depth_um`` NaN) and a site is
one area with all its units (``VISp``, ..., ``LGd``, ``LP``).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import cache_dir
from ..errors import DataUnavailable, InvalidInput
from ..progress import progress_bar
from .dataset import ALL_DEPTHS, AREA_SITES, AREAS, THALAMIC_AREAS, NeuralDataset, save
from .presentations import BLANK, by_scene, pad, to_uint8

NAME = "allen-neuropixels"
SESSION_TYPE = "brain_observatory_1.1"
NATURAL_SCENES = "natural_scenes"
N_SCENES = 118
DEFAULT_WINDOW_S = (0.0, 0.25)
FETCH_TRIES = 3  # EcephysProjectCache.from_warehouse(fetch_tries=): total tries per file (SDK default 2)
TIMEOUT_S = 3600  # from_warehouse(timeout=): seconds per download; the SDK's 1200 s needs 2.5 MB/s for 3 GB
ALL_PROBES = "all_probes"  # invalid-times tag that covers every probe


@dataclass(frozen=True)
class UnitFilters:
    """The SDK's unit-quality filters with its defaults (``UNIT_FILTER_DEFAULTS``); ``inf`` (or
    ``-inf`` for the minimum) turns one off."""

    amplitude_cutoff_maximum: float = 0.1
    presence_ratio_minimum: float = 0.95
    isi_violations_maximum: float = 0.5

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                raise InvalidInput(f"{name} must be a number, not {value!r}", argument=name)
        for name in ("amplitude_cutoff_maximum", "isi_violations_maximum"):
            if getattr(self, name) < 0:
                raise InvalidInput(f"{name} must be at least 0, not {getattr(self, name)}", argument=name)


def neuropixels_path() -> Path:
    return cache_dir("datasets", f"{NAME}.h5")


def default_cache(timeout_s: float = TIMEOUT_S):
    """The SDK's EcephysProjectCache over the Allen warehouse, its manifest under ``$MOUSE_RSA_CACHE/allen-neuropixels``."""
    from allensdk.brain_observatory.ecephys.ecephys_project_cache import EcephysProjectCache

    return EcephysProjectCache.from_warehouse(manifest=str(cache_dir(NAME, "manifest.json")),
                                              fetch_tries=FETCH_TRIES, timeout=int(timeout_s))


def _network_errors() -> tuple[type[BaseException], ...]:
    import requests

    return (OSError, requests.exceptions.RequestException)


def check_window(window_s) -> tuple[float, float]:
    """``(start, end)`` in seconds after onset, finite with start < end."""
    start, end = (float(v) for v in window_s)
    if not (math.isfinite(start) and math.isfinite(end) and start < end):
        raise InvalidInput(f"response window {tuple(window_s)} s must be two finite numbers START < END",
                           argument="window")
    return start, end


def quality_units(units: pd.DataFrame, filters: UnitFilters) -> pd.DataFrame:
    """Rows of a session's unit table that pass ``filters`` (a metric that is NaN fails, as in the SDK)."""
    keep = ((units["amplitude_cutoff"] <= filters.amplitude_cutoff_maximum)
            & (units["presence_ratio"] >= filters.presence_ratio_minimum)
            & (units["isi_violations"] <= filters.isi_violations_maximum))
    return units[keep.to_numpy()]


def site_units(units: pd.DataFrame, areas: tuple[str, ...]) -> pd.DataFrame:
    """Units whose ``ecephys_structure_acronym`` is one of ``areas``, ordered by area (as given) then unit id."""
    structure = units["ecephys_structure_acronym"]
    kept = units[structure.isin(areas).to_numpy()]
    order = np.lexsort((kept.index.to_numpy(), kept["ecephys_structure_acronym"].map(areas.index).to_numpy()))
    return kept.iloc[order]


def evoked_rates(counts: np.ndarray, frame: np.ndarray, window_s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spike counts in the window (units × presentations, NaN = invalid) as evoked rates.

    Returns (scenes: units × trials × 118, blanks: units × n_blank, blank rate per unit), rates in
    spikes/s less the unit's mean rate over its valid blank presentations (NaN when it has none).
    """
    start, end = check_window(window_s)
    rates = np.asarray(counts, dtype=np.float64) / (end - start)
    blank = rates[:, np.asarray(frame) == BLANK]
    if blank.shape[1] == 0:
        raise InvalidInput("no blank (frame -1) presentation: the spontaneous rate cannot be measured")
    valid = np.isfinite(blank).sum(axis=1)
    baseline = np.divide(np.nansum(blank, axis=1), valid, out=np.full(len(valid), np.nan), where=valid > 0)
    scenes, blanks = by_scene(rates - baseline[:, None], frame, N_SCENES)
    return scenes, blanks, baseline


def invalid_presentations(onsets: np.ndarray, window_s, probes: np.ndarray,
                          invalid_times: pd.DataFrame) -> np.ndarray:
    """units × presentations: True where the window overlaps an invalid interval of the unit's probe
    (``invalid_times`` rows tagged with the probe's name or ``all_probes``)."""
    start, end = window_s
    mask = np.zeros((len(probes), len(onsets)), dtype=bool)
    for interval in invalid_times.itertuples(index=False):
        tags = {interval.tags} if isinstance(interval.tags, str) else set(interval.tags)
        hit = (onsets + end >= interval.start_time) & (onsets + start <= interval.stop_time)
        units = np.ones(len(probes), bool) if ALL_PROBES in tags else np.isin(probes, list(tags))
        mask[np.ix_(units, hit)] = True
    return mask


def session_responses(session, areas: tuple[str, ...], filters: UnitFilters, window_s):
    """(scenes units × trials × 118, blanks units × n_blank, unit table with blank_rate_hz) of one session;
    None when no unit of ``areas`` passes ``filters``."""
    units = site_units(quality_units(session.units, filters), areas)
    if units.empty:
        return None
    table = session.get_stimulus_table(NATURAL_SCENES).sort_values("start_time")
    frame = pd.to_numeric(table["frame"], errors="coerce").to_numpy()
    if not (np.isfinite(frame).all() and np.isin(frame, np.arange(-1, N_SCENES)).all()):
        raise InvalidInput(f"the natural_scenes stimulus table has frames outside -1…{N_SCENES - 1}")
    counts = session.presentationwise_spike_counts(bin_edges=np.array(window_s, dtype=np.float64),
                                                   stimulus_presentation_ids=table.index.to_numpy(),
                                                   unit_ids=units.index.to_numpy())
    counts = counts.sel(unit_id=units.index.to_numpy(), stimulus_presentation_id=table.index.to_numpy())
    counts = counts.sum("time_relative_to_stimulus_onset").transpose("unit_id", "stimulus_presentation_id")
    counts = np.asarray(counts.values, dtype=np.float64)
    counts[invalid_presentations(table["start_time"].to_numpy(dtype=np.float64), window_s,
                                 units["probe_description"].to_numpy(), session.invalid_times)] = np.nan
    scenes, blanks, baseline = evoked_rates(counts, frame, window_s)
    return scenes, blanks, units.assign(blank_rate_hz=baseline)


def cre_line(genotype: str) -> str:
    """The Cre driver of a full genotype (``'Sst-IRES-Cre/wt;Ai32(...)/wt'`` → ``'Sst-IRES-Cre'``; wild type → '')."""
    allele = str(genotype).split(";")[0].split("/")[0]
    return allele if "Cre" in allele else ""


def _unit_rows(units: pd.DataFrame, session_id: int, genotype: str) -> pd.DataFrame:
    return pd.DataFrame({
        "cell_id": units.index.to_numpy(dtype=np.int64), "experiment_id": np.int64(session_id),
        "area": units["ecephys_structure_acronym"].to_numpy(dtype=str), "imaging_depth_um": np.nan,
        "cortical_layer": ALL_DEPTHS, "cre_line": cre_line(genotype),
        "probe": units["probe_description"].to_numpy(dtype=str),
        "probe_vertical_position_um": units["probe_vertical_position"].to_numpy(dtype=np.float64),
        **{c: units[c].to_numpy(dtype=np.float64) for c in ("amplitude_cutoff", "presence_ratio", "isi_violations",
                                                              "blank_rate_hz")}})


def _unavailable(what: str, err: BaseException) -> DataUnavailable:
    return DataUnavailable(
        f"could not download or read {what} ({type(err).__name__}: {err}); check the network connection and run "
        f"`mouse-rsa dataset fetch {NAME}` again (finished downloads are kept)")


def _sessions(cache, max_sessions: int | None) -> pd.DataFrame:
    try:
        table = cache.get_session_table()
    except _network_errors() as err:
        raise DataUnavailable(
            f"cannot reach the Allen Brain Observatory API ({type(err).__name__}); connect to the internet "
            f"and run `mouse-rsa dataset fetch {NAME}` again, or use the demo-neuropixels dataset") from err
    table = table[table["session_type"] == SESSION_TYPE].sort_index()
    if max_sessions is not None:
        table = table.iloc[:max_sessions]
    if table.empty:
        raise DataUnavailable(f"the Allen API listed no {SESSION_TYPE} sessions")
    return table


def _templates(cache) -> np.ndarray:
    try:
        images = [np.asarray(cache.get_natural_scene_template(number)) for number in range(N_SCENES)]
    except _network_errors() as err:
        raise _unavailable("the natural-scene templates", err) from err
    if len({image.shape for image in images}) != 1:
        raise DataUnavailable("the Allen natural-scene templates differ in size; run the fetch again")
    return to_uint8(np.stack(images), "natural-scene templates")


def fetch_neuropixels(max_sessions: int | None = None, window_s=DEFAULT_WINDOW_S, filters: UnitFilters | None = None,
                      thalamus: bool = False, cache=None, out=None, progress: bool = True,
                      timeout_s: float = TIMEOUT_S) -> NeuralDataset:
    """Download (or reuse) the natural-scenes sessions and write the prepared dataset atomically.

    ``cache`` defaults to the SDK's EcephysProjectCache (tests pass a fake with the same methods);
    ``out`` to ``$MOUSE_RSA_CACHE/datasets/allen-neuropixels.h5``; ``thalamus`` adds LGd and LP.
    """
    window_s = check_window(window_s)
    filters = filters if filters is not None else UnitFilters()
    if max_sessions is not None and max_sessions < 1:
        raise InvalidInput(f"max_sessions must be at least 1, not {max_sessions}", argument="max_sessions")
    areas = AREAS + THALAMIC_AREAS if thalamus else AREAS
    cache = cache if cache is not None else default_cache(timeout_s)
    sessions = _sessions(cache, max_sessions)
    blocks, blank_blocks, tables = [], [], []
    for session_id, info in progress_bar(sessions.iterrows(), total=len(sessions), desc="Neuropixels sessions",
                                 unit="session", disable=not progress):
        try:
            session = cache.get_session_data(int(session_id), **asdict(filters))
            read = session_responses(session, areas, filters, window_s)
        except _network_errors() as err:
            raise _unavailable(f"Allen Neuropixels session {session_id}", err) from err
        except InvalidInput as err:
            raise InvalidInput(f"Allen Neuropixels session {session_id}: {err}") from err
        if read is None:
            continue
        scenes, blanks, units = read
        blocks.append(scenes)
        blank_blocks.append(blanks)
        tables.append(_unit_rows(units, int(session_id), info.get("full_genotype", "")))
    if not tables:
        raise DataUnavailable(f"no unit in {', '.join(areas)} passed the unit filters {asdict(filters)}")
    cells = pd.concat(tables, ignore_index=True)
    n_trials, n_blank = max(b.shape[1] for b in blocks), max(b.shape[1] for b in blank_blocks)
    ds = NeuralDataset(
        NAME, _templates(cache), np.arange(N_SCENES), np.concatenate([pad(b, n_trials, axis=1) for b in blocks]),
        cells, np.concatenate([pad(b, n_blank, axis=1) for b in blank_blocks]),
        {"source": NAME, "modality": "neuropixels", "site_scheme": AREA_SITES, "stimulus": NATURAL_SCENES,
         "session_type": SESSION_TYPE, "sessions": [int(s) for s in sessions.index], "areas": list(areas),
         "window_s": list(window_s), "unit_filters": asdict(filters),
         "response": "spikes/s in the window less the unit's mean rate on the blank presentations"},
    )
    save(ds, out or neuropixels_path())
    return ds
