"""What a caller holds to watch and stop a long library call: a `Cancel` to stop it from
any thread (the CLI sets one from its signal handlers; the library installs none), and the
progress events a callback receives."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ._codec import RestoreCounters


class Cancel:
    """Stops the backup, restore or verify it is given to, from any thread: it stops at
    once (within a fraction of a second), keeps what is written, and raises `Interrupted`
    (a backup's state is saved)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """Sleeps up to `timeout` seconds, waking when set; whether it is set."""
        return self._event.wait(timeout)


@dataclass(frozen=True)
class BackupProgress:
    """Where a backup is, about four times a second."""

    #: Records in the backup's files so far (a continued backup's earlier ones included).
    records: int
    #: `.asb` text written by this run.
    text_bytes: int
    #: Records the cluster holds for this backup (0: not known), for percent and ETA.
    estimate: int
    #: Records a continued backup's files held when it started.
    continued_from: int = 0
    #: Shards running now (a backup run on Dask; 0 otherwise).
    busy: int = 0


@dataclass(frozen=True)
class RestoreProgress:
    """Where a restore (or verify) is, about five times a second."""

    #: The record counters: read, expired, skipped, err_ignored, inserted, updated,
    #: existed, fresher, failed, retries, in_flight, same, missing, different, raw_bytes
    #: (backup bytes read).
    counts: RestoreCounters
    #: Bytes of the inputs in all (0: not known, stdin).
    total_bytes: int
    udfs: int = 0
    indexes: int = 0
    #: Pieces running now (a restore or verify run on Dask; 0 otherwise).
    busy: int = 0
