"""`asbkit verify BACKUP`: does the cluster hold what the backup holds? Every record of the
backup is read back by digest (batch reads over the Rust wire layer, raw particles) and its
bins compared byte for byte with the backup's: lists and maps as the server's msgpack,
GeoJSON as its text. Reads the same inputs, layers, namespace map and filters as `restore`,
so it checks a restore made with them."""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..cluster import Cluster, ClusterConfig
from ..errors import AsbError, BadOption, Interrupted, RecordsFailed, refined
from ..result import CommandResult
from ._cluster_options import add_connection_options, cluster_config_from, options_from_flags
from ._options import Command, add_cluster_output_options, add_layer_options, comma_list, configure_logging, layers_from
from ..restore_engine import RestoreDriver, RestoreOptions, check_options, prepare

log = logging.getLogger("asbkit.verify")


@dataclass
class Difference:
    digest: str
    what: str
    set: str | None = None
    #: The user key as --key takes it (S:text, I:number, B:base64), when the record has one.
    key: str | None = None

    def where(self) -> str:
        """`digest (set s1, key S:user-5)`."""
        named = [f"set {self.set}"] if self.set else []
        named += [f"key {self.key}"] if self.key else []
        return self.digest + (f" ({', '.join(named)})" if named else "")


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


def verify(
    config: ClusterConfig,
    options: RestoreOptions,
    *,
    max_differences: int = 20,
    progress: bool | None = None,
    handle_signals: bool = True,
) -> CommandResult[VerifyReport]:
    """Compares the cluster with a backup; the report counts records the same, missing and
    different (those two are findings: exit code 1)."""
    report = VerifyReport()
    started = time.monotonic()
    try:
        files, namespaces = prepare(options, report)
        cluster = Cluster(config)
    except (AsbError, OSError) as exc:
        return CommandResult("verify", report, [exc])
    except ValueError as exc:
        return CommandResult("verify", report, [BadOption(str(exc))])
    try:
        run = RestoreDriver(cluster, options, files, namespaces, report, verify=True)
        run.drive(progress, None, handle_signals)
    except (AsbError, OSError) as exc:
        return CommandResult("verify", report, [exc])
    finally:
        cluster.close()
    c = run.rust.counters()
    report.namespace = run.namespace
    report.records_read, report.same, report.missing, report.different = c["read"], c["same"], c["missing"], c["different"]
    report.expired, report.skipped, report.unreadable, report.retries = c["expired"], c["skipped"], c["failed"], c["retries"]
    report.differences = [
        Difference(base64.b64encode(d).decode(), msg, set_name, key) for d, set_name, key, _code, msg, _ in run.rust.failures()[:max_differences]
    ]
    report.duration_seconds = time.monotonic() - started
    errors: list[AsbError | OSError] = []
    fatal = run.rust.fatal()
    if fatal is not None:
        errors.append(refined(fatal))
    if run.error is not None:
        errors.append(run.error)
    if run.interrupted.is_set() and not errors:
        errors.append(Interrupted("the verify was interrupted"))
    if report.unreadable and not errors:
        errors.append(RecordsFailed(f"{report.unreadable} record(s) could not be read back after {options.max_retries} retries"))
    return CommandResult("verify", report, errors, findings=report.missing + report.different)


def add_arguments(p: Any) -> None:
    p.add_argument("backup", nargs="?", metavar="BACKUP", help="a backup file (- for stdin) or a directory of .asb files")
    add_connection_options(p, sends="read")
    p.add_argument("-T", "--timeout", type=int, default=10_000, metavar="MS", help="read timeout when --total-timeout is 0 (default 10000)")
    g = p.add_argument_group("input (as asrestore takes it)")
    g.add_argument("-d", "--directory", metavar="DIR", help="the .asb files in DIR")
    g.add_argument("-i", "--input-file", metavar="FILE", help="one file (- for stdin)")
    g.add_argument("--directory-list", metavar="DIRS", help="the .asb files of these directories (comma-separated)")
    g.add_argument("--parent-directory", metavar="DIR", help="the directory --directory-list's names are in")
    g = p.add_argument_group("what (as the restore was made)")
    g.add_argument("-n", "--namespace", metavar="A[,B]", help="the backup's namespace A; with B, compare with B")
    g.add_argument("-s", "--set-list", metavar="SETS", help="only these sets (comma-separated)")
    g.add_argument("-B", "--bin-list", metavar="BINS", help="only these bins (comma-separated); other bins on the cluster are not compared")
    g.add_argument("--extra-ttl", type=int, default=0, metavar="S", help="the --extra-ttl the restore had (records expired by then are not looked for)")
    g = p.add_argument_group("speed")
    g.add_argument("-t", "--parallel", type=int, default=20, metavar="N", help="batches read at once (default 20)")
    g.add_argument("--batch-size", type=int, default=128, metavar="N", help="records per batch read (default 128)")
    g.add_argument("--retry-scale-factor", type=int, default=150_000, metavar="µs", help="first retry pause, doubled each retry (default 150000)")
    add_layer_options(p)
    add_cluster_output_options(p, f"asbkit {__version__}")
    p.add_argument("--max-differences", type=int, default=20, metavar="N", help="list the first N records missing or different (default 20)")


def options_from(args: Any) -> tuple[ClusterConfig, RestoreOptions]:
    directory, input_file = args.directory, args.input_file
    if args.backup:
        if directory or input_file or args.directory_list:
            raise ValueError("give the backup once: BACKUP, -d, -i or --directory-list")
        from pathlib import Path

        directory, input_file = (args.backup, None) if Path(args.backup).is_dir() else (None, args.backup)
    return cluster_config_from(args), RestoreOptions(
        directory=directory,
        input_file=input_file,
        directory_list=comma_list(args.directory_list),
        parent_directory=args.parent_directory,
        namespace=args.namespace,
        sets=comma_list(args.set_list),
        bin_list=comma_list(args.bin_list),
        extra_ttl=args.extra_ttl,
        layers=layers_from(args),
        parallel=args.parallel,
        batch_size=args.batch_size,
        max_retries=args.max_retries,
        retry_scale_factor_ms=args.retry_scale_factor / 1000,
        timeout_ms=args.timeout,
    )


def run(args: Any) -> CommandResult[VerifyReport]:
    configure_logging(args.verbose, logging.WARNING, log_json=args.log_json)
    config, options = options_from_flags(args, options_from, check_options, log)
    return verify(config, options, max_differences=args.max_differences, progress=False if args.no_progress else None)


def render(result: CommandResult[VerifyReport]) -> str:
    r = result.data
    verdict = "the cluster holds the backup" if result.ok else "the cluster does NOT hold the backup" if result.findings else "could not finish"
    lines = [
        f"{verdict}: {r.records_read:,} records read in {r.duration_seconds:.2f} s: {r.same:,} the same, "
        f"{r.missing:,} missing, {r.different:,} different"
        + (f", {r.expired:,} expired (not looked for)" if r.expired else "")
        + (f", {r.skipped:,} skipped by filters" if r.skipped else "")
        + (f", {r.unreadable:,} unreadable" if r.unreadable else "")
    ]
    lines += [f"  {d.where()}: {d.what}" for d in r.differences]
    return "\n".join(lines)


HELP = "check that a cluster holds what a backup holds (record by record, bin by bin)"

COMMANDS = (Command("verify", HELP, add_arguments, run, render, description=HELP, help_flags=("--help", "-Z", "--usage", "--options"), config_sections=("cluster", "secret-agent", "asbkit-verify"), errors_as_log_lines=True),)
