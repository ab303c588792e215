"""A backup: a namespace of a live cluster into `.asb` files, as C `asbackup` writes them,
surviving node loss and continuing after any interruption.

Python decides what to scan where (partition map, retries, resume state); the Rust wire
layer scans each node's partitions straight into the output files. The jobs and their
retries are `asbkit.backing_up.jobs`', the index and UDF definitions `asbkit.cluster.metadata`'s,
`--estimate` `asbkit.backing_up.estimate`'s, the output's paths and clean-up
`asbkit.backing_up.target`'s, the state `asbkit.backing_up.state`'s.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import asbkit._codec as _codec

from .._codec import __version__
from ..cluster.client import Cluster, ClusterConfig, Hosts
from ..cluster.expressions import backup_filter, parse_backup_time
from ..cluster.metadata import cluster_metadata
from ..control import BackupProgress, Cancel
from ..errors import AsbError, BackupFailed, BackupOutputFailed, Interrupted, NamespaceNotFound, carrying_report
from ..io import places, s3
from ..io.layers import CodecLayers
from ..io.manifest import write_manifest
from ..spec import with_values
from . import state as state_file
from . import target
from .estimate import estimate_size
from .jobs import JobRunner, ScanJob, plan_jobs
from .options import BackupOptions, check_options, fingerprint
from .report import BackupFile, BackupReport

log = logging.getLogger("asbkit.backup")

TOOL = f"asbkit {__version__}"


def backup(
    cluster: ClusterConfig | Hosts,
    options: BackupOptions | None = None,
    *,
    on_progress: Callable[[BackupProgress], None] | None = None,
    cancel: Cancel | None = None,
    _sample: bool = False,
    **option_values: Any,
) -> BackupReport:
    """Backs up a namespace; returns the report of the finished backup.

    `cluster`: a ClusterConfig, or hosts (`"h1:3000,h2"` or [("h1", 3000)]).
    `options`: BackupOptions, or their values as keywords (`namespace="test",
    directory="/backups/test"`; keywords also override `options`' values).
    `on_progress` gets a BackupProgress about four times a second; `cancel` stops the
    backup from any thread (its state is saved: continue with `continue_from`). No signal
    handler is installed.

    Raises AsbError subclasses (BadOption, ClusterUnreachable, NamespaceNotFound,
    OutputExists, Interrupted, BackupFailed, …) or OSError, each carrying the report so far
    as `.report` (its `state_file` says where to continue from, when it can be)."""
    config = ClusterConfig.of(cluster)
    o = with_values(BackupOptions, options, option_values)
    report = BackupReport(namespace=o.namespace)
    started = time.monotonic()
    with carrying_report(report, on_error=lambda: _finish(report, started, say=not _sample)):
        check_options(o)
        if o.remove_artifacts:
            set_up_store(o)
            removed = target.remove_artifacts(o)
            log.info("removed %d file(s)", len(removed))
            return report
        if o.estimate:
            report.estimate = estimate_size(config, o, lambda sample: backup(config, sample, _sample=True))
            return report
        log.info("%s", _starting_line(config, o))
        set_up_store(o)
        saved = _continuation(o)
        # Refused before connecting, created only once the cluster answered (as asbackup:
        # a backup that cannot connect leaves nothing behind, and removes nothing).
        target.check_output_place(o, resuming=saved is not None)
        connected = Cluster(config)
        try:
            run = BackupRun(connected, o, saved, report)
            run.drive(on_progress, cancel)
            run.conclude()
        finally:
            connected.close()
    _finish(report, started, say=not _sample and not o.remove_artifacts and not o.estimate, finished=True)
    return report


def _finish(report: BackupReport, started: float, say: bool, finished: bool = False) -> None:
    """asbackup's last line, which operators' scripts parse (not said when nothing was
    written: a failure before the first file gives only its error)."""
    report.duration_seconds = time.monotonic() - started
    if say and (finished or report.started()):
        log.info("%s", report.summary_line())


def _c_time(text: str | None) -> str:
    """-a/-b as asbackup says them (UTC; the epoch when not given)."""
    ns = parse_backup_time(text) if text else 0
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ns // 1_000_000_000))


def _starting_line(config: ClusterConfig, o: BackupOptions) -> str:
    """asbackup's first log line."""
    to = "[stdout]" if o.output_file == "-" else o.output_file or o.directory or "[none]"
    return (
        f"Starting backup of {o.node_list or config.describe()} (namespace: {o.namespace}, "
        f"set: [{', '.join(o.sets) if o.sets else 'all'}], bins: {','.join(o.bin_list) if o.bin_list else '[all]'}, "
        f"after: {_c_time(o.modified_after)}, before: {_c_time(o.modified_before)}, "
        f"no ttl only: {'true' if o.no_ttl_only else 'false'}, limit: {o.max_records}) to {to}"
    )


def set_up_store(o: BackupOptions) -> None:
    """Object storage, when a place of the backup is a URL: the store set up from the S3
    options (part size from --file-limit, as asbackup sizes it), each URL checked."""
    urls = [(flag, v) for flag, v in (("-d/--directory", o.directory), ("-o/--output-file", o.output_file), ("-c/--continue", o.continue_from), ("--state-file-dst", o.state_file_dst)) if v and places.is_url(v)]
    if not urls:
        return
    for flag, url in urls:
        target.check_remote_url(url, flag)
    s3.configure(o.s3, file_limit_mib=o.file_limit)


def _continuation(o: BackupOptions) -> dict[str, Any] | None:
    """The saved state `-c` names, checked against the options now (None without `-c`)."""
    if not o.continue_from:
        return None
    state = state_file.load_state(o.continue_from)
    check_same_options(state, o, o.continue_from)
    return state


def check_same_options(saved: dict[str, Any], o: BackupOptions, path: str) -> None:
    """A saved state (namespace, arguments, layers) against the options now: BackupFailed
    naming what changed."""
    now = fingerprint(o)
    if saved["namespace"] != o.namespace or saved["arguments"] != now:
        changed = sorted(k for k in set(saved["arguments"]) | set(now) if saved["arguments"].get(k) != now.get(k))
        raise BackupFailed(
            "the options differ from those of the interrupted backup"
            + (f" ({', '.join(changed)})" if changed else "")
            + ": continue with the same arguments",
            path=path,
        )
    if saved["layers"] != o.layers.describe():
        raise BackupFailed(
            f"the interrupted backup was written {saved['layers']}, not {o.layers.describe()}: give the same -z/-y options",
            path=path,
        )


@dataclass(frozen=True)
class OutputSettings:
    """What every kind of backup output takes (`_codec.BackupOutput`): the namespace of the
    files' headers, whether the first file is marked first, the -N cap in bytes/s (0: none),
    the layers, and the file entries of a saved state to continue."""

    namespace: str
    first_file: bool
    bytes_per_second: int
    layers: CodecLayers
    resume: list[_codec.FileStats] | None


class BackupRun:
    """One backup on a connected cluster: plan (jobs, output, checkpoint, metadata), drive
    the jobs while saving the state, then conclude (manifest, or the state to continue)."""

    def __init__(self, cluster: Cluster, o: BackupOptions, state: dict[str, Any] | None, report: BackupReport) -> None:
        self.o, self.state, self.report = o, state, report
        self.state_path = target.state_path(o)
        report.server_version = cluster.build()
        log.info("Processing %d node(s)", len(cluster.nodes()))
        namespaces = cluster.namespaces()
        if o.namespace not in namespaces:
            raise NamespaceNotFound(
                f"namespace {o.namespace!r} is not on the cluster (it has: {', '.join(namespaces) or 'none'}); check -n/--namespace"
            )
        jobs, after = plan_jobs(cluster, o)
        target.prepare_output_place(o, resuming=state is not None)
        self.kind = "directory" if o.directory else "stdout" if o.output_file == "-" else "file"
        self.path = o.directory or (o.output_file if self.kind == "file" else None)
        settings = OutputSettings(
            namespace=o.namespace, first_file=True, bytes_per_second=int(o.nice * (1 << 20)),
            layers=o.layers.codec_args(), resume=state["files"] if state else None,
        )
        if o.directory:
            self.output = _codec.BackupOutput.directory(o.directory, o.output_file_prefix or o.namespace, o.file_limit << 20, settings)
        elif self.kind == "file" and o.output_file:
            self.output = _codec.BackupOutput.file(o.output_file, settings)
        else:
            self.output = _codec.BackupOutput.stdout(settings)
        if state:
            jobs = self._continued_jobs(jobs)
            target.drop_uncommitted_files(o, state)
            saved = state["partitions"]
            report.indexes, report.udfs = state["indexes"], state["udfs"]
        else:
            saved = [_codec.PartitionProgress(pid, d, 0, False) for pid, d in after.items()]
        self.ckpt = _codec.BackupCheckpoint(saved)
        self.jobs = jobs
        remote = places.is_url(self.path or "")
        commit_bytes = s3.part_size(o.s3, o.file_limit) if remote else 32 << 20
        self.runner = JobRunner(cluster, o, self.output, self.ckpt, _filter_expression(o), first_file_job=state is None, jobs=jobs, commit_bytes=commit_bytes)
        if state is None:
            indexes, udfs = cluster_metadata(cluster, o.namespace, o.sets, indexes=not o.no_indexes, udfs=not o.no_udfs)
            self.runner.metadata = indexes + udfs
            report.indexes, report.udfs = len(indexes), len(udfs)
            if not o.no_udfs:
                log.info("Backing up %d UDF file(s)", len(udfs))
        self.estimate = 0
        if not o.no_records:
            counts = cluster.object_counts(o.namespace, o.sets or None)
            # asbackup's node table and count, which operators read.
            log.info("%-20s%-15s%-15s", "Node ID", "Objects", "Replication")
            for node, objects, _, rf in counts:
                log.info("%-20s%-15d%-15d", node.name, objects, rf)
            self.estimate = cluster.record_estimate(o.namespace, o.sets or None, counts)
            if o.sets:
                many = len(o.sets) != 1
                log.info("Set%s %s contain%s %d record(s)", "s" if many else "", ",".join(o.sets), "" if many else "s", self.estimate)
            else:
                log.info("Namespace %s contains %d record(s)", o.namespace, self.estimate)
        self.already = sum(f.records for f in state["files"]) if state else 0
        self.failed: BaseException | None = None
        self.cancelled = False
        #: Jobs that read all their partitions (a signal after the last record still
        #: leaves a finished backup).
        self.finished_jobs = 0

    def _continued_jobs(self, planned: list[ScanJob]) -> list[ScanJob]:
        """The interrupted backup's jobs (-l ownership may have moved since), with what is
        left of --max-records."""
        state, o = self.state or {}, self.o
        jobs = planned
        if state.get("jobs"):
            jobs = [ScanJob(i, pids, planned[0].quota if planned else 0) for i, pids in enumerate(state["jobs"])]
        if o.max_records:
            left = max(0, o.max_records - sum(f.records for f in state["files"]))
            if not left:
                return []
            for j in jobs:
                j.quota = -(-left // len(jobs))
        return jobs

    def save_state(self) -> None:
        if self.state_path is None:
            return
        o = self.o
        parts, files = self.ckpt.snapshot(self.output)
        state_file.save_state(
            self.state_path, namespace=o.namespace,
            target={"kind": self.kind, "path": self.path, "prefix": o.output_file_prefix},
            layers=o.layers.describe(), arguments=fingerprint(o),
            partitions=parts, files=list(files), indexes=self.report.indexes, udfs=self.report.udfs, tool=TOOL,
            jobs=[j.pids for j in self.jobs],
        )
        # Objects sealed since the last state are listed in this one (with what completes
        # them): only now may they be made whole.
        self.output.complete_sealed()

    def drive(self, on_progress: Callable[[BackupProgress], None] | None, cancel: Cancel | None) -> None:
        """Runs the jobs, reporting progress and saving the state; `cancel` stops every
        scan at once (a read in progress wakes to see it)."""
        # Stdout cannot be cut back: a state is saved only when the run stops with every
        # byte it wrote counted, and the one continued from is used up once bytes flow (a
        # run killed outright leaves none, rather than one that would repeat records).
        periodic = self.state_path is not None and self.kind != "stdout"
        if self.kind == "stdout" and self.o.continue_from and places.exists(self.o.continue_from):
            places.remove(self.o.continue_from)
            log.info("continuing on stdout from %s (removed: an interruption saves a new state)", self.o.continue_from)
        with ThreadPoolExecutor(max_workers=max(1, len(self.jobs)), thread_name_prefix="backup") as pool:
            pending = {pool.submit(self.runner.run, j) for j in self.jobs}
            last_save = time.monotonic()
            while pending:
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_EXCEPTION)
                for f in done:
                    if f.exception() is not None:
                        if self.failed is None:
                            self.failed = f.exception()
                            self.ckpt.cancel()
                    elif f.result():
                        self.finished_jobs += 1
                if cancel is not None and cancel.is_set() and not self.cancelled:
                    self.cancelled = True
                    self.ckpt.cancel()
                if on_progress is not None:
                    records, text_bytes = self.ckpt.counters()
                    on_progress(BackupProgress(self.already + records, text_bytes, self.estimate, self.already))
                if periodic and time.monotonic() - last_save >= self.o.checkpoint_seconds:
                    self.save_state()
                    last_save = time.monotonic()

    def conclude(self) -> None:
        """The manifest of a finished backup; the state of one that stopped (raised)."""
        o, report = self.o, self.report
        if self.failed is not None or self.finished_jobs < len(self.jobs):
            self._stopped()
        if self.cancelled:
            log.info("the stop request came after the last record: the backup is complete")
        files = self.output.finish()
        fill_from_files(report, files)
        manifest = target.manifest_path(o)
        if manifest:
            write_manifest(
                manifest, namespace=o.namespace, files=list(files), options=fingerprint(o),
                server=report.server_version, tool=TOOL, indexes=report.indexes, udfs=report.udfs,
                layers=o.layers.describe(),
            )
            report.manifest = manifest
        for stale in {o.continue_from, self.state_path} - {None}:
            if stale and places.exists(stale):
                places.remove(stale)

    def _stopped(self) -> None:
        """Interrupted or failed: saves the state to continue from (unless writing failed)
        and raises why it stopped."""
        report, failed = self.report, self.failed
        # A local file that failed may be cut short anywhere; an object's parts that went
        # up stay whole, and the state counts only those: it can be continued from.
        if self.state_path and (not isinstance(failed, BackupOutputFailed) or places.is_url(self.path or "")):
            self.save_state()
            report.state_file = self.state_path
            log.info("Created backup state file %s", self.state_path)
        report.interrupted = True
        fill_from_files(report, self.output.files())
        if failed is None and report.state_file:
            log.info(
                "Backup was interrupted, to resume, run backup with `--continue %s` and all the same arguments (except --remove-files)",
                self.state_path,
            )
        if failed is None:
            raise Interrupted(
                "the backup was interrupted"
                + (f"; to go on, run the same command with -c {self.state_path}" if report.state_file else "")
            )
        if isinstance(failed, BackupOutputFailed) and self.kind == "stdout":
            failed.message += "; stdout's reader may hold a record cut short, so this backup cannot be continued: run it again from the start"
        if isinstance(failed, AsbError):
            if report.state_file and "continue" not in failed.message:
                failed.message += f"; the state is saved: continue with -c {self.state_path}"
            raise failed
        raise failed


def _filter_expression(o: BackupOptions) -> bytes | None:
    """`-f` as given, or the expression asbackup builds for -a/-b, --no-ttl-only and sets."""
    if o.filter_exp:
        return base64.b64decode(o.filter_exp)
    return backup_filter(
        parse_backup_time(o.modified_after) if o.modified_after else None,
        parse_backup_time(o.modified_before) if o.modified_before else None,
        o.no_ttl_only,
        o.sets,
    )


def fill_from_files(report: BackupReport, files: list[_codec.FileStats]) -> None:
    report.files = [BackupFile(f.name, f.records, f.bytes, f.sha256.hex() if f.sha256 else None) for f in files]
    report.records = sum(f.records for f in files)
    report.bytes = sum(f.bytes for f in files)
    report.text_bytes = sum(f.text_bytes for f in files)


