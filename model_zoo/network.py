"""Whether a download host answers, decided in seconds (one try, no retries), before any download starts.

Offline, urllib and the hub clients retry or wait on timeouts; probing first turns "not cached and
no network" into one line at once. A configured proxy (``https_proxy``, ...) is probed instead of
the host. An answer is remembered for a few minutes.
"""
from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlparse

PROBE_TIMEOUT_S = 3.0
REMEMBER_S = 300.0
_answers: dict[tuple[str, int], tuple[float, bool]] = {}
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE",)  # the hub's own switch; set, nothing is downloaded


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


def reachable(url: str, offline_variables: tuple[str, ...] = ()) -> bool:
    """Whether the host of ``url`` (or the proxy for it) accepts a connection within ``PROBE_TIMEOUT_S``."""
    if any(_truthy(os.environ.get(v)) for v in offline_variables):
        return False
    parsed = urlparse(url)
    host, port = parsed.hostname or "", parsed.port or (443 if parsed.scheme != "http" else 80)
    proxy = urllib.request.getproxies().get(parsed.scheme or "https")
    if proxy and not urllib.request.proxy_bypass(host):
        via = urlparse(proxy if "://" in proxy else f"http://{proxy}")
        host, port = via.hostname or "", via.port or 80
    return _connects(host, port)


def _connects(host: str, port: int) -> bool:
    """Whether ``host:port`` accepts a connection; the answer is kept ``REMEMBER_S`` seconds, so that a run
    over many models behind a firewall that drops packets waits once, not once per model."""
    now = time.monotonic()
    known = _answers.get((host, port))
    if known is None or now - known[0] > REMEMBER_S:
        try:
            with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
                answered = True
        except OSError:
            answered = False
        known = _answers[host, port] = (now, answered)
    return known[1]


@contextlib.contextmanager
def downloads_to_stderr() -> Iterator[None]:
    """Send what a download prints to stdout (torch.hub's ``Downloading: "https://..."``) to stderr,
    so that stdout holds only the command's own output."""
    with contextlib.redirect_stdout(sys.stderr):
        yield
