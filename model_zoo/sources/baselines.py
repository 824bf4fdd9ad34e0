"""Classical and random-feature baselines as zoo entries (seed 000: report them beside every network).

* ``pixels``: the image averaged down to 32 × 32 pixels (1,024 features).
* ``gabor``: a Gabor filter-bank energy model. Quadrature pairs (the real and imaginary parts of a
  complex Gabor filter) at 8 orientations, 4 spatial frequencies (wavelengths 4, 8, 16 and 32 px of
  the 128 px image) and 2 sizes (Gaussian envelope σ = 0.5 and 1.0 wavelengths) are squared and
  summed, giving phase-invariant energy, which is then averaged over an 8 × 8 grid of positions
  (8 · 4 · 2 · 64 = 4,096 units). Filtering is done in the Fourier domain on the zero-padded image.
* ``random_features``: the image at 64 × 64 (4,096 pixels) projected by a seeded Gaussian random
  matrix to 4,096 units and rectified (ReLU), matched in dimension to the reduced network layers.

All take the grayscale image in [0, 1] (preprocessing mean 0, std 1) at 128 × 128 px.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .built import Built

INPUT_SIZE = 128
ORIENTATIONS = 8
WAVELENGTHS = (4.0, 8.0, 16.0, 32.0)
SIZES = (0.5, 1.0)  # envelope sigma in wavelengths
GRID = 8
_PAD = 32


def names() -> list[str]:
    return ["pixels", "gabor", "random_features"]


def downsample(x: torch.Tensor, size: int) -> torch.Tensor:
    """Grayscale channel averaged down to ``size`` × ``size`` and flattened."""
    return F.adaptive_avg_pool2d(x[:, :1], size).flatten(1)


class Downsample(nn.Module):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, x):
        return downsample(x, self.size)


class GaborEnergy(nn.Module):
    """Energy of complex Gabor filters, pooled on a position grid; units ordered (filter, y, x)."""

    transfer: torch.Tensor  # (n_filters, n, n) transfer functions on the padded image (real: Gaussian bumps)

    def __init__(self, size: int = INPUT_SIZE):
        super().__init__()
        n = size + 2 * _PAD
        fy = torch.fft.fftfreq(n, dtype=torch.float64)[:, None]
        fx = torch.fft.fftfreq(n, dtype=torch.float64)[None, :]
        transfer, params = [], []
        for wavelength in WAVELENGTHS:
            for size_factor in SIZES:
                sigma = size_factor * wavelength
                for k in range(ORIENTATIONS):
                    theta = math.pi * k / ORIENTATIONS
                    u, v = math.cos(theta) / wavelength, math.sin(theta) / wavelength
                    # Fourier transform of exp(-|x|²/2σ²)·exp(i2π f·x), peak normalised to 1
                    transfer.append(torch.exp(-2 * math.pi ** 2 * sigma ** 2 * ((fx - u) ** 2 + (fy - v) ** 2)))
                    params.append((theta, wavelength, sigma))
        self.register_buffer("transfer", torch.stack(transfer).to(torch.float32))
        self.filters = params  # (orientation rad, wavelength px, sigma px) per filter
        self.size = size

    def forward(self, x):
        image = F.interpolate(x[:, :1], size=(self.size, self.size), mode="bilinear", align_corners=False)[:, 0]
        image = image - image.mean(dim=(1, 2), keepdim=True)
        spectrum = torch.fft.fft2(F.pad(image, (_PAD,) * 4))[:, None]
        pooled = []
        for chunk in self.transfer.split(8):
            response = torch.fft.ifft2(spectrum * chunk[None])[..., _PAD:-_PAD, _PAD:-_PAD]
            pooled.append(F.adaptive_avg_pool2d(response.abs() ** 2, GRID))
        return torch.cat(pooled, dim=1).flatten(1)


class RandomReLUFeatures(nn.Module):
    """ReLU(W · pixels) with W ~ N(0, 1/d) drawn from ``seed``."""

    weight: torch.Tensor  # (units, pixels²)

    def __init__(self, seed: int, pixels: int = 64, units: int = 4096):
        super().__init__()
        generator = np.random.default_rng(seed)
        d = pixels * pixels
        weight = generator.standard_normal((units, d)).astype(np.float32) / math.sqrt(d)
        self.register_buffer("weight", torch.from_numpy(weight))
        self.pixels = pixels

    def forward(self, x):
        return torch.relu(downsample(x, self.pixels) @ self.weight.T)


def build(name: str, weights: str, seed: int, weights_file: str | None = None, tag: str | None = None) -> Built:
    layers: OrderedDict[str, nn.Module]
    if name == "pixels":
        layers = OrderedDict(pixels=Downsample(32))
    elif name == "gabor":
        layers = OrderedDict(energy=GaborEnergy())
    else:
        layers = OrderedDict(random_relu=RandomReLUFeatures(seed))
    source = f"seed {seed}" if name == "random_features" else "fixed"
    return Built(nn.Sequential(layers).eval(), INPUT_SIZE, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), source)
