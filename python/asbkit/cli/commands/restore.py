"""`asbkit restore`: asrestore's flags, short and long, with its defaults, over
`asbkit.restore`."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from ...check.validate import ValidateReport, validate
from ...cluster.client import CONNECTION, ClusterConfig
from ...errors import AsbError
from ...io.files import Source
from ...restoring.options import INPUT, SPEED, RestoreOptions, check_options, input_files
from ...restoring.report import RestoreReport
from ...restoring.run import restore
from ...sharded import restore as sharded_restore
from ...version import __version__
from ..cluster_flags import add_cluster_flags, cluster_config_from, options_from_flags, with_password
from ..dask_flags import dask_client, dask_flags
from ..display import RestoreDisplay
from ..envelope import CommandResult, outcome
from ..flags import Command, FlagBuilder, add_cluster_output_options, build, configure_logging, extra, fields_of, open_machine_lines
from ..signals import stop_on_signals
from . import INDEX
from .validate import render as render_validate

log = logging.getLogger("asbkit.restore")

TOOL = f"asbkit {__version__}"
HELP = INDEX["restore"][1]


def parse_nice(text: str | None) -> tuple[int, int]:
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


def add_arguments(p: argparse.ArgumentParser) -> None:
    """asrestore's flags, short and long, with its defaults."""
    add_cluster_output_options(p, TOOL)
    b = FlagBuilder(p, "restore")
    sleep = extra(
        "--sleep-between-retries", "--retry-delay", type=int, default=0, metavar="MS", group=CONNECTION,
        help="accepted for asrestore's scripts, without effect: --retry-scale-factor sets the pauses",
    )
    group = INPUT["restore"]
    add_cluster_flags(b, RestoreOptions, retries=[fields_of(RestoreOptions, "max_retries"), sleep], extras=[
        extra("--validate", action="store_true", group=group, after="parent_directory", help="only parse the backup (as asbkit validate); no cluster"),
        extra("-m", "--machine", metavar="PATH", group=group, after="parent_directory", help="write machine-readable progress and summary lines to PATH (a file, appended to, or a FIFO)"),
        extra("-N", "--nice", metavar="MiB/s,TPS", group=SPEED["restore"], after="parallel", help="read at most MiB/s and write at most TPS records/s"),
        extra("--event-loops", type=int, default=1, metavar="N", group=SPEED["restore"], after="max_async_batches", help="accepted for asrestore's scripts; asbkit's writers are threads (-t)"),
        *dask_flags("restore"),
    ])


def options_from(args: argparse.Namespace) -> tuple[ClusterConfig, RestoreOptions]:
    bandwidth, tps = parse_nice(args.nice)
    if args.nice is None:
        # astools.conf's [asrestore] bandwidth and tps, which -N sets together.
        bandwidth, tps = getattr(args, "nice_bandwidth", 0), getattr(args, "nice_tps", 0)
    return cluster_config_from(args, "restore"), build(RestoreOptions, args, "restore", bandwidth_mib=bandwidth, tps=tps)


def run(args: argparse.Namespace) -> CommandResult[Any]:
    configure_logging(args.verbose, log_json=args.log_json)
    config, options = options_from_flags(args, options_from, check_options, log)
    if args.validate:
        try:
            files = input_files(options)
        except AsbError as exc:
            return CommandResult("restore", RestoreReport(), [exc])
        empty = ValidateReport(options.layers.describe(), [], 0, 0, 0, 0, 0)
        sources: list[Source] = list(files)
        return outcome("validate", lambda: validate(sources, options.layers), empty, findings=lambda r: r.findings)
    if args.event_loops != 1:
        log.info("--event-loops is accepted for asrestore's scripts and has no effect: -t/--parallel sets the writers")
    if args.sleep_between_retries:
        log.info("--sleep-between-retries/--retry-delay has no effect on a restore (as in asrestore): --retry-scale-factor sets the pauses")
    with open_machine_lines(args) as machine, stop_on_signals() as cancel:
        display = RestoreDisplay(enabled=False if args.no_progress else None, machine=machine)
        try:

            def call() -> RestoreReport:
                connect = with_password(config)
                if not args.dask:
                    return restore(connect, options, on_progress=display, cancel=cancel)
                with dask_client(args) as client:
                    return sharded_restore(client, connect, options, on_progress=display, cancel=cancel)

            result = outcome("restore", call, RestoreReport())
        finally:
            display.close()
        if machine is not None:
            machine.summary(*result.data.machine_summary())
    return result


def render(result: CommandResult[Any]) -> str:
    r = result.data
    if not isinstance(r, RestoreReport):
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


COMMANDS = (
    Command(
        "restore", HELP, add_arguments, run, render, description=HELP, help_flags=("--help", "-Z", "--usage", "--options"),
        config_sections=("cluster", "secret-agent", "asrestore"), errors_as_log_lines=True,
    ),
)
