"""Per-layer second-moment summaries of a model's features (what mouse_rsa.features computes).

For each layer and stimulus pattern x (d units): ``gram[i, j] = <P x_i, P x_j>`` with ``P`` removing
the pattern's mean over units, ``unit_mean[i]`` and ``n_units`` d. RDMs and the linear kernel
follow exactly. Kept apart from mouse_rsa.features.extraction so that scoring never imports torch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..rdm import rdm_from_gram, upper

SIGNATURE_SIZE = 256  # RDM cells per layer that identify a network (``LayerGrams.rdm_signature``)


@dataclass
class LayerGrams:
    """Per-layer second-moment summaries of one model's features for one stimulus set."""

    names: list[str]
    gram: np.ndarray        # (n_layers, n_stimuli, n_stimuli) float64, centred-pattern inner products
    unit_mean: np.ndarray   # (n_layers, n_stimuli) float64
    n_units: np.ndarray     # (n_layers,) int64, units before any reduction
    reduced: np.ndarray     # (n_layers,) bool, whether the layer was randomly projected
    blocks: np.ndarray | None = None  # (n_layers,) which feature set each layer is from (``joined``), else None

    @property
    def n_layers(self) -> int:
        return len(self.names)

    @classmethod
    def joined(cls, parts: dict[str, LayerGrams]) -> LayerGrams:
        """The layers of several feature sets of one model on the same stimuli (e.g. one per image size)
        side by side, each name prefixed with its part's label (``64/features.3``)."""
        return cls([f"{label}/{name}" for label, g in parts.items() for name in g.names],
                   np.concatenate([g.gram for g in parts.values()]),
                   np.concatenate([g.unit_mean for g in parts.values()]),
                   np.concatenate([g.n_units for g in parts.values()]),
                   np.concatenate([g.reduced for g in parts.values()]),
                   np.repeat(list(parts), [g.n_layers for g in parts.values()]))

    def depths(self) -> np.ndarray:
        """Relative depth of every layer in its network, 0 (first) to 1 (last; 0 for a one-layer network):
        its position among the layers of its feature set."""
        blocks = self.blocks if self.blocks is not None else np.zeros(self.n_layers, dtype=int)
        depth = np.zeros(self.n_layers)
        for block in np.unique(blocks):
            mine = np.flatnonzero(blocks == block)
            depth[mine] = np.arange(len(mine)) / max(len(mine) - 1, 1)
        return depth

    def rdms(self) -> np.ndarray:
        """Correlation-distance RDM of every layer, (n_layers, n_stimuli, n_stimuli) float64."""
        return rdm_from_gram(self.gram)

    def kernels(self) -> np.ndarray:
        """Linear kernel <x_i, x_j> of every layer's (reduced) features, (n_layers, n_stimuli, n_stimuli),
        for ridge encoding."""
        m = self.unit_mean
        return self.gram + self.n_units[:, None, None] * m[:, :, None] * m[:, None, :]

    def degenerate_layers(self) -> list[str]:
        """Layers whose RDM is undefined or flat: a pattern constant over units, or all stimuli alike."""
        rdms = self.rdms()
        i, j = np.triu_indices(rdms.shape[1], k=1)
        cells = rdms[:, i, j]
        bad = ~np.isfinite(cells).all(axis=1) | (np.nan_to_num(cells).std(axis=1) <= 1e-12)
        return [name for name, b in zip(self.names, bad) if b]

    def rdm_signature(self, size: int = SIGNATURE_SIZE) -> np.ndarray:
        """(n_layers, size): each layer's RDM, z-scored over all its cells, at ``size`` fixed cells (the same
        for every model on these stimuli). Two networks whose layers give the same RDMs (random vgg16 and
        vgg16_bn, whose batch norm is the identity at initialisation) have the same signature to float
        rounding (~1e-6); different layers differ by O(1) at some cell (``mouse_rsa.replicates``)."""
        cells = upper(self.rdms())
        chosen = np.sort(np.random.default_rng(0).permutation(cells.shape[1])[:size])
        mean, sd = cells.mean(axis=1, keepdims=True), cells.std(axis=1, keepdims=True)
        return (cells[:, chosen] - mean) / np.where(sd > 0, sd, 1.0)

    def select(self, keep: list[int]) -> LayerGrams:
        return LayerGrams([self.names[i] for i in keep], self.gram[keep], self.unit_mean[keep],
                          self.n_units[keep], self.reduced[keep], None if self.blocks is None else self.blocks[keep])
