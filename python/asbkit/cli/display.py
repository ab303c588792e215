"""What the CLI shows while a command runs: a progress bar for the file commands, a live
display (rich) for backup and restore on a terminal or the C tools' progress log lines
otherwise, and the C tools' machine lines (`-m`). The library reports progress through
callbacks; this turns them into text."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

from ..control import BackupProgress, RestoreCounters, RestoreProgress


class Progress:
    """A progress line on stderr when it is a terminal; silent otherwise. `update` takes
    the bytes read so far (all files)."""

    def __init__(self, total_bytes: int | None, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = total_bytes
        self.start = time.monotonic()
        self._last = 0.0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
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


def c_eta(seconds: float) -> str:
    """A time left as the C tools write it: `1h2m3s`, `45s`, `>100d`."""
    seconds = int(seconds)
    if seconds > 100 * 86400:
        return ">100d"
    seconds = max(seconds, 0)
    out, printed = "", False
    for div, label in ((86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        val = seconds // div
        if val == 0 and not printed and label != "s":
            continue
        seconds -= val * div
        out += f"{val}{label}"
        printed = True
    return out


class MachineLines:
    """The C tools' machine-readable lines (`-m/--machine PATH`: a file, appended to, or a
    FIFO): `PROGRESS:<percent>` and `REMAINING:<eta>` about every second, `SUMMARY:…` at
    the end."""

    EVERY = 1.0

    def __init__(self, path: str) -> None:
        self.path = path
        self.file = open(path, "a", buffering=1, encoding="utf-8")
        self._last = (time.monotonic(), 0)

    def progress(self, done: int, total: int) -> None:
        """`done` of `total` units (records, bytes); the ETA from the rate since last time."""
        now = time.monotonic()
        t0, d0 = self._last
        if now - t0 < self.EVERY or total <= 0:
            return
        self.file.write(f"PROGRESS:{done * 100 // total}\n")
        if done > d0:
            self.file.write(f"REMAINING:{c_eta((total - done) * (now - t0) / (done - d0))}\n")
        self._last = (now, done)

    def summary(self, *fields: object) -> None:
        self.file.write("SUMMARY:" + ":".join(str(f) for f in fields) + "\n")

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> MachineLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _live_bar(stream: TextIO, extra: str, total: int, **fields: Any) -> tuple[Any, Any]:
    """A started rich display: records, bar, percent, rate and `extra`, time left."""
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    bar = RichProgress(
        TextColumn("{task.fields[records]:>12,} records"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[rate]:>9,.0f} rec/s  " + extra),
        TimeRemainingColumn(),
        console=Console(file=stream),
        transient=True,
    )
    bar.start()
    return bar, bar.add_task("", total=total, **fields)


class _RunDisplay:
    """What a backup's and a restore's displays share: a live display (rich) on a terminal,
    the C tool's periodic log lines otherwise (after a second, then every ten), and the
    machine lines when asked for; the first progress event sets it up."""

    LOG_EVERY = 10.0
    FIRST_LOG = 1.0

    def __init__(self, logger: str, enabled: bool | None, stream: TextIO | None, machine: MachineLines | None) -> None:
        self.machine = machine
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if enabled is None else enabled
        self.start = time.monotonic()
        self._log = logging.getLogger(logger)
        self._last_log = self.start - self.LOG_EVERY + self.FIRST_LOG
        #: (time, records, bytes) at the last log line, for the rates between lines.
        self._last = (self.start, 0, 0)
        self._bar: object = None
        self._started = False
        #: Shards or pieces running now (a run on Dask).
        self.busy = 0

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()  # type: ignore[attr-defined]


class BackupDisplay(_RunDisplay):
    """Records, records/s, MB/s, percent of the estimate and ETA, fed with the backup's
    progress events (`update`)."""

    def __init__(self, enabled: bool | None = None, stream: TextIO | None = None, machine: MachineLines | None = None) -> None:
        super().__init__("asbkit.backup", enabled, stream, machine)
        self.estimate = 0
        self.already = 0

    def _begin(self, event: BackupProgress) -> None:
        self._started = True
        self.estimate, self.already = event.estimate, event.continued_from
        self._last = (self.start, event.continued_from, 0)
        if self.live:
            # A run on Dask also shows its shards running now.
            extra = "{task.fields[mbs]:>6.1f} MB/s" + ("  {task.fields[busy]:>3} shards running" if event.busy else "")
            self._bar, self._task = _live_bar(self.stream, extra, max(self.estimate, 1), records=self.already, rate=0.0, mbs=0.0, busy=event.busy)

    def __call__(self, event: BackupProgress) -> None:
        if not self._started:
            self._begin(event)
        self.busy = event.busy
        self.update(event.records, event.text_bytes)

    def update(self, records: int, text_bytes: int) -> None:
        if self.machine is not None:
            self.machine.progress(records, self.estimate)
        now = time.monotonic()
        elapsed = max(now - self.start, 1e-9)
        rate = (records - self.already) / elapsed
        if self._bar is not None:
            self._bar.update(self._task, completed=min(records, self.estimate or records), records=records, rate=rate, mbs=text_bytes / elapsed / 1e6, busy=self.busy)  # type: ignore[attr-defined]
            return
        if now - self._last_log < self.LOG_EVERY or not self.estimate:
            return
        t0, r0, b0 = self._last
        dt = max(now - t0, 1e-9)
        recs, nbytes = records - r0, text_bytes - b0
        percent = min(99, records * 100 // self.estimate)
        self._log.info(
            "%d%% complete (~%d KiB/s, ~%d rec/s, ~%d B/rec)", percent, nbytes / 1024 / dt, recs / dt, nbytes // recs if recs else 0
        )
        if recs:
            self._log.info("~%s remaining", c_eta(max(self.estimate - records, 0) / (recs / dt)))
        self._last = (now, records, text_bytes)
        self._last_log = now


class RestoreDisplay(_RunDisplay):
    """Records read and written, rate, percent of the input and ETA, fed with the
    restore's progress events; asrestore's counter lines when not live."""

    def __init__(self, enabled: bool | None = None, stream: TextIO | None = None, machine: MachineLines | None = None) -> None:
        super().__init__("asbkit.restore", enabled, stream, machine)
        self.total = 0

    def __call__(self, event: RestoreProgress) -> None:
        if not self._started:
            self._started = True
            self.total = event.total_bytes
            if self.live:
                # A run on Dask also shows its pieces running now.
                extra = "{task.fields[failed]} failed" + ("  {task.fields[busy]:>3} pieces running" if event.busy else "")
                self._bar, self._task = _live_bar(self.stream, extra, max(self.total, 1), records=0, rate=0.0, failed=0, busy=event.busy)
        self.busy = event.busy
        self.update(event.counts, event.udfs, event.indexes)

    def update(self, c: RestoreCounters, udfs: int = 0, indexes: int = 0) -> None:
        if self.machine is not None:
            self.machine.progress(c.raw_bytes, self.total)
        now = time.monotonic()
        elapsed = max(now - self.start, 1e-9)
        rate = c.read / elapsed
        if self._bar is not None:
            self._bar.update(self._task, completed=min(c.raw_bytes, self.total or c.raw_bytes), records=c.read, rate=rate, failed=c.failed, busy=self.busy)  # type: ignore[attr-defined]
            return
        if now - self._last_log < self.LOG_EVERY:
            return
        self._last_log = now
        t0, r0, b0 = self._last
        dt = max(now - t0, 1e-9)
        recs, nbytes = c.read - r0, c.raw_bytes - b0
        self._last = (now, c.read, c.raw_bytes)
        from ..restoring.report import restore_counter_lines  # the restore's words, with the restore

        for line in restore_counter_lines(c, udfs, indexes, recs / dt, nbytes / 1024 / dt, nbytes // recs if recs else 0):
            self._log.info("%s", line)
        if self.total and nbytes > 0:
            percent = c.raw_bytes * 100 // self.total
            self._log.info("%d%% complete, ~%s remaining", percent, c_eta(max(self.total - c.raw_bytes, 0) * dt / nbytes))

