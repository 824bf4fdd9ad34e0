"""One array namespace for the scoring's hot loops: numpy on the host, torch on a GPU.

Scoring code written against ``namespace(x)`` (array_api_compat's wrapper of numpy or torch, the
one scikit-learn uses for its array API support) runs unchanged on numpy arrays and on torch tensors;
``on(x, device)`` puts an input where the scoring runs and ``host(x)`` brings a result back as numpy.
The device comes from the unit (``scoring_device``): numpy on a CPU, so CPU results are exactly those of
the numpy code; torch on the unit's CUDA device. Torch on the CPU (``TORCH_CPU``) is the check that the
two paths compute the same numbers (tests/test_arrays.py: 1e-10).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace, is_torch_array
from array_api_compat import device as device_of  # noqa: F401 (the device an array is on, for xp.zeros(..., device=))

TORCH_CPU = "torch:cpu"  # the torch path on the CPU: only to check it against numpy
Device = str | None      # None: numpy on the host; "cuda:0", TORCH_CPU: torch there


def scoring_device(device: str) -> Device:
    """Where a unit whose ``Settings.device`` is ``device`` scores: None (numpy) unless it runs on CUDA, then
    that CUDA device (``auto`` is ``cuda`` when ``mouse_rsa.features.device`` sees a GPU)."""
    from .features.device import device_kind

    if device_kind(device) != "cuda":
        return None
    return device if device.startswith("cuda") else "cuda"


def namespace(*arrays: Any) -> Any:
    """The array_api_compat namespace of ``arrays`` (numpy's or torch's), with every numpy/torch function too."""
    return array_namespace(*arrays)


def on(x: Any, device: Device) -> Any:
    """``x`` as float64: a numpy array (``device`` None) or a torch tensor on ``device``."""
    if device is None:
        return np.asarray(x, dtype=np.float64)
    import torch

    where = "cpu" if device == TORCH_CPU else device
    return torch.as_tensor(np.asarray(x), dtype=torch.float64, device=where)


def host(x: Any) -> np.ndarray:
    """``x`` as a numpy array on the host (one copy from a GPU)."""
    return x.detach().cpu().numpy() if is_torch_array(x) else np.asarray(x)


def like(values: Any, reference: Any) -> Any:
    """``values`` (numpy or a scalar) as an array of ``reference``'s kind and on its device, dtype kept."""
    if not is_torch_array(reference):
        return np.asarray(values)
    import torch

    return torch.as_tensor(np.asarray(values), device=reference.device)


def contiguous(x: Any) -> Any:
    """``x`` in C order (numpy's fancy indexing can leave the first axis innermost)."""
    return x.contiguous() if is_torch_array(x) else np.ascontiguousarray(x)
