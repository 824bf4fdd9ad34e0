"""One error hierarchy for the library: the CLI prints the message as one line and exits 2.

``UserError`` (alias ``MouseRSAError``) is the base of every problem the user can fix. The classes
subclass model_zoo's (the zoo stands alone and never imports mouse_rsa), so ``except
model_zoo.UserError`` catches both; an error the zoo raises inside a mouse_rsa call is re-raised as
the mouse_rsa class of the same kind (``zoo_errors``), so the Python API raises one family, with the
words the CLI prints.

``MouseRSAWarning`` is the base of the library's own warnings: the CLI shows those (and hides
third-party warnings unless ``--debug``).
"""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

from model_zoo import errors as _zoo


class UserError(_zoo.UserError):
    """A problem the user can fix; the message says what to do."""


MouseRSAError = UserError


class InvalidInput(UserError, _zoo.InvalidInput):
    """Arguments, files or values that cannot be used; ``argument`` names the parameter (library words)."""


class WeightsUnavailable(UserError, _zoo.WeightsUnavailable):
    """Pretrained weights that are neither cached nor downloadable."""


class DataUnavailable(UserError):
    """Data that is not on disk and cannot be fetched now (no network, not fetched yet)."""


class WriteFailed(UserError):
    """A file or folder that cannot be written (disk full, read-only, a file where a folder should be);
    ``argument`` names the parameter that chose the place, if one did."""

    def __init__(self, message: str, argument: str | None = None):
        super().__init__(message)
        self.argument = argument


class MouseRSAWarning(UserWarning):
    """Base of the library's own warnings (the ones the CLI shows without ``--debug``)."""


_said: set[tuple[type[Warning], str]] = set()


def warn_once(message: str, category: type[Warning] = MouseRSAWarning, stacklevel: int = 2) -> None:
    """``warnings.warn`` once per message in this process (the CLI: per command, see ``forget_warned``): a
    bad file met by several readers, or a read-only cache met by every write, is said once."""
    if (category, message) not in _said:
        _said.add((category, message))
        warnings.warn(message, category, stacklevel=stacklevel + 1)


def forget_warned() -> None:
    """Let every ``warn_once`` message be said again (the CLI calls it as each command starts)."""
    _said.clear()


def from_zoo(err: _zoo.UserError) -> UserError:
    """``err`` (raised by model_zoo) as the mouse_rsa error of the same kind, same message and argument."""
    if isinstance(err, UserError):
        return err
    if isinstance(err, _zoo.InvalidInput):
        return InvalidInput(str(err), argument=err.argument)
    if isinstance(err, _zoo.WeightsUnavailable):
        return WeightsUnavailable(str(err))
    return UserError(str(err))


@contextlib.contextmanager
def zoo_errors() -> Iterator[None]:
    """Re-raise model_zoo's errors inside the block as mouse_rsa's (``from_zoo``), keeping their traceback."""
    try:
        yield
    except _zoo.UserError as err:
        if isinstance(err, UserError):
            raise
        raise from_zoo(err).with_traceback(err.__traceback__) from None


__all__ = ["DataUnavailable", "InvalidInput", "MouseRSAError", "MouseRSAWarning", "UserError", "WeightsUnavailable",
           "WriteFailed", "forget_warned", "from_zoo", "warn_once", "zoo_errors"]
