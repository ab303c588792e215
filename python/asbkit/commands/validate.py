"""`asbkit validate`: parse everything, count, and locate the first error."""

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


@dataclass
class FileCounts:
    path: str
    records: int
    indexes: int
    udfs: int
    text_bytes: int
    #: Base64 digests of the first and last record.
    first_digest: str | None = None
    last_digest: str | None = None


@dataclass
class Finding:
    #: parse_error, digest_mismatch, bytes_key_digest_mismatch, namespace_mismatch,
    #: duplicate_digest; against a backup's manifest: manifest_missing_file,
    #: manifest_extra_file, manifest_mismatch
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
    #: The manifests (written by `asbkit backup`) the files were checked against.
    manifests: list[str] | None = None
    #: What the check says besides findings (a file checked under another name).
    notes: list[str] = field(default_factory=list)


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


def _b64(d: bytes | None) -> str | None:
    import base64

    return base64.b64encode(d).decode() if d is not None else None


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
        FileCounts(f["path"], f["records"], f["indexes"], f["udfs"], f["text_bytes"], _b64(f["first_digest"]), _b64(f["last_digest"]))
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
        if not errors:
            from ..manifest import check_manifests

            manifests, manifest_findings, notes = check_manifests(sources, files)
            report.deep.manifests = manifests
            report.deep.notes = notes
            for f in manifest_findings:
                report.deep.finding_counts[f.kind] = report.deep.finding_counts.get(f.kind, 0) + 1
                if len(report.deep.findings) < max_errors:
                    report.deep.findings.append(f)
        findings = sum(report.deep.finding_counts.values())
    return CommandResult("validate", report, errors, findings)


# The command line.

HELP = "parse a backup completely; print counts or the first error, located"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_input_arguments(p)
    add_layer_options(p)
    add_output_options(p)
    p.add_argument("--deep", action="store_true", help="also recompute digests from set and key, check the namespace, find duplicate digests")
    p.add_argument("--max-errors", type=int, default=100, metavar="N", help="with --deep, go on after syntax errors and list up to N findings (default 100; 1 stops at the first error)")


def run(args: argparse.Namespace) -> CommandResult[ValidateReport]:
    layers, progress = layers_from(args), progress_from(args)
    return validate(sources_from(args), layers, progress=progress, deep=args.deep, max_errors=args.max_errors)


def render(result: CommandResult[ValidateReport]) -> str:
    r = result.data
    lines = []
    for f in r.files if len(r.files) > 1 else []:
        lines.append(f"  {f.path}: {plural(f.records, 'record')}, {mib(f.text_bytes)}")
    summary = (
        f"{plural(len(r.files), 'file')}, {plural(r.records, 'record')}, "
        f"{plural(r.indexes, 'index')}".replace("indexs", "indexes")
        + f", {plural(r.udfs, 'UDF')}, {mib(r.text_bytes)} of text"
        + (f" ({mib(r.raw_bytes)} on disk, {r.layers})" if r.layers != "plain" else "")
    )
    d = r.deep
    if d is not None:
        lines.append(f"deep: {d.keys_checked:,} digests recomputed from their keys, duplicates checked")
        for m in d.manifests or []:
            lines.append(f"  checked against the manifest {m} (sizes, SHA-256, records, first and last digests)")
        lines += [f"  note: {n}" for n in d.notes]
        for kind, n in d.finding_counts.items():
            lines.append(f"  {n:,} {kind.replace('_', ' ')}")
        for f in d.findings:
            where = f.path + (f":{f.line}:{f.column} (byte {f.offset})" if f.line is not None else "")
            lines.append(f"  {where}: {f.message}")
    if result.errors:
        prefix = "read before the error: "
    else:
        prefix = "valid: " if result.ok else "parsed, with findings: "
    lines.append(prefix + summary)
    return "\n".join(lines)


COMMANDS = (Command("validate", HELP, add_arguments, run, render, description=HELP),)
