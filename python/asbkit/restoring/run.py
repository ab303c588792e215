"""A restore: backup files (from asbkit, C asbackup or absctl) written into a live cluster
with asrestore's policies, each record to its partition's master, counted by outcome so
that none goes missing unsaid.

The checks before the first write and the partition map are `asbkit.restoring.driver`'s
(which `verify` shares); the Rust wire layer reads the files and writes the records
(`asb_wire::restore`)."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from typing import Any

from ..cluster.client import Cluster, ClusterConfig, Hosts
from ..control import Cancel, RestoreProgress
from ..errors import AsbError, Interrupted, RecordsFailed, carrying_report, first_of
from ..spec import with_values
from .driver import RestoreDriver
from .options import RestoreOptions, prepare
from .report import Failure, RestoreReport, take_counts

log = logging.getLogger("asbkit.restore")


def restore(
    cluster: ClusterConfig | Hosts,
    options: RestoreOptions | None = None,
    *,
    on_progress: Callable[[RestoreProgress], None] | None = None,
    cancel: Cancel | None = None,
    **option_values: Any,
) -> RestoreReport:
    """Restores a backup; returns its report (every record read counted by outcome).

    `cluster`: a ClusterConfig, or hosts (`"h1:3000,h2"` or [("h1", 3000)]).
    `options`: RestoreOptions, or their values as keywords (`directory="/backups/test"`;
    keywords also override `options`' values). `on_progress` gets a RestoreProgress
    about five times a second; `cancel` stops the restore from any thread. No signal
    handler is installed.

    Raises AsbError subclasses (BadOption, InputUnreadable, BadInput, ClusterUnreachable,
    NamespaceNotFound, Interrupted, RecordsFailed for records not written after the
    retries, …) or OSError, each carrying the report so far as `.report`."""
    config = ClusterConfig.of(cluster)
    o = with_values(RestoreOptions, options, option_values)
    report = RestoreReport()
    started = time.monotonic()
    source = "[stdin]" if o.input_file and o.input_file.startswith("-") else o.input_file or o.directory or ",".join(o.directory_list)
    log.info(
        "Starting restore to %s (bins: %s, sets: %s) from %s",
        config.describe(), ",".join(o.bin_list) or "[all]", ",".join(o.sets) or "[all]", source,
    )
    with carrying_report(report, on_error=lambda: setattr(report, "duration_seconds", time.monotonic() - started)):
        files, namespaces = prepare(o, report)
        connected = Cluster(config)
        try:
            run = RestoreDriver(connected, o, files, namespaces, report)
            run.drive(on_progress, cancel)
            errors = _conclude(run, started)
        finally:
            connected.close()
    _say_counters(report, ok=not errors)
    if errors:
        raise first_of(errors, report)
    return report


def _say_counters(r: RestoreReport, ok: bool) -> None:
    """asrestore's closing counters, which operators' scripts parse (not said when the
    restore failed before its first write)."""
    if r.server_version is not None and (ok or r.started()):
        for line in r.asrestore_lines():
            log.info("%s", line)


def _conclude(run: RestoreDriver, started: float) -> list[AsbError]:
    """Fills the report from the run's counters; the errors that stopped it, if any."""
    r, c = run.report, run.counters()
    take_counts(r, c)
    r.total_bytes = run.total_bytes
    settled = r.expired + r.skipped + r.err_ignored + r.inserted + r.updated + r.existed + r.fresher + r.failed
    r.not_written = max(0, r.records_read - settled)
    m = run.metadata.counts
    r.udfs, r.indexes_created, r.indexes_matched, r.indexes_replaced, r.indexes_skipped = (
        m.udfs, m.indexes_created, m.indexes_matched, m.indexes_replaced, m.indexes_skipped,
    )
    r.failures = [
        Failure(base64.b64encode(f.digest).decode(), f.result_code, f.message, f.set, f.key) for f in run.rust.failures()
    ]
    r.duration_seconds = time.monotonic() - started
    errors = run.stopped_by()
    if run.interrupted and not errors:
        r.interrupted = True
        errors.append(Interrupted(f"the restore was interrupted; {r.not_written} record(s) read were not written"))
    if r.failed and not errors:
        first = r.failures[0] if r.failures else None
        errors.append(RecordsFailed(
            f"{r.failed} record(s) could not be written after {run.o.max_retries} retries"
            + (f" (first: digest {first.where()}: {first.message})" if first else "")
            + "; --max-retries and --retry-scale-factor allow more patience"
        ))
    return errors
