"""Names of a package imported on first use (PEP 562), so that importing the package stays cheap.

One helper for every package of this distribution that exposes heavy names (``model_zoo`` itself,
``mouse_rsa``, ``mouse_rsa.features``, ``mouse_rsa.sweep``); it lives here because ``model_zoo``
never imports ``mouse_rsa``.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, names: dict[str, str],
                 submodules: bool = False) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``names`` maps an exported name to the submodule that
    defines it; with ``submodules`` any other attribute is tried as a submodule (``package.leaderboard``)."""

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(f".{names[name]}", package), name)
            setattr(sys.modules[package], name, value)
            return value
        if submodules and not name.startswith("__"):
            try:
                return importlib.import_module(f".{name}", package)
            except ModuleNotFoundError as err:
                if err.name != f"{package}.{name}":
                    raise
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
