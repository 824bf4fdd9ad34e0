"""Tap every layer of a network during its forward pass, in execution order, with stable names.

A *layer* is what a user would call one: convolutions, linear maps, nonlinearities, pooling, and the
output of every block — any module that is not a plain ``nn.Sequential`` / ``nn.ModuleList`` /
``nn.ModuleDict`` container. Container subclasses are blocks: DenseNet's dense blocks (an
``nn.ModuleDict`` subclass with a forward of its own) and transitions (an ``nn.Sequential``
subclass), like any other module with children (timm's stages such as ``ConvNeXtStage``).
Normalisation, dropout, identity and flatten modules are not layers.

Names are the modules' qualified names (``features.3.conv.0``); the whole model's own output is
``output``; a module called more than once per forward pass (the shared ``relu`` of a ResNet block)
gets ``:2``, ``:3``, ... on later calls. Nothing is reported twice: a block whose output is the very
tensor its last tapped descendant returned (unchanged since) is not reported again, and neither is
a module that returns its input unchanged (StochasticDepth or DropPath in eval mode).

**The classifier head's input** is tapped by a forward pre-hook on the head (as timm's feature
hooks do) and reported as ``<head>:input`` (``classifier:input``, ``fc:input``, ``head.fc:input``):
the pooled pre-classifier vector, also where pooling and flattening are functional calls that no
module tap sees (MobileNetV2, DenseNet, MnasNet, ShuffleNet). Where that input holds the values of
the layer reported just before it (ResNet's ``avgpool``, which ``forward`` only flattens), that
layer already is the pooled vector and nothing new is reported; ``LayerTap.head_input`` names the
layer that carries it either way. The head is timm's classifier (``pretrained_cfg['classifier']``
or ``get_classifier()``), otherwise the last top-level child named ``fc``, ``classifier``, ``head``
or ``heads`` (torchvision); models without one (Taskonomy encoders, baselines) have no such tap.

With a ``pattern``, only modules whose taps can match it are hooked, with their tapped descendants
(which decide whether a block repeats its last child's output), so names are those of the
unfiltered run; when the pattern can select the head's input, every layer is hooked, because
whether that input repeats the last layer depends on which layer ran last.
"""
from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle
from typing_extensions import Self

from .globs import can_select

_PLAIN_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
_NOT_LAYERS = (
    nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm, nn.LocalResponseNorm,
    nn.modules.dropout._DropoutNd, nn.Identity, nn.Flatten, nn.Unflatten,
)
HEAD_NAMES = ("fc", "classifier", "head", "heads")
HEAD_INPUT = ":input"


def is_layer(module: nn.Module) -> bool:
    """Whether ``module``'s output counts as a layer (see the module docstring)."""
    return type(module) not in _PLAIN_CONTAINERS and not isinstance(module, _NOT_LAYERS)


def find_head(model: nn.Module) -> str | None:
    """Qualified name of ``model``'s classifier head, or None (see the module docstring)."""
    name = _timm_head(model)
    if name is not None:
        return name
    heads = [n for n, _ in model.named_children() if n in HEAD_NAMES]
    return heads[-1] if heads else None


def _timm_head(model: nn.Module) -> str | None:
    cfg = getattr(model, "pretrained_cfg", None)
    name = cfg.get("classifier") if isinstance(cfg, dict) else None
    if isinstance(name, (list, tuple)):  # distilled models name two heads; the first is the class head
        name = name[0] if name else None
    modules = dict(model.named_modules())
    if isinstance(name, str) and name in modules:
        return name
    get_classifier = getattr(model, "get_classifier", None)
    head = get_classifier() if callable(get_classifier) else None
    return next((n for n, m in modules.items() if n and m is head), None)


class _Tap(NamedTuple):
    tensor: torch.Tensor
    version: int
    module: str      # qualified name of the module that produced it
    name: str        # the name it was reported under


def _within(module: str, block: str) -> bool:
    """Whether ``module`` is ``block`` or one of its descendants ('' is the whole model)."""
    return not block or module == block or module.startswith(block + ".")


def _first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, (tuple, list)) and value:
        value = value[0]
    return value if isinstance(value, torch.Tensor) else None


def _same_values(x: torch.Tensor, tap: _Tap) -> bool:
    """Whether ``x`` is ``tap``'s tensor or a same-layout view of it, unchanged since it was tapped."""
    t = tap.tensor
    return (x.data_ptr() == t.data_ptr() and x.numel() == t.numel() and x.dtype == t.dtype
            and x.is_contiguous() and t.is_contiguous() and x._version == tap.version)


