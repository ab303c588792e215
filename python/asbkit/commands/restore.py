"""`asbkit restore`: backup files (from asbkit, C asbackup or absctl) written into a live
cluster with asrestore's policies, each record to its partition's master, counted by
outcome so that none goes missing unsaid.

Python checks everything before the first write (inputs and their layers, the server, the
namespaces, batch writes), keeps the Rust writers' partition map current, and applies
indexes and UDFs (`asbkit.restore_metadata`); the Rust wire layer reads the files and
writes the records (`asb_wire::restore`).
"""

from __future__ import annotations

import base64
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import _codec, __version__
from ..cluster import N_PARTITIONS, Cluster, ClusterConfig, info_fields
from ..errors import AsbError, RestoreFailed
from ..layers import Layers
from ..progress import MachineLines, RestoreProgress
from ..restore_metadata import MetadataApplier
from ..result import CommandResult
from ._cluster_options import add_connection_options, cluster_config_from, compatibility_notes
from ._options import Command, OptionError, add_cluster_output_options, add_layer_options, configure_logging, layers_from, open_machine_lines, say_tool_line

log = logging.getLogger("asbkit.restore")

TOOL = f"asbkit {__version__}"


@dataclass
class RestoreOptions:
    """asrestore's options, by their long names."""

    directory: str | None = None
    input_file: str | None = None
    directory_list: list[str] = field(default_factory=list)
    parent_directory: str | None = None
    #: `A` (check) or `A,B` (write A's records into B).
    namespace: str | None = None
    sets: list[str] = field(default_factory=list)
    bin_list: list[str] = field(default_factory=list)
    no_records: bool = False
    no_indexes: bool = False
    no_udfs: bool = False
    indexes_last: bool = False
    wait: bool = False
    unique: bool = False
    replace: bool = False
    no_generation: bool = False
    ignore_record_error: bool = False
    extra_ttl: int = 0
    layers: Layers = field(default_factory=Layers)
    parallel: int = 20
    batch_size: int | None = None  # 128 with batch writes, 16 without
    max_async_batches: int = 32
    disable_batch_writes: bool = False
    max_retries: int = 5
    retry_scale_factor_ms: float = 150.0
    timeout_ms: int = 10_000
    #: MiB/s of backup read, records/s written (0: no limit).
    bandwidth_mib: int = 0
    tps: int = 0


@dataclass
class Failure:
    digest: str
    result_code: int | None
    message: str


@dataclass
class RestoreReport:
    server_version: str | None = None
    namespace: str | None = None
    files: list[str] = field(default_factory=list)
    records_read: int = 0
    expired: int = 0
    skipped: int = 0
    err_ignored: int = 0
    inserted: int = 0
    updated: int = 0
    existed: int = 0
    fresher: int = 0
    failed: int = 0
    #: Read but neither written nor counted otherwise: only when the restore stopped early.
    not_written: int = 0
    retries: int = 0
    udfs: int = 0
    indexes_created: int = 0
    indexes_matched: int = 0
    indexes_replaced: int = 0
    indexes_skipped: int = 0
    bytes_read: int = 0
    duration_seconds: float = 0.0
    interrupted: bool = False
    #: The first records not written (or ignored), with why.
    failures: list[Failure] = field(default_factory=list)

    @property
    def indexes(self) -> int:
        return self.indexes_created + self.indexes_matched + self.indexes_replaced

    def machine_summary(self) -> list[object]:
        """asrestore's SUMMARY fields; its format has a space before the inserted count."""
        return [self.udfs, self.indexes, self.records_read, self.expired, self.skipped, f"{self.err_ignored} ",
                self.inserted + self.updated, self.existed, self.fresher]

    def asrestore_lines(self) -> list[str]:
        """asrestore's own summary lines, which operators' scripts parse (spec 8.6): its
        'inserted' is every record written, its 'failed' the existing and fresher ones."""
        rate = self.records_read / self.duration_seconds if self.duration_seconds else 0
        per = self.bytes_read // self.records_read if self.records_read else 0
        return [
            f"{self.udfs} UDF file(s), {self.indexes} secondary index(es), {self.records_read} record(s) "
            f"({rate:.0f} rec/s, {self.bytes_read / 1024 / max(self.duration_seconds, 1e-9):.0f} KiB/s, {per} B/rec, retries: {self.retries})",
            f"Expired {self.expired} : skipped {self.skipped} : err_ignored {self.err_ignored} : "
            f"inserted {self.inserted + self.updated}: failed {self.existed + self.fresher} "
            f"(existed {self.existed} , fresher {self.fresher})",
        ]


