"""`asbkit convert`: `.asb` to JSON Lines and back, losslessly, with filters."""

from __future__ import annotations

import argparse

from ...io.layers import Layers
from ...transform.convert import FORMATS, ConvertReport, convert
from ...transform.selection import Selection
from ..envelope import CommandResult
from ..flags import Command, FlagBuilder, add_output_options, add_s3_options, layers_from, plural, selection_from, set_up_store
from . import INDEX
from .validate import with_progress_bar


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="IN")
    p.add_argument("dest", metavar="OUT")
    p.add_argument("--from", dest="source_format", choices=list(FORMATS))
    p.add_argument("--to", dest="dest_format", choices=list(FORMATS))
    b = FlagBuilder(p, "convert")
    b.declared(Layers, only=("compress", "encrypt", "key_file", "key_env"))
    b.declared(Layers, only=("compression_level",))
    b.declared(Selection, only=("keep_double_text",))
    b.declared(Selection)
    add_s3_options(p)
    add_output_options(p)


def run(args: argparse.Namespace) -> CommandResult[ConvertReport]:
    layers, selection = layers_from(args, "convert"), selection_from(args, "convert")
    set_up_store(args, args.source, args.dest)
    return with_progress_bar(
        args, "convert", args.source,
        lambda progress: convert(args.source, args.dest, layers, source_format=args.source_format, dest_format=args.dest_format, selection=selection, on_progress=progress),
        ConvertReport(args.source, args.dest, args.source_format or "?", args.dest_format or "?", layers.describe()),
    )


def render(result: CommandResult[ConvertReport]) -> str:
    r = result.data
    if not result.ok:
        return ""
    skipped = f", {r.skipped:,} filtered out" if r.skipped else ""
    return (
        f"converted {r.source} ({r.source_format}) to {r.dest} ({r.dest_format}): "
        f"{plural(r.records, 'record')}{skipped}, {plural(r.indexes, 'index')}, {plural(r.udfs, 'UDF')}"
    ).replace("indexs", "indexes")


def to_stdout(args: argparse.Namespace) -> bool:
    return bool(args.dest == "-")


COMMANDS = (
    Command(
        "convert",
        INDEX["convert"][1],
        add_arguments,
        run,
        render,
        description="Convert .asb (file, directory or -) to JSON Lines, or JSON Lines back to .asb. "
        "The format follows the names' extensions (.asb, .jsonl); use --from/--to for - or other names. "
        "Layer options apply to the .asb side.",
        data_on_stdout=to_stdout,
    ),
)
