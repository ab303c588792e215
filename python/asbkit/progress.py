"""A progress line on stderr when it is a terminal; silent otherwise."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total_bytes: int | None, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = total_bytes
        self.done_before = 0  # bytes of files already finished
        self.start = time.monotonic()
        self._last = 0.0

    def file_done(self, size: int) -> None:
        self.done_before += size

    def update(self, current_file_bytes: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
        done = self.done_before + current_file_bytes
        rate = done / max(now - self.start, 1e-9) / 2**20
        if self.total:
            frac = min(done / self.total, 1.0)
            bar = "#" * int(frac * 30)
            line = f"\r[{bar:<30}] {frac * 100:5.1f}%  {done / 2**20:,.1f} MiB  {rate:,.0f} MiB/s"
        else:
            line = f"\r{done / 2**20:,.1f} MiB  {rate:,.0f} MiB/s"
        self.stream.write(line)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._last:
            self.stream.write("\r" + " " * 70 + "\r")
            self.stream.flush()


def total_size(sources: list[object]) -> int | None:
    """Bytes of all the files, or None when one is a stream or cannot be sized."""
    total = 0
    for s in sources:
        if not isinstance(s, (str, os.PathLike)) or str(s) == "-":
            return None
        try:
            total += os.path.getsize(s)
        except OSError:
            return None
    return total
