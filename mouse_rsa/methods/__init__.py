"""Scoring methods and their registry: each method is one module defining ``METHOD`` (a ``base.Method``).

The runner, results, sweep and readers find a method here by the name its rows carry
(``rsa_nnls``) or by its short command-line name (``rsa``), and never name one themselves. A new
method is one module in this package plus one entry in ``REGISTERED``.

Shared by every method: ``folds`` (the cross-validation over stimuli) and ``base`` (the interface
and the table helpers); ``nnls`` is the Gram-form cross-validated NNLS solver that ``rsa_nnls`` and
the joint signatures use.
"""
from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from model_zoo.lazy import lazy_exports

from ..errors import InvalidInput

if TYPE_CHECKING:
    from .base import Design, Method, MethodResult, site_rows, with_chance

REGISTERED = ("rsa_nnls", "encoding_ridge", "rsa_layer", "cka", "pls")  # module names = method names, in the order methods run and are listed
DEFAULT = REGISTERED[0]  # what a unit is scored with unless asked otherwise

__all__ = ["DEFAULT", "REGISTERED", "Design", "Method", "MethodResult", "all_methods", "get", "resolve",
           "settings_used", "site_rows", "with_chance"]
__getattr__, __dir__ = lazy_exports(__name__, {"Design": "base", "Method": "base", "MethodResult": "base",
                                               "site_rows": "base", "with_chance": "base"})


@functools.cache
def all_methods() -> tuple[Method, ...]:
    """Every registered method, in ``REGISTERED`` order."""
    return tuple(importlib.import_module(f".{module}", __name__).METHOD for module in REGISTERED)


def get(name: str) -> Method:
    """The method whose name (``rsa_nnls``) or short name (``rsa``) is ``name``; InvalidInput otherwise."""
    for method in all_methods():
        if name in (method.name, method.short):
            return method
    raise InvalidInput(f"unknown method {name!r}; use {', '.join(m.short for m in all_methods())} (or their full "
                       f"names {', '.join(REGISTERED)}) or all",
                       argument="method")


def settings_used() -> tuple[str, ...]:
    """Every Settings field that some registered method reads (``Method.settings_used``), sorted."""
    return tuple(sorted({name for method in all_methods() for name in method.settings_used}))


def resolve(methods: str | Sequence[str]) -> list[str]:
    """Method names (``rsa_nnls``, ...) of ``methods``: ``all``, one name or short name, or a list of them."""
    chosen = [methods] if isinstance(methods, str) else list(methods)
    if chosen == ["all"]:
        return [m.name for m in all_methods()]
    if not chosen:
        raise InvalidInput("methods must name at least one method (or all)", argument="method")
    return list(dict.fromkeys(get(name).name for name in chosen))
