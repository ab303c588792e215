"""`asbkit filter` (asb to asb through asrestore's filters) and `asbkit split`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from .. import _codec
from ..errors import AsbError
from ..files import Source, expand_sources
from ..layers import Layers
from ..progress import Progress, total_size
from ..result import CommandResult
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
