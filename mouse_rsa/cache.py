"""Where mouse-rsa keeps prepared data, and atomic writes into it."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

STALE_AFTER_S = 24 * 3600  # a temporary file of another host this old is an abandoned write


def cache_dir(*parts: str) -> Path:
    """``$MOUSE_RSA_CACHE`` (default ``~/.cache/mouse-rsa``) joined with ``parts``; not created."""
    root = Path(os.environ.get("MOUSE_RSA_CACHE", Path.home() / ".cache" / "mouse-rsa"))
    return root.joinpath(*parts)


def path_part(name: str) -> str:
    """``name`` (a model or dataset name, which may come from a file) as one safe path component: it
    never walks out of the results or cache directory."""
    safe = re.sub(r"[^A-Za-z0-9._+-]", "_", str(name)).lstrip(".")
    return safe or "_"


def _host() -> str:
    return socket.gethostname().replace(".", "-")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(final: Path) -> None:
    """Remove temporary files of ``final`` left by a killed writer (``kill -9``, a crashed node).

    Temporary names carry host and pid: on this host a file whose writer is gone is removed at
    once; one from another host only after a day.
    """
    host = _host()
    for tmp in final.parent.glob(f".{final.name}.*"):
        parts = tmp.name[len(final.name) + 2:].split(".")
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        try:
            abandoned = (not _pid_alive(int(parts[1]))) if parts[0] == host else \
                time.time() - tmp.stat().st_mtime > STALE_AFTER_S
            if abandoned:
                tmp.unlink()
        except OSError:
            continue


@contextlib.contextmanager
def atomic_path(final: Path | str, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it into place only if the block succeeds.

    Readers never see a half-written file: an exception (or Ctrl-C) removes the temporary file, and
    one left by a killed writer is removed by the next write of the same file. The file gets the
    usual permissions (0666 less the umask), so results a lab shares stay group-readable.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(final)
    prefix = f".{final.name}.{_host()}.{os.getpid()}."
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=prefix, suffix=suffix or final.suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def digest(fields: dict, length: int = 16) -> str:
    """Hex digest of JSON-able ``fields`` (key order ignored): the project's keys for units, targets and caches."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:length]


def sha256_arrays(*arrays) -> str:
    """Content hash of numpy arrays (dtype, shape and bytes), used as a checksum and a cache key."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).view(np.uint8).data)
    return h.hexdigest()


def save_checked(path: Path, schema: int, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to the npz ``path`` atomically, with ``schema`` and a checksum of their content."""
    names = sorted(arrays)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, schema=np.int64(schema), checksum=np.array(sha256_arrays(*(arrays[k] for k in names))),
                 **arrays)


def load_checked(path: Path, schema: int) -> dict[str, np.ndarray] | None:
    """The arrays ``save_checked`` wrote, or None when the file is missing, of another schema or
    damaged in any way (truncated, bad CRC, not a zip, checksum off): the caller then rebuilds it."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if int(f["schema"]) != schema:
                return None
            arrays = {k: f[k] for k in f.files if k not in ("schema", "checksum")}
            ok = str(f["checksum"]) == sha256_arrays(*(arrays[k] for k in sorted(arrays)))
    except Exception:  # noqa: BLE001 - whatever a damaged file raises (BadZipFile, zlib.error, EOFError, ...)
        return None
    return arrays if ok else None
