"""Ctrl-C and SIGTERM, turned into a stop request (`asbkit.Cancel`) for the library call
that runs meanwhile: the library installs no signal handler of its own."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..control import Cancel


@contextmanager
def stop_on_signals() -> Iterator[Cancel]:
    """A Cancel that SIGINT and SIGTERM set while the block runs (in the main thread; the
    handlers before it are put back after)."""
    cancel = Cancel()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def on_signal(signum: int, frame: Any) -> None:
        cancel.set()

    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield cancel
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
