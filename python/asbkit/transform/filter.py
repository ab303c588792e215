"""Filter (asb to asb through asrestore's filters) and split (one backup into files that
restore on their own)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asbkit._codec as _codec

from ..errors import AsbError, with_report
from ..io import places
from ..io.files import Source, expand_sources
from ..io.layers import Layers
from .selection import Selection

OnBytes = Callable[[int], None]


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


def _copy(
    source: Source, dest: str, layers: Layers, selection: Selection, on_progress: OnBytes | None, parts: _codec._Parts | None = None
) -> FilterReport:
    """The sources through `selection` into `dest`: one file, or with `parts` (prefix,
    records or text_bytes per file) a directory of split files."""
    report = FilterReport(str(source), dest, layers.describe())
    try:
        files = expand_sources(source)
        counts = _codec.asb_to_asb(
            files, dest, parts=parts, layers=layers.codec_args(), progress=on_progress, **selection.codec_args()
        )
    except (AsbError, OSError) as exc:
        raise with_report(exc, report) from None
    except ValueError as exc:
        raise with_report(AsbError(str(exc)), report) from None
    report.records, report.skipped, report.indexes, report.udfs = counts.records, counts.skipped, counts.indexes, counts.udfs
    # A pipe, a device or `-` is written in place: not among the renamed files.
    report.outputs = [str(p) for p in counts.files] or ([dest] if parts is None else [])
    return report


def filter_backup(
    source: Source,
    dest: str,
    layers: Layers | None = None,
    *,
    selection: Selection | None = None,
    on_progress: OnBytes | None = None,
) -> FilterReport:
    """Copies a backup (file, directory or stdin) into one `.asb` file (or `-`), keeping what
    the selection keeps. The output is written whole or not at all."""
    return _copy(source, dest, layers or Layers(), selection or Selection(), on_progress)


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
    on_progress: OnBytes | None = None,
) -> FilterReport:
    """Splits a backup into files of about equal record count (`parts` or `records` per
    file) or size (`size_mb` of text per file), each restorable on its own: every file has
    the header, the first keeps the indexes and UDFs. Cuts fall between records."""
    layers = layers or Layers()
    empty = FilterReport(str(source), dest_dir, layers.describe())
    if sum(x is not None for x in (parts, records, size_mb)) != 1:
        raise with_report(AsbError("give one of --parts, --records, --size"), empty)
    if places.is_url(dest_dir):
        if any(n.endswith(".asb") for n in places.names_in(dest_dir)):
            raise with_report(AsbError("the prefix already holds .asb objects", path=dest_dir), empty)
    else:
        out = Path(dest_dir)
        out.mkdir(parents=True, exist_ok=True)
        if any(out.glob("*.asb")):
            raise with_report(AsbError("the directory already holds .asb files", path=dest_dir), empty)
    if parts is not None:
        summarizer = _codec.Summarizer(False, None)
        try:
            codec_layers = layers.codec_args()
            for f in expand_sources(source):
                summarizer.read(f, layers=codec_layers)
        except (AsbError, OSError) as exc:
            raise with_report(exc, empty) from None
        records = max(1, math.ceil(summarizer.result().records / max(parts, 1)))
    files: _codec._Parts = {"prefix": prefix, "records": records, "text_bytes": None if records is not None else int((size_mb or 0) * 2**20)}
    return _copy(source, dest_dir, layers, selection or Selection(), on_progress, files)


