"""`asbkit restore`: backup files (from asbkit, C asbackup or absctl) written into a live
cluster with asrestore's policies, each record to its partition's master, counted by
outcome so that none goes missing unsaid.

The checks before the first write, the partition map kept current and the indexes and UDFs
are `asbkit.restore_engine`'s (which `verify` shares); the Rust wire layer reads the files
and writes the records (`asb_wire::restore`). This module holds the report, the run and
the command line.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import __version__
from ..cluster import Cluster, ClusterConfig
from ..errors import AsbError, BadOption, Interrupted, RecordsFailed, refined
from ..progress import MachineLines, restore_counter_lines
from ..restore_engine import RestoreDriver, RestoreOptions, check_options, input_files, prepare
from ..result import CommandResult
from ._cluster_options import add_connection_options, cluster_config_from, options_from_flags
from ._options import Command, add_cluster_output_options, add_layer_options, comma_list, configure_logging, layers_from, open_machine_lines, say_tool_line

log = logging.getLogger("asbkit.restore")

TOOL = f"asbkit {__version__}"


@dataclass
class Failure:
    digest: str
    result_code: int | None
    message: str
    set: str | None = None
    #: The user key as --key takes it (S:text, I:number, B:base64), when the record has one.
    key: str | None = None

    def where(self) -> str:
        """`digest (set s1, key S:user-5)`."""
        named = [f"set {self.set}"] if self.set else []
        named += [f"key {self.key}"] if self.key else []
        return self.digest + (f" ({', '.join(named)})" if named else "")


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
    #: The inputs' size, when known (not for stdin without -:BYTES).
    total_bytes: int = 0
    duration_seconds: float = 0.0
    interrupted: bool = False
    #: The first records not written (or ignored), with why.
    failures: list[Failure] = field(default_factory=list)

    @property
    def indexes(self) -> int:
        return self.indexes_created + self.indexes_matched + self.indexes_replaced

    def started(self) -> bool:
        """Whether anything was read for writing (else a failure came before the first
        write, and only its error is said)."""
        return bool(self.records_read or self.udfs or self.indexes or self.indexes_skipped)

    def machine_summary(self) -> list[object]:
        """asrestore's SUMMARY fields; its format has a space before the inserted count."""
        return [self.udfs, self.indexes, self.records_read, self.expired, self.skipped, f"{self.err_ignored} ",
                self.inserted + self.updated, self.existed, self.fresher]

    def asrestore_lines(self) -> list[str]:
        """asrestore's own closing lines, which operators' scripts parse (spec 8.6)."""
        seconds = max(self.duration_seconds, 1e-9)
        counts = {
            "read": self.records_read, "retries": self.retries, "expired": self.expired, "skipped": self.skipped,
            "err_ignored": self.err_ignored, "inserted": self.inserted, "updated": self.updated,
            "existed": self.existed, "fresher": self.fresher,
        }
        per = self.bytes_read // self.records_read if self.records_read else 0
        lines = restore_counter_lines(counts, self.udfs, self.indexes, self.records_read / seconds, self.bytes_read / 1024 / seconds, per)
        if self.total_bytes and not self.interrupted:
            lines.append(f"{min(100, self.bytes_read * 100 // self.total_bytes)}% complete, ~0s remaining")
        return lines


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
    source = "[stdin]" if o.input_file and o.input_file.startswith("-") else o.input_file or o.directory or ",".join(o.directory_list)
    log.info(
        "Starting restore to %s (bins: %s, sets: %s) from %s",
        config.hosts, ",".join(o.bin_list) or "[all]", ",".join(o.sets) or "[all]", source,
    )
    try:
        files, namespaces = prepare(o, report)
    except (AsbError, OSError) as exc:
        return CommandResult("restore", report, [exc])
    except ValueError as exc:
        return CommandResult("restore", report, [BadOption(str(exc))])
    try:
        cluster = Cluster(config)
    except (AsbError, OSError) as exc:
        return CommandResult("restore", report, [exc])
    try:
        run = RestoreDriver(cluster, o, files, namespaces, report)
        run.drive(progress, on_progress, handle_signals, machine)
        return _conclude(run, started)
    except (AsbError, OSError) as exc:
        report.duration_seconds = time.monotonic() - started
        return CommandResult("restore", report, [exc])
    finally:
        cluster.close()


