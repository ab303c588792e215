"""`asbkit validate`: parse everything, count, and locate the first error."""

from __future__ import annotations

from dataclasses import dataclass

from ..backup import Source
from ..layers import Layers
from ..result import CommandResult
from ._scan import run_scan


@dataclass
class FileCounts:
    path: str
    records: int
    indexes: int
    udfs: int
    text_bytes: int


@dataclass
class ValidateReport:
    layers: str
    files: list[FileCounts]
    records: int
    indexes: int
    udfs: int
    text_bytes: int
    raw_bytes: int


def validate(
    sources: Source | list[Source], layers: Layers | None = None, *, progress: bool | None = None
) -> CommandResult[ValidateReport]:
    layers = layers or Layers()
    summary, errors = run_scan(sources, layers, detail=False, progress=progress)
    files = [
        FileCounts(f["path"], f["records"], f["indexes"], f["udfs"], f["text_bytes"])
        for f in summary["files"]
    ]
    report = ValidateReport(
        layers=layers.describe(),
        files=files,
        records=sum(f.records for f in files),
        indexes=sum(f.indexes for f in files),
        udfs=sum(f.udfs for f in files),
        text_bytes=sum(f.text_bytes for f in files),
        raw_bytes=summary["raw_bytes"],
    )
    return CommandResult("validate", report, errors)
