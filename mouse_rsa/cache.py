"""Where mouse-rsa keeps prepared data, and atomic writes into it."""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np


def cache_dir(*parts: str) -> Path:
    """``$MOUSE_RSA_CACHE`` (default ``~/.cache/mouse-rsa``) joined with ``parts``; not created."""
    root = Path(os.environ.get("MOUSE_RSA_CACHE", Path.home() / ".cache" / "mouse-rsa"))
    return root.joinpath(*parts)


@contextlib.contextmanager
def atomic_path(final: Path | str, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it into place only if the block succeeds.

    Readers never see a half-written file: an exception (or Ctrl-C) removes the temporary file.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=suffix or final.suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def sha256_arrays(*arrays) -> str:
    """Content hash of numpy arrays (dtype, shape and bytes), used as a checksum and a cache key."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).view(np.uint8))
    return h.hexdigest()
