"""The offline spiking demo (``demo-neuropixels``): Poisson spike counts of simulated units that read out
the 2-photon demo's known feature spaces from the same 118 stimuli.

Sites follow the Neuropixels scheme: one per visual area (``cortical_layer == "all"``), 60–119 units
each. Every unit reads out its area's ground-truth feature space (``demo.GROUND_TRUTH``: VISp the
Gabor energy, VISl, VISal and VISrl an early and VISpm and VISam a late mobilenet_v2 layer) through a
random Gaussian linear readout (``demo.readout_drive``: a drive over stimuli with unit SD). Its rate
is λ(s) = r0 + a·drive(s) spikes/s (clipped at 0), with spontaneous rate r0 and modulation a, and its
spike count in the 0.25 s window is Poisson(λ·T) on each of 50 trials per scene and r0 on each of 50
blank presentations. The modulation sets the unit's 50-trial reliability to a target ρ drawn
uniformly from [0.3, 0.95] (``true_reliability``): the trial-averaged rate has signal variance a²
and Poisson noise variance ≈ r0 / (50 T), so a² = ρ / (1 − ρ) · r0 / (50 T). r0 is log-uniform in
[2, 40] Hz (``true_spontaneous_rate_hz``), raised where needed to 3a, so that the rate is clipped
only beyond 3 SD of the drive: the readout stays linear and the site RDM converges to the feature
space's RDM as units are added (see ``demo``). 0.5 % of presentations are invalid (NaN). The
counts then take the Allen Neuropixels path (``neuropixels.evoked_rates``): spikes/s less the unit's
mean blank rate.

The file is the same on every machine: the stimuli and feature spaces are the 2-photon demo's
(built on the CPU in float64 and rounded), and the expected counts λ·T are rounded to 8 decimals
before the Poisson draws, so float noise of another BLAS cannot change a count. ``REFERENCE_HASH``
is the content hash this builds.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..cache import cache_dir
from . import demo
from .dataset import ALL_DEPTHS, AREA_SITES, NeuralDataset
from .neuropixels import DEFAULT_WINDOW_S, evoked_rates

NAME = "demo-neuropixels"
VERSION = 1
SEED = 1  # the units' random stream (the stimuli and feature spaces are the 2-photon demo's, seed 0)
AREAS = ("VISp", "VISl", "VISal", "VISpm", "VISam", "VISrl")
N_TRIALS = 50
N_BLANK = 50
RELIABILITY = (0.3, 0.95)
SPONTANEOUS_HZ = (2.0, 40.0)
LOG_SPONTANEOUS = (float(np.log(SPONTANEOUS_HZ[0])), float(np.log(SPONTANEOUS_HZ[1])))
MISSING_FRACTION = 0.005
REFERENCE_HASH = "ae257401e2d44dcc5d5e4f15406f5964d013f1f89d05ee92b452e0ec8c108c7c"  # content hash of the demo this module builds (tests/test_neuropixels.py checks it)


def demo_neuropixels_path():
    return cache_dir("datasets", f"{NAME}-v{demo.VERSION}.{VERSION}.h5")


def load_demo_neuropixels() -> NeuralDataset:
    """The spiking demo, built on first use and cached."""
    return demo.load_or_build(demo_neuropixels_path(), build_demo_neuropixels, REFERENCE_HASH)


def unit_rates(drive: np.ndarray, rho: np.ndarray, spontaneous: np.ndarray, duration_s: float) -> tuple:
    """(rates units × stimuli in spikes/s, spontaneous rates) of units with target reliability ``rho``
    over ``N_TRIALS`` trials of ``duration_s`` (module docstring)."""
    gain_per_rate = rho / (1.0 - rho) / (N_TRIALS * duration_s)     # a² / r0
    spontaneous = np.maximum(spontaneous, 9.0 * gain_per_rate)      # r0 ≥ 3a  ⇔  r0 ≥ 9 a²/r0
    gain = np.sqrt(gain_per_rate * spontaneous)
    return np.clip(spontaneous[:, None] + gain[:, None] * drive, 0.0, None), spontaneous


def build_demo_neuropixels() -> NeuralDataset:
    _, stimuli, roots = demo.ground_truth_design()
    rng = np.random.default_rng(SEED)
    duration = DEFAULT_WINDOW_S[1] - DEFAULT_WINDOW_S[0]
    frame = np.concatenate([np.tile(np.arange(demo.N_STIMULI), N_TRIALS), np.full(N_BLANK, -1)])
    responses: list[np.ndarray] = []
    blanks: list[np.ndarray] = []
    tables: list[pd.DataFrame] = []
    truth: dict[str, dict] = {}
    for index, area in enumerate(AREAS):
        space = demo.GROUND_TRUTH[area]
        n = int(rng.integers(60, 120))
        drive = demo.readout_drive(roots[space], n, rng)
        rho = rng.uniform(*RELIABILITY, n)
        rates, spontaneous = unit_rates(drive, rho, np.exp(rng.uniform(LOG_SPONTANEOUS[0], LOG_SPONTANEOUS[1], n)), duration)
        expected = np.round(np.concatenate([np.tile(rates, N_TRIALS), np.repeat(spontaneous[:, None], N_BLANK, 1)],
                                           axis=1) * duration, 8)   # units × presentations, in `frame` order
        counts = rng.poisson(expected).astype(np.float64)
        counts[rng.random(counts.shape) < MISSING_FRACTION] = np.nan
        scenes, blank, baseline = evoked_rates(counts, frame, DEFAULT_WINDOW_S)
        responses.append(scenes)
        blanks.append(blank)
        first = 300_000 + sum(t.shape[0] for t in tables)
        tables.append(pd.DataFrame({
            "cell_id": np.arange(first, first + n, dtype=np.int64), "experiment_id": np.int64(7000),
            "area": area, "imaging_depth_um": np.nan, "cortical_layer": ALL_DEPTHS, "cre_line": "",
            "probe": f"probe{'ABCDEF'[index]}", "blank_rate_hz": baseline, "true_reliability": rho,
            "true_spontaneous_rate_hz": spontaneous}))
        truth[area] = demo.truth_entry(space)
    metadata = {"source": "demo", "modality": "neuropixels", "site_scheme": AREA_SITES, "version": VERSION,
                "seed": SEED, "design": {"demo_version": demo.VERSION, "demo_seed": demo.SEED},
                "built_with": {"device": "cpu", "precision": "float64"}, "ground_truth": truth,
                "n_trials": N_TRIALS, "window_s": list(DEFAULT_WINDOW_S),
                "response": "spikes/s in the window less the unit's mean rate on the blank presentations",
                "description": "Poisson units reading out known feature spaces; see mouse_rsa.data.demo_neuropixels"}
    return NeuralDataset(NAME, stimuli.copy(), np.arange(demo.N_STIMULI), np.concatenate(responses),
                         pd.concat(tables, ignore_index=True), np.concatenate(blanks), metadata)
