"""In-process fake of the allensdk 2.16.2 ecephys calls that mouse_rsa.data.neuropixels makes, with the SDK's
names, arguments, shapes and dtypes.

EcephysProjectCache (allensdk/brain_observatory/ecephys/ecephys_project_cache.py):
  get_session_table() → DataFrame indexed by session id (``id``) with session_type, full_genotype, ...;
  get_session_data(session_id, filter_by_validity=True, **unit_filter_kwargs) → session, through the SDK's
  one-file cache: a complete file is read, a missing or truncated one is downloaded (again); a download
  that fails is removed (the SDK's cleanup) and raises after ``fetch_tries``;
  get_natural_scene_template(number) → uint8 image (the real ones are 918 × 1174; smaller here).
EcephysSession (ecephys_session.py):
  units → DataFrame indexed by unit_id, filtered as the SDK filters (quality 'good', then
  ``amplitude_cutoff <= (maximum or inf)`` etc., probes.py: a limit of 0 reads as no limit);
  get_stimulus_table(stimulus_names) → presentations of those stimuli indexed by
  stimulus_presentation_id (start_time, stop_time, frame as float, -1.0 the blank); presentations the
  SDK marks invalid for the stimulus are renamed and so absent;
  presentationwise_spike_counts(bin_edges, stimulus_presentation_ids, unit_ids, ...) →
  xarray.DataArray (stimulus_presentation_id, time_relative_to_stimulus_onset, unit_id), uint16,
  counting the spikes with onset + edge[k] ≤ t ≤ onset + edge[k+1] (the SDK's searchsorted);
  invalid_times → DataFrame start_time, stop_time, tags.

Spikes are planted so that counts are known in closed form: in every presentation (onset t, frame f) unit
k (its index in the session) fires ``k + 1`` spikes at t + 0.05 s and, for a scene, ``1 + (f + k) % 3``
spikes at t + 0.15 s (none for a blank). Over 0–0.25 s its blank rate is 4 (k + 1) spikes/s and its
evoked rate to scene f is 4 (1 + (f + k) % 3); over 0.1–0.25 s the blank rate is 0.
"""
from __future__ import annotations

import urllib.error
from pathlib import Path

import numpy as np
import pandas as pd
import requests
import xarray as xr

PRESENTATION_S = 0.25
TEMPLATE_SHAPE = (9, 12)
COMPLETE = b"complete session file"
FILTERS = ("amplitude_cutoff_maximum", "presence_ratio_minimum", "isi_violations_maximum")
# unit id → (session, structure, probe, amplitude cutoff, presence ratio, ISI violations, quality)
UNITS = {
    101: (10, "VISp", "probeA", 0.01, 0.99, 0.0, "good"),
    102: (10, "VISp", "probeA", 0.02, 0.98, 0.2, "good"),    # ISI violations 0.2: out only with a maximum of 0
    103: (10, "VISp", "probeA", 0.30, 0.99, 0.0, "good"),    # amplitude cutoff above 0.1
    104: (10, "VISl", "probeB", 0.01, 0.99, 0.1, "good"),
    105: (10, "LGd", "probeB", 0.05, 0.97, 0.0, "good"),
    106: (10, "CA1", "probeB", 0.01, 0.99, 0.0, "good"),     # not a visual area
    107: (10, "VISl", "probeB", 0.01, 0.99, 0.0, "noise"),   # the SDK drops it (filter_by_validity)
    108: (10, "VISp", "probeA", 0.01, 0.90, 0.0, "good"),    # presence ratio below 0.95
    301: (30, "VISam", "probeC", 0.01, 0.99, 0.0, "good"),
    302: (30, "LP", "probeC", 0.01, 0.99, 0.0, "good"),
    303: (30, "VISam", "probeC", 0.01, 0.96, 0.0, "good"),
}
SESSIONS = pd.DataFrame({"session_type": ["brain_observatory_1.1", "functional_connectivity", "brain_observatory_1.1"],
                         "full_genotype": ["Sst-IRES-Cre/wt;Ai32(RCL-ChR2(H134R)_EYFP)/wt", "wt/wt", "wt/wt"],
                         "unit_count": [8, 0, 3]}, index=pd.Index([30, 20, 10], name="id"))
