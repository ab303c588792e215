"""Validate a backup: parse everything, count, locate the first error; deeply, also
recompute digests, check namespaces, find duplicates and check the manifest."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import with_report
from ..io.files import Source
from ..io.layers import Layers
from .findings import Finding
from .manifest import check_manifests
from .reading import FileContents, OnBytes, read_through


@dataclass
class DeepReport:
    keys_checked: int
    finding_counts: dict[str, int]
    #: The first findings (up to --max-errors), located at the record they are about.
    findings: list[Finding]
    #: The manifests (written by `asbkit backup`) the files were checked against.
    manifests: list[str] | None = None
    #: What the check says besides findings (a file checked under another name).
    notes: list[str] = field(default_factory=list)


@dataclass
class ValidateReport:
    layers: str
    files: list[FileContents]
    records: int
    indexes: int
    udfs: int
    text_bytes: int
    raw_bytes: int
    deep: DeepReport | None = None

    @property
    def findings(self) -> int:
        """Findings of the deep checks (0 when none ran): they make a backup invalid too."""
        return sum(self.deep.finding_counts.values()) if self.deep else 0


def validate(
    sources: Source | list[Source],
    layers: Layers | None = None,
    *,
    deep: bool = False,
    max_errors: int = 100,
    on_progress: OnBytes | None = None,
) -> ValidateReport:
    """Parses everything. With `deep`, also recomputes digests from set and key, checks
    that one namespace runs through the backup, finds digests that occur twice and checks
    the files against their manifest; with `max_errors` > 1 it also goes on after syntax
    errors, skipping to the next line that starts an entity, and lists up to `max_errors`
    findings (`report.findings` counts them all).

    A read error (a file that cannot be opened or parsed, wrong layers) is raised, with
    what was read before it as its `report`."""
    layers = layers or Layers()
    summary, error = read_through(
        sources, layers, detail=False, deep=deep, max_issues=max_errors,
        continue_after_errors=deep and max_errors > 1, on_progress=on_progress,
    )
    files = [FileContents.of(f) for f in summary.files]
    report = ValidateReport(
        layers=layers.describe(),
        files=files,
        records=sum(f.records for f in files),
        indexes=sum(f.indexes for f in files),
        udfs=sum(f.udfs for f in files),
        text_bytes=sum(f.text_bytes for f in files),
        raw_bytes=summary.raw_bytes,
    )
    if summary.deep is not None:
        d = summary.deep
        findings = [Finding(i.kind, i.path, i.line, i.column, i.offset, i.message) for i in d.issues]
        report.deep = DeepReport(d.keys_checked, d.issue_counts, findings)
        if error is None:
            manifests, manifest_findings, notes = check_manifests(sources, files)
            report.deep.manifests = manifests
            report.deep.notes = notes
            for f in manifest_findings:
                report.deep.finding_counts[f.kind] = report.deep.finding_counts.get(f.kind, 0) + 1
                if len(report.deep.findings) < max_errors:
                    report.deep.findings.append(f)
    if error is not None:
        raise with_report(error, report)
    return report
