"""`asbkit backup`: a namespace of a live cluster into `.asb` files, as C `asbackup` writes
them, surviving node loss and continuing after any interruption.

Python decides what to scan where (partition map, retries, resume state); the Rust wire
layer scans each node's partitions straight into the output files. This module holds the
options, the report and the run of a backup (`backup`), and its command line; the scan jobs
and their retries are in `asbkit.scan_jobs`, the index and UDF definitions in
`asbkit.metadata`, `--estimate` in `asbkit.estimate`, the output's paths and clean-up in
`asbkit.backup_target`.
"""

from __future__ import annotations

import base64
import logging
import os
import signal
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from .. import _codec, __version__
from .. import backup_target, resume as resume_mod
from ..backup_target import remove_artifacts
from ..cluster import Cluster, ClusterConfig
from ..errors import AsbError, BackupFailed, BackupOutputFailed, BadOption, Interrupted, NamespaceNotFound
from ..estimate import Estimate, estimate_size
from ..expressions import backup_filter, parse_backup_time
from ..layers import Layers
from ..metadata import cluster_metadata
from ..progress import MachineLines
from ..result import CommandResult
from ..scan_jobs import Engine, ScanJob, plan_jobs
from ._cluster_options import add_connection_options, cluster_config_from, options_from_flags
from ._options import Command, add_cluster_output_options, add_layer_options, configure_logging, layers_from, open_machine_lines, say_tool_line

log = logging.getLogger("asbkit.backup")

TOOL = f"asbkit {__version__}"


@dataclass
class BackupOptions:
    """asbackup's options, by their long names."""

    namespace: str
    directory: str | None = None
    output_file: str | None = None
    output_file_prefix: str | None = None
    file_limit: int = 250  # MiB
    remove_files: bool = False
    remove_artifacts: bool = False
    sets: list[str] = field(default_factory=list)
    bin_list: list[str] = field(default_factory=list)
    no_bins: bool = False
    no_records: bool = False
    no_indexes: bool = False
    no_udfs: bool = False
    max_records: int = 0
    modified_after: str | None = None
    modified_before: str | None = None
    no_ttl_only: bool = False
    filter_exp: str | None = None  # base64
    partition_list: str | None = None
    after_digest: str | None = None
    node_list: str | None = None
    parallel: int | None = None
    records_per_second: int = 0
    nice: int = 0  # MiB/s
    compact: bool = False
    layers: Layers = field(default_factory=Layers)
    max_retries: int = 5
    sleep_between_retries: int = 0  # ms
    continue_from: str | None = None
    state_file_dst: str | None = None
    #: Seconds between saved states (and commits) while running.
    checkpoint_seconds: float = 1.0
    estimate: bool = False
    estimate_samples: int = 10_000


@dataclass
class BackupFile:
    name: str
    records: int
    bytes: int
    sha256: str | None


@dataclass
class BackupReport:
    namespace: str
    records: int = 0
    bytes: int = 0
    text_bytes: int = 0
    indexes: int = 0
    udfs: int = 0
    files: list[BackupFile] = field(default_factory=list)
    duration_seconds: float = 0.0
    server_version: str | None = None
    manifest: str | None = None
    #: Written when the backup stopped before its end: continue with `--continue` it.
    state_file: str | None = None
    interrupted: bool = False
    estimate: Estimate | None = None

    def started(self) -> bool:
        """Whether the backup wrote anything (else only its error is said)."""
        return bool(self.files or self.records)

    def summary_line(self) -> str:
        """asbackup's own last line, which scripts parse."""
        per = self.bytes // self.records if self.records else 0
        return (
            f"Backed up {self.records} record(s), {self.indexes} secondary index(es), "
            f"{self.udfs} UDF file(s), {self.bytes} byte(s) in total (~{per} B/rec)"
        )


