"""Convert: `.asb` to JSON Lines and back, losslessly, with filters."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asbkit._codec as _codec

from ..errors import AsbError, with_report
from ..io import places
from ..io.files import Source, expand_sources
from ..io.layers import Layers
from .selection import Selection

FORMATS = ("asb", "jsonl")
_EXTENSIONS = {".asb": "asb", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


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
    if path != "-" and (places.is_dir(path) or path.endswith("/")):
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
    on_progress: Callable[[int], None] | None = None,
) -> ConvertReport:
    """Converts one backup (file, directory or stdin) to the other form.

    JSON Lines holding several files (one header each, as converting a directory gives)
    go back into a directory (`dest` existing or ending in `/`), one file per header under
    the name it records. Outputs are written under temporary names and renamed when
    complete; on error nothing is left behind, and the error is raised with the report so
    far. `on_progress` gets the bytes of input read so far.
    """
    layers = layers or Layers()
    selection = selection or Selection()
    report = ConvertReport(source, dest, source_format or "?", dest_format or "?", layers.describe())
    tmp: Path | None = None
    try:
        report.source_format = detect_format(source, source_format, "input")
        report.dest_format = detect_format(dest, dest_format, "output")
        if report.source_format == report.dest_format:
            raise AsbError(f"both sides are {report.source_format}: convert goes from asb to jsonl or back")
        target: str = dest
        to_dir = report.dest_format == "asb" and dest != "-" and (places.is_dir(dest) or dest.endswith("/"))
        if places.is_url(dest):
            # An upload completed (the object appears, whole) only when the output is; a
            # prefix is said with its `/`.
            target = dest.rstrip("/") + "/" if to_dir else dest
        elif to_dir:
            # One .asb file per header of the JSON, written whole or not at all.
            Path(dest).mkdir(parents=True, exist_ok=True)
        elif dest != "-":
            staged, tmp = _codec.stage_output(dest)
            target = str(staged)
        args = {"layers": layers.codec_args(), **selection.codec_args()}
        if report.source_format == "asb":
            files: list[Source] = expand_sources(source)
            report.files = [str(f) for f in files]
            pieces = (os.cpu_count() or 1, _codec.CONVERT_PIECE_SIZE)
            counts = _codec.asb_to_jsonl(files, target, pieces=pieces, progress=on_progress, **args)
        else:
            counts = _codec.jsonl_to_asb(source, target, **args)
        if tmp is not None:
            os.replace(tmp, dest)
            tmp = None
        if report.source_format != "asb" and counts.files:
            report.files = [str(f) for f in counts.files]  # a directory's files, back from JSON
        report.records, report.skipped, report.indexes, report.udfs = counts.records, counts.skipped, counts.indexes, counts.udfs
        return report
    except (AsbError, OSError) as exc:
        raise with_report(exc, report) from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


