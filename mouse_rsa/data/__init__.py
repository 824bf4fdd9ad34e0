"""Neural datasets by name (``demo``, ``allen``) or by path to a dataset file."""
from __future__ import annotations

from pathlib import Path

from ..errors import DataUnavailable, InvalidInput
from .dataset import AREAS, CORTICAL_LAYERS, NeuralDataset, load, save

DATASETS = ("demo", "allen")

__all__ = ["AREAS", "CORTICAL_LAYERS", "DATASETS", "NeuralDataset", "load", "load_dataset", "save"]


def load_dataset(name_or_path: str | Path) -> NeuralDataset:
    """``'demo'`` (built offline on first use), ``'allen'`` (after `mouse-rsa dataset fetch allen`)
    or the path of a dataset file written by ``mouse_rsa.data.save``."""
    if isinstance(name_or_path, NeuralDataset):
        return name_or_path
    key = str(name_or_path)
    if key == "demo":
        from .demo import load_demo

        return load_demo()
    if key == "allen":
        from .allen import allen_path

        if not allen_path().exists():
            raise DataUnavailable(
                f"the Allen dataset has not been fetched ({allen_path()} is missing); "
                "run `mouse-rsa dataset fetch allen` or use the demo dataset"
            )
        return load(allen_path())
    path = Path(key)
    if path.suffix in (".h5", ".hdf5") or path.exists():
        return load(path)
    raise InvalidInput(f"unknown dataset {key!r}; use one of {', '.join(DATASETS)} or the path of an .h5 dataset file")