def check_options(o: BackupOptions) -> None:
    """The combinations asbackup refuses, refused the same way (with the flags named)."""
    if o.remove_artifacts:
        if not (o.directory or o.output_file):
            raise ValueError("--remove-artifacts needs -d/--directory or -o/--output-file")
        return
    if o.estimate:
        clash = [f for f, v in (("-d/--directory", o.directory), ("-o/--output-file", o.output_file), ("-w/--parallel", o.parallel), ("-c/--continue", o.continue_from), ("-R/--no-records", o.no_records)) if v]
        if clash:
            raise ValueError(f"-e/--estimate cannot be combined with {', '.join(clash)}")
        if o.estimate_samples < 1:
            raise ValueError("--estimate-samples is at least 1")
        return
    if bool(o.directory) == bool(o.output_file):
        raise ValueError("give exactly one of -d/--directory and -o/--output-file")
    if o.filter_exp and (o.modified_after or o.modified_before or o.no_ttl_only or len(o.sets) > 1):
        raise ValueError(
            "-f/--filter-exp cannot be combined with -a/--modified-after, -b/--modified-before, "
            "--no-ttl-only or more than one set"
        )
    chosen = [f for f, v in (("-X/--partition-list", o.partition_list), ("-D/--after-digest", o.after_digest), ("-l/--node-list", o.node_list)) if v]
    if len(chosen) > 1:
        raise ValueError(f"{' and '.join(chosen)} are mutually exclusive")
    if o.parallel is not None and not 1 <= o.parallel <= 100:
        raise ValueError("-w/--parallel takes 1 to 100")
    if o.file_limit < 1:
        raise ValueError("-F/--file-limit is at least 1 (MiB)")
    if o.continue_from and o.remove_files:
        raise ValueError("-c/--continue cannot be combined with -r/--remove-files")
    if o.output_file == "-" and o.continue_from:
        raise ValueError("a backup to stdout cannot be continued")
    for name in o.bin_list:
        if len(name.encode()) > 15:
            raise ValueError(f"-B/--bin-list: bin name {name!r} is longer than 15 bytes")


def _fingerprint(o: BackupOptions) -> dict[str, Any]:
    """The options a continuation must repeat: they decide what is in the files."""
    d = asdict(o)
    for volatile in ("continue_from", "remove_files", "state_file_dst", "checkpoint_seconds", "layers", "parallel", "records_per_second", "nice", "max_retries", "sleep_between_retries"):
        d.pop(volatile, None)
    return d


def backup(
    config: ClusterConfig,
    options: BackupOptions,
    *,
    progress: bool | None = None,
    on_progress: Callable[[int, int, int], None] | None = None,
    handle_signals: bool = True,
    machine: MachineLines | None = None,
) -> CommandResult[BackupReport]:
    """Runs a backup; returns its report (and errors, which make the exit code non-zero)."""
    o = options
    report = BackupReport(namespace=o.namespace)
    started = time.monotonic()
    try:
        check_options(o)
    except ValueError as exc:
        return CommandResult("backup", report, [BadOption(str(exc))])
    if o.remove_artifacts:
        removed = remove_artifacts(o)
        log.info("removed %d file(s)", len(removed))
        return CommandResult("backup", report)
    if o.estimate:
        report.estimate, errors = estimate_size(
            config, o, lambda sample: backup(config, sample, progress=False, handle_signals=False)
        )
        return CommandResult("backup", report, errors)
    log.info("%s", _starting_line(config, o))
    try:
        state = _continuation(o)
        # Refused before connecting, created only once the cluster answered (as asbackup:
        # a backup that cannot connect leaves nothing behind, and removes nothing).
        backup_target.check_output_place(o, resuming=state is not None)
        cluster = Cluster(config)
    except (AsbError, OSError) as exc:
        return CommandResult("backup", report, [exc])
    except ValueError as exc:
        return CommandResult("backup", report, [BadOption(str(exc))])
    try:
        run = _Run(cluster, o, state, report)
        run.drive(progress, on_progress, handle_signals, machine)
        return run.conclude(started)
    except (AsbError, OSError) as exc:
        report.duration_seconds = time.monotonic() - started
        return CommandResult("backup", report, [exc])
    except ValueError as exc:
        return CommandResult("backup", report, [BadOption(str(exc))])
    finally:
        cluster.close()


def _c_time(text: str | None) -> str:
    """-a/-b as asbackup says them (UTC; the epoch when not given)."""
    ns = parse_backup_time(text) if text else 0
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ns // 1_000_000_000))


