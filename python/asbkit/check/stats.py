"""Statistics of a backup: what its data looks like, per set and per bin."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import with_report
from ..io.files import Source
from ..io.layers import Layers
from .reading import OnBytes, read_through
from .tables import MinMax, SetInfo, bin_types_of, min_max, sets_of


@dataclass
class BinSummary:
    name: str
    count: int
    types: dict[str, int]
    #: Value size in bytes (strings and blobs: their length; numbers 8; booleans 1).
    size_min: int
    size_median: int
    size_max: int


@dataclass
class TtlSummary:
    never_expire: int
    expired_now: int
    #: Expiring records by month of their void time, "YYYY-MM".
    by_month: dict[str, int] = field(default_factory=dict)


@dataclass
class StatsReport:
    layers: str
    files: int
    records: int
    text_bytes: int
    sets: list[SetInfo]
    bins: list[BinSummary]
    ttl: TtlSummary
    generation: MinMax | None
    duplicate_digests: int
    #: The first duplicates: file and message.
    duplicates: list[str]


def stats(
    sources: Source | list[Source], layers: Layers | None = None, *, max_listed: int = 20, on_progress: OnBytes | None = None
) -> StatsReport:
    """Per set records, bytes and keys; per bin type counts and value sizes; TTLs by month;
    generations; duplicate digests (the first `max_listed` listed). A read error is raised
    with what was read before it as its `report`."""
    layers = layers or Layers()
    summary, error = read_through(
        sources, layers, detail=True, deep=True, check_digests=False, max_issues=max_listed, on_progress=on_progress
    )
    bins = [
        BinSummary(b.name, count, types, b.min_size, b.median_size, b.max_size)
        for b, count, types in bin_types_of(summary)
    ]
    deep = summary.deep
    issues = deep.issues if deep else []
    report = StatsReport(
        layers=layers.describe(),
        files=len(summary.files),
        records=sum(f.records for f in summary.files),
        text_bytes=sum(f.text_bytes for f in summary.files),
        sets=sets_of(summary),
        bins=bins,
        ttl=TtlSummary(summary.never_expire, summary.expired, summary.expiry_months),
        generation=min_max(summary.generation),
        duplicate_digests=deep.issue_counts.get("duplicate_digest", 0) if deep else 0,
        duplicates=[f"{i.path}: {i.message}" for i in issues if i.kind == "duplicate_digest"],
    )
    if error is not None:
        raise with_report(error, report)
    return report


