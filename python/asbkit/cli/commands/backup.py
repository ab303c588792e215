"""`asbkit backup`: asbackup's flags, short and long, with its defaults, over
`asbkit.backup`."""

from __future__ import annotations

import argparse
import logging

from ...backing_up.options import SPEED, BackupOptions, check_options
from ...backing_up.report import BackupReport
from ...backing_up.run import backup
from ...cluster.client import ClusterConfig
from ...sharded import backup as sharded_backup
from ...sharded.backing_up import check_dask_options
from ...version import __version__
from ..cluster_flags import add_cluster_flags, cluster_config_from, options_from_flags, with_password
from ..dask_flags import dask_client, dask_flags
from ..display import BackupDisplay
from ..envelope import CommandResult, outcome
from ..flags import Command, FlagBuilder, add_cluster_output_options, build, configure_logging, extra, fields_of, open_machine_lines
from ..signals import stop_on_signals
from . import INDEX

log = logging.getLogger("asbkit.backup")

TOOL = f"asbkit {__version__}"
HELP = INDEX["backup"][1]


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_cluster_output_options(p, TOOL)
    b = FlagBuilder(p, "backup")
    machine = extra("-m", "--machine", metavar="PATH", group=SPEED, after="nice", help="write machine-readable progress and summary lines to PATH (a file, appended to, or a FIFO)")
    add_cluster_flags(b, BackupOptions, retries=[fields_of(BackupOptions, "max_retries", "sleep_between_retries")], extras=[machine, *dask_flags("backup")])


def options_from(args: argparse.Namespace) -> tuple[ClusterConfig, BackupOptions]:
    return cluster_config_from(args, "backup"), build(BackupOptions, args, "backup")


def run(args: argparse.Namespace) -> CommandResult[BackupReport]:
    configure_logging(args.verbose, log_json=args.log_json)
    config, options = options_from_flags(args, options_from, check_options, log)
    with open_machine_lines(args) as machine, stop_on_signals() as cancel:
        display = BackupDisplay(enabled=False if args.no_progress else None, machine=machine)

        def call() -> BackupReport:
            # Removing a backup's files connects to no cluster: no password is asked for.
            connect = config if options.remove_artifacts else with_password(config)
            if not args.dask:
                return backup(connect, options, on_progress=display, cancel=cancel)
            check_dask_options(options)
            with dask_client(args) as client:
                return sharded_backup(client, connect, options, shards=args.dask_shards, on_progress=display, cancel=cancel)

        try:
            result = outcome("backup", call, BackupReport(namespace=options.namespace))
        finally:
            display.close()
        r = result.data
        if machine is not None and not options.remove_artifacts and not options.estimate and (result.ok or r.started()):
            machine.summary(r.records, r.indexes, r.udfs, r.bytes, r.bytes // r.records if r.records else 0)
    return result


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


def _stdout_data(args: argparse.Namespace) -> bool:
    return getattr(args, "output_file", None) == "-"


COMMANDS = (
    Command(
        "backup", HELP, add_arguments, run, render, description=HELP,
        help_flags=("--help", "-Z", "--usage", "--options"), config_sections=("cluster", "secret-agent", "asbackup"),
        data_on_stdout=_stdout_data, errors_as_log_lines=True,
    ),
)
