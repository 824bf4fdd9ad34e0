"""Where extraction runs, as the kind that changes numbers (``cpu`` or ``cuda``), known without torch.

The kind is part of every feature-cache and unit key: convolutions on a GPU round differently from
the CPU's, so numbers made on one are never served as the other's. ``auto`` is ``cuda`` when a CUDA
GPU is visible; with no NVIDIA driver on the machine that is settled without importing torch, so a
laptop's warm run (features cached) stays torch-free.
"""
from __future__ import annotations

from pathlib import Path


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