def _conclude(run: RestoreDriver, started: float) -> CommandResult[RestoreReport]:
    r, c = run.report, run.rust.counters()
    r.records_read, r.expired, r.skipped, r.err_ignored = c["read"], c["expired"], c["skipped"], c["err_ignored"]
    r.inserted, r.updated, r.existed, r.fresher, r.failed = c["inserted"], c["updated"], c["existed"], c["fresher"], c["failed"]
    r.retries, r.bytes_read, r.total_bytes = c["retries"], c["raw_bytes"], run.total_bytes
    settled = r.expired + r.skipped + r.err_ignored + r.inserted + r.updated + r.existed + r.fresher + r.failed
    r.not_written = max(0, r.records_read - settled)
    m = run.metadata.counts
    r.udfs, r.indexes_created, r.indexes_matched, r.indexes_replaced, r.indexes_skipped = (
        m.udfs, m.indexes_created, m.indexes_matched, m.indexes_replaced, m.indexes_skipped,
    )
    r.failures = [
        Failure(base64.b64encode(d).decode(), code, msg, set_name, key) for d, set_name, key, code, msg, _ in run.rust.failures()
    ]
    r.duration_seconds = time.monotonic() - started
    errors: list[AsbError | OSError] = []
    fatal = run.rust.fatal()
    if fatal is not None:
        errors.append(refined(fatal))
    if run.error is not None:
        errors.append(run.error)
    if run.interrupted.is_set() and not errors:
        r.interrupted = True
        errors.append(Interrupted(f"the restore was interrupted; {r.not_written} record(s) read were not written"))
    if r.failed and not errors:
        first = r.failures[0] if r.failures else None
        errors.append(RecordsFailed(
            f"{r.failed} record(s) could not be written after {run.o.max_retries} retries"
            + (f" (first: digest {first.where()}: {first.message})" if first else "")
            + "; --max-retries and --retry-scale-factor allow more patience"
        ))
    return CommandResult("restore", r, errors)


# ---------------------------------------------------------------- command line


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
    add_connection_options(p, sends="write")
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
        directory_list=comma_list(args.directory_list),
        parent_directory=args.parent_directory,
        namespace=args.namespace,
        sets=comma_list(args.set_list),
        bin_list=comma_list(args.bin_list),
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
    if not result.ok and not r.started():
        return ""  # only the error: there are no counts to give
    lines = [
        f"{'restored' if result.ok else 'restored before stopping'}: {r.records_read:,} records read in {r.duration_seconds:.2f} s: "
        f"{r.inserted:,} inserted, {r.updated:,} updated, {r.existed:,} existed (\"Record exists\", --unique), "
        f"{r.fresher:,} fresher on the cluster (\"Generation mismatch\"), "
        f"{r.expired:,} expired, {r.skipped:,} skipped by filters, {r.err_ignored:,} ignored errors, {r.failed:,} failed"
        + (f", {r.not_written:,} not written" if r.not_written else ""),
        f"{r.udfs} UDF(s); indexes: {r.indexes_created} created, {r.indexes_matched} already there, "
        f"{r.indexes_replaced} replaced" + (f", {r.indexes_skipped} skipped (sets)" if r.indexes_skipped else ""),
    ]
    lines += [f"  not written: {f.where()}: {f.message}" for f in r.failures[:10]]
    return "\n".join(lines)


def _add_all_arguments(p: Any) -> None:
    add_cluster_output_options(p, TOOL)
    add_arguments(p)


def run(args: Any) -> CommandResult[Any]:
    configure_logging(args.verbose, log_json=args.log_json)
    config, options = options_from_flags(args, options_from, check_options, log)
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
    with open_machine_lines(args) as machine:
        result = restore(config, options, progress=False if args.no_progress else None, machine=machine)
        r = result.data
        if r.server_version is not None and (result.ok or r.started()):
            # asrestore's closing counters, which operators' scripts parse.
            for line in r.asrestore_lines():
                say_tool_line(line, log)
        if machine is not None:
            machine.summary(*r.machine_summary())
    return result


HELP = "restore .asb backups into a live cluster (asrestore's flags)"

COMMANDS = (
    Command("restore", HELP, _add_all_arguments, run, render, description=HELP, help_flags=("--help", "-Z", "--usage", "--options"), config_sections=("cluster", "secret-agent", "asrestore"), errors_as_log_lines=True),
)
