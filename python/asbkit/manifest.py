"""A backup's manifest (written by `asbkit backup`, see `asbkit.resume`) checked against
its files: every file there and no other, each with its size, SHA-256, record count and
first and last digest. AES-CTR has no integrity of its own: this is what proves a backup
whole and untampered."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .resume import MANIFEST_FORMAT


def find_manifests(sources: Any) -> list[tuple[Path, bool]]:
    """The manifests of the sources: (path, whether it covers a whole directory)."""
    items = sources if isinstance(sources, list) else [sources]
    found: list[tuple[Path, bool]] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)) or str(item) == "-":
            continue
        p = Path(item)
        candidates = sorted(p.glob("*.manifest.json")) if p.is_dir() else [p.with_name(p.name + ".manifest.json")]
        for c in candidates:
            try:
                doc = json.loads(c.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(doc, dict) and doc.get("format") == MANIFEST_FORMAT:
                found.append((c, p.is_dir()))
    return found


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def check_manifests(sources: Any, files: list[Any]) -> tuple[list[str], list[Any]]:
    """(manifests checked, findings). `files`: validate's per-file counts."""
    from .commands.validate import Finding

    counts = {os.path.abspath(f.path): f for f in files}
    findings: list[Finding] = []
    checked: list[str] = []
    for manifest, whole_directory in find_manifests(sources):
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        checked.append(str(manifest))
        base = manifest.parent
        listed = set()

        def finding(kind: str, path: Path, message: str) -> None:
            findings.append(Finding(kind, str(path), None, None, None, message))

        for entry in doc.get("files", []):
            path = base / entry["name"]
            listed.add(os.path.abspath(path))
            if not path.exists():
                finding("manifest_missing_file", path, f"the manifest {manifest.name} lists this file; it is missing")
                continue
            problems = []
            size = path.stat().st_size
            if size != entry["bytes"]:
                problems.append(f"{size:,} bytes, the manifest says {entry['bytes']:,}")
            elif entry.get("sha256") and _sha256(path) != entry["sha256"]:
                problems.append("its SHA-256 is not the manifest's: the file was changed or damaged")
            c = counts.get(os.path.abspath(path))
            if c is not None:
                if c.records != entry["records"]:
                    problems.append(f"{c.records:,} records, the manifest says {entry['records']:,}")
                for which, got in (("first", c.first_digest), ("last", c.last_digest)):
                    want = entry.get(f"{which}_digest")
                    have = got
                    if want != have:
                        problems.append(f"its {which} record is {have}, the manifest says {want}")
            for p in problems:
                finding("manifest_mismatch", path, p)
        if whole_directory:
            for p in sorted(base.glob("*.asb")):
                if os.path.abspath(p) not in listed:
                    finding("manifest_extra_file", p, f"a .asb file the manifest {manifest.name} does not list")
    return checked, findings
