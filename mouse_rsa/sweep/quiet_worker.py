"""Dask preload of the local sweep's worker processes: Ctrl-C, and what is said about it, is the client's.

A terminal's Ctrl-C (and ``timeout -s INT``) signals the whole process group, workers included; a
worker that dies of it mid-task, or loses its scheduler while busy, logs tracebacks that say nothing
to the user. So workers ignore SIGINT (the client closes the cluster and says what was kept) and log
only critical events: a unit's failure reaches the user through the client's report, with its reason.
"""
from __future__ import annotations

import logging
import signal
import threading
from typing import Any


def dask_setup(worker: Any) -> None:
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
