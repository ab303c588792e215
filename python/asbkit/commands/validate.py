"""`asbkit validate`: parse everything, count, and locate the first error."""

from __future__ import annotations

from dataclasses import dataclass

from ..files import Source
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
class Finding:
    #: parse_error, digest_mismatch, bytes_key_digest_mismatch, namespace_mismatch, duplicate_digest
    kind: str
    path: str
    line: int | None
    column: int | None
    offset: int | None
    message: str


@dataclass
class DeepReport:
    keys_checked: int
    finding_counts: dict[str, int]
    #: The first findings (up to --max-errors), located at the record they are about.
    findings: list[Finding]


@dataclass
class ValidateReport:
    layers: str
    files: list[FileCounts]
    records: int
    indexes: int
    udfs: int
    text_bytes: int
    raw_bytes: int
    deep: DeepReport | None = None


def validate(
    sources: Source | list[Source],
    layers: Layers | None = None,
    *,
    progress: bool | None = None,
    deep: bool = False,
    max_errors: int = 100,
) -> CommandResult[ValidateReport]:
    """Parses everything. With `deep`, also recomputes digests from set and key, checks
    that one namespace runs through the backup and finds digests that occur twice; with
    `max_errors` > 1 it also goes on after syntax errors, skipping to the next line that
    starts an entity, and lists up to `max_errors` findings."""
    layers = layers or Layers()
    summary, errors = run_scan(
        sources, layers, detail=False, progress=progress, deep=deep, max_issues=max_errors,
        continue_after_errors=deep and max_errors > 1,
    )
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
    findings = 0
    if "deep" in summary:
        d = summary["deep"]
        report.deep = DeepReport(d["keys_checked"], dict(d["issue_counts"]), [Finding(**i) for i in d["issues"]])
        findings = sum(report.deep.finding_counts.values())
    return CommandResult("validate", report, errors, findings)
