"""Inspect a backup: what it holds, without writing anything anywhere."""

from __future__ import annotations

from dataclasses import dataclass, field

import asbkit._codec as _codec

from ..errors import with_report
from ..io.files import Source
from ..io.layers import Layers
from .reading import FileContents, OnBytes, read_through
from .tables import KEY_TYPE_NAMES, MinMax, SetInfo, bin_types_of, min_max, sets_of, void_time_iso


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
    files: list[FileContents]
    sets: list[SetInfo]
    keys: dict[str, int]
    records_without_key: int
    bins: list[BinInfo]
    expiry: Expiry
    record_size: MinMax | None
    generation: MinMax | None
    indexes: list[IndexInfo] = field(default_factory=list)
    udfs: list[UdfInfo] = field(default_factory=list)


def report_from_summary(summary: _codec.BackupSummary, layers: Layers) -> InspectReport:
    files = [FileContents.of(f) for f in summary.files]
    vt = summary.void_time
    expiry = Expiry(never_expire=summary.never_expire, expiring=vt.count if vt else 0, expired_now=summary.expired)
    if vt:
        expiry.earliest_void_time, expiry.latest_void_time = vt.min, vt.max
        expiry.earliest, expiry.latest = void_time_iso(vt.min), void_time_iso(vt.max)
    keys = {KEY_TYPE_NAMES[k]: n for k, n in summary.key_types.items()}
    sets = sets_of(summary)
    bins = [BinInfo(b.name, count, types) for b, count, types in bin_types_of(summary)]
    namespaces = sorted(
        {f.namespace for f in files if f.namespace is not None} | {ns for ns, _ in summary.record_namespaces}
    )
    return InspectReport(
        layers=layers.describe(),
        versions=sorted({f.version for f in files}),
        namespaces=namespaces,
        first_file=next((f.path for f in files if f.first_file), None),
        records=sum(f.records for f in files),
        text_bytes=sum(f.text_bytes for f in files),
        raw_bytes=summary.raw_bytes,
        files=files,
        sets=sets,
        keys=keys,
        records_without_key=sum(s.records - s.with_key for s in sets),
        bins=bins,
        expiry=expiry,
        record_size=min_max(summary.record_size),
        generation=min_max(summary.generation),
        indexes=[
            IndexInfo(
                i.namespace, i.set, i.name, i.index_type,
                [[p, t] for p, t in i.paths], i.context, i.expression,
            )
            for i in summary.indexes
        ],
        udfs=[UdfInfo(name, size) for name, size in summary.udfs],
    )


def inspect(sources: Source | list[Source], layers: Layers | None = None, *, on_progress: OnBytes | None = None) -> InspectReport:
    """What the backup holds: files, sets, keys, bins, expirations, sizes, indexes, UDFs.
    A read error is raised with what was read before it as its `report`."""
    layers = layers or Layers()
    summary, error = read_through(sources, layers, detail=True, on_progress=on_progress)
    report = report_from_summary(summary, layers)
    if error is not None:
        raise with_report(error, report)
    return report


