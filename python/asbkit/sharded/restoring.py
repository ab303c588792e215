"""A restore (or verify) run on a Dask cluster: the backup's files spread over the workers,
one task a file (a big plain file cut into pieces at record boundaries proven by reading it
once here), the biggest first, each running the single-host restore on its piece;
the counters and failures summed into one report, said in asrestore's lines.

A worker lost mid-file has its task rerun by Dask on another worker: only the counters of
tasks that came back are summed, so a file's records count once (the rerun writes the
lost try's records again, which count as they find the cluster: with the default policy
as fresher, the generation being the same, with -u as existed).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import asbkit._codec as _codec

from ..cluster.client import ClusterConfig, Hosts
from ..control import Cancel, RestoreCounters, RestoreProgress
from ..errors import AsbError, BadOption, DaskFailed, Interrupted, RecordsFailed, RestoreFailed, carrying_report, first_of
from ..io import places
from ..restoring.options import RestoreOptions, check_options, prepare
from ..restoring.report import RestoreReport, counts_of
from ..restoring.run import restore as restore_one
from ..restoring.verify import VerifyReport
from ..restoring.verify import verify as verify_one
from ..spec import with_values
from . import engine

log = logging.getLogger("asbkit.restore")

#: The report fields summed over the pieces.
RESTORE_SUMS = ("records_read", "expired", "skipped", "err_ignored", "inserted", "updated", "existed", "fresher", "failed", "not_written", "retries",
                "udfs", "indexes_created", "indexes_matched", "indexes_replaced", "indexes_skipped", "bytes_read")
#: A big plain file is cut into pieces of about this many bytes, one task each.
PIECE_BYTES = 64 << 20
VERIFY_SUMS = ("records_read", "same", "missing", "different", "expired", "skipped", "unreadable", "retries")


@dataclass(frozen=True)
class PieceTask:
    run: str
    number: int
    config: ClusterConfig
    options: RestoreOptions
    verify: bool = False
    max_differences: int = 20


@dataclass
class PieceOutcome:
    number: int
    worker: str | None
    report: Any
    error_code: str | None = None
    error: str | None = None
    interrupted: bool = False


def run_piece(task: PieceTask) -> PieceOutcome:
    """Runs on a worker: restores (or verifies) the piece's files; never raises."""
    o = task.options
    worker = engine.worker_address()
    with engine.TaskChannel(task.run, task.number) as channel:

        def progress(p: RestoreProgress) -> None:
            channel.progress({"counts": asdict(p.counts), "udfs": p.udfs, "indexes": p.indexes})

        try:
            if task.verify:
                report: Any = verify_one(task.config, o, max_differences=task.max_differences, on_progress=progress, cancel=channel.cancel)
            else:
                report = restore_one(task.config, o, on_progress=progress, cancel=channel.cancel)
            outcome = PieceOutcome(task.number, worker, report)
        except (AsbError, OSError) as exc:
            outcome = PieceOutcome(task.number, worker, getattr(exc, "report", None) or _blank(task.verify), getattr(exc, "code", "io_error"), str(exc), isinstance(exc, Interrupted))
        channel.progress({"done": True, "counts": _counts_of(outcome.report, task.verify), "udfs": getattr(outcome.report, "udfs", 0), "indexes": getattr(outcome.report, "indexes", 0)}, force=True)
    return outcome


def _counts_of(report: Any, verify: bool) -> dict[str, int]:
    """A finished piece's counters, as a progress event carries them."""
    return asdict(counts_of(report, failed="unreadable") if verify else counts_of(report))


def restore(
    client: Any,
    cluster: ClusterConfig | Hosts,
    options: RestoreOptions | None = None,
    *,
    on_progress: Callable[[RestoreProgress], None] | None = None,
    cancel: Cancel | None = None,
    piece_bytes: int = PIECE_BYTES,
    **option_values: Any,
) -> RestoreReport:
    """`asbkit.restore` on a Dask cluster (`client`: a `distributed.Client`): the backup's
    files (a directory every worker mounts, or `s3://`) spread over the workers, one
    report. Raises as `asbkit.restore` does, and DaskFailed when the Dask cluster cannot
    run it."""
    report: RestoreReport = _run(client, cluster, options, option_values, on_progress, cancel, verify=False, max_differences=20, piece_bytes=piece_bytes)
    return report


def verify(
    client: Any,
    cluster: ClusterConfig | Hosts,
    options: RestoreOptions | None = None,
    *,
    max_differences: int = 20,
    on_progress: Callable[[RestoreProgress], None] | None = None,
    cancel: Cancel | None = None,
    piece_bytes: int = PIECE_BYTES,
    **option_values: Any,
) -> VerifyReport:
    """`asbkit.verify` on a Dask cluster: the backup's files spread over the workers, one
    report."""
    report: VerifyReport = _run(client, cluster, options, option_values, on_progress, cancel, verify=True, max_differences=max_differences, piece_bytes=piece_bytes)
    return report


