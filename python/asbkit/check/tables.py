"""What inspect and stats share: the names of key and bin types, void times as dates, and
the per-set and per-bin tables built from the summarizer's summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import asbkit._codec as _codec

#: Void times count seconds from 2010-01-01T00:00:00Z (the "citrusleaf" epoch).
CITRUSLEAF_EPOCH = 1262304000

KEY_TYPE_NAMES = {"I": "integer", "D": "double", "S": "string", "B": "bytes"}
BIN_TYPE_NAMES = {
    "N": "nil", "Z": "boolean", "I": "integer", "D": "double", "S": "string", "G": "geojson",
    "B": "blob", "J": "java-blob", "C": "csharp-blob", "P": "python-blob", "R": "ruby-blob",
    "H": "php-blob", "E": "erlang-blob", "Y": "hll", "M": "map", "L": "list",
}


def void_time_iso(void_time: int) -> str:
    when = datetime.fromtimestamp(CITRUSLEAF_EPOCH + void_time, tz=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SetInfo:
    set: str | None
    records: int
    bytes: int
    with_key: int


@dataclass
class MinMax:
    min: int
    max: int


def min_max(r: _codec.ValueRange | None) -> MinMax | None:
    return MinMax(r.min, r.max) if r else None


def sets_of(summary: _codec.BackupSummary) -> list[SetInfo]:
    """The summary's sets, most records first."""
    sets = (SetInfo(s.set, s.records, s.bytes, s.with_key) for s in summary.sets)
    return sorted(sets, key=lambda s: (-s.records, s.set or ""))


def bin_types_of(summary: _codec.BackupSummary) -> list[tuple[_codec.BinSummary, int, dict[str, int]]]:
    """(bin, values, type name → count) of the summary's bins, most values first."""
    rows = [(b, sum(b.counts.values()), {BIN_TYPE_NAMES[k]: n for k, n in b.counts.items()}) for b in summary.bins]
    return sorted(rows, key=lambda r: (-r[1], r[0].name))