def check_options(o: RestoreOptions) -> None:
    """The combinations asrestore refuses, refused the same way (with the flags named)."""
    given = [f for f, v in (("-d/--directory", o.directory), ("-i/--input-file", o.input_file), ("--directory-list", o.directory_list)) if v]
    if len(given) != 1:
        raise ValueError("give exactly one of -d/--directory, -i/--input-file and --directory-list")
    if o.parent_directory and not o.directory_list:
        raise ValueError("--parent-directory goes with --directory-list")
    if o.unique and (o.replace or o.no_generation):
        raise ValueError("-u/--unique cannot be combined with -r/--replace or -g/--no-generation")
    if o.namespace is not None and not 1 <= len(o.namespace.split(",")) <= 2:
        raise ValueError("-n/--namespace takes A or A,B")
    if not 1 <= o.parallel <= 4096:
        raise ValueError("-t/--parallel takes 1 to 4096")
    if o.batch_size is not None and o.batch_size < 1:
        raise ValueError("--batch-size is at least 1")
    if not 0 <= o.extra_ttl <= 2**31 - 1:
        raise ValueError("--extra-ttl takes 0 to 2147483647 seconds")
    for name in o.bin_list:
        if not 0 < len(name.encode()) <= 15:
            raise ValueError(f"-B/--bin-list: bin name {name!r} is not 1 to 15 bytes")
    for name in o.sets:
        if not 0 < len(name.encode()) <= 63:
            raise ValueError(f"-s/--set-list: set name {name!r} is not 1 to 63 bytes")


def input_files(o: RestoreOptions) -> list[str]:
    """The files to restore: a directory's `*.asb` files (sorted), several directories', or
    one file (`-` for stdin)."""
    if o.input_file:
        return [o.input_file]
    dirs = [o.directory] if o.directory else [os.path.join(o.parent_directory or "", d) for d in o.directory_list]
    files: list[str] = []
    for d in dirs:
        try:
            found = [str(f) for f in _codec.list_backup_files(d)]
        except OSError as exc:
            raise RestoreFailed(f"cannot list the directory: {exc.strerror or exc}", path=d) from exc
        if not found:
            raise RestoreFailed("the directory holds no .asb files (check -d/--directory)", path=d)
        files += found
    return files


def _check_inputs(files: list[str], o: RestoreOptions) -> list[str | None]:
    """Opens every file with the given layers and reads its header before anything is
    written; their namespaces (None when a file does not say)."""
    namespaces: list[str | None] = []
    expected = o.namespace.split(",")[0] if o.namespace else None
    for f in files:
        if f == "-":
            namespaces.append(None)
            continue
        reader = _codec.Reader(f, **o.layers.codec_args())
        ns = reader.header.namespace
        if expected is not None and ns is not None and ns != expected:
            raise RestoreFailed(
                f"the file holds namespace {ns!r}, not {expected!r}: give -n {ns} (or -n {ns},NEW to write it into NEW)", path=f
            )
        namespaces.append(ns)
    return namespaces


def prepare(o: RestoreOptions, report: Any) -> tuple[list[str], list[str | None]]:
    """Checks the options and opens every input: its files and their namespaces."""
    check_options(o)
    files = input_files(o)
    report.files = files
    return files, _check_inputs(files, o)