def _run(
    client: Any, cluster: ClusterConfig | Hosts, options: RestoreOptions | None, values: dict[str, Any],
    on_progress: Callable[[RestoreProgress], None] | None, cancel: Cancel | None, *, verify: bool, max_differences: int, piece_bytes: int,
) -> Any:
    config = ClusterConfig.of(cluster)
    o = with_values(RestoreOptions, options, values)
    report: Any = _blank(verify)
    started = time.monotonic()
    with carrying_report(report, on_error=lambda: setattr(report, "duration_seconds", time.monotonic() - started)):
        check_options(o)
        if o.input_file and o.input_file.startswith("-"):
            raise BadOption("--dask reads files the workers reach, not stdin: give -d, -i FILE or --directory-list")
        files, _ = prepare(o, report)
        workers = engine.check_workers(client)
        sizes = {f: places.size(f) or 0 for f in files}
        pieces = _pieces(files, sizes, o, piece_bytes)
        log.info("%s %d file(s) in %d piece(s) on %d Dask worker(s)", "Verifying" if verify else "Restoring", len(files), len(pieces), len(workers))
        # -N's bandwidth and records/s bound the whole run: shared among the pieces read at once.
        at_once = max(1, min(len(pieces), sum(client.nthreads().values())))
        piece_o = dataclasses.replace(
            o, directory=None, input_file=None, directory_list=[], parent_directory=None,
            tps=max(1, o.tps // at_once) if o.tps else 0, bandwidth_mib=o.bandwidth_mib / at_once,
        )
        order = sorted(pieces, key=lambda p: -(p[1][1] - p[1][0] if p[1] else sizes[p[0]]))
        outcomes = _drive(client, config, piece_o, order, sum(sizes.values()), on_progress, cancel, verify, max_differences)
        _sum(report, outcomes, verify, max_differences)
        if not verify:
            report.total_bytes = sum(sizes.values())
    report.duration_seconds = time.monotonic() - started
    errors = [x for x in outcomes if x.error]
    if not verify and (report.started() or not errors):
        for line in report.asrestore_lines():
            log.info("%s", line)
    if errors:
        first = min(errors, key=lambda x: (x.interrupted, x.number))
        also = f" ({len(errors) - 1} other file(s) stopped too)" if len(errors) > 1 else ""
        cls: type[AsbError] = {"interrupted": Interrupted, "records_failed": RecordsFailed, "dask_failed": DaskFailed}.get(first.error_code or "", RestoreFailed)
        report.interrupted = all(x.interrupted for x in errors)
        raise first_of([cls(f"{_describe(order[first.number])}: {first.error}{also}" if not first.interrupted else f"the {'verify' if verify else 'restore'} was interrupted{also}")], report)
    return report


def _pieces(files: list[str], sizes: dict[str, int], o: RestoreOptions, piece_bytes: int) -> list[tuple[str, tuple[int, int] | None]]:
    """The files, a big plain local one cut into pieces of about `piece_bytes` at proven
    record boundaries (found by reading it here once): [(file, (start, stop) or None)]."""
    out: list[tuple[str, tuple[int, int] | None]] = []
    plain = o.layers.compress is None and o.layers.encrypt is None
    for f in files:
        cuts = _codec.proven_cuts(f, piece_bytes, threads=2) if plain and not places.is_url(f) and sizes[f] >= 2 * piece_bytes else []
        if not cuts:
            out.append((f, None))
            continue
        bounds = [0, *cuts, sizes[f]]
        out += [(f, (a, b)) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    return out


def _describe(piece: tuple[str, tuple[int, int] | None]) -> str:
    f, r = piece
    return f if r is None else f"{f} (bytes {r[0]:,} to {r[1]:,})"


def _drive(
    client: Any, config: ClusterConfig, o: RestoreOptions, files: list[tuple[str, tuple[int, int] | None]], total_bytes: int,
    on_progress: Callable[[RestoreProgress], None] | None, cancel: Cancel | None, verify: bool, max_differences: int,
) -> list[PieceOutcome]:
    events = engine.PieceEvents()
    what = "verify" if verify else "restore"

    def tick() -> None:
        pieces, busy = events.latest()
        if on_progress is not None and pieces:
            summed = {k: sum(p["counts"][k] for p in pieces) for k in RestoreCounters.names()}
            udfs, indexes = sum(p["udfs"] for p in pieces), sum(p["indexes"] for p in pieces)
            on_progress(RestoreProgress(RestoreCounters(**summed), total_bytes, udfs, indexes, busy=busy))

    with engine.driver_channel(client, events.event) as (run, stop):
        tasks = [
            (f"asbkit-{what}-{run}-piece-{i:05d}", PieceTask(run, i, config, dataclasses.replace(o, files=[f], file_ranges=[r]), verify, max_differences))
            for i, (f, r) in enumerate(files)
        ]
        # Records not written after the retries are counted, not a reason to stop the others.
        results = engine.run_tasks(
            client, run_piece, tasks, fails_run=lambda x: bool(x.error and not x.interrupted and x.error_code != "records_failed"),
            cancel=cancel, tick=tick, stop=stop,
        )
    return [
        r if isinstance(r, PieceOutcome) else PieceOutcome(i, None, _blank(verify), "dask_failed", f"every worker that ran it died ({type(r).__name__}: {r})")
        for i, r in enumerate(results)
    ]


def _blank(verify: bool) -> Any:
    """The report of a piece that gave none."""
    return VerifyReport() if verify else RestoreReport()


def _sum(report: Any, outcomes: list[PieceOutcome], verify: bool, max_differences: int) -> None:
    for name in VERIFY_SUMS if verify else RESTORE_SUMS:
        setattr(report, name, sum(getattr(x.report, name) for x in outcomes))
    reports = [x.report for x in sorted(outcomes, key=lambda x: x.number)]
    first = next((r for r in reports if r.server_version), None)
    if first is not None:
        report.server_version, report.namespace = first.server_version, first.namespace
    if verify:
        report.differences = [d for r in reports for d in r.differences][:max_differences]
    else:
        report.failures = [f for r in reports for f in r.failures]
