"""`asbkit stats`: what the data in a backup looks like, per set and per bin."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..files import Source
from ..layers import Layers
from ..result import CommandResult
from ._scan import run_scan
from .inspect import BIN_TYPE_NAMES, MinMax, SetInfo


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
    sources: Source | list[Source], layers: Layers | None = None, *, progress: bool | None = None, max_listed: int = 20
) -> CommandResult[StatsReport]:
    layers = layers or Layers()
    summary, errors = run_scan(
        sources, layers, detail=True, progress=progress, deep=True, check_digests=False, max_issues=max_listed
    )
    sizes = summary.get("bin_sizes", {})
    bins = [
        BinSummary(name, sum(t.values()), {BIN_TYPE_NAMES[k]: n for k, n in t.items()}, *sizes[name])
        for name, t in summary.get("bins", {}).items()
    ]
    bins.sort(key=lambda b: (-b.count, b.name))
    sets = sorted((SetInfo(**s) for s in summary.get("sets", [])), key=lambda s: (-s.records, s.set or ""))
    deep = summary.get("deep", {"issue_counts": {}, "issues": []})
    gen = summary.get("generation")
    report = StatsReport(
        layers=layers.describe(),
        files=len(summary["files"]),
        records=sum(f["records"] for f in summary["files"]),
        text_bytes=sum(f["text_bytes"] for f in summary["files"]),
        sets=sets,
        bins=bins,
        ttl=TtlSummary(summary.get("never_expire", 0), summary.get("expired", 0), summary.get("expiry_months", {})),
        generation=MinMax(gen["min"], gen["max"]) if gen else None,
        duplicate_digests=deep["issue_counts"].get("duplicate_digest", 0),
        duplicates=[f"{i['path']}: {i['message']}" for i in deep["issues"] if i["kind"] == "duplicate_digest"],
    )
    return CommandResult("stats", report, errors)