def _starting_line(config: ClusterConfig, o: BackupOptions) -> str:
    """asbackup's first log line."""
    to = "[stdout]" if o.output_file == "-" else o.output_file or o.directory or "[none]"
    return (
        f"Starting backup of {o.node_list or config.hosts} (namespace: {o.namespace}, "
        f"set: [{', '.join(o.sets) if o.sets else 'all'}], bins: {','.join(o.bin_list) if o.bin_list else '[all]'}, "
        f"after: {_c_time(o.modified_after)}, before: {_c_time(o.modified_before)}, "
        f"no ttl only: {'true' if o.no_ttl_only else 'false'}, limit: {o.max_records}) to {to}"
    )


def _continuation(o: BackupOptions) -> dict[str, Any] | None:
    """The saved state `-c` names, checked against the options now (None without `-c`)."""
    if not o.continue_from:
        return None
    state = resume_mod.load_state(o.continue_from)
    now = _fingerprint(o)
    if state["namespace"] != o.namespace or state["arguments"] != now:
        changed = sorted(k for k in set(state["arguments"]) | set(now) if state["arguments"].get(k) != now.get(k))
        raise BackupFailed(
            "the options differ from those of the interrupted backup"
            + (f" ({', '.join(changed)})" if changed else "")
            + ": continue with the same arguments",
            path=o.continue_from,
        )
    if state["layers"] != o.layers.describe():
        raise BackupFailed(
            f"the interrupted backup was written {state['layers']}, not {o.layers.describe()}: give the same -z/-y options",
            path=o.continue_from,
        )
    return state


