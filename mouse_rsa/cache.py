"""Where mouse-rsa keeps prepared data, and atomic writes into it.

Every write goes through ``atomic_path``: a temporary file beside the final one, renamed into place,
and an ``OSError`` of the write (disk full, read-only, a file where a folder should be) raised as one
``WriteFailed`` line naming the path. The cache is optional: a read-only cache (a lab's shared one) is
read and not written (``save_cached`` warns once), but a cache folder that cannot exist at all is an
error before any work (``check_cache``).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .errors import MouseRSAWarning, WriteFailed, warn_once

STALE_AFTER_S = 24 * 3600  # a temporary file of another host this old is an abandoned write
CACHE_VARIABLE = "MOUSE_RSA_CACHE"
# what a failed write's errno says to do
_REMEDIES = {
    errno.ENOSPC: "the disk is full: free space or write elsewhere",
    errno.EDQUOT: "the disk quota is exceeded: free space or write elsewhere",
    errno.EROFS: "the file system is read-only: write elsewhere",
    errno.EACCES: "permission denied: write elsewhere",
    errno.EPERM: "permission denied: write elsewhere",
    errno.ENOTDIR: "a regular file stands where a folder should be: move it or write elsewhere",
    errno.EEXIST: "a regular file stands where a folder should be: move it or write elsewhere",
    errno.EISDIR: "a folder stands where a file should be: move it or write elsewhere",
    errno.ENAMETOOLONG: "the name is too long: write elsewhere",
    errno.EFBIG: "the file is too large for this file system: write elsewhere",
    errno.EBUSY: "it is busy or a mount point: write elsewhere",
    errno.ENOENT: "its folder cannot be created: write elsewhere",
}


class CacheWarning(MouseRSAWarning):
    """The cache cannot be written (read-only, full): results are right, only not cached."""


def cache_root() -> Path:
    """``$MOUSE_RSA_CACHE``, or ``~/.cache/mouse-rsa`` when it is unset or empty (as XDG treats its variables)."""
    value = os.environ.get(CACHE_VARIABLE, "")
    return Path(value).expanduser() if value.strip() else Path.home() / ".cache" / "mouse-rsa"


def cache_dir(*parts: str) -> Path:
    """``cache_root()`` joined with ``parts``; not created."""
    return cache_root().joinpath(*parts)


def _in_cache(path: Path) -> bool:
    try:
        return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(cache_root()))
    except (OSError, ValueError):
        return False


def write_failed(path: Path | str, err: OSError) -> WriteFailed:
    """One line for a failed write of ``path``: what the errno means and what to do."""
    remedy = _REMEDIES.get(err.errno or 0, "write elsewhere")
    where = f" (the cache, ${CACHE_VARIABLE})" if _in_cache(Path(path)) else ""
    return WriteFailed(f"cannot write {path}{where}: {err.strerror or err}; {remedy}")


def check_folder(directory: Path | str, argument: str | None = None) -> Path:
    """Raise WriteFailed unless ``directory`` is, or can be created as, a writable folder; creates nothing.

    ``argument`` (the parameter that chose it, e.g. ``out``) starts the message. A symlink whose target
    is missing, a regular file on the path and a read-only ancestor are each one line.
    """
    directory = Path(directory)
    what = f"{argument} {directory}" if argument else str(directory)
    if directory.is_symlink() and not directory.exists():
        raise WriteFailed(f"{what} is a symlink to {os.readlink(directory)}, which does not exist; "
                          "create that folder or choose another path", argument=argument)
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    problem = None
    if not existing.is_dir():
        problem = "is a regular file" if existing == directory else f"is under the regular file {existing}"
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = f"cannot be written ({existing} is read-only)"
    if problem:
        raise WriteFailed(f"{what} {problem}; choose another path", argument=argument)
    return directory


def check_cache() -> bool:
    """Whether the cache can be written (False: read-only, it is read and not written, with one warning).

    Raises WriteFailed, before any work, when the cache folder neither exists nor can be created.
    """
    root = cache_root()
    what = f"${CACHE_VARIABLE} {root}" if os.environ.get(CACHE_VARIABLE, "").strip() else f"the cache {root}"
    if root.is_dir():
        writable = os.access(root, os.W_OK | os.X_OK)
    elif root.exists() or root.is_symlink():
        raise WriteFailed(f"{what} is {'a regular file' if root.exists() else 'a broken symlink'} where a folder "
                          f"should be; set ${CACHE_VARIABLE} to a folder")
    else:
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise WriteFailed(f"{what} cannot be created ({err.strerror or err}); set ${CACHE_VARIABLE} to a "
                              "folder you can write") from err
        writable = True
    if not writable:
        _warn_unwritable(root, "read-only")
    return writable


def _warn_unwritable(root: Path, why: str) -> None:
    warn_once(f"the cache {root} is {why}: what it holds is read, nothing new is kept (set ${CACHE_VARIABLE} to a "
              "writable folder to keep it)", CacheWarning, stacklevel=3)


def path_part(name: str) -> str:
    """``name`` (a model or dataset name, which may come from a file) as one safe path component: it
    never walks out of the results or cache directory."""
    safe = re.sub(r"[^A-Za-z0-9._+-]", "_", str(name)).lstrip(".")
    return safe or "_"


def _host() -> str:
    return socket.gethostname().replace(".", "-")


def file_mode() -> int:
    """The usual permissions of a new file: 0666 less the umask (results a lab shares stay group-readable)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ``.<final name>.<host>.<pid>.<mkstemp's random part><suffix>``, as ``atomic_path`` names them
