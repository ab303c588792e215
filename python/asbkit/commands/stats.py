"""`asbkit stats`: what the data in a backup looks like, per set and per bin."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from ..files import Source
from ..layers import Layers
from ..result import CommandResult
from ._options import (
    Command, add_input_arguments, add_layer_options, add_output_options, layers_from, mib, plural, progress_from,
    sources_from,
)
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


# The command line.

HELP = "statistics: per set and bin, value sizes, TTLs by month, duplicate digests"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_input_arguments(p)
    add_layer_options(p)
    add_output_options(p)


def run(args: argparse.Namespace) -> CommandResult[StatsReport]:
    layers, progress = layers_from(args), progress_from(args)
    return stats(sources_from(args), layers, progress=progress)


def render(result: CommandResult[StatsReport]) -> str:
    r = result.data
    out = [f"{plural(r.files, 'file')}, {plural(r.records, 'record')}, {mib(r.text_bytes)} of text ({r.layers})"]
    if r.sets:
        width = max(len(s.set or "(no set)") for s in r.sets)
        out += ["", f"  {'set':<{width}}  {'records':>12}  {'bytes':>14}  {'with key':>12}"]
        out += [f"  {s.set or '(no set)':<{width}}  {s.records:>12,}  {s.bytes:>14,}  {s.with_key:>12,}" for s in r.sets]
    if r.bins:
        width = max(max(len(b.name) for b in r.bins), 3)
        out += ["", f"  {'bin':<{width}}  {'count':>12}  {'size min/median/max':>24}  types"]
        for b in r.bins:
            types = ", ".join(f"{t} {n:,}" for t, n in sorted(b.types.items(), key=lambda kv: -kv[1]))
            sizes = f"{b.size_min:,}/{b.size_median:,}/{b.size_max:,}"
            out.append(f"  {b.name:<{width}}  {b.count:>12,}  {sizes:>24}  {types}")
    t = r.ttl
    out += ["", f"TTL: {t.never_expire:,} never expire, {t.expired_now:,} already expired"]
    out += [f"  {month}  {n:>12,}" for month, n in t.by_month.items()]
    if r.generation:
        out.append(f"Generation: {r.generation.min:,} to {r.generation.max:,}")
    out.append(f"Duplicate digests: {r.duplicate_digests:,}")
    out += [f"  {d}" for d in r.duplicates]
    return "\n".join(out)


COMMANDS = (Command("stats", HELP, add_arguments, run, render, description=HELP),)