def restore(
    config: ClusterConfig,
    options: RestoreOptions,
    *,
    progress: bool | None = None,
    on_progress: Callable[[dict[str, int]], None] | None = None,
    handle_signals: bool = True,
    machine: MachineLines | None = None,
) -> CommandResult[RestoreReport]:
    """Runs a restore; returns its report (and errors, which make the exit code non-zero)."""
    o = options
    report = RestoreReport()
    started = time.monotonic()
    try:
        files, namespaces = prepare(o, report)
    except (AsbError, OSError) as exc:
        return CommandResult("restore", report, [exc])
    except ValueError as exc:
        return CommandResult("restore", report, [AsbError(str(exc))])
    try:
        cluster = Cluster(config)
    except (AsbError, OSError) as exc:
        return CommandResult("restore", report, [exc])
    try:
        run = _Run(cluster, o, files, namespaces, report)
        run.drive(progress, on_progress, handle_signals, machine)
        return run.conclude(started)
    except (AsbError, OSError) as exc:
        report.duration_seconds = time.monotonic() - started
        return CommandResult("restore", report, [exc])
    finally:
        cluster.close()


class _Run:
    """One restore on a connected cluster: checks, the Rust run, its partition map, the
    indexes and UDFs, the counters."""

    def __init__(self, cluster: Cluster, o: RestoreOptions, files: list[str], namespaces: list[str | None], report: Any, *, verify: bool = False) -> None:
        self.cluster, self.o, self.report = cluster, o, report
        report.server_version = cluster.build()
        rename = tuple(o.namespace.split(",")) if o.namespace and "," in o.namespace else None
        self.rename: tuple[str, str] | None = rename  # type: ignore[assignment]
        targets = {rename[1]} if rename else {ns for ns in namespaces if ns} | ({o.namespace} if o.namespace else set())
        on_cluster = cluster.namespaces()
        missing = sorted(t for t in targets if t not in on_cluster)
        if missing:
            raise RestoreFailed(
                f"namespace {', '.join(map(repr, missing))} is not on the cluster (it has: {', '.join(on_cluster) or 'none'}); "
                "-n OLD,NEW writes the backup into another namespace"
            )
        self.namespace = next(iter(sorted(targets)), None) or on_cluster[0]
        report.namespace = self.namespace
        self.batch_writes = not o.disable_batch_writes
        if self.batch_writes and not verify:
            self._check_batch_writes(report.server_version)
        self.metadata = MetadataApplier(cluster, self.rename, o.sets, timeout_s=o.timeout_ms / 1000)
        self.deferred: list[Any] = []
        self.total_bytes = sum(os.path.getsize(f) for f in files if f != "-") if "-" not in files else 0
        auth = cluster.wire_auth()
        if "tls" in auth and "tls_name" not in auth:
            auth["tls_name"] = cluster.config.seeds()[0][0]
        cfg = cluster.config
        self.rust = _codec.RestoreRun(
            files,
            **o.layers.codec_args(),
            expect_namespace=(rename[0] if rename else o.namespace) if o.namespace else None,
            write_namespace=rename[1] if rename else None,
            sets=o.sets or None,
            bins=o.bin_list or None,
            no_records=o.no_records,
            no_indexes=o.no_indexes or verify,
            no_udfs=o.no_udfs or verify,
            unique=o.unique,
            replace=o.replace,
            no_generation=o.no_generation,
            extra_ttl=o.extra_ttl,
            batch_writes=self.batch_writes,
            batch_size=o.batch_size or (128 if self.batch_writes else 16),
            max_async_batches=o.max_async_batches,
            readers=min(len(files), 2),
            writers=o.parallel,
            max_retries=o.max_retries,
            retry_scale_ms=o.retry_scale_factor_ms,
            ignore_record_error=o.ignore_record_error,
            socket_timeout_ms=cfg.socket_timeout_ms,
            total_timeout_ms=cfg.total_timeout_ms or o.timeout_ms,
            connect_timeout_ms=cfg.connect_timeout_ms,
            tps=o.tps,
            bandwidth=o.bandwidth_mib << 20,
            verify=verify,
            **auth,
        )
        self.interrupted = threading.Event()
        self.error: AsbError | None = None
        self._last_routes = 0.0
        self.publish_routes()

    def _check_batch_writes(self, build: str) -> None:
        try:
            major = int(build.split(".")[0])
        except ValueError:
            major = 0
        if major and major < 6:
            raise RestoreFailed(f"the server ({build}) has no batch writes (6.0 and later): use --disable-batch-writes")
        for node, reply in self.cluster.info_all("get-config:context=service").items():
            threads = info_fields(reply).get("batch-index-threads")
            if threads is not None and int(threads) == 0:
                raise RestoreFailed(f"node {node.addr} has batch-index-threads 0 (batch writes off): use --disable-batch-writes")

    def publish_routes(self) -> None:
        masters = self.cluster.partition_masters(self.namespace)
        nodes = sorted({n.addr for n in masters.values()})
        index = {addr: i for i, addr in enumerate(nodes)}
        self.rust.publish_routes(nodes, [index[masters[pid].addr] if pid in masters else None for pid in range(N_PARTITIONS)])
        self._last_routes = time.monotonic()

    def _apply_metadata(self, final: bool = False) -> None:
        for entity in self.rust.take_metadata():
            if self.o.indexes_last and not hasattr(entity, "content"):
                self.deferred.append(entity)
            else:
                self.metadata.apply(entity)
        if final:
            for entity in self.deferred:
                self.metadata.apply(entity)
            self.deferred = []

    def drive(self, progress: bool | None, on_progress: Callable[[dict[str, int]], None] | None, handle_signals: bool, machine: MachineLines | None = None) -> None:
        """Runs the restore; keeps the map current, applies indexes and UDFs as they come,
        shows progress. Ctrl-C or SIGTERM stops it (what was written stays written)."""

        old_handlers: dict[int, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            def on_signal(signum: int, frame: Any) -> None:
                self.interrupted.set()
                self.rust.cancel()

            for sig in (signal.SIGINT, signal.SIGTERM):
                old_handlers[sig] = signal.signal(sig, on_signal)
        display = RestoreProgress(self.total_bytes, enabled=progress, machine=machine)
        self.rust.start()
        try:
            while True:
                done = self.rust.wait(0.2)
                try:
                    self._apply_metadata()
                    now = time.monotonic()
                    if (self.rust.routes_stale() and now - self._last_routes > 0.1) or now - self._last_routes > 2.0:
                        self.publish_routes()
                except AsbError as exc:
                    self.error = self.error or exc
                    self.rust.cancel()
                counters = self.rust.counters()
                display.update(counters)
                if on_progress:
                    on_progress(counters)
                if done:
                    break
            if self.error is None and not self.interrupted.is_set():
                self._apply_metadata(final=True)
                if self.o.wait:
                    self.metadata.wait()
        except AsbError as exc:
            self.error = self.error or exc
        finally:
            display.close()
            for sig, h in old_handlers.items():
                signal.signal(sig, h)

    def conclude(self, started: float) -> CommandResult[RestoreReport]:
        r, c = self.report, self.rust.counters()
        r.records_read, r.expired, r.skipped, r.err_ignored = c["read"], c["expired"], c["skipped"], c["err_ignored"]
        r.inserted, r.updated, r.existed, r.fresher, r.failed = c["inserted"], c["updated"], c["existed"], c["fresher"], c["failed"]
        r.retries, r.bytes_read = c["retries"], c["raw_bytes"]
        settled = r.expired + r.skipped + r.err_ignored + r.inserted + r.updated + r.existed + r.fresher + r.failed
        r.not_written = max(0, r.records_read - settled)
        m = self.metadata.counts
        r.udfs, r.indexes_created, r.indexes_matched, r.indexes_replaced, r.indexes_skipped = (
            m.udfs, m.indexes_created, m.indexes_matched, m.indexes_replaced, m.indexes_skipped,
        )
        r.failures = [
            Failure(base64.b64encode(d).decode(), code, msg) for d, code, msg, _ in self.rust.failures()
        ]
        r.duration_seconds = time.monotonic() - started
        errors: list[AsbError | OSError] = []
        fatal = self.rust.fatal()
        if fatal is not None:
            errors.append(fatal)
        if self.error is not None:
            errors.append(self.error)
        if self.interrupted.is_set() and not errors:
            r.interrupted = True
            errors.append(RestoreFailed(f"the restore was interrupted; {r.not_written} record(s) read were not written"))
        if r.failed and not errors:
            first = r.failures[0] if r.failures else None
            errors.append(RestoreFailed(
                f"{r.failed} record(s) could not be written after {self.o.max_retries} retries"
                + (f" (first: digest {first.digest}: {first.message})" if first else "")
                + "; --max-retries and --retry-scale-factor allow more patience"
            ))
        return CommandResult("restore", r, errors)


# ---------------------------------------------------------------- command line


def _list(text: str | None) -> list[str]:
    return [s for s in (text or "").split(",") if s]


def _nice(text: str | None) -> tuple[int, int]:
    """`-N MiB/s,TPS` (asrestore wants both; one number is the bandwidth)."""
    if not text:
        return 0, 0
    parts = text.split(",")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"-N/--nice takes MiB/s,TPS (numbers), not {text!r}") from None
    if len(values) > 2 or min(values) < 0:
        raise ValueError(f"-N/--nice takes MiB/s,TPS, not {text!r}")
    return values[0], values[1] if len(values) > 1 else 0


