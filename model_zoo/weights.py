"""Reading weight files safely (never unpickling arbitrary objects) and naming what is missing."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .errors import InvalidInput


def read_state_dict(path: Path | str) -> dict:
    """A state dict from ``.safetensors`` or a torch file read with ``weights_only=True``.

    Checkpoints that wrap the weights (``{'state_dict': ...}`` or ``{'model': ...}``) are unwrapped.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"weights file {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch and safetensors raise many types for a bad file
        raise InvalidInput(f"weights file {path} is not a readable state dict ({type(err).__name__}); "
                           "pass a .pth/.pt saved with torch.save(model.state_dict()) or a .safetensors file") from err
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InvalidInput(f"weights file {path} does not hold a state dict of tensors")
    return state


def load_into(model: nn.Module, state: dict, model_name: str, source: str) -> None:
    """``model.load_state_dict(state)`` with a one-line error when the keys or shapes do not fit."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0]
        raise InvalidInput(f"weights from {source} do not fit {model_name}: {detail[:200]}") from err
