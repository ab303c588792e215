"""`asbkit inspect`: what a backup holds, without writing anything anywhere."""

from __future__ import annotations

import argparse

from ...check.inspect import Expiry, InspectReport, inspect
from ..envelope import CommandResult
from ..flags import Command, mib
from . import INDEX
from ._tables import set_table, type_counts
from .validate import read_command, reading_arguments

HELP = INDEX["inspect"][1]


def add_arguments(p: argparse.ArgumentParser) -> None:
    reading_arguments(p, "inspect")


def run(args: argparse.Namespace) -> CommandResult[InspectReport]:
    return read_command(
        args, "inspect",
        lambda sources, layers, progress: inspect(sources, layers, on_progress=progress),
        lambda layers: InspectReport(layers.describe(), [], [], None, 0, 0, 0, [], [], {}, 0, [], Expiry(0, 0, 0), None, None),
    )


def render(result: CommandResult[InspectReport]) -> str:
    r = result.data
    out: list[str] = []
    out.append(f"Files:        {len(r.files)} ({r.layers}, {mib(r.raw_bytes)} on disk, {mib(r.text_bytes)} of text)")
    out.append(f"Version:      {', '.join(r.versions) or '-'}")
    out.append(f"Namespace:    {', '.join(r.namespaces) or '-'}")
    out.append(f"First file:   {r.first_file or '-'}")
    keys = ", ".join(f"{n:,} {t}" for t, n in r.keys.items())
    out.append(f"Records:      {r.records:,}" + (f" (keys: {keys}; {r.records_without_key:,} without key)" if r.records else ""))
    if r.record_size:
        out.append(f"Record size:  {r.record_size.min:,} to {r.record_size.max:,} bytes of text")
    if r.generation:
        out.append(f"Generation:   {r.generation.min:,} to {r.generation.max:,}")
    e = r.expiry
    ttl = f"{e.never_expire:,} never expire"
    if e.expiring:
        ttl += f"; {e.expiring:,} expire between {e.earliest} and {e.latest}"
        if e.expired_now:
            ttl += f" ({e.expired_now:,} already expired: a restore skips them)"
    out.append(f"Expiration:   {ttl}")
    if r.sets:
        out.append("")
        out += set_table(r.sets)
    if r.bins:
        out.append("")
        width = max(max(len(b.name) for b in r.bins), 3)
        out.append(f"  {'bin':<{width}}  {'count':>12}  types")
        for b in r.bins:
            out.append(f"  {b.name:<{width}}  {b.count:>12,}  {type_counts(b.types)}")
    out.append("")
    out.append(f"Indexes:      {len(r.indexes)}")
    for i in r.indexes:
        paths = ", ".join(f"{p} ({t})" for p, t in i.paths)
        where = f"{i.namespace}.{i.set}" if i.set else i.namespace
        out.append(f"  {i.name} on {where}: type {i.type}, {paths}" + (f", context {i.context}" if i.context else ""))
    out.append(f"UDFs:         {len(r.udfs)}")
    for u in r.udfs:
        out.append(f"  {u.name} ({u.bytes:,} bytes)")
    return "\n".join(out)


COMMANDS = (Command("inspect", HELP, add_arguments, run, render, description=HELP),)