def add_arguments(p: Any) -> None:
    """asrestore's flags, short and long, with its defaults."""
    add_connection_options(p)
    p.add_argument("-T", "--timeout", type=int, default=10_000, metavar="MS", help="write and info timeout when --total-timeout is 0 (default 10000)")
    g = p.add_argument_group("[asrestore] input")
    g.add_argument("-d", "--directory", metavar="DIR", help="restore every .asb file in DIR")
    g.add_argument("-i", "--input-file", metavar="FILE", help="restore one file (- for stdin)")
    g.add_argument("--directory-list", metavar="DIRS", help="restore the .asb files of these directories (comma-separated)")
    g.add_argument("--parent-directory", metavar="DIR", help="the directory --directory-list's names are in")
    g.add_argument("--validate", action="store_true", help="only parse the backup (as asbkit validate); no cluster")
    g.add_argument("-m", "--machine", metavar="PATH", help="write machine-readable progress and summary lines to PATH (a file, appended to, or a FIFO)")
    g = p.add_argument_group("[asrestore] what")
    g.add_argument("-n", "--namespace", metavar="A[,B]", help="the backup's namespace A; with B, write it into B")
    g.add_argument("-s", "--set-list", metavar="SETS", help="only these sets (comma-separated)")
    g.add_argument("-B", "--bin-list", metavar="BINS", help="only these bins (comma-separated)")
    g.add_argument("-R", "--no-records", action="store_true", help="no records: indexes and UDFs only")
    g.add_argument("-I", "--no-indexes", action="store_true", help="no secondary indexes")
    g.add_argument("-F", "--no-udfs", action="store_true", help="no UDFs")
    g.add_argument("-L", "--indexes-last", action="store_true", help="create the indexes after the records")
    g.add_argument("-w", "--wait", action="store_true", help="wait for index builds and UDFs on every node")
    g = p.add_argument_group("[asrestore] write policy")
    g.add_argument("-u", "--unique", action="store_true", help="only new records: never touch existing ones")
    g.add_argument("-r", "--replace", action="store_true", help="replace whole records (drop bins the backup lacks)")
    g.add_argument("-g", "--no-generation", action="store_true", help="write whatever the generation on the cluster")
    g.add_argument("--ignore-record-error", action="store_true", help="count records the server rejects (too big, bad bin name…) and go on")
    g.add_argument("--extra-ttl", type=int, default=0, metavar="S", help="add S seconds to every expiring record's TTL")
    g = p.add_argument_group("[asrestore] speed")
    g.add_argument("-t", "--parallel", "--threads", dest="parallel", type=int, default=20, metavar="N", help="batches written at once (default 20)")
    g.add_argument("-N", "--nice", metavar="MiB/s,TPS", help="read at most MiB/s and write at most TPS records/s")
    g.add_argument("--disable-batch-writes", action="store_true", help="write records one by one (servers without batch writes)")
    g.add_argument("--batch-size", type=int, metavar="N", help="records per batch (default 128; 16 without batch writes)")
    g.add_argument("--max-async-batches", type=int, default=32, metavar="N", help="batches queued for writing (default 32)")
    g.add_argument("--event-loops", type=int, default=1, metavar="N", help="accepted for asrestore's scripts; asbkit's writers are threads (-t)")
    g.add_argument("--retry-scale-factor", type=int, default=150_000, metavar="µs", help="first retry pause, doubled each retry (default 150000)")
    add_layer_options(p)


