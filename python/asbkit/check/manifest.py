"""A backup's manifest (written by `asbkit backup`, see `asbkit.io.manifest`) checked against
its files: every file there and no other, each with its size, SHA-256, record count and
first and last digest. AES-CTR has no integrity of its own: this is what proves a backup
whole and untampered."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..io.manifest import MANIFEST_FORMAT
from .findings import Finding


def find_manifests(sources: Any) -> list[tuple[Path, Path | None]]:
    """The manifests of the sources: (manifest, the one file it is checked against; None
    for a directory's manifest, checked against the directory's files)."""
    items = sources if isinstance(sources, list) else [sources]
    found: list[tuple[Path, Path | None]] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)) or str(item) == "-":
            continue
        p = Path(item)
        is_dir = p.is_dir()
        candidates = sorted(p.glob("*.manifest.json")) if is_dir else [p.with_name(p.name + ".manifest.json")]
        for c in candidates:
            try:
                doc = json.loads(c.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(doc, dict) and doc.get("format") == MANIFEST_FORMAT:
                found.append((c, None if is_dir else p))
    return found


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def check_manifests(sources: Any, files: list[Any]) -> tuple[list[str], list[Finding], list[str]]:
    """(manifests checked, findings, notes). `files`: validate's per-file counts.

    A directory's manifest is checked against the directory's files: each it lists, and no
    other. A single file's (`FILE.manifest.json`) is checked against FILE, whatever name
    the manifest gives it (a copy keeps its old name inside): the name is said, never
    followed to another file."""
    counts = {os.path.abspath(f.path): f for f in files}
    findings: list[Finding] = []
    notes: list[str] = []
    checked: list[str] = []
    for manifest, single in find_manifests(sources):
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        checked.append(str(manifest))
        entries = doc.get("files", [])

        def finding(kind: str, path: Path, message: str) -> None:
            findings.append(Finding(kind, str(path), None, None, None, message))

        if single is not None:
            if len(entries) != 1:
                finding("manifest_mismatch", single, f"the manifest {manifest.name} lists {len(entries)} files, not this one file")
                continue
            if entries[0]["name"] != single.name:
                notes.append(f"the manifest {manifest.name} names the file {entries[0]['name']}; checked {single.name} against it")
            pairs = [(single, entries[0])]
        else:
            pairs = [(manifest.parent / e["name"], e) for e in entries]
        for path, entry in pairs:
            if not path.exists():
                finding("manifest_missing_file", path, f"the manifest {manifest.name} lists this file; it is missing")
                continue
            for problem in _differences(path, entry, counts.get(os.path.abspath(path))):
                finding("manifest_mismatch", path, problem)
        if single is None:
            listed = {os.path.abspath(p) for p, _ in pairs}
            for p in sorted(manifest.parent.glob("*.asb")):
                if os.path.abspath(p) not in listed:
                    finding("manifest_extra_file", p, f"a .asb file the manifest {manifest.name} does not list")
    return checked, findings, notes


def _differences(path: Path, entry: dict[str, Any], counted: Any) -> list[str]:
    """How the file differs from its manifest entry (size, SHA-256, records, first and last
    digest)."""
    problems = []
    size = path.stat().st_size
    if size != entry["bytes"]:
        problems.append(f"{size:,} bytes, the manifest says {entry['bytes']:,}")
    elif entry.get("sha256") and _sha256(path) != entry["sha256"]:
        problems.append("its SHA-256 is not the manifest's: the file was changed or damaged")
    if counted is not None:
        if counted.records != entry["records"]:
            problems.append(f"{counted.records:,} records, the manifest says {entry['records']:,}")
        for which, have in (("first", counted.first_digest), ("last", counted.last_digest)):
            want = entry.get(f"{which}_digest")
            if want != have:
                problems.append(f"its {which} record is {have}, the manifest says {want}")
    return problems
