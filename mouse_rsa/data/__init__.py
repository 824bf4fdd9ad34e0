"""Neural datasets by name (``demo``, ``demo-neuropixels``, ``allen``, ``allen-neuropixels``) or by path."""
from __future__ import annotations

from pathlib import Path

from ..errors import DataUnavailable, InvalidInput
from .dataset import AREAS, CORTICAL_LAYERS, NeuralDataset, load, save

DATASETS = ("demo", "demo-neuropixels", "allen", "allen-neuropixels")

__all__ = ["AREAS", "CORTICAL_LAYERS", "DATASETS", "NeuralDataset", "load", "load_dataset", "save"]


def _fetched(label: str, name: str, path: Path) -> NeuralDataset:
    if not path.exists():
        raise DataUnavailable(f"the {label} dataset has not been fetched ({path} is missing); "
                              f"run `mouse-rsa dataset fetch {name}` or use the {name.replace('allen', 'demo')} dataset")
    return load(path)


def load_dataset(name_or_path: str | Path) -> NeuralDataset:
    """``'demo'`` and ``'demo-neuropixels'`` (built offline on first use), ``'allen'`` and
    ``'allen-neuropixels'`` (after `mouse-rsa dataset fetch NAME`) or the path of a dataset file
    written by ``mouse_rsa.data.save``."""
    if isinstance(name_or_path, NeuralDataset):
        return name_or_path
    key = str(name_or_path)
    if key == "demo":
        from .demo import load_demo

        return load_demo()
    if key == "demo-neuropixels":
        from .demo_neuropixels import load_demo_neuropixels

        return load_demo_neuropixels()
    if key == "allen":
        from .allen import allen_path

        return _fetched("Allen", key, allen_path())
    if key == "allen-neuropixels":
        from .neuropixels import neuropixels_path

        return _fetched("Allen Neuropixels", key, neuropixels_path())
    path = Path(key)
    if path.suffix in (".h5", ".hdf5") or path.exists():
        return load(path)
    raise InvalidInput(f"unknown dataset {key!r}; use one of {', '.join(DATASETS)} or the path of an .h5 dataset file")