def options_from(args: Any) -> tuple[ClusterConfig, RestoreOptions]:
    bandwidth, tps = _nice(args.nice)
    if args.nice is None:
        # astools.conf's [asrestore] bandwidth and tps, which -N sets together.
        bandwidth, tps = getattr(args, "nice_bandwidth", 0), getattr(args, "nice_tps", 0)
    return cluster_config_from(args), RestoreOptions(
        directory=args.directory,
        input_file=args.input_file,
        directory_list=_list(args.directory_list),
        parent_directory=args.parent_directory,
        namespace=args.namespace,
        sets=_list(args.set_list),
        bin_list=_list(args.bin_list),
        no_records=args.no_records,
        no_indexes=args.no_indexes,
        no_udfs=args.no_udfs,
        indexes_last=args.indexes_last,
        wait=args.wait,
        unique=args.unique,
        replace=args.replace,
        no_generation=args.no_generation,
        ignore_record_error=args.ignore_record_error,
        extra_ttl=args.extra_ttl,
        layers=layers_from(args),
        parallel=args.parallel,
        batch_size=args.batch_size,
        max_async_batches=args.max_async_batches,
        disable_batch_writes=args.disable_batch_writes,
        max_retries=args.max_retries,
        retry_scale_factor_ms=args.retry_scale_factor / 1000,
        timeout_ms=args.timeout,
        bandwidth_mib=bandwidth,
        tps=tps,
    )