REPEATS = {scene: 2 for scene in range(118)} | {5: 3, -1: 3}
BAD_PROBE = "probeB"
INVALID_PROBE_PRESENTATIONS = (4, 5)       # presentation positions inside probeB's invalid interval
INVALID_STIMULUS_PRESENTATION = 9          # a presentation the SDK marks invalid for the stimulus


class FakeSession:
    def __init__(self, session_id: int, filters: dict, filter_by_validity: bool):
        self.ecephys_session_id = session_id
        rng = np.random.default_rng(session_id)
        frames = rng.permutation([f for f, n in REPEATS.items() for _ in range(n)]).astype(np.float64)
        onsets = 100.0 + PRESENTATION_S * np.arange(len(frames))
        table = pd.DataFrame({"start_time": onsets, "stop_time": onsets + PRESENTATION_S,
                              "stimulus_name": "natural_scenes", "frame": frames, "stimulus_block": 9.0,
                              "duration": PRESENTATION_S},
                             index=pd.Index(5000 + np.arange(len(frames)), name="stimulus_presentation_id"))
        table.loc[table.index[INVALID_STIMULUS_PRESENTATION], "stimulus_name"] = "invalid_presentation"
        self._presentations = table
        ids = [u for u, v in UNITS.items() if v[0] == session_id]
        units = pd.DataFrame([UNITS[u][1:] for u in ids], index=pd.Index(ids, name="unit_id"),
                             columns=["ecephys_structure_acronym", "probe_description", "amplitude_cutoff",
                                      "presence_ratio", "isi_violations", "quality"])
        units["probe_vertical_position"] = 20 * np.arange(len(ids))
        units["firing_rate"] = 5.0
        self._spikes = self._plant_spikes(units, table)
        if filter_by_validity:
            units = units[units["quality"] == "good"].drop(columns="quality")
        # exactly as allensdk's Probes.get_units_table: `x or inf` (a limit of 0 means no limit)
        units = units[units["amplitude_cutoff"] <= (filters["amplitude_cutoff_maximum"] or np.inf)]
        units = units[units["presence_ratio"] >= (filters["presence_ratio_minimum"] or -np.inf)]
        self.units = units[units["isi_violations"] <= (filters["isi_violations_maximum"] or np.inf)]
        first, last = (table["start_time"].iloc[i] for i in INVALID_PROBE_PRESENTATIONS)
        stim = table["start_time"].iloc[INVALID_STIMULUS_PRESENTATION]
        self.invalid_times = pd.DataFrame({      # probeB lost data from inside presentation 4 into presentation 5
            "start_time": [first + 0.01, stim + 0.1], "stop_time": [last + 0.05, stim + 0.12],
            "tags": [["EcephysProbe", "123", BAD_PROBE], ["EcephysSession", str(session_id), "stimulus"]]})

    @staticmethod
    def _plant_spikes(units: pd.DataFrame, table: pd.DataFrame) -> dict[int, np.ndarray]:
        spikes = {}
        for k, unit in enumerate(units.index):
            times = []
            for onset, frame in zip(table["start_time"], table["frame"]):
                times += [onset + 0.05 + 1e-4 * i for i in range(k + 1)]
                if frame >= 0:
                    times += [onset + 0.15 + 1e-4 * i for i in range(1 + (int(frame) + k) % 3)]
            spikes[unit] = np.array(times)
        return spikes

    def get_stimulus_table(self, stimulus_names=None, include_detailed_parameters=False,
                           include_unused_parameters=False):
        names = [stimulus_names] if isinstance(stimulus_names, str) else list(stimulus_names)  # coerce_scalar
        return self._presentations[self._presentations["stimulus_name"].isin(names)].copy()

    def presentationwise_spike_counts(self, bin_edges, stimulus_presentation_ids, unit_ids, binarize=False,
                                      dtype=None, large_bin_size_threshold=0.001, time_domain_callback=None):
        presentations = self._presentations.loc[stimulus_presentation_ids]
        units = self.units.loc[unit_ids]
        edges = np.asarray(bin_edges, dtype=np.float64)
        domain = presentations["start_time"].to_numpy()[:, None] + edges[None, :]
        data = np.zeros((len(presentations), len(edges) - 1, len(units)), dtype=np.uint16 if dtype is None else dtype)
        for u, unit in enumerate(units.index):
            times = self._spikes[unit]
            low = np.searchsorted(times, domain[:, :-1].ravel())
            high = np.searchsorted(times, domain[:, 1:].ravel(), side="right")
            data[:, :, u] = (high - low).reshape(len(presentations), -1)
        return xr.DataArray(name="spike_counts", data=data, dims=["stimulus_presentation_id",
                            "time_relative_to_stimulus_onset", "unit_id"],
                            coords={"stimulus_presentation_id": presentations.index.to_numpy(),
                                    "time_relative_to_stimulus_onset": edges[:-1] + np.diff(edges) / 2,
                                    "unit_id": units.index.to_numpy()})


