"""How sure is a score: stimulus-bootstrap and model-seed resampling of the units under a results directory.

Read from the files alone (no scoring code, no torch):

* ``stimulus_counts``: bootstrap resamples of the stimuli, as how often each stimulus is drawn; seeded,
  and the same for every unit scored against one neural target, so that differences between units
  are paired (computed on the same resamples).
* ``UnitScores``: every whole unit of a directory with its mean score over sites, its chance level,
  and, on demand, its site scores on each resample (``resampled``): the method's ``resample_scores``
  applied to the held-out predictions the unit kept. The fits stay fixed; only which stimuli are
  scored changes (refitting on every resample would also carry the fits' own variance, at the
  cost of a full cross-validation per resample).
* ``seed_bootstrap``: per stimulus resample, the mean over a bootstrap draw of the model seeds of the
  per-seed means: the distribution whose percentiles give a CI carrying both stimulus and seed
  variance. With one seed it is the stimulus bootstrap alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import methods as registry
from . import results

CONFIDENCE = 0.95


def stimulus_counts(n_stimuli: int, n_resamples: int, seed: int) -> np.ndarray:
    """(n_resamples, n_stimuli) draw counts of stimulus bootstrap resamples (n_stimuli draws with
    replacement each), from ``seed`` and the stimulus count only."""
    rng = np.random.default_rng([seed, n_stimuli])
    return rng.multinomial(n_stimuli, np.full(n_stimuli, 1.0 / n_stimuli), size=n_resamples).astype(np.int32)


def seed_bootstrap(per_seed: np.ndarray, seed: int) -> np.ndarray:
    """(n_resamples,) from per-seed resampled values (n_seeds, n_resamples): on each stimulus resample,
    the mean over n_seeds seeds drawn with replacement (seeded)."""
    n_seeds, n_resamples = per_seed.shape
    if n_seeds == 1:
        return per_seed[0]
    picks = np.random.default_rng([seed, n_seeds, n_resamples]).integers(0, n_seeds, (n_resamples, n_seeds))
    return per_seed[picks, np.arange(n_resamples)[:, None]].mean(axis=1)


def interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile interval of ``values`` (NaN when there are none)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


@dataclass
class UnitScores:
    """The whole units under one results directory: one row per unit (``table``) and their files.

    ``table`` has the key columns, ``n_sites``, ``mean_score`` (over sites), ``mean_chance`` (the mean
    of the sites' chance levels), ``mean_corrected``, ``mean_score_r2``, ``mean_score_normalized``,
    ``mean_ceiling`` and ``p_permutation`` (of the mean over sites, from the unit's null); ``scores``
    the site rows.
    """

    directory: Path
    scores: pd.DataFrame
    table: pd.DataFrame
    records: dict[str, tuple[Path, dict]]
    _targets: dict[tuple[str, str], dict[str, np.ndarray]] = field(default_factory=dict)
    _arrays: dict[str, dict[str, np.ndarray] | None] = field(default_factory=dict)
    _index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._index = {key: i for i, key in enumerate(self.table["unit_key"])}

    @classmethod
    def read(cls, directory: str | Path) -> UnitScores:
        directory = Path(directory)
        scores = results.read_scores(directory)
        records = {record["key"]["unit_key"]: (path, record) for path, record in results.whole_units(directory)}
        keys = [c for c in results.KEY_COLUMNS if c in scores.columns]
        table = scores.groupby("unit_key", sort=False).agg(
            n_sites=("site", "nunique"), mean_score=("score", "mean"), mean_chance=("chance_mean", "mean"),
            mean_score_r2=("score_r2", "mean"), mean_score_normalized=("score_normalized", "mean"),
            mean_ceiling=("ceiling", "mean"))
        table = scores.drop_duplicates("unit_key").set_index("unit_key")[keys[1:]].join(table).reset_index()
        table["mean_corrected"] = table["mean_score"] - table["mean_chance"]
        unit = cls(directory, scores, table, records)
        table["p_permutation"] = [unit.mean_p(key, score) for key, score in zip(table["unit_key"], table["mean_score"])]
        return unit

    def arrays(self, unit_key: str) -> dict[str, np.ndarray] | None:
        """The unit's kept arrays (None when it kept none), read once."""
        if unit_key not in self._arrays:
            path, record = self.records[unit_key]
            entry = record["files"].get("arrays")
            self._arrays[unit_key] = None
            if entry is not None:
                with np.load(path.parent / entry["name"], allow_pickle=False) as f:
                    self._arrays[unit_key] = {name: f[name] for name in f.files}
        return self._arrays[unit_key]

    def target(self, dataset: str, targets_key: str) -> dict[str, np.ndarray]:
        """The arrays of one neural target's file, read once."""
        if (dataset, targets_key) not in self._targets:
            self._targets[dataset, targets_key] = results.read_targets(self.directory, dataset, targets_key)
        return self._targets[dataset, targets_key]

    def row(self, unit_key: str) -> pd.Series:
        """The unit's row of ``table``."""
        return self.table.iloc[self._index[unit_key]]

    def n_stimuli(self, unit_key: str) -> int:
        row = self.row(unit_key)
        return int(self.target(row["dataset"], row["targets_key"])["n_stimuli"])

    def mean_p(self, unit_key: str, mean_score: float) -> float:
        """Permutation p of the unit's mean over sites (its null's site means share each permutation)."""
        arrays = self.arrays(unit_key)
        null = arrays.get("null") if arrays is not None else None
        if null is None or not len(null):
            return float("nan")
        return float((1 + (null.mean(axis=1) >= mean_score - 1e-12).sum()) / (1 + len(null)))

    def resampled(self, unit_key: str, counts: np.ndarray) -> np.ndarray | None:
        """The unit's site scores on each resample (n_resamples, n_sites), in the order of its target's
        sites; None when it kept no held-out predictions."""
        arrays = self.arrays(unit_key)
        if arrays is None:
            return None
        row = self.row(unit_key)
        method = registry.get(row["method"])
        try:
            return method.resample_scores(arrays, self.target(row["dataset"], row["targets_key"]), counts)
        except KeyError:            # the unit's arrays lack what its method rescores (kept by an older version)
            return None

    def draws(self, unit_keys: list[str], counts: np.ndarray, seed: int) -> np.ndarray | None:
        """(n_resamples,): the mean over sites and (bootstrapped, ``seed_bootstrap``) model seeds of the units
        ``unit_keys`` (one per seed of one network) on each stimulus resample; None if one kept no predictions."""
        means = []
        for key in unit_keys:
            site_scores = self.resampled(key, counts)
            if site_scores is None:
                return None
            means.append(site_scores.mean(axis=1))
        return seed_bootstrap(np.stack(means), seed)
