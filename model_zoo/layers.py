"""Tap every layer of a network during its forward pass, in execution order, with stable names.

A *layer* is what a user would call one: convolutions, linear maps, nonlinearities, pooling, and the
output of every block (any module with children that is not a plain ``nn.Sequential`` /
``nn.ModuleList`` / ``nn.ModuleDict`` container). Normalisation, dropout, identity and flatten
modules are not layers. Names are the modules' qualified names (``features.3.conv.0``); a module
called more than once per forward pass (e.g. the shared ``relu`` of a ResNet block) gets ``:2``,
``:3``, ... on later calls. A block whose output is the very tensor its last tapped child returned
(unchanged since) is not reported twice.
"""
from __future__ import annotations

import fnmatch
from typing import Callable, Sequence

import torch
from torch import nn

_CONTAINERS = (nn.ModuleList, nn.ModuleDict)
_NOT_LAYERS = (
    nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm, nn.LocalResponseNorm,
    nn.modules.dropout._DropoutNd, nn.Identity, nn.Flatten, nn.Unflatten,
)


def is_layer(module: nn.Module) -> bool:
    """Whether ``module``'s output counts as a layer (see the module docstring)."""
    if type(module) is nn.Sequential or isinstance(module, _CONTAINERS):
        return False
    return not isinstance(module, _NOT_LAYERS)


class LayerTap:
    """Context manager that calls ``callback(name, output)`` for every layer as the model runs.

    ``callback`` must consume the tensor at once (copy or reduce it): an in-place operation later in
    the forward pass may overwrite it. ``pattern`` (a shell-style glob such as ``'features.*'``, or a
    list of globs) keeps only matching layer names.
    """

    def __init__(self, model: nn.Module, callback: Callable[[str, torch.Tensor], None],
                 pattern: str | Sequence[str] | None = None):
        self.model = model
        self.callback = callback
        self.patterns = [pattern] if isinstance(pattern, str) else pattern
        self._handles = []
        self._calls: dict[str, int] = {}
        self._last: tuple[torch.Tensor, int] | None = None

    def __enter__(self) -> "LayerTap":
        self._handles.append(self.model.register_forward_pre_hook(self._reset))
        for name, module in self.model.named_modules():
            if is_layer(module):
                self._handles.append(module.register_forward_hook(self._hook(name or "output")))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _reset(self, module, inputs) -> None:
        self._calls.clear()
        self._last = None

    def _hook(self, name: str):
        def hook(module, inputs, output):
            if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
                output = output[0]
            if not isinstance(output, torch.Tensor):
                return
            if self._last is not None and output is self._last[0] and output._version == self._last[1]:
                return
            self._last = (output, output._version)
            count = self._calls.get(name, 0) + 1
            self._calls[name] = count
            full = name if count == 1 else f"{name}:{count}"
            if self.patterns is None or any(fnmatch.fnmatchcase(full, p) for p in self.patterns):
                self.callback(full, output)

        return hook


def layer_names(model: nn.Module, example: torch.Tensor, pattern: str | Sequence[str] | None = None) -> list[str]:
    """Names of the layers one forward pass of ``example`` visits, in forward order."""
    names: list[str] = []
    with torch.no_grad(), LayerTap(model, lambda name, out: names.append(name), pattern):
        model(example)
    return names
