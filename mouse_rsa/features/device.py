"""Where extraction runs, as the kind that changes numbers (``cpu`` or ``cuda``), known without torch.

The kind is part of every feature-cache and unit key: convolutions on a GPU round differently from
the CPU's, so numbers made on one are never served as the other's. ``auto`` is ``cuda`` when a CUDA
GPU is visible; with no NVIDIA driver on the machine that is settled without importing torch, so a
laptop's warm run (features cached) stays torch-free.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import InvalidInput


def _nvidia_driver() -> bool:
    return Path("/proc/driver/nvidia/version").exists() or any(Path("/dev").glob("nvidia[0-9]*"))


def device_kind(device: str) -> str:
    """``cpu`` or ``cuda``: the kind of device that ``device`` (auto, cpu, cuda, cuda:N) runs on here."""
    if device == "cpu":
        return "cpu"
    if device.startswith("cuda"):
        return "cuda"
    if not _nvidia_driver():
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def check_device(device: str) -> None:
    """InvalidInput, in one line, when ``device`` is not auto, cpu, cuda or cuda:N, or names a CUDA GPU that is
    not visible here (torch is imported only for a CUDA device on a machine with an NVIDIA driver)."""
    if device in ("auto", "cpu"):
        return
    if not re.fullmatch(r"cuda(:\d+)?", device):
        raise InvalidInput(f"device must be auto, cpu, cuda or cuda:N, not {device!r}", argument="device")
    visible = 0
    if _nvidia_driver():
        import torch

        visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(device.partition(":")[2] or 0)
    if index >= visible:
        seen = f"only {visible} CUDA GPU(s) (cuda:0 to cuda:{visible - 1}) are" if visible else "no CUDA GPU is"
        raise InvalidInput(f"device {device} was asked for but {seen} visible here; use --device auto or cpu",
                           argument="device")