class _Run:
    """One backup on a connected cluster: plan (jobs, output, checkpoint, metadata), drive
    the jobs while saving the state, then conclude (manifest, or the state to continue)."""

    def __init__(self, cluster: Cluster, o: BackupOptions, state: dict[str, Any] | None, report: BackupReport) -> None:
        self.o, self.state, self.report = o, state, report
        self.state_path = backup_target.state_path(o)
        report.server_version = cluster.build()
        log.info("Processing %d node(s)", len(cluster.nodes()))
        namespaces = cluster.namespaces()
        if o.namespace not in namespaces:
            raise NamespaceNotFound(
                f"namespace {o.namespace!r} is not on the cluster (it has: {', '.join(namespaces) or 'none'}); check -n/--namespace"
            )
        jobs, after = plan_jobs(cluster, o)
        backup_target.prepare_output_place(o, resuming=state is not None)
        self.kind = "directory" if o.directory else "stdout" if o.output_file == "-" else "file"
        self.path = o.directory or (o.output_file if self.kind == "file" else None)
        self.output = _codec.BackupOutput(
            self.kind, self.path, o.namespace,
            prefix=o.output_file_prefix, file_limit=o.file_limit << 20, first_file=True,
            nice_mib=o.nice, level=o.layers.compression_level,
            resume=state["files"] if state else None, **o.layers.codec_args(),
        )
        if state:
            jobs = self._continued_jobs(jobs)
            backup_target.drop_uncommitted_files(o, state)
            saved = state["partitions"]
            report.indexes, report.udfs = state["indexes"], state["udfs"]
        else:
            saved = [(pid, d, 0, False) for pid, d in after.items()]
        # -L bounds the whole backup (as in asbackup): the checkpoint paces every scan
        # together; each node is also asked for its share, so it does not read ahead.
        self.ckpt = _codec.BackupCheckpoint(saved, records_per_second=o.records_per_second)
        self.jobs = jobs
        scans = max(1, len(jobs)) * max(1, len(cluster.nodes()))
        rps = max(1, o.records_per_second // scans) if o.records_per_second else 0
        self.engine = Engine(cluster, o, self.output, self.ckpt, _filter_expression(o), first_file_job=state is None, rps=rps)
        if state is None:
            indexes, udfs = cluster_metadata(cluster, o.namespace, o.sets, indexes=not o.no_indexes, udfs=not o.no_udfs)
            self.engine.metadata = indexes + udfs
            report.indexes, report.udfs = len(indexes), len(udfs)
            if not o.no_indexes:
                log.info("Backing up %d secondary index(es)", len(indexes)) if indexes else log.info("No secondary indexes")
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
        self.already = sum(f["records"] for f in state["files"]) if state else 0
        self.failed: BaseException | None = None
        self.interrupted = threading.Event()
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
            left = max(0, o.max_records - sum(f["records"] for f in state["files"]))
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
        resume_mod.save_state(
            self.state_path, namespace=o.namespace,
            target={"kind": self.kind, "path": self.path, "prefix": o.output_file_prefix},
            layers=o.layers.describe(), arguments=_fingerprint(o),
            partitions=parts, files=list(files), indexes=self.report.indexes, udfs=self.report.udfs, tool=TOOL,
            jobs=[j.pids for j in self.jobs],
        )

    def drive(self, progress: bool | None, on_progress: Callable[[int, int, int], None] | None, handle_signals: bool, machine: MachineLines | None = None) -> None:
        """Runs the jobs, showing progress and saving the state; Ctrl-C or SIGTERM stops
        every scan at its next message."""
        old_handlers: dict[int, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            def on_signal(signum: int, frame: Any) -> None:
                self.interrupted.set()
                self.ckpt.cancel()

            for sig in (signal.SIGINT, signal.SIGTERM):
                old_handlers[sig] = signal.signal(sig, on_signal)
        from ..progress import BackupProgress

        display = BackupProgress(self.estimate, self.already, enabled=progress, machine=machine)
        try:
            with ThreadPoolExecutor(max_workers=max(1, len(self.jobs)), thread_name_prefix="backup") as pool:
                pending = {pool.submit(self.engine.run, j) for j in self.jobs}
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
                    records, text_bytes = self.ckpt.counters()
                    display.update(self.already + records, text_bytes)
                    if on_progress:
                        on_progress(self.already + records, text_bytes, self.estimate)
                    if self.state_path and time.monotonic() - last_save >= self.o.checkpoint_seconds:
                        self.save_state()
                        last_save = time.monotonic()
        finally:
            display.close()
            for sig, h in old_handlers.items():
                signal.signal(sig, h)

    def conclude(self, started: float) -> CommandResult[BackupReport]:
        o, report = self.o, self.report
        if self.failed is not None or self.finished_jobs < len(self.jobs):
            return self._stopped(started)
        if self.interrupted.is_set():
            log.info("the signal came after the last record: the backup is complete")
        files = self.output.finish()
        _fill_from_files(report, files)
        manifest = backup_target.manifest_path(o)
        if manifest:
            resume_mod.write_manifest(
                manifest, namespace=o.namespace, files=list(files), options=_fingerprint(o),
                server=report.server_version, tool=TOOL, indexes=report.indexes, udfs=report.udfs,
                layers=o.layers.describe(),
            )
            report.manifest = manifest
        for stale in {o.continue_from, self.state_path} - {None}:
            if stale and os.path.exists(stale):
                os.remove(stale)
        report.duration_seconds = time.monotonic() - started
        return CommandResult("backup", report)

    def _stopped(self, started: float) -> CommandResult[BackupReport]:
        """Interrupted or failed: the state to continue from (unless writing failed)."""
        report, failed = self.report, self.failed
        if self.state_path and not isinstance(failed, BackupOutputFailed):
            self.save_state()
            report.state_file = self.state_path
        report.interrupted = True
        _fill_from_files(report, self.output.files())
        report.duration_seconds = time.monotonic() - started
        if failed is None and report.state_file:
            log.info(
                "Backup was interrupted, to resume, run backup with `--continue %s` and all the same arguments (except --remove-files)",
                self.state_path,
            )
        if failed is None:
            err: AsbError = Interrupted(
                "the backup was interrupted"
                + (f"; to go on, run the same command with -c {self.state_path}" if report.state_file else "")
            )
        elif isinstance(failed, AsbError):
            err = failed
            if report.state_file and "continue" not in err.message:
                err.message += f"; the state is saved: continue with -c {self.state_path}"
        else:
            raise failed
        return CommandResult("backup", report, [err])


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


def _fill_from_files(report: BackupReport, files: list[dict[str, Any]]) -> None:
    report.files = [
        BackupFile(f["name"], f["records"], f["bytes"], f["sha256"].hex() if f["sha256"] else None) for f in files
    ]
    report.records = sum(f["records"] for f in files)
    report.bytes = sum(f["bytes"] for f in files)
    report.text_bytes = sum(f["text_bytes"] for f in files)


# ---------------------------------------------------------------- command line


def _split_sets(text: str | None) -> list[str]:
    """Comma-separated; a name in ' or \" quotes may hold commas (as asbackup reads -s)."""
    if not text:
        return []
    out, cur, quote = [], "", None
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
            else:
                cur += ch
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [s for s in out if s]


def add_arguments(p: Any) -> None:
    """asbackup's flags, short and long, with its defaults."""
    add_connection_options(p)
    g = p.add_argument_group("[asbackup] what")
    g.add_argument("-n", "--namespace", required=False, help="the namespace to back up (required)")
    g.add_argument("-s", "--set", dest="sets", metavar="SETS", help="only these sets (comma-separated; default all)")
    g.add_argument("-B", "--bin-list", metavar="BINS", help="only these bins (comma-separated)")
    g.add_argument("-x", "--no-bins", action="store_true", help="records' metadata only, no bins")
    g.add_argument("-R", "--no-records", action="store_true", help="no records: indexes and UDFs only")
    g.add_argument("-I", "--no-indexes", action="store_true", help="no secondary index definitions")
    g.add_argument("-u", "--no-udfs", action="store_true", help="no UDF modules")
    g.add_argument("-M", "--max-records", type=int, default=0, metavar="N", help="about N records at most (0: all)")
    g.add_argument("-e", "--estimate", action="store_true", help="estimate the backup's size from a sample; write nothing")
    g.add_argument("--estimate-samples", type=int, default=10_000, metavar="N", help="records in the sample (default 10000)")
    g = p.add_argument_group("[asbackup] where")
    g.add_argument("-d", "--directory", metavar="DIR", help="write <prefix>_NNNNN.asb files into DIR")
    g.add_argument("-o", "--output-file", metavar="FILE", help="write one file (- for stdout)")
    g.add_argument("-q", "--output-file-prefix", metavar="PREFIX", help="file name prefix (default: the namespace)")
    g.add_argument("-F", "--file-limit", type=int, default=250, metavar="MiB", help="start a new file past this size (default 250)")
    g.add_argument("-r", "--remove-files", action="store_true", help="remove the .asb files already in DIR, or FILE")
    g.add_argument("--remove-artifacts", action="store_true", help="only remove what a backup to DIR or FILE left, then stop")
    g.add_argument("-c", "--continue", dest="continue_from", metavar="STATE", help="continue the interrupted backup saved in STATE")
    g.add_argument("--state-file-dst", metavar="PATH", help="where an interrupted backup saves its state")
    g = p.add_argument_group("[asbackup] incremental")
    g.add_argument("-a", "--modified-after", metavar="TIME", help="records written at or after TIME (YYYY-MM-DD[_HH:MM:SS] or HH:MM:SS, local)")
    g.add_argument("-b", "--modified-before", metavar="TIME", help="records written before TIME")
    g.add_argument("--no-ttl-only", action="store_true", help="only records that never expire")
    g.add_argument("-f", "--filter-exp", metavar="B64", help="base64 of a packed filter expression")
    g.add_argument("-X", "--partition-list", metavar="LIST", help="partitions: begin[-count] or base64 digests, comma-separated")
    g.add_argument("-D", "--after-digest", metavar="B64", help="from this digest's partition, after the digest, to the end")
    g.add_argument("-l", "--node-list", metavar="HOSTS", help="the partitions these nodes master (host:port,…)")
    g = p.add_argument_group("[asbackup] speed")
    g.add_argument("-w", "--parallel", type=int, metavar="N", help="partition ranges scanned at once (default 1; 16 with -l)")
    g.add_argument("-L", "--records-per-second", type=int, default=0, metavar="N", help="scan at most N records/s (0: no limit)")
    g.add_argument("-N", "--nice", type=int, default=0, metavar="MiB/s", help="write at most this many MiB/s")
    g.add_argument("-m", "--machine", metavar="PATH", help="write machine-readable progress and summary lines to PATH (a file, appended to, or a FIFO)")
    g = p.add_argument_group("[asbackup] file format")
    g.add_argument("-C", "--compact", action="store_true", help="blobs as raw bytes, not base64")
    add_layer_options(p, writing=True)


def options_from(args: Any) -> tuple[ClusterConfig, BackupOptions]:
    if not args.namespace and not args.remove_artifacts:
        raise ValueError("-n/--namespace is required")
    return cluster_config_from(args), BackupOptions(
        namespace=args.namespace or "",
        directory=args.directory,
        output_file=args.output_file,
        output_file_prefix=args.output_file_prefix,
        file_limit=args.file_limit,
        remove_files=args.remove_files,
        remove_artifacts=args.remove_artifacts,
        sets=_split_sets(args.sets),
        bin_list=[b for b in (args.bin_list or "").split(",") if b],
        no_bins=args.no_bins,
        no_records=args.no_records,
        no_indexes=args.no_indexes,
        no_udfs=args.no_udfs,
        max_records=args.max_records,
        modified_after=args.modified_after,
        modified_before=args.modified_before,
        no_ttl_only=args.no_ttl_only,
        filter_exp=args.filter_exp,
        partition_list=args.partition_list,
        after_digest=args.after_digest,
        node_list=args.node_list,
        parallel=args.parallel,
        records_per_second=args.records_per_second,
        nice=args.nice,
        compact=args.compact,
        layers=layers_from(args),
        max_retries=args.max_retries,
        sleep_between_retries=args.sleep_between_retries,
        continue_from=args.continue_from,
        state_file_dst=args.state_file_dst,
        estimate=args.estimate,
        estimate_samples=args.estimate_samples,
    )


def render(result: CommandResult[BackupReport]) -> str:
    r = result.data
    if r.estimate is not None:
        e = r.estimate
        return (
            f"estimate from {e.samples:,} sampled records of {e.records:,}: about {e.record_bytes:,} bytes a record, "
            f"{e.total_bytes:,} bytes in all" + (f" ({100 * e.compression_ratio:.1f}% after the layers)" if e.compression_ratio < 0.999 else "")
        )
    if not result.ok and not r.started():
        return ""  # only the error: nothing was written
    lines = []
    if len(r.files) > 1:
        lines += [f"  {f.name}: {f.records:,} records, {f.bytes:,} bytes" for f in r.files]
    lines.append(
        f"{'wrote' if result.ok else 'wrote before stopping'} {len(r.files)} file(s): {r.records:,} records, "
        f"{r.indexes} index(es), {r.udfs} UDF(s), {r.bytes:,} bytes in {r.duration_seconds:.2f} s"
        + (f"; manifest {r.manifest}" if r.manifest else "")
        + (f"; state saved in {r.state_file}" if r.state_file else "")
    )
    return "\n".join(lines)


def _add_all_arguments(p: Any) -> None:
    add_cluster_output_options(p, TOOL)
    add_arguments(p)


def run(args: Any) -> CommandResult[BackupReport]:
    configure_logging(args.verbose, log_json=args.log_json)
    config, options = options_from_flags(args, options_from, check_options, log)
    with open_machine_lines(args) as machine:
        result = backup(config, options, progress=False if args.no_progress else None, machine=machine)
        r = result.data
        if not options.remove_artifacts and not options.estimate and (result.ok or r.started()):
            # asbackup's last line, which operators' scripts parse (not said when nothing
            # was written: a failure before the first file gives only its error).
            say_tool_line(r.summary_line(), log)
            if machine is not None:
                machine.summary(r.records, r.indexes, r.udfs, r.bytes, r.bytes // r.records if r.records else 0)
    return result


HELP = "back up a namespace of a live cluster into .asb files (asbackup's flags)"


def _stdout_data(args: Any) -> bool:
    return getattr(args, "output_file", None) == "-"


COMMANDS = (
    Command(
        "backup", HELP, _add_all_arguments, run, render, description=HELP,
        help_flags=("--help", "-Z", "--usage", "--options"), config_sections=("cluster", "secret-agent", "asbackup"), data_on_stdout=_stdout_data, errors_as_log_lines=True,
    ),
)