class FakeEcephysProjectCache:
    """``fail`` maps a session id to how many of its downloads fail half-way (a timeout)."""

    def __init__(self, directory: Path, fail: dict[int, int] | None = None, offline: bool = False,
                 fetch_tries: int = 3):
        self.directory = Path(directory)
        self.fail = dict(fail or {})
        self.offline = offline
        self.fetch_tries = fetch_tries
        self.downloads: list[int] = []
        self.calls: list[tuple] = []
        self.templates: list[int] = []

    def get_session_table(self, suppress=None):
        if self.offline:
            raise requests.exceptions.ConnectionError(urllib.error.URLError("[Errno -3] name resolution"))
        return SESSIONS.copy()

    def session_path(self, session_id: int) -> Path:
        return self.directory / f"session_{session_id}" / f"session_{session_id}.nwb"

    def _download(self, session_id: int) -> None:
        path = self.session_path(session_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:   # the SDK's write_from_stream: the file grows chunk by chunk
            f.write(COMPLETE[:7])
            if self.fail.get(session_id, 0) > 0:
                self.fail[session_id] -= 1
                raise requests.Timeout("Download took 3601 seconds, but timeout was set to 3600")
            f.write(COMPLETE[7:])
        self.downloads.append(session_id)

    def get_session_data(self, session_id, filter_by_validity=True, **unit_filter_kwargs):
        unknown = set(unit_filter_kwargs) - set(FILTERS)
        if unknown:
            raise TypeError(f"unexpected keyword arguments {sorted(unknown)}")
        self.calls.append((session_id, filter_by_validity, dict(unit_filter_kwargs)))
        path = self.session_path(session_id)
        if not (path.is_file() and path.read_bytes() == COMPLETE):   # lazy read failed: fetch (again)
            for attempt in range(self.fetch_tries):
                try:
                    self._download(session_id)
                    break
                except requests.Timeout:
                    path.unlink()                                         # the SDK's cleanup of a failed fetch
                    if attempt == self.fetch_tries - 1:
                        raise
        filters = {k: unit_filter_kwargs.get(k, d) for k, d in zip(FILTERS, (0.1, 0.95, 0.5))}
        return FakeSession(session_id, filters, filter_by_validity)

    def get_natural_scene_template(self, number):
        self.templates.append(number)
        image = np.zeros(TEMPLATE_SHAPE, dtype=np.uint8)
        image[0, 0] = number
        return image
