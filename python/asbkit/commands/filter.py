"""`asbkit filter` (asb to asb through asrestore's filters) and `asbkit split`."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path

from .. import _codec
from ..errors import AsbError
from ..files import Source, expand_sources
from ..layers import Layers
from ..progress import Progress, total_size
from ..result import CommandResult
from ._options import (
    Command, add_filter_options, add_layer_options, add_output_options, layers_from, plural, progress_from,
    selection_from,
)
from .convert import Selection


@dataclass
class FilterReport:
    source: str
    dest: str
    layers: str
    records: int = 0
    skipped: int = 0
    indexes: int = 0
    udfs: int = 0
    #: The files written.
    outputs: list[str] = field(default_factory=list)


def _run(
    command: str, source: Source, dest: str, layers: Layers, selection: Selection, progress: bool | None, **split: object
) -> CommandResult[FilterReport]:
    report = FilterReport(str(source), dest, layers.describe())
    bar = Progress(None, enabled=False)
    try:
        files = expand_sources(source)
        bar = Progress(total_size(files), enabled=progress)
        counts, outputs = _codec.asb_to_asb(
            files, dest, level=layers.compression_level, progress=bar.update,
            **split, **layers.codec_args(), **selection.codec_args()
        )
    except (AsbError, OSError, ValueError) as exc:
        err = exc if isinstance(exc, (AsbError, OSError)) else AsbError(str(exc))
        return CommandResult(command, report, [err])
    finally:
        bar.close()
    report.records, report.skipped = counts["records"], counts["skipped"]
    report.indexes, report.udfs = counts["indexes"], counts["udfs"]
    # A pipe, a device or `-` is written in place: not among the renamed files.
    report.outputs = [str(p) for p in outputs] or ([dest] if not split else [])
    return CommandResult(command, report)


def filter_backup(
    source: Source,
    dest: str,
    layers: Layers | None = None,
    *,
    selection: Selection | None = None,
    progress: bool | None = False,
) -> CommandResult[FilterReport]:
    """Copies a backup (file, directory or stdin) into one `.asb` file (or `-`), keeping what
    the selection keeps. The output is written whole or not at all."""
    return _run("filter", source, dest, layers or Layers(), selection or Selection(), progress)


def split_backup(
    source: Source,
    dest_dir: str,
    layers: Layers | None = None,
    *,
    parts: int | None = None,
    records: int | None = None,
    size_mb: float | None = None,
    prefix: str | None = None,
    selection: Selection | None = None,
    progress: bool | None = False,
) -> CommandResult[FilterReport]:
    """Splits a backup into files of about equal record count (`parts` or `records` per
    file) or size (`size_mb` of text per file), each restorable on its own: every file has
    the header, the first keeps the indexes and UDFs. Cuts fall between records."""
    layers = layers or Layers()
    if sum(x is not None for x in (parts, records, size_mb)) != 1:
        return CommandResult("split", FilterReport(str(source), dest_dir, layers.describe()), [AsbError("give one of --parts, --records, --size")])
    out = Path(dest_dir)
    out.mkdir(parents=True, exist_ok=True)
    if any(out.glob("*.asb")):
        return CommandResult("split", FilterReport(str(source), dest_dir, layers.describe()), [AsbError("the directory already holds .asb files", path=dest_dir)])
    if parts is not None:
        scanner = _codec.Scanner()
        try:
            for f in expand_sources(source):
                scanner.scan(f, **layers.codec_args())
        except (AsbError, OSError) as exc:
            return CommandResult("split", FilterReport(str(source), dest_dir, layers.describe()), [exc])
        records = max(1, math.ceil(scanner.result()["records"] / max(parts, 1)))
    split = {"split_records": records} if records is not None else {"split_bytes": int((size_mb or 0) * 2**20)}
    return _run("split", source, dest_dir, layers, selection or Selection(), progress, prefix=prefix, **split)


# The command line.


def _add_common(p: argparse.ArgumentParser) -> None:
    add_layer_options(p)
    p.add_argument("--compression-level", type=int, default=0, metavar="N")
    add_filter_options(p)
    add_output_options(p)


def add_filter_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="IN", help="backup file, directory of .asb files, or -")
    p.add_argument("dest", metavar="OUT", help=".asb file, or - for stdout")
    _add_common(p)


def add_split_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="IN", help="backup file, directory of .asb files, or -")
    p.add_argument("dest", metavar="DIR", help="directory for <prefix>_NNNNN.asb")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--parts", type=int, metavar="N", help="N files of about equal record count")
    g.add_argument("--records", type=int, metavar="N", help="N records per file")
    g.add_argument("--size", type=float, metavar="MiB", help="about this much text per file")
    p.add_argument("-q", "--output-file-prefix", dest="prefix", metavar="P", help="file name prefix (default: the namespace)")
    _add_common(p)


def run_filter(args: argparse.Namespace) -> CommandResult[FilterReport]:
    layers, selection = layers_from(args), selection_from(args)
    return filter_backup(args.source, args.dest, layers, selection=selection, progress=progress_from(args))


def run_split(args: argparse.Namespace) -> CommandResult[FilterReport]:
    layers, selection = layers_from(args), selection_from(args)
    return split_backup(
        args.source, args.dest, layers,
        parts=args.parts, records=args.records, size_mb=args.size, prefix=args.prefix, selection=selection,
        progress=progress_from(args),
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
        "filter", "copy a backup into one .asb file, keeping what the filters keep",
        add_filter_arguments, run_filter, render, data_on_stdout=to_stdout,
    ),
    Command("split", "split a backup into files that restore on their own", add_split_arguments, run_split, render),
)
