"""What inspect and stats share: the names of key and bin types, void times as dates, and
the per-set and per-bin tables built from the scanner's summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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


def min_max(r: dict[str, int] | None) -> MinMax | None:
    return MinMax(r["min"], r["max"]) if r else None


def sets_of(summary: dict[str, Any]) -> list[SetInfo]:
    """The summary's sets, most records first."""
    return sorted((SetInfo(**s) for s in summary.get("sets", [])), key=lambda s: (-s.records, s.set or ""))


def bin_types_of(summary: dict[str, Any]) -> list[tuple[str, int, dict[str, int]]]:
    """(bin, values, type name → count) of the summary's bins, most values first."""
    rows = [
        (name, sum(t.values()), {BIN_TYPE_NAMES[k]: n for k, n in t.items()})
        for name, t in summary.get("bins", {}).items()
    ]
    return sorted(rows, key=lambda r: (-r[1], r[0]))
