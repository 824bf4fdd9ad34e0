"""Small helpers shared by tests."""
from __future__ import annotations

from pathlib import Path


def unit_file(directory: Path, prefix: str, part: str) -> Path:
    """The one file ``<prefix>-<8 hex>.<part>`` in ``directory`` (unit stems end in their key's digest)."""
    matches = [p for p in Path(directory).glob(f"{prefix}-*.{part}") if len(p.name) == len(prefix) + 10 + len(part)]
    assert len(matches) == 1, (prefix, part, sorted(p.name for p in Path(directory).iterdir()))
    return matches[0]


def grams_from_features(*layers, names=None):
    """``LayerGrams`` of explicit features (stimuli × units), one per layer, as ``features.extract`` keeps them."""
    import numpy as np

    from mouse_rsa.features.grams import LayerGrams

    centred = [x - x.mean(axis=1, keepdims=True) for x in layers]
    return LayerGrams(list(names or [f"l{i}" for i in range(len(layers))]), np.stack([c @ c.T for c in centred]),
                      np.stack([x.mean(axis=1) for x in layers]), np.array([x.shape[1] for x in layers]),
                      np.zeros(len(layers), bool))


SYNTHETIC_SITES = [("VISp", "L2/3"), ("VISl", "L4"), ("VISal", "L5")]


def synthetic_problem(n_stimuli=18, n_layers=4, cells=5, seed=0):
    """A small model and neural target with a known structure: layer features (tanh of random projections of
    a shared latent, with non-zero means) and three sites whose cells read out layers 0, 1 and 2 plus noise.
    Returns (grams, layer features, targets)."""
    import numpy as np

    from mouse_rsa.neural.sites import SiteRDM
    from mouse_rsa.neural.targets import Targets
    from mouse_rsa.rdm import rdm

    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_stimuli, 6))
    layers = [np.tanh(latent @ rng.normal(size=(6, 10 + 3 * i)) + rng.normal(scale=0.7, size=(n_stimuli, 10 + 3 * i)))
              + 1.0 for i in range(n_layers)]
    responses = [layers[s] @ rng.normal(size=(layers[s].shape[1], cells)) + rng.normal(size=(n_stimuli, cells))
                 for s in range(len(SYNTHETIC_SITES))]
    sites = [SiteRDM(area, layer, cells, rdm(r), 0.8, 0.6, 0.9) for (area, layer), r in zip(SYNTHETIC_SITES, responses)]
    cell_site = np.repeat([s.key for s in sites], cells)
    targets = Targets("synthetic", "0" * 64, "0" * 16, np.zeros((n_stimuli, 4, 4), np.uint8), sites,
                      np.concatenate(responses, axis=1), np.full(len(cell_site), 0.8), cell_site)
    return grams_from_features(*layers), layers, targets
