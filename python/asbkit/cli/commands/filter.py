"""`asbkit filter` (asb to asb through asrestore's filters) and `asbkit split`."""

from __future__ import annotations

import argparse

from ...io.layers import Layers
from ...transform.filter import FilterReport, filter_backup, split_backup
from ...transform.selection import Selection
from ..envelope import CommandResult
from ..flags import Command, FlagBuilder, add_output_options, add_s3_options, layers_from, plural, selection_from, set_up_store
from . import INDEX
from .validate import with_progress_bar


def _add_common(p: argparse.ArgumentParser, command: str) -> None:
    b = FlagBuilder(p, command)
    b.declared(Layers, only=("compress", "encrypt", "key_file", "key_env"))
    b.declared(Layers, only=("compression_level",))
    b.declared(Selection)
    add_s3_options(p)
    add_output_options(p)


def add_filter_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="IN", help="backup file, directory of .asb files, or -")
    p.add_argument("dest", metavar="OUT", help=".asb file, or - for stdout")
    _add_common(p, "filter")


def add_split_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="IN", help="backup file, directory of .asb files, or -")
    p.add_argument("dest", metavar="DIR", help="directory for <prefix>_NNNNN.asb")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--parts", type=int, metavar="N", help="N files of about equal record count")
    g.add_argument("--records", type=int, metavar="N", help="N records per file")
    g.add_argument("--size", type=float, metavar="MiB", help="about this much text per file")
    p.add_argument("-q", "--output-file-prefix", dest="prefix", metavar="P", help="file name prefix (default: the namespace)")
    _add_common(p, "split")


def run_filter(args: argparse.Namespace) -> CommandResult[FilterReport]:
    layers, selection = layers_from(args, "filter"), selection_from(args, "filter")
    set_up_store(args, args.source, args.dest)
    return with_progress_bar(
        args, "filter", args.source,
        lambda progress: filter_backup(args.source, args.dest, layers, selection=selection, on_progress=progress),
        FilterReport(str(args.source), args.dest, layers.describe()),
    )


def run_split(args: argparse.Namespace) -> CommandResult[FilterReport]:
    layers, selection = layers_from(args, "split"), selection_from(args, "split")
    set_up_store(args, args.source, args.dest)
    return with_progress_bar(
        args, "split", args.source,
        lambda progress: split_backup(
            args.source, args.dest, layers, parts=args.parts, records=args.records, size_mb=args.size,
            prefix=args.prefix, selection=selection, on_progress=progress,
        ),
        FilterReport(str(args.source), args.dest, layers.describe()),
    )


def render(result: CommandResult[FilterReport]) -> str:
    r = result.data
    if not result.ok:
        return ""
    skipped = f", {r.skipped:,} filtered out" if r.skipped else ""
    lines = [f"  {o}" for o in r.outputs] if len(r.outputs) > 1 else []
    lines.append(
        f"wrote {plural(len(r.outputs), 'file')}: {plural(r.records, 'record')}{skipped}, "
        f"{plural(r.indexes, 'index')}, {plural(r.udfs, 'UDF')}".replace("indexs", "indexes")
    )
    return "\n".join(lines)


def to_stdout(args: argparse.Namespace) -> bool:
    return bool(args.dest == "-")


COMMANDS = (
    Command(
        "filter", INDEX["filter"][1],
        add_filter_arguments, run_filter, render, data_on_stdout=to_stdout,
    ),
    Command("split", INDEX["split"][1], add_split_arguments, run_split, render),
)
