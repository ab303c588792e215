"""`asbkit verify BACKUP`: does the cluster hold what the backup holds? Restore's input,
namespace, filter and layer flags, over `asbkit.verify`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from ...cluster.client import CONNECTION, ClusterConfig
from ...io import places
from ...restoring.options import RestoreOptions, check_options
from ...restoring.verify import VerifyReport, verify
from ...sharded import verify as sharded_verify
from ...version import __version__
from ..cluster_flags import add_cluster_flags, cluster_config_from, options_from_flags, with_password
from ..dask_flags import dask_client, dask_flags
from ..display import RestoreDisplay
from ..envelope import CommandResult, outcome
from ..flags import Command, FlagBuilder, add_cluster_output_options, build, configure_logging, extra, fields_of, set_up_store
from ..signals import stop_on_signals
from . import INDEX

log = logging.getLogger("asbkit.verify")

HELP = INDEX["verify"][1]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("backup", nargs="?", metavar="BACKUP", help="a backup file (- for stdin) or a directory of .asb files")
    b = FlagBuilder(p, "verify")
    sleep = extra(
        "--sleep-between-retries", "--retry-delay", type=int, default=0, metavar="MS", group=CONNECTION,
        help="accepted, without effect: --retry-scale-factor sets the pauses",
    )
    add_cluster_flags(b, RestoreOptions, retries=[fields_of(RestoreOptions, "max_retries"), sleep], extras=dask_flags("verify"))
    add_cluster_output_options(p, f"asbkit {__version__}")
    p.add_argument("--max-differences", type=int, default=20, metavar="N", help="list the first N records missing or different (default 20)")


def options_from(args: argparse.Namespace) -> tuple[ClusterConfig, RestoreOptions]:
    given: dict[str, Any] = {}
    if args.backup:
        if args.directory or args.input_file or args.directory_list:
            raise ValueError("give the backup once: BACKUP, -d, -i or --directory-list")
        set_up_store(args, args.backup)
        is_dir = places.is_dir(args.backup) if places.is_url(args.backup) else Path(args.backup).is_dir()
        given = {"directory": args.backup, "input_file": None} if is_dir else {"directory": None, "input_file": args.backup}
    return cluster_config_from(args, "verify"), build(RestoreOptions, args, "verify", **given)


def run(args: argparse.Namespace) -> CommandResult[VerifyReport]:
    configure_logging(args.verbose, logging.WARNING, log_json=args.log_json)
    config, options = options_from_flags(args, options_from, check_options, log)
    with stop_on_signals() as cancel:
        display = RestoreDisplay(enabled=False if args.no_progress else None)
        try:

            def call() -> VerifyReport:
                connect = with_password(config)
                if not args.dask:
                    return verify(connect, options, max_differences=args.max_differences, on_progress=display, cancel=cancel)
                with dask_client(args) as client:
                    return sharded_verify(client, connect, options, max_differences=args.max_differences, on_progress=display, cancel=cancel)

            return outcome("verify", call, VerifyReport(), findings=lambda r: r.findings)
        finally:
            display.close()


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


COMMANDS = (
    Command(
        "verify", HELP, add_arguments, run, render, description=HELP, help_flags=("--help", "-Z", "--usage", "--options"),
        config_sections=("cluster", "secret-agent", "asbkit-verify"), errors_as_log_lines=True,
    ),
)