def render(result: CommandResult[Any]) -> str:
    r = result.data
    if not isinstance(r, RestoreReport):
        from .validate import render as render_validate

        return render_validate(result)
    lines = [
        f"{'restored' if result.ok else 'restored before stopping'}: {r.records_read:,} records read in {r.duration_seconds:.2f} s: "
        f"{r.inserted:,} inserted, {r.updated:,} updated, {r.existed:,} existed (\"Record exists\", --unique), "
        f"{r.fresher:,} fresher on the cluster (\"Generation mismatch\"), "
        f"{r.expired:,} expired, {r.skipped:,} skipped by filters, {r.err_ignored:,} ignored errors, {r.failed:,} failed"
        + (f", {r.not_written:,} not written" if r.not_written else ""),
        f"{r.udfs} UDF(s); indexes: {r.indexes_created} created, {r.indexes_matched} already there, "
        f"{r.indexes_replaced} replaced" + (f", {r.indexes_skipped} skipped (sets)" if r.indexes_skipped else ""),
    ]
    lines += [f"  not written: {f.digest}: {f.message}" for f in r.failures[:10]]
    return "\n".join(lines)


def _add_all_arguments(p: Any) -> None:
    add_cluster_output_options(p, TOOL)
    add_arguments(p)


def run(args: Any) -> CommandResult[Any]:
    configure_logging(args.verbose, log_json=args.log_json)
    try:
        config, options = options_from(args)
        check_options(options)
        for note in compatibility_notes(args):
            log.info("%s", note)
    except (AsbError, ValueError) as exc:
        raise OptionError(exc) from None
    if args.validate:
        from .validate import validate

        try:
            files = input_files(options)
        except AsbError as exc:
            return CommandResult("restore", RestoreReport(), [exc])
        return validate(files, options.layers, progress=False if args.no_progress else None)
    if args.event_loops != 1:
        log.info("--event-loops is accepted for asrestore's scripts and has no effect: -t/--parallel sets the writers")
    if args.sleep_between_retries:
        log.info("--sleep-between-retries/--retry-delay has no effect on a restore (as in asrestore): --retry-scale-factor sets the pauses")
    machine = open_machine_lines(args)
    try:
        result = restore(config, options, progress=False if args.no_progress else None, machine=machine)
        r = result.data
        if r.server_version is not None:
            # asrestore's closing counters, which operators' scripts parse.
            for line in r.asrestore_lines():
                say_tool_line(args, line, log)
        if machine is not None:
            machine.summary(*r.machine_summary())
    finally:
        if machine is not None:
            machine.close()
    return result


HELP = "restore .asb backups into a live cluster (asrestore's flags)"

COMMANDS = (
    Command("restore", HELP, _add_all_arguments, run, render, description=HELP, help_flags=("--help", "-Z", "--usage", "--options"), config_sections=("cluster", "secret-agent", "asrestore")),
)