class LayerTap:
    """Context manager that calls ``callback(name, output)`` for every layer as the model runs.

    ``callback`` must consume the tensor at once (copy or reduce it): an in-place operation later in
    the forward pass may overwrite it. ``pattern`` (a shell-style glob such as ``'features.*'``, or a
    list of globs and exact names) keeps only matching layer names. After a forward pass,
    ``head_input`` is the name of the layer holding the classifier head's input (None without a head,
    or when the pattern cannot select ``<head>:input``).
    """

    def __init__(self, model: nn.Module, callback: Callable[[str, torch.Tensor], None],
                 pattern: str | Sequence[str] | None = None):
        self.model = model
        self.callback = callback
        self.patterns = None if pattern is None else [pattern] if isinstance(pattern, str) else list(pattern)
        self.head = find_head(model)
        self.head_input: str | None = None
        self._handles: list[RemovableHandle] = []
        self._calls: dict[str, int] = {}
        self._entered: dict[str, tuple[torch.Tensor, int] | None] = {}
        self._last: _Tap | None = None

    def __enter__(self) -> Self:
        head_wanted = self.head is not None and self._can_select(self.head + HEAD_INPUT)
        self._handles.append(self.model.register_forward_pre_hook(self._reset))
        for name, module in self._hooked(every=head_wanted or self.patterns is None):
            self._handles.append(module.register_forward_pre_hook(self._entry_hook(name)))
            self._handles.append(module.register_forward_hook(self._exit_hook(name)))
        if self.head is not None and head_wanted:
            head = self.model.get_submodule(self.head)
            self._handles.append(head.register_forward_pre_hook(self._head_hook))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._entered.clear()

    def _can_select(self, name: str) -> bool:
        return self.patterns is None or any(can_select(p, name) for p in self.patterns)

    def _hooked(self, every: bool) -> Iterator[tuple[str, nn.Module]]:
        """Layers to hook: all, or those whose taps can match and their descendants."""
        roots: list[str] = []
        for name, module in self.model.named_modules():
            if not is_layer(module):
                continue
            if every or any(_within(name, root) for root in roots):
                yield name, module
            elif self._can_select(name or "output"):
                roots.append(name)
                yield name, module

    def _reset(self, module: nn.Module, inputs: tuple[Any, ...]) -> None:
        self._calls.clear()
        self._last = None

    def _entry_hook(self, name: str) -> Callable[[nn.Module, tuple[Any, ...]], None]:
        def hook(module: nn.Module, inputs: tuple[Any, ...]) -> None:
            x = _first_tensor(inputs)
            self._entered[name] = None if x is None else (x, x._version)

        return hook

    def _exit_hook(self, name: str) -> Callable[[nn.Module, tuple[Any, ...], Any], None]:
        def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
            entered = self._entered.pop(name, None)
            out = _first_tensor(output)
            if out is None or (entered is not None and out is entered[0] and out._version == entered[1]):
                return  # no tensor, or the input passed through unchanged
            last = self._last
            if last is not None and out is last.tensor and out._version == last.version and _within(last.module, name):
                return  # a block returning its last tapped descendant's output
            self._report(name or "output", out, name)

        return hook

    def _head_hook(self, module: nn.Module, inputs: tuple[Any, ...]) -> None:
        x = _first_tensor(inputs)
        if x is None or self.head is None:
            return
        if self._last is not None and _same_values(x, self._last):
            self.head_input = self._last.name
        else:
            self.head_input = self._report(self.head + HEAD_INPUT, x, self.head)

    def _report(self, label: str, tensor: torch.Tensor, module: str) -> str:
        count = self._calls.get(label, 0) + 1
        self._calls[label] = count
        full = label if count == 1 else f"{label}:{count}"
        self._last = _Tap(tensor, tensor._version, module, full)
        if self.patterns is None or any(fnmatch.fnmatchcase(full, p) for p in self.patterns):
            self.callback(full, tensor)
        return full


def possible_layer_names(model: nn.Module) -> list[str]:
    """The names ``LayerTap`` can report for ``model``, known without running it: every layer module
    (the model itself as ``output``) and the head's input; a module that runs k times also reports
    ``name:2`` ... ``name:k`` (``globs.can_select`` covers those). A module that never runs is included."""
    names = [name or "output" for name, module in model.named_modules() if is_layer(module)]
    head = find_head(model)
    return names + ([head + HEAD_INPUT] if head is not None else [])


def pattern_can_match(model: nn.Module, pattern: str | Sequence[str]) -> bool:
    """Whether some layer of ``model`` can match ``pattern`` (a glob or a list of globs and names)."""
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    return any(can_select(p, name) for p in patterns for name in possible_layer_names(model))


def layer_names(model: nn.Module, example: torch.Tensor, pattern: str | Sequence[str] | None = None) -> list[str]:
    """Names of the layers one forward pass of ``example`` visits, in forward order."""
    names: list[str] = []
    with torch.no_grad(), LayerTap(model, lambda name, out: names.append(name), pattern):
        model(example)
    return names
