"""Reading weight files safely (never unpickling arbitrary objects), naming them by their content,
and saying what does not fit."""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput

if TYPE_CHECKING:
    import torch
    from torch import nn


def read_state_dict(path: Path | str) -> dict[str, torch.Tensor]:
    """A state dict from ``.safetensors`` or a torch file read with ``weights_only=True``.

    Checkpoints that wrap the weights (``{'state_dict': ...}`` or ``{'model': ...}``) are unwrapped.
    """
    import torch

    path = Path(path)
    state: Any
    if not path.is_file():
        raise InvalidInput(f"weights_file: {path} does not exist", argument="weights_file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch and safetensors raise many types for a bad file
        raise InvalidInput(f"weights_file: {path} is not a readable state dict ({type(err).__name__}); pass a "
                           ".pth/.pt saved with torch.save(model.state_dict()) or a .safetensors file",
                           argument="weights_file") from err
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InvalidInput(f"weights_file: {path} does not hold a state dict of tensors", argument="weights_file")
    return state


def file_source(path: Path | str) -> str:
    """``file:<basename>:sha256:<first 12 hex>``: a weights file named by its content, not its path
    (hashed once per file version: its path, size and modification time)."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    return _file_source(str(resolved), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _file_source(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"file:{Path(path).name}:sha256:{digest.hexdigest()[:12]}"


def load_into(model: nn.Module, state: dict[str, torch.Tensor], model_name: str, source: str,
              argument: str | None = None) -> None:
    """``model.load_state_dict(state)`` with a one-line error when the keys or shapes do not fit
    (InvalidInput naming ``argument``, the parameter that gave the weights, if any)."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0]
        prefix = f"{argument}: " if argument else ""
        raise InvalidInput(f"{prefix}weights from {source} do not fit {model_name}: {detail[:200]}",
                           argument=argument) from err


def load_weights_file(model: nn.Module, path: Path | str, model_name: str) -> str:
    """Load the state dict in ``path`` into ``model``; returns the file's ``file_source``."""
    load_into(model, read_state_dict(path), model_name, str(path), argument="weights_file")
    return file_source(path)
