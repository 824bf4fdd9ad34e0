"""Where and in what arithmetic a forward pass runs: the torch device, the caller's module lent to it and
given back, the precision's backend switches, and the device's memory released afterwards.

Precisions (``Settings.precision``, part of every feature and unit key):

* ``float32``: the networks' own arithmetic, TF32 off and cuDNN deterministic: the same features
  run after run on one machine (a GPU's rounding still differs from a CPU's: the device kind is keyed too);
* ``tf32``: float32 storage with TensorFloat-32 matmuls and convolutions (10-bit mantissa products)
  and cuDNN's autotuner on: several times faster on Ampere and later GPUs, not bit-reproducible run to
  run; on a CPU it computes what ``float32`` does;
* ``bfloat16``: the forward pass under autocast to bfloat16 (8-bit mantissa), patterns summarised in
  float32: the fastest on a GPU, RDMs within about 1e-2 of float32's (tests/test_features.py);
* ``float64``: the network and its inputs in double precision: slow, the same features on every machine
  to about 1e-12 (the demo dataset is built this way).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from .device import check_device, device_kind

STORAGE = {"float32": torch.float32, "tf32": torch.float32, "bfloat16": torch.float32, "float64": torch.float64}
FAST = ("tf32", "bfloat16")  # TF32 and cuDNN's autotuner on: faster, not bit-reproducible


def resolve_device(device: str | None) -> torch.device:
    """The torch device of ``device`` (auto, cpu, cuda, cuda:N); InvalidInput when that GPU is not visible."""
    if device in (None, "auto"):
        return torch.device(device_kind("auto"))  # the kind that unit keys record
    check_device(str(device))
    return torch.device(device)


@contextlib.contextmanager
def placed(module: torch.nn.Module, device: torch.device, dtype: torch.dtype) -> Iterator[torch.nn.Module]:
    """``module`` moved to ``device`` and ``dtype`` in eval mode, and put back where it was (device, dtype,
    train/eval mode) on exit, so a caller's model is never left on a GPU or in double precision."""
    first = next(iter([*module.parameters(), *module.buffers()]), None)
    home = (first.device, first.dtype) if first is not None else (torch.device("cpu"), torch.float32)
    training = module.training
    try:
        yield module.to(device=device, dtype=dtype).eval()
    finally:
        module.to(device=home[0], dtype=home[1]).train(training)


@contextlib.contextmanager
def numerics(precision: str, device: torch.device) -> Iterator[None]:
    """The backend switches of ``precision`` (module docstring) while extracting; the previous ones after."""
    fast = precision in FAST
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
             torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = fast
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = not fast, fast
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bfloat16" \
        else contextlib.nullcontext()
    try:
        with autocast:
            yield
    finally:
        (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
         torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) = saved


def release(device: torch.device) -> None:
    """Hand the memory cached by torch's CUDA allocator back to the driver (between models; a no-op on a CPU)."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
