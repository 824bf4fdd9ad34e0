"""Which code made a number: the package version and a fingerprint of the code the numbers depend on.

``__version__`` is the installed distribution's version (``pyproject.toml`` is the one source of
truth, read through ``importlib.metadata``). ``code_fingerprint()`` digests the source of every
module that computes features, neural targets or scores (``NUMERIC_SOURCES``), as parsed syntax
trees without docstrings, so comments, docstrings and layout do not count and any change of code does. Both are in every unit key
and every cache key: results and cached files made by other code are never reused. The command
line, readers, figures and reports are not in the fingerprint: changing them changes no number.
"""
from __future__ import annotations

import ast
import functools
import hashlib
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "mouse-rsa"
_ROOT = Path(__file__).resolve().parent.parent
# files and folders (relative to the source root) whose code changes numbers
NUMERIC_SOURCES = (
    "mouse_rsa/rdm.py", "mouse_rsa/arrays.py", "mouse_rsa/features", "mouse_rsa/neural", "mouse_rsa/methods",
    "model_zoo/build.py", "model_zoo/layers.py", "model_zoo/latent.py", "model_zoo/weights.py", "model_zoo/sources",
)


def package_version() -> str:
    """The installed distribution's version ('unknown' when the source runs uninstalled)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def numeric_files(root: Path = _ROOT) -> list[Path]:
    """The Python files of ``NUMERIC_SOURCES`` under ``root``, sorted."""
    files: list[Path] = []
    for source in NUMERIC_SOURCES:
        path = root / source
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return sorted(files)


def _code_only(tree: ast.Module) -> ast.Module:
    """``tree`` without docstrings (a string literal as the first statement of a module, class or function)."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


@functools.cache
def code_fingerprint(root: Path = _ROOT) -> str:
    """12-hex digest of the syntax trees (docstrings left out) of ``numeric_files``, with their paths."""
    h = hashlib.sha256()
    for path in numeric_files(root):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(ast.dump(_code_only(ast.parse(path.read_text(encoding="utf-8")))).encode())
    return h.hexdigest()[:12]


__version__ = package_version()
