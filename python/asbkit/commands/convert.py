"""`asbkit convert`: `.asb` to JSON Lines and back, losslessly, with filters."""

from __future__ import annotations

import argparse
import os
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

FORMATS = ("asb", "jsonl")
_EXTENSIONS = {".asb": "asb", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


@dataclass
class Selection:
    """asrestore's filters, applied while converting."""

    sets: list[str] | None = None
    bins: list[str] | None = None
    #: (old, new): records of namespace old are written as new; others are an error.
    namespace: tuple[str, str] | None = None
    max_records: int | None = None
    no_metadata: bool = False
    #: Keep only records with these digests (20 bytes each).
    digests: list[bytes] | None = None
    #: Keep only records with these user keys: ("I", int), ("S", str) or ("B", bytes).
    keys: list[tuple[str, object]] | None = None
    #: Record the text of doubles not in C's %.17g form (Go writes shortest forms such as
    #: 0.1), so converting back gives the same bytes. Costs a few percent of speed.
    keep_double_text: bool = False

    def codec_args(self) -> dict[str, object]:
        enc = lambda s: s.encode("utf-8", "surrogateescape")  # noqa: E731
        return {
            "selection": {
                "sets": [enc(s) for s in self.sets] if self.sets else None,
                "bins": [enc(b) for b in self.bins] if self.bins else None,
                "namespace": (enc(self.namespace[0]), enc(self.namespace[1])) if self.namespace else None,
                "max_records": self.max_records,
                "no_metadata": self.no_metadata,
                "digests": self.digests,
                "keys": self.keys,
                "double_text": self.keep_double_text,
            }
        }


@dataclass
class ConvertReport:
    source: str
    dest: str
    source_format: str
    dest_format: str
    layers: str
    records: int = 0
    skipped: int = 0
    indexes: int = 0
    udfs: int = 0
    files: list[str] = field(default_factory=list)


def detect_format(path: str, given: str | None, side: str) -> str:
    if given:
        if given not in FORMATS:
            raise AsbError(f"unknown format {given!r} (asb or jsonl)")
        return given
    if path != "-" and (Path(path).is_dir() or path.endswith("/")):
        return "asb"
    fmt = _EXTENSIONS.get(Path(path).suffix.lower())
    if fmt is None:
        flag = "--from" if side == "input" else "--to"
        raise AsbError(f"cannot tell the format of {path!r} from its name: pass {flag} asb|jsonl", path=path)
    return fmt


def convert(
    source: str,
    dest: str,
    layers: Layers | None = None,
    *,
    source_format: str | None = None,
    dest_format: str | None = None,
    selection: Selection | None = None,
    progress: bool | None = False,
) -> CommandResult[ConvertReport]:
    """Converts one backup (file, directory or stdin) to the other form.

    JSON Lines holding several files (one header each, as converting a directory gives)
    go back into a directory (`dest` existing or ending in `/`), one file per header under
    the name it records. Outputs are written under temporary names and renamed when
    complete; on error nothing is left behind.
    """
    layers = layers or Layers()
    selection = selection or Selection()
    report = ConvertReport(source, dest, source_format or "?", dest_format or "?", layers.describe())
    tmp: str | None = None
    try:
        report.source_format = detect_format(source, source_format, "input")
        report.dest_format = detect_format(dest, dest_format, "output")
        if report.source_format == report.dest_format:
            raise AsbError(f"both sides are {report.source_format}: convert goes from asb to jsonl or back")
        target: str = dest
        to_dir = report.dest_format == "asb" and dest != "-" and (Path(dest).is_dir() or dest.endswith("/"))
        if to_dir:
            # One .asb file per header of the JSON, written whole or not at all.
            Path(dest).mkdir(parents=True, exist_ok=True)
        elif dest != "-":
            staged, tmp = _codec.stage_output(dest)
            target = str(staged)
        args = {**layers.codec_args(), **selection.codec_args()}
        if report.source_format == "asb":
            files: list[Source] = expand_sources(source)
            report.files = [str(f) for f in files]
            bar = Progress(total_size(files), enabled=progress)
            try:
                counts = _codec.asb_to_jsonl(files, target, progress=bar.update, **args)
            finally:
                bar.close()
        else:
            counts = _codec.jsonl_to_asb(source, target, level=layers.compression_level, **args)
        if tmp is not None:
            os.replace(tmp, dest)
            tmp = None
        if "files" in counts:
            report.files = [str(f) for f in counts["files"]]
        report.records, report.skipped = counts["records"], counts["skipped"]
        report.indexes, report.udfs = counts["indexes"], counts["udfs"]
        return CommandResult("convert", report)
    except (AsbError, OSError) as exc:
        return CommandResult("convert", report, [exc])
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


# The command line.


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="IN")
    p.add_argument("dest", metavar="OUT")
    p.add_argument("--from", dest="source_format", choices=list(FORMATS))
    p.add_argument("--to", dest="dest_format", choices=list(FORMATS))
    add_layer_options(p)
    p.add_argument("--compression-level", type=int, default=0, metavar="N", help="zstd level when writing .asb (0: default 3)")
    p.add_argument(
        "--keep-double-text", action="store_true",
        help="record doubles not written as C's %%.17g (Go writes shortest forms like 0.1) as they were, "
        "so converting back gives the same bytes (a few percent slower)",
    )
    add_filter_options(p)
    add_output_options(p)


def run(args: argparse.Namespace) -> CommandResult[ConvertReport]:
    layers, selection = layers_from(args), selection_from(args)
    return convert(
        args.source, args.dest, layers,
        source_format=args.source_format, dest_format=args.dest_format, selection=selection,
        progress=progress_from(args),
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
        "convert a backup to JSON Lines or back, losslessly",
        add_arguments,
        run,
        render,
        description="Convert .asb (file, directory or -) to JSON Lines, or JSON Lines back to .asb. "
        "The format follows the names' extensions (.asb, .jsonl); use --from/--to for - or other names. "
        "Layer options apply to the .asb side.",
        data_on_stdout=to_stdout,
    ),
)
