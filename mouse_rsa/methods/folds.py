"""Cross-validation over stimuli, shared by every method: the held-out stimulus sets of each repeat."""
from __future__ import annotations

import numpy as np


def stimulus_folds(n_stimuli: int, folds: int, repeats: int, seed: int) -> list[list[np.ndarray]]:
    """Held-out stimulus sets: ``repeats`` independent shuffled k-fold partitions, each scikit-learn's
    ``KFold(folds, shuffle=True, random_state=r)`` with r drawn from ``RandomState(seed)`` (sorted test
    indices; the first n mod k folds one larger)."""
    from sklearn.model_selection import KFold

    rng = np.random.RandomState(seed)
    stimuli = np.arange(n_stimuli)
    return [[test for _, test in KFold(folds, shuffle=True, random_state=rng.randint(2**31 - 1)).split(stimuli)]
            for _ in range(repeats)]


def fold_labels(folds: list[np.ndarray], n_stimuli: int) -> np.ndarray:
    """The fold that holds out each stimulus (n_stimuli,), -1 for a stimulus no fold holds out."""
    labels = np.full(n_stimuli, -1, dtype=np.int64)
    for k, test in enumerate(folds):
        labels[test] = k
    return labels
