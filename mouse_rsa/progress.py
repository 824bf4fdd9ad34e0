"""Progress of long work: a tqdm bar on a terminal, plain periodic lines anywhere else.

A redirected stderr (a cluster job's log, ``2> log``) gets no carriage returns or cursor codes: one
line when the work starts, one at most every ``PLAIN_EVERY_S`` seconds, and one when it ends.
``status`` prints a one-line note of slow work that has no bar (building the demo dataset).
"""
from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

from tqdm.auto import tqdm
from typing_extensions import Self

PLAIN_EVERY_S = 30.0
PLAIN_FORMAT = "{desc}: {n_fmt}/{total_fmt} {unit} ({percentage:.0f}%) after {elapsed}, about {remaining} left"
PLAIN_OPEN_FORMAT = "{desc}: {n_fmt} {unit} after {elapsed}"


def on_terminal(stream: Any = None) -> bool:
    """Whether ``stream`` (default stderr) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


class PlainProgress:
    """What tqdm offers the library (iterate, ``update``, ``set_postfix``, ``close``) as whole lines on a
    stream: one when the work starts, one at most every ``PLAIN_EVERY_S`` seconds, one when it ends."""

    def __init__(self, iterable: Any = None, desc: str = "", total: int | None = None, unit: str = "it",
                 file: Any = None, **_: Any) -> None:
        self.iterable, self.desc, self.unit = iterable, desc, unit
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.file = file
        self.n, self.postfix, self.closed, self.shown = 0, "", False, -1
        self.start = self.last = time.monotonic()
        self._line()

    def __iter__(self) -> Iterator[Any]:
        for item in self.iterable:
            yield item
            self.update()
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.monotonic() - self.last >= PLAIN_EVERY_S:
            self._line()

    def set_postfix(self, refresh: bool = True, **values: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.shown != self.n:
                self._line()

    def _line(self) -> None:
        self.last, self.shown = time.monotonic(), self.n
        elapsed = self.last - self.start
        text = tqdm.format_meter(self.n, self.total, elapsed, prefix=self.desc, unit=self.unit,
                                 bar_format=PLAIN_FORMAT if self.total else PLAIN_OPEN_FORMAT)
        postfix = f" ({self.postfix})" if self.postfix else ""
        print(text + postfix, file=self.file if self.file is not None else sys.stderr, flush=True)


def progress_bar(iterable: Any = None, disable: bool = False, **kwargs: Any) -> Any:
    """``tqdm(iterable, **kwargs)`` on a terminal, ``PlainProgress`` elsewhere; silent with ``disable``."""
    if disable:
        return tqdm(iterable, disable=True, **kwargs)
    if on_terminal(kwargs.get("file")):
        return tqdm(iterable, **kwargs)
    return PlainProgress(iterable, **kwargs)


def status(message: str) -> None:
    """One line on stderr about slow work without a bar (``mouse-rsa: <message>``)."""
    print(f"mouse-rsa: {message}", file=sys.stderr, flush=True)
