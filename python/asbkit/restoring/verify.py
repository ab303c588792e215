"""Verify: does the cluster hold what the backup holds? Every record of the
backup is read back by digest (batch reads over the Rust wire layer, raw particles) and its
bins compared with the backup's as values (`asb-wire/src/verify.rs`): scalars and lists byte
for byte, key-ordered maps in order, unordered maps by their entries, GeoJSON as its text. Reads the same inputs, layers, namespace map and filters as `restore`,
so it checks a restore made with them."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..cluster.client import Cluster, ClusterConfig, Hosts
from ..control import Cancel, RestoreProgress
from ..errors import Interrupted, RecordsFailed, carrying_report, first_of
from ..spec import with_values
from .driver import RestoreDriver
from .options import RestoreOptions, prepare
from .report import NamedRecord, take_counts

log = logging.getLogger("asbkit.verify")


@dataclass
class Difference(NamedRecord):
    """A record not on the cluster as in the backup, and how."""

    digest: str
    what: str
    set: str | None = None
    key: str | None = None


@dataclass
class VerifyReport:
    server_version: str | None = None
    namespace: str | None = None
    files: list[str] = field(default_factory=list)
    records_read: int = 0
    same: int = 0
    missing: int = 0
    different: int = 0
    expired: int = 0
    skipped: int = 0
    #: Records that could not be read back (after --max-retries).
    unreadable: int = 0
    retries: int = 0
    duration_seconds: float = 0.0
    #: The first records missing or different, with how.
    differences: list[Difference] = field(default_factory=list)

    @property
    def findings(self) -> int:
        """Records missing or different: the cluster does not hold the backup."""
        return self.missing + self.different


def verify(
    cluster: ClusterConfig | Hosts,
    options: RestoreOptions | None = None,
    *,
    max_differences: int = 20,
    on_progress: Callable[[RestoreProgress], None] | None = None,
    cancel: Cancel | None = None,
    **option_values: Any,
) -> VerifyReport:
    """Compares the cluster with a backup (read with the options a restore of it took);
    the report counts records the same, missing and different (`report.findings`: the
    cluster does not hold the backup), with the first `max_differences` of them.

    Raises, with the report so far as `.report`, when it cannot finish: the options, the
    inputs, the cluster, a stop request (Interrupted), records that could not be read back
    (RecordsFailed)."""
    config = ClusterConfig.of(cluster)
    o = with_values(RestoreOptions, options, option_values)
    report = VerifyReport()
    started = time.monotonic()
    with carrying_report(report):
        files, namespaces = prepare(o, report)
        connected = Cluster(config)
        try:
            run = RestoreDriver(connected, o, files, namespaces, report, verify=True)
            run.drive(on_progress, cancel)
        finally:
            connected.close()
    c = run.counters()
    report.namespace = run.namespace
    take_counts(report, c, failed="unreadable")
    report.differences = [
        Difference(base64.b64encode(f.digest).decode(), f.message, f.set, f.key) for f in run.rust.failures()[:max_differences]
    ]
    report.duration_seconds = time.monotonic() - started
    errors = run.stopped_by()
    if run.interrupted and not errors:
        errors.append(Interrupted("the verify was interrupted"))
    if report.unreadable and not errors:
        errors.append(RecordsFailed(f"{report.unreadable} record(s) could not be read back after {o.max_retries} retries"))
    if errors:
        raise first_of(errors, report)
    return report
