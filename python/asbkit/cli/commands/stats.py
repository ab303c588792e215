"""`asbkit stats`: what the data in a backup looks like, per set and per bin."""

from __future__ import annotations

import argparse

from ...check.stats import StatsReport, TtlSummary, stats
from ..envelope import CommandResult
from ..flags import Command, mib, plural
from . import INDEX
from ._tables import set_table, type_counts
from .validate import read_command, reading_arguments

HELP = INDEX["stats"][1]


def add_arguments(p: argparse.ArgumentParser) -> None:
    reading_arguments(p, "stats")


def run(args: argparse.Namespace) -> CommandResult[StatsReport]:
    return read_command(
        args, "stats",
        lambda sources, layers, progress: stats(sources, layers, on_progress=progress),
        lambda layers: StatsReport(layers.describe(), 0, 0, 0, [], [], TtlSummary(0, 0), None, 0, []),
    )


def render(result: CommandResult[StatsReport]) -> str:
    r = result.data
    out = [f"{plural(r.files, 'file')}, {plural(r.records, 'record')}, {mib(r.text_bytes)} of text ({r.layers})"]
    if r.sets:
        out += ["", *set_table(r.sets)]
    if r.bins:
        width = max(max(len(b.name) for b in r.bins), 3)
        out += ["", f"  {'bin':<{width}}  {'count':>12}  {'size min/median/max':>24}  types"]
        for b in r.bins:
            sizes = f"{b.size_min:,}/{b.size_median:,}/{b.size_max:,}"
            out.append(f"  {b.name:<{width}}  {b.count:>12,}  {sizes:>24}  {type_counts(b.types)}")
    t = r.ttl
    out += ["", f"TTL: {t.never_expire:,} never expire, {t.expired_now:,} already expired"]
    out += [f"  {month}  {n:>12,}" for month, n in t.by_month.items()]
    if r.generation:
        out.append(f"Generation: {r.generation.min:,} to {r.generation.max:,}")
    out.append(f"Duplicate digests: {r.duplicate_digests:,}")
    out += [f"  {d}" for d in r.duplicates]
    return "\n".join(out)


COMMANDS = (Command("stats", HELP, add_arguments, run, render, description=HELP),)
