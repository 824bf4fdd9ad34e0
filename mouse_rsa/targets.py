"""What a model is scored against: stimuli plus neural-site RDMs (and, from raw data, cells).

Two ways in: a neural dataset (reliable cells → sites → RDMs and ceilings, cell means for encoding),
or RDMs that labs share (``--stimuli DIR`` + ``--neural-rdms FILE.npz``). The npz holds one
stimuli × stimuli RDM per site under its site key (``VISp_L23``, see mouse_rsa.sites) and may hold
a noise ceiling per site as a scalar under ``<site>_ceiling``; RDM rows follow the image files of
DIR sorted by name.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cache import sha256_arrays
from .data import load_dataset
from .errors import InvalidInput
from .reliability import DEFAULT_SPLITS, DEFAULT_THRESHOLD
from .sites import DEFAULT_MIN_CELLS, SiteRDM, parse_site_key, select_sites

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


@dataclass
class Targets:
    name: str
    content_hash: str
    stimuli: np.ndarray
    sites: list[SiteRDM]
    cell_means: np.ndarray | None = None        # stimuli × reliable cells
    cell_reliability: np.ndarray | None = None  # per reliable cell
    cell_site: np.ndarray | None = None         # site key per reliable cell


def load_targets(dataset="allen", stimuli=None, neural_rdms=None, threshold: float = DEFAULT_THRESHOLD,
                 min_cells: int = DEFAULT_MIN_CELLS, n_splits: int = DEFAULT_SPLITS, seed: int = 0) -> Targets:
    """Targets from a dataset (name or path), or from ``stimuli`` + ``neural_rdms`` when given."""
    if (stimuli is None) != (neural_rdms is None):
        raise InvalidInput("--stimuli and --neural-rdms go together")
    if stimuli is not None:
        return rdm_targets(stimuli, neural_rdms)
    return dataset_targets(dataset, threshold, min_cells, n_splits, seed)


def dataset_targets(dataset, threshold: float, min_cells: int, n_splits: int, seed: int) -> Targets:
    ds = load_dataset(dataset)
    selection = select_sites(ds, threshold=threshold, min_cells=min_cells, n_splits=n_splits, seed=seed)
    if not selection.sites:
        raise InvalidInput(f"dataset {ds.name!r} has no site with {min_cells} cells of reliability ≥ {threshold}; "
                           "lower --reliability-threshold or --min-cells")
    index = np.concatenate([selection.cell_index[s.key] for s in selection.sites])
    keys = np.concatenate([[s.key] * s.n_cells for s in selection.sites])
    return Targets(ds.name, ds.content_hash(), ds.stimuli, selection.sites, selection.cell_means[index].T,
                   selection.reliability[index], keys)


def read_stimuli(directory: Path | str) -> np.ndarray:
    """Image files of ``directory`` sorted by name, as grayscale uint8 at the first image's size."""
    from PIL import Image, UnidentifiedImageError

    directory = Path(directory)
    if not directory.is_dir():
        raise InvalidInput(f"--stimuli {directory} is not a directory of images")
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InvalidInput(f"--stimuli {directory} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    images, size = [], None
    for path in files:
        try:
            with Image.open(path) as img:
                gray = img.convert("L")
                size = size or gray.size
                images.append(np.asarray(gray.resize(size, Image.BILINEAR) if gray.size != size else gray))
        except (OSError, UnidentifiedImageError) as err:
            raise InvalidInput(f"stimulus image {path} cannot be read ({err})") from err
    return np.stack(images).astype(np.uint8)


def rdm_targets(stimuli_dir, rdm_file) -> Targets:
    stimuli = read_stimuli(stimuli_dir)
    n = len(stimuli)
    rdm_file = Path(rdm_file)
    try:
        with np.load(rdm_file, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError) as err:
        raise InvalidInput(f"--neural-rdms {rdm_file} is not a readable .npz of RDMs ({err})") from err
    ceilings = {k[: -len("_ceiling")]: float(v) for k, v in arrays.items() if k.endswith("_ceiling")}
    sites = []
    for key, matrix in arrays.items():
        if key.endswith("_ceiling"):
            continue
        area, layer = parse_site_key(key)
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.shape != (n, n):
            raise InvalidInput(f"RDM {key!r} in {rdm_file} is {matrix.shape} but --stimuli has {n} images; "
                               "give one image per RDM row")
        if not np.isfinite(matrix).all() or not np.allclose(matrix, matrix.T):
            raise InvalidInput(f"RDM {key!r} in {rdm_file} must be finite and symmetric")
        sites.append(SiteRDM(area, layer, 0, matrix, ceilings.get(key, float("nan"))))
    if not sites:
        raise InvalidInput(f"--neural-rdms {rdm_file} holds no RDM")
    unknown = set(ceilings) - {s.key for s in sites}
    if unknown:
        raise InvalidInput(f"ceilings for sites without an RDM in {rdm_file}: {sorted(unknown)}")
    content = sha256_arrays(stimuli, *[s.rdm for s in sites])
    return Targets(rdm_file.stem, content, stimuli, sites)