_TEMPORARY = re.compile(r"\.(?P<final>.+)\.(?P<host>[^.]+)\.(?P<pid>\d+)\.[a-z0-9_]+(?P<suffix>(\.[^.]*)?)")


def _remove_if_abandoned(tmp: Path, host: str, pid: int) -> None:
    try:
        abandoned = not _pid_alive(pid) if host == _host() else time.time() - tmp.stat().st_mtime > STALE_AFTER_S
        if abandoned:
            tmp.unlink()
    except OSError:
        pass


def remove_stale_temporaries(final: Path) -> None:
    """Remove temporary files of ``final`` left by a killed writer (``kill -9``, a crashed node).

    Temporary names carry host and pid: on this host a file whose writer is gone is removed at
    once; one from another host only after a day.
    """
    for tmp in final.parent.glob(f".{final.name}.*"):
        match = _TEMPORARY.fullmatch(tmp.name)
        if match and match["final"] == final.name:
            _remove_if_abandoned(tmp, match["host"], int(match["pid"]))


def remove_stale_temporaries_under(directory: Path | str) -> None:
    """``remove_stale_temporaries`` for every temporary file under ``directory`` (a run's ``--out``, the
    cache): a killed writer's leftovers go with the next run, even when it writes other files."""
    directory = Path(directory)
    if not directory.is_dir() or not os.access(directory, os.W_OK):
        return
    for tmp in directory.rglob(".*"):
        match = _TEMPORARY.fullmatch(tmp.name)
        if match and tmp.is_file() and match["suffix"] == Path(match["final"]).suffix:
            _remove_if_abandoned(tmp, match["host"], int(match["pid"]))


@contextlib.contextmanager
def atomic_path(final: Path | str, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it into place only if the block succeeds.

    Readers never see a half-written file: an exception (or Ctrl-C) removes the temporary file, and
    one left by a killed writer is removed by the next write of the same file. The file gets the
    usual permissions (0666 less the umask), so results a lab shares stay group-readable.
    """
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(final)
        prefix = f".{final.name}.{_host()}.{os.getpid()}."
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=prefix, suffix=suffix or final.suffix)
        os.close(fd)
    except OSError as err:
        raise write_failed(final, err) from err
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
        except OSError as err:  # the block's write failed; ENOENT is something the block read
            if err.errno not in _REMEDIES or err.errno == errno.ENOENT:
                raise
            raise write_failed(final, err) from err
        try:
            os.chmod(tmp_path, file_mode())
            os.replace(tmp_path, final)
        except OSError as err:
            raise write_failed(final, err) from err
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink(missing_ok=True)


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


def save_cached(path: Path, write: Callable[[Path], object]) -> bool:
    """``write(path)`` into the cache; a cache that cannot be written (read-only, full) is warned about once
    and the work goes on uncached. Returns whether the file was written."""
    try:
        write(path)
    except WriteFailed as err:
        _warn_unwritable(cache_root(), f"not writable ({err})")
        return False
    return True


def load_checked(path: Path, schema: int) -> dict[str, np.ndarray] | None:
    """The arrays ``save_checked`` wrote, or None when the file is missing, of another schema or
    damaged in any way (truncated, bad CRC, not a zip, checksum off): the caller then rebuilds it."""
    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as f:  # closed however it fails
            if int(f["schema"]) != schema:
                return None
            arrays = {k: f[k] for k in f.files if k not in ("schema", "checksum")}
            ok = str(f["checksum"]) == sha256_arrays(*(arrays[k] for k in sorted(arrays)))
    except Exception:  # noqa: BLE001 - whatever a damaged file raises (BadZipFile, zlib.error, EOFError, ...)
        return None
    return arrays if ok else None
