"""`asbkit inspect`: what a backup holds, without writing anything anywhere."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..files import Source
from ..layers import Layers
from ..result import CommandResult
from ._options import (
    Command, add_input_arguments, add_layer_options, add_output_options, layers_from, mib, progress_from, sources_from,
)
from ._scan import run_scan

#: Void times count seconds from 2010-01-01T00:00:00Z (the "citrusleaf" epoch).
CITRUSLEAF_EPOCH = 1262304000

KEY_TYPE_NAMES = {"I": "integer", "D": "double", "S": "string", "B": "bytes"}
BIN_TYPE_NAMES = {
    "N": "nil", "Z": "boolean", "I": "integer", "D": "double", "S": "string", "G": "geojson",
    "B": "blob", "J": "java-blob", "C": "csharp-blob", "P": "python-blob", "R": "ruby-blob",
    "H": "php-blob", "E": "erlang-blob", "Y": "hll", "M": "map", "L": "list",
}


def void_time_iso(void_time: int) -> str:
    when = datetime.fromtimestamp(CITRUSLEAF_EPOCH + void_time, tz=timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FileInfo:
    path: str
    version: str
    namespace: str | None
    first_file: bool
    records: int
    indexes: int
    udfs: int
    text_bytes: int
    #: Base64 digests of the file's first and last record.
    first_digest: str | None = None
    last_digest: str | None = None


@dataclass
class SetInfo:
    set: str | None
    records: int
    bytes: int
    with_key: int


@dataclass
class BinInfo:
    name: str
    count: int
    types: dict[str, int]


@dataclass
class Expiry:
    never_expire: int
    expiring: int
    #: Expiring records whose void time has passed: a restore skips them.
    expired_now: int
    earliest_void_time: int | None = None
    latest_void_time: int | None = None
    earliest: str | None = None
    latest: str | None = None


@dataclass
class MinMax:
    min: int
    max: int


@dataclass
class IndexInfo:
    namespace: str
    set: str
    name: str
    type: str
    paths: list[list[str]]
    context: str | None
    expression: str | None


@dataclass
class UdfInfo:
    name: str
    bytes: int


@dataclass
class InspectReport:
    layers: str
    versions: list[str]
    namespaces: list[str]
    first_file: str | None
    records: int
    text_bytes: int
    raw_bytes: int
    files: list[FileInfo]
    sets: list[SetInfo]
    keys: dict[str, int]
    records_without_key: int
    bins: list[BinInfo]
    expiry: Expiry
    record_size: MinMax | None
    generation: MinMax | None
    indexes: list[IndexInfo] = field(default_factory=list)
    udfs: list[UdfInfo] = field(default_factory=list)


def _minmax(r: dict[str, int] | None) -> MinMax | None:
    return MinMax(r["min"], r["max"]) if r else None


def report_from_summary(summary: dict[str, Any], layers: Layers) -> InspectReport:
    from .validate import _b64

    files = [
        FileInfo(**{**f, "first_digest": _b64(f["first_digest"]), "last_digest": _b64(f["last_digest"])})
        for f in summary["files"]
    ]
    vt = summary.get("void_time")
    expiry = Expiry(
        never_expire=summary.get("never_expire", 0),
        expiring=vt["count"] if vt else 0,
        expired_now=summary.get("expired", 0),
    )
    if vt:
        expiry.earliest_void_time, expiry.latest_void_time = vt["min"], vt["max"]
        expiry.earliest, expiry.latest = void_time_iso(vt["min"]), void_time_iso(vt["max"])
    keys = {KEY_TYPE_NAMES[k]: n for k, n in summary.get("key_types", {}).items()}
    sets = [SetInfo(**s) for s in summary.get("sets", [])]
    sets.sort(key=lambda s: (-s.records, s.set or ""))
    bins = [
        BinInfo(name, sum(t.values()), {BIN_TYPE_NAMES[k]: n for k, n in t.items()})
        for name, t in summary.get("bins", {}).items()
    ]
    bins.sort(key=lambda b: (-b.count, b.name))
    namespaces = sorted(
        {f.namespace for f in files if f.namespace is not None}
        | set(summary.get("record_namespaces", {}))
    )
    return InspectReport(
        layers=layers.describe(),
        versions=sorted({f.version for f in files}),
        namespaces=namespaces,
        first_file=next((f.path for f in files if f.first_file), None),
        records=sum(f.records for f in files),
        text_bytes=sum(f.text_bytes for f in files),
        raw_bytes=summary["raw_bytes"],
        files=files,
        sets=sets,
        keys=keys,
        records_without_key=sum(s.records - s.with_key for s in sets),
        bins=bins,
        expiry=expiry,
        record_size=_minmax(summary.get("record_size")),
        generation=_minmax(summary.get("generation")),
        indexes=[
            IndexInfo(
                i.namespace, i.set, i.name, i.index_type,
                [[p, t] for p, t in i.paths], i.context, i.expression,
            )
            for i in summary["indexes"]
        ],
        udfs=[UdfInfo(name, size) for name, size in summary["udfs"]],
    )


def inspect(
    sources: Source | list[Source], layers: Layers | None = None, *, progress: bool | None = None
) -> CommandResult[InspectReport]:
    layers = layers or Layers()
    summary, errors = run_scan(sources, layers, detail=True, progress=progress)
    return CommandResult("inspect", report_from_summary(summary, layers), errors)


# The command line.

HELP = "show what a backup holds: sets, bins, keys, TTLs, sizes, indexes, UDFs"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_input_arguments(p)
    add_layer_options(p)
    add_output_options(p)


def run(args: argparse.Namespace) -> CommandResult[InspectReport]:
    layers, progress = layers_from(args), progress_from(args)
    return inspect(sources_from(args), layers, progress=progress)


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
        width = max(len(s.set or "(no set)") for s in r.sets)
        out.append(f"  {'set':<{width}}  {'records':>12}  {'bytes':>14}  {'with key':>12}")
        for s in r.sets:
            out.append(f"  {s.set or '(no set)':<{width}}  {s.records:>12,}  {s.bytes:>14,}  {s.with_key:>12,}")
    if r.bins:
        out.append("")
        width = max(max(len(b.name) for b in r.bins), 3)
        out.append(f"  {'bin':<{width}}  {'count':>12}  types")
        for b in r.bins:
            types = ", ".join(f"{t} {n:,}" for t, n in sorted(b.types.items(), key=lambda kv: -kv[1]))
            out.append(f"  {b.name:<{width}}  {b.count:>12,}  {types}")
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
