"""Names of a package imported on first use (PEP 562), so that importing the package stays cheap.

One helper for every package of this distribution that exposes heavy names (``model_zoo`` itself,
``mouse_rsa``, ``mouse_rsa.features``, ``mouse_rsa.sweep``), and one that keeps the import paths of
modules that moved (``moved_modules``); they live here because ``model_zoo`` never imports ``mouse_rsa``.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
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


class _Moved(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``package.<old>`` for modules that moved (see ``moved_modules``)."""

    def __init__(self, package: str, modules: dict[str, tuple[str, ...]]):
        self.package, self.modules = package, modules

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != self.package or name not in self.modules:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        homes = [importlib.import_module(f".{home}", self.package) for home in self.modules[spec.name.rpartition(".")[2]]]
        if len(homes) == 1:
            return homes[0]                      # the old name is the new module itself
        facade = types.ModuleType(spec.name, f"moved to {', '.join(h.__name__ for h in homes)}")

        def __getattr__(name: str) -> Any:
            for home in homes:
                if hasattr(home, name):
                    return getattr(home, name)
            raise AttributeError(f"module {spec.name!r} has no attribute {name!r}")

        facade.__getattr__ = __getattr__  # type: ignore[method-assign]
        return facade

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: ``create_module`` returned a module that is already whole."""


def moved_modules(package: str, modules: dict[str, tuple[str, ...]]) -> None:
    """Keep ``import package.<old>`` (and ``package.<old>``) working for modules that moved: ``modules`` maps
    an old module name to the module(s), relative to ``package``, that now hold its names (one: the old
    name is that module; several: a module that looks each name up in them in order). Imports nothing now."""
    if not any(isinstance(f, _Moved) and f.package == package for f in sys.meta_path):
        sys.meta_path.append(_Moved(package, modules))
