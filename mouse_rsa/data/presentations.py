"""Per-presentation responses arranged into a dataset's arrays: trials of each scene, blanks apart.

Shared by the Allen loaders (2-photon and Neuropixels) and the spiking demo, which all start from
one response per stimulus presentation and the template frame each presentation showed.
"""
from __future__ import annotations

import numpy as np

from ..errors import InvalidInput

BLANK = -1  # the stimulus tables' frame of a gray-screen presentation


def by_scene(per_presentation: np.ndarray, frame: np.ndarray, n_scenes: int) -> tuple[np.ndarray, np.ndarray]:
    """(scenes: cells × trials × n_scenes, blanks: cells × n_blank) from cells × presentations.

    Trial t of scene k is the t-th presentation of frame k in the order given; a scene shown fewer
    times than the most-shown one has NaN trials. Presentations of frame -1 (the gray screen) are
    the blanks, never among the scenes.
    """
    frame = np.asarray(frame, dtype=np.int64)
    shown = frame[frame >= 0]
    n_trials = max(int(np.bincount(shown, minlength=n_scenes).max()), 1) if len(shown) else 1
    scenes = np.full((per_presentation.shape[0], n_trials, n_scenes), np.nan, dtype=np.float32)
    for scene in range(n_scenes):
        index = np.flatnonzero(frame == scene)
        scenes[:, :len(index), scene] = per_presentation[:, index]
    return scenes, per_presentation[:, frame == BLANK].astype(np.float32)


def pad(block: np.ndarray, size: int, axis: int) -> np.ndarray:
    """``block`` padded with NaN along ``axis`` to ``size``."""
    missing = size - block.shape[axis]
    if missing == 0:
        return block
    widths = [(0, 0)] * block.ndim
    widths[axis] = (0, missing)
    return np.pad(block, widths, constant_values=np.nan)


def to_uint8(images: np.ndarray, what: str) -> np.ndarray:
    """Stimulus images as uint8 (n, height, width), rounded and clipped if stored otherwise."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise InvalidInput(f"the Allen {what} has shape {images.shape}, expected (n, height, width)")
    if images.dtype != np.uint8:
        images = np.clip(np.round(images), 0, 255).astype(np.uint8)
    return images
