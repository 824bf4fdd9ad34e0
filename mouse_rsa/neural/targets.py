"""What a model is scored against: stimuli plus neural-site RDMs (and, from raw data, cells).

Two ways in: a neural dataset (reliable cells → sites → RDMs and ceilings, cell means for encoding),
or RDMs that labs share (``stimuli`` directory + ``neural_rdms`` npz). The npz holds one
stimuli × stimuli RDM per site under its site key (``VISp_L23``, see mouse_rsa.sites); RDM rows
follow the image files of the directory sorted by name. A noise ceiling per site is optional:
``<site>_ceiling`` in explained-variance (r²) units, the largest r² a model can reach (this is what
mouse-rsa computes: the Spearman–Brown split-half reliability of the RDM), or ``<site>_ceiling_r`` in
correlation units (the largest r), which is squared. Either must be one number in [0, 1].
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cache import cache_dir, digest, load_checked, path_part, save_cached, save_checked, sha256_arrays
from ..data import NeuralDataset, load_dataset
from ..errors import InvalidInput
from ..rdm import upper
from ..settings import Settings
from .sites import SiteRDM, parse_site_key, select_sites

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
CEILING_SUFFIXES = {"_ceiling_r": 2.0, "_ceiling": 1.0}  # suffix → power that gives r² units
TARGETS_SCHEMA = 2  # layout of the cached site selection (dataset_targets); 2: ceiling bounds


@dataclass
class Targets:
    """Neural targets of one dataset under one set of target settings.

    ``stimuli`` (n, h, w) uint8; ``sites`` in area × layer order; for datasets also ``cell_means``
    (stimuli × reliable cells), ``cell_reliability`` and ``cell_site`` (site key per cell).
    ``key`` identifies the content and the selection settings (16 hex).
    """

    name: str
    content_hash: str
    key: str
    stimuli: np.ndarray
    sites: list[SiteRDM]
    cell_means: np.ndarray | None = None
    cell_reliability: np.ndarray | None = None
    cell_site: np.ndarray | None = None

    @property
    def n_stimuli(self) -> int:
        return int(self.stimuli.shape[0])

    def site_vectors(self) -> np.ndarray:
        """Upper triangles of every site RDM as columns, (n_pairs, n_sites) float64."""
        return np.stack([upper(site.rdm) for site in self.sites], axis=1)


def load_targets(settings: Settings, dataset: NeuralDataset | None = None) -> Targets:
    """The targets ``settings`` describe; ``dataset`` (already loaded) replaces loading it by name."""
    if settings.stimuli is not None:
        targets = rdm_targets(settings.stimuli, settings.neural_rdms)
    else:
        targets = dataset_targets(dataset if dataset is not None else load_dataset(settings.dataset), settings)
    if settings.folds > targets.n_stimuli:
        raise InvalidInput(f"folds={settings.folds} is more than the {targets.n_stimuli} stimuli; "
                           f"use at most {targets.n_stimuli}", argument="folds")
    return targets


def dataset_targets(ds: NeuralDataset, settings: Settings) -> Targets:
    """Reliable cells of ``ds`` grouped into sites, with site RDMs, ceilings and cell means.

    With ``settings.use_cache`` the selection is kept under ``$MOUSE_RSA_CACHE/targets`` keyed by the
    dataset's content, the selection settings (target seed included, no model or cross-validation
    seed) and the code fingerprint (the targets' ``key``), so the split-half reliability of every
    cell is computed once per dataset and settings, not once per command.
    """
    from ..version import code_fingerprint

    content = ds.content_hash()
    key = digest(dict(settings.target_fields(), dataset=ds.name, stimuli=None, neural_rdms=None, content=content,
                      code=code_fingerprint()))
    path = cache_dir("targets", path_part(ds.name), f"{key}.npz")
    arrays = load_checked(path, TARGETS_SCHEMA) if settings.use_cache else None
    if arrays is None:
        arrays = _select(ds, settings)
        if settings.use_cache:
            save_cached(path, lambda p: save_checked(p, TARGETS_SCHEMA, arrays))
    sites = [SiteRDM(str(area), str(layer), int(n), matrix, *map(float, ceilings)) for area, layer, n, matrix, *ceilings
             in zip(arrays["site_area"], arrays["site_layer"], arrays["site_n_cells"], arrays["site_rdm"],
                    arrays["site_ceiling"], arrays["site_ceiling_lower"], arrays["site_ceiling_upper"])]
    return Targets(ds.name, content, key, ds.stimuli, sites, arrays["cell_means"], arrays["cell_reliability"],
                   arrays["cell_site"])


def _select(ds: NeuralDataset, settings: Settings) -> dict[str, np.ndarray]:
    """``select_sites`` on ``ds`` as the arrays ``dataset_targets`` keeps (one row per site or reliable cell)."""
    selection = select_sites(ds, threshold=settings.reliability_threshold, min_cells=settings.min_cells,
                             n_splits=settings.reliability_splits, seed=settings.target_seed)
    if not selection.sites:
        raise InvalidInput(f"dataset {ds.name!r} has no site with {settings.min_cells} cells of reliability "
                           f"≥ {settings.reliability_threshold}; lower reliability_threshold or min_cells",
                           argument="reliability_threshold")
    index = np.concatenate([selection.cell_index[s.key] for s in selection.sites])
    return {"site_area": np.array([s.area for s in selection.sites], dtype="U"),
            "site_layer": np.array([s.cortical_layer for s in selection.sites], dtype="U"),
            "site_n_cells": np.array([s.n_cells for s in selection.sites], dtype=np.int64),
            "site_rdm": np.stack([s.rdm for s in selection.sites]),
            **{f"site_{name}": np.array([getattr(s, name) for s in selection.sites], dtype=np.float64)
               for name in ("ceiling", "ceiling_lower", "ceiling_upper")},
            "cell_means": np.ascontiguousarray(selection.cell_means[index].T),
            "cell_reliability": selection.reliability[index],
            "cell_site": np.concatenate([[s.key] * s.n_cells for s in selection.sites]).astype("U")}


def read_stimuli(directory: Path | str) -> np.ndarray:
    """Image files of ``directory`` sorted by name, as grayscale uint8 at the first image's size.

    16-bit grayscale images are scaled to 8 bits (value / 257), never clipped; a floating-point image,
    an unreadable file or one above Pillow's decompression-bomb limit is one InvalidInput line.
    """
    from PIL import Image

    directory = Path(directory)
    if not directory.is_dir():
        raise InvalidInput(f"stimuli {directory} is not a directory of images", argument="stimuli")
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) < 3:
        raise InvalidInput(f"stimuli {directory} holds {len(files)} images ({', '.join(IMAGE_SUFFIXES)}); "
                           "an RDM needs at least 3", argument="stimuli")
    images: list[np.ndarray] = []
    size = None
    for path in files:
        gray = Image.fromarray(_read_gray(path))
        size = size or gray.size
        images.append(np.asarray(gray.resize(size, Image.Resampling.BILINEAR) if gray.size != size else gray))
    return np.stack(images).astype(np.uint8)


def _read_gray(path: Path) -> np.ndarray:
    """One stimulus image as grayscale uint8 (16-bit scaled, not clipped); InvalidInput if it cannot be."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    bomb = (Image.DecompressionBombError, Image.DecompressionBombWarning)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.mode == "F":
                    raise InvalidInput(f"stimulus image {path} holds floating-point pixels; save it as an 8- or "
                                       "16-bit image", argument="stimuli")
                if img.mode == "I" or img.mode.startswith("I;16"):  # 16-bit grayscale (Pillow reads it as I;16 or I)
                    values = np.asarray(img, dtype=np.int64)
                    if values.size and (values.min() < 0 or values.max() > 65535):
                        raise InvalidInput(f"stimulus image {path} holds 32-bit pixel values; save it as an 8- or "
                                           "16-bit image", argument="stimuli")
                    return np.round(values / 257.0).astype(np.uint8)
                return np.asarray(img.convert("L"))
    except bomb as err:
        raise InvalidInput(f"stimulus image {path} is larger than Pillow's decompression-bomb limit of "
                           f"{Image.MAX_IMAGE_PIXELS} pixels; resize it", argument="stimuli") from err
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as err:
        raise InvalidInput(f"stimulus image {path} cannot be read ({err})", argument="stimuli") from err


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        raise InvalidInput(f"neural_rdms {path} is not a readable .npz of RDMs ({type(err).__name__}: {err}); "
                           "write it with numpy.savez", argument="neural_rdms") from err


def _ceiling(name: str, value: np.ndarray, power: float) -> float:
    if value.shape != () or value.dtype.kind not in "fiu" or not 0 <= float(value) <= 1:
        raise InvalidInput(f"neural_rdms: {name} must be one number in [0, 1], not {value.dtype} {value.shape} "
                           f"{value if value.size == 1 else ''}".rstrip(), argument="neural_rdms")
    return float(value) ** power


def _split_ceilings(arrays: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """RDM arrays by site key, and ceilings (r² units) by site key."""
    rdms, ceilings = {}, {}
    for key, value in arrays.items():
        suffix = next((s for s in CEILING_SUFFIXES if key.endswith(s)), None)
        if suffix is None:
            rdms[key] = value
            continue
        site = key[: -len(suffix)]
        if site in ceilings:
            raise InvalidInput(f"two ceilings for {site}; give {site}_ceiling or {site}_ceiling_r",
                               argument="neural_rdms")
        ceilings[site] = _ceiling(key, value, CEILING_SUFFIXES[suffix])
    return rdms, ceilings


def _site(key: str, matrix: np.ndarray, n: int, ceiling: float, source: Path) -> SiteRDM:
    try:
        area, layer = parse_site_key(key)
    except InvalidInput as err:
        raise InvalidInput(f"neural_rdms {source}: {err}", argument="neural_rdms") from err
    if matrix.dtype.kind not in "fiu" or matrix.shape != (n, n):
        raise InvalidInput(f"neural_rdms {source}: RDM {key!r} is {matrix.dtype} {matrix.shape} but stimuli has {n} images; "
                           "give one numeric row per image", argument="neural_rdms")
    matrix = np.asarray(matrix, dtype=np.float64)
    if not np.isfinite(matrix).all() or not np.allclose(matrix, matrix.T):
        raise InvalidInput(f"neural_rdms {source}: RDM {key!r} must be finite and symmetric", argument="neural_rdms")
    if np.ptp(upper(matrix)) == 0:
        raise InvalidInput(f"neural_rdms {source}: RDM {key!r} is constant: it cannot be correlated with a model",
                           argument="neural_rdms")
    return SiteRDM(area, layer, 0, matrix, ceiling)


def rdm_targets(stimuli_dir: Path | str, rdm_file: Path | str | None) -> Targets:
    """Targets from a directory of stimulus images and an npz of site RDMs (module docstring)."""
    stimuli = read_stimuli(stimuli_dir)
    rdm_file = Path(str(rdm_file))
    rdms, ceilings = _split_ceilings(_read_npz(rdm_file))
    unknown = set(ceilings) - set(rdms)
    if unknown:
        raise InvalidInput(f"neural_rdms {rdm_file} has ceilings for sites without an RDM: {sorted(unknown)}",
                           argument="neural_rdms")
    sites = [_site(key, matrix, len(stimuli), ceilings.get(key, float("nan")), rdm_file)
             for key, matrix in rdms.items()]
    if not sites:
        raise InvalidInput(f"neural_rdms {rdm_file} holds no RDM", argument="neural_rdms")
    content = sha256_arrays(stimuli, *[s.rdm for s in sites], np.array([s.ceiling for s in sites]))
    return Targets(rdm_file.stem, content, content[:16], stimuli, sites)
