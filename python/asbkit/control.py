"""What a caller holds to watch and stop a long library call: a `Cancel` to stop it from
any thread (the CLI sets one from its signal handlers; the library installs none), and the
progress events a callback receives."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, fields


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
class RestoreCounters:
    """A restore's (or verify's) record counters at one moment: records read, and by
    outcome. The names are the Rust restore's own (`asb_wire::restore::counters!`)."""

    read: int = 0
    expired: int = 0
    skipped: int = 0
    err_ignored: int = 0
    inserted: int = 0
    updated: int = 0
    existed: int = 0
    fresher: int = 0
    failed: int = 0
    retries: int = 0
    batches: int = 0
    #: verify: on the cluster as in the backup, absent, or with other bins.
    same: int = 0
    missing: int = 0
    different: int = 0
    #: Records handed to the writers and not yet settled.
    in_flight: int = 0
    #: Backup bytes read (before the layers are taken off).
    raw_bytes: int = 0

    @classmethod
    def of(cls, named: Iterable[tuple[str, int]]) -> RestoreCounters:
        """From (name, value) pairs, as `_codec.RestoreRun.counters()` gives them."""
        return cls(**dict(named))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


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

    counts: RestoreCounters
    #: Bytes of the inputs in all (0: not known, stdin).
    total_bytes: int
    udfs: int = 0
    indexes: int = 0
    #: Pieces running now (a restore or verify run on Dask; 0 otherwise).
    busy: int = 0
