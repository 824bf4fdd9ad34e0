"""In-process fake of the allensdk calls the loader makes, with the SDK's documented shapes and dtypes.

BrainObservatoryCache.get_ophys_experiments(stimuli=, targeted_structures=) → list of dicts with the
simplified keys (id, imaging_depth, targeted_structure, cre_line, experiment_container_id,
session_type, ...); get_ophys_experiment_data(int) → data set; get_nwb_filepath(int) → path or None.
BrainObservatoryNwbDataSet.get_dff_traces() → (timestamps (T,) float64 s, dff (cells, T) float32);
get_stimulus_table('natural_scenes') → DataFrame[frame, start, end] (acquisition frames, sorted by
start, index not reset, frame == -1 for the gray screen); get_stimulus_template('natural_scenes') →
uint8 (118, 918, 1174); get_cell_specimen_ids() → int64 (cells,); get_metadata() → dict.
"""
from __future__ import annotations

import os
import urllib.error
from typing import ClassVar

import numpy as np
import pandas as pd

RATE_HZ = 30.0
GAP = 8  # frames between onsets (7-frame presentations plus one)


class FakeDataSet:
    def __init__(self, exp: dict, n_cells: int, shown: dict[int, int], seed: int):
        rng = np.random.default_rng(seed)
        frames = [f for f, count in shown.items() for _ in range(count)]
        frames = list(rng.permutation(frames))
        starts = 30 + GAP * np.arange(len(frames))
        table = pd.DataFrame({"frame": np.array(frames, dtype=np.float64), "start": starts, "end": starts + 7})
        table.index = rng.permutation(len(table))  # the SDK keeps the file's order as index
        self._table = table.sort_values(["start", "end"])
        n_frames = int(starts[-1]) + 40
        self._timestamps = np.arange(n_frames) / RATE_HZ + 12.5
        # cell c's trace at frame f is 1000·c + f: any window mean is known in closed form
        self._dff = (1000.0 * np.arange(n_cells)[:, None] + np.arange(n_frames)[None, :]).astype(np.float32)
        self._ids = np.arange(n_cells, dtype=np.int64) + 10_000 * exp["id"]
        self._exp = exp

    def get_dff_traces(self, cell_specimen_ids=None):
        return self._timestamps, self._dff

    def get_cell_specimen_ids(self):
        return self._ids

    def get_stimulus_table(self, stimulus_name):
        if stimulus_name != "natural_scenes":
            raise OSError(f"Could not find a stimulus table named '{stimulus_name}'")
        return self._table.copy()

    def get_stimulus_template(self, stimulus_name):
        template = np.zeros((118, 918, 1174), dtype=np.uint8)
        template[:, 0, 0] = np.arange(118)
        return template

    def get_metadata(self):
        return {"targeted_structure": self._exp["targeted_structure"],
                "imaging_depth_um": self._exp["imaging_depth"], "ophys_experiment_id": self._exp["id"],
                "experiment_container_id": self._exp["experiment_container_id"],
                "cre_line": self._exp["cre_line"] + "/wt", "session_type": "three_session_B"}


class FakeBrainObservatoryCache:
    EXPERIMENTS: ClassVar[list[dict]] = [
        {"id": 2, "imaging_depth": 375, "targeted_structure": "VISl", "cre_line": "Rbp4-Cre_KL100",
         "experiment_container_id": 20, "session_type": "three_session_B", "reporter_line": "Ai93",
         "donor_name": "2", "specimen_name": "s2", "acquisition_age_days": 100, "fail_eye_tracking": False},
        {"id": 1, "imaging_depth": 175, "targeted_structure": "VISp", "cre_line": "Cux2-CreERT2",
         "experiment_container_id": 10, "session_type": "three_session_B", "reporter_line": "Ai93",
         "donor_name": "1", "specimen_name": "s1", "acquisition_age_days": 100, "fail_eye_tracking": False},
        {"id": 3, "imaging_depth": 275, "targeted_structure": "VISli", "cre_line": "Rorb-IRES2-Cre",
         "experiment_container_id": 30, "session_type": "three_session_B", "reporter_line": "Ai93",
         "donor_name": "3", "specimen_name": "s3", "acquisition_age_days": 100, "fail_eye_tracking": False},
    ]
    CELLS: ClassVar[dict[int, int]] = {1: 3, 2: 2, 3: 1}

    def __init__(self, offline: bool = False, truncated_dir=None):
        self.offline = offline
        self.truncated_dir = truncated_dir
        self.opened = []

    @staticmethod
    def shown(exp_id: int) -> dict[int, int]:
        counts = {scene: 2 for scene in range(118)}
        counts[5], counts[7], counts[-1] = 3, 1, 4
        return counts

    def get_ophys_experiments(self, stimuli=None, targeted_structures=None, **kwargs):
        for arg in (stimuli, targeted_structures):
            if isinstance(arg, str):
                raise TypeError("list-valued arguments must not be bare strings")  # as allensdk
        if self.offline:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        assert stimuli == ["natural_scenes"]
        return [dict(e) for e in self.EXPERIMENTS if targeted_structures is None
                or e["targeted_structure"] in targeted_structures]

    def get_nwb_filepath(self, ophys_experiment_id):
        if self.truncated_dir is None:
            return None
        path = os.path.join(self.truncated_dir, f"{ophys_experiment_id}.nwb")
        return path if os.path.exists(path) else None

    def get_ophys_experiment_data(self, ophys_experiment_id, file_name=None):
        assert isinstance(ophys_experiment_id, int)
        path = self.get_nwb_filepath(ophys_experiment_id)
        if path is not None:
            raise OSError(f"Unable to open file {path} (truncated file)")
        self.opened.append(ophys_experiment_id)
        exp = next(e for e in self.EXPERIMENTS if e["id"] == ophys_experiment_id)
        return FakeDataSet(exp, self.CELLS[ophys_experiment_id], self.shown(ophys_experiment_id), seed=exp["id"])
